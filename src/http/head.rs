//! HTTP/1.1 request head parsing and validation.
//!
//! [`RequestHead`] is a reusable, allocation-free-once-warm request head: the
//! connection loop keeps one per connection and calls [`RequestHead::parse`]
//! with its read buffer every time bytes arrive. Parsing is incremental: the
//! search for the end of the head resumes where the previous call stopped, so
//! a client trickling bytes costs O(total bytes), not O(n²). Once the end is
//! found, `httparse` parses the head, which is then copied into the head's own
//! reused buffers (method, target and field names into a `String`, field
//! values into a `Vec<u8>`) and described by spans, so the caller may reuse
//! its read buffer immediately.
//!
//! Validation is strict where leniency enables request smuggling or
//! desynchronisation behind other proxies: bare LF line endings, obs-fold,
//! whitespace before the colon, conflicting `Content-Length`, and
//! `Content-Length` together with `Transfer-Encoding` are all rejected.

use super::limits::{MAX_HEADERS, MAX_HEAD_BYTES, MAX_REQUEST_LINE_BYTES, MAX_URI_BYTES};
use super::syntax::{self, TransferCoding};
use super::HttpError;

/// Outcome of [`RequestHead::parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseStatus {
    /// The head is not complete yet: read more bytes, append them to the same
    /// buffer and call `parse` again.
    Partial,
    /// The head is complete and valid. It occupied `buf[..head_len]`
    /// (including any ignored leading empty lines); the body, or the next
    /// pipelined request, starts at `buf[head_len]`.
    Complete {
        /// Bytes of the input buffer taken by the head.
        head_len: usize,
    },
}

/// How a request body is delimited: parsed by [`RequestHead`], written by
/// [`super::RequestHeadOut::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// Neither `Content-Length` nor `Transfer-Encoding`: no body.
    None,
    /// `Content-Length: n` (may be 0; some servers want `Content-Length: 0`
    /// on an empty PUT or POST rather than no framing at all).
    Length(u64),
    /// `Transfer-Encoding: chunked`: decode with [`super::ChunkedDecoder`],
    /// encode with [`super::ChunkHeader`] and [`super::LAST_CHUNK`].
    Chunked,
}

impl BodyKind {
    /// No body bytes at all: `None` or `Length(0)`.
    pub fn is_empty(self) -> bool {
        matches!(self, BodyKind::None | BodyKind::Length(0))
    }
}

/// HTTP protocol version of the request (only 1.0 and 1.1 are accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
}

impl Version {
    /// The version as written on the wire, e.g. `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// Byte range into one of the head's own buffers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

/// One header field: `name` indexes `RequestHead::text`, `value` indexes
/// `RequestHead::values`.
#[derive(Debug, Clone, Copy)]
struct FieldSpan {
    name: Span,
    value: Span,
}

/// Where an incremental head scan is (of a request head here, of a response head in
/// `response_parse`): both parsers follow the same `parse` contract through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Looking for the end of the head.
    Scanning,
    /// A head was parsed; the next `parse` starts a new one.
    Complete,
    /// Parsing failed (sticky until `clear`); the connection must be closed.
    Failed(HttpError),
}

impl State {
    /// What a `parse` call must do first, given the length of the buffer it was passed and how
    /// much of it was scanned before: `Err` repeats a sticky failure; `Ok(true)` means clear the
    /// parser (after a complete head, or when the caller broke the contract and passed a
    /// shorter buffer: start over rather than index past what was examined before).
    pub(super) fn must_clear(self, buf_len: usize, scanned: usize) -> Result<bool, HttpError> {
        match self {
            State::Failed(e) => Err(e),
            State::Complete => Ok(true),
            State::Scanning => Ok(buf_len < scanned),
        }
    }

    /// Records the outcome of a `parse` call.
    pub(super) fn record(&mut self, result: &Result<ParseStatus, HttpError>) {
        match result {
            Ok(ParseStatus::Complete { .. }) => *self = State::Complete,
            Ok(ParseStatus::Partial) => {}
            Err(e) => *self = State::Failed(*e),
        }
    }
}

/// A parsed, validated request head that owns reusable buffers.
///
/// Contract for [`parse`](Self::parse): between calls that return
/// [`ParseStatus::Partial`], pass the *same* buffer with more bytes appended
/// (the ordinary read loop). After `Complete` or [`clear`](Self::clear), any
/// buffer may be passed (e.g. the rest after a pipelined request).
#[derive(Debug)]
pub struct RequestHead {
    /// Method, target and field names, back to back (all valid UTF-8).
    text: String,
    /// Field values, back to back (arbitrary bytes except CTLs).
    values: Vec<u8>,
    fields: Vec<FieldSpan>,
    method: Span,
    target: Span,
    /// Index into `text` of the '?' in the target, or `target.end`.
    query_mark: usize,
    version: Version,
    body: BodyKind,
    expect_continue: bool,
    keep_alive: bool,
    head_len: usize,

