//! The request body as the handlers see it: a stream of verified object bytes.
//!
//! Two layers are peeled off as bytes arrive, without copying: HTTP framing (Content-Length or
//! `Transfer-Encoding: chunked`) and the S3 payload encoding ([`BodyVerifier`]: plain with a
//! SHA-256/MD5/CRC check, or aws-chunked with chunk signatures and trailing checksums). Slices
//! handed out borrow the connection's read buffer.
//!
//! **Commit contract.** Bytes handed out are not yet verified. To make "a bad body is never
//! committed" hold for any backend, the reader withholds the *final* byte of a body of known
//! length until the whole payload verified: a backend that was promised N bytes and got N-1 never
//! commits the object, and the handler aborts its request on error. So when [`BodyReader::next`]
//! has returned the last byte, the body is verified; an error at any point means "abort".

use super::wire::{BodyUse, Conn, ReadError};
use crate::http::ChunkedDecoder;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::payload::BodyVerifier;
use crate::s3::payload::PayloadSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    Length(u64),
    Chunked,
}

enum Framing {
    Length { remaining: u64 },
    Chunked(Box<ChunkedDecoder>),
}

pub struct BodyReader<'c> {
    conn: &'c mut Conn,
    framing: Framing,
    framing_done: bool,
    expect_continue: bool,
    continue_sent: bool,
    verifier: Option<BodyVerifier>,
    /// Layer-1 output (`conn.buf[pending.0..pending.1]`) the payload layer has not consumed yet.
    pending: (usize, usize),
    /// Object bytes the body will yield, when known (plain: Content-Length; aws-chunked:
    /// x-amz-decoded-content-length).
    decoded_len: Option<u64>,
    emitted: u64,
    /// The withheld final byte, and whether it may now be handed out.
    stash: [u8; 1],
    stash_state: Stash,
    touched: bool,
    summary: Option<PayloadSummary>,
    failed: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stash {
    Empty,
    Held,
    Given,
}

impl<'c> BodyReader<'c> {
    pub fn new(
        conn: &'c mut Conn,
        framing: BodyFraming,
        expect_continue: bool,
        verifier: Option<(BodyVerifier, Option<u64>)>,
    ) -> Self {
        let (verifier, decoded_len) = match verifier {
            Some((v, len)) => (Some(v), len),
            None => (None, None),
        };
        let decoded_len = decoded_len.or(match framing {
            BodyFraming::Length(n) => Some(n),
            BodyFraming::Chunked => None,
        });
        BodyReader {
            conn,
            framing: match framing {
                BodyFraming::Length(n) => Framing::Length { remaining: n },
                BodyFraming::Chunked => Framing::Chunked(Box::default()),
            },
            framing_done: matches!(framing, BodyFraming::Length(0)),
            expect_continue,
            continue_sent: false,
            verifier,
            pending: (0, 0),
            decoded_len,
            emitted: 0,
            stash: [0],
            stash_state: Stash::Empty,
            touched: false,
            summary: None,
            failed: false,
        }
    }

    /// The number of object bytes this body will produce, when the request declared it.
    pub fn decoded_len(&self) -> Option<u64> {
        self.decoded_len
    }

    /// How much of the body was consumed (decides whether the connection can be reused).
    pub fn state(&self) -> BodyUse {
        if self.summary.is_some() && self.framing_done && !self.failed {
            BodyUse::Complete
        } else if self.touched {
            BodyUse::Partial
        } else {
            BodyUse::Untouched
        }
    }

    /// Turns off the MD5 of the body when nothing needs it (see [`PayloadVerifier::skip_md5`]):
    /// an S3 backend computes its own ETag, so only a local backend needs the digest. A no-op
    /// once body bytes were read.
    ///
    /// [`PayloadVerifier::skip_md5`]: crate::s3::payload::PayloadVerifier::skip_md5
    pub fn skip_md5(&mut self) {
        if let Some(v) = self.verifier.as_mut() {
            v.skip_md5();
        }
    }

    /// The verified digests, once the body was read to its end.
    pub fn summary(&self) -> Option<&PayloadSummary> {
        self.summary.as_ref()
    }

