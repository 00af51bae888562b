//! HTTP/1.1 response heads, written into a caller-provided reused buffer.
//!
//! [`ResponseHead`] appends a status line, `Server`, optional `Date`, caller
//! headers and the framing headers to a `Vec<u8>` the connection loop owns
//! and reuses, so writing a response head allocates nothing once the buffer
//! is warm. Header names and values are validated so that nothing derived
//! from user input (object metadata, keys echoed in headers) can inject CR/LF
//! and forge headers or split the response; framing headers can only be set
//! through the dedicated methods, so a response never carries two framings.

use std::fmt::Display;
use std::io::Write as _;

use super::syntax::{format_u64, is_field_value, is_token};
use super::HttpError;

/// Value of the `Server` header on every response.
pub const SERVER_NAME: &str = "s3-orchestrator";

/// Reason phrase for `status`: the statuses S3 (and this layer) use have
/// their RFC 9110 phrases, anything else a generic one for its class.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        _ => match status / 100 {
            1 => "Informational",
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            _ => "Server Error",
        },
    }
}

/// Appends the interim `100 Continue` response, sent before reading the body
/// of a request with `Expect: 100-continue`.
pub fn write_continue(out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
}

/// Appends a complete, body-less error response for a protocol error
/// (malformed head, bad chunking...) that also closes the connection, as
/// framing can no longer be trusted after such an error.
pub fn write_error(out: &mut Vec<u8>, err: HttpError, date: &str) {
    let mut r = ResponseHead::new(out, err.status);
    r.date(date);
    // Cannot fail: no framing was set on this fresh head.
    let _ = r.content_length(0);
    r.close();
    r.finish();
}

/// Why a header was refused.
const INVALID_NAME: HttpError = HttpError::new(500, "invalid response header name");
const INVALID_VALUE: HttpError = HttpError::new(500, "invalid response header value");
const FRAMING_NAME: HttpError = HttpError::new(
    500,
    "framing header set directly; use content_length/chunked/close",
);
const FRAMING_TWICE: HttpError = HttpError::new(500, "response framing set twice");

/// Builder for one response head appended to a reused buffer.
///
/// ```
/// use s3_orchestrator::http::{DateCache, HttpError, ResponseHead};
/// # fn main() -> Result<(), HttpError> {
/// let (mut out, mut dates) = (Vec::new(), DateCache::new());
/// let mut r = ResponseHead::new(&mut out, 200);
/// r.date(dates.now()).header("ETag", "\"abc\"")?.content_length(5)?;
/// r.finish();
/// assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ResponseHead<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    status: u16,
    framed: bool,
    close: bool,
}

impl<'a> ResponseHead<'a> {
    /// Appends the status line and `Server` header to `out` (existing bytes,
    /// e.g. a previous pipelined response, are kept). A status outside
    /// 100..=999 is a programming error and is written as 500.
    pub fn new(out: &'a mut Vec<u8>, status: u16) -> Self {
        let status = if (100..=999).contains(&status) {
            status
        } else {
            500
        };
        let start = out.len();
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(&[
            b'0' + (status / 100) as u8,
            b'0' + (status / 10 % 10) as u8,
            b'0' + (status % 10) as u8,
            b' ',
        ]);
        out.extend_from_slice(reason_phrase(status).as_bytes());
        out.extend_from_slice(b"\r\nServer: ");
        out.extend_from_slice(SERVER_NAME.as_bytes());
        out.extend_from_slice(b"\r\n");
        Self {
            out,
            start,
            status,
            framed: false,
            close: false,
        }
    }

    /// Status written in the status line.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Adds `Date: {date}`; pass [`super::DateCache::now`]. An invalid value
    /// (not from the cache) is dropped.
    pub fn date(&mut self, date: &str) -> &mut Self {
        if is_field_value(date.as_bytes()) {
            self.put("Date", date.as_bytes());
        }
        self
    }

    /// Adds a header after validating it: the name must be a token, the value
    /// must not contain CR, LF, NUL or other control bytes except HTAB
    /// (obs-text 0x80-0xFF is allowed). `Content-Length`, `Transfer-Encoding`
    /// and `Connection` are refused: use the dedicated methods (and do not add
    /// `Server`/`Date` here, `new`/`date` write them). On error nothing is
    /// written.
    pub fn header(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<&mut Self, HttpError> {
        let value = value.as_ref();
        check_name(name)?;
        if !is_field_value(value) {
            return Err(INVALID_VALUE);
        }
        self.put(name, value);
        Ok(self)
    }

    /// Like [`header`](Self::header) with the value formatted from `value`
    /// straight into the buffer (no temporary `String`).
    pub fn header_display(
        &mut self,
        name: &str,
        value: impl Display,
    ) -> Result<&mut Self, HttpError> {
        check_name(name)?;
        let mark = self.out.len();
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b": ");
        let value_start = self.out.len();
        // Writing into a Vec cannot fail except through a Display error.
        let written = write!(self.out, "{value}").is_ok();
        if !written || !is_field_value(&self.out[value_start..]) {
            self.out.truncate(mark);
            return Err(INVALID_VALUE);
        }
        self.out.extend_from_slice(b"\r\n");
        Ok(self)
    }

