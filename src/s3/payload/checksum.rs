//! The S3 object checksums (`x-amz-checksum-*`: CRC32, CRC32C, CRC64NVME, SHA1, SHA256) and the
//! Content-MD5 digest, as streaming hashers that can be fed a body piece by piece.
//!
//! S3 sends every checksum base64-encoded; CRCs are encoded as their big-endian bytes. Digests are
//! kept in a fixed-size [`ChecksumValue`] so computing, parsing and comparing them never allocates.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::Digest as _;

use crate::s3::error::{S3Error, S3ErrorCode};

/// The longest raw digest of any supported algorithm (SHA-256).
pub(crate) const MAX_DIGEST_LEN: usize = 32;

/// The longest base64 form of any supported digest: SHA-256 is 32 bytes, `4 * ceil(32 / 3)` = 44.
pub(crate) const MAX_DIGEST_B64_LEN: usize = 44;

/// One of the additional checksum algorithms S3 accepts on uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    Crc32,
    Crc32c,
    Crc64Nvme,
    Sha1,
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, in the order S3 documents them.
    pub(crate) const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// The header (or trailer) that carries this checksum, lower-case.
    pub(crate) const fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Length of the raw digest in bytes.
    pub(crate) const fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }

    /// Parses a header name (`x-amz-checksum-crc32`, ...), case-insensitively. Other headers of the
    /// `x-amz-checksum-` family (`-type`, `-mode`, `-algorithm`) are not checksums and give `None`.
    pub(crate) fn from_header_name(name: &str) -> Option<Self> {
        Self::from_header_name_bytes(name.as_bytes())
    }

    /// [`Self::from_header_name`] on raw bytes, for trailer lines that may not be UTF-8.
    pub(crate) fn from_header_name_bytes(name: &[u8]) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.header_name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// Decodes the base64 value of this algorithm's header; `None` unless it is canonical padded
    /// base64 of exactly [`Self::digest_len`] bytes.
    pub(crate) fn decode_b64(self, value: &[u8]) -> Option<ChecksumValue> {
        decode_b64_exact(value, self.digest_len()).map(|(bytes, len)| ChecksumValue { bytes, len })
    }

    /// The message S3 gives when a checksum header's value is not valid base64 of the right length.
    pub(crate) const fn invalid_header_message(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "Value for x-amz-checksum-crc32 header is invalid.",
            ChecksumAlgorithm::Crc32c => "Value for x-amz-checksum-crc32c header is invalid.",
            ChecksumAlgorithm::Crc64Nvme => "Value for x-amz-checksum-crc64nvme header is invalid.",
            ChecksumAlgorithm::Sha1 => "Value for x-amz-checksum-sha1 header is invalid.",
            ChecksumAlgorithm::Sha256 => "Value for x-amz-checksum-sha256 header is invalid.",
        }
    }

    /// The message for a trailing checksum whose value is not valid base64 of the right length.
    pub(crate) const fn invalid_trailer_message(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => {
                "Value for x-amz-checksum-crc32 trailing header is invalid."
            }
            ChecksumAlgorithm::Crc32c => {
                "Value for x-amz-checksum-crc32c trailing header is invalid."
            }
            ChecksumAlgorithm::Crc64Nvme => {
                "Value for x-amz-checksum-crc64nvme trailing header is invalid."
            }
            ChecksumAlgorithm::Sha1 => "Value for x-amz-checksum-sha1 trailing header is invalid.",
            ChecksumAlgorithm::Sha256 => {
                "Value for x-amz-checksum-sha256 trailing header is invalid."
            }
        }
    }

    /// The message S3 gives (with `BadDigest`) when the body does not match the sent checksum.
    pub(crate) const fn mismatch_message(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => {
                "The CRC32 you specified did not match the calculated checksum."
            }
            ChecksumAlgorithm::Crc32c => {
                "The CRC32C you specified did not match the calculated checksum."
            }
            ChecksumAlgorithm::Crc64Nvme => {
                "The CRC64NVME you specified did not match the calculated checksum."
            }
            ChecksumAlgorithm::Sha1 => {
                "The SHA1 you specified did not match the calculated checksum."
            }
            ChecksumAlgorithm::Sha256 => {
                "The SHA256 you specified did not match the calculated checksum."
            }
        }
    }
}

/// Decodes canonical padded base64 that must yield exactly `want` (≤ [`MAX_DIGEST_LEN`]) bytes.
fn decode_b64_exact(value: &[u8], want: usize) -> Option<([u8; MAX_DIGEST_LEN], u8)> {
    // Checking the encoded length first rejects oversized input before decoding and guarantees the
    // decode fits the scratch buffer below.
    if want > MAX_DIGEST_LEN || value.len() != want.div_ceil(3) * 4 {
        return None;
    }
    // Decoded length can exceed `want` by up to 2 before we check it, hence the slack.
    let mut scratch = [0u8; MAX_DIGEST_LEN + 3];
    let n = STANDARD.decode_slice(value, &mut scratch).ok()?;
    if n != want {
        return None;
    }
    let mut bytes = [0u8; MAX_DIGEST_LEN];
    bytes[..n].copy_from_slice(&scratch[..n]);
    Some((bytes, n as u8))
}

