//! HTTP/1.1 response head parsing: the backend client's side of the codec.
//!
//! [`ParsedResponseHead`] is the counterpart of [`super::RequestHead`]: a reusable head that
//! owns its buffers, fed with the bytes received so far. The search for the end of the head
//! resumes where the previous call stopped; once it is found, `httparse` parses the head and
//! the field names and values are copied into one reused buffer, so the caller's read buffer is
//! free for the body right away. A warm head allocates nothing.
//!
//! Strict where leniency would let the backend and us disagree about where a response ends:
//! bare CR or LF, obs-fold, whitespace before the colon, control bytes in values, invalid or
//! conflicting `Content-Length`, any `Transfer-Encoding` other than `chunked` (nothing here can
//! undo gzip), and `Transfer-Encoding` in HTTP/1.0 are refused. Every error is a 502: it tells
//! the layer above what to answer its own client.
//!
//! Not decided here: which request the response answers. The caller asks
//! [`ParsedResponseHead::framing`] with the request method in mind (a response to HEAD has no
//! body), skips interim (1xx) heads and decides whether to reuse the connection.

use super::head::{ParseStatus, State, Version};
use super::limits::{MAX_RESPONSE_HEADERS, MAX_RESPONSE_HEAD_BYTES};
use super::syntax::{self, TransferCoding};
use super::HttpError;

/// How the body of a response is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body: a response to HEAD, an interim (1xx), 204 or 304 response.
    None,
    /// `Content-Length: n` (may be 0).
    Length(u64),
    /// `Transfer-Encoding: chunked`: decode with [`super::ChunkedDecoder`].
    Chunked,
    /// Neither: the body ends when the backend closes the connection.
    UntilClose,
}

/// One header field: ranges of `ParsedResponseHead::bytes`.
#[derive(Clone, Copy, Debug)]
struct FieldSpan {
    name: (u32, u32),
    value: (u32, u32),
}

/// A parsed, validated response head that owns reusable buffers.
///
/// Contract for [`parse`](Self::parse), as for [`super::RequestHead::parse`]: between calls
/// that return [`ParseStatus::Partial`], pass the same bytes with more appended (the buffer may
/// move, as when a read buffer is compacted). After `Complete`, pass what follows the head (an
/// interim response is followed by the final one on the same connection).
#[derive(Debug)]
pub struct ParsedResponseHead {
    /// Field names and values, back to back.
    bytes: Vec<u8>,
    fields: Vec<FieldSpan>,
    status: u16,
    version: Version,
    content_length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
    state: State,
    /// Bytes of the input already examined by the scan.
    scanned: usize,
}

impl Default for ParsedResponseHead {
    fn default() -> Self {
        Self::new()
    }
}

/// What every response starts with; anything else is refused as soon as it differs.
const STATUS_LINE_PREFIX: &[u8] = b"HTTP/";

impl ParsedResponseHead {
    /// An empty head; its buffers grow on first use and are then reused.
    pub fn new() -> Self {
        Self {
            bytes: Vec::new(),
            fields: Vec::new(),
            status: 0,
            version: Version::Http11,
            content_length: None,
            chunked: false,
            keep_alive: false,
            state: State::Scanning,
            scanned: 0,
        }
    }

