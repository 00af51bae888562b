//! `Transfer-Encoding: chunked` (RFC 9112 §7.1), sans-IO.
//!
//! [`ChunkedDecoder`] decodes a chunked request body incrementally and
//! zero-copy: [`ChunkedDecoder::decode`] returns chunk data as a slice of the
//! caller's input, so body bytes are never copied here. It is a byte-wise
//! state machine over the framing (size lines, CRLFs, trailers), so the
//! output is identical however the input is split across reads and no line
//! buffer is needed for size lines; only the trailer section, which must be
//! kept for the caller, is copied into a reused, bounded buffer.
//!
//! Strictness (each a 400): non-hex or overflowing sizes, whitespace after
//! the size not followed by an extension, bare CR or LF, missing CRLF after
//! chunk data, over-long size lines, oversized or malformed trailers.
//!
//! The same decoder reads chunked backend responses; there the client moves
//! chunk data itself (from its read buffer or straight from the socket into
//! the caller's buffer) and lets the decoder see only the framing, through
//! [`ChunkedDecoder::decode_framing`], [`ChunkedDecoder::data_remaining`] and
//! [`ChunkedDecoder::advance_data`].
//!
//! For sending (the backend client's chunked uploads), [`ChunkHeader`] formats
//! a chunk-size line on the stack and [`LAST_CHUNK`] ends the body; they live
//! in `encode`, and the tests in `tests`.

mod encode;

pub use encode::{ChunkHeader, LAST_CHUNK, LAST_CHUNK_AFTER_DATA};

use super::limits::{MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES, MAX_TRAILER_HEADERS};
use super::syntax::is_token;
use super::HttpError;

/// One step of decoding: `consumed` input bytes were used (always > 0 for
/// non-empty input unless the body was already complete); `data` is body
/// bytes borrowed from the input (possibly empty); `done` means the body and
/// its trailer section are complete: bytes after `consumed` belong to the
/// next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Input bytes used by this step (framing plus `data`).
    pub consumed: usize,
    /// Decoded body bytes, a subslice of the input.
    pub data: &'a [u8],
    /// The last chunk and the trailer section have been read.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex chunk size.
    Size,
    /// After the size, whitespace seen: only more whitespace or ';' may follow.
    ExtBws,
    /// Inside chunk extensions (ignored) until CR.
    Ext,
    /// CR of the size line seen, LF expected.
    SizeLf,
    /// Chunk data remaining.
    Data(u64),
    /// Chunk data done, CR expected.
    DataCr,
    /// CR after chunk data seen, LF expected.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// CR of a trailer field line seen, LF expected.
    TrailerLf,
    /// CR of the final empty line seen, LF expected.
    EndLf,
    /// Body complete.
    Done,
    /// Framing error; sticky.
    Failed(HttpError),
}

/// A trailer field: byte ranges of name and value within `trailer`.
#[derive(Debug, Clone, Copy)]
struct TrailerField {
    name: (usize, usize),
    value: (usize, usize),
}