/// A raw digest of at most `MAX_DIGEST_LEN` bytes, stored inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChecksumValue {
    bytes: [u8; MAX_DIGEST_LEN],
    len: u8,
}

impl ChecksumValue {
    /// The raw digest bytes (big-endian for CRCs).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The base64 form S3 sends, as an owned string (for response headers and metadata).
    pub(crate) fn to_b64(self) -> String {
        STANDARD.encode(self.as_bytes())
    }

    fn from_slice(digest: &[u8]) -> Self {
        let mut bytes = [0u8; MAX_DIGEST_LEN];
        let len = digest.len().min(MAX_DIGEST_LEN);
        bytes[..len].copy_from_slice(&digest[..len]);
        ChecksumValue {
            bytes,
            len: len as u8,
        }
    }
}

impl std::ops::Deref for ChecksumValue {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for ChecksumValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChecksumValue({})", hex::encode(self.as_bytes()))
    }
}

enum Hasher {
    Crc32(crc_fast::Digest),
    Crc64(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

/// A streaming hasher for one [`ChecksumAlgorithm`].
pub(crate) struct Checksummer {
    algorithm: ChecksumAlgorithm,
    hasher: Hasher,
}

impl Checksummer {
    pub(crate) fn new(algorithm: ChecksumAlgorithm) -> Self {
        use crc_fast::CrcAlgorithm as C;
        let hasher = match algorithm {
            ChecksumAlgorithm::Crc32 => Hasher::Crc32(crc_fast::Digest::new(C::Crc32IsoHdlc)),
            ChecksumAlgorithm::Crc32c => Hasher::Crc32(crc_fast::Digest::new(C::Crc32Iscsi)),
            ChecksumAlgorithm::Crc64Nvme => Hasher::Crc64(crc_fast::Digest::new(C::Crc64Nvme)),
            ChecksumAlgorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            ChecksumAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        };
        Checksummer { algorithm, hasher }
    }

    pub(crate) fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match &mut self.hasher {
            Hasher::Crc32(d) | Hasher::Crc64(d) => d.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// The raw digest; CRCs as big-endian bytes, as S3 encodes them.
    pub(crate) fn finish(self) -> ChecksumValue {
        match self.hasher {
            // A 32-bit CRC's value always fits in the low 32 bits of crc-fast's u64 result.
            Hasher::Crc32(d) => ChecksumValue::from_slice(&(d.finalize() as u32).to_be_bytes()),
            Hasher::Crc64(d) => ChecksumValue::from_slice(&d.finalize().to_be_bytes()),
            Hasher::Sha1(h) => ChecksumValue::from_slice(&h.finalize()),
            Hasher::Sha256(h) => ChecksumValue::from_slice(&h.finalize()),
        }
    }

    /// One-shot convenience.
    pub(crate) fn digest(algorithm: ChecksumAlgorithm, data: &[u8]) -> ChecksumValue {
        let mut c = Checksummer::new(algorithm);
        c.update(data);
        c.finish()
    }
}

impl std::fmt::Debug for Checksummer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checksummer")
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

/// Streaming MD5, for `Content-MD5` checks and for the ETag of single-part objects.
#[derive(Clone, Default)]
pub(crate) struct Md5Hasher(md5::Md5);

impl Md5Hasher {
    pub(crate) fn new() -> Self {
        Md5Hasher(md5::Md5::new())
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finish(self) -> [u8; 16] {
        self.0.finalize().into()
    }

    /// One-shot convenience.
    #[cfg(test)]
    pub(crate) fn digest(data: &[u8]) -> [u8; 16] {
        let mut h = Md5Hasher::new();
        h.update(data);
        h.finish()
    }
}

impl std::fmt::Debug for Md5Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Md5Hasher")
    }
}

/// Parses a `Content-MD5` header value: base64 of exactly 16 bytes, else `InvalidDigest`.
pub(crate) fn parse_content_md5(value: &str) -> Result<[u8; 16], S3Error> {
    let (bytes, _) = decode_b64_exact(value.trim().as_bytes(), 16).ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::InvalidDigest,
            "The Content-MD5 you specified is not valid.",
        )
    })?;
    let mut out = [0u8; 16];
    out.copy_from_slice(&bytes[..16]);
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hexd(alg: ChecksumAlgorithm, data: &[u8]) -> String {
        hex::encode(Checksummer::digest(alg, data).as_bytes())
    }

    #[test]
    fn check_values_123456789() {
        let d = b"123456789";
        assert_eq!(hexd(ChecksumAlgorithm::Crc32, d), "cbf43926");
        assert_eq!(hexd(ChecksumAlgorithm::Crc32c, d), "e3069283");
        assert_eq!(hexd(ChecksumAlgorithm::Crc64Nvme, d), "ae8b14860a799888");
        assert_eq!(
            hexd(ChecksumAlgorithm::Sha1, d),
            "f7c3bc1d808e04732adf679965ccc34ca7ae3441"
        );
        assert_eq!(
            hexd(ChecksumAlgorithm::Sha256, d),
            "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"
        );
        assert_eq!(
            hex::encode(Md5Hasher::digest(d)),
            "25f9e794323b453885f5181f1b624d0b"
        );
    }

    #[test]
    fn check_values_hello_world() {
        let d = b"hello world";
        assert_eq!(hexd(ChecksumAlgorithm::Crc32, d), "0d4a1185");
        assert_eq!(hexd(ChecksumAlgorithm::Crc32c, d), "c99465aa");
        assert_eq!(
            hexd(ChecksumAlgorithm::Sha1, d),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        assert_eq!(
            hexd(ChecksumAlgorithm::Sha256, d),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(
            hex::encode(Md5Hasher::digest(d)),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        // Base64 forms as S3 prints them.
        assert_eq!(
            Checksummer::digest(ChecksumAlgorithm::Crc32, d).to_b64(),
            "DUoRhQ=="
        );
        assert_eq!(
            Checksummer::digest(ChecksumAlgorithm::Crc32c, d).to_b64(),
            "yZRlqg=="
        );
        assert_eq!(
            Checksummer::digest(ChecksumAlgorithm::Sha256, d).to_b64(),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
    }

    #[test]
    fn crc64nvme_is_consistent_with_its_check_value_and_streams() {
        // Streaming in arbitrary pieces equals one-shot.
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        for alg in ChecksumAlgorithm::ALL {
            let whole = Checksummer::digest(alg, &data);
            let mut c = Checksummer::new(alg);
            for piece in data.chunks(97) {
                c.update(piece);
            }
            assert_eq!(c.finish(), whole, "{alg:?}");
            assert_eq!(whole.len(), alg.digest_len());
            assert_eq!(whole.to_b64().len(), alg.digest_len().div_ceil(3) * 4);
        }
        let mut m = Md5Hasher::new();
        for piece in data.chunks(13) {
            m.update(piece);
        }
        assert_eq!(m.finish(), Md5Hasher::digest(&data));
    }

    #[test]
    fn crc32c_of_aws_example_body() {
        // AWS's trailer example: 66560 bytes of 'a' has x-amz-checksum-crc32c:sOO8/Q==.
        let v = Checksummer::digest(ChecksumAlgorithm::Crc32c, &[b'a'; 66_560]);
        assert_eq!(v.to_b64(), "sOO8/Q==");
    }

    #[test]
    fn header_names_parse_case_insensitively() {
        for alg in ChecksumAlgorithm::ALL {
            assert_eq!(
                ChecksumAlgorithm::from_header_name(alg.header_name()),
                Some(alg)
            );
            assert_eq!(
                ChecksumAlgorithm::from_header_name(&alg.header_name().to_ascii_uppercase()),
                Some(alg)
            );
        }
        assert_eq!(
            ChecksumAlgorithm::from_header_name("x-amz-checksum-type"),
            None
        );
        assert_eq!(
            ChecksumAlgorithm::from_header_name("x-amz-checksum-algorithm"),
            None
        );
        assert_eq!(
            ChecksumAlgorithm::from_header_name("x-amz-checksum-crc"),
            None
        );
    }

    #[test]
    fn b64_values_must_be_exact() {
        let a = ChecksumAlgorithm::Crc32;
        assert_eq!(
            a.decode_b64(b"DUoRhQ==").map(|v| v.to_vec()),
            Some(vec![0x0d, 0x4a, 0x11, 0x85])
        );
        assert!(a.decode_b64(b"DUoRhQ").is_none(), "unpadded");
        assert!(a.decode_b64(b"DUoRhQ==\n").is_none());
        assert!(a.decode_b64(b"DUoRhQAA").is_none(), "6 bytes");
        assert!(a.decode_b64(b"DUo*hQ==").is_none());
        assert!(a.decode_b64(b"").is_none());
        assert!(ChecksumAlgorithm::Sha256.decode_b64(b"DUoRhQ==").is_none());
        let long = [b'A'; 400];
        for alg in ChecksumAlgorithm::ALL {
            assert!(alg.decode_b64(&long).is_none());
            let v = Checksummer::digest(alg, b"x");
            assert_eq!(alg.decode_b64(v.to_b64().as_bytes()), Some(v));
        }
    }

    #[test]
    fn content_md5_parsing() {
        assert_eq!(
            parse_content_md5("XrY7u+Ae7tCTyyK7j1rNww==").unwrap(),
            Md5Hasher::digest(b"hello world")
        );
        for bad in [
            "",
            "XrY7u+Ae7tCTyyK7j1rNww",
            "XrY7u+Ae7tCTyyK7j1rN",
            "not base64 at all!!!!!!!",
            "DUoRhQ==",
        ] {
            assert_eq!(
                parse_content_md5(bad).unwrap_err().code,
                S3ErrorCode::InvalidDigest,
                "{bad:?}"
            );
        }
    }
}
