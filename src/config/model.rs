//! The typed, validated configuration: what the rest of the program reads.
//!
//! Every value here has passed [`crate::config::validate`], so users of these types need not re-check
//! names, ranges or URLs. Defaults live here too (the `Default` impls and the `DEFAULT_*` constants),
//! so the documentation of a key and its default sit next to each other. Secrets are wrapped in
//! [`Secret`], whose `Debug` prints `***`, so `{:?}` of a whole [`Config`] is safe to log.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Default S3 listener: all interfaces, port 9000 (the Go s3-orchestrator's `listen_addr` and the port
/// the user's guide points clients at).
pub const DEFAULT_LISTEN_ADDR: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9000);

/// Default control-plane listener (metrics, admin API, dashboard): loopback only, so the admin API is
/// never exposed by accident; port 9001 as in the Go project's example for its metrics listener.
pub const DEFAULT_ADMIN_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9001);

/// Default backend signing region, the one S3 itself assumes when none is given.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Default directory of the fjall catalog, relative to the working directory.
pub const DEFAULT_CATALOG_PATH: &str = "./data/catalog";

/// Default `replication.unhealthy_threshold` (the user's guide: "default: 10 minutes"): long enough that
/// a provider's short blip does not trigger a full re-copy, short enough that redundancy returns within
/// the hour.
pub const DEFAULT_UNHEALTHY_THRESHOLD: Duration = Duration::from_secs(10 * 60);

/// Default `replication.concurrency` (the Go project's default): copies in flight at once.
pub const DEFAULT_REPLICATION_CONCURRENCY: usize = 5;
/// Most copies in flight at once that config may ask for: each holds a backend connection pair
/// and a buffer on the background shard.
pub const MAX_REPLICATION_CONCURRENCY: usize = 64;
/// Default `replication.max_bytes_per_sec`: 64 MiB/s, a fraction of one core's streaming rate, so
/// a backlog drains steadily without taking the cores client requests need. 0 = unthrottled.
pub const DEFAULT_REPLICATION_MAX_BYTES_PER_SEC: u64 = 64 * 1024 * 1024;
/// Default `replication.busy_bytes_per_sec` as a divisor of `max_bytes_per_sec`: while clients are
/// being served, copies run at an eighth of the idle rate (8 MiB/s by default). Measured on two
/// cores with co-located backends (`loadtest/replication_latency.py`): small-GET p99 rose ~2.5x
/// with copies at 64 MiB/s and stayed within ~1.2x at 8-16 MiB/s; the busy rate is still a floor,
/// so a backlog drains under constant client load.
pub const DEFAULT_REPLICATION_BUSY_DIVISOR: u64 = 8;

/// `replication.busy_bytes_per_sec` when the config does not set it (0, unthrottled, stays 0).
pub const fn default_busy_bytes_per_sec(max_bytes_per_sec: u64) -> u64 {
    max_bytes_per_sec / DEFAULT_REPLICATION_BUSY_DIVISOR
}
/// Default `replication.worker_interval`: how often the whole catalog is scanned for objects
/// under the target factor (copies on long-dead backends, a raised factor) and over it.
pub const DEFAULT_REPLICATION_WORKER_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Default `replication.batch_size`: queue items or catalog records handled per step.
pub const DEFAULT_REPLICATION_BATCH_SIZE: usize = 50;
/// Largest `replication.batch_size`: bounds the memory of one step.
pub const MAX_REPLICATION_BATCH_SIZE: usize = 1000;

/// Default `replication.factor`: one copy, i.e. no replication.
pub const DEFAULT_REPLICATION_FACTOR: usize = 1;

/// Default `backend_circuit_breaker.failure_threshold` (the Go project's): five consecutive failures
/// are well past a transient blip, yet at a few requests per second trip within seconds.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 5;

/// Most consecutive failures `failure_threshold` may ask for: beyond this a dead backend would cost
/// clients thousands of timed-out attempts before being skipped.
pub const MAX_FAILURE_THRESHOLD: u32 = 1000;

