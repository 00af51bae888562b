//! Shared harness of the integration tests: an in-process orchestrator on 127.0.0.1 port 0 with a
//! local-directory backend and a catalog in a tempdir, a small blocking HTTP/1.1 client over a raw
//! [`TcpStream`], and SigV4 helpers built on the crate's own client-side signer
//! (`sign_request`, `ChunkSigner`, `presign_url`).
//!
//! The client is deliberately minimal and strict: tests need to see exactly what went over the
//! wire (interim `100 Continue` answers, pipelined responses, whether the server closed), which a
//! full client library would hide.

// Each test binary uses a different subset of the helpers.
#![allow(dead_code)]
// Test harness: failing loudly on an unexpected I/O error is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backends;
#[allow(unused_imports)] // not every test binary uses them
pub use backends::{refusing_addr, FakeBackend};

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use s3_orchestrator::s3::auth::{
    sign_request, uri_encode, AmzDate, ChunkSigner, CredentialScope, Credentials, SecretKey,
    SignableRequest, Signature, SigningKey, SigningKeyCache, SERVICE,
};
use s3_orchestrator::server::ServerLimits;
use sha2::{Digest, Sha256};

/// Signing region of every test request (the server accepts any region in the scope).
pub const REGION: &str = "us-east-1";

/// The credential of virtual bucket `alpha`.
pub const ALPHA: Cred = Cred {
    access_key: "AKIDALPHATEST",
    secret: "alpha-secret-key",
};

/// The credential of virtual bucket `beta`.
pub const BETA: Cred = Cred {
    access_key: "AKIDBETATEST",
    secret: "beta-secret-key",
};

/// Longest a test client waits for any single read or write; a hung server fails the test
/// instead of hanging the suite.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Short timeouts for the tests that exercise them: long enough that a loaded 2-core machine
/// does not trip them by accident, short enough to keep the suite fast. The idle timeout differs
/// from the other two so that a test can tell which one fired.
pub fn short_limits() -> ServerLimits {
    ServerLimits {
        head_read_timeout: Duration::from_millis(1000),
        idle_keepalive_timeout: Duration::from_millis(2000),
        body_stall_timeout: Duration::from_millis(1000),
        ..ServerLimits::default()
    }
}

/// An access key and its secret.
#[derive(Debug, Clone, Copy)]
pub struct Cred {
    pub access_key: &'static str,
    pub secret: &'static str,
}

impl Cred {
    pub fn credentials(&self) -> Credentials {
        Credentials::new(self.access_key, self.secret)
    }
}

/// An orchestrator running in this process. Dropping it shuts it down and waits for it.
pub struct TestServer {
    dir: Option<tempfile::TempDir>,
    running: Option<s3_orchestrator::Running>,
    pub addr: SocketAddr,
}