    /// Forgets the current head (and any error), keeping buffer capacity.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
        self.status = 0;
        self.version = Version::Http11;
        self.content_length = None;
        self.chunked = false;
        self.keep_alive = false;
        self.state = State::Scanning;
        self.scanned = 0;
    }

    /// Feeds the bytes received so far (see the type-level contract). `Partial` means: read
    /// more and call again. Errors are sticky until [`clear`](Self::clear).
    pub fn parse(&mut self, buf: &[u8]) -> Result<ParseStatus, HttpError> {
        if self.state.must_clear(buf.len(), self.scanned)? {
            self.clear();
        }
        let result = self.scan(buf).and_then(|end| match end {
            None => Ok(ParseStatus::Partial),
            Some(end) => self.parse_complete(&buf[..end]),
        });
        self.state.record(&result);
        result
    }

    /// Resumes the search for the end of the head, refusing a bare CR or LF and a first line
    /// that is not a status line as soon as they show. Returns the end of the head if found.
    fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, HttpError> {
        let window = &buf[..buf.len().min(MAX_RESPONSE_HEAD_BYTES)];
        let mut i = self.scanned;
        while i < window.len() {
            let b = window[i];
            if i < STATUS_LINE_PREFIX.len() && b != STATUS_LINE_PREFIX[i] {
                return Err(HttpError::bad_gateway("not an HTTP/1.x response"));
            }
            match b {
                b'\r' => match window.get(i + 1) {
                    // Wait for the byte after CR (do not advance past it).
                    None => break,
                    Some(b'\n') => {}
                    Some(_) => return Err(HttpError::bad_gateway("bare CR in response head")),
                },
                b'\n' => {
                    // Only CRLF ends a line (checked at the CR above, so `i > 0` here).
                    if window[i - 1] != b'\r' {
                        return Err(HttpError::bad_gateway("bare LF in response head"));
                    }
                    if i >= 3 && window[i - 3..i] == *b"\r\n\r" {
                        self.scanned = i + 1;
                        return Ok(Some(i + 1));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        self.scanned = i;
        if buf.len() >= MAX_RESPONSE_HEAD_BYTES {
            return Err(HttpError::bad_gateway("response head too large"));
        }
        Ok(None)
    }

    /// Parses a complete head (`head` ends with CRLFCRLF and has no bare CR or LF), copies its
    /// fields and reads the framing facts.
    fn parse_complete(&mut self, head: &[u8]) -> Result<ParseStatus, HttpError> {
        let mut slots = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut slots);
        let n = match parsed.parse(head) {
            Ok(httparse::Status::Complete(n)) => n,
            // Cannot happen for a head that ends with CRLFCRLF.
            Ok(httparse::Status::Partial) => {
                return Err(HttpError::bad_gateway("malformed response head"))
            }
            Err(e) => return Err(map_httparse_error(e)),
        };
        let (Some(status), Some(minor)) = (parsed.code, parsed.version) else {
            return Err(HttpError::bad_gateway("malformed status line"));
        };
        if status < 100 {
            return Err(HttpError::bad_gateway("invalid status code"));
        }
        self.status = status;
        self.version = if minor == 1 {
            Version::Http11
        } else {
            Version::Http10
        };
        self.bytes.clear();
        self.fields.clear();
        for h in parsed.headers.iter() {
            let name = push_span(&mut self.bytes, h.name.as_bytes())?;
            let value = push_span(&mut self.bytes, h.value)?;
            self.fields.push(FieldSpan { name, value });
        }
        self.validate()?;
        Ok(ParseStatus::Complete { head_len: n })
    }

    /// Framing and connection fields, on the copied fields.
    fn validate(&mut self) -> Result<(), HttpError> {
        let http11 = self.version == Version::Http11;
        self.content_length = syntax::content_length(self.header_all("content-length"))
            .map_err(HttpError::bad_gateway)?;
        self.chunked = match syntax::transfer_coding(self.header_all("transfer-encoding")) {
            Ok(TransferCoding::Absent) => false,
            Ok(TransferCoding::Chunked) => true,
            Ok(TransferCoding::Unsupported) => {
                return Err(HttpError::bad_gateway("unsupported transfer coding"))
            }
            Err(reason) => return Err(HttpError::bad_gateway(reason)),
        };
        if self.chunked && !http11 {
            // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
            return Err(HttpError::bad_gateway("Transfer-Encoding in HTTP/1.0"));
        }
        // RFC 9112 §6.3: with both framings, chunked wins; the message may be an attempt at
        // response splitting, so the connection is not trusted with another request.
        self.keep_alive = syntax::keep_alive(http11, self.header_all("connection"))
            && !(self.chunked && self.content_length.is_some());
        Ok(())
    }

    /// The status code (100..=999).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// An interim (1xx) response: another head follows on the same connection.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status)
    }

    /// Protocol version of the response.
    pub fn version(&self) -> Version {
        self.version
    }

    /// How the body is delimited, given whether the request was a `HEAD` (RFC 9112 §6.3).
    pub fn framing(&self, request_was_head: bool) -> ResponseFraming {
        if request_was_head || self.is_interim() || self.status == 204 || self.status == 304 {
            ResponseFraming::None
        } else if self.chunked {
            ResponseFraming::Chunked
        } else {
            match self.content_length {
                Some(n) => ResponseFraming::Length(n),
                None => ResponseFraming::UntilClose,
            }
        }
    }

    /// Whether the backend lets the connection carry another request once this response is
    /// read (by `Connection` and version, and never after a response with both framings). A
    /// close-delimited body ends the connection whatever this says.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The `Content-Length` all fields agreed on, whatever the framing (for a HEAD response
    /// it is the length a GET would have).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// Value of the first field called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.header_all(name).next()
    }

    /// Values of every field called `name`, in order of appearance.
    pub fn header_all<'s: 'n, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s [u8]> + 'n {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All fields in order of appearance, repeated names included, names in their original
    /// case.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(|f| {
            // httparse only accepts token characters in names, so they are ASCII.
            let name = std::str::from_utf8(self.at(f.name)).unwrap_or_default();
            (name, self.at(f.value))
        })
    }

    /// Number of header fields.
    pub fn header_count(&self) -> usize {
        self.fields.len()
    }

    /// A complete, valid head is available through the accessors.
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    fn at(&self, (start, end): (u32, u32)) -> &[u8] {
        self.bytes
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }
}

