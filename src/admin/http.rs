//! Minimal blocking HTTP/1.1 for the admin listener: one request per connection (`Connection:
//! close`), a bounded head and body, query strings decoded.
//!
//! The bytes are the shared codec's: the head is read into a buffer and parsed by
//! [`crate::http::RequestHead`] (the same parser, strictness and limits as the S3 listener),
//! answers are written by [`crate::http::ResponseHead`]. Only the blocking I/O is here.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::http::{BodyKind, HttpError, ParseStatus, RequestHead, ResponseHead};

/// Admin requests are small; a head larger than this is refused (431).
pub(crate) const MAX_ADMIN_HEAD_BYTES: usize = 16 * 1024;
/// Admin request bodies (a login form, a log filter) are tiny; larger ones are refused (413).
pub(crate) const MAX_ADMIN_BODY_BYTES: usize = 4 * 1024;

/// One parsed admin request.
#[derive(Debug, Default)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    /// Lower-case names.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded (`+` as space).
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        form_value(&self.query, name)
    }
}

/// A value of an `application/x-www-form-urlencoded` string (query or form body).
pub(crate) fn form_value(text: &str, name: &str) -> Option<String> {
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// Why a request could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The client closed before sending a request.
    Closed,
    /// Answer with this status and reason, then close.
    Refused(HttpError),
    /// Reading or writing failed (a timeout, a reset): drop the connection.
    Io,
}

/// A stream whose reads can be bounded in time (a socket; the tests' in-memory peer).
pub(crate) trait Timed: Read + Write {
    /// The longest the next read may wait.
    fn limit_wait(&mut self, wait: Duration) -> std::io::Result<()>;
}

impl Timed for std::net::TcpStream {
    fn limit_wait(&mut self, wait: Duration) -> std::io::Result<()> {
        // A zero timeout means "none" to the socket; the caller never passes one.
        self.set_read_timeout(Some(wait.max(Duration::from_millis(1))))
    }
}

/// Reads once, waiting no later than `deadline`: a client that trickles its request a byte at a
/// time is cut off when the whole request is late, not only when one gap is long.
fn read_by<S: Timed>(
    stream: &mut S,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<usize, ReadError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(ReadError::Io);
    }
    stream.limit_wait(left).map_err(|_| ReadError::Io)?;
    stream.read(buf).map_err(|_| ReadError::Io)
}