/// The test configuration: one local-directory backend, two virtual buckets with one credential
/// each, one shard, everything on loopback port 0.
pub fn config_yaml(dir: &std::path::Path) -> String {
    let d = dir.display();
    format!(
        r#"routing_strategy: spread
backends:
  - name: disk
    path: {d}/disk
replication:
  factor: 1
buckets:
  - name: alpha
    credentials:
      - access_key_id: {ak_a}
        secret_access_key: {sk_a}
  - name: beta
    credentials:
      - access_key_id: {ak_b}
        secret_access_key: {sk_b}
server:
  listen_addr: 127.0.0.1:0
  admin_addr: 127.0.0.1:0
  shards: 1
catalog:
  path: {d}/catalog
"#,
        ak_a = ALPHA.access_key,
        sk_a = ALPHA.secret,
        ak_b = BETA.access_key,
        sk_b = BETA.secret,
    )
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(ServerLimits::default())
    }

    pub fn start_with(limits: ServerLimits) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, limits)
    }

    /// Starts on an existing directory (a restart keeps the catalog and the backend's files).
    pub fn start_in(dir: tempfile::TempDir, limits: ServerLimits) -> TestServer {
        let yaml = config_yaml(dir.path());
        Self::start_yaml_in(dir, limits, &yaml)
    }

    /// Starts with a config of the test's own (`yaml` gets the directory for its paths).
    pub fn start_yaml(yaml: impl FnOnce(&std::path::Path) -> String) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let yaml = yaml(dir.path());
        Self::start_yaml_in(dir, ServerLimits::default(), &yaml)
    }

    /// Starts on an existing directory with the given config text.
    pub fn start_yaml_in(dir: tempfile::TempDir, limits: ServerLimits, yaml: &str) -> TestServer {
        let cfg = s3_orchestrator::config::Config::from_str_named(yaml, "test")
            .unwrap_or_else(|e| panic!("test config refused: {e}"));
        let running = s3_orchestrator::run_with_limits(cfg, limits).unwrap();
        let addr = running.s3_addr();
        TestServer {
            dir: Some(dir),
            running: Some(running),
            addr,
        }
    }

    /// Number of files under the local backend's `sub` directory (`objects`, `tmp`).
    pub fn backend_files(&self, sub: &str) -> usize {
        fn count(p: &std::path::Path) -> usize {
            let Ok(rd) = std::fs::read_dir(p) else {
                return 0;
            };
            rd.flatten()
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() {
                        count(&path)
                    } else {
                        1
                    }
                })
                .sum()
        }
        count(&self.dir.as_ref().unwrap().path().join("disk").join(sub))
    }

    /// Sends an upload that must be refused with `status`/`code`, then checks that nothing was
    /// committed: `path` still gives `previous` (or 404 NoSuchKey), the backend holds no new
    /// object file and no temp file is left behind.
    pub fn assert_upload_refused(
        &self,
        req: &Req,
        status: u16,
        code: &str,
        path: &str,
        previous: Option<&[u8]>,
    ) {
        let objects_before = self.backend_files("objects");
        let r = self.send(req);
        r.assert_error(status, code);
        match previous {
            Some(old) => self.assert_content(path, old),
            None => self.assert_absent(path),
        }
        assert_eq!(
            self.backend_files("objects"),
            objects_before,
            "{path}: a refused upload left an object file on the backend"
        );
        assert_eq!(
            self.backend_files("tmp"),
            0,
            "{path}: a refused upload left a temp file on the backend"
        );
    }

    /// Reloads the running server with another config text, as SIGHUP and the admin API do.
    pub fn reload_yaml(&self, yaml: &str) -> Result<(), String> {
        let cfg = s3_orchestrator::config::Config::from_str_named(yaml, "test")
            .map_err(|e| e.to_string())?;
        self.running.as_ref().unwrap().reload(cfg)
    }

    /// The admin listener's address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.running.as_ref().unwrap().admin_addr()
    }

    /// The directory the server's paths live in.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.as_ref().unwrap().path()
    }

    /// The `Host` header value clients send (path-style addressing).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// The shutdown switch (to trigger it while a request is in flight).
    pub fn shutdown_switch(&self) -> s3_orchestrator::server::Shutdown {
        self.running.as_ref().unwrap().shutdown.clone()
    }

    /// Takes the running server out (the caller joins it), keeping the directory alive.
    pub fn take_running(&mut self) -> s3_orchestrator::Running {
        self.running.take().unwrap()
    }

    /// Shuts down, waits, and hands back the directory for a restart.
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.shutdown.trigger();
            r.join();
        }
        self.dir.take().unwrap()
    }

    /// A signed request with `cred` and the current time.
    pub fn signed(&self, cred: Cred, method: &str, path: &str) -> Req {
        Req::new(method, path, &self.host()).cred(cred)
    }

    /// Sends one signed request on a fresh connection and reads its answer.
    pub fn send(&self, req: &Req) -> Response {
        let mut c = self.connect();
        c.send(&req.to_bytes());
        c.read_response(req.method == "HEAD").unwrap()
    }

    /// PUTs `body` (hex SHA-256 payload hash) as `alpha`; asserts 200.
    pub fn put_ok(&self, path: &str, body: &[u8]) {
        let r = self.send(&self.signed(ALPHA, "PUT", path).body_sha256(body));
        assert_eq!(r.status, 200, "PUT {path}: {}", r.body_text());
    }

    /// GETs `path` as `alpha`.
    pub fn get(&self, path: &str) -> Response {
        self.send(&self.signed(ALPHA, "GET", path))
    }

    /// Asserts `path` does not exist: GET gives 404 NoSuchKey.
    pub fn assert_absent(&self, path: &str) {
        let r = self.get(path);
        r.assert_error(404, "NoSuchKey");
    }

    /// Asserts GET `path` returns exactly `body`.
    pub fn assert_content(&self, path: &str, body: &[u8]) {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.body_text());
        assert_eq!(r.body.len(), body.len(), "GET {path}: length");
        assert!(r.body == body, "GET {path}: content differs");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown.trigger();
            r.join();
        }
    }
}

