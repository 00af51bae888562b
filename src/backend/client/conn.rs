//! One backend connection: plain TCP or TLS over a glommio `TcpStream`, with fixed-size buffers
//! that live as long as the connection and are reused by every request on it.
//!
//! - The write buffer holds the serialized request head (kept until the request is done, so a
//!   stale pooled connection can be swapped for a fresh one and the head sent again) and stages
//!   small body writes together with the head or chunk framing, so a small PUT is one write.
//!   Large body data goes straight from the caller's slice to the socket (or to rustls).
//! - The read buffer receives the response head, which httparse parses in place; the names and
//!   values are then copied once into a small reused vector so the read buffer is free for the
//!   body. Body bytes left over after the head are served from it; once it is empty, large reads
//!   go straight into the caller's buffer (one userspace copy per hop).
//! - Every I/O operation races a per-connection glommio timer that is reset, not reallocated,
//!   per operation. (glommio's own socket timeouts are not used: a read abandoned while pending,
//!   as rustls does internally, leaves their timer armed and fails a later read spuriously.)

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use futures_rustls::client::TlsStream;
use glommio::net::TcpStream;
use glommio::timer::Timer;
use rustls::ClientConfig;

use super::error::{ClientError, Phase};
use super::tls;
use super::{BodyLen, ClientLimits, RequestHeadOut, Target};
use crate::http::syntax::is_token;

/// Size of each connection's read buffer, and so the largest response head accepted. S3 heads
/// are well under 4 KiB even with the 2 KiB of user metadata S3 allows; 16 KiB leaves room for
/// providers that add many headers, and for chunk-size lines and trailers.
pub const READ_BUF_BYTES: usize = 16 * 1024;

/// Size of each connection's write buffer, and so the largest request head we send. AWS itself
/// refuses request heads over 8 KiB; twice that leaves room for small body writes to be staged
/// behind the head.
pub const WRITE_BUF_BYTES: usize = 16 * 1024;

/// Most header fields in one response head; httparse needs the slots up front (on the stack).
/// S3 responses carry 10-30; an object with lots of user metadata may carry a few dozen more.
pub const MAX_RESPONSE_HEADERS: usize = 96;

/// A caller buffer at least this large is filled straight from the socket when the read buffer
/// is empty; smaller reads go through the read buffer so tiny reads do not cost a syscall each.
pub const DIRECT_READ_MIN_BYTES: usize = 4 * 1024;

/// Longest line accepted in chunked framing (size line with extensions, trailer field). Backends
/// send bare hex sizes; the bound keeps a hostile backend from making us buffer forever.
pub const MAX_CHUNK_LINE_BYTES: usize = 4 * 1024;

/// How long to look for a response after a request body write failed: a backend that rejected
/// the request and closed has usually already sent its answer, so it is there or not at once.
pub const EARLY_RESPONSE_WAIT: Duration = Duration::from_millis(250);

/// The transport under HTTP.
pub(crate) enum Stream {
    Plain(TcpStream),
    /// Boxed: rustls' connection state is large and would bloat every plain connection too.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
        }
    }

    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf).await,
            Stream::Tls(s) => s.write(buf).await,
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        match self {
            // glommio writes straight to the socket; there is nothing to flush.
            Stream::Plain(_) => Ok(()),
            Stream::Tls(s) => s.flush().await,
        }
    }
}

/// Position of one response header field inside [`Conn::head`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeaderSpan {
    pub(crate) name_start: u32,
    pub(crate) name_len: u32,
    pub(crate) value_start: u32,
    pub(crate) value_len: u32,
}

/// What the response head says about itself, extracted while httparse's view is alive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawHead {
    pub(crate) status: u16,
    /// The backend allows another request on this connection afterwards.
    pub(crate) keep_alive: bool,
    pub(crate) content_length: Option<u64>,
    /// A `Transfer-Encoding` header was present.
    pub(crate) transfer_encoding: bool,
    /// ... and its final coding is `chunked`.
    pub(crate) chunked: bool,
}

