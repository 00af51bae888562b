//! One backend connection: plain TCP or TLS over a glommio `TcpStream`, with fixed-size buffers
//! that live as long as the connection and are reused by every request on it. This is the
//! transport; the bytes are the codec's (`crate::http`).
//!
//! - The write buffer holds the request head ([`RequestHeadOut::write`], kept until the request
//!   is done, so a stale pooled connection can be swapped for a fresh one and the head sent
//!   again) and stages small body writes together with the head or chunk framing, so a small PUT
//!   is one write. Large body data goes straight from the caller's slice to the socket (or to
//!   rustls).
//! - The read buffer receives the response head, which [`ParsedResponseHead`] parses and copies
//!   into its own reused buffer, so the read buffer is free for the body. Body bytes left over
//!   after the head are served from it; once it is empty, large reads go straight into the
//!   caller's buffer (one userspace copy per hop). Chunked framing is decoded from it by the
//!   connection's [`ChunkedDecoder`], chunk data is moved like any other body bytes.
//! - Every I/O operation races a per-connection glommio timer that is reset, not reallocated,
//!   per operation. (glommio's own socket timeouts are not used: a read abandoned while pending,
//!   as rustls does internally, leaves their timer armed and fails a later read spuriously.)
//!
//! Connecting (DNS, TCP, TLS) is in `dial.rs`.

use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use futures_rustls::client::TlsStream;
use glommio::net::TcpStream;
use glommio::timer::Timer;

use super::target::{BodyLen, Target};
use crate::http::limits::MAX_RESPONSE_HEAD_BYTES;
use crate::http::{
    ChunkedDecoder, HttpError, ParseStatus, ParsedResponseHead, RequestHeadOut, ResponseFraming,
};

/// Size of each connection's read buffer. It must hold a whole response head (see
/// [`MAX_RESPONSE_HEAD_BYTES`]); chunk framing and small body reads go through it too.
pub const READ_BUF_BYTES: usize = 16 * 1024;

const _: () = assert!(READ_BUF_BYTES >= MAX_RESPONSE_HEAD_BYTES);

/// Size of each connection's write buffer, and so the largest request head we send. AWS itself
/// refuses request heads over 8 KiB; twice that leaves room for small body writes to be staged
/// behind the head.
pub const WRITE_BUF_BYTES: usize = 16 * 1024;

/// A caller buffer at least this large is filled straight from the socket when the read buffer
/// is empty; smaller reads go through the read buffer so tiny reads do not cost a syscall each.
pub const DIRECT_READ_MIN_BYTES: usize = 4 * 1024;

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

/// Why reading a response head or chunk framing failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// I/O failure, `TimedOut` included.
    Io(io::Error),
    /// The backend closed the connection; `partial` if some bytes of the head had arrived.
    Eof { partial: bool },
    /// The backend sent something the codec refuses.
    Bad(&'static str),
}

impl ReadError {
    /// The connection had died before we used it (server closed an idle keep-alive connection):
    /// EOF or reset without a single response byte.
    pub(crate) fn is_stale_connection(&self) -> bool {
        match self {
            ReadError::Eof { partial } => !partial,
            ReadError::Io(e) => is_stale_io(e),
            ReadError::Bad(_) => false,
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
pub(crate) async fn timed<T>(
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
    /// The last response head read on this connection. Boxed, like `chunked`: both are large
    /// next to the rest of a `Conn`, which moves with every request and response (and clippy's
    /// `large_enum_variant` watches the enums holding one); one allocation per connection.
    pub(crate) response: Box<ParsedResponseHead>,
    /// Framing state of the current chunked response body (reset per response).
    pub(crate) chunked: Box<ChunkedDecoder>,
    pub(crate) idle_since: Instant,
    /// Taken from the pool rather than freshly connected (decides the stale-connection retry).
    pub(crate) reused: bool,
}

impl Conn {
    /// A connection over an established `stream` (see `dial.rs`); `timer` is reused for every
    /// operation on it.
    pub(crate) fn new(target: Target, stream: Stream, timer: Timer) -> Conn {
        Conn {
            target,
            stream,
            timer,
            rbuf: vec![0u8; READ_BUF_BYTES].into_boxed_slice(),
            rpos: 0,
            rend: 0,
            wbuf: Vec::with_capacity(WRITE_BUF_BYTES),
            head_len: 0,
            response: Box::default(),
            chunked: Box::default(),
            idle_since: Instant::now(),
            reused: false,
        }
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

    /// Serializes the request head into the write buffer (nothing is sent yet). An error is the
    /// caller's (a forbidden or malformed field, a head larger than the write buffer).
    pub(crate) fn write_request_head(
        &mut self,
        head: &RequestHeadOut<'_>,
        body: BodyLen,
        expect_continue: bool,
    ) -> Result<(), HttpError> {
        self.wbuf.clear();
        self.head_len = 0;
        self.head_len = head.write(
            &mut self.wbuf,
            self.target.authority(),
            body,
            expect_continue,
            WRITE_BUF_BYTES,
        )?;
        // Bytes of a previous exchange must not leak into this one.
        self.rpos = 0;
        self.rend = 0;
        self.response.clear();
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
    pub(crate) async fn fill(&mut self, limit: Duration) -> io::Result<usize> {
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

    /// Reads and parses one response head (interim or final) by `deadline` into
    /// [`Conn::response`] and returns its status; bytes after the head stay buffered.
    pub(crate) async fn read_head(&mut self, deadline: Instant) -> Result<u16, ReadError> {
        loop {
            if self.rpos < self.rend {
                match self.response.parse(&self.rbuf[self.rpos..self.rend]) {
                    Ok(ParseStatus::Complete { head_len }) => {
                        self.rpos += head_len;
                        self.ack_now_if_body_pending();
                        return Ok(self.response.status());
                    }
                    // The parser refuses a head longer than the read buffer can hold, so the
                    // fill below always has room.
                    Ok(ParseStatus::Partial) => {}
                    Err(e) => return Err(ReadError::Bad(e.reason)),
                }
            }
            let partial = self.rpos < self.rend;
            let left = deadline.saturating_duration_since(Instant::now());
            match self.fill(left).await {
                Ok(0) => return Err(ReadError::Eof { partial }),
                Ok(_) => {}
                // Part of a head arrived, so the connection was alive: not a stale one.
                Err(e) if partial && is_stale_io(&e) => return Err(ReadError::Eof { partial }),
                Err(e) => return Err(ReadError::Io(e)),
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
    fn ack_now_if_body_pending(&self) {
        let buffered = (self.rend - self.rpos) as u64;
        // A HEAD request is not known here; an extra ACK for one is harmless.
        let pending = match self.response.framing(false) {
            ResponseFraming::None => false,
            ResponseFraming::Length(n) => n > buffered,
            ResponseFraming::Chunked | ResponseFraming::UntilClose => buffered == 0,
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

    /// Feeds the buffered bytes to the chunked decoder, which consumes framing only (size
    /// lines, CRLFs, trailers) and stops where chunk data starts; returns whether the body is
    /// complete. With nothing buffered, call [`fill`](Self::fill) first.
    pub(crate) fn decode_chunk_framing(&mut self) -> Result<bool, HttpError> {
        let d = self
            .chunked
            .decode_framing(&self.rbuf[self.rpos..self.rend])?;
        self.rpos += d.consumed;
        Ok(d.done)
    }
}
