//! Every `x-amz-content-sha256` payload form, body checksum and authentication outcome through
//! the real server (in-process, loopback, local-directory backend), signed with the crate's own
//! public client-side SigV4 (`sign_request`, `ChunkSigner`, `presign_url`).
//!
//! Each rejected upload is followed by a GET proving nothing was committed.

// Helpers outside #[test] functions fail loudly too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use s3_orchestrator::s3::auth::{presign_url, SignableRequest, SigningKeyCache};

const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// Chunk size of the streaming uploads: S3's minimum for non-final chunks.
const CHUNK: usize = 8 * 1024;

/// A streaming PUT of `data` as `alpha`: headers for `mode`, body left to the caller.
fn streaming_put(srv: &TestServer, path: &str, mode: &str, data: &[u8], trailer: bool) -> Req {
    let mut r = srv
        .signed(ALPHA, "PUT", path)
        .body_with_hash(&[], mode)
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", &data.len().to_string());
    if trailer {
        r = r.header("x-amz-trailer", "x-amz-checksum-crc32");
    }
    r
}

#[test]
fn hex_sha256_correct_is_stored() {
    let srv = TestServer::start();
    let data = pattern(20_000, 1);
    let r = srv.send(&srv.signed(ALPHA, "PUT", "/alpha/hex-ok").body_sha256(&data));
    r.assert_ok();
    assert!(r.header("etag").is_some(), "no ETag: {:?}", r.headers);
    srv.assert_content("/alpha/hex-ok", &data);
}

#[test]
fn hex_sha256_wrong_is_refused_and_not_committed() {
    let srv = TestServer::start();
    let data = pattern(20_000, 2);
    let wrong = sha256_hex(b"something else");
    srv.assert_upload_refused(
        &srv.signed(ALPHA, "PUT", "/alpha/hex-bad")
            .body_with_hash(&data, &wrong),
        400,
        "XAmzContentSHA256Mismatch",
        "/alpha/hex-bad",
        None,
    );

    // Over an existing object: the old content is still served.
    let old = pattern(5_000, 3);
    srv.put_ok("/alpha/hex-over", &old);
    srv.assert_upload_refused(
        &srv.signed(ALPHA, "PUT", "/alpha/hex-over")
            .body_with_hash(&data, &wrong),
        400,
        "XAmzContentSHA256Mismatch",
        "/alpha/hex-over",
        Some(&old),
    );
}

#[test]
fn unsigned_payload_is_stored() {
    let srv = TestServer::start();
    let data = pattern(12_345, 4);
    let r = srv.send(
        &srv.signed(ALPHA, "PUT", "/alpha/unsigned")
            .body_with_hash(&data, "UNSIGNED-PAYLOAD"),
    );
    r.assert_ok();
    srv.assert_content("/alpha/unsigned", &data);
}

#[test]
fn streaming_signed_chunks() {
    let srv = TestServer::start();
    // Three full chunks and a short last one.
    let data = pattern(3 * CHUNK + 100, 5);

    let mut req = streaming_put(&srv, "/alpha/stream-ok", STREAMING_SIGNED, &data, false);
    let mut signer = req.chunk_signer();
    req.body = aws_chunked(&data, CHUNK, Some(&mut signer), None);
    srv.send(&req).assert_ok();
    srv.assert_content("/alpha/stream-ok", &data);

    // One chunk signature tampered with (the second chunk's, one hex digit changed).
    let mut req = streaming_put(&srv, "/alpha/stream-badsig", STREAMING_SIGNED, &data, false);
    let mut signer = req.chunk_signer();
    let mut body = aws_chunked(&data, CHUNK, Some(&mut signer), None);
    let second = nth_signature_offset(&body, 1);
    body[second] = if body[second] == b'0' { b'1' } else { b'0' };
    req.body = body;
    srv.assert_upload_refused(
        &req,
        403,
        "SignatureDoesNotMatch",
        "/alpha/stream-badsig",
        None,
    );

    // Chunk data tampered with, signatures left as they were.
    let mut req = streaming_put(
        &srv,
        "/alpha/stream-baddata",
        STREAMING_SIGNED,
        &data,
        false,
    );
    let mut signer = req.chunk_signer();
    let mut body = aws_chunked(&data, CHUNK, Some(&mut signer), None);
    let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
    body[line_end + 2 + 10] ^= 0xff;
    req.body = body;
    srv.assert_upload_refused(
        &req,
        403,
        "SignatureDoesNotMatch",
        "/alpha/stream-baddata",
        None,
    );

    // A tampered upload over an existing object leaves the old one in place.
    let mut req = streaming_put(&srv, "/alpha/stream-ok", STREAMING_SIGNED, &data, false);
    let mut signer = req.chunk_signer();
    let mut body = aws_chunked(&pattern(3 * CHUNK + 100, 6), CHUNK, Some(&mut signer), None);
    let last = nth_signature_offset(&body, 3);
    body[last] = if body[last] == b'a' { b'b' } else { b'a' };
    req.body = body;
    srv.assert_upload_refused(
        &req,
        403,
        "SignatureDoesNotMatch",
        "/alpha/stream-ok",
        Some(&data),
    );
}

