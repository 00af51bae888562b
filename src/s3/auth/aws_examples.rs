//! The worked examples of the AWS S3 SigV4 documentation, checked step by step (canonical
//! request, string to sign, signature) through both the verifier's and the signer's code paths.
//!
//! Sources: "Signature Calculations for the Authorization Header: Transferring Payload in a
//! Single Chunk", "... in Multiple Chunks (Chunked Upload)", "Signature calculations for trailing
//! headers", and "Authenticating Requests: Using Query Parameters". All use access key
//! AKIAIOSFODNN7EXAMPLE, date 20130524T000000Z, region us-east-1, bucket examplebucket.

#![allow(clippy::unwrap_used)]

use sha2::{Digest, Sha256};

use super::*;

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const AMZ: &str = "20130524T000000Z";
/// 20130524T000000Z as unix seconds.
const NOW: i64 = 1_369_353_600;
const HOST: &str = "examplebucket.s3.amazonaws.com";

fn scope() -> CredentialScope<'static> {
    CredentialScope::new("20130524", "us-east-1", "s3")
}

fn date() -> AmzDate {
    AmzDate::parse(AMZ).unwrap()
}

fn secret() -> SecretKey {
    SecretKey::from(SK)
}

fn creds() -> Credentials {
    Credentials::new(AK, SK)
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Canonical request, string to sign and signature of an incoming request, exactly as the
/// verifier computes them.
fn server_side(
    req: &RequestView<'_>,
    signed_headers: &str,
    payload_hash: &str,
    presigned: bool,
) -> (String, String, Signature) {
    let input = CanonicalInput {
        request: req,
        signed_headers,
        payload_hash,
        path: PathForm::Normalized,
        exclude_signature_param: presigned,
    };
    let canonical = canonical_request(&input).unwrap();
    assert_eq!(
        hex::encode(canonical_request_sha256(&input).unwrap()),
        sha_hex(canonical.as_bytes()),
        "streamed hash differs from the hash of the text"
    );
    let sts = string_to_sign(&date(), &scope(), &sha_hex(canonical.as_bytes()));
    let key = signing_key(&secret(), "20130524", "us-east-1", "s3");
    let sig = signature(&key, sts.as_bytes());
    (canonical, sts, sig)
}

fn sts_for(canonical_hash: &str) -> String {
    format!("AWS4-HMAC-SHA256\n{AMZ}\n20130524/us-east-1/s3/aws4_request\n{canonical_hash}")
}

#[test]
fn signing_key_example() {
    assert_eq!(
        hex::encode(signing_key(&secret(), "20130524", "us-east-1", "s3")),
        "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378"
    );
}

// ---------------------------------------------------------------- single chunk: GET Object

const GET_OBJECT_CANONICAL: &str = "GET
/test.txt

host:examplebucket.s3.amazonaws.com
range:bytes=0-9
x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-amz-date:20130524T000000Z

host;range;x-amz-content-sha256;x-amz-date
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const GET_OBJECT_SIG: &str = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";

fn get_object_headers(auth: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("Host", HOST.into()),
        ("Authorization", auth.as_bytes().to_vec()),
        ("Range", b"bytes=0-9".to_vec()),
        ("x-amz-content-sha256", EMPTY_SHA256_HEX.into()),
        ("x-amz-date", AMZ.into()),
    ]
}

fn view<'a>(
    method: &'a str,
    path: &'a str,
    query: &'a str,
    headers: &'a [(&'a str, &'a [u8])],
) -> RequestView<'a> {
    RequestView {
        method,
        raw_path: path,
        raw_query: query,
        headers,
    }
}

fn borrow_headers<'a>(owned: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    owned.iter().map(|(n, v)| (*n, v.as_slice())).collect()
}

#[test]
fn get_object_example() {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature={GET_OBJECT_SIG}"
    );
    let owned = get_object_headers(&auth);
    let headers = borrow_headers(&owned);
    let req = view("GET", "/test.txt", "", &headers);
    let (canonical, sts, sig) = server_side(
        &req,
        "host;range;x-amz-content-sha256;x-amz-date",
        EMPTY_SHA256_HEX,
        false,
    );
    assert_eq!(canonical, GET_OBJECT_CANONICAL);
    assert_eq!(
        sts,
        sts_for("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
    );
    assert_eq!(sig.to_hex().as_str(), GET_OBJECT_SIG);

    // Client side produces the documented Authorization header.
    let mut cache = SigningKeyCache::new();
    let signable = SignableRequest {
        method: "GET",
        canonical_uri: "/test.txt",
        query: &[],
        headers: &[
            ("Host", HOST),
            ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256_HEX),
            ("x-amz-date", AMZ),
        ],
        payload_hash: EMPTY_SHA256_HEX,
    };
    assert_eq!(signable_canonical_request(&signable), GET_OBJECT_CANONICAL);
    assert_eq!(
        sign_request(&signable, &creds(), "us-east-1", &date(), &mut cache),
        auth
    );

    // And the verifier accepts the request.
    let v = verify_request(&req, |ak| (ak == AK).then(secret), &mut cache, NOW).unwrap();
    assert_eq!(v.access_key_id, AK);
    assert_eq!(v.region, "us-east-1");
    assert_eq!(v.kind, AuthKind::Header);
    assert!(v.chunk_signer.is_none());
    let PayloadSigning::Sha256(h) = v.payload else {
        panic!("expected a payload hash");
    };
    assert_eq!(hex::encode(h), EMPTY_SHA256_HEX);
}

