//! The HTTP/1.1 layer through raw sockets against the in-process server: malformed and oversized
//! heads, slow clients and the timeouts that cut them off, keep-alive, pipelining,
//! `Expect: 100-continue` and chunked request bodies.
//!
//! Byte counts of the oversized cases are chosen so that the server has read everything the
//! client sent when it answers: closing a socket with unread input makes the kernel send a reset,
//! which could destroy the answer before the client reads it.

// Helpers outside #[test] functions fail loudly too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use s3_orchestrator::http::limits::{
    MAX_HEADERS, MAX_HEAD_BYTES, MAX_REQUEST_LINE_BYTES, MAX_URI_BYTES,
};
use std::time::{Duration, Instant};

/// Sends `bytes` on a fresh connection and expects one 400 XML error (`code`) and a close.
fn expect_rejected(srv: &TestServer, bytes: &[u8], status: u16, code: &str, what: &str) {
    let mut c = srv.connect();
    c.send(bytes);
    let r = c
        .read_response(false)
        .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
    assert_eq!(
        (r.status, r.code().as_deref()),
        (status, Some(code)),
        "{what}: {}",
        r.body_text()
    );
    r.assert_error(status, code);
    assert!(r.closes(), "{what}: no Connection: close ({:?})", r.headers);
    if let Err(e) = c.wait_closed(IO_TIMEOUT) {
        panic!("{what}: connection left open: {e}");
    }
}

/// The first bytes of a TLS 1.2/1.3 ClientHello record, as a client speaking TLS to the plain
/// port sends them.
fn tls_client_hello() -> Vec<u8> {
    let mut v = vec![
        0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03,
    ];
    v.extend(pattern(32, 1)); // random
    v.push(0x20); // session id length
    v.extend(pattern(32, 2));
    v.extend([
        0x00, 0x08, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b, 0xc0, 0x2f, 0x01, 0x00,
    ]);
    v.extend([0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09]);
    v.extend(b"127.0.0.1");
    v
}

