//! Sans-IO decoder for `Content-Encoding: aws-chunked` request bodies (SigV4 streaming uploads).
//!
//! The HTTP layer has already removed any HTTP `Transfer-Encoding: chunked` framing; what is left is
//! S3's own framing, in one of three forms:
//!
//! * signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`):
//!   `<hex-size>;chunk-signature=<64 hex>\r\n<data>\r\n` … `0;chunk-signature=<64 hex>\r\n\r\n`
//! * signed with trailer (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`): the same chunks, then after the
//!   final `0;chunk-signature=…\r\n` the trailer lines `x-amz-checksum-crc32:<b64>\r\n`
//!   `x-amz-trailer-signature:<64 hex>\r\n` and a closing `\r\n`;
//! * unsigned with trailer (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): `<hex-size>\r\n<data>\r\n` …
//!   `0\r\n` then the trailer lines and a closing `\r\n`.
//!
//! Real clients differ at the end of the body: some send the closing `\r\n` after the trailer, some
//! do not, and some put an empty line between the final chunk and the trailer. All of these are
//! accepted: an empty line directly after the final chunk is skipped once when a trailer is
//! expected, and end of input at a line boundary in the trailer section is accepted by
//! [`AwsChunkedDecoder::finish`].
//!
//! The decoder is zero-copy for object data: [`AwsChunkedDecoder::decode`] returns slices of its
//! input. Only the short framing lines are copied, into a fixed-size buffer inside the decoder, so a
//! line split across two reads costs nothing extra and nothing is ever allocated. Output is the same
//! whichever way the input is split.
//!
//! In signed modes every chunk's data is hashed with SHA-256 on the way through and the chunk's
//! signature is checked with a [`ChunkVerifier`] as soon as its last data byte has passed (the
//! verifier chains signatures, so reordered or dropped chunks fail too); the trailer's signature is
//! checked when the trailer ends. Data returned by `decode` is therefore not verified yet: see the
//! contract in [`crate::s3::payload`].
//!
//! Errors: broken framing (bad hex size, missing CRLF, over-long line, chunk over
//! [`MAX_CHUNK_SIZE`], bytes after the end) is `InvalidEncoding`; a body that ends early, or whose
//! chunks add up to more or less than `x-amz-decoded-content-length`, is `IncompleteBody`; a bad,
//! malformed or missing chunk or trailer signature is `SignatureDoesNotMatch`; a malformed, missing,
//! duplicated, undeclared or over-limit trailer is `InvalidRequest`, and a trailing checksum of an
//! unknown or undeclared algorithm is `InvalidChecksum`.
//!
//! Layout: this file holds the limits, the configuration and the decoder's state machine;
//! `line` collects framing lines and parses chunk-size lines; `trailer` reads and checks the
//! trailer section; the tests are in `tests`.

mod line;
mod trailer;

use sha2::{Digest as _, Sha256};

use super::checksum::ChecksumAlgorithm;
use super::Decoded;
use crate::s3::auth::ChunkVerifier;
use crate::s3::error::{S3Error, S3ErrorCode};
use line::{parse_size_line, LineBuf};
use trailer::TrailerState;

/// Longest framing line (chunk-size line or trailer line) accepted, excluding its CRLF. A signed size
/// line is at most `16 hex digits + ";chunk-signature=" + 64 hex` = 97 bytes and the longest checksum
/// trailer (`x-amz-checksum-crc64nvme:` or a 44-char SHA-256 value) is under 80, so 256 leaves ample
/// room for odd clients while keeping the in-decoder line buffer small.
pub(crate) const MAX_LINE_LEN: usize = 256;

/// Largest chunk accepted. SDKs use 64 KiB (AWS SDKs) to 1 MiB; memory use does not depend on the
/// chunk size because data streams through, but a chunk's signature is only checked at its end, so
/// this bounds how many unauthenticated bytes a forger can push to a backend before being caught.
pub(crate) const MAX_CHUNK_SIZE: u64 = 16 * 1024 * 1024;

/// Most hex digits accepted in a chunk size (leading zeros included): 16 digits cover any `u64`, so
/// parsing can never overflow.
pub(crate) const MAX_CHUNK_SIZE_DIGITS: usize = 16;

/// Largest canonical trailer (`name:value\n` lines, signature line excluded) kept for the trailer
/// signature. S3 sends one checksum trailer (< 80 bytes); 512 allows a few extra headers.
pub(crate) const MAX_TRAILER_BYTES: usize = 512;

/// Most trailer headers (signature line excluded). S3 allows exactly one checksum in
/// `x-amz-trailer`; a small cap stops a client streaming an endless trailer section.
pub(crate) const MAX_TRAILER_COUNT: usize = 4;

/// A SigV4 signature is HMAC-SHA256 in lower-case hex: 64 characters.
const SIGNATURE_HEX_LEN: usize = 64;