/// Incremental, zero-copy decoder of a chunked body; reusable via
/// [`reset`](Self::reset).
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    /// Chunk size being accumulated.
    size: u64,
    /// Hex digits seen in the current size.
    digits: usize,
    /// Bytes of the current size line so far (without CRLF).
    line_len: usize,
    /// Total body bytes returned so far.
    body_len: u64,
    /// Raw trailer field lines, each with its CRLF (reused).
    trailer: Vec<u8>,
    fields: Vec<TrailerField>,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self {
            state: State::Size,
            size: 0,
            digits: 0,
            line_len: 0,
            body_len: 0,
            trailer: Vec::new(),
            fields: Vec::new(),
        }
    }

    /// Prepares for a new body, keeping the trailer buffers' capacity.
    pub fn reset(&mut self) {
        self.state = State::Size;
        self.size = 0;
        self.digits = 0;
        self.line_len = 0;
        self.body_len = 0;
        self.trailer.clear();
        self.fields.clear();
    }

    /// Decodes from `input`. Call again with `input[consumed..]` (plus any
    /// newly read bytes) until `done`. Running out of input is normal: the
    /// step then consumes everything and returns no data. Errors are sticky.
    pub fn decode<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, HttpError> {
        self.run(input, true)
    }

    /// Like [`decode`](Self::decode), but stops where chunk data starts
    /// instead of returning it: only framing is consumed, `data` is always
    /// empty. For a caller that moves body bytes itself (straight from a
    /// socket into its own buffer, see [`data_remaining`](Self::data_remaining)).
    pub fn decode_framing<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, HttpError> {
        self.run(input, false)
    }

    /// Body bytes left in the current chunk while the decoder is inside chunk
    /// data, else 0. A caller may take up to this many body bytes from its
    /// input itself and report them with [`advance_data`](Self::advance_data).
    pub fn data_remaining(&self) -> u64 {
        match self.state {
            State::Data(remaining) => remaining,
            _ => 0,
        }
    }

    /// Records that the caller took `n` chunk data bytes itself; `n` is capped
    /// at [`data_remaining`](Self::data_remaining).
    pub fn advance_data(&mut self, n: u64) {
        if let State::Data(remaining) = self.state {
            let n = n.min(remaining);
            self.state = if n == remaining {
                State::DataCr
            } else {
                State::Data(remaining - n)
            };
            self.body_len = self.body_len.saturating_add(n);
        }
    }

    fn run<'a>(&mut self, input: &'a [u8], take_data: bool) -> Result<Decoded<'a>, HttpError> {
        let mut i = 0;
        loop {
            match self.state {
                State::Done => {
                    return Ok(Decoded {
                        consumed: i,
                        data: &[],
                        done: true,
                    })
                }
                State::Failed(e) => return Err(e),
                State::Data(_) if !take_data => break,
                State::Data(remaining) => {
                    let avail = &input[i..];
                    if avail.is_empty() {
                        break;
                    }
                    // min() with a usize-sized value, so the cast is lossless.
                    let n = remaining.min(avail.len() as u64) as usize;
                    self.advance_data(n as u64);
                    return Ok(Decoded {
                        consumed: i + n,
                        data: &avail[..n],
                        done: false,
                    });
                }
                _ => {
                    let Some(&b) = input.get(i) else { break };
                    i += 1;
                    if let Err(e) = self.step(b) {
                        self.state = State::Failed(e);
                        return Err(e);
                    }
                }
            }
        }
        Ok(Decoded {
            consumed: i,
            data: &[],
            done: false,
        })
    }

    /// Advances the framing state machine by one byte (never in `Data`).
    ///
    /// Long, but one arm per state of the byte-level grammar, each a few lines: the whole
    /// framing reads in one place, which split helpers would scatter.
    fn step(&mut self, b: u8) -> Result<(), HttpError> {
        match self.state {
            State::Size => {
                if let Some(d) = hex_value(b) {
                    self.size = self
                        .size
                        .checked_mul(16)
                        .map(|s| s | u64::from(d))
                        .ok_or(HttpError::bad_request("chunk size overflow"))?;
                    self.digits += 1;
                    return self.count_line_byte();
                }
                if self.digits == 0 {
                    return Err(HttpError::bad_request("invalid chunk size"));
                }
                match b {
                    b'\r' => self.state = State::SizeLf,
                    b';' => self.state = State::Ext,
                    b' ' | b'\t' => self.state = State::ExtBws,
                    _ => return Err(HttpError::bad_request("invalid chunk size")),
                }
                self.count_line_byte_unless_cr(b)?;
            }
            State::ExtBws => {
                match b {
                    b' ' | b'\t' => {}
                    b';' => self.state = State::Ext,
                    _ => return Err(HttpError::bad_request("invalid chunk extension")),
                }
                self.count_line_byte()?;
            }
            State::Ext => match b {
                b'\r' => self.state = State::SizeLf,
                // Extensions are ignored, but control bytes are not tolerated.
                b'\t' | 0x20..=0x7e | 0x80..=0xff => self.count_line_byte()?,
                _ => return Err(HttpError::bad_request("invalid chunk extension")),
            },
            State::SizeLf => {
                if b != b'\n' {
                    return Err(HttpError::bad_request("chunk size line without CRLF"));
                }
                self.state = if self.size == 0 {
                    State::TrailerStart
                } else {
                    State::Data(self.size)
                };
                self.size = 0;
                self.digits = 0;
                self.line_len = 0;
            }
            State::DataCr => {
                if b != b'\r' {
                    return Err(HttpError::bad_request("chunk data without CRLF"));
                }
                self.state = State::DataLf;
            }
            State::DataLf => {
                if b != b'\n' {
                    return Err(HttpError::bad_request("chunk data without CRLF"));
                }
                self.state = State::Size;
            }
            State::TrailerStart => {
                if b == b'\r' {
                    self.state = State::EndLf;
                } else {
                    check_trailer_byte(b)?;
                    self.push_trailer(b)?;
                    self.state = State::TrailerLine;
                }
            }
            State::TrailerLine => {
                check_trailer_byte(b)?;
                self.push_trailer(b)?;
                if b == b'\r' {
                    self.state = State::TrailerLf;
                }
            }
            State::TrailerLf => {
                if b != b'\n' {
                    return Err(HttpError::bad_request("bare CR in trailer"));
                }
                self.push_trailer(b)?;
                self.state = State::TrailerStart;
            }
            State::EndLf => {
                if b != b'\n' {
                    return Err(HttpError::bad_request("bare CR in trailer"));
                }
                self.parse_trailer()?;
                self.state = State::Done;
            }
            // Not reached: `decode` handles these without calling `step`.
            State::Data(_) | State::Done | State::Failed(_) => {}
        }
        Ok(())
    }

    fn count_line_byte(&mut self) -> Result<(), HttpError> {
        self.line_len += 1;
        if self.line_len > MAX_CHUNK_LINE_BYTES {
            return Err(HttpError::bad_request("chunk size line too long"));
        }
        Ok(())
    }

    fn count_line_byte_unless_cr(&mut self, b: u8) -> Result<(), HttpError> {
        if b == b'\r' {
            Ok(())
        } else {
            self.count_line_byte()
        }
    }

    fn push_trailer(&mut self, b: u8) -> Result<(), HttpError> {
        if self.trailer.len() >= MAX_TRAILER_BYTES {
            return Err(HttpError::bad_request("trailer section too large"));
        }
        self.trailer.push(b);
        Ok(())
    }

    /// Splits the collected trailer lines into validated fields.
    fn parse_trailer(&mut self) -> Result<(), HttpError> {
        let bad = HttpError::bad_request("malformed trailer field");
        self.fields.clear();
        let mut start = 0;
        while start < self.trailer.len() {
            let rel_end = self.trailer[start..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or(bad)?;
            let line_end = start + rel_end;
            let line = &self.trailer[start..line_end];
            let colon = line.iter().position(|&b| b == b':').ok_or(bad)?;
            let name = &line[..colon];
            // Also rejects obs-fold: a continuation line starts with SP/HTAB.
            if !is_token(name) {
                return Err(bad);
            }
            let (mut vs, mut ve) = (start + colon + 1, line_end);
            while vs < ve && matches!(self.trailer[vs], b' ' | b'\t') {
                vs += 1;
            }
            while ve > vs && matches!(self.trailer[ve - 1], b' ' | b'\t') {
                ve -= 1;
            }
            if self.trailer[vs..ve].contains(&b'\r') {
                return Err(bad);
            }
            if self.fields.len() >= MAX_TRAILER_HEADERS {
                return Err(HttpError::bad_request("too many trailer fields"));
            }
            self.fields.push(TrailerField {
                name: (start, start + colon),
                value: (vs, ve),
            });
            start = line_end + 2;
        }
        Ok(())
    }

    /// The body (last chunk and trailer section) is complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes returned so far (enforce body-size limits with this).
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// Trailer fields, available once [`is_done`](Self::is_done). Callers
    /// must not let trailers override framing or routing fields.
    pub fn trailers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(|f| {
            let name = self.trailer.get(f.name.0..f.name.1).unwrap_or_default();
            // Names were checked to be tokens (ASCII), so this never fails.
            let name = std::str::from_utf8(name).unwrap_or_default();
            let value = self.trailer.get(f.value.0..f.value.1).unwrap_or_default();
            (name, value)
        })
    }

    /// Value of the first trailer field called `name` (case-insensitive).
    pub fn trailer(&self, name: &str) -> Option<&[u8]> {
        self.trailers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// Bytes allowed in a trailer line (CR starts its end): LF only after CR
/// (handled in `TrailerLf`), no other control bytes except HTAB.
fn check_trailer_byte(b: u8) -> Result<(), HttpError> {
    if b == b'\n' || (b < 0x20 && b != b'\t' && b != b'\r') || b == 0x7f {
        return Err(HttpError::bad_request("invalid byte in trailer"));
    }
    Ok(())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Outcome of feeding a whole input in given pieces, used by the fuzz entry
/// point and tests: decoded body, total bytes consumed, done flag, or error.
type RunResult = Result<(Vec<u8>, usize, bool), HttpError>;

fn run_pieces(dec: &mut ChunkedDecoder, data: &[u8], cuts: &[usize]) -> RunResult {
    let mut out = Vec::new();
    let mut consumed = 0;
    // Simulated reads: the caller's buffer holds all bytes up to each cut
    // that have not been consumed yet.
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(consumed, data.len());
        while consumed < cut {
            let piece = &data[consumed..cut];
            let d = dec.decode(piece)?;
            assert!(d.consumed <= piece.len(), "consumed beyond input");
            assert!(d.data.len() <= d.consumed, "data beyond consumed");
            // Zero-copy: data lies inside the input.
            if !d.data.is_empty() {
                let off = d.data.as_ptr() as usize - piece.as_ptr() as usize;
                assert!(off + d.data.len() <= piece.len());
                assert_eq!(off + d.data.len(), d.consumed);
            }
            out.extend_from_slice(d.data);
            consumed += d.consumed;
            if d.done {
                return Ok((out, consumed, true));
            }
            assert!(d.consumed > 0, "no progress on non-empty input");
        }
    }
    Ok((out, consumed, dec.is_done()))
}

/// Like [`run_pieces`], but the caller moves chunk data itself, at most
/// `max_copy` bytes at a time, as the backend client does with
/// [`ChunkedDecoder::decode_framing`] and [`ChunkedDecoder::advance_data`].
fn run_pieces_moving_data(
    dec: &mut ChunkedDecoder,
    data: &[u8],
    cuts: &[usize],
    max_copy: usize,
) -> RunResult {
    let mut out = Vec::new();
    let mut consumed = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(consumed, data.len());
        while consumed < cut {
            let piece = &data[consumed..cut];
            let remaining = dec.data_remaining();
            if remaining > 0 {
                let n = piece.len().min(max_copy.max(1));
                let n = usize::try_from(remaining).map_or(n, |r| r.min(n));
                out.extend_from_slice(&piece[..n]);
                dec.advance_data(n as u64);
                consumed += n;
                continue;
            }
            let d = dec.decode_framing(piece)?;
            assert!(d.data.is_empty(), "decode_framing returned data");
            assert!(d.consumed <= piece.len(), "consumed beyond input");
            consumed += d.consumed;
            if d.done {
                return Ok((out, consumed, true));
            }
            assert!(
                d.consumed > 0 || dec.data_remaining() > 0,
                "no progress on non-empty input"
            );
        }
    }
    Ok((out, consumed, dec.is_done()))
}