/// Seconds since the epoch.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn amz_date(unix: i64) -> AmzDate {
    AmzDate::from_unix(unix).unwrap()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Deterministic test data of `len` bytes, different per `seed`.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(seed as u32) as u8
                ^ seed
        })
        .collect()
}

/// A request to build: signed (when a credential is set) with the crate's `sign_request`.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    /// Path, already URI-encoded (`/` kept).
    pub path: String,
    /// Query pairs, unencoded; `("torrent", "")` is sent as a bare `?torrent`.
    pub query: Vec<(String, String)>,
    pub host: String,
    /// Headers included in the signature.
    pub signed_headers: Vec<(String, String)>,
    /// Headers sent but not signed (Content-Length, Expect, Transfer-Encoding...).
    pub unsigned_headers: Vec<(String, String)>,
    pub payload_hash: String,
    pub body: Vec<u8>,
    pub cred: Option<Cred>,
    /// The secret actually used to sign (defaults to the credential's).
    pub secret_override: Option<String>,
    pub date: i64,
    /// Whether to add `Content-Length: body.len()` (off for chunked bodies).
    pub auto_length: bool,
}

impl Req {
    pub fn new(method: &str, path: &str, host: &str) -> Req {
        Req {
            method: method.to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            host: host.to_owned(),
            signed_headers: Vec::new(),
            unsigned_headers: Vec::new(),
            payload_hash: sha256_hex(b""),
            body: Vec::new(),
            cred: None,
            secret_override: None,
            date: now_unix(),
            auto_length: true,
        }
    }

    pub fn cred(mut self, c: Cred) -> Req {
        self.cred = Some(c);
        self
    }

    pub fn query(mut self, name: &str, value: &str) -> Req {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.signed_headers
            .push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn unsigned_header(mut self, name: &str, value: &str) -> Req {
        self.unsigned_headers
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body with its correct hex SHA-256 as payload hash.
    pub fn body_sha256(mut self, body: &[u8]) -> Req {
        self.payload_hash = sha256_hex(body);
        self.body = body.to_vec();
        self
    }

    /// The body with any `x-amz-content-sha256` value.
    pub fn body_with_hash(mut self, body: &[u8], payload_hash: &str) -> Req {
        self.payload_hash = payload_hash.to_owned();
        self.body = body.to_vec();
        self
    }

    pub fn date(mut self, unix: i64) -> Req {
        self.date = unix;
        self
    }

    pub fn secret(mut self, secret: &str) -> Req {
        self.secret_override = Some(secret.to_owned());
        self
    }

    /// Request target as sent: path plus the query, percent-encoded the way SigV4 canonicalises.
    pub fn target(&self) -> String {
        let mut t = self.path.clone();
        for (i, (n, v)) in self.query.iter().enumerate() {
            t.push(if i == 0 { '?' } else { '&' });
            t.push_str(&uri_encode(n, false));
            if !v.is_empty() {
                t.push('=');
                t.push_str(&uri_encode(v, false));
            }
        }
        t
    }

    /// All headers of the request, `Authorization` included, in sending order.
    pub fn headers(&self) -> Vec<(String, String)> {
        let date = amz_date(self.date);
        let mut h: Vec<(String, String)> = vec![
            ("Host".into(), self.host.clone()),
            ("x-amz-date".into(), date.as_str().to_owned()),
            ("x-amz-content-sha256".into(), self.payload_hash.clone()),
        ];
        h.extend(self.signed_headers.iter().cloned());
        if let Some(c) = self.cred {
            let secret = self.secret_override.as_deref().unwrap_or(c.secret);
            let auth = authorization(
                &Credentials::new(c.access_key, secret),
                &self.method,
                &self.path,
                &self.query,
                &h,
                &self.payload_hash,
                &date,
            );
            h.push(("Authorization".into(), auth));
        }
        if self.auto_length && (!self.body.is_empty() || self.method == "PUT") {
            h.push(("Content-Length".into(), self.body.len().to_string()));
        }
        h.extend(self.unsigned_headers.iter().cloned());
        h
    }

    /// The request's head only (through the empty line).
    pub fn head_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target()).into_bytes();
        for (n, v) in self.headers() {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Head and body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.head_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// The `Signature=` of this request's `Authorization` header (the seed of a chunk chain).
    pub fn seed_signature(&self) -> Signature {
        let auth = self
            .headers()
            .into_iter()
            .find(|(n, _)| n == "Authorization")
            .map(|(_, v)| v)
            .unwrap();
        let hex_sig = auth.rsplit("Signature=").next().unwrap();
        Signature::from_hex(hex_sig.as_bytes()).unwrap()
    }

    /// The chunk signer a streaming upload of this request uses.
    pub fn chunk_signer(&self) -> ChunkSigner {
        let c = self.cred.unwrap();
        let date = amz_date(self.date);
        let scope = CredentialScope::new(date.date_stamp(), REGION, SERVICE);
        let key = SigningKey::derive(&SecretKey::new(c.secret), &scope);
        ChunkSigner::new(key, date, &scope, self.seed_signature())
    }
}

/// `Authorization` header value for a request, through the crate's client signer.
pub fn authorization(
    creds: &Credentials,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    payload_hash: &str,
    date: &AmzDate,
) -> String {
    let q: Vec<(&str, &str)> = query
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let req = SignableRequest {
        method,
        canonical_uri: path,
        query: &q,
        headers: &h,
        payload_hash,
    };
    let mut cache = SigningKeyCache::new();
    sign_request(&req, creds, REGION, date, &mut cache)
}

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Text of the first `<tag>` element of the body.
    pub fn xml_tag(&self, tag: &str) -> Option<String> {
        let text = self.body_text();
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&close)? + start;
        Some(text[start..end].to_owned())
    }