/// Why reading a response head failed.
#[derive(Debug)]
pub(crate) enum HeadError {
    /// I/O failure, `TimedOut` included.
    Io(io::Error),
    /// The backend closed the connection; `partial` if some head bytes had arrived.
    Eof {
        partial: bool,
    },
    Bad(&'static str),
}

impl HeadError {
    /// The connection had died before we used it (server closed an idle keep-alive connection):
    /// EOF or reset without a single response byte.
    pub(crate) fn is_stale_connection(&self) -> bool {
        match self {
            HeadError::Eof { partial } => !partial,
            HeadError::Io(e) => is_stale_io(e),
            HeadError::Bad(_) => false,
        }
    }

    pub(crate) fn into_client_error(self, phase: Phase, body_sent: bool) -> ClientError {
        match self {
            HeadError::Io(e) => ClientError::io(phase, e, body_sent),
            HeadError::Eof { .. } => ClientError::Io {
                phase,
                error: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "backend closed the connection before a complete response head",
                ),
                body_sent,
            },
            HeadError::Bad(reason) => ClientError::BadResponse { reason, body_sent },
        }
    }
}

/// The error kinds of a write or read on a connection the peer already closed.
pub(crate) fn is_stale_io(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::WriteZero
    )
}

/// A failed [`Conn::send`]: the error, and how many body payload bytes the socket had accepted.
#[derive(Debug)]
pub(crate) struct SendFailure {
    pub(crate) error: io::Error,
    pub(crate) payload_accepted: usize,
}

/// Races `fut` against the connection's timer.
async fn timed<T>(
    timer: &mut Timer,
    limit: Duration,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    if limit.is_zero() {
        return Err(io::Error::from(io::ErrorKind::TimedOut));
    }
    timer.reset(limit);
    future::or(fut, async {
        timer.await;
        Err(io::Error::from(io::ErrorKind::TimedOut))
    })
    .await
}

/// Writes all of `data`, each write bounded by `limit`; `written` counts accepted bytes even
/// when an error ends the loop.
async fn write_all(
    stream: &mut Stream,
    timer: &mut Timer,
    data: &[u8],
    limit: Duration,
    written: &mut usize,
) -> io::Result<()> {
    while *written < data.len() {
        let rest = &data[*written..];
        let n = timed(timer, limit, stream.write(rest)).await?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero));
        }
        *written += n;
    }
    Ok(())
}

pub(crate) struct Conn {
    /// The endpoint this connection belongs to (its pool key); also used to reconnect.
    pub(crate) target: Target,
    stream: Stream,
    timer: Timer,
    rbuf: Box<[u8]>,
    /// Unconsumed bytes are `rbuf[rpos..rend]`.
    rpos: usize,
    rend: usize,
    wbuf: Vec<u8>,
    /// The current request head is `wbuf[..head_len]`.
    head_len: usize,
    /// Names and values of the last response head, see [`HeaderSpan`].
    pub(crate) head: Vec<u8>,
    pub(crate) spans: Vec<HeaderSpan>,
    pub(crate) idle_since: Instant,
    /// Taken from the pool rather than freshly connected (decides the stale-connection retry).
    pub(crate) reused: bool,
}

