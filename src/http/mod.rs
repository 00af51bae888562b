//! HTTP/1.1 wire protocol, sans-IO, in both directions.
//!
//! This module turns bytes into heads and body bytes, and head descriptions
//! into bytes. It never touches a socket: a connection reads into its own
//! buffers, feeds them to a parser and writes what a writer produced. It knows
//! nothing about S3; routing and semantics live above it. "Need more bytes" is
//! a state (`ParseStatus::Partial`, a decode step that consumed everything),
//! never an error; every error is an [`HttpError`] saying what to answer.
//!
//! Three users share it:
//! * the client-facing server (`server`): [`RequestHead::parse`],
//!   [`ChunkedDecoder::decode`] for request bodies, [`ResponseHead`] to answer;
//! * the backend client (`backend::transport`): [`RequestHeadOut::write`],
//!   [`ChunkHeader`] / [`LAST_CHUNK`] for chunked uploads,
//!   [`ParsedResponseHead::parse`] and [`ChunkedDecoder::decode_framing`] for
//!   the answers;
//! * the blocking admin listener (`admin`): [`RequestHead::parse`] on its own
//!   buffer.
//!
//! Modules:
//! * [`limits`]: every protocol bound, with its reason.
//! * [`head`]: request head parser/validator (framing, keep-alive, expect).
//! * [`request`]: request head writer (`Host`, framing, `Expect`).
//! * [`response`]: response head writer (status line, framing, Date, Server).
//! * [`response_parse`]: response head parser (status, framing, keep-alive,
//!   interim responses).
//! * [`chunked`]: `Transfer-Encoding: chunked` decoder and chunk-size lines.
//! * [`date`]: IMF-fixdate formatting (cached per second) and HTTP-date parsing.
//! * `syntax`: the RFC 9110 grammar they share (tokens, field values, lists,
//!   the framing fields), also used by `s3` for header names.

pub mod chunked;
pub mod date;
pub mod head;
mod head_fuzz;
pub mod limits;
pub mod request;
pub mod response;
pub mod response_parse;
pub(crate) mod syntax;

pub use chunked::{ChunkHeader, ChunkedDecoder, Decoded, LAST_CHUNK, LAST_CHUNK_AFTER_DATA};
pub use date::{format_imf_fixdate, parse_http_date, DateCache};
pub use head::{BodyKind, ParseStatus, RequestHead, Version};
pub use request::{Authority, RequestHeadOut};
pub use response::{reason_phrase, write_continue, write_error, ResponseHead};
pub use response_parse::{ParsedResponseHead, ResponseFraming};

use std::fmt;

/// A protocol error: the status to answer with and a short reason (for logs
/// and an optional body). After any `HttpError` from parsing, the connection
/// framing is unreliable: answer, then close the connection.
///
/// Small and `Copy` on purpose: it travels through hot-path `Result`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpError {
    /// HTTP status code to answer with (400, 413, 414, 417, 431, 501, 505 for a request; 502
    /// for a backend's response).
    pub status: u16,
    /// Short, static, human-readable reason.
    pub reason: &'static str,
}

impl HttpError {
    /// Builds an error from a status and a static reason.
    pub const fn new(status: u16, reason: &'static str) -> Self {
        Self { status, reason }
    }

    /// 400 Bad Request.
    pub const fn bad_request(reason: &'static str) -> Self {
        Self::new(400, reason)
    }

    /// 502 Bad Gateway: what a backend sent is not acceptable HTTP/1.1.
    pub const fn bad_gateway(reason: &'static str) -> Self {
        Self::new(502, reason)
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status,
            reason_phrase(self.status),
            self.reason
        )
    }
}

impl std::error::Error for HttpError {}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn http_error_is_small_copy_and_displays() {
        let e = HttpError::bad_request("malformed header");
        let f = e; // Copy
        assert_eq!(e, f);
        assert_eq!(e.to_string(), "400 Bad Request: malformed header");
        assert!(std::mem::size_of::<HttpError>() <= 24);
        let e = HttpError::new(431, "too many headers");
        assert_eq!(
            e.to_string(),
            "431 Request Header Fields Too Large: too many headers"
        );
    }
}