    /// The S3 error `<Code>`.
    pub fn code(&self) -> Option<String> {
        self.xml_tag("Code")
    }

    /// Asserts a non-empty `x-amz-request-id` header.
    pub fn assert_request_id(&self) {
        let id = self.header("x-amz-request-id").unwrap_or_default();
        assert!(
            !id.is_empty(),
            "x-amz-request-id missing: {:?}",
            self.headers
        );
    }

    /// Asserts the status, an S3 XML error with `code` whose `<RequestId>` is the header's, and
    /// `x-amz-request-id`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code().as_deref()),
            (status, Some(code)),
            "body: {}",
            self.body_text()
        );
        assert!(
            self.body_text().starts_with("<?xml"),
            "not an XML body: {}",
            self.body_text()
        );
        self.assert_request_id();
        assert_eq!(
            self.xml_tag("RequestId").as_deref(),
            self.header("x-amz-request-id"),
            "RequestId in the body differs from the header"
        );
    }

    /// Asserts 200 and `x-amz-request-id`.
    pub fn assert_ok(&self) {
        assert_eq!(self.status, 200, "body: {}", self.body_text());
        self.assert_request_id();
    }

    /// Whether the server announced it closes the connection.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Largest response head the client accepts: a bound for a misbehaving server.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// A blocking HTTP/1.1 client connection over a raw socket.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes all of `data` in one `write_all` (one segment for small writes).
    pub fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).unwrap();
        self.stream.flush().unwrap();
    }

    pub fn try_send(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(data)?;
        self.stream.flush()
    }

    pub fn set_read_timeout(&self, t: Duration) {
        self.stream.set_read_timeout(Some(t)).unwrap();
    }

    /// Reads more bytes into the buffer; `Ok(0)` at EOF.
    fn fill(&mut self) -> std::io::Result<usize> {
        let mut tmp = [0u8; 16 * 1024];
        let n = self.stream.read(&mut tmp)?;
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(n)
    }

    fn need(&mut self, n: usize) -> std::io::Result<()> {
        while self.buf.len() < n {
            if self.fill()? == 0 {
                return Err(std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("EOF with {} of {n} bytes", self.buf.len()),
                ));
            }
        }
        Ok(())
    }

    fn take_line(&mut self) -> std::io::Result<String> {
        loop {
            if let Some(p) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..p]).into_owned();
                self.buf.drain(..p + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_RESPONSE_HEAD {
                return Err(std::io::Error::other("response line too long"));
            }
            if self.fill()? == 0 {
                return Err(std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "EOF in a line",
                ));
            }
        }
    }

    /// Reads one response (an interim `100 Continue` is returned as a response of its own).
    /// `head_request`: the request was HEAD, so no body follows whatever the headers say.
    pub fn read_response(&mut self, head_request: bool) -> std::io::Result<Response> {
        let status_line = self.take_line()?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        assert!(
            version == "HTTP/1.1",
            "bad status line {status_line:?} (buffer {:?})",
            String::from_utf8_lossy(&self.buf)
        );
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.take_line()?;
            if line.is_empty() {
                break;
            }
            let (n, v) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("bad response header {line:?}"));
            headers.push((n.to_owned(), v.trim().to_owned()));
        }
        let mut resp = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
            return Ok(resp);
        }
        if resp
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let size_line = self.take_line()?;
                let size_hex = size_line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size_hex, 16)
                    .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
                if size == 0 {
                    // Trailer section until the empty line.
                    while !self.take_line()?.is_empty() {}
                    break;
                }
                self.need(size + 2)?;
                resp.body.extend_from_slice(&self.buf[..size]);
                assert_eq!(
                    &self.buf[size..size + 2],
                    b"\r\n",
                    "chunk not ended by CRLF"
                );
                self.buf.drain(..size + 2);
            }
        } else if let Some(len) = resp.header("content-length") {
            let len: usize = len.parse().unwrap();
            self.need(len)?;
            resp.body = self.buf.drain(..len).collect();
        } else {
            // Delimited by close.
            loop {
                if self.fill()? == 0 {
                    break;
                }
            }
            resp.body = std::mem::take(&mut self.buf);
        }
        Ok(resp)
    }

    /// Bytes received but not consumed by a response.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }

    /// Waits up to `within` for the server to close the connection: `Ok(elapsed)` on EOF or
    /// reset; `Err` with what happened otherwise (data arrived, or still open at the deadline).
    pub fn wait_closed(&mut self, within: Duration) -> Result<Duration, String> {
        if !self.buf.is_empty() {
            return Err(format!(
                "unread bytes: {:?}",
                String::from_utf8_lossy(&self.buf)
            ));
        }
        let start = Instant::now();
        self.stream.set_read_timeout(Some(within)).unwrap();
        let mut tmp = [0u8; 1024];
        let r = self.stream.read(&mut tmp);
        self.stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        match r {
            Ok(0) => Ok(start.elapsed()),
            Ok(n) => Err(format!(
                "data instead of close: {:?}",
                String::from_utf8_lossy(&tmp[..n])
            )),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                Ok(start.elapsed())
            }
            Err(e) => Err(format!("not closed after {:?}: {e}", start.elapsed())),
        }
    }

    /// Asserts the connection is closed (promptly: within [`IO_TIMEOUT`]).
    pub fn assert_closed(&mut self) {
        if let Err(e) = self.wait_closed(IO_TIMEOUT) {
            panic!("connection not closed: {e}");
        }
    }
}