impl Conn {
    /// Resolves `target`, connects (TCP_NODELAY on) and runs the TLS handshake if asked to.
    pub(crate) async fn connect(
        target: &Target,
        limits: &ClientLimits,
        tls_config: Option<Arc<ClientConfig>>,
    ) -> Result<Conn, ClientError> {
        let mut timer = Timer::new(limits.connect_timeout);
        let deadline = Instant::now() + limits.connect_timeout;
        let connect_timeout = |e: io::Error| {
            if e.kind() == io::ErrorKind::TimedOut {
                ClientError::Timeout {
                    phase: Phase::Connect,
                    body_sent: false,
                }
            } else {
                ClientError::Connect(e)
            }
        };
        let addrs = timed(
            &mut timer,
            limits.connect_timeout,
            resolve(&target.host, target.port),
        )
        .await
        .map_err(connect_timeout)?;
        let mut last_error = io::Error::new(io::ErrorKind::NotFound, "host resolved to nothing");
        let mut tcp = None;
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                last_error = io::Error::from(io::ErrorKind::TimedOut);
                break;
            }
            match TcpStream::connect_timeout(addr, left).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last_error = e.into(),
            }
        }
        let tcp = tcp.ok_or_else(|| connect_timeout(last_error))?;
        // glommio leaves Nagle on; a request head followed by a small body would wait for an ACK.
        tcp.set_nodelay(true)
            .map_err(|e| ClientError::Connect(e.into()))?;

        let stream = if target.tls {
            let config = tls_config.ok_or(ClientError::Usage("TLS target without TLS config"))?;
            let name = tls::server_name(target.tls_name()).map_err(ClientError::Tls)?;
            let tls_stream = timed(
                &mut timer,
                limits.connect_timeout,
                tls::handshake(config, name, tcp),
            )
            .await
            .map_err(|e| {
                if e.kind() == io::ErrorKind::TimedOut {
                    ClientError::Timeout {
                        phase: Phase::TlsHandshake,
                        body_sent: false,
                    }
                } else {
                    ClientError::Tls(e)
                }
            })?;
            Stream::Tls(Box::new(tls_stream))
        } else {
            Stream::Plain(tcp)
        };
        Ok(Conn {
            target: target.clone(),
            stream,
            timer,
            rbuf: vec![0u8; READ_BUF_BYTES].into_boxed_slice(),
            rpos: 0,
            rend: 0,
            wbuf: Vec::with_capacity(WRITE_BUF_BYTES),
            head_len: 0,
            head: Vec::new(),
            spans: Vec::new(),
            idle_since: Instant::now(),
            reused: false,
        })
    }

    /// The negotiated ALPN protocol (TLS only).
    pub(crate) fn alpn(&self) -> Option<&[u8]> {
        match &self.stream {
            Stream::Plain(_) => None,
            Stream::Tls(s) => s.get_ref().1.alpn_protocol(),
        }
    }

    /// Whether unconsumed bytes sit in the read buffer (a response longer than it said).
    pub(crate) fn has_buffered_input(&self) -> bool {
        self.rpos < self.rend
    }

    /// Checks, without waiting, that an idle connection is still open and silent. A closed
    /// connection shows EOF (or a TLS close_notify) right away; any data on an idle HTTP/1.1
    /// connection is unsolicited (e.g. a `408` before closing) and makes it unusable too.
    pub(crate) async fn idle_probe(&mut self) -> bool {
        if self.has_buffered_input() {
            return false;
        }
        let Conn { stream, rbuf, .. } = self;
        // Polled once: Pending means nothing to read and not closed. glommio keeps the readiness
        // poll it registered, so the next real read reuses it.
        future::poll_once(stream.read(&mut rbuf[..]))
            .await
            .is_none()
    }

    /// Serializes the request head into the write buffer (nothing is sent yet).
    pub(crate) fn write_request_head(
        &mut self,
        head: &RequestHeadOut<'_>,
        body: BodyLen,
        expect_continue: bool,
    ) -> Result<(), ClientError> {
        let size = request_head_size(&self.target, head, body, expect_continue)?;
        if size > WRITE_BUF_BYTES {
            return Err(ClientError::Usage(
                "request head larger than the write buffer",
            ));
        }
        let w = &mut self.wbuf;
        w.clear();
        w.extend_from_slice(head.method.as_bytes());
        w.push(b' ');
        w.extend_from_slice(head.path_and_query.as_bytes());
        w.extend_from_slice(b" HTTP/1.1\r\n");
        if !head
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            w.extend_from_slice(b"Host: ");
            push_host(w, &self.target);
            w.extend_from_slice(b"\r\n");
        }
        for (name, value) in head.headers {
            w.extend_from_slice(name.as_bytes());
            w.extend_from_slice(b": ");
            w.extend_from_slice(value);
            w.extend_from_slice(b"\r\n");
        }
        match body {
            BodyLen::None => {}
            BodyLen::Length(n) => {
                w.extend_from_slice(b"Content-Length: ");
                push_decimal(w, n);
                w.extend_from_slice(b"\r\n");
            }
            BodyLen::Chunked => w.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        }
        if expect_continue && !body.is_empty() {
            w.extend_from_slice(b"Expect: 100-continue\r\n");
        }
        w.extend_from_slice(b"\r\n");
        self.head_len = w.len();
        // Bytes of a previous exchange must not leak into this one.
        self.rpos = 0;
        self.rend = 0;
        Ok(())
    }

    /// Moves the pending request head of `other` (a stale connection) into this fresh one.
    pub(crate) fn adopt_request_head(&mut self, other: &mut Conn) {
        std::mem::swap(&mut self.wbuf, &mut other.wbuf);
        self.head_len = other.head_len;
        self.wbuf.truncate(self.head_len);
    }

    /// Sends `[head if pending] + prefix + data`: coalesced into one write when it fits the
    /// write buffer, otherwise head and prefix from the buffer and `data` straight from the
    /// caller's slice. `prefix` is framing (chunk size line), `data` is body payload.
    pub(crate) async fn send(
        &mut self,
        head_pending: bool,
        prefix: &[u8],
        data: &[u8],
        limit: Duration,
    ) -> Result<(), SendFailure> {
        let head_len = self.head_len;
        let start = if head_pending { 0 } else { head_len };
        let framing_len = (head_len - start) + prefix.len();
        // Copying small data saves a write (and a packet) only when framing goes with it.
        let coalesce = framing_len > 0 && head_len + prefix.len() + data.len() <= WRITE_BUF_BYTES;
        if framing_len > 0 {
            self.wbuf.truncate(head_len);
            self.wbuf.extend_from_slice(prefix);
            if coalesce {
                self.wbuf.extend_from_slice(data);
            }
            let mut written = 0;
            let staged = write_all(
                &mut self.stream,
                &mut self.timer,
                &self.wbuf[start..],
                limit,
                &mut written,
            )
            .await;
            // The head stays for a possible resend; staged framing and data go.
            self.wbuf.truncate(head_len);
            if let Err(error) = staged {
                return Err(SendFailure {
                    error,
                    payload_accepted: written.saturating_sub(framing_len),
                });
            }
        }
        let mut payload_accepted = if coalesce { data.len() } else { 0 };
        if !coalesce {
            if let Err(error) = write_all(
                &mut self.stream,
                &mut self.timer,
                data,
                limit,
                &mut payload_accepted,
            )
            .await
            {
                return Err(SendFailure {
                    error,
                    payload_accepted,
                });
            }
        }
        timed(&mut self.timer, limit, self.stream.flush())
            .await
            .map_err(|error| SendFailure {
                error,
                payload_accepted,
            })
    }

    /// Reads more input into the read buffer (compacting it first). `Ok(0)` is EOF.
    async fn fill(&mut self, limit: Duration) -> io::Result<usize> {
        if self.rpos == self.rend {
            self.rpos = 0;
            self.rend = 0;
        } else if self.rend == self.rbuf.len() && self.rpos > 0 {
            self.rbuf.copy_within(self.rpos..self.rend, 0);
            self.rend -= self.rpos;
            self.rpos = 0;
        }
        if self.rend == self.rbuf.len() {
            return Err(io::Error::other("read buffer full"));
        }
        let Conn {
            stream,
            timer,
            rbuf,
            rend,
            ..
        } = self;
        let n = timed(timer, limit, stream.read(&mut rbuf[*rend..])).await?;
        *rend += n;
        Ok(n)
    }

    /// Reads and parses one response head (interim or final) by `deadline`. Header names and
    /// values are copied into `self.head`/`self.spans`; bytes after the head stay buffered.
    pub(crate) async fn read_head(&mut self, deadline: Instant) -> Result<RawHead, HeadError> {
        loop {
            if self.rpos < self.rend {
                let mut slots = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
                let mut parsed = httparse::Response::new(&mut slots);
                match parsed.parse(&self.rbuf[self.rpos..self.rend]) {
                    Ok(httparse::Status::Complete(len)) => {
                        let raw = extract_head(&parsed, &mut self.head, &mut self.spans)
                            .map_err(HeadError::Bad)?;
                        self.rpos += len;
                        self.ack_now_if_body_pending(&raw);
                        return Ok(raw);
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.rend - self.rpos >= self.rbuf.len() {
                            return Err(HeadError::Bad("response head too large"));
                        }
                    }
                    Err(httparse::Error::TooManyHeaders) => {
                        return Err(HeadError::Bad("too many response header fields"))
                    }
                    Err(_) => return Err(HeadError::Bad("malformed response head")),
                }
            }
            let partial = self.rpos < self.rend;
            let left = deadline.saturating_duration_since(Instant::now());
            match self.fill(left).await {
                Ok(0) => return Err(HeadError::Eof { partial }),
                Ok(_) => {}
                // Part of a head arrived, so the connection was alive: not a stale one.
                Err(e) if partial && is_stale_io(&e) => return Err(HeadError::Eof { partial }),
                Err(e) => return Err(HeadError::Io(e)),
            }
        }
    }

    /// Sends the ACK for the response head now when body bytes are still to come.
    ///
    /// Why: a backend that writes the head and the body in two writes with Nagle on (hyper-based
    /// servers such as s3s-fs do, for file-backed GETs) holds the body until the head is ACKed,
    /// while Linux delays that ACK (up to 40 ms in its interactive mode) because we send nothing
    /// back. TCP_QUICKACK flushes the pending ACK; one setsockopt per response that did not
    /// arrive whole, none when the body came with the head.
    fn ack_now_if_body_pending(&self, raw: &RawHead) {
        if raw.status < 200 {
            return;
        }
        let buffered = (self.rend - self.rpos) as u64;
        let pending = if raw.chunked {
            buffered == 0
        } else {
            raw.content_length.is_some_and(|n| n > buffered)
        };
        if !pending {
            return;
        }
        let tcp = match &self.stream {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        };
        // Best effort: failing only means the ACK goes out on the kernel's schedule.
        let _ = socket2::SockRef::from(tcp).set_quickack(true);
    }

    /// Reads up to `max` body bytes into `buf`: from the read buffer if it holds any, else
    /// straight from the socket when `buf` is large, else through the read buffer. `Ok(0)` is EOF.
    pub(crate) async fn read_body_bytes(
        &mut self,
        buf: &mut [u8],
        max: u64,
        limit: Duration,
    ) -> io::Result<usize> {
        let want = usize::try_from(max).unwrap_or(usize::MAX).min(buf.len());
        if want == 0 {
            return Ok(0);
        }
        if self.rpos == self.rend {
            if want >= DIRECT_READ_MIN_BYTES {
                return timed(&mut self.timer, limit, self.stream.read(&mut buf[..want])).await;
            }
            if self.fill(limit).await? == 0 {
                return Ok(0);
            }
        }
        let n = want.min(self.rend - self.rpos);
        buf[..n].copy_from_slice(&self.rbuf[self.rpos..self.rpos + n]);
        self.rpos += n;
        Ok(n)
    }

    /// Reads one CRLF- (or LF-) terminated line of at most `max` bytes and returns it without
    /// its terminator, as a range of the read buffer valid until the next read.
    pub(crate) async fn read_line(
        &mut self,
        max: usize,
        limit: Duration,
    ) -> Result<std::ops::Range<usize>, HeadError> {
        let mut searched = 0;
        loop {
            let avail = &self.rbuf[self.rpos + searched..self.rend];
            if let Some(i) = avail.iter().position(|&b| b == b'\n') {
                let start = self.rpos;
                let lf = self.rpos + searched + i;
                self.rpos = lf + 1;
                let end = if lf > start && self.rbuf[lf - 1] == b'\r' {
                    lf - 1
                } else {
                    lf
                };
                return Ok(start..end);
            }
            searched = self.rend - self.rpos;
            if searched >= max {
                return Err(HeadError::Bad("chunked framing line too long"));
            }
            match self.fill(limit).await {
                Ok(0) => return Err(HeadError::Eof { partial: true }),
                Ok(_) => {}
                Err(e) => return Err(HeadError::Io(e)),
            }
        }
    }

    /// The read buffer, for callers holding a range from [`Conn::read_line`].
    pub(crate) fn rbuf(&self) -> &[u8] {
        &self.rbuf
    }
}

