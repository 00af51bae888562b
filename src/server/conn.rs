//! The connection loop: read a request head, route and authenticate it, hand the handler a
//! verified body stream, write its response, repeat while keep-alive allows.
//!
//! Pipelined requests are answered in order because one request is processed at a time per
//! connection and unread bytes stay in the read buffer for the next head. A request whose body
//! was not fully read (an error answered early) ends the connection, since the bytes left on the
//! wire cannot be trusted to be a next request.
//!
//! Slow clients are bounded at every step: the head by `head_read_timeout`, a body by the stall
//! timeout and the upload rate floor, every write by the write stall timeout, and a request with
//! a small body as a whole by `server.request_timeout`. Nothing is read while a response is being
//! written, and at most [`MAX_PIPELINED_REQUESTS`] read-ahead requests are answered in a row, so
//! a client that pipelines and never reads gets a handful of answers, then a stalled write, then
//! a closed connection. The admission permit, a GET's backend stream and the connection slot are
//! all released when a stalled connection is given up.

use super::body::BodyFraming;
use super::response::{error_response, Response, ResponseBody};
use super::service::{PendingBody, Request, Served, Service};
use super::shard::Shard;
use super::stream::ClientStream;
use super::wire::{BodyUse, Conn, ReadError};
use crate::http::limits::{MAX_HEAD_BYTES, MAX_PIPELINED_REQUESTS, SMALL_REQUEST_BODY_BYTES};
use crate::http::{BodyKind, HttpError, ParseStatus, RequestHead};
use crate::s3::error::{S3Error, S3ErrorCode};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

/// Bytes of an unread request body we are willing to read and discard after an early error
/// answer, to keep the connection alive; larger leftovers close the connection instead.
pub const MAX_DRAIN_BYTES: u64 = 64 * 1024;

/// Buffer used to copy streamed response bodies to the client.
pub const WRITE_BUF_BYTES: usize = 64 * 1024;

/// A head that outgrew MAX_HEAD_BYTES without completing.
const HEAD_TOO_LARGE: HttpError = HttpError::new(431, "request head too large");
/// A head that did not complete within HEAD_READ_TIMEOUT (slow client).
const HEAD_TIMEOUT: HttpError = HttpError::new(408, "request head not received in time");

/// Where a parsed head came from.
#[derive(Clone, Copy)]
struct Turn {
    /// When its first byte was seen (the start of the request's deadline).
    first_byte_at: Instant,
    /// Whether it was complete in bytes read ahead, before this request's turn (pipelined).
    read_ahead: bool,
}

enum HeadOutcome {
    Ready(usize, Turn),
    Closed,
    Error(HttpError),
}

async fn read_head(conn: &mut Conn, head: &mut RequestHead, shard: &Shard) -> HeadOutcome {
    let mut first_byte_at: Option<Instant> = if conn.start < conn.end {
        Some(Instant::now())
    } else {
        None
    };
    let mut read_ahead = true;
    loop {
        if conn.start < conn.end {
            match head.parse(&conn.buf[conn.start..conn.end]) {
                Ok(ParseStatus::Complete { head_len }) => {
                    let turn = Turn {
                        first_byte_at: first_byte_at.unwrap_or_else(Instant::now),
                        read_ahead,
                    };
                    return HeadOutcome::Ready(head_len, turn);
                }
                Ok(ParseStatus::Partial) => {}
                Err(e) => return HeadOutcome::Error(e),
            }
            if conn.end - conn.start >= MAX_HEAD_BYTES {
                return HeadOutcome::Error(HEAD_TOO_LARGE);
            }
        }
        let timeout = match first_byte_at {
            None => shard.app().limits.idle_keepalive_timeout,
            Some(t) => match shard
                .app()
                .limits
                .head_read_timeout
                .checked_sub(t.elapsed())
            {
                Some(left) => left,
                None => return HeadOutcome::Error(HEAD_TIMEOUT),
            },
        };
        let idle = first_byte_at.is_none();
        read_ahead = false;
        let read = if idle {
            // An idle keep-alive connection also ends when the server shuts down.
            futures_lite::future::or(async { Some(conn.read_more(timeout).await) }, async {
                shard.shutdown.wait().await;
                None
            })
            .await
        } else {
            Some(conn.read_more(timeout).await)
        };
        match read {
            None => return HeadOutcome::Closed,
            Some(Ok(0)) => return HeadOutcome::Closed,
            Some(Ok(_)) => {
                if first_byte_at.is_none() {
                    first_byte_at = Some(Instant::now());
                }
            }
            Some(Err(ReadError::Timeout)) if idle => return HeadOutcome::Closed,
            Some(Err(ReadError::Timeout)) => return HeadOutcome::Error(HEAD_TIMEOUT),
            Some(Err(_)) => return HeadOutcome::Closed,
        }
    }
}

