//! AWS Signature Version 4 for S3, both directions, and Signature Version 2 (server side only).
//!
//! * Server side: [`verify_request`] checks a request as it came off the wire (header
//!   `Authorization` or presigned query), and for the signed streaming payload modes hands back a
//!   [`ChunkSigner`] that the aws-chunked decoder drives through the [`ChunkVerifier`] trait.
//!   SigV2 (`Authorization: AWS AKID:signature`, `AWSAccessKeyId`/`Expires`/`Signature` URLs) is
//!   verified by the same entry point (`sigv2.rs`).
//! * Client side: [`sign_request`] and [`presign_url`] sign the requests the proxy sends to its
//!   backends (and the ones tests and the load generator send to us).
//!
//! Everything here is a pure function of its inputs: the clock is passed in as unix seconds and
//! no I/O happens. Derived signing keys are memoised per shard in a [`SigningKeyCache`].

mod amz_date;
mod authorization;
mod canonical;
mod chunk_signer;
mod payload;
mod presigned;
mod scope;
mod secret;
mod sign;
mod signature;
mod signing_key;
mod sigv2;
mod verified;
mod verify;

#[cfg(test)]
mod aws_examples;

pub use amz_date::AmzDate;
pub use authorization::{parse_authorization_header, ParsedAuthorization, MAX_SIGNED_HEADERS};
pub use canonical::{
    canonical_request, canonical_request_sha256, uri_encode, CanonicalInput, PathForm,
    MAX_QUERY_PARAMS,
};
pub use chunk_signer::{ChunkSigner, CHUNK_ALGORITHM, TRAILER_ALGORITHM};
pub use payload::PayloadSigning;
pub use presigned::{parse_presigned_query, ParsedPresigned, MAX_PRESIGNED_EXPIRES_SECS};
pub use scope::{CredentialScope, ParsedCredential, MAX_ACCESS_KEY_ID_LEN};
pub use secret::{Credentials, SecretKey};
pub use sign::{presign_url, sign_request, signable_canonical_request, SignableRequest};
pub use signature::{signature, string_to_sign, Signature, SignatureHex, ALGORITHM};
pub use signing_key::{signing_key, SigningKey, SigningKeyCache, SIGNING_KEY_CACHE_CAPACITY};
pub use verified::{AuthKind, VerifiedRequest, MAX_CLOCK_SKEW_SECS};
pub use verify::{verify_request, verify_request_for_host};

/// The only service name a credential scope may carry on this S3 endpoint.
pub const SERVICE: &str = "s3";

/// `x-amz-content-sha256` value for a payload that is not hashed into the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Hex SHA-256 of the empty string: the payload hash of bodiless requests and a fixed line of
/// every chunk string-to-sign.
pub const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// A request exactly as it came off the wire: path and query still percent-encoded, header names
/// in whatever case the client used, duplicate headers kept as separate entries in arrival order.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub method: &'a str,
    /// The path part of the request target, before any decoding (`/bucket/a%20b`).
    pub raw_path: &'a str,
    /// Everything after `?`, without the `?`; empty when there is no query.
    pub raw_query: &'a str,
    pub headers: &'a [(&'a str, &'a [u8])],
}

impl<'a> RequestView<'a> {
    /// Every value of header `name` (ASCII case-insensitive), in arrival order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// What the aws-chunked payload decoder needs from the signature layer: check each chunk's
/// signature against the rolling chain, then the trailer's.
///
/// Both methods advance the chain only on success, so a failed check leaves the verifier where
/// it was (the decoder aborts the request anyway).
pub trait ChunkVerifier {
    /// `chunk_sha256` is SHA-256 of the chunk's data bytes; `signature_hex` is the
    /// `chunk-signature=` value as sent (64 hex digits).
    fn verify_chunk(&mut self, chunk_sha256: &[u8; 32], signature_hex: &[u8]) -> bool;
    /// `trailer` is the canonical trailer block (`name:value\n` per trailing header, names
    /// lower-case, in the order sent); `signature_hex` the `x-amz-trailer-signature` value.
    fn verify_trailer(&mut self, trailer: &[u8], signature_hex: &[u8]) -> bool;
}

/// Fuzzing entry point: feeds arbitrary bytes to the `Authorization` parser. Never panics.
pub fn fuzz_parse_authorization(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_authorization_header(text);
    }
}

/// Fuzzing entry point: feeds arbitrary bytes to the presigned-query parser and the date
/// parsers. Never panics.
pub fn fuzz_parse_presigned(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_presigned_query(text);
        let _ = AmzDate::parse(text);
        let _ = AmzDate::parse_http_date(text);
    }
}

/// Fuzzing entry point: runs the whole verifier over a request whose query and header values
/// come from `data` (split on `\n`). Never panics.
pub fn fuzz_verify_request(data: &[u8]) {
    let mut parts = data.split(|b| *b == b'\n');
    let path = parts
        .next()
        .and_then(|p| std::str::from_utf8(p).ok())
        .unwrap_or("/");
    let query = parts
        .next()
        .and_then(|p| std::str::from_utf8(p).ok())
        .unwrap_or("");
    const NAMES: [&str; 6] = [
        "authorization",
        "x-amz-date",
        "x-amz-content-sha256",
        "host",
        "date",
        "x-amz-meta-a",
    ];
    let mut headers: Vec<(&str, &[u8])> = Vec::new();
    for (i, value) in parts.enumerate() {
        headers.push((NAMES[i % NAMES.len()], value));
    }
    let req = RequestView {
        method: "GET",
        raw_path: path,
        raw_query: query,
        headers: &headers,
    };
    let secret = SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let mut cache = SigningKeyCache::new();
    let _ = verify_request(&req, |_| Some(&secret), &mut cache, 1_369_353_600);
}