    /// Reads the whole (small) body into memory, refusing more than `limit` bytes. For XML
    /// request documents only, never for object data.
    pub async fn read_to_vec(&mut self, limit: usize) -> S3Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next().await? {
            if out.len() + chunk.len() > limit {
                return Err(S3Error::with_message(
                    S3ErrorCode::EntityTooLarge,
                    "request document is too large",
                ));
            }
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    /// Next slice of object bytes; `Ok(None)` at the verified end.
    pub async fn next(&mut self) -> S3Result<Option<&[u8]>> {
        let r = self.next_inner().await;
        if r.is_err() {
            self.failed = true;
        }
        match r {
            Ok(Some((a, b))) => Ok(Some(if a == usize::MAX {
                &self.stash[..]
            } else {
                &self.conn.buf[a..b]
            })),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Returns a range into `conn.buf` (or `usize::MAX` for the stash).
    async fn next_inner(&mut self) -> S3Result<Option<(usize, usize)>> {
        if self.failed {
            return Err(S3Error::with_message(
                S3ErrorCode::IncompleteBody,
                "body already failed",
            ));
        }
        self.touched = true;
        if self.expect_continue && !self.continue_sent {
            self.continue_sent = true;
            self.conn.send_continue().await.map_err(|_| closed())?;
        }
        loop {
            if self.stash_state == Stash::Given {
                return Ok(None);
            }
            if self.summary.is_some() {
                return Ok(None);
            }
            // Feed pending layer-1 output to the payload layer.
            if self.pending.0 < self.pending.1 {
                if let Some(r) = self.feed_pending()? {
                    return Ok(Some(r));
                }
                continue;
            }
            // Layer 1: HTTP framing.
            if self.framing_done {
                return self.finish_payload();
            }
            self.unframe_more().await?;
        }
    }

    /// Feeds pending layer-1 output to the payload layer; the range of object bytes it yields,
    /// or `None` when it consumed framing or withheld bytes only.
    fn feed_pending(&mut self) -> S3Result<Option<(usize, usize)>> {
        let (a, b) = self.pending;
        let verifier = self.verifier.as_mut().ok_or_else(no_verifier)?;
        let d = verifier.feed(&self.conn.buf[a..b])?;
        let consumed = d.consumed;
        let data_len = d.data.len();
        // `data` is a sub-slice of the input: locate it to return a range, not a borrow.
        let data_off = if data_len == 0 {
            0
        } else {
            d.data.as_ptr() as usize - self.conn.buf[a..b].as_ptr() as usize
        };
        self.pending.0 += consumed;
        if consumed == 0 && data_len == 0 {
            return Err(S3Error::internal("payload decoder made no progress"));
        }
        if data_len == 0 {
            return Ok(None);
        }
        let start = a + data_off;
        let r = self.emit(start, start + data_len)?;
        Ok((r.0 != r.1).then_some(r))
    }

    /// Reads more of the body from the socket when the buffer is empty and peels off the HTTP
    /// framing: the payload bytes become `pending`.
    async fn unframe_more(&mut self) -> S3Result<()> {
        if self.conn.start == self.conn.end {
            match self.conn.read_body_more().await {
                Ok(0) => return Err(S3Error::new(S3ErrorCode::IncompleteBody)),
                Ok(_) => {}
                Err(ReadError::Timeout) => return Err(S3Error::new(S3ErrorCode::RequestTimeout)),
                Err(ReadError::TooSlow) => {
                    return Err(S3Error::with_message(
                        S3ErrorCode::RequestTimeout,
                        "the request body arrived too slowly",
                    ))
                }
                Err(_) => return Err(closed()),
            }
        }
        let start = self.conn.start;
        let avail = &self.conn.buf[start..self.conn.end];
        match &mut self.framing {
            Framing::Length { remaining } => {
                let take = (*remaining).min(avail.len() as u64) as usize;
                *remaining -= take as u64;
                self.conn.start += take;
                self.pending = (start, start + take);
                if *remaining == 0 {
                    self.framing_done = true;
                }
            }
            Framing::Chunked(dec) => {
                let d = dec
                    .decode(avail)
                    .map_err(|e| S3Error::with_message(S3ErrorCode::IncompleteBody, e.reason))?;
                let data_off = if d.data.is_empty() {
                    0
                } else {
                    d.data.as_ptr() as usize - avail.as_ptr() as usize
                };
                let data_len = d.data.len();
                let done = d.done;
                self.conn.start += d.consumed;
                self.pending = (start + data_off, start + data_off + data_len);
                if done {
                    self.framing_done = true;
                }
            }
        }
        Ok(())
    }

    /// Hands out `conn.buf[a..b]`, withholding the body's final byte until verification.
    fn emit(&mut self, a: usize, b: usize) -> S3Result<(usize, usize)> {
        let n = (b - a) as u64;
        if let Some(total) = self.decoded_len {
            if self.emitted + n > total {
                return Err(S3Error::with_message(
                    S3ErrorCode::IncompleteBody,
                    "body is longer than declared",
                ));
            }
            if self.emitted + n == total {
                self.stash[0] = self.conn.buf[b - 1];
                self.stash_state = Stash::Held;
                self.emitted += n;
                if b - 1 > a {
                    return Ok((a, b - 1));
                }
                // Only the final byte: loop on to verification by returning an empty range.
                return Ok((a, a));
            }
        }
        self.emitted += n;
        Ok((a, b))
    }

    fn finish_payload(&mut self) -> S3Result<Option<(usize, usize)>> {
        let summary = match self.verifier.take() {
            Some(verifier) => verifier.finish()?,
            // An empty body (Content-Length 0) gets no verifier: there is nothing to check, and
            // its digests are the empty input's, so an empty PutObject still commits.
            None if self.emitted == 0 => PayloadSummary {
                length: 0,
                md5: Some(EMPTY_MD5),
                checksum: None,
            },
            None => return Err(no_verifier()),
        };
        if let Some(total) = self.decoded_len {
            if self.emitted != total {
                return Err(S3Error::new(S3ErrorCode::IncompleteBody));
            }
        }
        self.summary = Some(summary);
        if self.stash_state == Stash::Held {
            self.stash_state = Stash::Given;
            return Ok(Some((usize::MAX, 0)));
        }
        Ok(None)
    }
}

fn closed() -> S3Error {
    S3Error::with_message(S3ErrorCode::IncompleteBody, "client connection closed")
}

/// MD5 of the empty input (d41d8cd98f00b204e9800998ecf8427e), the ETag of an empty object.
const EMPTY_MD5: [u8; 16] = [
    0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e,
];

fn no_verifier() -> S3Error {
    S3Error::internal("request body read without a payload verifier")
}
