//! The admin listener as an attacker meets it, over real sockets on 127.0.0.1: nothing but the
//! probes answers without credentials (a token is generated when none are configured), changing
//! requests from another site are refused, sessions end with the credentials they were opened
//! with, failed authentications are slow, and clients trickling requests cannot silence
//! `/health`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

const ADMIN_KEY: &str = "operator";
const ADMIN_SECRET: &str = "operator-secret-1";
const ADMIN_TOKEN: &str = "operator-token-0123456789";
/// Basic auth for `operator:operator-secret-1`.
fn basic() -> String {
    use base64::Engine;
    let pair = format!("{ADMIN_KEY}:{ADMIN_SECRET}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// How long a test waits for one admin answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

struct Answer {
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: String,
    took: Duration,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One request (`Host` is the listener's address unless `headers` names another).
fn send(
    admin: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let start = Instant::now();
    let mut s = TcpStream::connect(admin).unwrap();
    s.set_read_timeout(Some(ANSWER_TIMEOUT)).unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {admin}\r\n"));
    }
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
        took: start.elapsed(),
    }
}

const XRW: (&str, &str) = ("X-Requested-With", "s3-orchestrator");

/// The common test config with a `ui` section.
fn with_ui(dir: &std::path::Path, enabled: bool, secret: &str) -> String {
    format!(
        "{}ui:\n  enabled: {enabled}\n  admin_key: {ADMIN_KEY}\n  admin_secret: \"{secret}\"\n  admin_token: \"{ADMIN_TOKEN}\"\n",
        config_yaml(dir)
    )
}

#[test]
fn admin_api_needs_the_generated_token_without_configured_credentials() {
    let server = TestServer::start();
    let admin = server.admin_addr();
    let open = send(admin, "GET", "/admin/status", &[], "");
    assert_eq!(
        open.status, 401,
        "the admin API answered without credentials"
    );
    assert_eq!(
        send(admin, "GET", "/admin/object?bucket=alpha&key=k", &[], "").status,
        401
    );
    for probe in ["/health", "/ready", "/metrics"] {
        assert_eq!(send(admin, "GET", probe, &[], "").status, 200, "{probe}");
    }
    let file = server.dir().join("catalog.admin-token");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is private");
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    let bearer = format!("Bearer {token}");
    let ok = send(
        admin,
        "GET",
        "/admin/status",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    // A restart on the same catalog keeps the token.
    let dir = server.stop();
    let server = TestServer::start_in(dir, Default::default());
    let again = send(
        server.admin_addr(),
        "GET",
        "/admin/status",
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(again.status, 200);
}

#[test]
fn changing_requests_from_other_sites_are_refused() {
    let server = TestServer::start_yaml(|d| with_ui(d, true, ADMIN_SECRET));
    let admin = server.admin_addr();
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let auth = ("Authorization", bearer.as_str());
    // The token alone does not make a request the operator's: a page elsewhere can send it too
    // (stored basic auth, a cookie), so the header and the origin decide.
    let forged = send(admin, "POST", "/admin/drain?backend=disk", &[auth], "");
    assert_eq!(forged.status, 403, "{}", forged.body);
    let cross = send(
        admin,
        "POST",
        "/admin/reload",
        &[auth, XRW, ("Origin", "http://evil.example")],
        "",
    );
    assert_eq!(cross.status, 403, "{}", cross.body);
    let rebound = send(
        admin,
        "GET",
        "/admin/status",
        &[auth, ("Host", "evil.example:9001")],
        "",
    );
    assert_eq!(rebound.status, 421);
    // Same origin, with the header: accepted.
    let origin = format!("http://{admin}");
    let ok = send(
        admin,
        "POST",
        "/admin/drain?backend=disk",
        &[auth, XRW, ("Origin", &origin)],
        "",
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(
        send(
            admin,
            "DELETE",
            "/admin/drain?backend=disk",
            &[auth, XRW],
            ""
        )
        .status,
        200
    );
    // Only the documented methods.
    let post = send(admin, "POST", "/admin/log-level", &[auth, XRW], "debug");
    assert_eq!(
        (post.status, post.header("allow")),
        (405, Some("GET, HEAD, PUT"))
    );
    let put = send(admin, "PUT", "/admin/drain?backend=disk", &[auth, XRW], "");
    assert_eq!(
        (put.status, put.header("allow")),
        (405, Some("GET, HEAD, POST, DELETE"))
    );
    // The login form too needs the header.
    let form = format!("admin_key={ADMIN_KEY}&admin_secret={ADMIN_SECRET}");
    assert_eq!(send(admin, "POST", "/ui/login", &[], &form).status, 403);
}

/// Logs in through the form; the session cookie's `name=value`.
fn login(admin: SocketAddr, secret: &str) -> String {
    let form = format!("admin_key={ADMIN_KEY}&admin_secret={secret}");
    let r = send(admin, "POST", "/ui/login", &[XRW], &form);
    assert_eq!(r.status, 303, "{}", r.body);
    let cookie = r.header("set-cookie").unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

#[test]
fn sessions_end_when_their_credentials_change() {
    let server = TestServer::start_yaml(|d| with_ui(d, true, ADMIN_SECRET));
    let admin = server.admin_addr();
    let cookie = login(admin, ADMIN_SECRET);
    let status = |c: &str| send(admin, "GET", "/admin/status", &[("Cookie", c)], "").status;
    assert_eq!(status(&cookie), 200);
    server
        .reload_yaml(&with_ui(server.dir(), true, "a-new-secret"))
        .unwrap();
    assert_eq!(
        status(&cookie),
        401,
        "the session outlived the secret it was opened with"
    );
    let fresh = login(admin, "a-new-secret");
    assert_eq!(status(&fresh), 200);
    server
        .reload_yaml(&with_ui(server.dir(), false, "a-new-secret"))
        .unwrap();
    assert_eq!(
        status(&fresh),
        401,
        "the session outlived ui.enabled: false"
    );
}

#[test]
fn failed_authentication_is_slow_and_bounded() {
    let server = TestServer::start_yaml(|d| with_ui(d, true, ADMIN_SECRET));
    let admin = server.admin_addr();
    let wrong = ("Authorization", "Basic b3BlcmF0b3I6Z3Vlc3M="); // operator:guess
    let r = send(admin, "GET", "/admin/status", &[wrong], "");
    assert_eq!(r.status, 401);
    assert!(
        r.took >= Duration::from_millis(900),
        "answered in {:?}",
        r.took
    );
    // Many guesses at once from one address: a few are delayed, the rest refused unchecked.
    let guesses: Vec<_> = (0..12)
        .map(|_| {
            std::thread::spawn(move || send(admin, "GET", "/admin/status", &[wrong], "").status)
        })
        .collect();
    let statuses: Vec<u16> = guesses.into_iter().map(|t| t.join().unwrap()).collect();
    let delayed = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(delayed + refused, statuses.len(), "{statuses:?}");
    assert!(delayed <= 4, "{statuses:?}");
    // No lockout: the right credentials work as soon as the guessing stops.
    let ok = send(
        admin,
        "GET",
        "/admin/status",
        &[("Authorization", &basic())],
        "",
    );
    assert_eq!(ok.status, 200);
    assert!(ok.took < Duration::from_millis(900), "took {:?}", ok.took);
}

#[test]
fn trickling_clients_do_not_silence_health() {
    let server = TestServer::start();
    let admin = server.admin_addr();
    // More sockets than the listener serves at once, each sending its head a byte at a time.
    let mut tricklers: Vec<TcpStream> = (0..80)
        .map(|_| {
            let mut s = TcpStream::connect(admin).unwrap();
            s.write_all(b"GET /admin/status HTTP/1.1\r\nX-Pad: ")
                .unwrap();
            s
        })
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let keep_going = stop.clone();
    let mut clones: Vec<TcpStream> = tricklers.iter().map(|s| s.try_clone().unwrap()).collect();
    let trickle = std::thread::spawn(move || {
        while !keep_going.load(std::sync::atomic::Ordering::Relaxed) {
            for s in &mut clones {
                let _ = s.write_all(b"x");
            }
            // The trickle's pace: a byte per socket every 200 ms.
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    for _ in 0..5 {
        let h = send(admin, "GET", "/health", &[], "");
        assert_eq!(h.status, 200, "/health under trickling load");
        assert!(h.took < Duration::from_secs(2), "/health took {:?}", h.took);
        assert_eq!(send(admin, "GET", "/metrics", &[], "").status, 200);
    }
    // The first trickler is cut off by the whole-request deadline though it never paused long.
    let first = &mut tricklers[0];
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 64];
    let cut = matches!(first.read(&mut buf), Ok(0) | Err(_));
    assert!(
        cut && start.elapsed() < Duration::from_secs(9),
        "still held after {:?}",
        start.elapsed()
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    trickle.join().unwrap();
}
