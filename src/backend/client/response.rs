//! A backend response: status, headers (spans into a buffer the connection reuses), and a
//! streaming body reader for the three HTTP/1.1 framings (Content-Length, chunked, read until
//! close). Dropping a response whose body was read to its end returns a keep-alive connection
//! to the pool; dropping it earlier closes the connection.

use std::fmt;
use std::io;

use super::conn::{parse_chunk_size, Conn, HeadError, RawHead, MAX_CHUNK_LINE_BYTES};
use super::error::{ClientError, Phase};
use super::pool::ClientPool;

/// Largest remaining body [`BackendResponse::discard`] reads to keep the connection; past it a
/// new connection (one round trip, on a LAN) is cheaper than downloading what nobody wants.
pub const DISCARD_MAX_BYTES: u64 = 64 * 1024;

/// Total size of chunked trailer fields we skip; S3 sends none, this only bounds a hostile peer.
pub const MAX_TRAILER_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// Read to its end (or there was none).
    Done,
    /// Content-Length framing, bytes still to come.
    Length(u64),
    /// Chunked framing, in the given state.
    Chunked(Chunk),
    /// No length: the body ends when the backend closes.
    UntilClose,
    /// A read failed; the connection is unusable.
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside chunk data, bytes still to come.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the last chunk: trailer fields until an empty line (bytes seen so far).
    Trailers(usize),
}

pub struct BackendResponse {
    pub status: u16,
    pool: ClientPool,
    conn: Option<Conn>,
    body: Body,
    /// Body length the framing announced (`Some(0)` for bodiless responses).
    declared_len: Option<u64>,
    keep_alive: bool,
    request_body_sent: bool,
}

