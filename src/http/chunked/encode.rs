//! Chunk-size lines for sending a chunked body (the backend client's chunked uploads): each
//! formatted on the stack, no allocation.

/// Longest chunk-size line we produce: the CRLF ending the previous chunk's
/// data, 16 hex digits for a u64 and CRLF.
const CHUNK_HEADER_MAX: usize = 20;

/// A chunk-size line (`{hex}\r\n`, optionally after the CRLF that ends the
/// previous chunk's data) formatted on the stack.
#[derive(Debug, Clone, Copy)]
pub struct ChunkHeader {
    buf: [u8; CHUNK_HEADER_MAX],
    len: usize,
}

impl ChunkHeader {
    /// The size line for a chunk of `size` bytes. A size of 0 produces "0\r\n",
    /// the start of the last chunk: use [`LAST_CHUNK`] to end a body instead.
    pub fn new(size: u64) -> Self {
        Self::format(false, size)
    }

    /// The CRLF ending the previous chunk's data, then the size line for a
    /// chunk of `size` bytes: one write between two chunks.
    pub fn after_data(size: u64) -> Self {
        Self::format(true, size)
    }

    fn format(crlf_first: bool, size: u64) -> Self {
        let mut buf = [0u8; CHUNK_HEADER_MAX];
        let start = if crlf_first {
            buf[..2].copy_from_slice(b"\r\n");
            2
        } else {
            0
        };
        let digits = if size == 0 {
            1
        } else {
            (64 - size.leading_zeros() as usize).div_ceil(4)
        };
        for (k, slot) in buf[start..start + digits].iter_mut().enumerate() {
            let shift = 4 * (digits - 1 - k);
            *slot = b"0123456789abcdef"[((size >> shift) & 0xf) as usize];
        }
        let end = start + digits;
        buf[end..end + 2].copy_from_slice(b"\r\n");
        Self { buf, len: end + 2 }
    }

    /// The formatted line, CRLF included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The last chunk with an empty trailer section: ends a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The CRLF ending the previous chunk's data, then [`LAST_CHUNK`].
pub const LAST_CHUNK_AFTER_DATA: &[u8] = b"\r\n0\r\n\r\n";