/// Offset of the first hex digit of the `n`th (0-based) `chunk-signature=` in `body`.
fn nth_signature_offset(body: &[u8], n: usize) -> usize {
    let pat = b"chunk-signature=";
    body.windows(pat.len())
        .enumerate()
        .filter(|(_, w)| *w == pat)
        .nth(n)
        .map(|(i, _)| i + pat.len())
        .unwrap()
}

#[test]
fn streaming_unsigned_trailer() {
    let srv = TestServer::start();
    let data = pattern(2 * CHUNK + 7, 7);

    let good = crc32_b64(&data);
    let mut req = streaming_put(
        &srv,
        "/alpha/trailer-ok",
        STREAMING_UNSIGNED_TRAILER,
        &data,
        true,
    );
    req.body = aws_chunked(&data, CHUNK, None, Some(("x-amz-checksum-crc32", &good)));
    srv.send(&req).assert_ok();
    srv.assert_content("/alpha/trailer-ok", &data);

    let bad = crc32_b64(b"not the data");
    let mut req = streaming_put(
        &srv,
        "/alpha/trailer-bad",
        STREAMING_UNSIGNED_TRAILER,
        &data,
        true,
    );
    req.body = aws_chunked(&data, CHUNK, None, Some(("x-amz-checksum-crc32", &bad)));
    srv.assert_upload_refused(&req, 400, "BadDigest", "/alpha/trailer-bad", None);
}

#[test]
fn streaming_signed_trailer() {
    let srv = TestServer::start();
    let data = pattern(2 * CHUNK + 300, 8);
    let good = crc32_b64(&data);

    let mut req = streaming_put(
        &srv,
        "/alpha/strailer-ok",
        STREAMING_SIGNED_TRAILER,
        &data,
        true,
    );
    let mut signer = req.chunk_signer();
    req.body = aws_chunked(
        &data,
        CHUNK,
        Some(&mut signer),
        Some(("x-amz-checksum-crc32", &good)),
    );
    srv.send(&req).assert_ok();
    srv.assert_content("/alpha/strailer-ok", &data);

    // The trailer's value changed after signing: the trailer signature no longer matches.
    let mut req = streaming_put(
        &srv,
        "/alpha/strailer-tampered",
        STREAMING_SIGNED_TRAILER,
        &data,
        true,
    );
    let mut signer = req.chunk_signer();
    let body = aws_chunked(
        &data,
        CHUNK,
        Some(&mut signer),
        Some(("x-amz-checksum-crc32", &good)),
    );
    let forged = crc32_b64(b"forged");
    let text_pos = body
        .windows(good.len())
        .rposition(|w| w == good.as_bytes())
        .unwrap();
    let mut tampered = body[..text_pos].to_vec();
    tampered.extend_from_slice(forged.as_bytes());
    tampered.extend_from_slice(&body[text_pos + good.len()..]);
    req.body = tampered;
    srv.assert_upload_refused(
        &req,
        403,
        "SignatureDoesNotMatch",
        "/alpha/strailer-tampered",
        None,
    );

    // The trailer signature itself tampered with.
    let mut req = streaming_put(
        &srv,
        "/alpha/strailer-badsig",
        STREAMING_SIGNED_TRAILER,
        &data,
        true,
    );
    let mut signer = req.chunk_signer();
    let mut body = aws_chunked(
        &data,
        CHUNK,
        Some(&mut signer),
        Some(("x-amz-checksum-crc32", &good)),
    );
    let pat = b"x-amz-trailer-signature:";
    let at = body.windows(pat.len()).position(|w| w == pat).unwrap() + pat.len();
    body[at] = if body[at] == b'0' { b'1' } else { b'0' };
    req.body = body;
    srv.assert_upload_refused(
        &req,
        403,
        "SignatureDoesNotMatch",
        "/alpha/strailer-badsig",
        None,
    );

    // Correctly signed, but the checksum is wrong: BadDigest.
    let mut req = streaming_put(
        &srv,
        "/alpha/strailer-baddigest",
        STREAMING_SIGNED_TRAILER,
        &data,
        true,
    );
    let mut signer = req.chunk_signer();
    req.body = aws_chunked(
        &data,
        CHUNK,
        Some(&mut signer),
        Some(("x-amz-checksum-crc32", &forged)),
    );
    srv.assert_upload_refused(&req, 400, "BadDigest", "/alpha/strailer-baddigest", None);
}

