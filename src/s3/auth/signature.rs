//! HMAC-SHA256 plumbing, the string to sign, and the [`Signature`] value type whose only
//! equality is constant-time.

use std::fmt;

use hmac::digest::generic_array::GenericArray;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::amz_date::AmzDate;
use super::canonical::Sink;
use super::scope::CredentialScope;

/// The SigV4 algorithm name, first line of the string to sign and first token of the
/// `Authorization` header.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// SHA-256 block size: HMAC pads (or first hashes) its key to exactly this many bytes.
const SHA256_BLOCK_LEN: usize = 64;

/// An HMAC-SHA256 instance keyed with `key`.
///
/// Built from a zero-padded block (after hashing keys longer than a block), which is exactly how
/// RFC 2104 defines HMAC's key handling; this keeps the constructor infallible without an
/// `unwrap` on the length check of `new_from_slice`.
pub(crate) fn new_mac(key: &[u8]) -> HmacSha256 {
    let mut block = GenericArray::<u8, hmac::digest::consts::U64>::default();
    if key.len() <= SHA256_BLOCK_LEN {
        block[..key.len()].copy_from_slice(key);
    } else {
        block[..32].copy_from_slice(&Sha256::digest(key));
    }
    <HmacSha256 as KeyInit>::new(&block)
}

/// HMAC-SHA256 of `data` under `key`.
pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

impl Sink for HmacSha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// A 256-bit SigV4 signature. Equality is constant-time and there is no `Ord` or `Hash`, so it
/// cannot end up compared byte-by-byte by accident.
#[derive(Clone, Copy)]
pub struct Signature([u8; 32]);

impl Signature {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Signature(bytes)
    }

    /// Parses 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(hex_text: &[u8]) -> Option<Self> {
        if hex_text.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_text, &mut out).ok()?;
        Some(Signature(out))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex form, as it goes on the wire.
    pub fn to_hex(&self) -> SignatureHex {
        SignatureHex(hex_lower(&self.0))
    }
}

impl ConstantTimeEq for Signature {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for Signature {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.ct_eq(other))
    }
}

impl Eq for Signature {}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Signatures are sent in the clear; printing one reveals nothing about the key.
        write!(f, "Signature({})", self.to_hex().as_str())
    }
}

/// The 64-character lower-case hex text of a signature or hash, without heap allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignatureHex([u8; 64]);

impl SignatureHex {
    pub fn as_str(&self) -> &str {
        // Only ever holds ASCII hex digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Display for SignatureHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SignatureHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lower-case hex of 32 bytes.
pub(crate) fn hex_lower(bytes: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    out
}

/// Writes the string to sign into `sink`:
/// `AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256 of canonical request>`.
pub(crate) fn write_string_to_sign<S: Sink>(
    sink: &mut S,
    amz_date: &AmzDate,
    scope: &CredentialScope<'_>,
    canonical_request_sha256_hex: &[u8],
) {
    sink.put(ALGORITHM.as_bytes());
    sink.put(b"\n");
    sink.put(amz_date.as_str().as_bytes());
    sink.put(b"\n");
    scope.write_to(sink);
    sink.put(b"\n");
    sink.put(canonical_request_sha256_hex);
}

/// The string to sign, as text (for tests and diagnostics; the verifier streams it straight into
/// the HMAC instead).
pub fn string_to_sign(
    amz_date: &AmzDate,
    scope: &CredentialScope<'_>,
    canonical_request_sha256_hex: &str,
) -> String {
    let mut out = Vec::with_capacity(128);
    write_string_to_sign(
        &mut out,
        amz_date,
        scope,
        canonical_request_sha256_hex.as_bytes(),
    );
    String::from_utf8_lossy(&out).into_owned()
}

/// The signature of `string_to_sign` under a derived signing key.
pub fn signature(signing_key: &[u8; 32], string_to_sign: &[u8]) -> Signature {
    Signature(hmac(signing_key, string_to_sign))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn padded_key_mac_equals_library_mac_for_all_key_lengths() {
        for len in [0usize, 1, 31, 32, 44, 63, 64, 65, 100, 200] {
            let key: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut lib = <HmacSha256 as Mac>::new_from_slice(&key).unwrap();
            lib.update(b"message");
            let expected: [u8; 32] = lib.finalize().into_bytes().into();
            assert_eq!(hmac(&key, b"message"), expected, "key length {len}");
        }
    }

    #[test]
    fn rfc4231_test_case_2() {
        // RFC 4231 test case 2: key "Jefe".
        let out = hmac(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(out),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signature_hex_round_trip_and_case() {
        let hex_text = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        let s = Signature::from_hex(hex_text.as_bytes()).unwrap();
        assert_eq!(s.to_hex().as_str(), hex_text);
        let upper = Signature::from_hex(hex_text.to_uppercase().as_bytes()).unwrap();
        assert_eq!(s, upper);
        assert!(Signature::from_hex(&hex_text.as_bytes()[..63]).is_none());
        assert!(Signature::from_hex(format!("{hex_text}0").as_bytes()).is_none());
        let mut bad = hex_text.as_bytes().to_vec();
        bad[10] = b'g';
        assert!(Signature::from_hex(&bad).is_none());
        assert!(Signature::from_hex(b"").is_none());
    }

    #[test]
    fn signature_equality_is_by_value() {
        let a = Signature::from_bytes([7; 32]);
        let mut other = [7u8; 32];
        assert_eq!(a, Signature::from_bytes(other));
        for i in 0..32 {
            other = [7; 32];
            other[i] ^= 1;
            assert_ne!(a, Signature::from_bytes(other), "byte {i}");
        }
        // The trait the comparison goes through is subtle's.
        assert!(bool::from(a.ct_eq(&Signature::from_bytes([7; 32]))));
        assert!(format!("{a:?}").contains("0707"));
    }
}
