//! A request in flight: starts it on a pooled or new connection ([`BackendPool::start`]),
//! streams the body (Content-Length or chunked), handles `Expect: 100-continue`, resends once on
//! a fresh connection when a reused one turns out dead before any body byte went out, and reads
//! the final response head.

use std::time::{Duration, Instant};

use super::conn::{is_stale_io, Conn, ReadError};
use super::dial;
use super::error::{Phase, TransportError};
use super::pool::BackendPool;
use super::response::BackendResponse;
use super::target::{BodyLen, Target};
use crate::http::limits::MAX_INTERIM_RESPONSES;
use crate::http::{ChunkHeader, RequestHeadOut, LAST_CHUNK, LAST_CHUNK_AFTER_DATA};

/// How long to look for a response after a request body write failed: a backend that rejected
/// the request and closed has usually already sent its answer, so it is there or not at once.
pub const EARLY_RESPONSE_WAIT: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// No `Expect` header was sent, or the wait is over (100 received or timed out).
    Settled,
    /// `Expect: 100-continue` is out; the body waits for the backend's go-ahead.
    Waiting,
}

/// A request whose head is queued or sent. Dropping it without [`finish`](Self::finish) has the
/// effect of [`abort`](Self::abort).
pub struct RequestInFlight {
    pool: BackendPool,
    /// `None` once the request failed: its connection is closed, the request is dead.
    conn: Option<Conn>,
    body: BodyLen,
    /// Body payload bytes the socket accepted.
    body_sent: u64,
    head_flushed: bool,
    /// The last chunk's data still needs its closing CRLF (written with the next size line).
    chunk_crlf_pending: bool,
    expect: Expect,
    is_head: bool,
    /// The one stale-connection retry was used.
    retried: bool,
    /// Some response (e.g. `100 Continue`) arrived on this connection, so it was not stale.
    response_seen: bool,
}

impl BackendPool {
    /// Starts a request: takes a live idle connection to `target` or connects, and queues the
    /// head. The head goes out with the first body bytes (one write for small bodies), at
    /// `finish()`, or right away when `expect_continue` asks the backend to confirm first.
    ///
    /// `head` must not carry `Content-Length`/`Transfer-Encoding`/`Expect`/`Connection`: they come
    /// from `body` and `expect_continue` (which is ignored for empty bodies).
    pub async fn start(
        &self,
        target: &Target,
        head: &RequestHeadOut<'_>,
        body: BodyLen,
        expect_continue: bool,
    ) -> Result<RequestInFlight, TransportError> {
        let mut conn = match self.checkout(target).await {
            Some(conn) => conn,
            None => dial::connect(self, target).await?,
        };
        if let Err(e) = conn.write_request_head(head, body, expect_continue) {
            // Nothing was written: the connection is as good as before.
            self.checkin(conn);
            return Err(TransportError::Usage(e.reason));
        }
        let is_head = head.method == "HEAD";
        let expect = expect_continue && !body.is_empty();
        RequestInFlight::begin(self.clone(), conn, body, is_head, expect).await
    }
}

impl RequestInFlight {
    async fn begin(
        pool: BackendPool,
        conn: Conn,
        body: BodyLen,
        is_head: bool,
        expect: bool,
    ) -> Result<Self, TransportError> {
        let mut req = RequestInFlight {
            pool,
            conn: Some(conn),
            body,
            body_sent: 0,
            head_flushed: false,
            chunk_crlf_pending: false,
            expect: if expect {
                Expect::Waiting
            } else {
                Expect::Settled
            },
            is_head,
            retried: false,
            response_seen: false,
        };
        if expect {
            // The backend can only answer 100 (or reject) once it has the head.
            req.send(&[], &[]).await?;
        }
        Ok(req)
    }

    /// Body payload bytes written so far.
    pub fn body_sent(&self) -> u64 {
        self.body_sent
    }

