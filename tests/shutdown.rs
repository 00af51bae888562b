//! Graceful shutdown of the in-process server: an upload in flight when shutdown is triggered
//! still completes and is durable, idle connections are closed, new connections are refused, and
//! the server then exits.

// Helpers outside #[test] functions fail loudly too: this is test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

/// How long the server may take to exit once its last request finished.
const EXIT_DEADLINE: Duration = Duration::from_secs(10);

#[test]
fn in_flight_upload_completes_and_server_exits() {
    let mut srv = TestServer::start();
    let addr = srv.addr;
    let data = pattern(1 << 20, 9);
    let half = data.len() / 2;

    // An idle keep-alive connection, which shutdown should close.
    let mut idle = srv.connect();
    idle.send(&srv.signed(ALPHA, "GET", "/").to_bytes());
    idle.read_response(false).unwrap().assert_ok();

    // The upload: the 100 Continue proves it was authenticated and is waiting for its body.
    let req = srv
        .signed(ALPHA, "PUT", "/alpha/in-flight")
        .body_sha256(&data)
        .unsigned_header("Expect", "100-continue");
    let mut up = srv.connect();
    up.send(&req.head_bytes());
    assert_eq!(up.read_response(false).unwrap().status, 100);
    up.send(&data[..half]);

    srv.shutdown_switch().trigger();

    // The listener goes away: new connections are refused.
    assert!(
        wait_until(Duration::from_secs(5), || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
        }),
        "the server still accepts connections after shutdown"
    );
    // The idle connection is closed.
    idle.assert_closed();

    // The in-flight upload finishes normally; the server says it closes the connection.
    up.send(&data[half..]);
    let r = up.read_response(false).unwrap();
    r.assert_ok();
    assert!(
        r.closes(),
        "a response sent during shutdown should carry Connection: close ({:?})",
        r.headers
    );
    up.assert_closed();

    // The server exits.
    let running = srv.take_running();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        running.join();
        let _ = tx.send(());
    });
    rx.recv_timeout(EXIT_DEADLINE)
        .expect("the server did not exit after shutdown");

    // The acknowledged upload is durable: a server restarted on the same directory serves it.
    let dir = srv.stop();
    let again = TestServer::start_in(dir, s3_orchestrator::server::ServerLimits::default());
    again.assert_content("/alpha/in-flight", &data);
}
