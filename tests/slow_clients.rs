//! Slow and non-reading clients on the S3 listener (#13, Availability): a client that stops
//! reading, pipelines without reading, trickles an upload or dribbles a small request must not
//! hold admission permits, connection slots or quota reservations for longer than the limits
//! say. Each test runs the in-process server with small limits so it finishes in seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use s3_orchestrator::http::limits::MAX_PIPELINED_REQUESTS;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The test config with extra `server` keys (indented under `server:`) and extra keys of the
/// `disk` backend.
fn yaml_with(dir: &std::path::Path, server: &str, backend: &str) -> String {
    let base = config_yaml(dir);
    let disk = format!("    path: {}/disk\n", dir.display());
    assert!(base.contains(&disk) && base.contains("  shards: 1\n"));
    base.replace(&disk, &format!("{disk}{backend}"))
        .replace("  shards: 1\n", &format!("  shards: 1\n{server}"))
}

/// A client socket with a small receive buffer, so a response of a few MiB cannot vanish into
/// the kernel's buffers (autotuning would otherwise grow it to tens of MiB).
fn small_buffer_socket(addr: SocketAddr) -> TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_recv_buffer_size(32 * 1024).unwrap();
    s.connect(&addr.into()).unwrap();
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Polls a signed small GET until it is answered 200 (not 503 SlowDown), for at most `within`;
/// the time it took.
fn wait_for_admission(srv: &TestServer, path: &str, within: Duration) -> Result<Duration, u16> {
    let started = Instant::now();
    let mut last = 0;
    while started.elapsed() < within {
        let r = srv.get(path);
        if r.status == 200 {
            return Ok(started.elapsed());
        }
        assert_eq!(r.status, 503, "unexpected answer: {}", r.body_text());
        last = r.status;
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(last)
}

/// (a) Four sockets pipeline anonymous requests and never read, with
/// `max_concurrent_requests: 4`: a signed request is still answered within seconds.
#[test]
fn pipelining_non_readers_do_not_starve_signed_clients() {
    let stall = Duration::from_secs(1);
    let srv = TestServer::start_yaml(|d| {
        yaml_with(
            d,
            "  max_concurrent_requests: 4\n  write_stall_timeout: 1s\n",
            "",
        )
    });
    srv.put_ok("/alpha/small", b"hello");
    let host = srv.host();
    let (blocked_tx, blocked_rx) = mpsc::channel();
    let mut attackers = Vec::new();
    for _ in 0..4 {
        let addr = srv.addr;
        let host = host.clone();
        let tx = blocked_tx.clone();
        attackers.push(std::thread::spawn(move || {
            let mut s = small_buffer_socket(addr);
            s.set_write_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let one = format!("GET /alpha/small HTTP/1.1\r\nHost: {host}\r\n\r\n");
            let batch = one.repeat(200);
            // Write until the server stops taking requests (its answers are never read) or
            // closes; a bounded number of batches either way.
            for _ in 0..5000 {
                if s.write_all(batch.as_bytes()).is_err() {
                    break;
                }
            }
            let _ = tx.send(());
            s // kept open, never read, until the test ends
        }));
    }
    for _ in 0..4 {
        blocked_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    }
    let waited = wait_for_admission(&srv, "/alpha/small", stall + Duration::from_secs(4));
    assert!(
        waited.is_ok(),
        "signed requests still shed with 503 SlowDown {:?} after the attack started",
        stall + Duration::from_secs(4)
    );
    drop(attackers);
}

/// (b) A GET of a large object by a client that never reads releases its permit after the write
/// stall timeout, which a reload set (the limit follows reloads).
#[test]
fn non_reading_get_releases_its_permit_after_the_write_stall_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let limits = "  max_concurrent_requests: 1\n";
    let yaml = yaml_with(dir.path(), limits, "");
    let srv = TestServer::start_yaml_in(dir, Default::default(), &yaml);
    // Started with the 30 s default; a reload shortens it.
    let reloaded = yaml_with(
        srv.dir(),
        &format!("{limits}  write_stall_timeout: 1s\n"),
        "",
    );
    srv.reload_yaml(&reloaded).unwrap();
    let stall = Duration::from_secs(1);

    let big = pattern(24 * 1024 * 1024, 3);
    srv.put_ok("/alpha/big", &big);
    srv.put_ok("/alpha/small", b"hello");

    let mut reader = small_buffer_socket(srv.addr);
    reader
        .write_all(&srv.signed(ALPHA, "GET", "/alpha/big").to_bytes())
        .unwrap();
    // The GET holds the only permit while its write is blocked.
    assert!(
        wait_until(Duration::from_secs(3), || srv.get("/alpha/small").status
            == 503),
        "the non-reading GET never held the permit (test setup)"
    );
    let blocked_at = Instant::now();
    // Generous: a loaded 2-core machine with several test servers pinned to the same core
    // delays timers; a server without the timeout never gets there.
    let waited = wait_for_admission(&srv, "/alpha/small", stall + Duration::from_secs(10));
    eprintln!(
        "permit released {:?} after the first 503",
        blocked_at.elapsed()
    );
    let Ok(_) = waited else {
        // Never, on a server without a write stall timeout.
        panic!(
            "the permit was still held {:?} after the GET stalled",
            blocked_at.elapsed()
        );
    };
    // Held until the write made no progress for the stall timeout (the kernel still takes a
    // little now and then for a moment after the first 503, so no tight upper bound here: the
    // bound is wait_for_admission's deadline, and on a server without the timeout it is never).
    assert!(
        blocked_at.elapsed() >= stall - Duration::from_millis(100),
        "permit released after {:?}, before the stall timeout",
        blocked_at.elapsed()
    );
    // The stalled connection was given up: reading it ends (EOF or reset) before the whole
    // object arrived.
    reader
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("stalled connection not closed: {e} after {got} bytes"),
        }
    }
    assert!(got < big.len(), "the whole object arrived ({got} bytes)");
}