    /// Whether the request went out on a pooled connection (after any stale retry: the
    /// connection now in use).
    pub fn is_reused_connection(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.reused)
    }

    /// For `Expect: 100-continue`: waits for the backend's `100 Continue` (or proceeds after
    /// `expect_continue_timeout`, as curl does). A final response instead comes back as
    /// [`TransportError::EarlyResponse`]. Called by the first `write_body`; call it yourself to learn
    /// the backend's verdict before reading the client's body. A no-op without `Expect`.
    pub async fn wait_for_continue(&mut self) -> Result<(), TransportError> {
        let mut deadline = Instant::now() + self.pool.limits().expect_continue_timeout;
        let mut interim = 0;
        while self.expect == Expect::Waiting {
            let conn = self.live_conn()?;
            match conn.read_head(deadline).await {
                Ok(100) => {
                    self.response_seen = true;
                    self.expect = Expect::Settled;
                }
                Ok(status) if status < 200 => self.interim_response(status, &mut interim)?,
                Ok(status) => return Err(self.early_response(status)),
                Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
                    // The backend ignores Expect; send the body as if it had said 100.
                    self.expect = Expect::Settled;
                }
                Err(e) if self.may_retry_stale(e.is_stale_connection()) => {
                    self.reconnect().await?;
                    self.send(&[], &[]).await?;
                    deadline = Instant::now() + self.pool.limits().expect_continue_timeout;
                }
                Err(e) => {
                    self.conn = None;
                    return Err(TransportError::from_read(e, Phase::ResponseHead, false));
                }
            }
        }
        Ok(())
    }

    /// Writes body bytes: straight to the socket (or rustls), as one chunk when the body is
    /// chunked. Never buffers beyond the connection's small write buffer.
    pub async fn write_body(&mut self, data: &[u8]) -> Result<(), TransportError> {
        if data.is_empty() {
            // An empty chunk would end a chunked body.
            return Ok(());
        }
        self.live_conn()?;
        match self.body {
            BodyLen::None => return Err(self.fail_usage("request was declared without a body")),
            BodyLen::Length(n) => {
                if self.body_sent.saturating_add(data.len() as u64) > n {
                    return Err(self.fail_usage("body longer than its Content-Length"));
                }
            }
            BodyLen::Chunked => {}
        }
        if self.expect == Expect::Waiting {
            self.wait_for_continue().await?;
        }
        // Socket writes that never block would otherwise keep the other tasks of this shard
        // waiting for as long as the caller has body to send.
        glommio::yield_if_needed().await;
        let size = data.len() as u64;
        let chunk_header = match (self.body, self.chunk_crlf_pending) {
            (BodyLen::Chunked, true) => Some(ChunkHeader::after_data(size)),
            (BodyLen::Chunked, false) => Some(ChunkHeader::new(size)),
            _ => None,
        };
        let framing = chunk_header.as_ref().map_or(&[][..], ChunkHeader::as_bytes);
        self.send(framing, data).await?;
        self.body_sent += data.len() as u64;
        self.chunk_crlf_pending = self.body == BodyLen::Chunked;
        Ok(())
    }

    /// Ends the body (the chunked terminator; a `Content-Length` body must be complete) and
    /// reads the final response head, skipping interim responses.
    pub async fn finish(mut self) -> Result<BackendResponse, TransportError> {
        self.live_conn()?;
        if let BodyLen::Length(n) = self.body {
            if self.body_sent != n {
                return Err(self.fail_usage("body shorter than its Content-Length"));
            }
        }
        // Nothing was written, so there is no 100 to wait for: a backend that honours Expect
        // answers 100 (skipped below) or its final status.
        self.expect = Expect::Settled;
        loop {
            let end: &[u8] = match (self.body, self.chunk_crlf_pending) {
                (BodyLen::Chunked, true) => LAST_CHUNK_AFTER_DATA,
                (BodyLen::Chunked, false) => LAST_CHUNK,
                _ => &[],
            };
            if !self.head_flushed || !end.is_empty() {
                self.send(end, &[]).await?;
            }
            let deadline = Instant::now() + self.pool.limits().response_head_timeout;
            let mut interim = 0;
            let failure = loop {
                let conn = self.live_conn()?;
                match conn.read_head(deadline).await {
                    Ok(status) if status < 200 => self.interim_response(status, &mut interim)?,
                    Ok(status) => return Ok(self.into_response(status, false)),
                    Err(e) => break e,
                }
            };
            if self.may_retry_stale(failure.is_stale_connection()) {
                self.reconnect().await?;
                continue;
            }
            self.conn = None;
            return Err(TransportError::from_read(
                failure,
                Phase::ResponseHead,
                self.body_sent > 0,
            ));
        }
    }

    /// Closes the connection without completing the body, so the backend sees a truncated
    /// request and never commits a partial object. (If not a byte of the request had been
    /// written yet, the untouched connection goes back to the pool instead.)
    pub fn abort(self) {
        drop(self);
    }

    fn live_conn(&mut self) -> Result<&mut Conn, TransportError> {
        self.conn
            .as_mut()
            .ok_or(TransportError::Usage("request already failed"))
    }

    /// Sends the pending head (if any), `prefix` framing and `data` payload, switching once to a
    /// fresh connection when the reused one is found dead before any payload byte went out.
    async fn send(&mut self, prefix: &[u8], data: &[u8]) -> Result<(), TransportError> {
        let limit = self.pool.limits().io_timeout;
        loop {
            let head_pending = !self.head_flushed;
            let conn = self.live_conn()?;
            match conn.send(head_pending, prefix, data, limit).await {
                Ok(()) => {
                    self.head_flushed = true;
                    return Ok(());
                }
                Err(f) => {
                    let sent = self.body_sent > 0 || f.payload_accepted > 0;
                    if !sent && self.may_retry_stale(is_stale_io(&f.error)) {
                        self.reconnect().await?;
                        continue;
                    }
                    return Err(self.send_failed(f.error, sent).await);
                }
            }
        }
    }

    /// The stale-connection rule: one retry, only on a reused connection that showed no sign
    /// of life for this request, only before any body byte went out.
    fn may_retry_stale(&self, stale_error: bool) -> bool {
        stale_error
            && !self.retried
            && !self.response_seen
            && self.body_sent == 0
            && self.conn.as_ref().is_some_and(|c| c.reused)
    }

    async fn reconnect(&mut self) -> Result<(), TransportError> {
        let Some(mut old) = self.conn.take() else {
            return Err(TransportError::Usage("request already failed"));
        };
        let mut fresh = dial::connect(&self.pool, &old.target).await?;
        fresh.adopt_request_head(&mut old);
        self.conn = Some(fresh);
        self.head_flushed = false;
        self.retried = true;
        self.pool.bump(|s| s.stale_retries += 1);
        Ok(())
    }

    /// A body write failed: if the backend already answered (it rejected the request and
    /// closed), return that answer; otherwise the I/O error. Either way the connection is done.
    async fn send_failed(&mut self, error: std::io::Error, body_sent: bool) -> TransportError {
        if error.kind() != std::io::ErrorKind::TimedOut && self.head_flushed {
            if let Some(conn) = self.conn.as_mut() {
                let deadline = Instant::now() + EARLY_RESPONSE_WAIT;
                for _ in 0..=MAX_INTERIM_RESPONSES {
                    match conn.read_head(deadline).await {
                        Ok(status) if status < 200 => continue,
                        Ok(status) => return self.early_response(status),
                        Err(_) => break,
                    }
                }
            }
        }
        self.conn = None;
        TransportError::io(Phase::SendRequest, error, body_sent)
    }

    /// The final response (`status`) the connection just read, come before the request was
    /// complete.
    fn early_response(&mut self, status: u16) -> TransportError {
        let body_sent = self.body_sent > 0;
        let taken = RequestInFlight {
            pool: self.pool.clone(),
            conn: self.conn.take(),
            ..*self
        };
        TransportError::EarlyResponse {
            response: Box::new(taken.into_response(status, true)),
            body_sent,
        }
    }

    /// The response to this request, from the final head (`status`) the connection just read.
    fn into_response(mut self, status: u16, early: bool) -> BackendResponse {
        match self.conn.take() {
            Some(conn) => BackendResponse::new(
                self.pool.clone(),
                conn,
                self.is_head,
                self.body_sent > 0,
                early,
            ),
            // Callers hold a live connection; keep the type total anyway.
            None => BackendResponse::without_body(self.pool.clone(), status),
        }
    }

    /// An informational (1xx) answer before the awaited one: `101` was never asked for; any
    /// other is skipped, `seen` counting them up to `MAX_INTERIM_RESPONSES`.
    fn interim_response(&mut self, status: u16, seen: &mut usize) -> Result<(), TransportError> {
        if status == 101 {
            return Err(self.fail_bad("unrequested 101 response"));
        }
        self.response_seen = true;
        *seen += 1;
        if *seen > MAX_INTERIM_RESPONSES {
            return Err(self.fail_bad("too many interim responses"));
        }
        Ok(())
    }

    fn fail_usage(&mut self, reason: &'static str) -> TransportError {
        self.conn = None;
        TransportError::Usage(reason)
    }

    fn fail_bad(&mut self, reason: &'static str) -> TransportError {
        self.conn = None;
        TransportError::BadResponse {
            reason,
            body_sent: self.body_sent > 0,
        }
    }
}

impl Drop for RequestInFlight {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.head_flushed {
                // Nothing of this request reached the socket: the connection is as it was.
                self.pool.checkin(conn);
            }
            // Otherwise dropping closes the socket mid-request: no chunk terminator, no TLS
            // close_notify, so the backend cannot mistake the body for complete.
        }
    }
}

impl std::fmt::Debug for RequestInFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInFlight")
            .field("target", &self.conn.as_ref().map(|c| &c.target))
            .field("body", &self.body)
            .field("body_sent", &self.body_sent)
            .field("reused", &self.is_reused_connection())
            .finish()
    }
}
