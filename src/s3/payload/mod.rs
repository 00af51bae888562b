//! Turning an S3 request body into verified object bytes, without doing any I/O.
//!
//! The HTTP layer hands over the body (HTTP `Transfer-Encoding: chunked` already removed) in
//! whatever pieces the socket delivers. [`PayloadVerifier`] decodes `aws-chunked` framing when
//! present (`AwsChunkedDecoder`), checks chunk and trailer signatures through a
//! [`ChunkVerifier`], and hashes the object bytes for `x-amz-content-sha256`, `Content-MD5` and the
//! `x-amz-checksum-*` header or trailer. Object bytes are borrowed from the input (zero-copy) and
//! nothing is allocated per request.
//!
//! # Contract for callers
//!
//! 1. Loop: `let d = verifier.feed(input)?;` write `d.data` onward, continue with
//!    `&input[d.consumed..]`; when that is empty, read more from the socket. `consumed` is less than
//!    the input length only when `data` is non-empty, so the loop always progresses and never needs
//!    to buffer anything itself.
//! 2. At end of body call `PayloadVerifier::finish` and only then decide the outcome.
//! 3. **Bytes produced by `feed` are NOT verified yet.** A signature, SHA-256, MD5 or checksum
//!    failure may only be discovered by a later `feed` or by `finish`. The caller must not let the
//!    object become visible before `finish` returns `Ok`: e.g. stream into a temporary file and only
//!    rename it afterwards, or withhold the final byte(s) from the backend upload (or not complete
//!    the multipart part) until then, and abort the backend request on any error. Any error means the
//!    whole body is rejected; decoding state after an error is poisoned.

pub(crate) mod aws_chunked;
pub(crate) mod checksum;
pub(crate) mod verifier;

pub(crate) use aws_chunked::{AwsChunkedDecoder, ChunkedConfig};
// `pub`: what `pub` items elsewhere name (`proxy::auth` re-exports `BodyVerifier`, the server's
// body reader returns a `PayloadSummary`) and the types of `PayloadSummary`'s fields.
pub use checksum::{ChecksumAlgorithm, ChecksumValue};
pub(crate) use verifier::{PayloadEncoding, PayloadSpec};
pub use verifier::{PayloadSummary, PayloadVerifier};

/// The verifier a request body is read through: its chunk signatures checked by whichever
/// verifier the request's signing form needs.
pub type BodyVerifier = PayloadVerifier<Box<dyn ChunkVerifier>>;

use crate::s3::auth::ChunkVerifier;
use sha2::{Digest as _, Sha256};

/// One step of decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decoded<'a> {
    /// How many input bytes were used; continue with `&input[consumed..]`.
    pub consumed: usize,
    /// Object bytes, borrowed from the input (the last `data.len()` bytes of the consumed part).
    /// May be empty. Not verified yet: see the module contract.
    pub data: &'a [u8],
    /// The end of the body was recognised (always `false` for a plain body of unknown length).
    pub done: bool,
}

/// Placeholder verifier type for unsigned bodies; rejects everything, so a configuration mistake
/// fails closed.
// `pub`: the default type parameter of the `pub` `PayloadVerifier`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoChunkVerifier;

impl ChunkVerifier for NoChunkVerifier {
    fn verify_chunk(&mut self, _: &[u8; 32], _: &[u8]) -> bool {
        false
    }
    fn verify_trailer(&mut self, _: &[u8], _: &[u8]) -> bool {
        false
    }
}

// Let callers pass a borrowed or boxed (e.g. `Box<dyn ChunkVerifier>`) verifier.
impl<T: ChunkVerifier + ?Sized> ChunkVerifier for &mut T {
    fn verify_chunk(&mut self, chunk_sha256: &[u8; 32], signature_hex: &[u8]) -> bool {
        (**self).verify_chunk(chunk_sha256, signature_hex)
    }
    fn verify_trailer(&mut self, trailer: &[u8], signature_hex: &[u8]) -> bool {
        (**self).verify_trailer(trailer, signature_hex)
    }
}

