//! A minimal blocking HTTP/1.1 client: one keep-alive connection per worker thread.
//!
//! Requests are written from a reused head buffer plus a body source; responses are parsed with
//! `httparse` and their bodies drained through one fixed buffer (never kept whole), so a 8 GiB GET
//! costs the same memory as a 4 KiB one.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Size of the read buffer: large enough that a 64 MiB GET is 1024 reads, small enough to stay
/// in L2 cache.
pub const READ_BUF: usize = 64 * 1024;
/// Most response header lines we accept (S3 servers send ~15).
const MAX_RESPONSE_HEADERS: usize = 64;
/// Largest response head we accept before calling the response malformed.
const MAX_HEAD_BYTES: usize = 32 * 1024;
/// How much of an error response body is kept for the report.
pub const ERROR_BODY_KEEP: usize = 512;
/// Socket timeout: a stalled server fails the operation instead of hanging the run.
const IO_TIMEOUT: Duration = Duration::from_secs(120);

/// The part of a response the load generator looks at.
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    /// Body bytes received (decoded length for chunked bodies).
    pub body_len: u64,
    /// The first [`ERROR_BODY_KEEP`] bytes of the body, kept only for statuses >= 300.
    pub body_head: Vec<u8>,
    /// The server asked to close the connection.
    pub close: bool,
}

/// Where a request body comes from.
pub enum Body<'a> {
    Empty,
    /// `len` bytes cycling through `pattern`, starting at offset 0.
    Pattern {
        pattern: &'a [u8],
        len: u64,
    },
}

impl Body<'_> {
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Pattern { len, .. } => *len,
        }
    }
}

