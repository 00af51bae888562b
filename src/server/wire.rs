//! One client connection's wire state: the stream, its reused read buffer and the unconsumed
//! bytes in it, timed reads and writes, `100 Continue`. The connection loop (`conn`) and the body
//! reader (`body`) both work on it, so it sits below both.
//!
//! Every write to the client is bounded by the write stall timeout (no progress for that long
//! gives the connection up), and every read and write by the request's deadline when it has one.

use super::pace::UploadPace;
use super::stream::ClientStream;
use crate::http::limits::MAX_HEAD_BYTES;
use crate::state::ServerLimits;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

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
    /// The listener's limits as of the start of the current request (a reload applies from the
    /// next request on).
    pub limits: ServerLimits,
    /// The current request's deadline (`server.request_timeout`), when it has one: no read or
    /// write of it waits past this instant.
    pub deadline: Option<Instant>,
    /// The current request body's rate meter.
    pub pace: UploadPace,
}

pub enum ReadError {
    Closed,
    Timeout,
    /// The body arrived slower than `server.min_upload_bytes_per_second`.
    TooSlow,
    Io(std::io::Error),
}

/// Runs `f` for at most `timeout`; `None` when the time ran out first.
async fn timed<T>(timeout: Duration, f: impl Future<Output = T>) -> Option<T> {
    futures_lite::future::or(async { Some(f.await) }, async {
        glommio::timer::sleep(timeout).await;
        None
    })
    .await
}

fn write_timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "client write made no progress in time",
    )
}

impl Conn {
    /// A connection with empty buffers under `limits`.
    pub fn new(stream: ClientStream, peer: Option<SocketAddr>, limits: ServerLimits) -> Conn {
        Conn {
            stream,
            buf: vec![0u8; READ_BUF_BYTES],
            start: 0,
            end: 0,
            peer,
            out: Vec::with_capacity(1024),
            limits,
            deadline: None,
            pace: UploadPace::new(
                limits.min_upload_bytes_per_second,
                limits.upload_rate_window,
            ),
        }
    }

    /// Starts a request under `limits` (the body's rate meter starts over; no deadline yet).
    pub fn begin_request(&mut self, limits: ServerLimits) {
        self.limits = limits;
        self.deadline = None;
        self.pace = UploadPace::new(
            limits.min_upload_bytes_per_second,
            limits.upload_rate_window,
        );
    }

    /// `timeout`, shortened to what is left before the deadline; `None` once it passed.
    fn bounded(&self, timeout: Duration) -> Option<Duration> {
        match self.deadline {
            None => Some(timeout),
            Some(d) => d
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())
                .map(|left| left.min(timeout)),
        }
    }

    /// Reads more body bytes, waiting at most the body stall timeout, and checks the upload rate
    /// over the time spent waiting here (the only time the client is waited on).
    pub async fn read_body_more(&mut self) -> Result<usize, ReadError> {
        let started = Instant::now();
        let r = self.read_more(self.limits.body_stall_timeout).await;
        let got = match &r {
            Ok(n) => *n,
            Err(_) => 0,
        };
        if self.pace.record(started.elapsed(), got).is_err() {
            return Err(ReadError::TooSlow);
        }
        r
    }

    /// Reads more bytes into the buffer (compacting first when needed); `Ok(0)` is EOF. Waits at
    /// most `timeout`, and never past the request's deadline.
    pub async fn read_more(&mut self, timeout: Duration) -> Result<usize, ReadError> {
        let Some(timeout) = self.bounded(timeout) else {
            return Err(ReadError::Timeout);
        };
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
        match timed(timeout, stream.read(buf)).await {
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

    /// How long the next write may wait for progress: the write stall timeout, within the
    /// deadline.
    fn write_timeout(&self) -> std::io::Result<Duration> {
        self.bounded(self.limits.write_stall_timeout)
            .ok_or_else(write_timed_out)
    }

    /// Writes all of `data`; fails with `TimedOut` when one write makes no progress within the
    /// write stall timeout (or the deadline passes), after which the connection must be closed.
    pub async fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let timeout = self.write_timeout()?;
            match timed(timeout, self.stream.write(data)).await {
                None => return Err(write_timed_out()),
                Some(Ok(0)) => return Err(std::io::ErrorKind::WriteZero.into()),
                Some(Ok(n)) => data = &data[n..],
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// Flushes (TLS: sends what the session buffered), bounded like a write.
    pub async fn flush(&mut self) -> std::io::Result<()> {
        let timeout = self.write_timeout()?;
        timed(timeout, self.stream.flush())
            .await
            .unwrap_or_else(|| Err(write_timed_out()))
    }

    /// Closes the stream (TLS: sends close_notify), giving up after the write stall timeout so a
    /// client that stopped reading cannot hold the connection in its close either.
    pub async fn close(&mut self) {
        let timeout = self.limits.write_stall_timeout;
        let _ = timed(timeout, self.stream.close()).await;
    }

    /// Sends `100 Continue`.
    pub async fn send_continue(&mut self) -> std::io::Result<()> {
        self.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        self.flush().await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyUse {
    Untouched,
    Partial,
    Complete,
}
