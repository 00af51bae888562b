//! [`PayloadVerifier`]: everything one request body must satisfy, checked while it streams.
//!
//! It composes the `aws-chunked` decoder (when the body is chunked) with the hashes the request
//! asked for: the hex `x-amz-content-sha256` of a plain body, `Content-MD5`, one `x-amz-checksum-*`
//! header or trailer, plus an MD5 and/or checksum the server wants for itself (ETag, end-to-end
//! integrity). Only the hashes that are needed are computed. The caller contract (nothing produced
//! by `feed` is verified before `finish` returns `Ok`) is in [`crate::s3::payload`].

use sha2::{Digest as _, Sha256};

use super::aws_chunked::{AwsChunkedDecoder, ChunkedConfig};
use super::checksum::{
    parse_content_md5, ChecksumAlgorithm, ChecksumValue, Checksummer, Md5Hasher,
};
use super::{Decoded, NoChunkVerifier};
use crate::s3::auth::ChunkVerifier;
use crate::s3::error::{S3Error, S3ErrorCode};

/// How the body is framed and authenticated, from `x-amz-content-sha256` and `Content-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadEncoding {
    /// The body is the object. `expected_sha256` is the decoded hex `x-amz-content-sha256` when it is
    /// a hash (`None` for `UNSIGNED-PAYLOAD` or unauthenticated requests).
    Plain { expected_sha256: Option<[u8; 32]> },
    /// `Content-Encoding: aws-chunked`. `signed` for `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`;
    /// `trailer` is the checksum named by `x-amz-trailer`.
    AwsChunked {
        signed: bool,
        trailer: Option<ChecksumAlgorithm>,
    },
}

/// What one request says about its body. Header values are borrowed from the request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PayloadSpec<'h> {
    pub mode: PayloadEncoding,
    /// Exact object length: `x-amz-decoded-content-length` for aws-chunked, `Content-Length` for plain.
    pub decoded_length: Option<u64>,
    /// `Content-MD5` as sent (base64); malformed is `InvalidDigest` at construction.
    pub content_md5: Option<&'h str>,
    /// One `x-amz-checksum-<alg>` header and its base64 value; malformed is `InvalidRequest`.
    pub checksum_header: Option<(ChecksumAlgorithm, &'h str)>,
    /// Compute the MD5 even without `Content-MD5` (for the ETag).
    pub want_md5: bool,
    /// Compute this checksum when the client sent none (header or trailer). If the client did send
    /// one, its algorithm is computed instead and reported in the summary.
    pub want_checksum: Option<ChecksumAlgorithm>,
}

/// The verified facts about a body that passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadSummary {
    /// Object bytes.
    pub length: u64,
    /// MD5 of the object, when `Content-MD5` was sent or `want_md5` was set.
    pub md5: Option<[u8; 16]>,
    /// The checksum of the object (the client's algorithm, else `want_checksum`'s), raw bytes.
    pub checksum: Option<(ChecksumAlgorithm, ChecksumValue)>,
}

// Kept inline on purpose: boxing the decoder would cost a heap allocation per request, and the
// verifier lives once per request anyway.
#[allow(clippy::large_enum_variant)]
enum Body<V> {
    Plain,
    Chunked(AwsChunkedDecoder<V>),
}

/// Streaming verifier for one request body. `V` checks chunk signatures of signed aws-chunked
/// bodies; unsigned bodies can use the default [`NoChunkVerifier`] with `None`.
pub struct PayloadVerifier<V = NoChunkVerifier> {
    body: Body<V>,
    decoded_length: Option<u64>,
    length: u64,
    /// Plain body with a hex `x-amz-content-sha256`: the running hash and the expected value.
    sha256: Option<(Sha256, [u8; 32])>,
    md5: Option<Md5Hasher>,
    expected_md5: Option<[u8; 16]>,
    checksum: Option<Checksummer>,
    /// The value of the checksum header (a trailer's value is only known at the end).
    expected_checksum: Option<ChecksumValue>,
    failed: bool,
}

fn length_mismatch() -> S3Error {
    S3Error::new(S3ErrorCode::IncompleteBody)
}

