//! Framing lines of an `aws-chunked` body: collecting one line across reads into a fixed buffer,
//! and parsing a chunk-size line (`<hex-size>[;chunk-signature=<64 hex>]`).

use super::{bad_signature, framing, hex_signature, MAX_CHUNK_SIZE, MAX_CHUNK_SIZE_DIGITS};
use super::{MAX_LINE_LEN, SIGNATURE_HEX_LEN};
use crate::s3::error::S3Error;

/// A fixed-size buffer for one framing line, filled across calls.
#[derive(Clone, Copy)]
pub(super) struct LineBuf {
    buf: [u8; MAX_LINE_LEN],
    len: usize,
}

impl LineBuf {
    pub(super) const fn new() -> Self {
        LineBuf {
            buf: [0; MAX_LINE_LEN],
            len: 0,
        }
    }

    /// Whether nothing of a line has been collected (the decoder is at a line boundary).
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `input` up to and including the first `\n` (which is not stored). Returns how many
    /// bytes were consumed and whether the line is complete; `None` if it would exceed the limit.
    pub(super) fn fill(&mut self, input: &[u8]) -> Option<(usize, bool)> {
        let (consumed, stored, complete) = match input.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, i, true),
            None => (input.len(), input.len(), false),
        };
        let end = self
            .len
            .checked_add(stored)
            .filter(|&e| e <= MAX_LINE_LEN)?;
        self.buf[self.len..end].copy_from_slice(&input[..stored]);
        self.len = end;
        Some((consumed, complete))
    }

    /// The completed line without its CRLF, and resets the buffer. `None` if the line did not end in
    /// `\r\n` (a bare `\n`).
    pub(super) fn take(&mut self) -> Option<LineBuf> {
        let line = *self;
        self.len = 0;
        match line.buf[..line.len].last() {
            Some(b'\r') => Some(LineBuf {
                len: line.len - 1,
                ..line
            }),
            _ => None,
        }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A chunk-size line, parsed.
pub(super) struct SizeLine {
    /// The chunk's size, at most [`MAX_CHUNK_SIZE`].
    pub(super) size: u64,
    /// The `chunk-signature=` value; always `Some` when parsed for a signed body, `None` otherwise.
    pub(super) signature: Option<[u8; SIGNATURE_HEX_LEN]>,
}

/// Parses a chunk-size line (CRLF removed). A signed body's line must carry a well-formed
/// `chunk-signature=`; an unsigned body's chunk extensions mean nothing to S3 and are ignored.
pub(super) fn parse_size_line(line: &[u8], signed: bool) -> Result<SizeLine, S3Error> {
    let (size, ext) = match line.iter().position(|&b| b == b';') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    let size = parse_hex_size(size)
        .ok_or_else(|| framing("An aws-chunked chunk size is not valid hex."))?;
    if size > MAX_CHUNK_SIZE {
        return Err(framing(
            "An aws-chunked chunk is larger than this server accepts.",
        ));
    }
    let signature = if signed {
        let signature = ext
            .and_then(|e| e.strip_prefix(b"chunk-signature="))
            .ok_or_else(|| framing("A signed aws-chunked chunk has no chunk-signature."))?;
        Some(hex_signature(signature).ok_or_else(bad_signature)?)
    } else {
        None
    };
    Ok(SizeLine { size, signature })
}

/// Parses a chunk size: 1 to [`MAX_CHUNK_SIZE_DIGITS`] hex digits, nothing else (no sign, no
/// whitespace), so `u64` arithmetic cannot overflow.
fn parse_hex_size(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > MAX_CHUNK_SIZE_DIGITS {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        let digit = (b as char).to_digit(16)?;
        Some((acc << 4) | u64::from(digit))
    })
}
