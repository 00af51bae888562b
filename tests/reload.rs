//! A config reload applies what it reports as applied, on every shard and on the background and
//! health threads, and refuses (naming the key) what needs a restart.
//!
//! Backends here are plain TCP listeners the test controls: one that accepts and never answers
//! (so the wait is exactly `server.backend_timeout`), and a closed port (connection refused, a
//! breaker failure at once). The server runs in-process on 127.0.0.1 port 0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A config with one S3 backend at `backend` and the `alpha`/`beta` buckets of the harness.
fn s3_backend_yaml(
    dir: &std::path::Path,
    backend: SocketAddr,
    server: &str,
    breaker: &str,
) -> String {
    let d = dir.display();
    format!(
        r#"backends:
  - name: remote
    endpoint: http://{backend}
    region: us-east-1
    bucket: data
    access_key_id: backendkey
    secret_access_key: backendsecret
replication:
  factor: 1
backend_circuit_breaker:
{breaker}
buckets:
  - name: alpha
    credentials:
      - access_key_id: {ak}
        secret_access_key: {sk}
server:
  listen_addr: 127.0.0.1:0
  admin_addr: 127.0.0.1:0
{server}
catalog:
  path: {d}/catalog
"#,
        ak = ALPHA.access_key,
        sk = ALPHA.secret,
    )
}

/// The shard that answered, from the top byte of the request id (the shard id is put there).
fn shard_of(r: &Response) -> String {
    r.header("x-amz-request-id").unwrap()[..2].to_owned()
}

/// One PUT to the hung backend on a fresh connection: its status, shard and duration.
fn timed_put(server: &TestServer, key: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut c = server.connect();
    c.set_read_timeout(Duration::from_secs(30));
    c.send(
        &server
            .signed(ALPHA, "PUT", &format!("/alpha/{key}"))
            .body_sha256(b"x")
            .to_bytes(),
    );
    let r = c.read_response(false).unwrap();
    (r.status, shard_of(&r), started.elapsed())
}

#[test]
fn reload_applies_backend_timeout_on_every_shard() {
    let hung = FakeBackend::hung();
    let before = "  shards: 2\n  backend_timeout: 3s";
    let after = "  shards: 2\n  backend_timeout: 1s";
    let breaker = "  enabled: false";
    let server = TestServer::start_yaml(|d| s3_backend_yaml(d, hung.addr, before, breaker));
    let (status, _, took) = timed_put(&server, "before");
    assert_eq!(status, 503);
    assert!(
        took >= Duration::from_millis(2800),
        "answered after {took:?}, before the 3 s timeout"
    );

    server
        .reload_yaml(&s3_backend_yaml(server.dir(), hung.addr, after, breaker))
        .unwrap();
    // New connections land on either shard (SO_REUSEPORT); go on until both answered.
    let mut shards = std::collections::BTreeSet::new();
    for i in 0..16 {
        let (status, shard, took) = timed_put(&server, &format!("after-{i}"));
        assert_eq!(status, 503);
        assert!(
            took < Duration::from_millis(2500),
            "shard {shard} still waited {took:?} after the reload to 1 s"
        );
        shards.insert(shard);
        if shards.len() == 2 {
            break;
        }
    }
    assert_eq!(
        shards.len(),
        2,
        "only shard(s) {shards:?} answered 16 connections"
    );
}

#[test]
fn reload_applies_max_concurrent_requests() {
    let yaml = |limit: usize| {
        move |d: &std::path::Path| {
            config_yaml(d).replace(
                "  shards: 1\n",
                &format!("  shards: 1\n  max_concurrent_requests: {limit}\n"),
            )
        }
    };
    let server = TestServer::start_yaml(yaml(8));
    // A PUT whose body never comes holds its admission place while the handler waits for it.
    let hold = || {
        let req = server
            .signed(ALPHA, "PUT", "/alpha/held")
            .body_sha256(b"0123456789");
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.write_all(&req.head_bytes()).unwrap();
        s.write_all(b"012").unwrap();
        s
    };
    let held = hold();
    assert_eq!(
        server.get("/alpha/missing").status,
        404,
        "admitted under the limit of 8"
    );
    drop(held);

    server.reload_yaml(&yaml(1)(server.dir())).unwrap();
    let held = hold();
    // The held request is admitted once the server read its head; poll until the next is shed.
    let shed = wait_until(Duration::from_secs(5), || {
        server.get("/alpha/missing").code().as_deref() == Some("SlowDown")
    });
    assert!(
        shed,
        "a second request was still admitted with max_concurrent_requests: 1"
    );
    drop(held);
    assert!(
        wait_until(Duration::from_secs(5), || server
            .get("/alpha/missing")
            .status
            == 404),
        "the place was not given back when the held connection closed"
    );
}

/// `s3o_circuit_breaker_state` of backend `remote`, read from `/metrics`.
fn breaker_state(admin: SocketAddr) -> String {
    let mut s = TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("s3o_circuit_breaker_state{name=\"remote\"}"))
        .unwrap_or_else(|| panic!("no breaker line in /metrics"));
    line.rsplit(' ').next().unwrap().to_owned()
}

#[test]
fn reload_applies_breaker_settings_of_existing_backends() {
    let addr = refusing_addr();
    let server_keys = "  shards: 1";
    let lenient = "  enabled: true\n  failure_threshold: 50\n  open_timeout: 1h";
    let strict = "  enabled: true\n  failure_threshold: 1\n  open_timeout: 1h";
    let server = TestServer::start_yaml(|d| s3_backend_yaml(d, addr, server_keys, lenient));
    for i in 0..3 {
        let r = server.send(
            &server
                .signed(ALPHA, "PUT", &format!("/alpha/k{i}"))
                .body_sha256(b"x"),
        );
        assert_eq!(r.status, 503);
    }
    assert_eq!(
        breaker_state(server.admin_addr()),
        "0",
        "3 failures of 50 opened the breaker"
    );

    server
        .reload_yaml(&s3_backend_yaml(server.dir(), addr, server_keys, strict))
        .unwrap();
    let r = server.send(
        &server
            .signed(ALPHA, "PUT", "/alpha/after")
            .body_sha256(b"x"),
    );
    assert_eq!(r.status, 503);
    assert_eq!(
        breaker_state(server.admin_addr()),
        "1",
        "the reloaded failure_threshold: 1 was not applied"
    );
}

#[test]
fn reload_refuses_what_needs_a_restart_and_names_the_key() {
    let server = TestServer::start();
    let base = config_yaml(server.dir());
    let cases = [
        (
            "server.listen_addr",
            base.replace("listen_addr: 127.0.0.1:0", "listen_addr: 127.0.0.1:1"),
        ),
        (
            "server.admin_addr",
            base.replace("admin_addr: 127.0.0.1:0", "admin_addr: 127.0.0.1:1"),
        ),
        ("server.shards", base.replace("shards: 1", "shards: 2")),
        (
            "server.domain",
            base.replace("  shards: 1\n", "  shards: 1\n  domain: s3.example.test\n"),
        ),
        (
            "catalog.path",
            base.replace("/catalog\n", "/other-catalog\n"),
        ),
    ];
    for (key, yaml) in cases {
        assert_ne!(yaml, base, "{key}: the test's edit did not apply");
        let err = server.reload_yaml(&yaml).expect_err(key);
        assert!(err.contains(key), "{key}: refusal does not name it: {err}");
        assert!(
            err.contains("restart"),
            "{key}: refusal does not say restart: {err}"
        );
    }
    // Nothing changed: the server still answers on its config.
    server.put_ok("/alpha/still", b"here");
    server.assert_content("/alpha/still", b"here");
}