/// (c) More than MAX_PIPELINED_REQUESTS pipelined requests: the first MAX are answered, the last
/// of them with `Connection: close`, then the connection ends.
#[test]
fn pipelining_is_bounded() {
    let srv = TestServer::start();
    srv.put_ok("/alpha/small", b"hello");
    let mut all = Vec::new();
    for _ in 0..MAX_PIPELINED_REQUESTS * 3 {
        all.extend(srv.signed(ALPHA, "GET", "/alpha/small").to_bytes());
    }
    let mut c = srv.connect();
    c.send(&all);
    let mut answers = Vec::new();
    while let Ok(r) = c.read_response(false) {
        r.assert_ok();
        let closes = r.closes();
        answers.push(r);
        if closes {
            break;
        }
    }
    assert_eq!(
        answers.len(),
        MAX_PIPELINED_REQUESTS,
        "answers to {} pipelined requests",
        MAX_PIPELINED_REQUESTS * 3
    );
    assert!(answers.last().unwrap().closes(), "last answer must close");
    c.assert_closed();
    // Requests that are not read ahead are not counted: a new connection works as usual.
    for _ in 0..MAX_PIPELINED_REQUESTS + 2 {
        assert_eq!(srv.get("/alpha/small").status, 200);
    }
    let mut c = srv.connect();
    for _ in 0..MAX_PIPELINED_REQUESTS + 2 {
        c.send(&srv.signed(ALPHA, "GET", "/alpha/small").to_bytes());
        let r = c.read_response(false).unwrap();
        r.assert_ok();
        assert!(!r.closes(), "a request-response client was cut");
    }
}

/// Sends `req`'s head; with `Expect: 100-continue` also waits for the interim answer, which the
/// server sends once the handler wants the body (for a PUT: after its quota reservation).
fn start_upload(srv: &TestServer, req: &Req) -> (Client, Instant) {
    let mut c = srv.connect();
    c.send(&req.head_bytes());
    let started = Instant::now();
    if req
        .headers()
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("expect") && v == "100-continue")
    {
        let r = c.read_response(false).unwrap();
        assert_eq!(r.status, 100, "{}", r.body_text());
    }
    (c, started)
}