/// Serves one client connection until it closes.
pub async fn serve<S: Service>(
    stream: ClientStream,
    shard: Rc<Shard>,
    peer: Option<SocketAddr>,
    service: &S,
) {
    let mut conn = Conn::new(stream, peer, shard.app().limits);
    let mut head = RequestHead::new();
    // Requests answered in a row from read-ahead bytes, this one included.
    let mut pipelined = 0usize;
    // Whether a write to the client failed (stalled): then the connection is dropped, not closed
    // politely, since a TLS close_notify would wait on the same stalled client.
    let mut given_up = false;
    loop {
        conn.begin_request(shard.app().limits);
        let (head_len, turn) = match read_head(&mut conn, &mut head, &shard).await {
            HeadOutcome::Ready(n, turn) => (n, turn),
            HeadOutcome::Closed => break,
            HeadOutcome::Error(e) => {
                let request_id = shard.next_request_id();
                let request_id = request_id.as_str();
                let err = http_error_to_s3(e);
                tracing::debug!(
                    request_id,
                    status = e.status,
                    reason = e.reason,
                    "bad request head"
                );
                let resp = error_response(&err, "", request_id);
                let _ = write_response(&mut conn, &shard, resp, request_id, false, false).await;
                break;
            }
        };
        conn.start += head_len;
        pipelined = if turn.read_ahead { pipelined + 1 } else { 1 };
        let last = pipelined >= MAX_PIPELINED_REQUESTS;
        let keep_alive = match handle_one(&mut conn, &head, &shard, service, turn, last).await {
            Ok(keep_alive) => keep_alive,
            Err(_) => {
                given_up = true;
                false
            }
        };
        if !keep_alive || shard.shutdown.is_triggered() {
            break;
        }
    }
    if !given_up {
        conn.close().await;
    }
}

fn http_error_to_s3(e: HttpError) -> S3Error {
    let code = match e.status {
        431 => S3ErrorCode::RequestHeaderSectionTooLarge,
        414 => S3ErrorCode::UriTooLong,
        408 => S3ErrorCode::RequestTimeout,
        501 => S3ErrorCode::NotImplemented,
        411 => S3ErrorCode::MissingContentLength,
        _ => S3ErrorCode::BadRequest,
    };
    S3Error::with_message(code, e.reason)
}

/// Handles one request whose head is parsed. Returns whether the connection may be reused; `last`
/// closes it after this answer (the pipelining bound).
async fn handle_one<S: Service>(
    conn: &mut Conn,
    head: &RequestHead,
    shard: &Rc<Shard>,
    service: &S,
    turn: Turn,
    last: bool,
) -> std::io::Result<bool> {
    let started = Instant::now();
    let _inflight = crate::metrics::InflightGuard::enter();
    let request_id_buf = shard.next_request_id();
    let request_id = request_id_buf.as_str();
    let is_head = head.method() == "HEAD";
    let client_keep_alive = head.keep_alive();
    let framing = match head.body_kind() {
        BodyKind::None => BodyFraming::Length(0),
        BodyKind::Length(n) => BodyFraming::Length(n),
        BodyKind::Chunked => BodyFraming::Chunked,
    };
    // A request with no or a small body lives under one deadline from its first byte on.
    if matches!(framing, BodyFraming::Length(n) if n <= SMALL_REQUEST_BODY_BYTES) {
        conn.deadline = Some(turn.first_byte_at + conn.limits.request_timeout);
    }
    let app = shard.app();
    // Admission control: past the shard's limit the request is shed before any work is done.
    let permit = shard.gate.try_enter();
    let served = match permit {
        Some(_) => {
            let req = Request {
                shard,
                app: &app,
                head,
                request_id,
            };
            let body = PendingBody::new(conn, framing, head.expects_continue());
            service.serve(req, body).await
        }
        None => {
            app.health.count_shed();
            let err = S3Error::new(S3ErrorCode::SlowDown);
            Served::error(&err, head.path().to_owned(), request_id)
        }
    };
    let Served {
        response: resp,
        operation: op_name,
        resource,
        body: body_state,
    } = served;
    // Whether the wire is in a known state for the next request.
    let mut reusable =
        client_keep_alive && !last && settle_body(conn, head, framing, body_state).await;
    // The connection loop closes after this response once shutdown began; say so, so that the
    // client does not send its next request into a closing connection.
    if shard.shutdown.is_triggered() {
        reusable = false;
    }
    bound_response_write(conn, &resp, is_head);
    let status = resp.status;
    let r = write_response(conn, shard, resp, request_id, is_head, reusable).await;
    // Written or given up: the admission place is free now, before logging and before the
    // connection's close (itself bounded); the response (a GET's backend stream) was dropped by
    // write_response.
    drop(permit);
    let elapsed = started.elapsed();
    crate::metrics::record_request(op_name, status, elapsed);
    crate::logging::access_log!(
        app.config().logging.access_log_level,
        request_id,
        op = op_name,
        resource = %resource,
        status,
        elapsed_us = elapsed.as_micros() as u64,
        "request"
    );
    r.map(|_| reusable)
}