    state: State,
    /// Still skipping empty lines before the request line.
    in_lead: bool,
    /// Bytes of leading empty lines (CRLF pairs) before the request line.
    lead: usize,
    /// The request line's LF has been seen.
    line_done: bool,
    /// Bytes of the input already examined by the scan.
    scanned: usize,
}

impl Default for RequestHead {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestHead {
    /// An empty head; buffers grow on first use and are then reused.
    pub fn new() -> Self {
        Self {
            text: String::new(),
            values: Vec::new(),
            fields: Vec::new(),
            method: Span::default(),
            target: Span::default(),
            query_mark: 0,
            version: Version::Http11,
            body: BodyKind::None,
            expect_continue: false,
            keep_alive: true,
            head_len: 0,
            state: State::Scanning,
            in_lead: true,
            lead: 0,
            line_done: false,
            scanned: 0,
        }
    }

    /// Forgets the current request (and any error), keeping buffer capacity.
    pub fn clear(&mut self) {
        self.text.clear();
        self.values.clear();
        self.fields.clear();
        self.method = Span::default();
        self.target = Span::default();
        self.query_mark = 0;
        self.version = Version::Http11;
        self.body = BodyKind::None;
        self.expect_continue = false;
        self.keep_alive = true;
        self.head_len = 0;
        self.state = State::Scanning;
        self.in_lead = true;
        self.lead = 0;
        self.line_done = false;
        self.scanned = 0;
    }

    /// Feeds the bytes received so far (see the type-level contract).
    ///
    /// Returns `Partial` until the head is complete, then
    /// `Complete { head_len }`. Errors are sticky until [`clear`](Self::clear):
    /// answer `err.status` and close the connection.
    pub fn parse(&mut self, buf: &[u8]) -> Result<ParseStatus, HttpError> {
        if self.state.must_clear(buf.len(), self.scanned)? {
            self.clear();
        }
        let result = self.scan(buf).and_then(|end| match end {
            None => Ok(ParseStatus::Partial),
            Some(end) => self.parse_complete(buf, end),
        });
        self.state.record(&result);
        if let Ok(ParseStatus::Complete { head_len }) = result {
            self.head_len = head_len;
        }
        result
    }

    /// Resumes the search for the end of the head ("\r\n\r\n"), rejecting
    /// bare LF / stray control bytes in the request line as early as they are
    /// seen. Returns the end offset (exclusive) of the head if found.
    fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, HttpError> {
        // The head must end within MAX_HEAD_BYTES, so never look further.
        let window = &buf[..buf.len().min(MAX_HEAD_BYTES)];
        let mut i = self.scanned;
        while i < window.len() {
            let b = window[i];
            if self.in_lead {
                // RFC 9112 §2.2: ignore empty lines before the request line
                // (some clients send an extra CRLF after a POST body).
                match b {
                    b'\r' => match window.get(i + 1) {
                        // Wait for the byte after CR (do not advance `scanned`).
                        None => break,
                        Some(b'\n') => {
                            i += 2;
                            self.lead = i;
                            continue;
                        }
                        Some(_) => return Err(HttpError::bad_request("bare CR in request head")),
                    },
                    b'\n' => return Err(HttpError::bad_request("bare LF in request head")),
                    _ => self.in_lead = false,
                }
            }
            if b == b'\n' {
                // Only CRLF ends a line: treating a bare LF as a line end when
                // a front proxy does not is a request smuggling vector.
                if i == self.lead || window[i - 1] != b'\r' {
                    return Err(HttpError::bad_request("bare LF in request head"));
                }
                if !self.line_done {
                    self.line_done = true;
                } else if i >= 3 && window[i - 3..i] == *b"\r\n\r" {
                    self.scanned = i + 1;
                    return Ok(Some(i + 1));
                }
            } else if !self.line_done {
                // Early rejection of binary garbage (e.g. a TLS ClientHello on
                // the plain port) instead of waiting for the head timeout.
                if (b < 0x20 && b != b'\r') || b == 0x7f {
                    return Err(HttpError::bad_request("invalid byte in request line"));
                }
                if i - self.lead >= MAX_REQUEST_LINE_BYTES {
                    return Err(HttpError::new(414, "request line too long"));
                }
            }
            i += 1;
        }
        self.scanned = i;
        // No end of head within the first MAX_HEAD_BYTES: it cannot fit.
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(HttpError::new(431, "request head too large"));
        }
        Ok(None)
    }