/// Resolves `host` without blocking the executor: IP literals directly, names on glommio's
/// blocking thread pool (getaddrinfo is synchronous).
async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = host.to_owned();
    glommio::executor()
        .spawn_blocking(move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<Vec<_>>())
        })
        .await
}

/// Headers the client writes itself (framing, `Expect`) or that would break its connection
/// handling; a caller passing one has a bug.
const RESERVED_HEADERS: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "expect",
    "connection",
    "upgrade",
];

/// Validates the head and returns its serialized size. Refuses anything that would let a
/// caller-supplied value (e.g. forwarded user metadata) inject a header or a request.
fn request_head_size(
    target: &Target,
    head: &RequestHeadOut<'_>,
    body: BodyLen,
    expect_continue: bool,
) -> Result<usize, ClientError> {
    if !is_token(head.method.as_bytes()) {
        return Err(ClientError::Usage("request method is not a token"));
    }
    let path = head.path_and_query.as_bytes();
    if path.first() != Some(&b'/') || !path.iter().all(|&b| (0x21..0x7f).contains(&b)) {
        return Err(ClientError::Usage(
            "request target must be an encoded origin-form path",
        ));
    }
    let mut size = head.method.len() + 1 + path.len() + " HTTP/1.1\r\n".len();
    let mut has_host = false;
    for (name, value) in head.headers {
        if !is_token(name.as_bytes()) {
            return Err(ClientError::Usage("header name is not a token"));
        }
        if value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(ClientError::Usage("header value contains CR, LF or NUL"));
        }
        if RESERVED_HEADERS
            .iter()
            .any(|r| name.eq_ignore_ascii_case(r))
        {
            return Err(ClientError::Usage(
                "framing, Expect and connection headers are the client's to write",
            ));
        }
        has_host |= name.eq_ignore_ascii_case("host");
        size += name.len() + 2 + value.len() + 2;
    }
    if !has_host {
        // "Host: " + [v6] + ":65535" + CRLF
        size += 6 + target.host.len() + 2 + 6 + 2;
    }
    size += match body {
        BodyLen::None => 0,
        BodyLen::Length(_) => "Content-Length: ".len() + 20 + 2,
        BodyLen::Chunked => "Transfer-Encoding: chunked\r\n".len(),
    };
    if expect_continue && !body.is_empty() {
        size += "Expect: 100-continue\r\n".len();
    }
    Ok(size + 2)
}

