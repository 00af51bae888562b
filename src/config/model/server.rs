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
