//! SigV4 verification: header auth, presigned URLs and per-chunk signatures (divan).
//!
//! Each request is signed once with the project's own client signer, then verified in the loop
//! with a warm signing-key cache (the steady state of a shard).

use s3_orchestrator::s3::auth::{
    presign_url, sign_request, verify_request, AmzDate, ChunkSigner, CredentialScope, Credentials,
    RequestView, SecretKey, SignableRequest, SigningKey, SigningKeyCache, SERVICE,
    UNSIGNED_PAYLOAD,
};
use sha2::{Digest, Sha256};

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20240101T000000Z";
const HOST: &str = "127.0.0.1:9000";
const URI: &str = "/myapp/some/object/key.bin";

fn main() {
    divan::main();
}

fn date() -> AmzDate {
    AmzDate::parse(DATE).expect("valid date")
}

#[divan::bench]
fn header_get(bencher: divan::Bencher) {
    let creds = Credentials::new(AK, SK);
    let mut cache = SigningKeyCache::new();
    let d = date();
    let headers = [
        ("host", HOST),
        ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
        ("x-amz-date", DATE),
    ];
    let req = SignableRequest {
        method: "GET",
        canonical_uri: URI,
        query: &[],
        headers: &headers,
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let auth = sign_request(&req, &creds, "us-east-1", &d, &mut cache);
    let wire: Vec<(&str, &[u8])> = vec![
        ("Host", HOST.as_bytes()),
        ("x-amz-content-sha256", UNSIGNED_PAYLOAD.as_bytes()),
        ("x-amz-date", DATE.as_bytes()),
        ("Authorization", auth.as_bytes()),
        ("User-Agent", b"bench"),
        ("Accept", b"*/*"),
    ];
    let secret = SecretKey::new(SK);
    let mut vcache = SigningKeyCache::new();
    bencher.bench_local(|| {
        let view = RequestView {
            method: "GET",
            raw_path: URI,
            raw_query: "",
            headers: &wire,
        };
        let v = verify_request(&view, |_| Some(&secret), &mut vcache, d.unix());
        assert!(v.is_ok());
        v
    });
}

#[divan::bench]
fn presigned_get(bencher: divan::Bencher) {
    let creds = Credentials::new(AK, SK);
    let mut cache = SigningKeyCache::new();
    let d = date();
    let req = SignableRequest {
        method: "GET",
        canonical_uri: URI,
        query: &[],
        headers: &[("host", HOST)],
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let url = presign_url(&req, &creds, "us-east-1", &d, 900, &mut cache).expect("presign");
    let (path, query) = url.split_once('?').expect("query");
    let wire: Vec<(&str, &[u8])> = vec![("Host", HOST.as_bytes()), ("User-Agent", b"bench")];
    let secret = SecretKey::new(SK);
    let mut vcache = SigningKeyCache::new();
    bencher.bench_local(|| {
        let view = RequestView {
            method: "GET",
            raw_path: path,
            raw_query: query,
            headers: &wire,
        };
        let v = verify_request(&view, |_| Some(&secret), &mut vcache, d.unix());
        assert!(v.is_ok());
        v
    });
}

/// One chunk signature check, given the chunk's SHA-256 (hashing the data is separate).
#[divan::bench]
fn chunk_signature(bencher: divan::Bencher) {
    let d = date();
    let scope = CredentialScope::new(d.date_stamp(), "us-east-1", SERVICE);
    let key = SigningKey::derive(&SecretKey::new(SK), &scope);
    let seed = key.sign(b"seed");
    let chunk_hash: [u8; 32] = Sha256::digest(b"chunk data").into();
    // Produce a long chain of valid signatures with a signer, verify them with a twin.
    let mut signer = ChunkSigner::new(key.clone(), d, &scope, seed);
    let sigs: Vec<String> = (0..1 << 16)
        .map(|_| signer.sign_chunk(&chunk_hash).to_hex().to_string())
        .collect();
    let mut verifier = ChunkSigner::new(key, d, &scope, seed);
    let mut i = 0usize;
    bencher.bench_local(|| {
        if i == sigs.len() {
            // Restart the chain so the benchmark can run as long as divan wants.
            verifier = ChunkSigner::new(
                SigningKey::derive(&SecretKey::new(SK), &scope),
                d,
                &scope,
                seed,
            );
            i = 0;
        }
        let ok = verifier.verify_chunk(&chunk_hash, sigs[i].as_bytes());
        i += 1;
        assert!(ok);
    });
}

/// Hashing one 64 KiB chunk's data: the per-chunk cost next to the signature check.
#[divan::bench]
fn chunk_sha256_64k(bencher: divan::Bencher) {
    let data = vec![7u8; 64 * 1024];
    bencher
        .counter(divan::counter::BytesCount::new(data.len()))
        .bench_local(|| Sha256::digest(&data));
}