impl<V: ChunkVerifier> PayloadVerifier<V> {
    /// Validates the request's digest headers and prepares the hashers. `verifier` is required for
    /// a signed aws-chunked body (its absence is `InternalError`) and ignored otherwise.
    pub(crate) fn new(spec: PayloadSpec<'_>, verifier: Option<V>) -> Result<Self, S3Error> {
        let expected_md5 = spec.content_md5.map(parse_content_md5).transpose()?;
        let expected_checksum = match spec.checksum_header {
            Some((alg, value)) => {
                Some(alg.decode_b64(value.trim().as_bytes()).ok_or_else(|| {
                    S3Error::with_message(S3ErrorCode::InvalidRequest, alg.invalid_header_message())
                })?)
            }
            None => None,
        };
        let (body, sha256, trailer) = match spec.mode {
            PayloadEncoding::Plain { expected_sha256 } => (
                Body::Plain,
                expected_sha256.map(|e| (Sha256::new(), e)),
                None,
            ),
            PayloadEncoding::AwsChunked { signed, trailer } => {
                let config = ChunkedConfig {
                    signed,
                    trailer,
                    decoded_length: spec.decoded_length,
                };
                let verifier = if signed { verifier } else { None };
                (
                    Body::Chunked(AwsChunkedDecoder::new(config, verifier)?),
                    None,
                    trailer,
                )
            }
        };
        if trailer.is_some() && spec.checksum_header.is_some() {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
            ));
        }
        let algorithm = trailer
            .or(spec.checksum_header.map(|(alg, _)| alg))
            .or(spec.want_checksum);
        Ok(PayloadVerifier {
            body,
            decoded_length: spec.decoded_length,
            length: 0,
            sha256,
            md5: (spec.want_md5 || expected_md5.is_some()).then(Md5Hasher::new),
            expected_md5,
            checksum: algorithm.map(Checksummer::new),
            expected_checksum,
            failed: false,
        })
    }

    /// Stops computing the object's MD5 when nothing needs it: no `Content-MD5` to check and the
    /// caller found that the backend makes its own ETag. Only before the first body byte (else the
    /// digest would be of a suffix); returns whether the MD5 is now off.
    // `pub`: `server::body`'s public documentation links here.
    pub fn skip_md5(&mut self) -> bool {
        if self.length == 0 && self.expected_md5.is_none() {
            self.md5 = None;
        }
        self.md5.is_none()
    }

    /// Decodes and hashes the next piece of body. Same stepping rules as
    /// [`AwsChunkedDecoder::decode`]; for a plain body all input is passed through at once and `done`
    /// turns true when the declared length is reached. Produced bytes are NOT verified yet.
    pub(crate) fn feed<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, S3Error> {
        if self.failed {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The request body was already rejected.",
            ));
        }
        let result = self.feed_inner(input);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn feed_inner<'a>(&mut self, input: &'a [u8]) -> Result<Decoded<'a>, S3Error> {
        let decoded = match &mut self.body {
            Body::Plain => {
                let total = self
                    .length
                    .checked_add(input.len() as u64)
                    .ok_or_else(length_mismatch)?;
                if self.decoded_length.is_some_and(|d| total > d) {
                    return Err(length_mismatch());
                }
                Decoded {
                    consumed: input.len(),
                    data: input,
                    done: self.decoded_length == Some(total),
                }
            }
            Body::Chunked(decoder) => decoder.decode(input)?,
        };
        let data = decoded.data;
        if !data.is_empty() {
            if let Some((h, _)) = &mut self.sha256 {
                h.update(data);
            }
            if let Some(h) = &mut self.md5 {
                h.update(data);
            }
            if let Some(h) = &mut self.checksum {
                h.update(data);
            }
            self.length += data.len() as u64;
        }
        Ok(decoded)
    }

    /// Call at end of body. `Ok` means every check passed and the object may be committed.
    pub(crate) fn finish(self) -> Result<PayloadSummary, S3Error> {
        if self.failed {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "The request body was already rejected.",
            ));
        }
        let mut expected_checksum = self.expected_checksum;
        if let Body::Chunked(mut decoder) = self.body {
            decoder.finish()?;
            if let Some((alg, value)) = decoder.trailer_checksum() {
                let v = alg.decode_b64(value.as_bytes()).ok_or_else(|| {
                    S3Error::with_message(
                        S3ErrorCode::InvalidRequest,
                        alg.invalid_trailer_message(),
                    )
                })?;
                expected_checksum = Some(v);
            }
        }
        if self.decoded_length.is_some_and(|d| d != self.length) {
            return Err(length_mismatch());
        }
        if let Some((h, expected)) = self.sha256 {
            let got: [u8; 32] = h.finalize().into();
            if got != expected {
                return Err(S3Error::new(S3ErrorCode::XAmzContentSHA256Mismatch));
            }
        }
        let md5 = self.md5.map(Md5Hasher::finish);
        if let (Some(expected), Some(got)) = (self.expected_md5, md5) {
            if expected != got {
                return Err(S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    "The Content-MD5 you specified did not match what we received.",
                ));
            }
        }
        let checksum = match self.checksum {
            Some(c) => {
                let alg = c.algorithm();
                let got = c.finish();
                if expected_checksum.is_some_and(|e| e != got) {
                    return Err(S3Error::with_message(
                        S3ErrorCode::BadDigest,
                        alg.mismatch_message(),
                    ));
                }
                Some((alg, got))
            }
            None => None,
        };
        Ok(PayloadSummary {
            length: self.length,
            md5,
            checksum,
        })
    }
}