/// Default `backend_circuit_breaker.open_timeout` (the Go project's): how long an open breaker waits
/// before the first half-open probe. Five minutes avoids hammering a provider that is down.
pub const DEFAULT_OPEN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Bounds of `open_timeout`: below 100 ms probes would be a busy loop; above a day a recovered
/// provider would stay unused for too long.
pub const OPEN_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(24 * 3600));

/// Default `backend_circuit_breaker.success_threshold`: consecutive successful half-open probes
/// (one [`crate::health::breaker::HALF_OPEN_PROBE_INTERVAL`] apart) before the breaker closes. Two
/// keeps a flapping backend from rejoining on a single lucky answer.
pub const DEFAULT_SUCCESS_THRESHOLD: u32 = 2;

/// Most probes `success_threshold` may ask for (each costs a probe interval of waiting).
pub const MAX_SUCCESS_THRESHOLD: u32 = 100;

/// Default `server.max_concurrent_requests` (the Go project's): requests in progress at once over
/// all shards; more are shed with 503 SlowDown instead of queueing.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1000;

/// Most `server.max_concurrent_requests`: each request in progress holds buffers (about 128 KiB),
/// so a million would already allow over 100 GiB.
pub const MAX_CONCURRENT_REQUESTS: usize = 1_000_000;

/// Default `server.backend_timeout` (the Go project's): the longest a backend may stay silent (no
/// response head, or no progress on a read or write) before the request fails over.
pub const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Bounds of `server.backend_timeout`: under 100 ms healthy backends over a WAN would time out;
/// over 10 minutes a hung backend would hold client requests hostage.
pub const BACKEND_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(600));

/// Default `rate_limit.requests_per_sec` (the Go project's rate limiter default).
pub const DEFAULT_RATE_LIMIT_RPS: f64 = 100.0;

/// Default `rate_limit.burst` (the Go project's).
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 200;

/// Most `rate_limit.burst`: a bucket this deep is no limit at all.
pub const MAX_RATE_LIMIT_BURST: u32 = 10_000_000;

/// Upper bound for `server.shards`. One shard per core; more than this many cores is beyond what the
/// per-shard pools and the merge of per-shard statistics were sized for.
pub const MAX_SHARDS: usize = 256;

/// A secret string (a secret access key). `Debug` prints `***`; there is no `Display`, so the only way
/// to the text is the explicit [`Secret::expose`].
///
/// `PartialEq` is an ordinary comparison, meant for comparing configurations (reload); request
/// authentication must compare signatures in constant time, not secrets with `==`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret text, for signing. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How new objects pick their first backend (`routing_strategy`).
    pub routing_strategy: RoutingStrategy,
    /// The providers behind the orchestrator (`backends`), in file order; never empty.
    pub backends: Vec<BackendConfig>,
    /// Copies per object and when to replace copies on a dead backend (`replication`).
    pub replication: ReplicationConfig,
    /// Per-backend circuit breakers (`backend_circuit_breaker`).
    pub backend_circuit_breaker: CircuitBreakerConfig,
    /// Moving copies to even out usage under `spread` (`rebalance`).
    pub rebalance: RebalanceConfig,
    /// Per-credential request rate limit (`rate_limit`).
    pub rate_limit: RateLimitConfig,
    /// The virtual buckets clients see (`buckets`), in file order.
    pub buckets: Vec<BucketConfig>,
    /// `admin_credentials`: credentials that may create and delete buckets through the S3 API.
    pub admin_credentials: Vec<CredentialConfig>,
    /// Listeners and sharding (`server`).
    pub server: ServerConfig,
    /// Where the catalog lives (`catalog`).
    pub catalog: CatalogConfig,
    /// The dashboard and the admin credentials (`ui`).
    pub ui: UiConfig,
    /// Log settings (`logging`).
    pub logging: LoggingConfig,
}

impl Config {
    /// The backend with this name.
    pub fn backend(&self, name: &str) -> Option<&BackendConfig> {
        self.backends.iter().find(|b| b.name == name)
    }

    /// The virtual bucket with this name.
    pub fn bucket(&self, name: &str) -> Option<&BucketConfig> {
        self.buckets.iter().find(|b| b.name == name)
    }
}