/// Sets how long writing `resp` may take: a large streamed body (GetObject) is bounded by the
/// write stall timeout, not the request's deadline; a request that ran out of time still gets
/// its answer (usually a RequestTimeout), within one more write stall timeout at most.
fn bound_response_write(conn: &mut Conn, resp: &Response, is_head: bool) {
    if !is_head && matches!(resp.body, ResponseBody::Stream(_, n) if n > SMALL_REQUEST_BODY_BYTES) {
        conn.deadline = None;
    }
    let now = Instant::now();
    if conn.deadline.is_some_and(|d| d <= now) {
        conn.deadline = Some(now + conn.limits.write_stall_timeout);
    }
}

/// Puts the connection in a known state after the handler: true when the request body was read
/// whole, or was small, sent without waiting for `100 Continue`, and could be drained. Any other
/// leftover means the bytes on the wire cannot be trusted to be the next request.
async fn settle_body(
    conn: &mut Conn,
    head: &RequestHead,
    framing: BodyFraming,
    body_state: BodyUse,
) -> bool {
    let remaining = match (body_state, framing) {
        (BodyUse::Complete, _) => return true,
        (BodyUse::Untouched, BodyFraming::Length(n)) => n,
        _ => return false,
    };
    match remaining {
        0 => true,
        n if n <= MAX_DRAIN_BYTES && !head.expects_continue() => drain(conn, n).await,
        _ => false,
    }
}

async fn drain(conn: &mut Conn, mut n: u64) -> bool {
    while n > 0 {
        if conn.start == conn.end {
            match conn.read_body_more().await {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
        }
        let take = ((conn.end - conn.start) as u64).min(n) as usize;
        conn.start += take;
        n -= take as u64;
    }
    true
}

/// Writes a response; the single place that emits response heads to clients. Every write is
/// bounded by the write stall timeout and the request's deadline; an error means the connection
/// must be closed.
pub async fn write_response(
    conn: &mut Conn,
    shard: &Shard,
    resp: Response,
    request_id: &str,
    head_only: bool,
    keep_alive: bool,
) -> std::io::Result<()> {
    let mut out = std::mem::take(&mut conn.out);
    out.clear();
    let content_length = resp.content_length();
    let mut rh = crate::http::ResponseHead::new(&mut out, resp.status);
    {
        let mut dates = shard.dates.borrow_mut();
        rh.date(dates.now());
    }
    // Header values come from validated request headers or our own code; one that still fails
    // validation is dropped rather than allowed to break the response framing.
    let _ = rh.header("x-amz-request-id", request_id.as_bytes());
    for (name, value) in &resp.headers {
        if rh.header(name, value.as_bytes()).is_err() {
            tracing::warn!(request_id, header = %name, "dropped an invalid response header");
        }
    }
    let _ = rh.content_length(content_length);
    if !keep_alive {
        rh.close();
    }
    rh.finish();
    let result = write_body(
        conn,
        &mut out,
        resp.body,
        request_id,
        head_only,
        content_length,
    )
    .await;
    conn.out = out;
    result
}

/// Writes the response head in `out` and the body after it, then flushes.
async fn write_body(
    conn: &mut Conn,
    out: &mut Vec<u8>,
    body: ResponseBody,
    request_id: &str,
    head_only: bool,
    content_length: u64,
) -> std::io::Result<()> {
    match body {
        ResponseBody::Empty | ResponseBody::HeadOnly(_) => conn.write_all(out).await?,
        ResponseBody::Full(bytes) => {
            if head_only {
                conn.write_all(out).await?;
            } else if bytes.len() <= 16 * 1024 {
                // One write for small answers: head and body in a single segment.
                out.extend_from_slice(&bytes);
                conn.write_all(out).await?;
            } else {
                conn.write_all(out).await?;
                conn.write_all(&bytes).await?;
            }
        }
        ResponseBody::Stream(mut s, _) => {
            conn.write_all(out).await?;
            if !head_only {
                let mut buf = crate::util::bufpool::take(WRITE_BUF_BYTES);
                let r = copy_stream(conn, &mut s, &mut buf, request_id, content_length).await;
                crate::util::bufpool::give(buf);
                r?;
            }
        }
    }
    conn.flush().await
}

/// Copies a streamed body to the client; exactly `content_length` bytes or an error.
async fn copy_stream(
    conn: &mut Conn,
    s: &mut super::response::ObjectStream,
    buf: &mut [u8],
    request_id: &str,
    content_length: u64,
) -> std::io::Result<()> {
    let mut sent: u64 = 0;
    loop {
        let n = match s.read(buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(request_id, error = %e, sent, "response body stream failed; closing connection");
                return Err(std::io::Error::other("upstream body failed"));
            }
        };
        if let Err(e) = conn.write_all(&buf[..n]).await {
            tracing::debug!(request_id, error = %e, sent, "client write failed; closing connection");
            return Err(e);
        }
        sent += n as u64;
    }
    if sent != content_length {
        return Err(std::io::Error::other(
            "response body shorter than announced",
        ));
    }
    Ok(())
}