impl<V> std::fmt::Debug for PayloadVerifier<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadVerifier")
            .field("chunked", &matches!(self.body, Body::Chunked(_)))
            .field("length", &self.length)
            .field("decoded_length", &self.decoded_length)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::s3::payload::test_support::*;
    use crate::s3::payload::{FakeChunkVerifier, SplitRng};
    use hmac::{Hmac, Mac};

    const SEED: [u8; 32] = [5; 32];

    fn spec(mode: PayloadEncoding, len: Option<u64>) -> PayloadSpec<'static> {
        PayloadSpec {
            mode,
            decoded_length: len,
            content_md5: None,
            checksum_header: None,
            want_md5: false,
            want_checksum: None,
        }
    }

    const PLAIN: PayloadEncoding = PayloadEncoding::Plain {
        expected_sha256: None,
    };

    fn run_with<V: ChunkVerifier>(
        spec: PayloadSpec<'_>,
        verifier: Option<V>,
        body: &[u8],
        seed: u64,
        max_piece: usize,
    ) -> Result<(Vec<u8>, PayloadSummary), S3Error> {
        let mut pv = PayloadVerifier::new(spec, verifier)?;
        let mut rng = SplitRng::new(seed);
        let mut out = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            let piece = &rest[..rng.next_len(max_piece).min(rest.len())];
            rest = &rest[piece.len()..];
            let mut input = piece;
            while !input.is_empty() {
                let d = pv.feed(input)?;
                out.extend_from_slice(d.data);
                input = &input[d.consumed..];
            }
        }
        let summary = pv.finish()?;
        assert_eq!(summary.length, out.len() as u64);
        Ok((out, summary))
    }

    fn run(spec: PayloadSpec<'_>, body: &[u8]) -> Result<PayloadSummary, S3ErrorCode> {
        let whole = run_with(
            spec,
            Some(FakeChunkVerifier::new(SEED)),
            body,
            0,
            body.len().max(1),
        );
        let split = run_with(spec, Some(FakeChunkVerifier::new(SEED)), body, 9, 3);
        // The verdict must not depend on the split.
        assert_eq!(
            whole
                .as_ref()
                .map(|(o, s)| (o.clone(), *s))
                .map_err(|e| e.code),
            split
                .as_ref()
                .map(|(o, s)| (o.clone(), *s))
                .map_err(|e| e.code)
        );
        whole.map(|(_, s)| s).map_err(|e| e.code)
    }

    fn code(r: Result<PayloadSummary, S3ErrorCode>) -> S3ErrorCode {
        r.err().unwrap_or(S3ErrorCode::InternalError)
    }

    #[test]
    fn plain_sha256() {
        let body = b"hello world";
        let good: [u8; 32] = Sha256::digest(body).into();
        let s = run(
            spec(
                PayloadEncoding::Plain {
                    expected_sha256: Some(good),
                },
                Some(11),
            ),
            body,
        )
        .unwrap();
        assert_eq!(
            s,
            PayloadSummary {
                length: 11,
                md5: None,
                checksum: None
            }
        );
        let mut bad = good;
        bad[0] ^= 1;
        assert_eq!(
            code(run(
                spec(
                    PayloadEncoding::Plain {
                        expected_sha256: Some(bad)
                    },
                    Some(11)
                ),
                body
            )),
            S3ErrorCode::XAmzContentSHA256Mismatch
        );
        // Unsigned payload: nothing to check, length still enforced.
        assert!(run(spec(PLAIN, Some(11)), body).is_ok());
        assert!(run(spec(PLAIN, None), body).is_ok());
        assert_eq!(
            code(run(spec(PLAIN, Some(12)), body)),
            S3ErrorCode::IncompleteBody
        );
        assert_eq!(
            code(run(spec(PLAIN, Some(10)), body)),
            S3ErrorCode::IncompleteBody
        );
        // Truncated body with the right hash of the full body: length error, not a hash error.
        assert_eq!(
            code(run(
                spec(
                    PayloadEncoding::Plain {
                        expected_sha256: Some(good)
                    },
                    Some(11)
                ),
                &body[..5]
            )),
            S3ErrorCode::IncompleteBody
        );
    }

    #[test]
    fn plain_pass_through_and_done() {
        let mut pv = PayloadVerifier::<NoChunkVerifier>::new(spec(PLAIN, Some(4)), None).unwrap();
        let d = pv.feed(b"ab").unwrap();
        assert_eq!((d.consumed, d.data, d.done), (2, &b"ab"[..], false));
        let d = pv.feed(b"cd").unwrap();
        assert!(d.done);
        assert_eq!(pv.feed(b"e").unwrap_err().code, S3ErrorCode::IncompleteBody);
        assert!(pv.feed(b"").is_err(), "poisoned");
        assert!(pv.finish().is_err());
    }

    #[test]
    fn skip_md5_only_before_the_body_and_never_with_content_md5() {
        let body = b"hello world";
        let mut s = spec(PLAIN, Some(11));
        s.want_md5 = true;
        // Skipped before any byte: no MD5 in the summary.
        let mut pv = PayloadVerifier::<NoChunkVerifier>::new(s, None).unwrap();
        assert!(pv.skip_md5());
        pv.feed(body).unwrap();
        assert_eq!(pv.finish().unwrap().md5, None);
        // After a byte it stays on (a digest of a suffix would be wrong).
        let mut pv = PayloadVerifier::<NoChunkVerifier>::new(s, None).unwrap();
        pv.feed(b"hello").unwrap();
        assert!(!pv.skip_md5());
        pv.feed(b" world").unwrap();
        assert_eq!(pv.finish().unwrap().md5, Some(Md5Hasher::digest(body)));
        // A Content-MD5 to check keeps it on, and a wrong one is still refused.
        s.content_md5 = Some("1B2M2Y8AsgTpgAmY7PhCfg==");
        let mut pv = PayloadVerifier::<NoChunkVerifier>::new(s, None).unwrap();
        assert!(!pv.skip_md5());
        pv.feed(body).unwrap();
        assert_eq!(pv.finish().unwrap_err().code, S3ErrorCode::BadDigest);
    }

    #[test]
    fn content_md5() {
        let body = b"hello world";
        let mut s = spec(PLAIN, Some(11));
        s.content_md5 = Some("XrY7u+Ae7tCTyyK7j1rNww==");
        assert_eq!(run(s, body).unwrap().md5, Some(Md5Hasher::digest(body)));
        s.content_md5 = Some("1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(code(run(s, body)), S3ErrorCode::BadDigest);
        for malformed in [
            "",
            "XrY7u+Ae7tCTyyK7j1rN",
            "!!!!!!!!!!!!!!!!!!!!!!!!",
            "DUoRhQ==",
        ] {
            s.content_md5 = Some(malformed);
            assert_eq!(
                PayloadVerifier::<NoChunkVerifier>::new(s, None)
                    .unwrap_err()
                    .code,
                S3ErrorCode::InvalidDigest
            );
        }
        // MD5 only computed on request.
        assert_eq!(run(spec(PLAIN, None), body).unwrap().md5, None);
        let mut s = spec(PLAIN, None);
        s.want_md5 = true;
        assert_eq!(run(s, body).unwrap().md5, Some(Md5Hasher::digest(body)));
    }

    #[test]
    fn checksum_header_each_algorithm() {
        let body = b"123456789";
        for alg in ChecksumAlgorithm::ALL {
            let good = Checksummer::digest(alg, body);
            let good_b64 = good.to_b64();
            let mut s = spec(PLAIN, Some(9));
            s.checksum_header = Some((alg, &good_b64));
            assert_eq!(run(s, body).unwrap().checksum, Some((alg, good)));
            let other = Checksummer::digest(alg, b"12345678").to_b64();
            s.checksum_header = Some((alg, &other));
            let err = run_with(s, None::<NoChunkVerifier>, body, 0, 100).unwrap_err();
            assert_eq!(err.code, S3ErrorCode::BadDigest);
            assert_eq!(err.message, alg.mismatch_message());
            for malformed in ["", "AAAA", "*", &good_b64[1..]] {
                s.checksum_header = Some((alg, malformed));
                let err = PayloadVerifier::<NoChunkVerifier>::new(s, None).unwrap_err();
                assert_eq!(err.code, S3ErrorCode::InvalidRequest);
                assert_eq!(err.message, alg.invalid_header_message());
            }
        }
        let crc = Checksummer::digest(ChecksumAlgorithm::Crc32, body);
        let err = run_with(
            PayloadSpec {
                checksum_header: Some((ChecksumAlgorithm::Crc32, &crc.to_b64())),
                ..spec(PLAIN, None)
            },
            None::<NoChunkVerifier>,
            b"x",
            0,
            1,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "The CRC32 you specified did not match the calculated checksum."
        );
    }

    #[test]
    fn want_checksum_and_client_algorithm_precedence() {
        let body = b"hello world";
        let mut s = spec(PLAIN, None);
        s.want_checksum = Some(ChecksumAlgorithm::Crc64Nvme);
        let sum = run(s, body).unwrap();
        assert_eq!(
            sum.checksum,
            Some((
                ChecksumAlgorithm::Crc64Nvme,
                Checksummer::digest(ChecksumAlgorithm::Crc64Nvme, body)
            ))
        );
        // The client's algorithm wins over want_checksum.
        let sha1 = Checksummer::digest(ChecksumAlgorithm::Sha1, body).to_b64();
        s.checksum_header = Some((ChecksumAlgorithm::Sha1, &sha1));
        assert_eq!(
            run(s, body).unwrap().checksum.map(|c| c.0),
            Some(ChecksumAlgorithm::Sha1)
        );
    }

    #[test]
    fn unsigned_trailer_each_algorithm() {
        let data = body_bytes(5000, 1);
        let chunks: Vec<&[u8]> = data.chunks(1024).collect();
        for alg in ChecksumAlgorithm::ALL {
            let mode = PayloadEncoding::AwsChunked {
                signed: false,
                trailer: Some(alg),
            };
            let good = Checksummer::digest(alg, &data);
            let body = encode_unsigned(&chunks, &[(alg.header_name(), &good.to_b64())], true);
            let s = run(spec(mode, Some(5000)), &body).unwrap();
            assert_eq!(s.checksum, Some((alg, good)));
            // Wrong value.
            let wrong = Checksummer::digest(alg, b"other").to_b64();
            let body = encode_unsigned(&chunks, &[(alg.header_name(), &wrong)], true);
            assert_eq!(
                code(run(spec(mode, Some(5000)), &body)),
                S3ErrorCode::BadDigest
            );
            // Malformed value.
            let body = encode_unsigned(&chunks, &[(alg.header_name(), "AAA=")], false);
            let err = run_with(
                spec(mode, Some(5000)),
                None::<NoChunkVerifier>,
                &body,
                0,
                99,
            )
            .unwrap_err();
            assert_eq!(
                (err.code, err.message),
                (
                    S3ErrorCode::InvalidRequest,
                    alg.invalid_trailer_message().into()
                )
            );
            // Missing trailer.
            let body = encode_unsigned(&chunks, &[], true);
            assert_eq!(
                code(run(spec(mode, Some(5000)), &body)),
                S3ErrorCode::InvalidRequest
            );
        }
    }

    #[test]
    fn signed_chunked_with_fake_verifier() {
        let data = body_bytes(10_000, 2);
        let chunks: Vec<&[u8]> = data.chunks(4096).collect();
        let body = encode_signed(&mut FakeChunkVerifier::new(SEED), &chunks, None, true);
        let mode = PayloadEncoding::AwsChunked {
            signed: true,
            trailer: None,
        };
        let mut s = spec(mode, Some(10_000));
        s.want_md5 = true;
        let (out, sum) = run_with(s, Some(FakeChunkVerifier::new(SEED)), &body, 4, 777).unwrap();
        assert_eq!(out, data);
        assert_eq!(sum.md5, Some(Md5Hasher::digest(&data)));
        // Tampered data.
        let mut bad = body.clone();
        bad[5000] ^= 0x20;
        assert_eq!(code(run(s, &bad)), S3ErrorCode::SignatureDoesNotMatch);
        // Signed without a verifier is a server bug.
        assert_eq!(
            PayloadVerifier::<NoChunkVerifier>::new(s, None)
                .unwrap_err()
                .code,
            S3ErrorCode::InternalError
        );
        // Content-MD5 and a checksum header apply to the decoded bytes.
        let md5 = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            Md5Hasher::digest(&data),
        );
        let crc = Checksummer::digest(ChecksumAlgorithm::Crc32c, &data).to_b64();
        s.content_md5 = Some(&md5);
        s.checksum_header = Some((ChecksumAlgorithm::Crc32c, &crc));
        assert!(run(s, &body).is_ok());
        s.content_md5 = Some("1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(code(run(s, &body)), S3ErrorCode::BadDigest);
        // Length mismatches.
        assert_eq!(
            code(run(spec(mode, Some(9_999)), &body)),
            S3ErrorCode::IncompleteBody
        );
        assert_eq!(
            code(run(spec(mode, Some(10_001)), &body)),
            S3ErrorCode::IncompleteBody
        );
        assert_eq!(
            code(run(spec(mode, Some(10_000)), &body[..body.len() - 90])),
            S3ErrorCode::IncompleteBody
        );
    }

    #[test]
    fn signed_trailer_with_fake_verifier() {
        let data = b"some object data";
        let alg = ChecksumAlgorithm::Sha256;
        let value = Checksummer::digest(alg, data).to_b64();
        let mode = PayloadEncoding::AwsChunked {
            signed: true,
            trailer: Some(alg),
        };
        let body = encode_signed(
            &mut FakeChunkVerifier::new(SEED),
            &[data],
            Some(&[(alg.header_name(), &value)]),
            true,
        );
        assert_eq!(
            run(spec(mode, Some(16)), &body)
                .unwrap()
                .checksum
                .map(|c| c.0),
            Some(alg)
        );
        // A consistently signed but wrong checksum is a BadDigest.
        let wrong = Checksummer::digest(alg, b"x").to_b64();
        let body = encode_signed(
            &mut FakeChunkVerifier::new(SEED),
            &[data],
            Some(&[(alg.header_name(), &wrong)]),
            false,
        );
        assert_eq!(
            code(run(spec(mode, Some(16)), &body)),
            S3ErrorCode::BadDigest
        );
        // A checksum header next to a trailer is refused.
        let mut s = spec(mode, Some(16));
        s.checksum_header = Some((alg, &value));
        assert_eq!(
            PayloadVerifier::new(s, Some(FakeChunkVerifier::new(SEED)))
                .unwrap_err()
                .code,
            S3ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn garbage_bodies_never_panic() {
        let mut rng = SplitRng::new(3);
        for round in 0..300u64 {
            let len = rng.next_len(60) - 1;
            let body: Vec<u8> = (0..len)
                .map(|_| b"0a;\r\n:x-"[rng.next_len(8) - 1])
                .collect();
            for mode in [
                PLAIN,
                PayloadEncoding::AwsChunked {
                    signed: true,
                    trailer: None,
                },
                PayloadEncoding::AwsChunked {
                    signed: false,
                    trailer: Some(ChecksumAlgorithm::Crc32),
                },
            ] {
                let _ = run(spec(mode, (round % 2 == 0).then_some(1)), &body);
            }
        }
    }

    // --- The AWS documentation examples, with real SigV4 chunk signatures. ---

    type HmacSha256 = Hmac<Sha256>;

    fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
        let mut m = HmacSha256::new_from_slice(key).unwrap();
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// A test-only SigV4 chunk verifier (what the auth module provides in the server).
    struct SigV4Chunks {
        key: [u8; 32],
        previous: String,
    }

    const DATE_TIME: &str = "20130524T000000Z";
    const SCOPE: &str = "20130524/us-east-1/s3/aws4_request";
    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    impl SigV4Chunks {
        fn new(seed: &str) -> Self {
            let k = hmac(b"AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", b"20130524");
            let k = hmac(&k, b"us-east-1");
            let k = hmac(&k, b"s3");
            let key = hmac(&k, b"aws4_request");
            SigV4Chunks {
                key,
                previous: seed.to_owned(),
            }
        }

        fn sign(&mut self, string_to_sign: String) -> String {
            let sig = hex::encode(hmac(&self.key, string_to_sign.as_bytes()));
            self.previous = sig.clone();
            sig
        }

        fn chunk_signature(&mut self, chunk_sha256: &[u8; 32]) -> String {
            let sts = format!(
                "AWS4-HMAC-SHA256-PAYLOAD\n{DATE_TIME}\n{SCOPE}\n{}\n{EMPTY_SHA256}\n{}",
                self.previous,
                hex::encode(chunk_sha256)
            );
            self.sign(sts)
        }

        fn trailer_signature(&mut self, trailer: &[u8]) -> String {
            let sts = format!(
                "AWS4-HMAC-SHA256-TRAILER\n{DATE_TIME}\n{SCOPE}\n{}\n{}",
                self.previous,
                hex::encode(Sha256::digest(trailer))
            );
            self.sign(sts)
        }
    }

    impl ChunkVerifier for SigV4Chunks {
        fn verify_chunk(&mut self, chunk_sha256: &[u8; 32], signature_hex: &[u8]) -> bool {
            self.chunk_signature(chunk_sha256).as_bytes() == signature_hex
        }
        fn verify_trailer(&mut self, trailer: &[u8], signature_hex: &[u8]) -> bool {
            self.trailer_signature(trailer).as_bytes() == signature_hex
        }
    }

    /// Seed and chunk signatures printed in "Signature Calculations for the Authorization Header:
    /// Transferring Payload in Multiple Chunks (Chunked Upload)".
    const DOC_SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    const DOC_SIGS: [&str; 3] = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ];
    /// The same for "Signature calculations for trailing headers (chunked uploads)".
    const DOC_TRAILER_SEED: &str =
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    const DOC_TRAILER_SIGS: [&str; 4] = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
        "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435",
    ];

    fn doc_body(sigs: &[&str], tail: &str) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(format!("10000;chunk-signature={}\r\n", sigs[0]).as_bytes());
        body.extend_from_slice(&[b'a'; 65_536]);
        body.extend_from_slice(format!("\r\n400;chunk-signature={}\r\n", sigs[1]).as_bytes());
        body.extend_from_slice(&[b'a'; 1024]);
        body.extend_from_slice(format!("\r\n0;chunk-signature={}\r\n{tail}", sigs[2]).as_bytes());
        body
    }

    #[test]
    fn test_signer_reproduces_the_documented_signatures() {
        let mut s = SigV4Chunks::new(DOC_SEED);
        assert_eq!(
            s.chunk_signature(&Sha256::digest([b'a'; 65_536]).into()),
            DOC_SIGS[0]
        );
        assert_eq!(
            s.chunk_signature(&Sha256::digest([b'a'; 1024]).into()),
            DOC_SIGS[1]
        );
        assert_eq!(s.chunk_signature(&Sha256::digest(b"").into()), DOC_SIGS[2]);
        let mut s = SigV4Chunks::new(DOC_TRAILER_SEED);
        assert_eq!(
            s.chunk_signature(&Sha256::digest([b'a'; 65_536]).into()),
            DOC_TRAILER_SIGS[0]
        );
        assert_eq!(
            s.chunk_signature(&Sha256::digest([b'a'; 1024]).into()),
            DOC_TRAILER_SIGS[1]
        );
        assert_eq!(
            s.chunk_signature(&Sha256::digest(b"").into()),
            DOC_TRAILER_SIGS[2]
        );
        assert_eq!(
            s.trailer_signature(b"x-amz-checksum-crc32c:sOO8/Q==\n"),
            DOC_TRAILER_SIGS[3]
        );
    }

    #[test]
    fn aws_docs_multi_chunk_example_end_to_end() {
        let body = doc_body(&DOC_SIGS, "\r\n");
        assert_eq!(body.len(), 66_824, "Content-Length in the AWS example");
        let mut s = spec(
            PayloadEncoding::AwsChunked {
                signed: true,
                trailer: None,
            },
            Some(66_560),
        );
        s.want_md5 = true;
        s.want_checksum = Some(ChecksumAlgorithm::Crc32c);
        for (seed, max) in [(0, body.len()), (1, 1), (2, 100), (3, 8192), (4, 65_600)] {
            // Byte-by-byte over 66 KiB is fine: the decoder does O(1) work per call.
            let (out, sum) =
                run_with(s, Some(SigV4Chunks::new(DOC_SEED)), &body, seed, max).unwrap();
            assert_eq!(out, vec![b'a'; 66_560]);
            assert_eq!(sum.length, 66_560);
            assert_eq!(sum.md5, Some(Md5Hasher::digest(&out)));
            assert_eq!(
                sum.checksum.map(|(a, v)| (a, v.to_b64())),
                Some((ChecksumAlgorithm::Crc32c, "sOO8/Q==".to_owned()))
            );
        }
        // Every signature matters.
        for i in 0..3 {
            let mut sigs = DOC_SIGS;
            let tampered = DOC_SIGS[i].replacen(&DOC_SIGS[i][..1], "f", 1);
            sigs[i] = &tampered;
            let err = run_with(
                s,
                Some(SigV4Chunks::new(DOC_SEED)),
                &doc_body(&sigs, "\r\n"),
                0,
                70_000,
            )
            .unwrap_err();
            assert_eq!(err.code, S3ErrorCode::SignatureDoesNotMatch);
        }
        // Wrong seed (another request's signature).
        let err = run_with(
            s,
            Some(SigV4Chunks::new(DOC_TRAILER_SEED)),
            &body,
            0,
            70_000,
        )
        .unwrap_err();
        assert_eq!(err.code, S3ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn aws_docs_trailer_example_end_to_end() {
        let mode = PayloadEncoding::AwsChunked {
            signed: true,
            trailer: Some(ChecksumAlgorithm::Crc32c),
        };
        let trailer = format!(
            "x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{}\r\n",
            DOC_TRAILER_SIGS[3]
        );
        // The three endings seen from real clients: closing CRLF, none, and a blank line first.
        for tail in [
            format!("{trailer}\r\n"),
            trailer.clone(),
            format!("\r\n{trailer}"),
        ] {
            let body = doc_body(&DOC_TRAILER_SIGS, &tail);
            for (seed, max) in [(0, body.len()), (5, 333), (6, 65_550)] {
                let (out, sum) = run_with(
                    spec(mode, Some(66_560)),
                    Some(SigV4Chunks::new(DOC_TRAILER_SEED)),
                    &body,
                    seed,
                    max,
                )
                .unwrap();
                assert_eq!(out.len(), 66_560);
                assert_eq!(
                    sum.checksum.map(|(a, v)| (a, v.to_b64())),
                    Some((ChecksumAlgorithm::Crc32c, "sOO8/Q==".to_owned()))
                );
            }
        }
        // A wrong trailer signature.
        let bad = trailer.replace(DOC_TRAILER_SIGS[3], DOC_SIGS[0]);
        let err = run_with(
            spec(mode, Some(66_560)),
            Some(SigV4Chunks::new(DOC_TRAILER_SEED)),
            &doc_body(&DOC_TRAILER_SIGS, &bad),
            0,
            70_000,
        )
        .unwrap_err();
        assert_eq!(err.code, S3ErrorCode::SignatureDoesNotMatch);
    }
}
