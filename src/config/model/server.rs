//! `server` (listeners, shards, admission, backend timeout, TLS), and the small process-wide sections
//! `catalog` (where the catalog lives), `ui` (dashboard and admin API credentials, served on
//! `server.admin_addr`) and `logging`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::Secret;

/// Default S3 listener: all interfaces, port 9000 (the Go s3-orchestrator's `listen_addr` and the port
/// the user's guide points clients at).
pub(crate) const DEFAULT_LISTEN_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9000);

/// Default control-plane listener (metrics, admin API, dashboard): loopback only, so the admin API is
/// never exposed by accident; port 9001 as in the Go project's example for its metrics listener.
pub(crate) const DEFAULT_ADMIN_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9001);

/// Upper bound for `server.shards`. One shard per core; more than this many cores is beyond what the
/// per-shard pools and the merge of per-shard statistics were sized for.
pub(crate) const MAX_SHARDS: usize = 256;

/// Default `server.max_concurrent_requests` (the Go project's): requests in progress at once over
/// all shards; more are shed with 503 SlowDown instead of queueing.
pub(crate) const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1000;

/// Most `server.max_concurrent_requests`: each request in progress holds buffers (about 128 KiB),
/// so a million would already allow over 100 GiB.
pub(crate) const MAX_CONCURRENT_REQUESTS: usize = 1_000_000;

/// Default `server.backend_timeout` (the Go project's): the longest a backend may stay silent (no
/// response head, or no progress on a read or write) before the request fails over.
pub(crate) const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds of `server.backend_timeout`: under 100 ms healthy backends over a WAN would time out;
/// over 10 minutes a hung backend would hold client requests hostage.
pub(crate) const BACKEND_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(600));

/// Default `server.max_in_flight_bytes_per_key`: 10 GiB, two of the largest single PUTs (5 GiB)
/// or over a hundred 64 MiB parts at once, more than one client's parallel uploads need; an
/// operator whose backends hold little more than that should lower it.
pub(crate) const DEFAULT_MAX_IN_FLIGHT_BYTES_PER_KEY: u64 = 10 * 1024 * 1024 * 1024;

/// Default `server.write_stall_timeout`: the longest a response write (head, body chunk, `100
/// Continue`, flush) may make no progress before the connection is given up. A reader that
/// stopped reading otherwise holds its admission permit, its connection slot and, for a GET, a
/// backend stream forever. 30 s matches `BODY_STALL_TIMEOUT` on the read side: it rides out a
/// client's GC pause or a brief network outage, and TCP itself retransmits within that time.
pub(crate) const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds of `server.write_stall_timeout`: under 1 s a client on a lossy link (one TCP
/// retransmission timeout is 200 ms to 1 s) would be cut; over 10 minutes a non-reading client
/// keeps its permit long enough to starve the shard with a handful of sockets.
pub(crate) const WRITE_STALL_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(600));

/// Default `server.request_timeout`: the whole life of a request with no or a small body (up to
/// `http::limits::SMALL_REQUEST_BODY_BYTES`), from the first byte of its head to the end of its
/// response, except the body of a large streamed response (bounded by the write stall timeout
/// instead). 5 minutes is the Go project's `read_timeout` and `write_timeout`: far beyond a
/// small request's needs (several backend timeouts of failover included), short enough that a
/// client dribbling a small answer one segment at a time releases its permit.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Bounds of `server.request_timeout`: under 1 s a request to a slow backend would fail; over an
/// hour the deadline would no longer bound anything a client can hold.
pub(crate) const REQUEST_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(3600));

/// Default `server.min_upload_bytes_per_second`: the slowest request body accepted, averaged over
/// `server.upload_rate_window` of waiting on the client. The declared Content-Length (up to
/// 5 GiB) is reserved against a backend's quota before the first body byte, so a client
/// trickling one byte every few seconds would hold that reservation forever. 1 KiB/s is far
/// below any real uplink (a poor mobile link still moves tens of KiB/s) and costs a trickling
/// client real bandwidth. 0 turns the check off.
pub(crate) const DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND: u64 = 1024;