    /// Parses `buf[lead..end]` (a complete head) with httparse, copies it into
    /// our buffers and validates the framing-relevant fields.
    fn parse_complete(&mut self, buf: &[u8], end: usize) -> Result<ParseStatus, HttpError> {
        let lead = self.lead;
        let bytes = buf.get(lead..end).unwrap_or_default();
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut slots);
        let n = match req.parse(bytes) {
            Ok(httparse::Status::Complete(n)) => n,
            // Cannot happen: `bytes` ends with CRLFCRLF and has no bare LF.
            Ok(httparse::Status::Partial) => {
                return Err(HttpError::bad_request("malformed request head"))
            }
            Err(e) => return Err(map_httparse_error(e, bytes)),
        };
        let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
            return Err(HttpError::bad_request("malformed request line"));
        };
        if target.len() > MAX_URI_BYTES {
            return Err(HttpError::new(414, "request target too long"));
        }
        // Only origin-form ("/path?query") and asterisk-form ("*", OPTIONS)
        // are served. Absolute-form would make the authority in the target
        // override Host, which SigV4 signs; authority-form is CONNECT only.
        if !(target.starts_with('/') || target == "*") {
            return Err(HttpError::bad_request("unsupported request-target form"));
        }
        self.version = if minor == 1 {
            Version::Http11
        } else {
            Version::Http10
        };

        self.text.clear();
        self.values.clear();
        self.fields.clear();
        self.method = push_str(&mut self.text, method);
        self.target = push_str(&mut self.text, target);
        self.query_mark = self.target.start + target.find('?').unwrap_or(target.len());
        for h in req.headers.iter() {
            let name = push_str(&mut self.text, h.name);
            let start = self.values.len();
            self.values.extend_from_slice(h.value);
            let value = Span {
                start,
                end: self.values.len(),
            };
            self.fields.push(FieldSpan { name, value });
        }
        self.validate()?;
        Ok(ParseStatus::Complete { head_len: lead + n })
    }

    /// Host, framing, Expect and Connection checks on the copied fields.
    fn validate(&mut self) -> Result<(), HttpError> {
        let http11 = self.version == Version::Http11;

        // RFC 9112 §3.2: exactly one Host in HTTP/1.1, never more than one.
        let hosts = self.header_all("host").count();
        if hosts > 1 || (http11 && hosts == 0) {
            return Err(HttpError::bad_request("missing or duplicate Host header"));
        }

        let length = syntax::content_length(self.header_all("content-length"))
            .map_err(HttpError::bad_request)?;
        let chunked = match syntax::transfer_coding(self.header_all("transfer-encoding")) {
            Ok(TransferCoding::Absent) => false,
            Ok(TransferCoding::Chunked) => true,
            // RFC 9112 §6.1: a coding we cannot undo is a 501, not a malformed request.
            Ok(TransferCoding::Unsupported) => {
                return Err(HttpError::new(501, "unsupported transfer coding"))
            }
            // RFC 9112 §6.3: chunked must be the final coding or the body length cannot be
            // determined; applying it twice is invalid.
            Err(reason) => return Err(HttpError::bad_request(reason)),
        };
        if chunked {
            if length.is_some() {
                // RFC 9112 §6.1: a classic smuggling vector; reject outright.
                return Err(HttpError::bad_request(
                    "both Content-Length and Transfer-Encoding",
                ));
            }
            if !http11 {
                // RFC 9112 §6.1: HTTP/1.0 with Transfer-Encoding has faulty framing.
                return Err(HttpError::bad_request("Transfer-Encoding in HTTP/1.0"));
            }
        }
        self.body = match (chunked, length) {
            (true, _) => BodyKind::Chunked,
            (false, Some(n)) => BodyKind::Length(n),
            (false, None) => BodyKind::None,
        };

        let mut expect = false;
        for value in self.header_all("expect") {
            for item in syntax::list_items(value) {
                if item.eq_ignore_ascii_case(b"100-continue") {
                    expect = true;
                } else {
                    return Err(HttpError::new(417, "unsupported expectation"));
                }
            }
        }
        // RFC 9110 §10.1.1: ignore 100-continue from HTTP/1.0 clients.
        self.expect_continue = expect && http11;

        self.keep_alive = syntax::keep_alive(http11, self.header_all("connection"));
        Ok(())
    }

    /// The request method, case preserved (methods are case-sensitive).
    pub fn method(&self) -> &str {
        self.text_at(self.method)
    }

    /// The raw request target (path and query), still percent-encoded.
    pub fn target(&self) -> &str {
        self.text_at(self.target)
    }

    /// The raw path part of the target (before '?'), still percent-encoded;
    /// may contain raw UTF-8 if the client sent it.
    pub fn path(&self) -> &str {
        self.text_at(Span {
            start: self.target.start,
            end: self.query_mark,
        })
    }

    /// The raw query string after '?', or "" if there is none.
    pub fn query(&self) -> &str {
        if self.query_mark >= self.target.end {
            return "";
        }
        self.text_at(Span {
            start: self.query_mark + 1,
            end: self.target.end,
        })
    }

    /// Protocol version of the request.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Value of the first field called `name` (ASCII case-insensitive).
    /// Values are bytes: they may contain obs-text (0x80-0xFF).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.header_all(name).next()
    }

    /// Like [`header`](Self::header), but only if the value is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Values of every field called `name`, in order of appearance.
    pub fn header_all<'s: 'n, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s [u8]> + 'n {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All fields in order of appearance, names with their original case.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields
            .iter()
            .map(|f| (self.text_at(f.name), self.values_at(f.value)))
    }

    /// Clears `out` and fills it with all fields (a slice view for the
    /// SigV4 signer); reuse `out`'s capacity across requests where lifetimes
    /// allow.
    pub fn headers_into<'s>(&'s self, out: &mut Vec<(&'s str, &'s [u8])>) {
        out.clear();
        out.extend(self.headers());
    }

    /// Number of header fields.
    pub fn header_count(&self) -> usize {
        self.fields.len()
    }

    /// How the body is delimited.
    pub fn body_kind(&self) -> BodyKind {
        self.body
    }

    /// The client sent `Expect: 100-continue` (HTTP/1.1 only): send
    /// [`super::write_continue`] before reading the body, unless the request
    /// is rejected first.
    pub fn expects_continue(&self) -> bool {
        self.expect_continue
    }

    /// Whether the connection may be reused after this request: HTTP/1.1
    /// unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Bytes of input the last complete head occupied (0 if none).
    pub fn head_len(&self) -> usize {
        self.head_len
    }

    /// A complete, valid head is available through the accessors.
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    fn text_at(&self, s: Span) -> &str {
        self.text.get(s.start..s.end).unwrap_or_default()
    }

    fn values_at(&self, s: Span) -> &[u8] {
        self.values.get(s.start..s.end).unwrap_or_default()
    }
}

