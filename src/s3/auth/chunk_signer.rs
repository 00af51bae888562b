//! The rolling signature chain of aws-chunked uploads (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD` and
//! its `-TRAILER` variant).
//!
//! Chunk string to sign:
//! `AWS4-HMAC-SHA256-PAYLOAD\n<amz-date>\n<scope>\n<previous signature>\n<sha256("")>\n<sha256(chunk)>`;
//! trailer string to sign:
//! `AWS4-HMAC-SHA256-TRAILER\n<amz-date>\n<scope>\n<previous signature>\n<sha256(trailer)>`.
//! The first "previous signature" is the request's own (the seed).

use std::fmt;

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::amz_date::AmzDate;
use super::canonical::Sink;
use super::scope::CredentialScope;
use super::signature::{hex_lower, Signature};
use super::signing_key::SigningKey;
use super::{ChunkVerifier, EMPTY_SHA256_HEX};

/// First line of a chunk's string to sign.
pub const CHUNK_ALGORITHM: &str = "AWS4-HMAC-SHA256-PAYLOAD";
/// First line of the trailer's string to sign.
pub const TRAILER_ALGORITHM: &str = "AWS4-HMAC-SHA256-TRAILER";

/// Signs or verifies the chunks of one streaming request, in order.
#[derive(Clone)]
pub struct ChunkSigner {
    key: SigningKey,
    amz_date: AmzDate,
    /// `date/region/service/aws4_request`, formatted once per request.
    scope: String,
    previous: Signature,
}

impl ChunkSigner {
    /// A chain starting from `seed`, the signature of the request that carries the body.
    pub fn new(
        key: SigningKey,
        amz_date: AmzDate,
        scope: &CredentialScope<'_>,
        seed: Signature,
    ) -> Self {
        let mut scope_text = Vec::with_capacity(48);
        scope.write_to(&mut scope_text);
        ChunkSigner {
            key,
            amz_date,
            scope: String::from_utf8_lossy(&scope_text).into_owned(),
            previous: seed,
        }
    }

    /// The last accepted (or produced) signature: the seed until the first chunk.
    pub fn previous_signature(&self) -> Signature {
        self.previous
    }

    fn compute(&self, algorithm: &str, middle: Option<&str>, last_hash: &[u8; 32]) -> Signature {
        let mut mac = self.key.mac();
        mac.put(algorithm.as_bytes());
        mac.put(b"\n");
        mac.put(self.amz_date.as_str().as_bytes());
        mac.put(b"\n");
        mac.put(self.scope.as_bytes());
        mac.put(b"\n");
        mac.put(self.previous.to_hex().as_bytes());
        mac.put(b"\n");
        if let Some(line) = middle {
            mac.put(line.as_bytes());
            mac.put(b"\n");
        }
        mac.put(&hex_lower(last_hash));
        Signature::from_bytes(mac.finalize().into_bytes().into())
    }

    fn chunk_signature(&self, chunk_sha256: &[u8; 32]) -> Signature {
        self.compute(CHUNK_ALGORITHM, Some(EMPTY_SHA256_HEX), chunk_sha256)
    }

    fn trailer_signature(&self, trailer: &[u8]) -> Signature {
        let hash: [u8; 32] = Sha256::digest(trailer).into();
        self.compute(TRAILER_ALGORITHM, None, &hash)
    }

    /// Signs the next chunk (given its data's SHA-256) and advances the chain.
    pub fn sign_chunk(&mut self, chunk_sha256: &[u8; 32]) -> Signature {
        let sig = self.chunk_signature(chunk_sha256);
        self.previous = sig;
        sig
    }

    /// Signs the trailer block (`name:value\n` lines) and advances the chain.
    pub fn sign_trailer(&mut self, trailer: &[u8]) -> Signature {
        let sig = self.trailer_signature(trailer);
        self.previous = sig;
        sig
    }