impl<T: ChunkVerifier + ?Sized> ChunkVerifier for Box<T> {
    fn verify_chunk(&mut self, chunk_sha256: &[u8; 32], signature_hex: &[u8]) -> bool {
        (**self).verify_chunk(chunk_sha256, signature_hex)
    }
    fn verify_trailer(&mut self, trailer: &[u8], signature_hex: &[u8]) -> bool {
        (**self).verify_trailer(trailer, signature_hex)
    }
}

/// A keyless stand-in for SigV4 chunk signing, for tests and fuzzing: each signature is
/// `hex(SHA-256(previous signature bytes ‖ kind ‖ payload hash))`, chained like SigV4, so dropped,
/// reordered or altered chunks fail exactly as they would with real signatures.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FakeChunkVerifier {
    previous: [u8; 32],
    /// When set, every signature is accepted (lets a fuzzer reach the states behind signatures).
    pub accept_all: bool,
}

impl FakeChunkVerifier {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        FakeChunkVerifier {
            previous: seed,
            accept_all: false,
        }
    }

    /// The signature the next chunk must carry, and advances the chain (the signing side).
    #[cfg(test)]
    pub(crate) fn sign_chunk(&mut self, chunk_sha256: &[u8; 32]) -> [u8; 64] {
        self.sign(b'C', chunk_sha256)
    }

    /// The signature the trailer must carry, and advances the chain (the signing side).
    #[cfg(test)]
    pub(crate) fn sign_trailer(&mut self, trailer: &[u8]) -> [u8; 64] {
        let h: [u8; 32] = Sha256::digest(trailer).into();
        self.sign(b'T', &h)
    }

    fn sign(&mut self, kind: u8, hash: &[u8; 32]) -> [u8; 64] {
        let mut h = Sha256::new();
        h.update(self.previous);
        h.update([kind]);
        h.update(hash);
        self.previous = h.finalize().into();
        let mut out = [0u8; 64];
        // 32 bytes always fit 64 hex characters.
        let _ = hex::encode_to_slice(self.previous, &mut out);
        out
    }

    fn check(&mut self, kind: u8, hash: &[u8; 32], signature_hex: &[u8]) -> bool {
        if self.accept_all {
            return true;
        }
        let mut next = *self;
        let expected = next.sign(kind, hash);
        if expected.as_slice() == signature_hex {
            *self = next;
            true
        } else {
            false
        }
    }
}

impl ChunkVerifier for FakeChunkVerifier {
    fn verify_chunk(&mut self, chunk_sha256: &[u8; 32], signature_hex: &[u8]) -> bool {
        self.check(b'C', chunk_sha256, signature_hex)
    }
    fn verify_trailer(&mut self, trailer: &[u8], signature_hex: &[u8]) -> bool {
        let h: [u8; 32] = Sha256::digest(trailer).into();
        self.check(b'T', &h, signature_hex)
    }
}

/// Tiny deterministic PRNG for split patterns (fuzzing and tests): no dependency, no global state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SplitRng(u64);

impl SplitRng {
    pub(crate) fn new(seed: u64) -> Self {
        SplitRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A piece length in `1..=max` (max ≥ 1).
    pub(crate) fn next_len(&mut self, max: usize) -> usize {
        // xorshift64
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x % max.max(1) as u64) as usize + 1
    }
}

/// Feeds `body` to `decoder` in pieces of at most `max_piece` bytes (random lengths from `seed`),
/// appending object bytes to `out`, then calls `finish`. Panics if an API invariant is broken; the
/// returned `Result` is the decoder's verdict. Used by tests and fuzz targets.
pub(crate) fn drive_decoder<V: ChunkVerifier>(
    decoder: &mut AwsChunkedDecoder<V>,
    body: &[u8],
    seed: u64,
    max_piece: usize,
    out: &mut Vec<u8>,
) -> Result<(), crate::s3::error::S3Error> {
    let mut rng = SplitRng::new(seed);
    let decoded_length = decoder.config().decoded_length;
    let mut rest = body;
    while !rest.is_empty() {
        let piece = &rest[..rng.next_len(max_piece).min(rest.len())];
        rest = &rest[piece.len()..];
        let mut input = piece;
        while !input.is_empty() {
            let d = decoder.decode(input)?;
            check_step(input, &d);
            out.extend_from_slice(d.data);
            assert_eq!(
                decoder.produced(),
                out.len() as u64,
                "produced() out of step"
            );
            if let Some(limit) = decoded_length {
                assert!(
                    out.len() as u64 <= limit,
                    "output exceeds the declared length"
                );
            }
            input = &input[d.consumed..];
            if d.done {
                assert!(input.is_empty(), "done with input left over but no error");
            }
        }
    }
    decoder.finish()?;
    assert!(decoder.is_done());
    if let Some(limit) = decoded_length {
        assert_eq!(
            out.len() as u64,
            limit,
            "finished Ok with a length other than declared"
        );
    }
    Ok(())
}