/// Sends `body` one byte every `gap` until an answer arrives (or `within` passes since
/// `started`): the answer and when it came after `started`.
fn trickle_body(
    mut c: Client,
    body: &[u8],
    started: Instant,
    gap: Duration,
    within: Duration,
) -> (Option<Response>, Duration) {
    c.set_read_timeout(gap);
    for b in body {
        if started.elapsed() > within {
            break;
        }
        if c.try_send(std::slice::from_ref(b)).is_err() {
            break; // the server gave up: its answer is in the socket
        }
        let mut probe = [0u8; 1];
        match c.stream.peek(&mut probe) {
            Ok(_) => break,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    c.set_read_timeout(IO_TIMEOUT);
    let r = c.read_response(false).ok();
    (r, started.elapsed())
}

/// (d) A PUT trickling one byte every 200 ms is cut with 400 RequestTimeout by the upload rate
/// floor, and its quota reservation is released; normal PUTs work.
#[test]
fn trickling_upload_is_cut_and_its_reservation_released() {
    let window = Duration::from_secs(1);
    let srv = TestServer::start_yaml(|d| {
        yaml_with(
            d,
            "  min_upload_bytes_per_second: 1024\n  upload_rate_window: 1s\n",
            "    quota_bytes: 120000\n",
        )
    });
    // Larger than a small request, so only the rate floor bounds it.
    let slow = srv
        .signed(ALPHA, "PUT", "/alpha/slow")
        .unsigned_header("Expect", "100-continue")
        .body_sha256(&pattern(100_000, 1));
    let normal = pattern(40_000, 2);
    let (c, _) = start_upload(&srv, &slow);
    // While the trickle holds its reservation, another upload that does not fit is refused.
    // The probe's payload hash is wrong: had it room, the digest check would refuse it (400)
    // and it would store nothing either.
    let probe = srv
        .signed(ALPHA, "PUT", "/alpha/other")
        .body_with_hash(&normal, &sha256_hex(b"not the body"));
    srv.send(&probe).assert_error(507, "InsufficientStorage");
    let answer = trickle_body(
        c,
        &slow.body,
        Instant::now(),
        Duration::from_millis(200),
        window * 6,
    );
    let (resp, after) = answer;
    let resp = resp.unwrap_or_else(|| panic!("trickling PUT not cut within {after:?}"));
    resp.assert_error(400, "RequestTimeout");
    assert!(
        after < window * 2 + TIMER_SLACK,
        "cut only after {after:?} (window {window:?})"
    );
    srv.assert_absent("/alpha/slow");
    // Its reservation is gone: the same upload fits now, and arrives at a normal pace.
    srv.put_ok("/alpha/other", &normal);
    srv.assert_content("/alpha/other", &normal);
}

/// A request with a small body lives under `server.request_timeout` from its first byte, even
/// when each byte arrives well within the stall timeout and no rate floor applies; a large
/// streamed GET read slowly (but steadily) is not cut by that deadline.
#[test]
fn small_requests_have_a_deadline_but_large_gets_do_not() {
    let deadline = Duration::from_secs(2);
    let srv = TestServer::start_yaml(|d| {
        yaml_with(
            d,
            "  request_timeout: 2s\n  min_upload_bytes_per_second: 0\n",
            "",
        )
    });
    let slow = srv
        .signed(ALPHA, "PUT", "/alpha/dribble")
        .body_sha256(&pattern(100, 4));
    let (c, started) = start_upload(&srv, &slow);
    let (resp, after) = trickle_body(
        c,
        &slow.body,
        started,
        Duration::from_millis(100),
        deadline * 4,
    );
    let resp = resp.unwrap_or_else(|| panic!("dribbled small PUT not cut within {after:?}"));
    resp.assert_error(400, "RequestTimeout");
    assert!(
        after >= deadline - Duration::from_millis(100) && after < deadline + TIMER_SLACK * 2,
        "cut after {after:?}, deadline {deadline:?}"
    );
    srv.assert_absent("/alpha/dribble");

    // 16 MiB read in 1 MiB steps with pauses: about twice the deadline in all.
    let big = pattern(16 * 1024 * 1024, 5);
    srv.put_ok("/alpha/big", &big);
    let mut s = small_buffer_socket(srv.addr);
    s.write_all(&srv.signed(ALPHA, "GET", "/alpha/big").to_bytes())
        .unwrap();
    let started = Instant::now();
    let mut got = Vec::with_capacity(big.len() + 4096);
    let mut buf = vec![0u8; 64 * 1024];
    let mut next_pause = 1024 * 1024;
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("GET cut after {} bytes: {e}", got.len()),
        }
        if got.len() >= next_pause {
            next_pause += 1024 * 1024;
            std::thread::sleep(Duration::from_millis(250));
        }
        if got.len() >= big.len() && got.ends_with(&big[big.len() - 64..]) {
            break;
        }
    }
    assert!(
        started.elapsed() > deadline,
        "the GET was too fast to test the deadline ({:?})",
        started.elapsed()
    );
    assert!(
        got.ends_with(&big),
        "streamed GET incomplete: {} bytes",
        got.len()
    );
}