#[test]
fn content_md5() {
    let srv = TestServer::start();
    let data = pattern(9_000, 9);
    let md5 = b64(&md5_digest(&data));

    let r = srv.send(
        &srv.signed(ALPHA, "PUT", "/alpha/md5-ok")
            .body_sha256(&data)
            .header("content-md5", &md5),
    );
    r.assert_ok();
    assert_eq!(
        r.header("etag"),
        Some(format!("\"{}\"", hex::encode(md5_digest(&data))).as_str()),
        "the ETag of a single PUT is the MD5"
    );
    srv.assert_content("/alpha/md5-ok", &data);

    srv.assert_upload_refused(
        &srv.signed(ALPHA, "PUT", "/alpha/md5-bad")
            .body_with_hash(&data, "UNSIGNED-PAYLOAD")
            .header("content-md5", &b64(&md5_digest(b"other"))),
        400,
        "BadDigest",
        "/alpha/md5-bad",
        None,
    );

    srv.assert_upload_refused(
        &srv.signed(ALPHA, "PUT", "/alpha/md5-malformed")
            .body_with_hash(&data, "UNSIGNED-PAYLOAD")
            .header("content-md5", "not-base64!!"),
        400,
        "InvalidDigest",
        "/alpha/md5-malformed",
        None,
    );
}

fn md5_digest(data: &[u8]) -> [u8; 16] {
    use md5::Digest;
    md5::Md5::digest(data).into()
}

#[test]
fn checksum_sha256_header() {
    let srv = TestServer::start();
    let data = pattern(4_321, 10);

    let r = srv.send(
        &srv.signed(ALPHA, "PUT", "/alpha/cks-ok")
            .body_with_hash(&data, "UNSIGNED-PAYLOAD")
            .header("x-amz-checksum-sha256", &b64(&sha256(&data))),
    );
    r.assert_ok();
    srv.assert_content("/alpha/cks-ok", &data);

    srv.assert_upload_refused(
        &srv.signed(ALPHA, "PUT", "/alpha/cks-bad")
            .body_with_hash(&data, "UNSIGNED-PAYLOAD")
            .header("x-amz-checksum-sha256", &b64(&sha256(b"other"))),
        400,
        "BadDigest",
        "/alpha/cks-bad",
        None,
    );
}

/// Several checksums in one request: S3 checks one per request, so any second one (another
/// algorithm, or the same header twice, or a second Content-MD5) is refused, not skipped. The
/// wrong one comes second and then first, so neither "last wins" nor "first wins" passes.
#[test]
fn several_checksums_are_refused_not_half_checked() {
    let srv = TestServer::start();
    let data = pattern(5_000, 11);
    let right_sha = b64(&sha256(&data));
    let wrong_crc = crc32_b64(b"other");
    let right_crc = crc32_b64(&data);
    let right_md5 = b64(&md5_digest(&data));
    let wrong_md5 = b64(&md5_digest(b"other"));
    // (name, the two headers in order, the expected error code)
    type Case<'a> = (&'a str, [(&'a str, &'a str); 2], &'a str);
    let cases: [Case; 5] = [
        (
            "sha-then-crc",
            [
                ("x-amz-checksum-sha256", &right_sha),
                ("x-amz-checksum-crc32", &wrong_crc),
            ],
            "InvalidRequest",
        ),
        (
            "crc-then-sha",
            [
                ("x-amz-checksum-crc32", &wrong_crc),
                ("x-amz-checksum-sha256", &right_sha),
            ],
            "InvalidRequest",
        ),
        (
            "both-right",
            [
                ("x-amz-checksum-crc32", &right_crc),
                ("x-amz-checksum-sha256", &right_sha),
            ],
            "InvalidRequest",
        ),
        (
            "crc-twice",
            [
                ("x-amz-checksum-crc32", &right_crc),
                ("x-amz-checksum-crc32", &wrong_crc),
            ],
            "InvalidRequest",
        ),
        (
            "md5-twice",
            [("content-md5", &right_md5), ("content-md5", &wrong_md5)],
            "InvalidDigest",
        ),
    ];
    for (name, headers, code) in cases {
        let path = format!("/alpha/several-{name}");
        let mut req = srv
            .signed(ALPHA, "PUT", &path)
            .body_with_hash(&data, "UNSIGNED-PAYLOAD");
        for (h, v) in headers {
            req = req.header(h, v);
        }
        srv.assert_upload_refused(&req, 400, code, &path, None);
    }
    // One checksum and one Content-MD5, both right, are fine (each is checked).
    let r = srv.send(
        &srv.signed(ALPHA, "PUT", "/alpha/several-ok")
            .body_with_hash(&data, "UNSIGNED-PAYLOAD")
            .header("content-md5", &right_md5)
            .header("x-amz-checksum-sha256", &right_sha),
    );
    r.assert_ok();
    srv.assert_content("/alpha/several-ok", &data);
}