/// Builds an aws-chunked body. `signer`: chunk signatures (`;chunk-signature=`) when set.
/// `trailer`: `(name, value)` of a trailing checksum; with a signer it is signed too.
pub fn aws_chunked(
    data: &[u8],
    chunk: usize,
    mut signer: Option<&mut ChunkSigner>,
    trailer: Option<(&str, &str)>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pieces: Vec<&[u8]> = data.chunks(chunk).collect();
    pieces.push(&[]);
    for p in pieces {
        out.extend_from_slice(format!("{:x}", p.len()).as_bytes());
        if let Some(s) = signer.as_deref_mut() {
            let sig = s.sign_chunk(&sha256(p));
            out.extend_from_slice(format!(";chunk-signature={}", sig.to_hex().as_str()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !p.is_empty() {
            out.extend_from_slice(p);
            out.extend_from_slice(b"\r\n");
        }
    }
    match trailer {
        None => out.extend_from_slice(b"\r\n"),
        Some((name, value)) => {
            out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
            if let Some(s) = signer {
                let sig = s.sign_trailer(format!("{name}:{value}\n").as_bytes());
                out.extend_from_slice(
                    format!("x-amz-trailer-signature:{}\r\n", sig.to_hex().as_str()).as_bytes(),
                );
            }
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Base64 of the CRC-32 (ISO-HDLC, as `x-amz-checksum-crc32`) of `data`.
pub fn crc32_b64(data: &[u8]) -> String {
    use base64::Engine;
    let mut d = crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc32IsoHdlc);
    d.update(data);
    let v = d.finalize() as u32;
    base64::engine::general_purpose::STANDARD.encode(v.to_be_bytes())
}

pub fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Slack allowed past a server-side timeout before its effect must be visible to the client:
/// scheduling on a busy 2-core machine, not a tolerance for a wrong timer.
pub const TIMER_SLACK: Duration = Duration::from_millis(700);

/// Polls `f` every 10 ms until it returns true or `within` passes.
pub fn wait_until(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