/// Most `server.min_upload_bytes_per_second`: 100 MiB/s; a floor above that would cut ordinary
/// uploads over a gigabit link shared by a few clients.
pub(crate) const MAX_MIN_UPLOAD_BYTES_PER_SECOND: u64 = 100 * 1024 * 1024;

/// Default `server.upload_rate_window`: the time spent waiting on the client over which the
/// upload rate is averaged, and the grace before the first check. 30 s absorbs a client's pause
/// (GC, a retransmission storm, a slow 100-continue round trip) as the body stall timeout does.
pub(crate) const DEFAULT_UPLOAD_RATE_WINDOW: Duration = Duration::from_secs(30);

/// Bounds of `server.upload_rate_window`: under 1 s one delayed segment would fail an upload;
/// over 10 minutes a trickling client holds its quota reservation that long per window.
pub(crate) const UPLOAD_RATE_WINDOW_RANGE: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(600));

/// `server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `listen_addr`: the S3 listener (default `DEFAULT_LISTEN_ADDR`).
    pub listen_addr: SocketAddr,
    /// `admin_addr`: metrics, admin API and dashboard (default `DEFAULT_ADMIN_ADDR`).
    pub admin_addr: SocketAddr,
    /// `shards`: executors serving requests; `0` (default) = one per core. At most `MAX_SHARDS`.
    pub shards: usize,
    /// `domain`: when set, `bucket.<domain>` Host headers address buckets (virtual-hosted style).
    /// Lowercase, without a trailing dot.
    pub domain: Option<String>,
    /// `tls`: serve HTTPS on `listen_addr` instead of plain HTTP.
    pub tls: Option<TlsConfig>,
    /// `max_concurrent_requests` (default `DEFAULT_MAX_CONCURRENT_REQUESTS`): requests in
    /// progress at once, over all shards (each shard admits its share, rounded up); more are shed
    /// with 503 `SlowDown`.
    pub max_concurrent_requests: usize,
    /// `backend_timeout` (default `DEFAULT_BACKEND_TIMEOUT`): longest wait for a backend's
    /// response head and for progress of any backend read or write; also caps the connect
    /// timeout. A hung backend fails over after this long.
    pub backend_timeout: Duration,
    /// `max_in_flight_bytes_per_key` (default `DEFAULT_MAX_IN_FLIGHT_BYTES_PER_KEY`; `0` = no
    /// cap): most bytes of quota one access key's uploads in flight (PUTs, copies, parts) may
    /// hold reserved at once; more are refused with 503 `SlowDown` (`state::inflight`). `None`
    /// = no cap.
    pub max_in_flight_bytes_per_key: Option<u64>,
    /// `write_stall_timeout` (default `DEFAULT_WRITE_STALL_TIMEOUT`): longest a write to a client
    /// may make no progress before the connection is closed.
    pub write_stall_timeout: Duration,
    /// `request_timeout` (default `DEFAULT_REQUEST_TIMEOUT`): deadline of a request with a small
    /// or no body, from its head's first byte to the end of its response (a large streamed
    /// response body excepted).
    pub request_timeout: Duration,
    /// `min_upload_bytes_per_second` (default `DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND`, 0 = off): the
    /// slowest request body accepted, averaged over `upload_rate_window` of waiting on the client;
    /// a slower one is answered 400 `RequestTimeout`.
    pub min_upload_bytes_per_second: u64,
    /// `upload_rate_window` (default `DEFAULT_UPLOAD_RATE_WINDOW`): the waiting time the upload
    /// rate is averaged over (and the grace before the first check).
    pub upload_rate_window: Duration,
}

impl ServerConfig {
    /// The number of shards to start: `shards`, or the number of cores when it is `0`, capped at
    /// `MAX_SHARDS`.
    pub fn shard_count(&self) -> usize {
        let n = if self.shards == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.shards
        };
        n.clamp(1, MAX_SHARDS)
    }

    /// Requests one shard admits at once: its share of `max_concurrent_requests`, rounded up.
    pub fn max_concurrent_per_shard(&self) -> usize {
        self.max_concurrent_requests
            .div_ceil(self.shard_count())
            .max(1)
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen_addr: DEFAULT_LISTEN_ADDR,
            admin_addr: DEFAULT_ADMIN_ADDR,
            shards: 0,
            domain: None,
            tls: None,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            backend_timeout: DEFAULT_BACKEND_TIMEOUT,
            max_in_flight_bytes_per_key: Some(DEFAULT_MAX_IN_FLIGHT_BYTES_PER_KEY),
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            min_upload_bytes_per_second: DEFAULT_MIN_UPLOAD_BYTES_PER_SECOND,
            upload_rate_window: DEFAULT_UPLOAD_RATE_WINDOW,
        }
    }
}