/// Appends `s` to `bytes`, returning its range. A head is bounded by `MAX_RESPONSE_HEAD_BYTES`,
/// so the offsets always fit a `u32`; the check only keeps the arithmetic honest.
fn push_span(bytes: &mut Vec<u8>, s: &[u8]) -> Result<(u32, u32), HttpError> {
    let too_large = HttpError::bad_gateway("response head too large");
    let start = u32::try_from(bytes.len()).map_err(|_| too_large)?;
    bytes.extend_from_slice(s);
    let end = u32::try_from(bytes.len()).map_err(|_| too_large)?;
    Ok((start, end))
}

fn map_httparse_error(e: httparse::Error) -> HttpError {
    HttpError::bad_gateway(match e {
        httparse::Error::TooManyHeaders => "too many response header fields",
        httparse::Error::Version => "unsupported HTTP version in response",
        httparse::Error::Status => "malformed status line",
        // obs-fold lands here: a continuation line does not start with a token.
        httparse::Error::HeaderName => "malformed response header field name",
        httparse::Error::HeaderValue => "malformed response header field value",
        httparse::Error::NewLine | httparse::Error::Token => "malformed response head",
    })
}

/// Fuzz entry point (for a cargo-fuzz target): parses arbitrary bytes as a sequence of heads
/// (interim ones, then a final one) in one call each and byte by byte, asserting that both
/// agree and that the accessors of every complete head uphold their invariants.
pub fn fuzz_parse_response_head(data: &[u8]) {
    let mut one = ParsedResponseHead::new();
    let mut inc = ParsedResponseHead::new();
    let mut rest = data;
    // Interim heads can precede the final one; a few rounds exercise the reuse path.
    for _ in 0..4 {
        let r_one = one.parse(rest);
        let mut r_inc = Ok(ParseStatus::Partial);
        for k in 0..=rest.len() {
            r_inc = inc.parse(&rest[..k]);
            if r_inc != Ok(ParseStatus::Partial) {
                break;
            }
        }
        assert_eq!(r_one, r_inc, "split-dependent parse result");
        let Ok(ParseStatus::Complete { head_len }) = r_one else {
            return;
        };
        assert!(head_len <= rest.len() && head_len <= MAX_RESPONSE_HEAD_BYTES);
        assert!(rest[..head_len].ends_with(b"\r\n\r\n"));
        assert!(one.is_complete() && (100..=999).contains(&one.status()));
        assert!(one.header_count() <= MAX_RESPONSE_HEADERS);
        assert!(one.headers().eq(inc.headers()));
        for (name, _) in one.headers() {
            assert!(syntax::is_token(name.as_bytes()));
            assert!(one.header(name).is_some());
        }
        for head_request in [false, true] {
            match one.framing(head_request) {
                ResponseFraming::Chunked => assert!(one.header("transfer-encoding").is_some()),
                ResponseFraming::Length(n) => assert_eq!(one.content_length(), Some(n)),
                ResponseFraming::UntilClose => assert!(one.content_length().is_none()),
                ResponseFraming::None => {
                    assert!(head_request || one.is_interim() || matches!(one.status(), 204 | 304))
                }
            }
        }
        if one.header("transfer-encoding").is_some() && one.content_length().is_some() {
            assert!(!one.keep_alive());
        }
        rest = &rest[head_len..];
    }
}

#[cfg(test)]
#[path = "response_parse_tests.rs"]
mod tests;