/// `routing_strategy`: where a new object's first copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoutingStrategy {
    /// `spread` (default): the backend with the lowest utilisation, keeping usage balanced.
    #[default]
    Spread,
    /// `pack`: the first backend in file order that has room, overflowing to the next.
    Pack,
}

impl RoutingStrategy {
    /// The word used in the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingStrategy::Spread => "spread",
            RoutingStrategy::Pack => "pack",
        }
    }
}

/// One entry of `backends`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    /// Unique name, used in metrics labels, logs and the catalog.
    pub name: String,
    /// An S3-compatible provider or a local directory.
    pub kind: BackendKind,
    /// `quota_bytes`: most bytes this backend may hold; `None` = unlimited (absent, or `0` as in the
    /// Go project).
    pub quota_bytes: Option<u64>,
    /// Monthly (calendar month, UTC) usage limits, for free tiers.
    pub usage_limits: UsageLimits,
}

/// `api_request_limit`, `egress_byte_limit`, `ingress_byte_limit` of a backend: per calendar month
/// (UTC); `None` = unlimited (absent or `0`, as in the Go project). Reads fail over and writes
/// overflow to other backends once a limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageLimits {
    /// Requests sent to the backend.
    pub api_requests: Option<u64>,
    /// Bytes read from the backend (object bodies served).
    pub egress_bytes: Option<u64>,
    /// Bytes written to the backend (object and part bodies).
    pub ingress_bytes: Option<u64>,
}

/// What a backend is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendKind {
    /// An S3-compatible provider (`endpoint:`).
    S3 {
        /// Parsed `endpoint` URL.
        endpoint: Endpoint,
        /// Signing region (`region`, default [`DEFAULT_REGION`]).
        region: String,
        /// The provider-side bucket all objects go into (`bucket`).
        bucket: String,
        /// The provider credential (`access_key_id`).
        access_key_id: String,
        /// The provider credential (`secret_access_key`).
        secret_access_key: Secret,
        /// `force_path_style` (default `true`): `https://host/bucket/key` rather than
        /// `https://bucket.host/key`. Most non-AWS providers want path style.
        path_style: bool,
    },
    /// A directory on this machine (`path:`), for running without any cloud account.
    Local {
        /// The directory; relative paths are relative to the working directory.
        path: PathBuf,
    },
}

/// A parsed `http://` or `https://` endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `true` for `https://`.
    pub scheme_https: bool,
    /// Host name (lowercased) or IP address; IPv6 without brackets.
    pub host: String,
    /// Port, the scheme's default (80/443) when the URL has none.
    pub port: u16,
    /// Path prefix without a trailing slash (`""` when none), e.g. `/s3` for a provider mounted below
    /// a path.
    pub base_path: String,
}

impl Endpoint {
    /// The scheme's default port.
    pub fn default_port(&self) -> u16 {
        if self.scheme_https {
            443
        } else {
            80
        }
    }

    /// The `Host` header value: brackets around IPv6, the port only when it is not the default (as
    /// HTTP clients and SigV4 signers expect).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.scheme_https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.base_path)
    }
}

/// Default `rebalance.threshold` (the Go project's): act when the most and least used backends'
/// used/quota ratios differ by more than 10 percentage points.
pub const DEFAULT_REBALANCE_THRESHOLD: f64 = 0.1;

/// `rebalance`: the guide says the orchestrator re-balances automatically when backends are
/// added, so it is on by default (throttled like replication).
#[derive(Debug, Clone, PartialEq)]
pub struct RebalanceConfig {
    /// `enabled` (default true; only acts under `routing_strategy: spread`).
    pub enabled: bool,
    /// `threshold`: allowed spread of usage ratios, 0..=1.
    pub threshold: f64,
}

// `threshold` is validated to lie in 0..=1, never NaN, so equality is total.
impl Eq for RebalanceConfig {}

impl Default for RebalanceConfig {
    fn default() -> Self {
        RebalanceConfig {
            enabled: true,
            threshold: DEFAULT_REBALANCE_THRESHOLD,
        }
    }
}