/// `host[:port]` for a `Host` header, the port left out when it is the scheme's default.
fn push_host(w: &mut Vec<u8>, target: &Target) {
    let v6 = target.host.contains(':');
    if v6 {
        w.push(b'[');
    }
    w.extend_from_slice(target.host.as_bytes());
    if v6 {
        w.push(b']');
    }
    let default_port = if target.tls { 443 } else { 80 };
    if target.port != default_port {
        w.push(b':');
        push_decimal(w, u64::from(target.port));
    }
}

/// Appends `n` in decimal without going through a `String`.
pub(crate) fn push_decimal(w: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    w.extend_from_slice(&digits[i..]);
}

/// Formats a chunk size line `[\r\n]<hex>\r\n` into `out` and returns its length; `crlf_first`
/// closes the previous chunk's data.
pub(crate) fn chunk_prefix(out: &mut [u8; 24], crlf_first: bool, len: usize) -> usize {
    struct Cursor<'a>(&'a mut [u8], usize);
    impl std::fmt::Write for Cursor<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = self.1 + s.len();
            let dst = self.0.get_mut(self.1..end).ok_or(std::fmt::Error)?;
            dst.copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }
    let mut c = Cursor(out, 0);
    // 2 + 16 hex digits + 2 always fit in 24 bytes, so this cannot fail.
    let _ = if crlf_first {
        write!(c, "\r\n{len:x}\r\n")
    } else {
        write!(c, "{len:x}\r\n")
    };
    c.1
}