    /// Checks a chunk's claimed signature (constant-time); advances only on success.
    pub fn verify_chunk(&mut self, chunk_sha256: &[u8; 32], claimed_signature_hex: &[u8]) -> bool {
        let Some(claimed) = Signature::from_hex(claimed_signature_hex) else {
            return false;
        };
        if self.chunk_signature(chunk_sha256) == claimed {
            self.previous = claimed;
            true
        } else {
            false
        }
    }

    /// Checks the trailer's claimed signature (constant-time); advances only on success.
    pub fn verify_trailer(&mut self, trailer: &[u8], claimed_signature_hex: &[u8]) -> bool {
        let Some(claimed) = Signature::from_hex(claimed_signature_hex) else {
            return false;
        };
        if self.trailer_signature(trailer) == claimed {
            self.previous = claimed;
            true
        } else {
            false
        }
    }
}

impl ChunkVerifier for ChunkSigner {
    fn verify_chunk(&mut self, chunk_sha256: &[u8; 32], signature_hex: &[u8]) -> bool {
        ChunkSigner::verify_chunk(self, chunk_sha256, signature_hex)
    }

    fn verify_trailer(&mut self, trailer: &[u8], signature_hex: &[u8]) -> bool {
        ChunkSigner::verify_trailer(self, trailer, signature_hex)
    }
}

impl fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSigner")
            .field("amz_date", &self.amz_date)
            .field("scope", &self.scope)
            .field("previous", &self.previous)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::s3::auth::SecretKey;

    fn signer(seed: Signature) -> ChunkSigner {
        let scope = CredentialScope::new("20130524", "us-east-1", "s3");
        let key = SigningKey::derive(&SecretKey::from("secret"), &scope);
        ChunkSigner::new(
            key,
            AmzDate::parse("20130524T000000Z").unwrap(),
            &scope,
            seed,
        )
    }

    #[test]
    fn failed_verification_does_not_advance() {
        let seed = Signature::from_bytes([1; 32]);
        let mut producer = signer(seed);
        let mut verifier = signer(seed);
        let h1: [u8; 32] = Sha256::digest(b"one").into();
        let s1 = producer.sign_chunk(&h1);
        assert!(!verifier.verify_chunk(&h1, b"nothex"));
        assert!(!verifier.verify_chunk(&h1, &[b'0'; 64]));
        let wrong: [u8; 32] = Sha256::digest(b"two").into();
        assert!(!verifier.verify_chunk(&wrong, s1.to_hex().as_bytes()));
        assert_eq!(verifier.previous_signature(), seed);
        assert!(verifier.verify_chunk(&h1, s1.to_hex().as_bytes()));
        assert_eq!(verifier.previous_signature(), s1);
        // Replaying the same chunk signature at the next position fails (the chain moved on).
        assert!(!verifier.verify_chunk(&h1, s1.to_hex().as_bytes()));
        let t = producer.sign_trailer(b"x-amz-checksum-crc32:AAAAAA==\n");
        assert!(!verifier.verify_trailer(b"x-amz-checksum-crc32:AAAAAB==\n", t.to_hex().as_bytes()));
        assert!(verifier.verify_trailer(b"x-amz-checksum-crc32:AAAAAA==\n", t.to_hex().as_bytes()));
        let shown = format!("{verifier:?}");
        assert!(shown.contains("20130524/us-east-1/s3/aws4_request"));
        assert!(!shown.contains("key"));
    }

    #[test]
    fn usable_through_the_trait() {
        fn drive(v: &mut dyn ChunkVerifier, h: &[u8; 32], sig: &[u8]) -> bool {
            v.verify_chunk(h, sig)
        }
        let seed = Signature::from_bytes([9; 32]);
        let h: [u8; 32] = Sha256::digest(b"").into();
        let s = signer(seed).sign_chunk(&h);
        let mut v = signer(seed);
        assert!(drive(&mut v, &h, s.to_hex().as_bytes()));
    }
}