/// `replication`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicationConfig {
    /// `factor`: copies per object, between 1 and the number of backends.
    pub factor: usize,
    /// `unhealthy_threshold`: how long a backend's breaker must stay open before its copies are
    /// replaced elsewhere.
    pub unhealthy_threshold: Duration,
    /// `concurrency`: copies in flight at once.
    pub concurrency: usize,
    /// `max_bytes_per_sec`: copy bandwidth while no client request is served; 0 = unthrottled.
    pub max_bytes_per_sec: u64,
    /// `busy_bytes_per_sec`: copy bandwidth while clients are active (never above
    /// `max_bytes_per_sec`); 0 = unthrottled.
    pub busy_bytes_per_sec: u64,
    /// `worker_interval`: period of the full catalog scan.
    pub worker_interval: Duration,
    /// `batch_size`: items per worker step.
    pub batch_size: usize,
}

impl Default for ReplicationConfig {
    fn default() -> Self {
        ReplicationConfig {
            factor: DEFAULT_REPLICATION_FACTOR,
            unhealthy_threshold: DEFAULT_UNHEALTHY_THRESHOLD,
            concurrency: DEFAULT_REPLICATION_CONCURRENCY,
            max_bytes_per_sec: DEFAULT_REPLICATION_MAX_BYTES_PER_SEC,
            busy_bytes_per_sec: default_busy_bytes_per_sec(DEFAULT_REPLICATION_MAX_BYTES_PER_SEC),
            worker_interval: DEFAULT_REPLICATION_WORKER_INTERVAL,
            batch_size: DEFAULT_REPLICATION_BATCH_SIZE,
        }
    }
}

/// `backend_circuit_breaker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreakerConfig {
    /// `enabled` (default `false`): track backend health and skip backends that keep failing. Needed
    /// for replacement copies after `replication.unhealthy_threshold`.
    pub enabled: bool,
    /// `failure_threshold` (default [`DEFAULT_FAILURE_THRESHOLD`]): consecutive failures (connect
    /// errors, timeouts, resets, 5xx) that open the breaker.
    pub failure_threshold: u32,
    /// `open_timeout` (default [`DEFAULT_OPEN_TIMEOUT`]): how long the breaker stays open before it
    /// turns half-open and probes the backend.
    pub open_timeout: Duration,
    /// `success_threshold` (default [`DEFAULT_SUCCESS_THRESHOLD`]): consecutive successful
    /// half-open probes that close the breaker; a failed probe reopens it.
    pub success_threshold: u32,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        CircuitBreakerConfig {
            enabled: false,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            open_timeout: DEFAULT_OPEN_TIMEOUT,
            success_threshold: DEFAULT_SUCCESS_THRESHOLD,
        }
    }
}

/// `rate_limit`: a token bucket per client credential (access key id), shared by all shards.
/// Requests beyond it get 503 `SlowDown`. (The Go project's `rate_limit` has the same keys but
/// limits per client IP.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    /// `enabled` (default `false`).
    pub enabled: bool,
    /// `requests_per_sec` (default [`DEFAULT_RATE_LIMIT_RPS`]): refill rate.
    pub requests_per_sec: f64,
    /// `burst` (default [`DEFAULT_RATE_LIMIT_BURST`]): bucket depth.
    pub burst: u32,
}

// The rate is validated finite and positive, so equality is reflexive.
impl Eq for RateLimitConfig {}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: false,
            requests_per_sec: DEFAULT_RATE_LIMIT_RPS,
            burst: DEFAULT_RATE_LIMIT_BURST,
        }
    }
}

/// One entry of `buckets`: a virtual bucket clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketConfig {
    /// A valid S3 bucket name, unique among the virtual buckets.
    pub name: String,
    /// The client credentials allowed on this bucket; never empty.
    pub credentials: Vec<CredentialConfig>,
}

/// One client credential of a virtual bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialConfig {
    /// `access_key_id`. The same id may appear under several buckets, always with the same secret.
    pub access_key_id: String,
    /// `secret_access_key`.
    pub secret_access_key: Secret,
    /// `permissions`: what this credential may do in this bucket.
    pub permissions: Permissions,
}

/// What a credential may do in a bucket (`permissions: [read, write, list, delete, admin]`).
/// Without the key a credential has everything but `admin`, which keeps the user's guide's
/// configs meaning what they always meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permissions(u8);