/// Copies the fields of a parsed head into `head`/`spans` and reads the framing facts.
fn extract_head(
    parsed: &httparse::Response<'_, '_>,
    head: &mut Vec<u8>,
    spans: &mut Vec<HeaderSpan>,
) -> Result<RawHead, &'static str> {
    head.clear();
    spans.clear();
    let status = parsed.code.ok_or("response without status")?;
    let version = parsed.version.ok_or("response without version")?;
    let mut raw = RawHead {
        status,
        ..RawHead::default()
    };
    let (mut close, mut keep_alive) = (false, false);
    for h in parsed.headers.iter() {
        let name_start = u32::try_from(head.len()).map_err(|_| "response head too large")?;
        head.extend_from_slice(h.name.as_bytes());
        let value_start = u32::try_from(head.len()).map_err(|_| "response head too large")?;
        head.extend_from_slice(h.value);
        spans.push(HeaderSpan {
            name_start,
            name_len: h.name.len() as u32,
            value_start,
            value_len: h.value.len() as u32,
        });
        if h.name.eq_ignore_ascii_case("content-length") {
            for item in h.value.split(|&b| b == b',') {
                let n = parse_decimal(item.trim_ascii()).ok_or("invalid Content-Length")?;
                if raw.content_length.is_some_and(|m| m != n) {
                    return Err("conflicting Content-Length values");
                }
                raw.content_length = Some(n);
            }
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            raw.transfer_encoding = true;
            // Only the final coding decides the framing; a later header field overrides.
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(&[]);
            raw.chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    raw.keep_alive = !close && (version == 1 || keep_alive);
    Ok(raw)
}

/// A non-empty run of ASCII digits that fits a `u64`.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// A chunk-size line: hex digits, then optional whitespace and `;extensions`.
pub(crate) fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let size = line[..digits].iter().try_fold(0u64, |acc, &b| {
        let d = char::from(b).to_digit(16)?;
        acc.checked_mul(16)?.checked_add(u64::from(d))
    })?;
    let rest = line[digits..].trim_ascii_start();
    (rest.is_empty() || rest[0] == b';').then_some(size)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Result<(RawHead, Vec<u8>, Vec<HeaderSpan>), &'static str> {
        let mut slots = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut slots);
        assert!(parsed.parse(raw).unwrap().is_complete());
        let (mut head, mut spans) = (Vec::new(), Vec::new());
        extract_head(&parsed, &mut head, &mut spans).map(|r| (r, head, spans))
    }

    #[test]
    fn head_framing_facts() {
        let (r, head, spans) =
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nETag: \"x\"\r\n\r\n").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.content_length, Some(12));
        assert!(r.keep_alive && !r.transfer_encoding);
        assert_eq!(spans.len(), 2);
        let s = spans[1];
        let name = &head[s.name_start as usize..][..s.name_len as usize];
        let value = &head[s.value_start as usize..][..s.value_len as usize];
        assert_eq!((name, value), (&b"ETag"[..], &b"\"x\""[..]));

        let (r, ..) =
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").unwrap();
        assert!(r.transfer_encoding && r.chunked);
        let (r, ..) =
            parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").unwrap();
        assert!(r.transfer_encoding && !r.chunked);
        let (r, ..) = parse(b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\n\r\n").unwrap();
        assert!(!r.keep_alive);
        let (r, ..) = parse(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        assert!(!r.keep_alive);
        let (r, ..) = parse(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert!(r.keep_alive);
        let (r, ..) = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n").unwrap();
        assert_eq!(r.content_length, Some(5));
    }

    #[test]
    fn head_rejects_bad_lengths() {
        assert!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").is_err()
        );
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n").is_err());
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n").is_err());
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"0"), Some(0));
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"FFff"), Some(0xffff));
        assert_eq!(parse_chunk_size(b"10;name=value"), Some(16));
        assert_eq!(parse_chunk_size(b"10 ; ext"), Some(16));
        assert_eq!(parse_chunk_size(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_chunk_size(b"10000000000000000"), None);
        assert_eq!(parse_chunk_size(b""), None);
        assert_eq!(parse_chunk_size(b"x1"), None);
        assert_eq!(parse_chunk_size(b"1 x"), None);
    }

    #[test]
    fn chunk_prefix_and_decimal() {
        let mut b = [0u8; 24];
        let n = chunk_prefix(&mut b, false, 0x10000);
        assert_eq!(&b[..n], b"10000\r\n");
        let n = chunk_prefix(&mut b, true, usize::MAX);
        assert_eq!(&b[..n], b"\r\nffffffffffffffff\r\n");
        let mut v = Vec::new();
        push_decimal(&mut v, 0);
        v.push(b' ');
        push_decimal(&mut v, u64::MAX);
        assert_eq!(v, b"0 18446744073709551615");
    }

    #[test]
    fn head_validation() {
        let t = Target::http("10.0.0.1", 9000);
        let ok = RequestHeadOut {
            method: "PUT",
            path_and_query: "/b/k%20x?partNumber=1",
            headers: &[("x-amz-meta-a", b"v\xc3\xa9")],
        };
        assert!(request_head_size(&t, &ok, BodyLen::Length(5), true).is_ok());
        let bad = |method, path, headers: &[(&str, &[u8])]| {
            request_head_size(
                &t,
                &RequestHeadOut {
                    method,
                    path_and_query: path,
                    headers,
                },
                BodyLen::None,
                false,
            )
            .is_err()
        };
        assert!(bad("GE T", "/", &[]));
        assert!(bad("GET", "/a b", &[]));
        assert!(bad("GET", "http://x/", &[]));
        assert!(bad("GET", "/\r\n", &[]));
        assert!(bad("GET", "/", &[("x-a", b"1\r\nx-b: 2")]));
        assert!(bad("GET", "/", &[("x a", b"1")]));
        assert!(bad("GET", "/", &[("Content-Length", b"1")]));
        assert!(bad("GET", "/", &[("transfer-encoding", b"chunked")]));
        assert!(bad("GET", "/", &[("Connection", b"close")]));
        assert!(!bad("GET", "/", &[("Host", b"h")]));
    }

    #[test]
    fn host_header_defaults() {
        let mut w = Vec::new();
        push_host(&mut w, &Target::http("s3.local", 80));
        w.push(b' ');
        push_host(&mut w, &Target::https("s3.local", 8443));
        w.push(b' ');
        push_host(&mut w, &Target::http("::1", 9000));
        assert_eq!(w, b"s3.local s3.local:8443 [::1]:9000");
    }
}