/// What the request headers said about the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkedConfig {
    /// `true` for `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`: every chunk carries a signature.
    pub signed: bool,
    /// The checksum named in `x-amz-trailer`, if any. When set, the body must end with that trailer
    /// (and, if signed, an `x-amz-trailer-signature`); when unset, no trailer lines are accepted.
    pub trailer: Option<ChecksumAlgorithm>,
    /// `x-amz-decoded-content-length`: the exact number of object bytes, if known.
    pub decoded_length: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a `<hex-size>[;ext]` line.
    SizeLine,
    /// Inside a chunk's data.
    Data,
    /// Expecting the `\r` after a chunk's data.
    DataCr,
    /// Expecting the `\n` after a chunk's data.
    DataLf,
    /// After the final zero-size chunk: trailer lines until an empty line or end of input.
    Trailer,
    Done,
    /// A previous call failed; the body is rejected for good.
    Failed,
}

/// Incremental decoder for one `aws-chunked` body. `V` checks chunk and trailer signatures; it is
/// only required (and only called) when the body is signed.
pub(crate) struct AwsChunkedDecoder<V> {
    config: ChunkedConfig,
    verifier: Option<V>,
    state: State,
    line: LineBuf,
    chunk_remaining: u64,
    chunk_signature: [u8; SIGNATURE_HEX_LEN],
    /// SHA-256 of the current chunk's data; fed only in signed mode.
    chunk_hash: Sha256,
    produced: u64,
    trailer: TrailerState,
}

fn framing(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidEncoding, message)
}

fn bad_signature() -> S3Error {
    S3Error::new(S3ErrorCode::SignatureDoesNotMatch)
}

fn length_exceeded() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::IncompleteBody,
        "The aws-chunked body holds more data than x-amz-decoded-content-length.",
    )
}

fn length_short() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::IncompleteBody,
        "The aws-chunked body holds less data than x-amz-decoded-content-length.",
    )
}

fn truncated() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::IncompleteBody,
        "The aws-chunked body ended before its final chunk.",
    )
}

fn rejected() -> S3Error {
    framing("The aws-chunked body was already rejected.")
}

/// `s` as a signature if it is exactly [`SIGNATURE_HEX_LEN`] hex digits (either case).
fn hex_signature(s: &[u8]) -> Option<[u8; SIGNATURE_HEX_LEN]> {
    let signature: [u8; SIGNATURE_HEX_LEN] = s.try_into().ok()?;
    signature
        .iter()
        .all(u8::is_ascii_hexdigit)
        .then_some(signature)
}

impl<V: ChunkVerifier> AwsChunkedDecoder<V> {
    /// A decoder for a body described by `config`. A signed body needs a verifier; asking for one
    /// without it is a bug in the caller and answered with `InternalError`.
    pub(crate) fn new(config: ChunkedConfig, verifier: Option<V>) -> Result<Self, S3Error> {
        if config.signed && verifier.is_none() {
            return Err(S3Error::internal(
                "signed aws-chunked body without a chunk verifier",
            ));
        }
        Ok(AwsChunkedDecoder {
            config,
            verifier,
            state: State::SizeLine,
            line: LineBuf::new(),
            chunk_remaining: 0,
            chunk_signature: [0; SIGNATURE_HEX_LEN],
            chunk_hash: Sha256::new(),
            produced: 0,
            trailer: TrailerState::new(),
        })
    }

    pub(crate) fn config(&self) -> &ChunkedConfig {
        &self.config
    }

    /// Object bytes produced so far.
    pub(crate) fn produced(&self) -> u64 {
        self.produced
    }

    /// Whether the whole body, trailer included, has been decoded and verified.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The trailing checksum `(algorithm, base64 value as sent)`, once [`Self::is_done`]. The value
    /// is not validated here beyond its length; [`crate::s3::payload::PayloadVerifier`] decodes and
    /// compares it.
    pub(crate) fn trailer_checksum(&self) -> Option<(ChecksumAlgorithm, &str)> {
        if self.state != State::Done {
            return None;
        }
        self.trailer.checksum()
    }

    /// The canonical trailer (`name:value\n` lines) as it was signed, once [`Self::is_done`].
    /// Only tests look at it: the trailer signature is checked inside the decoder.
    #[cfg(test)]
    pub(crate) fn canonical_trailer(&self) -> &[u8] {
        if self.state != State::Done {
            return &[];
        }
        self.trailer.canonical()
    }