    /// Frames the body with `Content-Length: n`. Omitted (as RFC 9110
    /// requires) for 1xx and 204 responses. Error if framing was already set.
    pub fn content_length(&mut self, n: u64) -> Result<&mut Self, HttpError> {
        self.claim_framing()?;
        if !(self.status < 200 || self.status == 204) {
            let mut digits = [0u8; 20];
            let s = format_u64(n, &mut digits);
            self.put("Content-Length", s);
        }
        Ok(self)
    }

    /// Frames the body with `Transfer-Encoding: chunked` (frame each chunk
    /// with [`super::ChunkHeader`] and end with [`super::LAST_CHUNK`]). Omitted for 1xx, 204 and 304, which
    /// have no body. Do not use for HTTP/1.0 clients (send `close()` and
    /// no framing instead). Error if framing was already set.
    pub fn chunked(&mut self) -> Result<&mut Self, HttpError> {
        self.claim_framing()?;
        if !(self.status < 200 || self.status == 204 || self.status == 304) {
            self.put("Transfer-Encoding", b"chunked");
        }
        Ok(self)
    }

    /// Adds `Connection: close` (once): the connection is closed after this
    /// response. Required when the body is delimited by closing.
    pub fn close(&mut self) -> &mut Self {
        if !self.close {
            self.close = true;
            self.put("Connection", b"close");
        }
        self
    }

    /// Whether `close()` was called.
    pub fn closes(&self) -> bool {
        self.close
    }

    /// Ends the head (empty line) and returns its length in bytes.
    pub fn finish(self) -> usize {
        self.out.extend_from_slice(b"\r\n");
        self.out.len() - self.start
    }

    fn claim_framing(&mut self) -> Result<(), HttpError> {
        if self.framed {
            return Err(FRAMING_TWICE);
        }
        self.framed = true;
        Ok(())
    }

    fn put(&mut self, name: &str, value: &[u8]) {
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b": ");
        self.out.extend_from_slice(value);
        self.out.extend_from_slice(b"\r\n");
    }
}