/// A presigned GET of `path` as `alpha`, signed at `signed_at` for `expires` seconds.
fn presigned_target(srv: &TestServer, path: &str, signed_at: i64, expires: u32) -> String {
    let host = srv.host();
    let headers = [("host", host.as_str())];
    let req = SignableRequest {
        method: "GET",
        canonical_uri: path,
        query: &[],
        headers: &headers,
        payload_hash: "UNSIGNED-PAYLOAD",
    };
    let mut cache = SigningKeyCache::new();
    presign_url(
        &req,
        &ALPHA.credentials(),
        REGION,
        &amz_date(signed_at),
        expires,
        &mut cache,
    )
    .unwrap()
}

fn raw_get(srv: &TestServer, target: &str) -> Response {
    let mut c = srv.connect();
    c.send(format!("GET {target} HTTP/1.1\r\nHost: {}\r\n\r\n", srv.host()).as_bytes());
    c.read_response(false).unwrap()
}

#[test]
fn presigned_get_and_expiry() {
    let srv = TestServer::start();
    let data = pattern(3_000, 11);
    srv.put_ok("/alpha/presigned", &data);

    let target = presigned_target(&srv, "/alpha/presigned", now_unix(), 300);
    let r = raw_get(&srv, &target);
    r.assert_ok();
    assert!(r.body == data, "presigned GET content differs");

    // Signed an hour ago for one minute.
    let target = presigned_target(&srv, "/alpha/presigned", now_unix() - 3600, 60);
    raw_get(&srv, &target).assert_error(403, "AccessDenied");

    // A valid presigned URL whose signature was altered.
    let target = presigned_target(&srv, "/alpha/presigned", now_unix(), 300);
    let forged = target.replace("/alpha/presigned", "/alpha/presigneX");
    raw_get(&srv, &forged).assert_error(403, "SignatureDoesNotMatch");
}

#[test]
fn clock_skew() {
    let srv = TestServer::start();
    for offset in [-20 * 60, 20 * 60] {
        let r = srv.send(&srv.signed(ALPHA, "GET", "/").date(now_unix() + offset));
        r.assert_error(403, "RequestTimeTooSkewed");
    }
    // Within the 15-minute window still works.
    let r = srv.send(&srv.signed(ALPHA, "GET", "/").date(now_unix() - 10 * 60));
    r.assert_ok();
}

#[test]
fn credential_errors() {
    let srv = TestServer::start();
    let unknown = Cred {
        access_key: "AKIDUNKNOWN",
        secret: "whatever",
    };
    srv.send(&srv.signed(unknown, "GET", "/alpha"))
        .assert_error(403, "InvalidAccessKeyId");

    srv.send(&srv.signed(ALPHA, "GET", "/alpha").secret("wrong-secret"))
        .assert_error(403, "SignatureDoesNotMatch");

    // alpha's credential on beta, for a read and a write.
    srv.send(&srv.signed(ALPHA, "GET", "/beta"))
        .assert_error(403, "AccessDenied");
    srv.send(&srv.signed(ALPHA, "PUT", "/beta/k").body_sha256(b"x"))
        .assert_error(403, "AccessDenied");
    // beta's own credential is fine there, and ListBuckets shows each credential its bucket.
    srv.send(&srv.signed(BETA, "GET", "/beta").query("list-type", "2"))
        .assert_ok();
    let r = srv.send(&srv.signed(ALPHA, "GET", "/"));
    r.assert_ok();
    assert!(
        r.body_text().contains("<Name>alpha</Name>"),
        "{}",
        r.body_text()
    );
    assert!(
        !r.body_text().contains("<Name>beta</Name>"),
        "{}",
        r.body_text()
    );

    // No authentication at all.
    let r = raw_get(&srv, "/alpha/k");
    r.assert_error(403, "AccessDenied");
}

#[test]
fn unsupported_operation() {
    let srv = TestServer::start();
    let r = srv.send(&srv.signed(ALPHA, "GET", "/alpha").query("torrent", ""));
    r.assert_error(501, "NotImplemented");
}