    /// Decodes as much of `input` as possible, stopping after the first run of object data.
    ///
    /// Feed the unconsumed remainder (`&input[consumed..]`) back in. `consumed < input.len()` only
    /// happens when `data` is non-empty (call again with the rest); when everything was consumed and
    /// `data` is empty and `done` is false, more input is needed. Once `done`, any further input is
    /// an error. After an error the decoder stays failed.
    pub(crate) fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, S3Error> {
        let result = self.decode_inner(input);
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    /// Call at end of input. Accepts a body whose closing CRLF after the trailer (or after the final
    /// chunk) is missing; anything else short of the end is `IncompleteBody`.
    pub(crate) fn finish(&mut self) -> Result<(), S3Error> {
        let result = match self.state {
            State::Done => Ok(()),
            State::Trailer if self.line.is_empty() => self.end_of_trailer(),
            State::Failed => Err(rejected()),
            _ => Err(truncated()),
        };
        self.state = if result.is_ok() {
            State::Done
        } else {
            State::Failed
        };
        result
    }

    fn decode_inner<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, S3Error> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.state {
                State::Failed => return Err(rejected()),
                State::Done if rest.is_empty() => {
                    return Ok(Decoded {
                        consumed: pos,
                        data: &[],
                        done: true,
                    })
                }
                State::Done => {
                    return Err(framing(
                        "Unexpected data after the end of the aws-chunked body.",
                    ))
                }
                _ if rest.is_empty() => {
                    return Ok(Decoded {
                        consumed: pos,
                        data: &[],
                        done: false,
                    })
                }
                State::SizeLine | State::Trailer => pos += self.read_line(rest)?,
                State::Data => {
                    let data = self.take_data(rest)?;
                    return Ok(Decoded {
                        consumed: pos + data.len(),
                        data,
                        done: false,
                    });
                }
                State::DataCr | State::DataLf => {
                    let (want, next) = if self.state == State::DataCr {
                        (b'\r', State::DataLf)
                    } else {
                        (b'\n', State::SizeLine)
                    };
                    if rest[0] != want {
                        return Err(framing(
                            "An aws-chunked chunk's data is not followed by CRLF.",
                        ));
                    }
                    pos += 1;
                    self.state = next;
                }
            }
        }
    }

    /// Collects framing-line bytes from `rest` (non-empty) and, once a line is complete, acts on
    /// it. Returns how many bytes were used.
    fn read_line(&mut self, rest: &[u8]) -> Result<usize, S3Error> {
        let (used, complete) = self
            .line
            .fill(rest)
            .ok_or_else(|| framing("An aws-chunked framing line is too long."))?;
        if complete {
            let line = self
                .line
                .take()
                .ok_or_else(|| framing("An aws-chunked line does not end in CRLF."))?;
            if self.state == State::SizeLine {
                self.on_size_line(line.as_bytes())?;
            } else if self.trailer.on_line(line.as_bytes(), &self.config)? {
                self.end_of_trailer()?;
                self.state = State::Done;
            }
        }
        Ok(used)
    }

    /// Takes the current chunk's data from the start of `rest` (non-empty), hashing it when signed
    /// and checking the chunk's signature once its last byte has passed.
    fn take_data<'a>(&mut self, rest: &'a [u8]) -> Result<&'a [u8], S3Error> {
        // `chunk_remaining` ≤ MAX_CHUNK_SIZE, so the conversion only fails on tiny
        // targets, where taking all of `rest` is still bounded by the `min`.
        let take = usize::try_from(self.chunk_remaining).map_or(rest.len(), |r| r.min(rest.len()));
        let data = &rest[..take];
        if self.config.signed {
            self.chunk_hash.update(data);
        }
        self.chunk_remaining -= take as u64;
        self.produced += take as u64;
        if self.chunk_remaining == 0 {
            self.verify_chunk()?;
            self.state = State::DataCr;
        }
        Ok(data)
    }

    fn on_size_line(&mut self, line: &[u8]) -> Result<(), S3Error> {
        let parsed = parse_size_line(line, self.config.signed)?;
        if let Some(signature) = parsed.signature {
            self.chunk_signature = signature;
        }
        let size = parsed.size;
        let total = self
            .produced
            .checked_add(size)
            .ok_or_else(length_exceeded)?;
        if self.config.decoded_length.is_some_and(|d| total > d) {
            return Err(length_exceeded());
        }
        if size == 0 {
            if self
                .config
                .decoded_length
                .is_some_and(|d| self.produced != d)
            {
                return Err(length_short());
            }
            self.verify_chunk()?;
            self.state = State::Trailer;
        } else {
            self.chunk_remaining = size;
            self.state = State::Data;
        }
        Ok(())
    }

    /// Checks the signature of the chunk that just ended (no-op when unsigned).
    fn verify_chunk(&mut self) -> Result<(), S3Error> {
        if !self.config.signed {
            return Ok(());
        }
        let hash: [u8; 32] = self.chunk_hash.finalize_reset().into();
        let ok = match self.verifier.as_mut() {
            Some(v) => v.verify_chunk(&hash, &self.chunk_signature),
            None => false,
        };
        if ok {
            Ok(())
        } else {
            Err(bad_signature())
        }
    }

    /// Checks, at the end of the trailer section, that the declared trailer came and is signed.
    fn end_of_trailer(&mut self) -> Result<(), S3Error> {
        self.trailer.check_end(&self.config, self.verifier.as_mut())
    }
}

impl<V> std::fmt::Debug for AwsChunkedDecoder<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsChunkedDecoder")
            .field("config", &self.config)
            .field("state", &self.state)
            .field("produced", &self.produced)
            .field("chunk_remaining", &self.chunk_remaining)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
