//! What a client learns from an error: S3's code, S3's message and the request id, never the
//! backends' names or addresses, the transport's errors or a provider's own words. Those go to
//! the log under the same request id.
//!
//! Backends here are plain TCP listeners the test controls on 127.0.0.1: a closed port
//! (connection refused) and one that answers every request with a canned provider error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::SocketAddr;

/// The backend's name in the config: must not reach a client.
const BACKEND_NAME: &str = "provider-zeta";
/// Words only the provider's answer holds: must not reach a client either.
const PROVIDER_WORDS: &str = "internal shard 7f3a rejected digest";

fn yaml(dir: &std::path::Path, backend: SocketAddr) -> String {
    let d = dir.display();
    format!(
        r#"backends:
  - name: {BACKEND_NAME}
    endpoint: http://{backend}
    region: us-east-1
    bucket: data
    access_key_id: backendkey
    secret_access_key: backendsecret
replication:
  factor: 1
buckets:
  - name: alpha
    credentials:
      - access_key_id: {ak}
        secret_access_key: {sk}
server:
  listen_addr: 127.0.0.1:0
  admin_addr: 127.0.0.1:0
  shards: 1
catalog:
  path: {d}/catalog
"#,
        ak = ALPHA.access_key,
        sk = ALPHA.secret,
    )
}

/// A backend answering every request with `400 <code>` carrying the provider's own message,
/// after reading the request head (and, for a small PUT, whatever body came with it).
fn canned_backend(code: &'static str) -> FakeBackend {
    let body = format!(
        "<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{PROVIDER_WORDS}</Message></Error>"
    );
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    FakeBackend::start(move |mut s| {
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        let _ = s.write_all(answer.as_bytes());
    })
}

fn assert_tells_nothing_private(r: &Response, backend: SocketAddr) {
    let body = r.body_text();
    for private in [
        BACKEND_NAME,
        &backend.to_string(),
        &backend.port().to_string(),
        PROVIDER_WORDS,
        "refused",
        "127.0.0.1",
    ] {
        assert!(
            !body.contains(private),
            "error body reveals {private:?}: {body}"
        );
    }
    r.assert_request_id();
    assert!(body.contains("<RequestId>"), "no request id in {body}");
}

#[test]
fn a_transport_failure_is_reported_as_s3_does() {
    let addr = refusing_addr();
    let server = TestServer::start_yaml(|d| yaml(d, addr));
    let r = server.send(&server.signed(ALPHA, "PUT", "/alpha/k").body_sha256(b"x"));
    r.assert_error(503, "ServiceUnavailable");
    assert_tells_nothing_private(&r, addr);
}

#[test]
fn a_providers_refusal_keeps_its_code_but_not_its_words() {
    let backend = canned_backend("BadDigest");
    let server = TestServer::start_yaml(|d| yaml(d, backend.addr));
    let r = server.send(&server.signed(ALPHA, "PUT", "/alpha/k").body_sha256(b"x"));
    r.assert_error(400, "BadDigest");
    assert_tells_nothing_private(&r, backend.addr);
}

/// A provider refusing what the client sent (a key or object beyond its limits) is the client's
/// error, not a 503 that SDKs would retry forever; a provider's own failure stays a 503.
#[test]
fn a_providers_refusal_of_the_request_is_the_clients_error() {
    for (code, status) in [
        ("KeyTooLongError", 400),
        ("EntityTooLarge", 400),
        ("MetadataTooLarge", 400),
        ("InternalError", 503),
    ] {
        let backend = canned_backend(code);
        let server = TestServer::start_yaml(|d| yaml(d, backend.addr));
        let r = server.send(&server.signed(ALPHA, "PUT", "/alpha/k").body_sha256(b"x"));
        let want = if status == 503 {
            "ServiceUnavailable"
        } else {
            code
        };
        r.assert_error(status, want);
        assert_tells_nothing_private(&r, backend.addr);
    }
}