/// Fuzz entry point (for a cargo-fuzz target): decodes arbitrary bytes in
/// one piece, byte by byte and at input-derived split points, asserting the
/// results agree and the zero-copy/progress invariants hold.
pub fn fuzz_decode_chunked(data: &[u8]) {
    let mut dec = ChunkedDecoder::new();
    let whole = run_pieces(&mut dec, data, &[]);
    let whole_trailers: Vec<(String, Vec<u8>)> = dec
        .trailers()
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect();
    if let Ok((body, _, _)) = &whole {
        assert_eq!(dec.body_len(), body.len() as u64);
    }

    dec.reset();
    let cuts: Vec<usize> = (0..data.len()).collect();
    assert_eq!(
        run_pieces(&mut dec, data, &cuts),
        whole,
        "byte-wise split differs"
    );

    dec.reset();
    let mut cuts = Vec::new();
    let mut pos = 0usize;
    for &b in data.iter().take(64) {
        pos += usize::from(b % 17) + 1;
        cuts.push(pos);
    }
    assert_eq!(
        run_pieces(&mut dec, data, &cuts),
        whole,
        "random split differs"
    );
    let trailers: Vec<(String, Vec<u8>)> = dec
        .trailers()
        .map(|(n, v)| (n.to_string(), v.to_vec()))
        .collect();
    assert_eq!(trailers, whole_trailers);

    // The caller moving chunk data itself, in small copies, sees the same.
    dec.reset();
    let max_copy = usize::from(data.first().copied().unwrap_or(0) % 13) + 1;
    assert_eq!(
        run_pieces_moving_data(&mut dec, data, &cuts, max_copy),
        whole,
        "caller-moved data differs"
    );
    if whole.is_ok() {
        assert_eq!(
            dec.body_len(),
            whole.as_ref().map_or(0, |w| w.0.len() as u64)
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests;
