//! A backend response: status, headers (read from the head the connection parsed and keeps),
//! and the state of its body. Dropping a response whose body was read to its end returns a
//! keep-alive connection to the pool; dropping it earlier closes the connection.
//!
//! Reading the body (Content-Length, chunked, read until close) is in `body.rs`: that part
//! returns [`super::TransportError`], which carries a `BackendResponse` itself (an early answer),
//! so keeping it apart keeps this type below the error type.

use std::fmt;

use super::conn::Conn;
use super::pool::BackendPool;
use crate::http::ResponseFraming;

/// Where the body stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// Read to its end (or there was none).
    Done,
    /// Content-Length framing, bytes still to come.
    Length(u64),
    /// Chunked framing, decoded by the connection's `ChunkedDecoder`.
    Chunked,
    /// No length: the body ends when the backend closes.
    UntilClose,
    /// A read failed; the connection is unusable.
    Failed,
}

pub struct BackendResponse {
    pub status: u16,
    pub(crate) pool: BackendPool,
    pub(crate) conn: Option<Conn>,
    pub(crate) body: Body,
    /// Body length the framing announced (`Some(0)` for bodiless responses).
    declared_len: Option<u64>,
    pub(crate) keep_alive: bool,
    pub(crate) request_body_sent: bool,
}

impl BackendResponse {
    /// The response whose head `conn` has just read (a final one). `early`: it came before the
    /// request was complete, which leaves the backend mid-request, so the connection is not
    /// reused.
    pub(crate) fn new(
        pool: BackendPool,
        mut conn: Conn,
        request_was_head: bool,
        request_body_sent: bool,
        early: bool,
    ) -> Self {
        let head = &conn.response;
        let status = head.status();
        let framing = head.framing(request_was_head);
        let keep_alive = head.keep_alive() && !early && framing != ResponseFraming::UntilClose;
        let body = match framing {
            ResponseFraming::None | ResponseFraming::Length(0) => Body::Done,
            ResponseFraming::Length(n) => Body::Length(n),
            ResponseFraming::Chunked => {
                conn.chunked.reset();
                Body::Chunked
            }
            ResponseFraming::UntilClose => Body::UntilClose,
        };
        let declared_len = match body {
            Body::Done => Some(0),
            Body::Length(n) => Some(n),
            _ => None,
        };
        BackendResponse {
            status,
            pool,
            conn: Some(conn),
            body,
            declared_len,
            keep_alive,
            request_body_sent,
        }
    }

    /// A bodiless stand-in (only when no connection is left to read from).
    pub(crate) fn without_body(pool: BackendPool, status: u16) -> Self {
        BackendResponse {
            status,
            pool,
            conn: None,
            body: Body::Done,
            declared_len: Some(0),
            keep_alive: false,
            request_body_sent: false,
        }
    }

    /// The first header field named `name` (ASCII case-insensitive), if its value is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_bytes(name)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first header field named `name` (ASCII case-insensitive), raw.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.conn.as_ref().and_then(|c| c.response.header(name))
    }

    /// All header fields in order, repeated names included (for forwarding to the client).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.conn.iter().flat_map(|c| c.response.headers())
    }

    /// The body length the framing announced (`Some(0)` for HEAD, 204, 304), `None` for
    /// chunked and close-delimited bodies. For a HEAD response see `header("content-length")`.
    pub fn content_length(&self) -> Option<u64> {
        self.declared_len
    }

    /// Whether the body has been read to its end.
    pub fn is_body_done(&self) -> bool {
        self.body == Body::Done
    }

    /// Whether the connection goes back to the pool once the body is read.
    pub fn is_keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The ALPN protocol negotiated on a TLS connection.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.as_ref().and_then(|c| c.alpn())
    }
}

impl Drop for BackendResponse {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.body == Body::Done && self.keep_alive && !conn.has_buffered_input() {
                self.pool.checkin(conn);
            }
        }
    }
}

impl fmt::Debug for BackendResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendResponse")
            .field("status", &self.status)
            .field("body", &self.body)
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}