// ---------------------------------------------------------------- single chunk: PUT Object

const PUT_OBJECT_CANONICAL: &str = "PUT
/test%24file.text

date:Fri, 24 May 2013 00:00:00 GMT
host:examplebucket.s3.amazonaws.com
x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
x-amz-date:20130524T000000Z
x-amz-storage-class:REDUCED_REDUNDANCY

date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
const PUT_OBJECT_SIG: &str = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd";

#[test]
fn put_object_example() {
    let body_hash = sha_hex(b"Welcome to Amazon S3.");
    assert_eq!(
        body_hash,
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    );
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature={PUT_OBJECT_SIG}"
    );
    let headers: Vec<(&str, &[u8])> = vec![
        ("Host", HOST.as_bytes()),
        ("Date", b"Fri, 24 May 2013 00:00:00 GMT"),
        ("Authorization", auth.as_bytes()),
        ("x-amz-date", AMZ.as_bytes()),
        ("x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        ("x-amz-content-sha256", body_hash.as_bytes()),
    ];
    // The documented request line is `PUT test$file.text`; on the wire `$` may come raw or
    // escaped, both canonicalise to %24.
    for path in ["/test$file.text", "/test%24file.text"] {
        let req = view("PUT", path, "", &headers);
        let (canonical, sts, sig) = server_side(
            &req,
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            &body_hash,
            false,
        );
        assert_eq!(canonical, PUT_OBJECT_CANONICAL);
        assert_eq!(
            sts,
            sts_for("9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d")
        );
        assert_eq!(sig.to_hex().as_str(), PUT_OBJECT_SIG);
        let mut cache = SigningKeyCache::new();
        let v = verify_request(&req, |_| Some(secret()), &mut cache, NOW).unwrap();
        assert!(matches!(v.payload, PayloadSigning::Sha256(_)));
    }

    let signable = SignableRequest {
        method: "PUT",
        canonical_uri: &format!("/{}", uri_encode("test$file.text", true)),
        query: &[],
        headers: &[
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("Host", HOST),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", &body_hash),
            ("x-amz-date", AMZ),
        ],
        payload_hash: &body_hash,
    };
    assert_eq!(signable_canonical_request(&signable), PUT_OBJECT_CANONICAL);
    let mut cache = SigningKeyCache::new();
    assert_eq!(
        sign_request(&signable, &creds(), "us-east-1", &date(), &mut cache),
        auth
    );
}

// ---------------------------------------------------------------- single chunk: bucket GETs

fn bucket_get_example(
    raw_query: &str,
    client_query: &[(&str, &str)],
    canonical_query: &str,
    canonical_hash: &str,
    sig_hex: &str,
) {
    let expected_canonical = format!(
        "GET\n/\n{canonical_query}\nhost:{HOST}\nx-amz-content-sha256:{EMPTY_SHA256_HEX}\nx-amz-date:{AMZ}\n\nhost;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256_HEX}"
    );
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature={sig_hex}"
    );
    let headers: Vec<(&str, &[u8])> = vec![
        ("Host", HOST.as_bytes()),
        ("x-amz-date", AMZ.as_bytes()),
        ("x-amz-content-sha256", EMPTY_SHA256_HEX.as_bytes()),
        ("Authorization", auth.as_bytes()),
    ];
    let req = view("GET", "/", raw_query, &headers);
    let (canonical, sts, sig) = server_side(
        &req,
        "host;x-amz-content-sha256;x-amz-date",
        EMPTY_SHA256_HEX,
        false,
    );
    assert_eq!(canonical, expected_canonical);
    assert_eq!(sts, sts_for(canonical_hash));
    assert_eq!(sig.to_hex().as_str(), sig_hex);
    let mut cache = SigningKeyCache::new();
    verify_request(&req, |_| Some(secret()), &mut cache, NOW).unwrap();

    let signable = SignableRequest {
        method: "GET",
        canonical_uri: "/",
        query: client_query,
        headers: &[
            ("host", HOST),
            ("x-amz-content-sha256", EMPTY_SHA256_HEX),
            ("x-amz-date", AMZ),
        ],
        payload_hash: EMPTY_SHA256_HEX,
    };
    assert_eq!(signable_canonical_request(&signable), expected_canonical);
    assert_eq!(
        sign_request(&signable, &creds(), "us-east-1", &date(), &mut cache),
        auth
    );
}