fn check_name(name: &str) -> Result<(), HttpError> {
    if !is_token(name.as_bytes()) {
        return Err(INVALID_NAME);
    }
    if ["content-length", "transfer-encoding", "connection"]
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f))
    {
        return Err(FRAMING_NAME);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::http::{DateCache, RequestHead};

    fn text(v: &[u8]) -> &str {
        std::str::from_utf8(v).unwrap()
    }

    #[test]
    fn ok_with_length() {
        let mut out = Vec::new();
        let mut r = ResponseHead::new(&mut out, 200);
        r.date("Sun, 06 Nov 1994 08:49:37 GMT")
            .header("ETag", "\"abc\"")
            .unwrap()
            .header("x-amz-request-id", b"0123")
            .unwrap()
            .content_length(1234)
            .unwrap();
        let n = r.finish();
        assert_eq!(
            text(&out),
            "HTTP/1.1 200 OK\r\nServer: s3-orchestrator\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nETag: \"abc\"\r\nx-amz-request-id: 0123\r\nContent-Length: 1234\r\n\r\n"
        );
        assert_eq!(n, out.len());
    }

    #[test]
    fn appends_to_existing_buffer_and_reuses_it() {
        let mut out = b"previous".to_vec();
        let mut r = ResponseHead::new(&mut out, 404);
        r.content_length(0).unwrap();
        let n = r.finish();
        assert_eq!(&out[..8], b"previous");
        assert_eq!(
            text(&out[8..]),
            "HTTP/1.1 404 Not Found\r\nServer: s3-orchestrator\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(n, out.len() - 8);
        let cap = out.capacity();
        out.clear();
        ResponseHead::new(&mut out, 204).finish();
        assert_eq!(out.capacity(), cap);
    }

    #[test]
    fn chunked_and_close() {
        let mut out = Vec::new();
        let mut r = ResponseHead::new(&mut out, 206);
        r.chunked().unwrap().close().close();
        assert!(r.closes());
        assert_eq!(r.content_length(5).unwrap_err().status, 500);
        assert_eq!(r.chunked().unwrap_err(), FRAMING_TWICE);
        r.finish();
        assert_eq!(
            text(&out),
            "HTTP/1.1 206 Partial Content\r\nServer: s3-orchestrator\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn no_framing_headers_for_bodyless_statuses() {
        for (status, cl, te) in [
            (204, false, false),
            (304, true, false),
            (100, false, false),
            (200, true, true),
        ] {
            let mut out = Vec::new();
            let mut r = ResponseHead::new(&mut out, status);
            r.content_length(7).unwrap();
            r.finish();
            assert_eq!(text(&out).contains("Content-Length: 7"), cl, "{status}");
            let mut out = Vec::new();
            let mut r = ResponseHead::new(&mut out, status);
            r.chunked().unwrap();
            r.finish();
            assert_eq!(text(&out).contains("Transfer-Encoding"), te, "{status}");
        }
    }

    #[test]
    fn header_injection_refused() {
        let mut out = Vec::new();
        let mut r = ResponseHead::new(&mut out, 200);
        let before = r.out.len();
        for bad in [
            &b"a\r\nSet-Cookie: x"[..],
            b"a\nb",
            b"a\rb",
            b"a\0b",
            b"a\x7fb",
            b"\x1b[31m",
        ] {
            assert_eq!(r.header("x-amz-meta-a", bad).unwrap_err(), INVALID_VALUE);
        }
        for bad in ["", "a b", "a:b", "a\r\nb", "\u{e9}", "a(b)"] {
            assert_eq!(r.header(bad, "v").unwrap_err(), INVALID_NAME);
        }
        for framing in ["Content-Length", "transfer-encoding", "CONNECTION"] {
            assert_eq!(r.header(framing, "1").unwrap_err(), FRAMING_NAME);
        }
        assert_eq!(
            r.header_display("x-a", "evil\r\nx: y").unwrap_err(),
            INVALID_VALUE
        );
        assert_eq!(r.header_display("x a", 1).unwrap_err(), INVALID_NAME);
        assert_eq!(r.out.len(), before, "nothing written on error");
        r.date("bad\r\ndate");
        assert_eq!(r.out.len(), before);
        // Allowed: HTAB, obs-text, empty.
        r.header("x-t", b"a\tb\xff")
            .unwrap()
            .header("x-e", "")
            .unwrap();
        r.header_display("x-n", 42u32).unwrap();
        r.finish();
        assert!(out.ends_with(b"x-t: a\tb\xff\r\nx-e: \r\nx-n: 42\r\n\r\n"));
    }

    #[test]
    fn reason_phrases() {
        let expected = [
            (200, "OK"),
            (204, "No Content"),
            (206, "Partial Content"),
            (304, "Not Modified"),
            (400, "Bad Request"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (405, "Method Not Allowed"),
            (409, "Conflict"),
            (411, "Length Required"),
            (412, "Precondition Failed"),
            (413, "Content Too Large"),
            (414, "URI Too Long"),
            (416, "Range Not Satisfiable"),
            (417, "Expectation Failed"),
            (431, "Request Header Fields Too Large"),
            (500, "Internal Server Error"),
            (501, "Not Implemented"),
            (503, "Service Unavailable"),
            (505, "HTTP Version Not Supported"),
            (507, "Insufficient Storage"),
            (299, "Success"),
            (499, "Client Error"),
            (599, "Server Error"),
        ];
        for (s, p) in expected {
            assert_eq!(reason_phrase(s), p);
        }
        let mut out = Vec::new();
        ResponseHead::new(&mut out, 42).finish();
        assert!(out.starts_with(b"HTTP/1.1 500 Internal Server Error\r\n"));
    }

    #[test]
    fn continue_and_error_responses() {
        let mut out = Vec::new();
        write_continue(&mut out);
        assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
        out.clear();
        let mut dates = DateCache::new();
        write_error(
            &mut out,
            HttpError::new(431, "too big"),
            dates.get(784_111_777),
        );
        assert_eq!(
            text(&out),
            "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: s3-orchestrator\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }

    /// Our own responses must parse as valid HTTP (checked with httparse).
    #[test]
    fn output_is_valid_http() {
        let mut out = Vec::new();
        let mut r = ResponseHead::new(&mut out, 200);
        r.date(DateCache::new().now())
            .header("Content-Type", "application/xml")
            .unwrap()
            .content_length(0)
            .unwrap();
        r.finish();
        let mut hdrs = [httparse::EMPTY_HEADER; 16];
        let mut resp = httparse::Response::new(&mut hdrs);
        assert_eq!(resp.parse(&out), Ok(httparse::Status::Complete(out.len())));
        assert_eq!(resp.code, Some(200));
        assert_eq!(resp.headers.len(), 4);
        // And a response head is not mistaken for a request by our parser.
        assert!(RequestHead::new().parse(&out).is_err());
    }
}