/// One keep-alive connection, reopened on demand.
pub struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Box<[u8]>,
    /// Bytes `buf[start..end]` are read but not consumed yet.
    start: usize,
    end: usize,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        Conn {
            addr,
            stream: None,
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        if self.stream.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(IO_TIMEOUT))?;
            s.set_write_timeout(Some(IO_TIMEOUT))?;
            self.stream = Some(s);
            self.start = 0;
            self.end = 0;
        }
        match self.stream.as_mut() {
            Some(s) => Ok(s),
            None => Err(io::Error::other("no connection")),
        }
    }

    /// Drops the connection (after an error or `Connection: close`).
    pub fn reset(&mut self) {
        self.stream = None;
        self.start = 0;
        self.end = 0;
    }

    /// Sends `head` (complete, ending in CRLF CRLF) and `body`, then reads the response.
    /// `head_request` says the response carries no body whatever its headers say.
    pub fn roundtrip(
        &mut self,
        head: &[u8],
        body: &Body<'_>,
        head_request: bool,
    ) -> io::Result<Response> {
        let r = self.roundtrip_inner(head, body, head_request);
        match &r {
            Ok(resp) if resp.close => self.reset(),
            Err(_) => self.reset(),
            _ => {}
        }
        r
    }

    fn roundtrip_inner(
        &mut self,
        head: &[u8],
        body: &Body<'_>,
        head_request: bool,
    ) -> io::Result<Response> {
        let stream = self.stream()?;
        match body {
            Body::Empty => stream.write_all(head)?,
            Body::Pattern { pattern, len } => {
                // Small bodies go out with the head in one write (one segment, one syscall).
                if (*len as usize) <= pattern.len() && head.len() + (*len as usize) <= READ_BUF {
                    let mut one = Vec::with_capacity(head.len() + *len as usize);
                    one.extend_from_slice(head);
                    one.extend_from_slice(&pattern[..*len as usize]);
                    stream.write_all(&one)?;
                } else {
                    stream.write_all(head)?;
                    let mut left = *len;
                    while left > 0 {
                        let n = left.min(pattern.len() as u64) as usize;
                        stream.write_all(&pattern[..n])?;
                        left -= n as u64;
                    }
                }
            }
        }
        self.read_response(head_request)
    }

    fn fill(&mut self) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let end = self.end;
        let stream = match self.stream.as_mut() {
            Some(s) => s,
            None => return Err(io::Error::other("no connection")),
        };
        let n = stream.read(&mut self.buf[end..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by server",
            ));
        }
        self.end += n;
        Ok(n)
    }

    fn read_response(&mut self, head_request: bool) -> io::Result<Response> {
        loop {
            // Interim 1xx responses (100 Continue) are skipped.
            let (resp, body) = loop {
                let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
                let mut parsed = httparse::Response::new(&mut headers);
                match parsed.parse(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete(n)) => {
                        let status = parsed.code.unwrap_or(0);
                        let mut close = parsed.version == Some(0);
                        let mut framing = Framing::UntilClose;
                        for h in parsed.headers.iter() {
                            if h.name.eq_ignore_ascii_case("content-length") {
                                let v = std::str::from_utf8(h.value).unwrap_or("").trim();
                                let len = v.parse::<u64>().map_err(|_| {
                                    io::Error::new(io::ErrorKind::InvalidData, "bad content-length")
                                })?;
                                if !matches!(framing, Framing::Chunked) {
                                    framing = Framing::Length(len);
                                }
                            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                                if h.value.eq_ignore_ascii_case(b"chunked") {
                                    framing = Framing::Chunked;
                                }
                            } else if h.name.eq_ignore_ascii_case("connection") {
                                if h.value.eq_ignore_ascii_case(b"close") {
                                    close = true;
                                } else if h.value.eq_ignore_ascii_case(b"keep-alive") {
                                    close = false;
                                }
                            }
                        }
                        if head_request || status == 204 || status == 304 || status < 200 {
                            framing = Framing::Length(0);
                        }
                        self.start += n;
                        break (
                            Response {
                                status,
                                close,
                                ..Response::default()
                            },
                            framing,
                        );
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.end - self.start >= MAX_HEAD_BYTES {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "response head too large",
                            ));
                        }
                        self.fill()?;
                    }
                    Err(e) => {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("bad response head: {e}"),
                        ))
                    }
                }
            };
            if resp.status < 200 {
                continue;
            }
            let mut resp = resp;
            let keep = resp.status >= 300;
            let body_pending = match body {
                Framing::Length(n) => n > (self.end - self.start) as u64,
                _ => self.end == self.start,
            };
            if body_pending {
                // ACK the head now: a server that writes head and body separately with Nagle on
                // (s3s-fs) would otherwise wait for our delayed ACK (40 ms) before the body, and
                // the "direct" baseline would measure that stall, not the server.
                if let Some(s) = self.stream.as_ref() {
                    let _ = socket2::SockRef::from(s).set_quickack(true);
                }
            }
            match body {
                Framing::Length(n) => self.drain(n, keep, &mut resp)?,
                Framing::Chunked => self.drain_chunked(keep, &mut resp)?,
                Framing::UntilClose => {
                    resp.close = true;
                    loop {
                        self.take(u64::MAX, keep, &mut resp);
                        match self.fill() {
                            Ok(_) => {}
                            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            return Ok(resp);
        }
    }

    /// Consumes up to `max` buffered bytes as body; returns how many.
    fn take(&mut self, max: u64, keep: bool, resp: &mut Response) -> u64 {
        let n = ((self.end - self.start) as u64).min(max) as usize;
        if keep && resp.body_head.len() < ERROR_BODY_KEEP {
            let k = n.min(ERROR_BODY_KEEP - resp.body_head.len());
            resp.body_head
                .extend_from_slice(&self.buf[self.start..self.start + k]);
        }
        self.start += n;
        resp.body_len += n as u64;
        n as u64
    }

    fn drain(&mut self, mut left: u64, keep: bool, resp: &mut Response) -> io::Result<()> {
        while left > 0 {
            if self.start == self.end {
                self.fill()?;
            }
            left -= self.take(left, keep, resp);
        }
        Ok(())
    }

    fn line(&mut self) -> io::Result<(usize, usize)> {
        loop {
            if let Some(pos) = self.buf[self.start..self.end]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                let s = self.start;
                self.start += pos + 2;
                return Ok((s, s + pos));
            }
            if self.end - self.start >= MAX_HEAD_BYTES {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunk line too long",
                ));
            }
            self.fill()?;
        }
    }

    fn drain_chunked(&mut self, keep: bool, resp: &mut Response) -> io::Result<()> {
        loop {
            let (a, b) = self.line()?;
            let text = std::str::from_utf8(&self.buf[a..b]).unwrap_or("");
            let size_text = text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                // Trailer lines until the empty one.
                loop {
                    let (a, b) = self.line()?;
                    if a == b {
                        return Ok(());
                    }
                }
            }
            self.drain(size, keep, resp)?;
            let (a, b) = self.line()?;
            if a != b {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "chunk not followed by CRLF",
                ));
            }
        }
    }
}

enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}
