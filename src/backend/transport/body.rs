//! Streaming a backend response body for the three HTTP/1.1 framings: `Content-Length`,
//! chunked (framing decoded by the codec's `ChunkedDecoder`, data moved like any other body
//! bytes, straight from the socket for large reads) and read-until-close.

use std::io;
use std::time::Duration;

use super::conn::Conn;
use super::error::{Phase, TransportError};
use super::response::{BackendResponse, Body};

/// Largest remaining body [`BackendResponse::discard`] reads to keep the connection; past it a
/// new connection (one round trip, on a LAN) is cheaper than downloading what nobody wants.
pub const DISCARD_MAX_BYTES: u64 = 64 * 1024;

impl BackendResponse {
    /// Reads body bytes into `buf`; `Ok(0)` means the body is complete. Large buffers are
    /// filled straight from the socket.
    pub async fn read_body(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        if buf.is_empty() {
            return Err(TransportError::Usage("read_body needs a non-empty buffer"));
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

    async fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, TransportError> {
        let limit = self.pool.limits().io_timeout;
        let sent = self.request_body_sent;
        let Some(conn) = self.conn.as_mut() else {
            return match self.body {
                Body::Done => Ok(0),
                _ => Err(TransportError::Usage("response body already failed")),
            };
        };
        match self.body {
            Body::Done => Ok(0),
            Body::Failed => Err(TransportError::Usage("response body already failed")),
            Body::Length(left) => {
                let n = read_declared(conn, buf, left, limit, sent).await?;
                let left = left - n as u64;
                self.body = if left == 0 {
                    Body::Done
                } else {
                    Body::Length(left)
                };
                Ok(n)
            }
            Body::UntilClose => {
                let n = conn
                    .read_body_bytes(buf, u64::MAX, limit)
                    .await
                    .map_err(|e| TransportError::io(Phase::ResponseBody, e, sent))?;
                if n == 0 {
                    self.body = Body::Done;
                    self.keep_alive = false;
                }
                Ok(n)
            }
            Body::Chunked => {
                let n = read_chunked(conn, buf, limit, sent).await?;
                if n == 0 {
                    self.body = Body::Done;
                }
                Ok(n)
            }
        }
    }

    /// Reads the whole body into a vector of at most `limit` bytes (small XML answers: errors,
    /// listings, CompleteMultipartUpload results).
    pub async fn read_to_vec(mut self, limit: usize) -> Result<Vec<u8>, TransportError> {
        /// Bytes added to the vector per read when the length is not known up front.
        const STEP: usize = 8 * 1024;
        let mut out = Vec::new();
        if let Body::Length(n) = self.body {
            if n > limit as u64 {
                return Err(TransportError::BodyTooLarge { limit });
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
                return Err(TransportError::BodyTooLarge { limit });
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

/// Reads between 1 and `left` bytes of a body whose length is known (`Content-Length`, or the
/// rest of a chunk); EOF before them is a truncated body.
async fn read_declared(
    conn: &mut Conn,
    buf: &mut [u8],
    left: u64,
    limit: Duration,
    request_body_sent: bool,
) -> Result<usize, TransportError> {
    let n = conn
        .read_body_bytes(buf, left, limit)
        .await
        .map_err(|e| TransportError::io(Phase::ResponseBody, e, request_body_sent))?;
    if n == 0 {
        return Err(truncated(request_body_sent));
    }
    Ok(n)
}

/// Reads chunk data of a chunked body, decoding the framing in between; `Ok(0)` once the last
/// chunk and the trailer section are read.
async fn read_chunked(
    conn: &mut Conn,
    buf: &mut [u8],
    limit: Duration,
    request_body_sent: bool,
) -> Result<usize, TransportError> {
    loop {
        let left = conn.chunked.data_remaining();
        if left > 0 {
            let n = read_declared(conn, buf, left, limit, request_body_sent).await?;
            conn.chunked.advance_data(n as u64);
            return Ok(n);
        }
        if !conn.has_buffered_input() {
            let n = conn
                .fill(limit)
                .await
                .map_err(|e| TransportError::io(Phase::ResponseBody, e, request_body_sent))?;
            if n == 0 {
                return Err(truncated(request_body_sent));
            }
        }
        let done = conn
            .decode_chunk_framing()
            .map_err(|e| TransportError::BadResponse {
                reason: e.reason,
                body_sent: request_body_sent,
            })?;
        if done {
            return Ok(0);
        }
    }
}

/// The backend closed the connection before the body's end.
fn truncated(request_body_sent: bool) -> TransportError {
    TransportError::Io {
        phase: Phase::ResponseBody,
        error: io::Error::new(io::ErrorKind::UnexpectedEof, "response body truncated"),
        body_sent: request_body_sent,
    }
}