#[test]
fn get_bucket_lifecycle_example() {
    bucket_get_example(
        "lifecycle",
        &[("lifecycle", "")],
        "lifecycle=",
        "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    );
}

#[test]
fn get_bucket_list_objects_example() {
    bucket_get_example(
        "max-keys=2&prefix=J",
        &[("prefix", "J"), ("max-keys", "2")],
        "max-keys=2&prefix=J",
        "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    );
}

// ---------------------------------------------------------------- presigned URL

const PRESIGNED_QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

#[test]
fn presigned_url_example() {
    let headers: Vec<(&str, &[u8])> = vec![("Host", HOST.as_bytes())];
    let req = view("GET", "/test.txt", PRESIGNED_QUERY, &headers);
    let (canonical, sts, sig) = server_side(&req, "host", UNSIGNED_PAYLOAD, true);
    assert_eq!(
        canonical,
        "GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD"
    );
    assert_eq!(
        sts,
        sts_for("3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
    );
    assert_eq!(
        sig.to_hex().as_str(),
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    );

    let mut cache = SigningKeyCache::new();
    let v = verify_request(&req, |_| Some(secret()), &mut cache, NOW + 3600).unwrap();
    assert_eq!(v.kind, AuthKind::Presigned);
    assert_eq!(v.payload, PayloadSigning::Unsigned);

    let signable = SignableRequest {
        method: "GET",
        canonical_uri: "/test.txt",
        query: &[],
        headers: &[("Host", HOST)],
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let url = presign_url(
        &signable,
        &creds(),
        "us-east-1",
        &date(),
        86_400,
        &mut cache,
    )
    .unwrap();
    assert_eq!(url, format!("/test.txt?{PRESIGNED_QUERY}"));
}

// ---------------------------------------------------------------- chunked upload

const CHUNKED_CANONICAL: &str = "PUT
/examplebucket/chunkObject.txt

content-encoding:aws-chunked
content-length:66824
host:s3.amazonaws.com
x-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD
x-amz-date:20130524T000000Z
x-amz-decoded-content-length:66560
x-amz-storage-class:REDUCED_REDUNDANCY

content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class
STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const CHUNKED_SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
const CHUNKED_SIGS: [&str; 3] = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
];

/// The example's three chunks: 64 KiB, 1 KiB and 0 bytes of `a`.
fn chunk_hashes() -> [[u8; 32]; 3] {
    [
        Sha256::digest(vec![b'a'; 65_536]).into(),
        Sha256::digest(vec![b'a'; 1024]).into(),
        Sha256::digest(b"").into(),
    ]
}

#[test]
fn chunked_upload_example() {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature={CHUNKED_SEED}"
    );
    let headers: Vec<(&str, &[u8])> = vec![
        ("Host", b"s3.amazonaws.com"),
        ("x-amz-date", AMZ.as_bytes()),
        ("x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        ("Authorization", auth.as_bytes()),
        (
            "x-amz-content-sha256",
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        ),
        ("Content-Encoding", b"aws-chunked"),
        ("x-amz-decoded-content-length", b"66560"),
        ("Content-Length", b"66824"),
    ];
    let req = view("PUT", "/examplebucket/chunkObject.txt", "", &headers);
    let (canonical, sts, sig) = server_side(
        &req,
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        false,
    );
    assert_eq!(canonical, CHUNKED_CANONICAL);
    assert_eq!(
        sts,
        sts_for("cee3fed04b70f867d036f722359b0b1f2f0e5dc0efadbc082b76c4c60e316455")
    );
    assert_eq!(sig.to_hex().as_str(), CHUNKED_SEED);

    // Chunk string to sign, as the docs print the first one.
    let hashes = chunk_hashes();
    assert_eq!(
        hex::encode(hashes[0]),
        "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a"
    );
    assert_eq!(
        hex::encode(hashes[1]),
        "2edc986847e209b4016e141a6dc8716d3207350f416969382d431539bf292e4a"
    );
    let first_sts = format!(
        "AWS4-HMAC-SHA256-PAYLOAD\n{AMZ}\n20130524/us-east-1/s3/aws4_request\n{CHUNKED_SEED}\n{EMPTY_SHA256_HEX}\nbf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a"
    );
    let key = signing_key(&secret(), "20130524", "us-east-1", "s3");
    assert_eq!(
        signature(&key, first_sts.as_bytes()).to_hex().as_str(),
        CHUNKED_SIGS[0]
    );

    // The verifier hands out a chunk signer seeded with the request signature ...
    let mut cache = SigningKeyCache::new();
    let v = verify_request(&req, |_| Some(secret()), &mut cache, NOW).unwrap();
    assert_eq!(v.payload, PayloadSigning::StreamingSigned);
    let mut verifier = v.chunk_signer.unwrap();
    assert_eq!(
        verifier.previous_signature().to_hex().as_str(),
        CHUNKED_SEED
    );
    // ... which accepts the documented chain (through the decoder's trait) ...
    {
        let dynv: &mut dyn ChunkVerifier = &mut verifier;
        for (h, s) in hashes.iter().zip(CHUNKED_SIGS) {
            assert!(dynv.verify_chunk(h, s.as_bytes()));
        }
    }
    // ... and a producer signer reproduces it.
    let seed = Signature::from_hex(CHUNKED_SEED.as_bytes()).unwrap();
    let mut producer = ChunkSigner::new(SigningKey::from_bytes(key), date(), &scope(), seed);
    for (h, s) in hashes.iter().zip(CHUNKED_SIGS) {
        assert_eq!(producer.sign_chunk(h).to_hex().as_str(), s);
    }
    // Out of order or with a modified chunk the chain breaks.
    let mut v2 = ChunkSigner::new(SigningKey::from_bytes(key), date(), &scope(), seed);
    assert!(!v2.verify_chunk(&hashes[1], CHUNKED_SIGS[0].as_bytes()));
    assert!(!v2.verify_chunk(&hashes[0], CHUNKED_SIGS[1].as_bytes()));
}

// ---------------------------------------------------------------- chunked upload + trailer

const TRAILER_SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
const TRAILER_CHUNK_SIGS: [&str; 3] = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
];
const TRAILER_SIG: &str = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";

#[test]
fn chunked_upload_with_trailer_example() {
    let signed = "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer";
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders={signed},Signature={TRAILER_SEED}"
    );
    let headers: Vec<(&str, &[u8])> = vec![
        ("Host", b"s3.amazonaws.com"),
        ("x-amz-date", AMZ.as_bytes()),
        ("x-amz-storage-class", b"REDUCED_REDUNDANCY"),
        ("Authorization", auth.as_bytes()),
        (
            "x-amz-content-sha256",
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        ),
        ("Content-Encoding", b"aws-chunked"),
        ("x-amz-decoded-content-length", b"66560"),
        ("x-amz-trailer", b"x-amz-checksum-crc32c"),
        ("Content-Length", b"66824"),
    ];
    let req = view("PUT", "/examplebucket/chunkObject.txt", "", &headers);
    let (canonical, sts, sig) = server_side(
        &req,
        signed,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        false,
    );
    assert_eq!(
        canonical,
        "PUT\n/examplebucket/chunkObject.txt\n\ncontent-encoding:aws-chunked\nhost:s3.amazonaws.com\nx-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER\nx-amz-date:20130524T000000Z\nx-amz-decoded-content-length:66560\nx-amz-storage-class:REDUCED_REDUNDANCY\nx-amz-trailer:x-amz-checksum-crc32c\n\ncontent-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer\nSTREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    );
    assert_eq!(
        sts,
        sts_for("44d48b8c2f70eae815a0198cc73d7a546a73a93359c070abbaa5e6c7de112559")
    );
    assert_eq!(sig.to_hex().as_str(), TRAILER_SEED);

    let mut cache = SigningKeyCache::new();
    let v = verify_request(&req, |_| Some(secret()), &mut cache, NOW).unwrap();
    assert_eq!(v.payload, PayloadSigning::StreamingSignedTrailer);
    let mut verifier = v.chunk_signer.unwrap();
    for (h, s) in chunk_hashes().iter().zip(TRAILER_CHUNK_SIGS) {
        assert!(verifier.verify_chunk(h, s.as_bytes()), "{s}");
    }
    let trailer = b"x-amz-checksum-crc32c:sOO8/Q==\n";
    assert_eq!(
        sha_hex(trailer),
        "1e376db7e1a34a8ef1c4bcee131a2d60a1cb62503747488624e10995f448d774"
    );
    assert!(!verifier.verify_trailer(b"x-amz-checksum-crc32c:sOO8/R==\n", TRAILER_SIG.as_bytes()));
    assert!(verifier.verify_trailer(trailer, TRAILER_SIG.as_bytes()));

    let key = SigningKey::from_bytes(signing_key(&secret(), "20130524", "us-east-1", "s3"));
    let seed = Signature::from_hex(TRAILER_SEED.as_bytes()).unwrap();
    let mut producer = ChunkSigner::new(key, date(), &scope(), seed);
    for h in chunk_hashes() {
        producer.sign_chunk(&h);
    }
    assert_eq!(
        producer.sign_trailer(trailer).to_hex().as_str(),
        TRAILER_SIG
    );
}