/// Reads one request (head and `Content-Length` body), all of it by `deadline`. `stream` is
/// written to only for a `100 Continue` before a body the client holds back.
pub(crate) fn read_request<S: Timed>(
    stream: &mut S,
    deadline: Instant,
) -> Result<Request, ReadError> {
    let mut buf = vec![0u8; MAX_ADMIN_HEAD_BYTES];
    let mut filled = 0;
    let mut head = RequestHead::new();
    let head_len = loop {
        let n = read_by(stream, &mut buf[filled..], deadline)?;
        if n == 0 {
            return Err(if filled == 0 {
                ReadError::Closed
            } else {
                ReadError::Refused(HttpError::bad_request("truncated request"))
            });
        }
        filled += n;
        match head.parse(&buf[..filled]) {
            Ok(ParseStatus::Complete { head_len }) => break head_len,
            Ok(ParseStatus::Partial) if filled < buf.len() => {}
            Ok(ParseStatus::Partial) => {
                return Err(ReadError::Refused(HttpError::new(
                    431,
                    "request head too large",
                )))
            }
            Err(e) => return Err(ReadError::Refused(e)),
        }
    };
    let len = match head.body_kind() {
        BodyKind::None => 0,
        BodyKind::Length(n) if n <= MAX_ADMIN_BODY_BYTES as u64 => n as usize,
        BodyKind::Length(_) => {
            return Err(ReadError::Refused(HttpError::new(
                413,
                "request body too large",
            )))
        }
        BodyKind::Chunked => {
            return Err(ReadError::Refused(HttpError::bad_request(
                "chunked bodies are not accepted here",
            )))
        }
    };
    let mut body = buf[head_len..filled].to_vec();
    body.truncate(len);
    if body.len() < len && head.expects_continue() {
        let mut out = Vec::new();
        crate::http::write_continue(&mut out);
        stream.write_all(&out).map_err(|_| ReadError::Io)?;
    }
    while body.len() < len {
        let mut chunk = [0u8; 1024];
        let n = read_by(stream, &mut chunk, deadline)?;
        if n == 0 {
            return Err(ReadError::Refused(HttpError::bad_request("truncated body")));
        }
        let take = n.min(len - body.len());
        body.extend_from_slice(&chunk[..take]);
    }
    Ok(Request {
        method: head.method().to_owned(),
        path: head.path().to_owned(),
        query: head.query().to_owned(),
        headers: head
            .headers()
            .map(|(n, v)| {
                (
                    n.to_ascii_lowercase(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect(),
        body,
    })
}

/// An answer to write.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Vec<u8>,
    /// Set when the request failed authentication (why, in our words): the listener delays and
    /// logs it ([`super::throttle`]).
    pub(crate) auth_failure: Option<&'static str>,
}

impl Response {
    pub(crate) fn new(
        status: u16,
        content_type: &'static str,
        body: impl Into<Vec<u8>>,
    ) -> Response {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
            auth_failure: None,
        }
    }

    pub(crate) fn text(status: u16, body: impl Into<String>) -> Response {
        let mut b: String = body.into();
        if !b.ends_with('\n') {
            b.push('\n');
        }
        Response::new(status, "text/plain; charset=utf-8", b)
    }

    pub(crate) fn json(status: u16, value: &impl serde::Serialize) -> Response {
        match serde_json::to_vec_pretty(value) {
            Ok(mut b) => {
                b.push(b'\n');
                Response::new(status, "application/json", b)
            }
            Err(e) => Response::text(500, format!("cannot render JSON: {e}")),
        }
    }

    /// Marks the answer as an authentication failure (`why` is logged).
    pub(crate) fn auth_failed(mut self, why: &'static str) -> Response {
        self.auth_failure = Some(why);
        self
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

/// Writes `resp` (the body omitted for HEAD) and closes the exchange.
pub(crate) fn write_response(
    stream: &mut impl Write,
    resp: &Response,
    head_only: bool,
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(512);
    let mut head = ResponseHead::new(&mut out, resp.status);
    // All values are ours; one that still fails validation (a stray newline would split the
    // head) is dropped rather than written.
    let _ = head.header("Content-Type", resp.content_type);
    let _ = head.header("Cache-Control", "no-store");
    let _ = head.header("X-Content-Type-Options", "nosniff");
    for (name, value) in &resp.headers {
        let _ = head.header(name, value);
    }
    // Cannot fail: no framing was set on this fresh head.
    let _ = head.content_length(resp.body.len() as u64);
    head.close();
    head.finish();
    stream.write_all(&out)?;
    if !head_only {
        stream.write_all(&resp.body)?;
    }
    stream.flush()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::http::{ParsedResponseHead, ResponseFraming};

    /// A client: its bytes arrive `step` at a time; what the server writes is kept.
    struct Peer {
        input: Vec<u8>,
        pos: usize,
        step: usize,
        output: Vec<u8>,
    }

    impl Peer {
        fn new(input: &[u8], step: usize) -> Peer {
            Peer {
                input: input.to_vec(),
                pos: 0,
                step,
                output: Vec::new(),
            }
        }
    }

    impl Read for Peer {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.step).min(self.input.len() - self.pos);
            buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Timed for Peer {
        fn limit_wait(&mut self, _: Duration) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    impl Write for Peer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn read(input: &[u8], step: usize) -> Result<Request, ReadError> {
        read_request(&mut Peer::new(input, step), later())
    }

    fn refused(input: &[u8]) -> (u16, &'static str) {
        match read(input, 7) {
            Err(ReadError::Refused(e)) => (e.status, e.reason),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
    }

    #[test]
    fn requests_are_parsed_by_the_shared_codec() {
        for step in [1, 5, 1 << 20] {
            let r = read(
                b"GET /admin/object?bucket=b&key=a%2Fb HTTP/1.1\r\nHost: h\r\nX-Test:  v \r\nCookie: s=1\r\n\r\n",
                step,
            )
            .unwrap();
            assert_eq!(
                (r.method.as_str(), r.path.as_str()),
                ("GET", "/admin/object")
            );
            assert_eq!(r.query, "bucket=b&key=a%2Fb");
            assert_eq!(r.param("key").as_deref(), Some("a/b"));
            assert_eq!(r.header("x-test"), Some("v"));
            assert_eq!(r.header("cookie"), Some("s=1"));
            assert!(r.body.is_empty());

            let r = read(
                b"PUT /admin/log-level HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\ndebugEXTRA",
                step,
            )
            .unwrap();
            assert_eq!(r.body, b"debug");
        }
        let r = read(b"GET /health HTTP/1.0\r\n\r\n", 3).unwrap();
        assert_eq!(r.path, "/health");
    }

    /// The deadline bounds the whole request, not the gap between reads: a client sending a byte
    /// at a time is cut off once it is late, though every single read returns at once.
    #[test]
    fn a_late_request_is_cut_off() {
        let input = b"GET /health HTTP/1.1\r\nHost: h\r\n\r\n";
        let passed = Instant::now() - Duration::from_millis(1);
        assert!(matches!(
            read_request(&mut Peer::new(input, 1), passed),
            Err(ReadError::Io)
        ));
        assert!(read_request(&mut Peer::new(input, 1), later()).is_ok());
    }

    #[test]
    fn continue_is_sent_only_for_a_body_held_back() {
        let head = b"POST /ui/login HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n";
        let mut with_body = head.to_vec();
        with_body.extend_from_slice(b"a=b");
        // The body arrives after the head: the client waits for 100 Continue.
        let mut peer = Peer::new(&with_body, head.len());
        assert_eq!(read_request(&mut peer, later()).unwrap().body, b"a=b");
        assert_eq!(peer.output, b"HTTP/1.1 100 Continue\r\n\r\n");
        // Body already there: nothing to answer yet.
        let mut peer = Peer::new(&with_body, 1 << 20);
        assert_eq!(read_request(&mut peer, later()).unwrap().body, b"a=b");
        assert!(peer.output.is_empty());
    }

    #[test]
    fn bad_requests_are_refused_with_the_codec_status() {
        assert!(matches!(read(b"", 1), Err(ReadError::Closed)));
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: h\r\n"),
            (400, "truncated request")
        );
        assert_eq!(
            refused(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab"),
            (400, "truncated body")
        );
        assert_eq!(
            refused(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
            (400, "chunked bodies are not accepted here")
        );
        let too_long = format!(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
            MAX_ADMIN_BODY_BYTES + 1
        );
        assert_eq!(refused(too_long.as_bytes()).0, 413);
        let mut big_head = b"GET / HTTP/1.1\r\nHost: h\r\nX-Pad: ".to_vec();
        big_head.resize(MAX_ADMIN_HEAD_BYTES + 10, b'p');
        assert_eq!(refused(&big_head), (431, "request head too large"));
        assert_eq!(refused(b"GET / HTTP/1.1\r\n\r\n").0, 400); // no Host
        assert_eq!(refused(b"GET / HTTP/1.1\nHost: h\n\n").0, 400); // bare LF
        assert_eq!(
            refused(b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n").0,
            400
        );
        assert_eq!(refused(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n").0, 505);
    }

    #[test]
    fn responses_parse_back() {
        let resp = Response::text(303, "see /ui")
            .with_header("Location", "/ui")
            .with_header("X-Bad", "a\r\nInjected: 1");
        let mut out = Vec::new();
        write_response(&mut out, &resp, false).unwrap();
        let mut head = ParsedResponseHead::new();
        let Ok(ParseStatus::Complete { head_len }) = head.parse(&out) else {
            panic!("unparsable: {}", String::from_utf8_lossy(&out));
        };
        assert!(out.starts_with(b"HTTP/1.1 303 See Other\r\n"));
        assert_eq!(head.header("location"), Some(&b"/ui"[..]));
        assert_eq!(head.header("x-bad"), None);
        assert_eq!(head.header("injected"), None);
        assert_eq!(head.header("cache-control"), Some(&b"no-store"[..]));
        assert!(!head.keep_alive());
        assert_eq!(head.framing(false), ResponseFraming::Length(8));
        assert_eq!(&out[head_len..], b"see /ui\n");
        // HEAD: the length of the body that was not sent.
        let mut out = Vec::new();
        write_response(&mut out, &resp, true).unwrap();
        assert!(out.ends_with(b"\r\n\r\n"));
        assert!(head.parse(&out).is_ok());
        assert_eq!(head.content_length(), Some(8));
    }

    #[test]
    fn form_values_are_decoded() {
        let q = "bucket=my+bucket&key=a%2Fb%20c.txt&empty=&flag";
        assert_eq!(form_value(q, "bucket").as_deref(), Some("my bucket"));
        assert_eq!(form_value(q, "key").as_deref(), Some("a/b c.txt"));
        assert_eq!(form_value(q, "empty").as_deref(), Some(""));
        assert_eq!(form_value(q, "flag").as_deref(), Some(""));
        assert_eq!(form_value(q, "missing"), None);
    }
}