impl BackendResponse {
    pub(crate) fn new(
        pool: ClientPool,
        conn: Conn,
        head: RawHead,
        request_was_head: bool,
        request_body_sent: bool,
        early: bool,
    ) -> Self {
        let status = head.status;
        // A response before the request was complete leaves the backend mid-request.
        let mut keep_alive = head.keep_alive && !early;
        let body = if request_was_head || status < 200 || status == 204 || status == 304 {
            Body::Done
        } else if head.transfer_encoding {
            // Both framings at once is how request smuggling starts: honour TE, then close.
            keep_alive &= head.content_length.is_none();
            if head.chunked {
                Body::Chunked(Chunk::Size)
            } else {
                Body::UntilClose
            }
        } else {
            match head.content_length {
                Some(0) => Body::Done,
                Some(n) => Body::Length(n),
                None => Body::UntilClose,
            }
        };
        if body == Body::UntilClose {
            keep_alive = false;
        }
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
    pub(crate) fn without_body(pool: ClientPool, status: u16) -> Self {
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
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All header fields in order, repeated names included (for forwarding to the client).
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        let conn = self.conn.as_ref();
        conn.into_iter().flat_map(|c| {
            c.spans.iter().filter_map(move |s| {
                let name = c
                    .head
                    .get(s.name_start as usize..(s.name_start + s.name_len) as usize)?;
                let value = c
                    .head
                    .get(s.value_start as usize..(s.value_start + s.value_len) as usize)?;
                // httparse only accepts token characters in names, so this is ASCII.
                Some((std::str::from_utf8(name).ok()?, value))
            })
        })
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

    /// Reads body bytes into `buf`; `Ok(0)` means the body is complete. Large buffers are
    /// filled straight from the socket.
    pub async fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, ClientError> {
        if buf.is_empty() {
            return Err(ClientError::Usage("read_body needs a non-empty buffer"));
        }
        // A backend that always has data ready would otherwise monopolise the shard.
        glommio::yield_if_needed().await;
        match self.read_inner(buf).await {
            Ok(n) => Ok(n),
            Err(e) => {
                self.body = Body::Failed;
                self.conn = None;
                Err(e)
            }
        }
    }

    async fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, ClientError> {
        let limit = self.pool.inner.limits.get().io_timeout;
        let sent = self.request_body_sent;
        let io_err = |e: io::Error| ClientError::io(Phase::ResponseBody, e, sent);
        let framing_err = |e: HeadError| e.into_client_error(Phase::ResponseBody, sent);
        let truncated = || ClientError::Io {
            phase: Phase::ResponseBody,
            error: io::Error::new(io::ErrorKind::UnexpectedEof, "response body truncated"),
            body_sent: sent,
        };
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return match self.body {
                    Body::Done => Ok(0),
                    _ => Err(ClientError::Usage("response body already failed")),
                };
            };
            match self.body {
                Body::Done => return Ok(0),
                Body::Failed => return Err(ClientError::Usage("response body already failed")),
                Body::Length(left) => {
                    let n = conn
                        .read_body_bytes(buf, left, limit)
                        .await
                        .map_err(io_err)?;
                    if n == 0 {
                        return Err(truncated());
                    }
                    let left = left - n as u64;
                    self.body = if left == 0 {
                        Body::Done
                    } else {
                        Body::Length(left)
                    };
                    return Ok(n);
                }
                Body::UntilClose => {
                    let n = conn
                        .read_body_bytes(buf, u64::MAX, limit)
                        .await
                        .map_err(io_err)?;
                    if n == 0 {
                        self.body = Body::Done;
                        self.keep_alive = false;
                    }
                    return Ok(n);
                }
                Body::Chunked(Chunk::Data(left)) => {
                    let n = conn
                        .read_body_bytes(buf, left, limit)
                        .await
                        .map_err(io_err)?;
                    if n == 0 {
                        return Err(truncated());
                    }
                    let left = left - n as u64;
                    self.body = Body::Chunked(if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    });
                    return Ok(n);
                }
                Body::Chunked(Chunk::Size) => {
                    let line = conn
                        .read_line(MAX_CHUNK_LINE_BYTES, limit)
                        .await
                        .map_err(framing_err)?;
                    let size =
                        parse_chunk_size(&conn.rbuf()[line]).ok_or(ClientError::BadResponse {
                            reason: "invalid chunk size line",
                            body_sent: sent,
                        })?;
                    self.body = Body::Chunked(if size == 0 {
                        Chunk::Trailers(0)
                    } else {
                        Chunk::Data(size)
                    });
                }
                Body::Chunked(Chunk::DataEnd) => {
                    let line = conn
                        .read_line(MAX_CHUNK_LINE_BYTES, limit)
                        .await
                        .map_err(framing_err)?;
                    if !line.is_empty() {
                        return Err(ClientError::BadResponse {
                            reason: "chunk data longer than its size",
                            body_sent: sent,
                        });
                    }
                    self.body = Body::Chunked(Chunk::Size);
                }
                Body::Chunked(Chunk::Trailers(seen)) => {
                    let line = conn
                        .read_line(MAX_CHUNK_LINE_BYTES, limit)
                        .await
                        .map_err(framing_err)?;
                    let seen = seen + line.len() + 2;
                    self.body = if line.is_empty() {
                        Body::Done
                    } else if seen > MAX_TRAILER_BYTES {
                        return Err(ClientError::BadResponse {
                            reason: "chunked trailers too large",
                            body_sent: sent,
                        });
                    } else {
                        Body::Chunked(Chunk::Trailers(seen))
                    };
                }
            }
        }
    }

    /// Reads the whole body into a vector of at most `limit` bytes (small XML answers: errors,
    /// listings, CompleteMultipartUpload results).
    pub async fn read_to_vec(mut self, limit: usize) -> Result<Vec<u8>, ClientError> {
        /// Bytes added to the vector per read when the length is not known up front.
        const STEP: usize = 8 * 1024;
        let mut out = Vec::new();
        if let Body::Length(n) = self.body {
            if n > limit as u64 {
                return Err(ClientError::BodyTooLarge { limit });
            }
            out.reserve_exact(n as usize);
        }
        loop {
            if self.body == Body::Done {
                return Ok(out);
            }
            let len = out.len();
            let room = match self.body {
                // Within the limit, checked above; the vector already has the room.
                Body::Length(left) => usize::try_from(left).unwrap_or(usize::MAX),
                // One byte past the limit tells "exactly at the limit" from "over it".
                _ => STEP.min(limit.saturating_add(1) - len),
            };
            out.resize(len + room.max(1), 0);
            let n = self.read_body(&mut out[len..]).await?;
            out.truncate(len + n);
            if n == 0 {
                return Ok(out);
            }
            if out.len() > limit {
                return Err(ClientError::BodyTooLarge { limit });
            }
        }
    }

    /// Reads and drops the rest of the body when it is small, so the connection can be reused;
    /// closes it otherwise. Errors only mean the connection is not reused.
    pub async fn discard(mut self) {
        /// Stack scratch for draining; small so the future stays small.
        const SCRATCH: usize = 2 * 1024;
        if matches!(self.body, Body::Length(n) if n > DISCARD_MAX_BYTES) {
            return;
        }
        let mut scratch = [0u8; SCRATCH];
        let mut drained = 0u64;
        while drained <= DISCARD_MAX_BYTES {
            match self.read_body(&mut scratch).await {
                Ok(0) | Err(_) => return,
                Ok(n) => drained += n as u64,
            }
        }
        // Too much: dropping closes the connection.
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