impl Permissions {
    /// GetObject, HeadObject, GetObjectAcl, and the bucket settings (location, versioning, ACL...).
    pub const READ: Permissions = Permissions(1);
    /// PutObject, CopyObject (destination), multipart uploads.
    pub const WRITE: Permissions = Permissions(2);
    /// ListObjects(V2), ListObjectVersions, ListMultipartUploads, ListParts.
    pub const LIST: Permissions = Permissions(4);
    /// DeleteObject, DeleteObjects.
    pub const DELETE: Permissions = Permissions(8);
    /// DeleteBucket and bucket management.
    pub const ADMIN: Permissions = Permissions(16);
    pub const NONE: Permissions = Permissions(0);
    pub const ALL: Permissions = Permissions(31);
    /// The default: everything but `admin`.
    pub const DEFAULT: Permissions = Permissions(15);

    /// The name used in the config, for one flag.
    pub const NAMES: [(&'static str, Permissions); 5] = [
        ("read", Permissions::READ),
        ("write", Permissions::WRITE),
        ("list", Permissions::LIST),
        ("delete", Permissions::DELETE),
        ("admin", Permissions::ADMIN),
    ];

    pub const fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    pub const fn contains(self, other: Permissions) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// `server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `listen_addr`: the S3 listener (default [`DEFAULT_LISTEN_ADDR`]).
    pub listen_addr: SocketAddr,
    /// `admin_addr`: metrics, admin API and dashboard (default [`DEFAULT_ADMIN_ADDR`]).
    pub admin_addr: SocketAddr,
    /// `shards`: executors serving requests; `0` (default) = one per core. At most [`MAX_SHARDS`].
    pub shards: usize,
    /// `domain`: when set, `bucket.<domain>` Host headers address buckets (virtual-hosted style).
    /// Lowercase, without a trailing dot.
    pub domain: Option<String>,
    /// `tls`: serve HTTPS on `listen_addr` instead of plain HTTP.
    pub tls: Option<TlsConfig>,
    /// `max_concurrent_requests` (default [`DEFAULT_MAX_CONCURRENT_REQUESTS`]): requests in
    /// progress at once, over all shards (each shard admits its share, rounded up); more are shed
    /// with 503 `SlowDown`.
    pub max_concurrent_requests: usize,
    /// `backend_timeout` (default [`DEFAULT_BACKEND_TIMEOUT`]): longest wait for a backend's
    /// response head and for progress of any backend read or write; also caps the connect
    /// timeout. A hung backend fails over after this long.
    pub backend_timeout: Duration,
}

impl ServerConfig {
    /// The number of shards to start: `shards`, or the number of cores when it is `0`, capped at
    /// [`MAX_SHARDS`].
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

/// `catalog`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogConfig {
    /// `path`: directory of the fjall database (default [`DEFAULT_CATALOG_PATH`]).
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
    fn secret_debug_is_redacted() {
        let s = Secret::new("wJalrXUtnFEMI");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "wJalrXUtnFEMI");
    }

    #[test]
    fn endpoint_authority_and_display() {
        let mut e = Endpoint {
            scheme_https: true,
            host: "s3.example.com".into(),
            port: 443,
            base_path: String::new(),
        };
        assert_eq!(e.authority(), "s3.example.com");
        assert_eq!(e.to_string(), "https://s3.example.com");
        e.port = 8443;
        e.base_path = "/s3".into();
        assert_eq!(e.authority(), "s3.example.com:8443");
        assert_eq!(e.to_string(), "https://s3.example.com:8443/s3");
        let v6 = Endpoint {
            scheme_https: false,
            host: "::1".into(),
            port: 9000,
            base_path: String::new(),
        };
        assert_eq!(v6.authority(), "[::1]:9000");
        assert_eq!(v6.default_port(), 80);
    }

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

    #[test]
    fn strategy_words() {
        assert_eq!(RoutingStrategy::default(), RoutingStrategy::Spread);
        assert_eq!(RoutingStrategy::Pack.as_str(), "pack");
        assert_eq!(RoutingStrategy::Spread.as_str(), "spread");
    }
}