/// The per-call invariants of [`Decoded`].
fn check_step(input: &[u8], d: &Decoded<'_>) {
    assert!(d.consumed <= input.len(), "consumed more than given");
    assert!(d.data.len() <= d.consumed, "data longer than consumed");
    let tail = &input[d.consumed - d.data.len()..d.consumed];
    assert!(
        std::ptr::eq(tail.as_ptr(), d.data.as_ptr()) || d.data.is_empty(),
        "data is not the tail of the consumed input"
    );
    if d.data.is_empty() && !d.done {
        assert_eq!(
            d.consumed,
            input.len(),
            "stopped early without producing data"
        );
    }
    assert!(d.consumed > 0 || input.is_empty(), "no progress");
}

/// Builds a decoder configuration from a fuzz input's first bytes; returns it and the body.
fn fuzz_config(data: &[u8]) -> Option<(ChunkedConfig, bool, u64, usize, &[u8])> {
    let [flags, seed, len_hi, len_lo, body @ ..] = data else {
        return None;
    };
    let trailer = match (flags >> 1) & 7 {
        1 => Some(ChecksumAlgorithm::Crc32),
        2 => Some(ChecksumAlgorithm::Crc32c),
        3 => Some(ChecksumAlgorithm::Crc64Nvme),
        4 => Some(ChecksumAlgorithm::Sha1),
        5 => Some(ChecksumAlgorithm::Sha256),
        _ => None,
    };
    let decoded_length =
        (flags & 0x10 != 0).then_some(u64::from(u16::from_be_bytes([*len_hi, *len_lo])));
    let config = ChunkedConfig {
        signed: flags & 1 != 0,
        trailer,
        decoded_length,
    };
    let accept_all = flags & 0x20 != 0;
    let max_piece = if flags & 0x40 != 0 {
        1
    } else {
        usize::from(*seed) + 1
    };
    Some((config, accept_all, u64::from(*seed), max_piece, body))
}

/// cargo-fuzz entry point for `AwsChunkedDecoder`: arbitrary bytes, a configuration taken from
/// the first four, random splits. Panics only if an invariant is broken: output never exceeds the
/// declared length, `Decoded` is self-consistent, the verdict and output do not depend on how the
/// input was split, and a successful body has exactly the declared length.
pub fn fuzz_aws_chunked(data: &[u8]) {
    let Some((config, accept_all, seed, max_piece, body)) = fuzz_config(data) else {
        return;
    };
    let mut verifier = FakeChunkVerifier::new([0; 32]);
    verifier.accept_all = accept_all;
    let run = |seed: u64, max_piece: usize| {
        let mut out = Vec::new();
        let mut dec = AwsChunkedDecoder::new(config, Some(verifier)).ok()?;
        let verdict = drive_decoder(&mut dec, body, seed, max_piece, &mut out);
        let trailer = dec.trailer_checksum().map(|(a, v)| (a, v.to_owned()));
        Some((verdict.map_err(|e| e.code), out, trailer))
    };
    let split = run(seed, max_piece);
    let whole = run(0, body.len().max(1));
    match (&split, &whole) {
        (Some((Ok(()), a, ta)), Some((Ok(()), b, tb))) => {
            assert_eq!(a, b, "output depends on the split");
            assert_eq!(ta, tb, "trailer depends on the split");
            if config.trailer.is_some() {
                assert!(
                    ta.is_some(),
                    "declared trailer missing from a successful body"
                );
            }
        }
        (Some((a, _, _)), Some((b, _, _))) => assert_eq!(
            a.as_ref().err(),
            b.as_ref().err(),
            "verdict depends on the split"
        ),
        _ => unreachable!("config with a verifier always builds"),
    }
}