/// Appends `s` to `text`, returning its span.
fn push_str(text: &mut String, s: &str) -> Span {
    let start = text.len();
    text.push_str(s);
    Span {
        start,
        end: text.len(),
    }
}

/// Maps an httparse error to the status we answer with.
fn map_httparse_error(e: httparse::Error, head: &[u8]) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::new(431, "too many header fields"),
        httparse::Error::Version => {
            if version_token_is_well_formed(head) {
                HttpError::new(505, "HTTP version not supported")
            } else {
                HttpError::bad_request("malformed HTTP version")
            }
        }
        httparse::Error::HeaderName => HttpError::bad_request("malformed header field name"),
        httparse::Error::HeaderValue => HttpError::bad_request("malformed header field value"),
        httparse::Error::NewLine => HttpError::bad_request("malformed line ending"),
        httparse::Error::Token | httparse::Error::Status => {
            HttpError::bad_request("malformed request line")
        }
    }
}

/// Whether the request line ends in a syntactically valid but unsupported
/// version (`HTTP/2.0`, `HTTP/3`, `HTTP/1.2`): that is a 505, garbage a 400.
fn version_token_is_well_formed(head: &[u8]) -> bool {
    let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
    let line = &head[..line_end];
    let mut parts = line.split(|&b| b == b' ');
    let (Some(_method), Some(_target), Some(token), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    match token.strip_prefix(b"HTTP/") {
        Some([major]) => major.is_ascii_digit(),
        Some([major, b'.', minor]) => major.is_ascii_digit() && minor.is_ascii_digit(),
        _ => false,
    }
}

pub use super::head_fuzz::fuzz_parse_head;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> (RequestHead, Result<ParseStatus, HttpError>) {
        let mut h = RequestHead::new();
        let r = h.parse(input);
        (h, r)
    }

    fn complete(input: &[u8]) -> RequestHead {
        let (h, r) = parse_all(input);
        assert_eq!(
            r,
            Ok(ParseStatus::Complete {
                head_len: input.len()
            }),
            "input: {:?}",
            String::from_utf8_lossy(input)
        );
        h
    }

    fn status_of(input: &[u8]) -> Result<ParseStatus, u16> {
        parse_all(input).1.map_err(|e| e.status)
    }

    #[test]
    fn simple_get() {
        let h = complete(b"GET /bucket/key?list-type=2&prefix=a HTTP/1.1\r\nHost: s3.local\r\nX-Amz-Date: 20240101T000000Z\r\n\r\n");
        assert_eq!(h.method(), "GET");
        assert_eq!(h.target(), "/bucket/key?list-type=2&prefix=a");
        assert_eq!(h.path(), "/bucket/key");
        assert_eq!(h.query(), "list-type=2&prefix=a");
        assert_eq!(h.version(), Version::Http11);
        assert_eq!(h.header("host"), Some(&b"s3.local"[..]));
        assert_eq!(h.header("HOST"), Some(&b"s3.local"[..]));
        assert_eq!(h.header_str("x-amz-date"), Some("20240101T000000Z"));
        assert_eq!(h.header("missing"), None);
        assert_eq!(h.body_kind(), BodyKind::None);
        assert!(h.keep_alive());
        assert!(!h.expects_continue());
        assert_eq!(h.header_count(), 2);
        let names: Vec<&str> = h.headers().map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "X-Amz-Date"]);
    }

    #[test]
    fn query_edge_cases() {
        let h = complete(b"GET /b? HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("/b", ""));
        let h = complete(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("/b", ""));
        let h = complete(b"GET /b?a=1?b=2 HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("/b", "a=1?b=2"));
        let h = complete(b"GET /?uploads HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("/", "uploads"));
        let h = complete(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!((h.path(), h.query()), ("*", ""));
    }

    #[test]
    fn utf8_path_kept_raw_and_values_are_bytes() {
        let h = complete(
            "PUT /b/caf\u{e9}%20x HTTP/1.1\r\nHost: h\r\nx-amz-meta-n: \u{e9}t\u{e9}\r\nContent-Length: 3\r\n\r\n"
                .as_bytes(),
        );
        assert_eq!(h.path(), "/b/caf\u{e9}%20x");
        assert_eq!(h.header_str("x-amz-meta-n"), Some("\u{e9}t\u{e9}"));
        assert_eq!(h.body_kind(), BodyKind::Length(3));
        // obs-text bytes that are not UTF-8 are kept as bytes.
        let h = complete(b"GET / HTTP/1.1\r\nHost: h\r\nx-raw: a\xff\x80b\r\n\r\n");
        assert_eq!(h.header("x-raw"), Some(&[b'a', 0xff, 0x80, b'b'][..]));
        assert_eq!(h.header_str("x-raw"), None);
    }

    #[test]
    fn non_utf8_target_rejected() {
        let mut raw = b"GET /a".to_vec();
        raw.push(0xff);
        raw.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(status_of(&raw), Err(400));
    }

    #[test]
    fn value_whitespace_trimmed() {
        let h = complete(
            b"GET / HTTP/1.1\r\nHost:   h  \r\nX-A:\t v w \t\r\nX-Empty:\r\nX-Sp:   \r\n\r\n",
        );
        assert_eq!(h.header("host"), Some(&b"h"[..]));
        assert_eq!(h.header("x-a"), Some(&b"v w"[..]));
        assert_eq!(h.header("x-empty"), Some(&b""[..]));
        assert_eq!(h.header("x-sp"), Some(&b""[..]));
    }

    #[test]
    fn versions_and_keep_alive() {
        let h = complete(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(h.version(), Version::Http10);
        assert!(!h.keep_alive());
        let h = complete(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
        assert!(h.keep_alive());
        let h = complete(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
        assert!(!h.keep_alive());
        let h = complete(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        assert!(!h.keep_alive());
        let h = complete(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, CLOSE\r\n\r\n");
        assert!(!h.keep_alive());
        let h =
            complete(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: x\r\nConnection: close\r\n\r\n");
        assert!(!h.keep_alive());
        let h = complete(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n");
        assert!(h.keep_alive());
        assert_eq!(Version::Http10.as_str(), "HTTP/1.0");
    }

    #[test]
    fn body_kinds() {
        let h = complete(b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 12345\r\n\r\n");
        assert_eq!(h.body_kind(), BodyKind::Length(12345));
        let h = complete(b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(h.body_kind(), BodyKind::Length(0));
        let h = complete(
            b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n",
        );
        assert_eq!(h.body_kind(), BodyKind::Length(7));
        let h = complete(b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 7, 7\r\n\r\n");
        assert_eq!(h.body_kind(), BodyKind::Length(7));
        let h = complete(
            b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n",
        );
        assert_eq!(h.body_kind(), BodyKind::Length(u64::MAX));
        let h = complete(b"PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(h.body_kind(), BodyKind::Chunked);
        let h = complete(b"PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED \r\n\r\n");
        assert_eq!(h.body_kind(), BodyKind::Chunked);
        let h = complete(b"PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,chunked\r\n\r\n");
        assert_eq!(h.body_kind(), BodyKind::Chunked);
    }

    #[test]
    fn expect_continue() {
        let h = complete(
            b"PUT /k HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        );
        assert!(h.expects_continue());
        let h = complete(
            b"PUT /k HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n",
        );
        assert!(h.expects_continue());
        // Ignored for HTTP/1.0.
        let h = complete(b"PUT /k HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        assert!(!h.expects_continue());
        assert_eq!(
            status_of(b"PUT /k HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n"),
            Err(417)
        );
        assert_eq!(
            status_of(b"PUT /k HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, x\r\n\r\n"),
            Err(417)
        );
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let input = b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = complete(input);
        assert_eq!(h.method(), "GET");
        assert_eq!(h.head_len(), input.len());
        assert_eq!(status_of(b"\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), Err(400));
        assert_eq!(status_of(b"\rGET / HTTP/1.1\r\nHost: h\r\n\r\n"), Err(400));
        assert_eq!(status_of(b"\r\n\r"), Ok(ParseStatus::Partial));
    }

    #[test]
    fn methods_are_any_token() {
        for m in [
            "GET",
            "PUT",
            "POST",
            "HEAD",
            "DELETE",
            "OPTIONS",
            "PATCH",
            "PROPFIND",
            "get",
            "X-CUSTOM!",
        ] {
            let input = format!("{m} /x HTTP/1.1\r\nHost: h\r\n\r\n");
            assert_eq!(complete(input.as_bytes()).method(), m);
        }
        assert_eq!(status_of(b"G(T /x HTTP/1.1\r\nHost: h\r\n\r\n"), Err(400));
    }

    /// (input, expected status) table of heads that must be rejected.
    #[test]
    fn invalid_heads_table() {
        let long_uri = format!(
            "GET /{} HTTP/1.1\r\nHost: h\r\n\r\n",
            "a".repeat(MAX_URI_BYTES)
        );
        let many_headers = {
            let mut s = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
            for i in 0..MAX_HEADERS {
                s.push_str(&format!("x-h{i}: v\r\n"));
            }
            s.push_str("\r\n");
            s
        };
        let cases: Vec<(&[u8], u16, &str)> = vec![
            (b"GET / HTTP/1.1\r\n\r\n", 400, "missing Host"),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "duplicate Host"),
            (b"GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400, "duplicate Host 1.0"),
            (b"GET / HTTP/1.1\nHost: h\n\n", 400, "bare LF"),
            (b"GET / HTTP/1.1\r\nHost: h\n\r\n", 400, "bare LF in header"),
            (b"GET / HTTP/1.1\r\nHost: h\r\n\n", 400, "bare LF terminator"),
            (b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400, "bare CR"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX-F: a\r\n b\r\n\r\n", 400, "obs-fold"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX-F: a\r\n\tb\r\n\r\n", 400, "obs-fold tab"),
            (b"GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400, "leading space"),
            (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "space before colon"),
            (b"GET / HTTP/1.1\r\nHo st: h\r\n\r\n", 400, "space in name"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "no colon"),
            (b"GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400, "empty name"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX(y): v\r\n\r\n", 400, "non-token name"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX-\xc3\xa9: v\r\n\r\n", 400, "utf8 name"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400, "NUL in value"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n", 400, "CTL in value"),
            (b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n", 400, "DEL in value"),
            (b"GET /\x00 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "NUL in target"),
            (b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "space in target"),
            (b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "double space"),
            (b"GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "trailing space"),
            (b" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "leading space line"),
            (b"GET HTTP/1.1\r\nHost: h\r\n\r\n", 400, "missing target"),
            (b"GET /\r\n\r\n", 400, "HTTP/0.9"),
            (b"GET / HTTP/1.1\r\n\x00\r\n\r\n", 400, "NUL line"),
            (b"GET / FTP/1.1\r\nHost: h\r\n\r\n", 400, "not HTTP"),
            (b"GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400, "bad minor"),
            (b"GET / http/1.1\r\nHost: h\r\n\r\n", 400, "lowercase http"),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "h2 preface"),
            (b"GET / HTTP/2\r\nHost: h\r\n\r\n", 505, "HTTP/2"),
            (b"GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505, "HTTP/1.2"),
            (b"GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505, "HTTP/3.0"),
            (b"GET http://h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "absolute-form"),
            (b"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "authority-form"),
            (long_uri.as_bytes(), 414, "uri too long"),
            (many_headers.as_bytes(), 431, "too many headers"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "CL differ"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n", 400, "CL list differ"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", 400, "CL sign"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "CL negative"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400, "CL hex"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 400, "CL inner space"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400, "CL empty"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: ,\r\n\r\n", 400, "CL only comma"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551616\r\n\r\n", 400, "CL overflow"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "CL overflow big"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "CL+TE"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, "TE+CL"),
            (b"PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "TE in 1.0"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "TE not chunked final"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, "TE chunked not final"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "TE chunked twice"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", 400, "TE empty"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400, "TE lookalike"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400, "TE with params"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "TE gzip,chunked"),
            (b"PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "TE split gzip,chunked"),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, "TLS ClientHello"),
        ];
        for (input, status, what) in cases {
            assert_eq!(status_of(input), Err(status), "case: {what}");
            // Same verdict byte by byte.
            let mut h = RequestHead::new();
            let mut verdict = Ok(ParseStatus::Partial);
            for k in 0..=input.len() {
                verdict = h.parse(&input[..k]);
                if verdict != Ok(ParseStatus::Partial) {
                    break;
                }
            }
            assert_eq!(
                verdict.map_err(|e| e.status),
                Err(status),
                "split case: {what}"
            );
        }
    }

    #[test]
    fn uri_too_long_detected_before_line_end() {
        let mut input = b"GET /".to_vec();
        input.resize(MAX_REQUEST_LINE_BYTES + 10, b'a');
        assert_eq!(status_of(&input), Err(414));
        // Just below the limit it waits for more.
        let mut input = b"GET /".to_vec();
        input.resize(MAX_REQUEST_LINE_BYTES - 1, b'a');
        assert_eq!(status_of(&input), Ok(ParseStatus::Partial));
        // A target of exactly MAX_URI_BYTES is accepted.
        let input = format!(
            "GET /{} HTTP/1.1\r\nHost: h\r\n\r\n",
            "a".repeat(MAX_URI_BYTES - 1)
        );
        assert_eq!(complete(input.as_bytes()).target().len(), MAX_URI_BYTES);
    }

    #[test]
    fn head_size_limit() {
        // Headers that never end: 431 once MAX_HEAD_BYTES are buffered.
        let mut input = b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: ".to_vec();
        input.resize(MAX_HEAD_BYTES - 1, b'v');
        assert_eq!(status_of(&input), Ok(ParseStatus::Partial));
        input.push(b'v');
        assert_eq!(status_of(&input), Err(431));
        // A head of exactly MAX_HEAD_BYTES is fine.
        let prefix = b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: ";
        let mut exact = prefix.to_vec();
        exact.resize(MAX_HEAD_BYTES - 4, b'v');
        exact.extend_from_slice(b"\r\n\r\n");
        assert_eq!(exact.len(), MAX_HEAD_BYTES);
        let h = complete(&exact);
        assert_eq!(
            h.header("x-big").map(<[u8]>::len),
            Some(MAX_HEAD_BYTES - 4 - prefix.len())
        );
        // One byte more is 431 even though the terminator is in the buffer.
        let mut over = prefix.to_vec();
        over.resize(MAX_HEAD_BYTES - 3, b'v');
        over.extend_from_slice(b"\r\n\r\n");
        assert_eq!(status_of(&over), Err(431));
    }

    #[test]
    fn empty_line_flood_hits_head_limit() {
        let flood = b"\r\n".repeat(MAX_HEAD_BYTES / 2);
        assert_eq!(status_of(&flood), Err(431));
        assert_eq!(
            status_of(&flood[..MAX_HEAD_BYTES - 2]),
            Ok(ParseStatus::Partial)
        );
        // Empty lines count toward the limit: a request after them is too late.
        let mut late = flood[..MAX_HEAD_BYTES - 2].to_vec();
        late.extend_from_slice(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(status_of(&late), Err(431));
        fuzz_parse_head(&late);
        let mut h = RequestHead::new();
        assert_eq!(
            h.parse(&late[..MAX_HEAD_BYTES - 1]),
            Ok(ParseStatus::Partial)
        );
        assert_eq!(
            h.parse(&late[..MAX_HEAD_BYTES]).map_err(|e| e.status),
            Err(431)
        );
        // A few leading empty lines are fine.
        let ok = b"\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(complete(ok).head_len(), ok.len());
    }

    #[test]
    fn exactly_max_headers_accepted() {
        let mut s = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
        for i in 0..MAX_HEADERS - 1 {
            s.push_str(&format!("x-h{i}: v{i}\r\n"));
        }
        s.push_str("\r\n");
        let h = complete(s.as_bytes());
        assert_eq!(h.header_count(), MAX_HEADERS);
        assert_eq!(h.header("x-h126"), Some(&b"v126"[..]));
    }

    #[test]
    fn pipelined_requests() {
        let input = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
        let mut h = RequestHead::new();
        let mut rest: &[u8] = input;
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let Ok(ParseStatus::Complete { head_len }) = h.parse(rest) else {
                panic!("expected complete head");
            };
            let body = match h.body_kind() {
                BodyKind::Length(n) => n as usize,
                _ => 0,
            };
            seen.push((h.method().to_string(), h.path().to_string(), h.keep_alive()));
            rest = &rest[head_len + body..];
        }
        assert_eq!(
            seen,
            [
                ("GET".to_string(), "/a".to_string(), true),
                ("PUT".to_string(), "/b".to_string(), true),
                ("GET".to_string(), "/c".to_string(), false)
            ]
        );
    }

    #[test]
    fn every_split_point_gives_same_result() {
        let input: &[u8] = b"\r\nPUT /b/k%20x?partNumber=1&uploadId=abc HTTP/1.1\r\nHost: s3.local:9000\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n0123456789";
        let head_len = input.len() - 10;
        for split in 0..=input.len() {
            let mut h = RequestHead::new();
            let first = h.parse(&input[..split]).unwrap();
            if split < head_len {
                assert_eq!(first, ParseStatus::Partial, "split {split}");
                let second = h.parse(input).unwrap();
                assert_eq!(second, ParseStatus::Complete { head_len });
            } else {
                assert_eq!(first, ParseStatus::Complete { head_len });
            }
            assert_eq!(h.method(), "PUT");
            assert_eq!(h.query(), "partNumber=1&uploadId=abc");
            assert_eq!(h.header("host"), Some(&b"s3.local:9000"[..]));
            assert!(h.expects_continue());
            assert_eq!(h.body_kind(), BodyKind::Length(10));
        }
    }

    #[test]
    fn errors_are_sticky_until_clear() {
        let mut h = RequestHead::new();
        assert_eq!(h.parse(b"GET / HTTP/1.1\n").map_err(|e| e.status), Err(400));
        assert_eq!(
            h.parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
                .map_err(|e| e.status),
            Err(400)
        );
        h.clear();
        assert!(h.parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").is_ok());
    }

    #[test]
    fn reuse_keeps_capacity_and_resets_state() {
        let mut h = RequestHead::new();
        let big = b"PUT /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nConnection: close\r\nx-amz-meta-a: 1234567890\r\n\r\n";
        h.parse(big).unwrap();
        let (tc, vc, fc) = (h.text.capacity(), h.values.capacity(), h.fields.capacity());
        h.clear();
        assert_eq!(h.header_count(), 0);
        assert!(!h.is_complete());
        assert_eq!(
            (h.text.capacity(), h.values.capacity(), h.fields.capacity()),
            (tc, vc, fc)
        );
        // A parse after Complete starts fresh without explicit clear.
        h.parse(big).unwrap();
        h.parse(b"GET /b HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(h.method(), "GET");
        assert_eq!(h.body_kind(), BodyKind::None);
        assert!(!h.expects_continue());
        assert!(!h.keep_alive());
        assert_eq!(h.header("x-amz-meta-a"), None);
        assert_eq!((h.text.capacity(), h.values.capacity()), (tc, vc));
    }

    #[test]
    fn headers_into_and_header_all() {
        let h = complete(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
        let mut v = Vec::new();
        h.headers_into(&mut v);
        assert_eq!(
            v,
            [("Host", &b"h"[..]), ("X-A", &b"1"[..]), ("x-a", &b"2"[..])]
        );
        let all: Vec<&[u8]> = h.header_all("X-a").collect();
        assert_eq!(all, [&b"1"[..], &b"2"[..]]);
        assert_eq!(h.header("x-a"), Some(&b"1"[..]));
    }

    #[test]
    fn partial_states() {
        for p in [
            &b""[..],
            b"G",
            b"GET",
            b"GET /",
            b"GET / HTTP/1.1",
            b"GET / HTTP/1.1\r",
            b"GET / HTTP/1.1\r\n",
            b"GET / HTTP/1.1\r\nHost",
            b"GET / HTTP/1.1\r\nHost: h\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\n\r",
        ] {
            assert_eq!(status_of(p), Ok(ParseStatus::Partial), "{p:?}");
        }
    }

    /// Small deterministic PRNG for split tests (no extra dependency).
    fn xorshift(state: &mut u64) -> u64 {
        let mut x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        x
    }

    #[test]
    fn fuzz_entry_on_corpus_and_random_bytes() {
        let corpus: &[&[u8]] = &[
            b"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            b"\r\n\r\nPUT /x?y HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nrest",
            b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            b"\r\n\r",
            b"",
        ];
        for c in corpus {
            fuzz_parse_head(c);
        }
        let alphabet =
            b"GET /?a HTTP/1.01\r\n:Host Content-Length Transfer-Encoding chunked,\x00\xff\t";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..300 {
            let len = (xorshift(&mut seed) % 80) as usize;
            let mut data = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
            for _ in 0..len {
                let i = (xorshift(&mut seed) % alphabet.len() as u64) as usize;
                data.push(alphabet[i]);
            }
            data.extend_from_slice(b"\r\n\r\n");
            fuzz_parse_head(&data);
        }
    }
}