#[test]
fn malformed_heads_get_400_and_close() {
    let srv = TestServer::start();
    let cases: Vec<(&str, Vec<u8>)> =
        vec![
        ("garbage", b"GARBAGE\r\n\r\n".to_vec()),
        ("binary garbage", b"\x01\x02\x03\x04hello\r\n\r\n".to_vec()),
        ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n".to_vec()),
        ("bare LF in headers", b"GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n".to_vec()),
        ("NUL in target", b"GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("NUL in header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".to_vec()),
        ("header without colon", b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n".to_vec()),
        ("space before colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n".to_vec()),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\n  folded\r\n\r\n".to_vec()),
        ("absolute-form target", b"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        (
            "two Content-Lengths",
            b"PUT /alpha/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
                .to_vec(),
        ),
        ("TLS ClientHello", tls_client_hello()),
    ];
    for (what, bytes) in cases {
        expect_rejected(&srv, &bytes, 400, "BadRequest", what);
    }
    // The server still serves afterwards.
    srv.send(&srv.signed(ALPHA, "GET", "/")).assert_ok();
}

#[test]
fn oversized_heads() {
    let srv = TestServer::start();

    // A head that reaches MAX_HEAD_BYTES without ending: 431.
    let mut head = b"GET /alpha/k HTTP/1.1\r\nHost: x\r\n".to_vec();
    let mut i = 0;
    while head.len() < MAX_HEAD_BYTES {
        let line = format!("X-Pad-{i}: {}\r\n", "a".repeat(2000));
        head.extend_from_slice(line.as_bytes());
        i += 1;
    }
    head.truncate(MAX_HEAD_BYTES);
    expect_rejected(
        &srv,
        &head,
        431,
        "RequestHeaderSectionTooLarge",
        "oversized head",
    );

    // More header fields than MAX_HEADERS, in a small head: 431.
    let mut head = b"GET /alpha/k HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..MAX_HEADERS + 10 {
        head.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    assert!(head.len() < MAX_HEAD_BYTES);
    expect_rejected(
        &srv,
        &head,
        431,
        "RequestHeaderSectionTooLarge",
        "too many headers",
    );

    // A complete head whose target is one byte over MAX_URI_BYTES: 414.
    let target = format!("/alpha/{}", "k".repeat(MAX_URI_BYTES + 1 - "/alpha/".len()));
    assert_eq!(target.len(), MAX_URI_BYTES + 1);
    let head = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_rejected(&srv, head.as_bytes(), 414, "UriTooLong", "URI too long");

    // A request line still growing past MAX_REQUEST_LINE_BYTES: 414 without waiting for its end.
    let mut line = b"GET /alpha/".to_vec();
    line.resize(MAX_REQUEST_LINE_BYTES + 1, b'k');
    expect_rejected(&srv, &line, 414, "UriTooLong", "request line too long");

    // Just under the limits is fine (a long key that does not exist).
    let key = "k".repeat(1000);
    let r = srv.get(&format!("/alpha/{key}"));
    r.assert_error(404, "NoSuchKey");
}

#[test]
fn slow_head_is_cut_off_without_hurting_others() {
    let limits = short_limits();
    let srv = TestServer::start_with(limits);

    let mut slow = srv.connect();
    let started = Instant::now();
    slow.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");

    // Meanwhile another client is served at once, several times.
    for _ in 0..3 {
        let t = Instant::now();
        srv.send(&srv.signed(ALPHA, "GET", "/")).assert_ok();
        assert!(
            t.elapsed() < limits.head_read_timeout / 2,
            "a request waited {:?} behind the slow client",
            t.elapsed()
        );
    }

    // The slow client gets RequestTimeout once the head timeout passed, then the close.
    let r = slow.read_response(false).unwrap();
    let waited = started.elapsed();
    r.assert_error(400, "RequestTimeout");
    assert!(r.closes());
    assert!(
        waited >= limits.head_read_timeout - Duration::from_millis(50),
        "cut off too early: {waited:?}"
    );
    assert!(
        waited < limits.head_read_timeout + TIMER_SLACK,
        "cut off too late: {waited:?}"
    );
    slow.assert_closed();
}

#[test]
fn trickled_head_is_cut_off_at_the_head_timeout() {
    // Bytes keep arriving, but the head is never complete: the timeout counts from the first
    // byte, not from the last. The client stops trickling shortly before the timeout (so the
    // server has read everything when it closes); a timer restarted by each byte would fire a
    // whole timeout after the last one.
    let limits = short_limits();
    let srv = TestServer::start_with(limits);
    let mut c = srv.connect();
    let started = Instant::now();
    c.send(b"GET / HTTP/1.1\r\n");
    let mut n = 0;
    while started.elapsed() < limits.head_read_timeout * 7 / 10 {
        std::thread::sleep(Duration::from_millis(100));
        c.send(format!("X-{n}: v\r\n").as_bytes());
        n += 1;
    }
    let r = c.read_response(false).unwrap();
    let waited = started.elapsed();
    r.assert_error(400, "RequestTimeout");
    assert!(
        waited < limits.head_read_timeout + Duration::from_millis(350),
        "trickling client held on for {waited:?} (timeout {:?})",
        limits.head_read_timeout
    );
    c.assert_closed();
}

#[test]
fn idle_keep_alive_is_closed() {
    let limits = short_limits();
    let srv = TestServer::start_with(limits);
    let mut c = srv.connect();
    c.send(&srv.signed(ALPHA, "GET", "/").to_bytes());
    let r = c.read_response(false).unwrap();
    r.assert_ok();
    assert!(!r.closes(), "keep-alive expected: {:?}", r.headers);
    // Still open and usable right after.
    c.send(&srv.signed(ALPHA, "HEAD", "/alpha").to_bytes());
    c.read_response(true).unwrap().assert_ok();

    let waited = c
        .wait_closed(limits.idle_keepalive_timeout + Duration::from_secs(3))
        .unwrap();
    assert!(
        waited >= limits.idle_keepalive_timeout - Duration::from_millis(50),
        "closed too early: {waited:?}"
    );
}

#[test]
fn stalled_body_times_out() {
    let limits = short_limits();
    let srv = TestServer::start_with(limits);
    let data = pattern(1000, 3);
    let req = srv
        .signed(ALPHA, "PUT", "/alpha/stalled")
        .body_with_hash(&data, "UNSIGNED-PAYLOAD");
    let mut c = srv.connect();
    let started = Instant::now();
    c.send(&req.head_bytes());
    c.send(&data[..10]);
    let r = c.read_response(false).unwrap();
    let waited = started.elapsed();
    r.assert_error(400, "RequestTimeout");
    assert!(
        waited >= limits.body_stall_timeout - Duration::from_millis(50),
        "{waited:?}"
    );
    assert!(
        waited < limits.body_stall_timeout + TIMER_SLACK,
        "{waited:?}"
    );
    c.assert_closed();
    srv.assert_absent("/alpha/stalled");
    assert_eq!(
        srv.backend_files("tmp"),
        0,
        "the stalled upload left a temp file"
    );
    assert_eq!(srv.backend_files("objects"), 0);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = TestServer::start();
    let one = pattern(100, 4);
    let two = pattern(3000, 5);
    srv.put_ok("/alpha/one", &one);
    srv.put_ok("/alpha/two", &two);

    let mut all = Vec::new();
    all.extend(srv.signed(ALPHA, "GET", "/").to_bytes());
    all.extend(srv.signed(ALPHA, "HEAD", "/alpha").to_bytes());
    all.extend(srv.signed(ALPHA, "GET", "/alpha/two").to_bytes());
    all.extend(srv.signed(ALPHA, "GET", "/alpha/missing").to_bytes());
    all.extend(srv.signed(ALPHA, "GET", "/alpha/one").to_bytes());
    let mut c = srv.connect();
    c.send(&all);

    let list = c.read_response(false).unwrap();
    list.assert_ok();
    assert!(
        list.body_text().contains("<ListAllMyBucketsResult"),
        "{}",
        list.body_text()
    );
    let head = c.read_response(true).unwrap();
    head.assert_ok();
    let got_two = c.read_response(false).unwrap();
    got_two.assert_ok();
    assert!(got_two.body == two, "second GET answered out of order");
    let missing = c.read_response(false).unwrap();
    missing.assert_error(404, "NoSuchKey");
    let got_one = c.read_response(false).unwrap();
    got_one.assert_ok();
    assert!(got_one.body == one, "third GET answered out of order");
    let ids: std::collections::HashSet<_> = [&list, &head, &got_two, &missing, &got_one]
        .iter()
        .map(|r| r.header("x-amz-request-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 5, "request ids must differ");
    assert!(c.leftover().is_empty());

    // The connection is still usable.
    c.send(&srv.signed(ALPHA, "GET", "/alpha/one").to_bytes());
    assert!(c.read_response(false).unwrap().body == one);
}

#[test]
fn expect_continue_only_after_authentication() {
    let srv = TestServer::start();
    let data = pattern(50_000, 6);

    // Valid signature: 100 Continue, then the body, then 200.
    let req = srv
        .signed(ALPHA, "PUT", "/alpha/continued")
        .body_sha256(&data)
        .unsigned_header("Expect", "100-continue");
    let mut c = srv.connect();
    c.send(&req.head_bytes());
    let interim = c.read_response(false).unwrap();
    assert_eq!(interim.status, 100, "{:?}", interim.headers);
    c.send(&data);
    c.read_response(false).unwrap().assert_ok();
    srv.assert_content("/alpha/continued", &data);

    // Bad signature: the final 403 comes first, with no 100 Continue before it.
    let req = srv
        .signed(ALPHA, "PUT", "/alpha/refused")
        .body_sha256(&data)
        .secret("not-the-secret")
        .unsigned_header("Expect", "100-continue");
    let mut c = srv.connect();
    c.send(&req.head_bytes());
    let r = c.read_response(false).unwrap();
    r.assert_error(403, "SignatureDoesNotMatch");
    // The body was never asked for, so the connection cannot continue.
    assert!(r.closes());
    c.assert_closed();

    // Another bucket's credential: also refused before 100 Continue.
    let req = srv
        .signed(BETA, "PUT", "/alpha/refused")
        .body_sha256(&data)
        .unsigned_header("Expect", "100-continue");
    let mut c = srv.connect();
    c.send(&req.head_bytes());
    c.read_response(false)
        .unwrap()
        .assert_error(403, "AccessDenied");
    srv.assert_absent("/alpha/refused");
}

/// Frames `body` as HTTP/1.1 chunked with chunks of `size` bytes.
fn http_chunked(body: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in body.chunks(size) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[test]
fn chunked_transfer_encoding_with_aws_chunked_inside() {
    let srv = TestServer::start();
    let data = pattern(70_000, 7);

    // As boto3 sends over HTTPS: Transfer-Encoding: chunked, aws-chunked with an unsigned
    // trailer inside, no Content-Length. HTTP chunks of 1000 bytes split the aws-chunked framing
    // lines at arbitrary places.
    let crc = crc32_b64(&data);
    let mut req = srv
        .signed(ALPHA, "PUT", "/alpha/te-unsigned")
        .body_with_hash(&[], "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", &data.len().to_string())
        .header("x-amz-trailer", "x-amz-checksum-crc32")
        .unsigned_header("Transfer-Encoding", "chunked");
    req.auto_length = false;
    let aws = aws_chunked(&data, 16 * 1024, None, Some(("x-amz-checksum-crc32", &crc)));
    let mut c = srv.connect();
    c.send(&req.head_bytes());
    c.send(&http_chunked(&aws, 1000));
    let r = c.read_response(false).unwrap();
    r.assert_ok();
    assert!(!r.closes(), "the body was consumed; keep-alive expected");
    // The same connection carries the next request: the framing was consumed exactly.
    c.send(&srv.signed(ALPHA, "GET", "/alpha/te-unsigned").to_bytes());
    let got = c.read_response(false).unwrap();
    got.assert_ok();
    assert!(got.body == data, "stored bytes differ");

    // Signed chunks inside HTTP chunking.
    let mut req = srv
        .signed(ALPHA, "PUT", "/alpha/te-signed")
        .body_with_hash(&[], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        .header("content-encoding", "aws-chunked")
        .header("x-amz-decoded-content-length", &data.len().to_string())
        .unsigned_header("Transfer-Encoding", "chunked");
    req.auto_length = false;
    let mut signer = req.chunk_signer();
    let aws = aws_chunked(&data, 8 * 1024, Some(&mut signer), None);
    let mut c = srv.connect();
    c.send(&req.head_bytes());
    c.send(&http_chunked(&aws, 777));
    c.read_response(false).unwrap().assert_ok();
    srv.assert_content("/alpha/te-signed", &data);

    // A plain (not aws-chunked) body with chunked framing: S3 needs the size up front.
    let small = pattern(5000, 8);
    let mut req = srv
        .signed(ALPHA, "PUT", "/alpha/te-plain")
        .body_sha256(&small)
        .unsigned_header("Transfer-Encoding", "chunked");
    req.auto_length = false;
    req.body = http_chunked(&small, 333);
    srv.send(&req).assert_error(411, "MissingContentLength");
    srv.assert_absent("/alpha/te-plain");
}

#[test]
fn content_length_with_transfer_encoding_is_refused() {
    let srv = TestServer::start();
    let data = b"hello";
    let mut req = srv
        .signed(ALPHA, "PUT", "/alpha/smuggle")
        .body_sha256(data)
        .unsigned_header("Transfer-Encoding", "chunked");
    req.body = http_chunked(data, 5);
    // Content-Length (auto) and Transfer-Encoding both present.
    expect_rejected(&srv, &req.to_bytes(), 400, "BadRequest", "CL + TE");
    srv.assert_absent("/alpha/smuggle");
}