/// cargo-fuzz entry point for [`PayloadVerifier`]: like [`fuzz_aws_chunked`], plus a plain-body mode
/// and Content-MD5 / checksum headers chosen by the fuzz input. Must never panic.
pub fn fuzz_payload_verifier(data: &[u8]) {
    let Some((config, accept_all, seed, max_piece, body)) = fuzz_config(data) else {
        return;
    };
    let flags = data[0];
    let mode = if flags & 0x80 != 0 {
        PayloadEncoding::Plain {
            expected_sha256: (seed & 1 == 1).then(|| Sha256::digest(body).into()),
        }
    } else {
        PayloadEncoding::AwsChunked {
            signed: config.signed,
            trailer: config.trailer,
        }
    };
    let crc_header = checksum::Checksummer::digest(ChecksumAlgorithm::Crc32, body).to_b64();
    let spec = PayloadSpec {
        mode,
        decoded_length: config.decoded_length,
        content_md5: (seed & 2 == 2).then_some("1B2M2Y8AsgTpgAmY7PhCfg=="),
        checksum_header: (seed & 4 == 4 && config.trailer.is_none())
            .then_some((ChecksumAlgorithm::Crc32, crc_header.as_str())),
        want_md5: seed & 8 == 8,
        want_checksum: (seed & 16 == 16).then_some(ChecksumAlgorithm::Crc64Nvme),
    };
    let mut verifier = FakeChunkVerifier::new([0; 32]);
    verifier.accept_all = accept_all;
    let Ok(mut pv) = PayloadVerifier::new(spec, Some(verifier)) else {
        return;
    };
    let mut rng = SplitRng::new(seed);
    let mut rest = body;
    let mut total = 0u64;
    while !rest.is_empty() {
        let piece = &rest[..rng.next_len(max_piece).min(rest.len())];
        rest = &rest[piece.len()..];
        let mut input = piece;
        while !input.is_empty() {
            let Ok(d) = pv.feed(input) else {
                return;
            };
            check_step(input, &d);
            total += d.data.len() as u64;
            if let Some(limit) = config.decoded_length {
                assert!(total <= limit, "output exceeds the declared length");
            }
            input = &input[d.consumed..];
        }
    }
    if let Ok(summary) = pv.finish() {
        assert_eq!(summary.length, total);
        if let Some(limit) = config.decoded_length {
            assert_eq!(summary.length, limit);
        }
        assert_eq!(summary.md5.is_some(), seed & 10 != 0);
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Encoders for building aws-chunked bodies in tests.
    use super::*;

    /// Encodes `chunks` as a signed body (signatures from `signer`), with an optional trailer given
    /// as raw `name:value` lines and the closing CRLF optional.
    pub(crate) fn encode_signed(
        signer: &mut FakeChunkVerifier,
        chunks: &[&[u8]],
        trailer: Option<&[(&str, &str)]>,
        closing_crlf: bool,
    ) -> Vec<u8> {
        let mut body = Vec::new();
        for chunk in chunks.iter().copied().chain(std::iter::once(&b""[..])) {
            let sig = signer.sign_chunk(&Sha256::digest(chunk).into());
            body.extend_from_slice(format!("{:x};chunk-signature=", chunk.len()).as_bytes());
            body.extend_from_slice(&sig);
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(chunk);
            if !chunk.is_empty() {
                body.extend_from_slice(b"\r\n");
            }
        }
        match trailer {
            None => {
                if closing_crlf {
                    body.extend_from_slice(b"\r\n");
                }
            }
            Some(lines) => {
                let mut canonical = Vec::new();
                for (name, value) in lines {
                    body.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
                    canonical.extend_from_slice(
                        format!("{}:{}\n", name.to_ascii_lowercase(), value.trim()).as_bytes(),
                    );
                }
                let sig = signer.sign_trailer(&canonical);
                body.extend_from_slice(b"x-amz-trailer-signature:");
                body.extend_from_slice(&sig);
                body.extend_from_slice(b"\r\n");
                if closing_crlf {
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        body
    }

    /// Encodes `chunks` unsigned, with trailer lines and an optional closing CRLF.
    pub(crate) fn encode_unsigned(
        chunks: &[&[u8]],
        trailer: &[(&str, &str)],
        closing_crlf: bool,
    ) -> Vec<u8> {
        let mut body = Vec::new();
        for chunk in chunks {
            body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\n");
        for (name, value) in trailer {
            body.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        }
        if closing_crlf {
            body.extend_from_slice(b"\r\n");
        }
        body
    }

    /// A pseudo-random body of `len` bytes.
    pub(crate) fn body_bytes(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = SplitRng::new(seed);
        (0..len).map(|_| (rng.next_len(256) - 1) as u8).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn fake_verifier_chains() {
        let mut signer = FakeChunkVerifier::new([7; 32]);
        let mut checker = FakeChunkVerifier::new([7; 32]);
        let h1 = [1u8; 32];
        let h2 = [2u8; 32];
        let s1 = signer.sign_chunk(&h1);
        let s2 = signer.sign_chunk(&h2);
        assert!(!checker.verify_chunk(&h2, &s2), "out of order");
        assert!(checker.verify_chunk(&h1, &s1));
        assert!(!checker.verify_chunk(&h1, &s1), "replayed");
        assert!(checker.verify_chunk(&h2, &s2));
        let t = signer.sign_trailer(b"x:y\n");
        assert!(!checker.verify_trailer(b"x:z\n", &t));
        assert!(checker.verify_trailer(b"x:y\n", &t));
    }

    #[test]
    fn fuzz_entry_points_survive_assorted_inputs() {
        let mut signer = FakeChunkVerifier::new([0; 32]);
        let good = encode_signed(&mut signer, &[b"hello", b" world"], None, true);
        let unsigned = encode_unsigned(&[b"abc"], &[("x-amz-checksum-crc32", "NSRBwg==")], true);
        let mut inputs: Vec<Vec<u8>> = vec![vec![], vec![0; 3], vec![0xff; 64]];
        for flags in [0x00u8, 0x01, 0x11, 0x21, 0x41, 0x02, 0x12, 0x80, 0x90, 0xff] {
            for body in [&good, &unsigned] {
                for seed in [0u8, 1, 5, 200] {
                    let mut input = vec![flags, seed, 0, 11];
                    input.extend_from_slice(body);
                    inputs.push(input.clone());
                    input.truncate(input.len() / 2);
                    inputs.push(input);
                }
            }
        }
        let mut rng = SplitRng::new(42);
        for _ in 0..200 {
            let len = rng.next_len(120);
            let alphabet = b"0123456789abcdef;=\r\n:xX";
            inputs.push(
                (0..len)
                    .map(|_| alphabet[rng.next_len(alphabet.len()) - 1])
                    .collect(),
            );
        }
        for input in &inputs {
            fuzz_aws_chunked(input);
            fuzz_payload_verifier(input);
        }
    }

    #[test]
    fn boxed_and_borrowed_verifiers_work() {
        let mut signer = FakeChunkVerifier::new([3; 32]);
        let body = encode_signed(&mut signer, &[b"data"], None, true);
        let config = ChunkedConfig {
            signed: true,
            trailer: None,
            decoded_length: Some(4),
        };
        let boxed: Box<dyn ChunkVerifier> = Box::new(FakeChunkVerifier::new([3; 32]));
        let mut dec = AwsChunkedDecoder::new(config, Some(boxed)).unwrap();
        let mut out = Vec::new();
        drive_decoder(&mut dec, &body, 1, 3, &mut out).unwrap();
        assert_eq!(out, b"data");
        let mut inner = FakeChunkVerifier::new([3; 32]);
        let mut dec = AwsChunkedDecoder::new(config, Some(&mut inner)).unwrap();
        out.clear();
        drive_decoder(&mut dec, &body, 1, 3, &mut out).unwrap();
        assert_eq!(out, b"data");
    }
}
