//! One client connection's wire state: the stream, its reused read buffer and the unconsumed
//! bytes in it, timed reads, `100 Continue`. The connection loop (`conn`) and the body reader
//! (`body`) both work on it, so it sits below both.

use super::stream::ClientStream;
use crate::http::limits::MAX_HEAD_BYTES;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use std::net::SocketAddr;
use std::time::Duration;

/// Size of each connection's read buffer. 64 KiB matches the chunk size SDKs use for aws-chunked
/// uploads and keeps a socket read per syscall large; it also bounds a head (MAX_HEAD_BYTES).
pub const READ_BUF_BYTES: usize = 64 * 1024;

const _: () = assert!(
    MAX_HEAD_BYTES <= READ_BUF_BYTES,
    "a full head must fit the read buffer"
);

pub struct Conn {
    pub stream: ClientStream,
    pub buf: Vec<u8>,
    /// Unconsumed bytes are `buf[start..end]`.
    pub start: usize,
    pub end: usize,
    pub peer: Option<SocketAddr>,
    /// The reused buffer response heads are written into.
    pub out: Vec<u8>,
    /// Longest wait for the next body byte.
    pub body_stall_timeout: Duration,
}

pub enum ReadError {
    Closed,
    Timeout,
    Io(std::io::Error),
}

impl Conn {
    /// Reads more bytes into the buffer (compacting first when needed); `Ok(0)` is EOF.
    pub async fn read_more(&mut self, timeout: Duration) -> Result<usize, ReadError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return Err(ReadError::Io(std::io::Error::other("read buffer full")));
        }
        let end = self.end;
        let stream = &mut self.stream;
        let buf = &mut self.buf[end..];
        let r = futures_lite::future::or(async { Some(stream.read(buf).await) }, async {
            glommio::timer::sleep(timeout).await;
            None
        })
        .await;
        match r {
            None => Err(ReadError::Timeout),
            Some(Ok(n)) => {
                self.end += n;
                Ok(n)
            }
            Some(Err(e)) => Err(ReadError::Io(e)),
        }
    }

    pub fn available(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub async fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(data).await
    }

    pub async fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush().await
    }

    /// Sends `100 Continue`.
    pub async fn send_continue(&mut self) -> std::io::Result<()> {
        self.stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await?;
        self.stream.flush().await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyUse {
    Untouched,
    Partial,
    Complete,
}