/// `server.tls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// `cert_file`: PEM certificate chain.
    pub cert_file: PathBuf,
    /// `key_file`: PEM private key.
    pub key_file: PathBuf,
}

/// Default directory of the fjall catalog, relative to the working directory.
pub(crate) const DEFAULT_CATALOG_PATH: &str = "./data/catalog";

/// `catalog`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogConfig {
    /// `path`: directory of the fjall database (default `DEFAULT_CATALOG_PATH`).
    pub path: PathBuf,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            path: PathBuf::from(DEFAULT_CATALOG_PATH),
        }
    }
}

/// `ui`: the web dashboard at `/ui` on `admin_addr`, and the credentials that also protect the
/// admin API (the Go s3-orchestrator's key names).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UiConfig {
    /// `enabled` (default `false`): serve the dashboard. Requires `admin_key` and `admin_secret`.
    pub enabled: bool,
    /// `admin_key`: the dashboard login name (and HTTP basic-auth user of the admin API).
    pub admin_key: Option<String>,
    /// `admin_secret`: the dashboard password (and basic-auth password of the admin API).
    pub admin_secret: Option<Secret>,
    /// `admin_token`: a bearer token for scripts calling the admin API
    /// (`Authorization: Bearer <token>`); none by default.
    pub admin_token: Option<Secret>,
}

impl UiConfig {
    /// Whether admin credentials are configured at all (then `/admin/*` requires them).
    pub fn has_credentials(&self) -> bool {
        self.admin_key.is_some() && self.admin_secret.is_some()
    }

    /// Whether any admin credential is configured (the key/secret pair or `admin_token`); without
    /// one the admin listener generates a token beside the catalog and takes only that.
    pub fn has_any_credentials(&self) -> bool {
        self.has_credentials() || self.admin_token.is_some()
    }
}

/// A log level for access-log lines (`logging.access_log_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessLogLevel {
    /// No access log.
    Off,
    Error,
    Warn,
    Info,
    /// The default: one line per request costs a few microseconds, so it is off at `info`.
    #[default]
    Debug,
    Trace,
}

impl AccessLogLevel {
    /// The words accepted in the file.
    pub const WORDS: &'static [&'static str] = &["off", "error", "warn", "info", "debug", "trace"];

    /// Parses a level word (case-insensitive).
    pub fn parse(word: &str) -> Option<AccessLogLevel> {
        Some(match word.trim().to_ascii_lowercase().as_str() {
            "off" => AccessLogLevel::Off,
            "error" => AccessLogLevel::Error,
            "warn" | "warning" => AccessLogLevel::Warn,
            "info" => AccessLogLevel::Info,
            "debug" => AccessLogLevel::Debug,
            "trace" => AccessLogLevel::Trace,
            _ => return None,
        })
    }
}

/// `logging`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoggingConfig {
    /// `access_log_level` (default `debug`): the level of the one-line-per-request access log.
    pub access_log_level: AccessLogLevel,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shard_count_is_bounded() {
        let mut s = ServerConfig::default();
        assert!(s.shard_count() >= 1);
        s.shards = 3;
        assert_eq!(s.shard_count(), 3);
        s.shards = MAX_SHARDS + 10;
        assert_eq!(s.shard_count(), MAX_SHARDS);
    }

    #[test]
    fn access_log_levels() {
        assert_eq!(AccessLogLevel::default(), AccessLogLevel::Debug);
        assert_eq!(AccessLogLevel::parse("INFO"), Some(AccessLogLevel::Info));
        assert_eq!(AccessLogLevel::parse("off"), Some(AccessLogLevel::Off));
        assert_eq!(AccessLogLevel::parse("loud"), None);
        for w in AccessLogLevel::WORDS {
            assert!(AccessLogLevel::parse(w).is_some(), "{w}");
        }
    }
}
