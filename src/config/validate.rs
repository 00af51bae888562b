//! Turns the parsed file ([`RawConfig`]) into the typed [`Config`], checking every value.
//!
//! Each scalar is `${VAR}`-expanded, converted and range-checked here; every problem is collected (not
//! just the first) with the key path it belongs to, so an operator sees all mistakes in one run. The
//! caller (`load.rs`) attaches file lines to the paths. Limits that the file may not exceed are the
//! `MAX_*` constants below.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::duration::{parse_duration, DurationError};
use super::env::{expand, EnvLookup};
use super::model::{
    default_busy_bytes_per_sec, RateLimitConfig, UsageLimits, BACKEND_TIMEOUT_RANGE,
    DEFAULT_BACKEND_TIMEOUT, DEFAULT_FAILURE_THRESHOLD, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_OPEN_TIMEOUT, DEFAULT_RATE_LIMIT_BURST, DEFAULT_RATE_LIMIT_RPS,
    DEFAULT_SUCCESS_THRESHOLD, MAX_CONCURRENT_REQUESTS, MAX_FAILURE_THRESHOLD,
    MAX_RATE_LIMIT_BURST, MAX_SUCCESS_THRESHOLD, OPEN_TIMEOUT_RANGE,
};
use super::model::{
    AccessLogLevel, BackendConfig, BackendKind, BucketConfig, CatalogConfig, CircuitBreakerConfig,
    Config, CredentialConfig, Endpoint, LoggingConfig, Permissions, RebalanceConfig,
    ReplicationConfig, RoutingStrategy, Secret, ServerConfig, TlsConfig, UiConfig,
    DEFAULT_ADMIN_ADDR, DEFAULT_CATALOG_PATH, DEFAULT_LISTEN_ADDR, DEFAULT_REBALANCE_THRESHOLD,
    DEFAULT_REGION, DEFAULT_REPLICATION_BATCH_SIZE, DEFAULT_REPLICATION_CONCURRENCY,
    DEFAULT_REPLICATION_FACTOR, DEFAULT_REPLICATION_MAX_BYTES_PER_SEC,
    DEFAULT_REPLICATION_WORKER_INTERVAL, DEFAULT_UNHEALTHY_THRESHOLD, MAX_REPLICATION_BATCH_SIZE,
    MAX_REPLICATION_CONCURRENCY, MAX_SHARDS,
};
use super::raw::{
    RawBackend, RawBucket, RawCatalog, RawCircuitBreaker, RawConfig, RawCredential, RawLogging,
    RawRateLimit, RawRebalance, RawReplication, RawServer, RawUi, Scalar,
};

/// Most backends in one configuration. Every write scans all backends to place a copy and every
/// catalog entry lists the backends holding it; 64 keeps both cheap (a backend set fits a `u64`).
pub const MAX_BACKENDS: usize = 64;

/// Longest backend name. Names are Prometheus label values and parts of catalog keys; short names keep
/// both compact.
pub const MAX_BACKEND_NAME_LEN: usize = 64;

/// Most virtual buckets. The router resolves buckets from an in-memory table; a thousand is far beyond
/// real deployments yet keeps the table small.
pub const MAX_BUCKETS: usize = 1024;

/// Most client credentials over all buckets, for the same reason as [`MAX_BUCKETS`].
pub const MAX_CREDENTIALS: usize = 4096;

/// Longest access key id, AWS's documented maximum; it is parsed out of every Authorization header.
pub const MAX_ACCESS_KEY_ID_LEN: usize = 128;

/// Longest secret access key. AWS secrets are 40 characters; other providers' are longer, none near this.
pub const MAX_SECRET_LEN: usize = 256;

/// Longest signing region name (part of every SigV4 credential scope).
pub const MAX_REGION_LEN: usize = 64;

/// Longest provider-side bucket name. AWS allows 63, some providers (OCI) allow 256; path-style
/// requests carry it in every URL.
pub const MAX_BACKEND_BUCKET_LEN: usize = 256;

/// Longest DNS name (RFC 1035), for endpoint hosts and `server.domain`.
pub const MAX_HOST_LEN: usize = 253;

/// Longest label of a DNS name (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// Shortest and longest S3 bucket name (AWS bucket naming rules).
const BUCKET_NAME_LEN: std::ops::RangeInclusive<usize> = 3..=63;

/// One problem found in the file: the key path it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// e.g. `backends[1].quota_bytes`.
    pub path: String,
    /// e.g. "must not be negative".
    pub message: String,
}

/// Checks and converts `raw`; all problems at once on failure.
pub fn validate(raw: &RawConfig, env: EnvLookup<'_>) -> Result<Config, Vec<Problem>> {
    let mut c = Checker {
        env,
        problems: Vec::new(),
    };
    let routing_strategy = c.routing_strategy(raw.routing_strategy.as_ref());
    let backends = c.backends(raw.backends.as_deref());
    let replication = c.replication(
        raw.replication.as_ref(),
        raw.backends.as_ref().map(Vec::len),
    );
    let backend_circuit_breaker = c.circuit_breaker(raw.backend_circuit_breaker.as_ref());
    let rate_limit = c.rate_limit(raw.rate_limit.as_ref());
    let rebalance = c.rebalance(raw.rebalance.as_ref());
    // access key id → (path of its first secret, the secret), across buckets and admins.
    let mut keys: HashMap<String, (String, Secret)> = HashMap::new();
    let buckets = c.buckets(
        raw.buckets.as_deref(),
        raw.admin_credentials.is_some(),
        &mut keys,
    );
    let admin_credentials = c.admin_credentials(raw.admin_credentials.as_deref(), &mut keys);
    let server = c.server(raw.server.as_ref());
    let catalog = c.catalog(raw.catalog.as_ref());
    let ui = c.ui(raw.ui.as_ref());
    let logging = c.logging(raw.logging.as_ref());
    if c.problems.is_empty() {
        Ok(Config {
            routing_strategy,
            backends,
            replication,
            backend_circuit_breaker,
            rebalance,
            rate_limit,
            buckets,
            admin_credentials,
            server,
            catalog,
            ui,
            logging,
        })
    } else {
        Err(c.problems)
    }
}

/// Collects problems while converting.
struct Checker<'e> {
    env: EnvLookup<'e>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A string value, `${VAR}`-expanded. `None` when absent or wrong (the problem is recorded).
    fn text(&mut self, path: &str, value: Option<&Scalar>) -> Option<String> {
        match value? {
            Scalar::Null => None,
            Scalar::Str(s) => self.expand(path, s),
            other => {
                let found = other.describe();
                self.problem(
                    path,
                    format!("expected a string, found {found} (put it in quotes)"),
                );
                None
            }
        }
    }

    /// `${VAR}`-expands `s`, recording a problem on failure.
    fn expand(&mut self, path: &str, s: &str) -> Option<String> {
        match expand(s, self.env) {
            Ok(v) => Some(v.into_owned()),
            Err(e) => {
                self.problem(path, e.to_string());
                None
            }
        }
    }

    /// A string that must be present and non-empty.
    fn required_text(&mut self, path: &str, value: Option<&Scalar>) -> Option<String> {
        match value {
            None => {
                self.problem(path, "missing required key");
                return None;
            }
            Some(Scalar::Null) => {
                self.problem(path, "has no value");
                return None;
            }
            Some(_) => {}
        }
        let text = self.text(path, value)?;
        if text.is_empty() {
            self.problem(path, "must not be empty");
            return None;
        }
        Some(text)
    }

    /// A non-negative integer, literal or from a `${VAR}` string.
    fn uint(&mut self, path: &str, value: Option<&Scalar>) -> Option<u64> {
        let parsed = match value? {
            Scalar::Null => return None,
            Scalar::Int(i) if *i < 0 => Err("must not be negative".to_owned()),
            Scalar::Int(i) => u64::try_from(*i).map_err(|_| "is too large".to_owned()),
            Scalar::Str(s) => {
                let text = self.expand(path, s)?;
                let t = text.trim();
                match t.parse::<u64>() {
                    Ok(n) => Ok(n),
                    Err(_) if t.parse::<i128>().is_ok_and(|n| n < 0) => {
                        Err("must not be negative".to_owned())
                    }
                    Err(_) => Err(format!("expected a non-negative integer, found `{t}`")),
                }
            }
            other => Err(format!(
                "expected a non-negative integer, found {}",
                other.describe()
            )),
        };
        parsed.map_err(|m| self.problem(path, m)).ok()
    }

    /// `true` or `false`, literal or from a `${VAR}` string.
    fn boolean(&mut self, path: &str, value: Option<&Scalar>) -> Option<bool> {
        let parsed = match value? {
            Scalar::Null => return None,
            Scalar::Bool(b) => Ok(*b),
            Scalar::Str(s) => {
                let text = self.expand(path, s)?;
                match text.trim() {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    t => Err(format!("expected `true` or `false`, found `{t}`")),
                }
            }
            other => Err(format!(
                "expected `true` or `false`, found {}",
                other.describe()
            )),
        };
        parsed.map_err(|m| self.problem(path, m)).ok()
    }

    /// A duration such as `10m`.
    fn duration(&mut self, path: &str, value: Option<&Scalar>) -> Option<Duration> {
        let parsed = match value? {
            Scalar::Null => return None,
            Scalar::Str(s) => {
                let text = self.expand(path, s)?;
                parse_duration(&text).map_err(|e| e.to_string())
            }
            Scalar::Int(0) => Ok(Duration::ZERO),
            Scalar::Int(i) => Err(DurationError::MissingUnit(i.to_string()).to_string()),
            other => Err(format!(
                "expected a duration such as `10m`, found {}",
                other.describe()
            )),
        };
        parsed.map_err(|m| self.problem(path, m)).ok()
    }

    fn routing_strategy(&mut self, value: Option<&Scalar>) -> RoutingStrategy {
        const PATH: &str = "routing_strategy";
        match self.text(PATH, value).as_deref() {
            None => RoutingStrategy::default(),
            Some("spread") => RoutingStrategy::Spread,
            Some("pack") => RoutingStrategy::Pack,
            Some(other) => {
                self.problem(
                    PATH,
                    format!("unknown routing strategy `{other}`, expected `spread` or `pack`"),
                );
                RoutingStrategy::default()
            }
        }
    }

    fn backends(&mut self, raw: Option<&[RawBackend]>) -> Vec<BackendConfig> {
        let raw = raw.unwrap_or_default();
        if raw.is_empty() {
            self.problem("backends", "at least one backend is required");
            return Vec::new();
        }
        if raw.len() > MAX_BACKENDS {
            self.problem(
                "backends",
                format!(
                    "at most {MAX_BACKENDS} backends are supported, found {}",
                    raw.len()
                ),
            );
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(raw.len());
        for (i, b) in raw.iter().enumerate() {
            let base = format!("backends[{i}]");
            if let Some(backend) = self.backend(&base, b) {
                if let Some(first) = names.get(&backend.name) {
                    self.problem(
                        format!("{base}.name"),
                        format!(
                            "duplicate backend name `{}` (already used by backends[{first}])",
                            backend.name
                        ),
                    );
                } else {
                    names.insert(backend.name.clone(), i);
                }
                out.push(backend);
            }
        }
        out
    }

    fn backend(&mut self, base: &str, b: &RawBackend) -> Option<BackendConfig> {
        let name_path = format!("{base}.name");
        let name = self.required_text(&name_path, b.name.as_ref());
        if let Some(n) = &name {
            if let Some(why) = backend_name_problem(n) {
                self.problem(&name_path, why);
            }
        }
        let quota_bytes = self
            .uint(&format!("{base}.quota_bytes"), b.quota_bytes.as_ref())
            // The Go project's convention: 0 means unlimited.
            .filter(|q| *q != 0);
        let mut limit = |key: &str, v: Option<&Scalar>| {
            self.uint(&format!("{base}.{key}"), v).filter(|n| *n != 0)
        };
        let usage_limits = UsageLimits {
            api_requests: limit("api_request_limit", b.api_request_limit.as_ref()),
            egress_bytes: limit("egress_byte_limit", b.egress_byte_limit.as_ref()),
            ingress_bytes: limit("ingress_byte_limit", b.ingress_byte_limit.as_ref()),
        };

        // `endpoint:` or `path:` written without a value count as absent here.
        let endpoint = b.endpoint.as_ref().filter(|v| !v.is_null());
        let path = b.path.as_ref().filter(|v| !v.is_null());
        let kind = match (endpoint, path) {
            (Some(_), Some(_)) => {
                self.problem(
                    format!("{base}.path"),
                    "`path` (a local directory backend) cannot be combined with `endpoint` (an S3 backend); keep one",
                );
                None
            }
            (None, Some(p)) => self.local_backend(base, b, p),
            (Some(_), None) => self.s3_backend(base, b),
            (None, None) => {
                self.problem(
                    base,
                    "needs `endpoint` (an S3-compatible provider) or `path` (a local directory)",
                );
                None
            }
        };
        Some(BackendConfig {
            name: name?,
            kind: kind?,
            quota_bytes,
            usage_limits,
        })
    }

    fn local_backend(&mut self, base: &str, b: &RawBackend, path: &Scalar) -> Option<BackendKind> {
        let s3_only = [
            ("region", &b.region),
            ("bucket", &b.bucket),
            ("access_key_id", &b.access_key_id),
            ("secret_access_key", &b.secret_access_key),
            ("force_path_style", &b.force_path_style),
        ];
        for (key, value) in s3_only {
            if value.as_ref().is_some_and(|v| !v.is_null()) {
                self.problem(
                    format!("{base}.{key}"),
                    format!("`{key}` applies only to S3 backends (`endpoint:`), not to a local `path:` backend"),
                );
            }
        }
        let path = self.required_text(&format!("{base}.path"), Some(path))?;
        Some(BackendKind::Local {
            path: PathBuf::from(path),
        })
    }

    fn s3_backend(&mut self, base: &str, b: &RawBackend) -> Option<BackendKind> {
        let endpoint_path = format!("{base}.endpoint");
        let endpoint = self
            .required_text(&endpoint_path, b.endpoint.as_ref())
            .and_then(|e| {
                parse_endpoint(&e)
                    .map_err(|why| {
                        self.problem(&endpoint_path, format!("invalid URL `{e}`: {why}"))
                    })
                    .ok()
            });

        let region_path = format!("{base}.region");
        let region = match b.region {
            None => Some(DEFAULT_REGION.to_owned()),
            Some(_) => self.required_text(&region_path, b.region.as_ref()),
        };
        if let Some(r) = &region {
            if r.len() > MAX_REGION_LEN || !r.bytes().all(|c| c.is_ascii_graphic() && c != b'/') {
                self.problem(
                    &region_path,
                    format!(
                        "invalid region `{r}`: at most {MAX_REGION_LEN} visible characters, no `/`"
                    ),
                );
            }
        }

        let path_style = self
            .boolean(
                &format!("{base}.force_path_style"),
                b.force_path_style.as_ref(),
            )
            .unwrap_or(true);

        let bucket_path = format!("{base}.bucket");
        let bucket = self.required_text(&bucket_path, b.bucket.as_ref());
        if let Some(bk) = &bucket {
            if !path_style {
                if let Some(why) = bucket_name_problem(bk) {
                    self.problem(
                        &bucket_path,
                        format!("`{bk}` cannot be used with `force_path_style: false` (it becomes a host name): {why}"),
                    );
                }
            } else if bk.len() > MAX_BACKEND_BUCKET_LEN
                || !bk.bytes().all(|c| c.is_ascii_graphic() && c != b'/')
            {
                self.problem(
                    &bucket_path,
                    format!("invalid bucket `{bk}`: at most {MAX_BACKEND_BUCKET_LEN} visible characters, no `/`"),
                );
            }
        }

        let access_key_id =
            self.access_key_id(&format!("{base}.access_key_id"), b.access_key_id.as_ref());
        let secret_access_key = self.secret(
            &format!("{base}.secret_access_key"),
            b.secret_access_key.as_ref(),
        );

        Some(BackendKind::S3 {
            endpoint: endpoint?,
            region: region?,
            bucket: bucket?,
            access_key_id: access_key_id?,
            secret_access_key: secret_access_key?,
            path_style,
        })
    }

    fn access_key_id(&mut self, path: &str, value: Option<&Scalar>) -> Option<String> {
        let id = self.required_text(path, value)?;
        if id.len() > MAX_ACCESS_KEY_ID_LEN {
            self.problem(
                path,
                format!("is longer than {MAX_ACCESS_KEY_ID_LEN} characters"),
            );
            return None;
        }
        // It travels in `Credential=<id>/<date>/...`: a `/`, `,` or space would break that parsing.
        if !id
            .bytes()
            .all(|c| c.is_ascii_graphic() && c != b'/' && c != b',')
        {
            self.problem(
                path,
                format!(
                    "invalid access key id `{id}`: visible ASCII characters only, no `/` or `,`"
                ),
            );
            return None;
        }
        Some(id)
    }

    fn secret(&mut self, path: &str, value: Option<&Scalar>) -> Option<Secret> {
        // Unlike `text`, never quote the value back: it is a secret.
        if let Some(Scalar::Int(_) | Scalar::Float(_) | Scalar::Bool(_)) = value {
            self.problem(
                path,
                "expected a string, found a number or boolean (put the secret in quotes)",
            );
            return None;
        }
        let s = self.required_text(path, value)?;
        if s.len() > MAX_SECRET_LEN {
            self.problem(path, format!("is longer than {MAX_SECRET_LEN} characters"));
            return None;
        }
        if s.chars().any(char::is_control) {
            self.problem(path, "must not contain control characters");
            return None;
        }
        Some(Secret::new(s))
    }

    fn replication(
        &mut self,
        raw: Option<&RawReplication>,
        backend_count: Option<usize>,
    ) -> ReplicationConfig {
        let Some(raw) = raw else {
            return ReplicationConfig::default();
        };
        const FACTOR: &str = "replication.factor";
        let factor = self.uint(FACTOR, raw.factor.as_ref()).map(|f| {
            let f = usize::try_from(f).unwrap_or(usize::MAX);
            if f == 0 {
                self.problem(
                    FACTOR,
                    "must be at least 1 (1 = a single copy, no replication)",
                );
            } else if let Some(n) = backend_count.filter(|n| *n > 0 && f > *n) {
                self.problem(
                    FACTOR,
                    format!(
                        "is {f} but there are only {n} backends; each copy needs its own backend"
                    ),
                );
            }
            f
        });
        const THRESHOLD: &str = "replication.unhealthy_threshold";
        let threshold = self.duration(THRESHOLD, raw.unhealthy_threshold.as_ref());
        if threshold == Some(Duration::ZERO) {
            self.problem(
                THRESHOLD,
                "must be greater than zero (a zero threshold would re-copy on every brief failure)",
            );
        }
        const CONCURRENCY: &str = "replication.concurrency";
        let concurrency = self.uint(CONCURRENCY, raw.concurrency.as_ref()).map(|c| {
            let c = usize::try_from(c).unwrap_or(usize::MAX);
            if c == 0 || c > MAX_REPLICATION_CONCURRENCY {
                self.problem(
                    CONCURRENCY,
                    format!("must be between 1 and {MAX_REPLICATION_CONCURRENCY}"),
                );
            }
            c
        });
        let max_bytes_per_sec = self
            .uint(
                "replication.max_bytes_per_sec",
                raw.max_bytes_per_sec.as_ref(),
            )
            .unwrap_or(DEFAULT_REPLICATION_MAX_BYTES_PER_SEC);
        const BUSY: &str = "replication.busy_bytes_per_sec";
        let busy_bytes_per_sec = match self.uint(BUSY, raw.busy_bytes_per_sec.as_ref()) {
            Some(b) => {
                // 0 = unthrottled, which is only "not above" an unthrottled idle rate.
                let above = max_bytes_per_sec != 0 && (b == 0 || b > max_bytes_per_sec);
                if above {
                    self.problem(
                        BUSY,
                        format!(
                            "must not exceed replication.max_bytes_per_sec ({max_bytes_per_sec}): \
                             it is the rate copies slow down to while clients are active"
                        ),
                    );
                }
                b
            }
            None => default_busy_bytes_per_sec(max_bytes_per_sec),
        };
        const INTERVAL: &str = "replication.worker_interval";
        let interval = self.duration(INTERVAL, raw.worker_interval.as_ref());
        if interval == Some(Duration::ZERO) {
            self.problem(INTERVAL, "must be greater than zero");
        }
        const BATCH: &str = "replication.batch_size";
        let batch = self.uint(BATCH, raw.batch_size.as_ref()).map(|b| {
            let b = usize::try_from(b).unwrap_or(usize::MAX);
            if b == 0 || b > MAX_REPLICATION_BATCH_SIZE {
                self.problem(
                    BATCH,
                    format!("must be between 1 and {MAX_REPLICATION_BATCH_SIZE}"),
                );
            }
            b
        });
        ReplicationConfig {
            concurrency: concurrency.unwrap_or(DEFAULT_REPLICATION_CONCURRENCY),
            max_bytes_per_sec,
            busy_bytes_per_sec,
            worker_interval: interval.unwrap_or(DEFAULT_REPLICATION_WORKER_INTERVAL),
            batch_size: batch.unwrap_or(DEFAULT_REPLICATION_BATCH_SIZE),
            factor: factor.unwrap_or(DEFAULT_REPLICATION_FACTOR),
            unhealthy_threshold: threshold.unwrap_or(DEFAULT_UNHEALTHY_THRESHOLD),
        }
    }

    fn rebalance(&mut self, raw: Option<&RawRebalance>) -> RebalanceConfig {
        let Some(raw) = raw else {
            return RebalanceConfig::default();
        };
        let enabled = self.boolean("rebalance.enabled", raw.enabled.as_ref());
        const THRESHOLD: &str = "rebalance.threshold";
        let threshold = match raw.threshold.as_ref() {
            None | Some(Scalar::Null) => None,
            Some(Scalar::Float(f)) => Some(*f),
            Some(Scalar::Int(i)) => Some(*i as f64),
            Some(other) => {
                self.problem(
                    THRESHOLD,
                    format!(
                        "expected a number between 0 and 1, found {}",
                        other.describe()
                    ),
                );
                None
            }
        };
        if let Some(t) = threshold {
            if !(0.0..=1.0).contains(&t) {
                self.problem(
                    THRESHOLD,
                    "must be between 0 and 1 (a fraction of each backend's quota)",
                );
            }
        }
        RebalanceConfig {
            enabled: enabled.unwrap_or(true),
            threshold: threshold.unwrap_or(DEFAULT_REBALANCE_THRESHOLD),
        }
    }

    /// A whole number within `1..=max`, or `default` when absent.
    fn count(&mut self, path: &str, value: Option<&Scalar>, max: u64, default: u64) -> u64 {
        match self.uint(path, value) {
            None => default,
            Some(0) => {
                self.problem(path, "must be at least 1");
                default
            }
            Some(n) if n > max => {
                self.problem(path, format!("must be at most {max}, found {n}"));
                default
            }
            Some(n) => n,
        }
    }

    /// A duration within `range`, or `default` when absent.
    fn bounded_duration(
        &mut self,
        path: &str,
        value: Option<&Scalar>,
        range: (Duration, Duration),
        default: Duration,
    ) -> Duration {
        match self.duration(path, value) {
            None => default,
            Some(d) if d < range.0 || d > range.1 => {
                self.problem(
                    path,
                    format!(
                        "must be between {} and {}",
                        super::duration::format_duration(range.0),
                        super::duration::format_duration(range.1)
                    ),
                );
                default
            }
            Some(d) => d,
        }
    }

    fn circuit_breaker(&mut self, raw: Option<&RawCircuitBreaker>) -> CircuitBreakerConfig {
        let Some(r) = raw else {
            return CircuitBreakerConfig::default();
        };
        let enabled = self
            .boolean("backend_circuit_breaker.enabled", r.enabled.as_ref())
            .unwrap_or(false);
        let failure_threshold = self.count(
            "backend_circuit_breaker.failure_threshold",
            r.failure_threshold.as_ref(),
            u64::from(MAX_FAILURE_THRESHOLD),
            u64::from(DEFAULT_FAILURE_THRESHOLD),
        ) as u32;
        let open_timeout = self.bounded_duration(
            "backend_circuit_breaker.open_timeout",
            r.open_timeout.as_ref(),
            OPEN_TIMEOUT_RANGE,
            DEFAULT_OPEN_TIMEOUT,
        );
        let success_threshold = self.count(
            "backend_circuit_breaker.success_threshold",
            r.success_threshold.as_ref(),
            u64::from(MAX_SUCCESS_THRESHOLD),
            u64::from(DEFAULT_SUCCESS_THRESHOLD),
        ) as u32;
        CircuitBreakerConfig {
            enabled,
            failure_threshold,
            open_timeout,
            success_threshold,
        }
    }

    fn rate_limit(&mut self, raw: Option<&RawRateLimit>) -> RateLimitConfig {
        let Some(r) = raw else {
            return RateLimitConfig::default();
        };
        let enabled = self
            .boolean("rate_limit.enabled", r.enabled.as_ref())
            .unwrap_or(false);
        const RPS: &str = "rate_limit.requests_per_sec";
        let requests_per_sec = match r.requests_per_sec.as_ref() {
            None | Some(Scalar::Null) => DEFAULT_RATE_LIMIT_RPS,
            Some(v) => {
                let parsed = match v {
                    Scalar::Int(i) => Some(*i as f64),
                    Scalar::Float(f) => Some(*f),
                    Scalar::Str(s) => self.expand(RPS, s).and_then(|t| t.trim().parse().ok()),
                    _ => None,
                };
                match parsed {
                    Some(x) if x.is_finite() && x > 0.0 && x <= 1e9 => x,
                    _ => {
                        self.problem(
                            RPS,
                            "expected a positive number of requests per second (at most 1e9)",
                        );
                        DEFAULT_RATE_LIMIT_RPS
                    }
                }
            }
        };
        let burst = self.count(
            "rate_limit.burst",
            r.burst.as_ref(),
            u64::from(MAX_RATE_LIMIT_BURST),
            u64::from(DEFAULT_RATE_LIMIT_BURST),
        ) as u32;
        RateLimitConfig {
            enabled,
            requests_per_sec,
            burst,
        }
    }

    fn buckets(
        &mut self,
        raw: Option<&[RawBucket]>,
        has_admins: bool,
        keys: &mut HashMap<String, (String, Secret)>,
    ) -> Vec<BucketConfig> {
        let raw = raw.unwrap_or_default();
        if raw.is_empty() {
            if !has_admins {
                self.problem(
                    "buckets",
                    "at least one virtual bucket is required (or admin_credentials, to create buckets through the S3 API)",
                );
            }
            return Vec::new();
        }
        if raw.len() > MAX_BUCKETS {
            self.problem(
                "buckets",
                format!(
                    "at most {MAX_BUCKETS} buckets are supported, found {}",
                    raw.len()
                ),
            );
        }
        let total: usize = raw
            .iter()
            .map(|b| b.credentials.as_ref().map_or(0, Vec::len))
            .sum();
        if total > MAX_CREDENTIALS {
            self.problem(
                "buckets",
                format!(
                    "at most {MAX_CREDENTIALS} credentials are supported in all, found {total}"
                ),
            );
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(raw.len());
        for (i, b) in raw.iter().enumerate() {
            let base = format!("buckets[{i}]");
            let name_path = format!("{base}.name");
            let name = self.required_text(&name_path, b.name.as_ref());
            if let Some(n) = &name {
                if let Some(why) = bucket_name_problem(n) {
                    self.problem(&name_path, format!("invalid bucket name `{n}`: {why}"));
                } else if let Some(first) = names.get(n) {
                    self.problem(
                        &name_path,
                        format!("duplicate bucket name `{n}` (already used by buckets[{first}])"),
                    );
                } else {
                    names.insert(n.clone(), i);
                }
            }
            let credentials = self.credentials(&base, b, keys);
            if let Some(name) = name {
                out.push(BucketConfig { name, credentials });
            }
        }
        out
    }

    fn credentials(
        &mut self,
        base: &str,
        b: &RawBucket,
        keys: &mut HashMap<String, (String, Secret)>,
    ) -> Vec<CredentialConfig> {
        let list_path = format!("{base}.credentials");
        let raw = b.credentials.as_deref().unwrap_or_default();
        if raw.is_empty() {
            self.problem(&list_path, "at least one credential is required");
            return Vec::new();
        }
        let mut in_bucket: HashSet<String> = HashSet::new();
        let mut out = Vec::with_capacity(raw.len());
        for (j, c) in raw.iter().enumerate() {
            let cbase = format!("{list_path}[{j}]");
            let id_path = format!("{cbase}.access_key_id");
            let secret_path = format!("{cbase}.secret_access_key");
            let id = self.access_key_id(&id_path, c.access_key_id.as_ref());
            let secret = self.secret(&secret_path, c.secret_access_key.as_ref());
            let (Some(id), Some(secret)) = (id, secret) else {
                continue;
            };
            if !in_bucket.insert(id.clone()) {
                self.problem(
                    &id_path,
                    format!("access key id `{id}` is listed twice in this bucket"),
                );
                continue;
            }
            match keys.get(&id) {
                Some((first_path, first_secret)) if *first_secret != secret => {
                    self.problem(
                        &secret_path,
                        format!(
                            "access key id `{id}` is also used at {first_path} with a different secret_access_key; one access key id has one secret"
                        ),
                    );
                }
                Some(_) => {}
                None => {
                    keys.insert(id.clone(), (secret_path.clone(), secret.clone()));
                }
            }
            let permissions = self.permissions(&cbase, c.permissions.as_deref());
            out.push(CredentialConfig {
                access_key_id: id,
                secret_access_key: secret,
                permissions,
            });
        }
        out
    }

    /// `permissions: [read, write, ...]`; absent = [`Permissions::DEFAULT`].
    fn permissions(&mut self, cbase: &str, raw: Option<&[Scalar]>) -> Permissions {
        let Some(list) = raw else {
            return Permissions::DEFAULT;
        };
        let path = format!("{cbase}.permissions");
        let mut p = Permissions::NONE;
        for (k, item) in list.iter().enumerate() {
            let name = match item {
                Scalar::Str(s) => s.trim().to_ascii_lowercase(),
                other => {
                    self.problem(
                        format!("{path}[{k}]"),
                        format!("expected a permission name, found {}", other.describe()),
                    );
                    continue;
                }
            };
            match Permissions::NAMES.iter().find(|(n, _)| *n == name) {
                Some((_, flag)) => p = p.union(*flag),
                None => self.problem(
                    format!("{path}[{k}]"),
                    format!(
                        "unknown permission `{name}`; expected read, write, list, delete or admin"
                    ),
                ),
            }
        }
        if p.is_empty() && !list.is_empty() {
            return Permissions::NONE;
        }
        if list.is_empty() {
            self.problem(&path, "an empty list grants nothing; give at least one of read, write, list, delete, admin");
        }
        p
    }

    /// `admin_credentials`: may create and delete buckets through the S3 API.
    fn admin_credentials(
        &mut self,
        raw: Option<&[RawCredential]>,
        keys: &mut HashMap<String, (String, Secret)>,
    ) -> Vec<CredentialConfig> {
        let raw = raw.unwrap_or_default();
        let mut out = Vec::with_capacity(raw.len());
        for (j, c) in raw.iter().enumerate() {
            let cbase = format!("admin_credentials[{j}]");
            let id_path = format!("{cbase}.access_key_id");
            let secret_path = format!("{cbase}.secret_access_key");
            if c.permissions.is_some() {
                self.problem(
                    format!("{cbase}.permissions"),
                    "admin credentials have every permission; remove this key",
                );
            }
            let id = self.access_key_id(&id_path, c.access_key_id.as_ref());
            let secret = self.secret(&secret_path, c.secret_access_key.as_ref());
            let (Some(id), Some(secret)) = (id, secret) else {
                continue;
            };
            match keys.get(&id) {
                Some((first_path, first_secret)) if *first_secret != secret => {
                    self.problem(
                        &secret_path,
                        format!("access key id `{id}` is also used at {first_path} with a different secret_access_key; one access key id has one secret"),
                    );
                }
                Some(_) => {}
                None => {
                    keys.insert(id.clone(), (secret_path.clone(), secret.clone()));
                }
            }
            out.push(CredentialConfig {
                access_key_id: id,
                secret_access_key: secret,
                permissions: Permissions::ALL,
            });
        }
        out
    }

    fn server(&mut self, raw: Option<&RawServer>) -> ServerConfig {
        let Some(raw) = raw else {
            return ServerConfig::default();
        };
        let listen_addr = self.socket_addr("server.listen_addr", raw.listen_addr.as_ref());
        let admin_addr = self.socket_addr("server.admin_addr", raw.admin_addr.as_ref());
        let listen = listen_addr.unwrap_or(DEFAULT_LISTEN_ADDR);
        let admin = admin_addr.unwrap_or(DEFAULT_ADMIN_ADDR);
        if listens_overlap(listen, admin) {
            self.problem(
                if raw.admin_addr.is_some() { "server.admin_addr" } else { "server.listen_addr" },
                format!("the S3 listener ({listen}) and the admin listener ({admin}) would share a port; give them different ports"),
            );
        }

        const SHARDS: &str = "server.shards";
        let shards = self.uint(SHARDS, raw.shards.as_ref()).map(|s| {
            let s = usize::try_from(s).unwrap_or(usize::MAX);
            if s > MAX_SHARDS {
                self.problem(
                    SHARDS,
                    format!("at most {MAX_SHARDS} (0 = one per core), found {s}"),
                );
            }
            s
        });

        const DOMAIN: &str = "server.domain";
        let domain = self.text(DOMAIN, raw.domain.as_ref()).and_then(|d| {
            parse_domain(&d)
                .map_err(|why| self.problem(DOMAIN, format!("invalid domain `{d}`: {why}")))
                .ok()
        });

        let tls = raw.tls.as_ref().and_then(|t| {
            let cert = self.required_text("server.tls.cert_file", t.cert_file.as_ref());
            let key = self.required_text("server.tls.key_file", t.key_file.as_ref());
            Some(TlsConfig {
                cert_file: PathBuf::from(cert?),
                key_file: PathBuf::from(key?),
            })
        });

        let max_concurrent_requests = self.count(
            "server.max_concurrent_requests",
            raw.max_concurrent_requests.as_ref(),
            MAX_CONCURRENT_REQUESTS as u64,
            DEFAULT_MAX_CONCURRENT_REQUESTS as u64,
        ) as usize;
        let backend_timeout = self.bounded_duration(
            "server.backend_timeout",
            raw.backend_timeout.as_ref(),
            BACKEND_TIMEOUT_RANGE,
            DEFAULT_BACKEND_TIMEOUT,
        );

        ServerConfig {
            listen_addr: listen,
            admin_addr: admin,
            shards: shards.unwrap_or(0),
            domain,
            tls,
            max_concurrent_requests,
            backend_timeout,
        }
    }

    fn socket_addr(&mut self, path: &str, value: Option<&Scalar>) -> Option<SocketAddr> {
        if value.is_some_and(|v| !matches!(v, Scalar::Str(_))) {
            self.problem(
                path,
                "expected an address `IP:port` such as `127.0.0.1:9000`",
            );
            return None;
        }
        let text = self.text(path, value)?;
        parse_socket_addr(&text)
            .map_err(|why| self.problem(path, format!("invalid address `{text}`: {why}")))
            .ok()
    }

    fn ui(&mut self, raw: Option<&RawUi>) -> UiConfig {
        let Some(raw) = raw else {
            return UiConfig::default();
        };
        let enabled = self
            .boolean("ui.enabled", raw.enabled.as_ref())
            .unwrap_or(false);
        let admin_key = raw
            .admin_key
            .as_ref()
            .and_then(|v| self.access_key_id("ui.admin_key", Some(v)));
        let admin_secret = raw
            .admin_secret
            .as_ref()
            .and_then(|v| self.secret("ui.admin_secret", Some(v)));
        let admin_token = raw
            .admin_token
            .as_ref()
            .and_then(|v| self.secret("ui.admin_token", Some(v)));
        match (raw.admin_key.is_some(), raw.admin_secret.is_some()) {
            (true, false) => self.problem(
                "ui.admin_secret",
                "missing: admin_key and admin_secret go together",
            ),
            (false, true) => self.problem(
                "ui.admin_key",
                "missing: admin_key and admin_secret go together",
            ),
            (false, false) if enabled => self.problem(
                "ui.enabled",
                "the dashboard needs ui.admin_key and ui.admin_secret to log in",
            ),
            _ => {}
        }
        UiConfig {
            enabled,
            admin_key,
            admin_secret,
            admin_token,
        }
    }

    fn logging(&mut self, raw: Option<&RawLogging>) -> LoggingConfig {
        const LEVEL: &str = "logging.access_log_level";
        let access_log_level = raw
            .and_then(|r| r.access_log_level.as_ref())
            .and_then(|v| self.text(LEVEL, Some(v)))
            .and_then(|t| {
                AccessLogLevel::parse(&t)
                    .ok_or_else(|| {
                        self.problem(
                            LEVEL,
                            format!(
                                "expected one of {}, found `{t}`",
                                AccessLogLevel::WORDS.join(", ")
                            ),
                        )
                    })
                    .ok()
            })
            .unwrap_or_default();
        LoggingConfig { access_log_level }
    }

    fn catalog(&mut self, raw: Option<&RawCatalog>) -> CatalogConfig {
        let path = raw
            .and_then(|r| r.path.as_ref())
            .and_then(|p| self.required_text("catalog.path", Some(p)))
            .unwrap_or_else(|| DEFAULT_CATALOG_PATH.to_owned());
        CatalogConfig {
            path: PathBuf::from(path),
        }
    }
}

/// Whether binding both addresses would collide. glommio binds with SO_REUSEPORT, so a collision
/// would not even fail: the two listeners would silently share connections.
fn listens_overlap(a: SocketAddr, b: SocketAddr) -> bool {
    // Port 0 asks the OS for a fresh port each time (tests).
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

/// Why `name` is not a usable backend name, if it is not.
fn backend_name_problem(name: &str) -> Option<String> {
    if name.len() > MAX_BACKEND_NAME_LEN {
        return Some(format!(
            "backend name is longer than {MAX_BACKEND_NAME_LEN} characters"
        ));
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        return Some(format!(
            "invalid backend name `{name}`: use letters, digits, `-`, `_` and `.`"
        ));
    }
    None
}

/// Why `name` is not a valid S3 bucket name (AWS's general-purpose bucket naming rules), if it is not.
pub fn bucket_name_problem(name: &str) -> Option<&'static str> {
    if !BUCKET_NAME_LEN.contains(&name.len()) {
        return Some("must be 3 to 63 characters long");
    }
    if !name
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-')
    {
        return Some("only lowercase letters, digits, `.` and `-` are allowed");
    }
    let bytes = name.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Some("must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("must not contain two adjacent dots");
    }
    if looks_like_ipv4(name) {
        return Some("must not be formatted as an IP address");
    }
    if name.starts_with("xn--") || name.starts_with("sthree-") {
        return Some("must not start with `xn--` or `sthree-`");
    }
    if name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return Some("must not end with `-s3alias` or `--ol-s3`");
    }
    None
}

/// Four dot-separated groups of digits (`192.168.5.4`, also out-of-range ones like `999.1.1.1`).
fn looks_like_ipv4(name: &str) -> bool {
    let groups: Vec<&str> = name.split('.').collect();
    groups.len() == 4
        && groups
            .iter()
            .all(|g| !g.is_empty() && g.bytes().all(|c| c.is_ascii_digit()))
}

/// Validates a DNS host name and lowercases it.
fn parse_hostname(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err("the host is empty".to_owned());
    }
    if host.len() > MAX_HOST_LEN {
        return Err(format!("the host is longer than {MAX_HOST_LEN} characters"));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("the host has an empty label (`..` or a leading/trailing dot)".to_owned());
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(format!(
                "a host label is longer than {MAX_LABEL_LEN} characters"
            ));
        }
        if !label
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        {
            return Err(format!(
                "the host label `{label}` may contain only letters, digits, `-` and `_`"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "the host label `{label}` must not begin or end with `-`"
            ));
        }
    }
    Ok(host.to_ascii_lowercase())
}

/// Parses an `http://` or `https://` endpoint URL.
pub fn parse_endpoint(url: &str) -> Result<Endpoint, String> {
    let (scheme_https, rest) = if let Some(r) = strip_prefix_ignore_case(url, "https://") {
        (true, r)
    } else if let Some(r) = strip_prefix_ignore_case(url, "http://") {
        (false, r)
    } else {
        return Err("must start with `http://` or `https://`".to_owned());
    };
    if rest.contains(['?', '#']) {
        return Err("must not have a query (`?`) or fragment (`#`)".to_owned());
    }
    if rest.bytes().any(|c| !c.is_ascii_graphic()) {
        return Err("must not contain spaces or non-ASCII characters".to_owned());
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(
            "must not contain user credentials; use access_key_id and secret_access_key".to_owned(),
        );
    }
    let default_port = if scheme_https { 443 } else { 80 };
    let (host, port_text) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']').ok_or("unclosed `[` in the IPv6 host")?;
        let addr: Ipv6Addr = v6[..end]
            .parse()
            .map_err(|_| format!("`{}` is not an IPv6 address", &v6[..end]))?;
        let after = &v6[end + 1..];
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("unexpected text after `]`")?),
        };
        (addr.to_string(), port)
    } else {
        let (h, p) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host = if h.parse::<Ipv4Addr>().is_ok() {
            h.to_owned()
        } else {
            parse_hostname(h)?
        };
        (host, p)
    };
    let port = match port_text {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("`{p}` is not a valid port (1-65535)")),
            Ok(n) => n,
        },
    };
    let base_path = path.trim_end_matches('/').to_owned();
    Ok(Endpoint {
        scheme_https,
        host,
        port,
        base_path,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Parses `IP:port`; `:port` (the Go form) means all IPv4 interfaces.
fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    const HINT: &str =
        "expected `IP:port` such as `0.0.0.0:9000`, `127.0.0.1:9001` or `[::1]:9000`";
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| HINT.to_owned())?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    text.parse().map_err(|_| HINT.to_owned())
}

/// Validates `server.domain`: a DNS name, lowercased, without a trailing dot.
fn parse_domain(text: &str) -> Result<String, String> {
    let d = text.strip_suffix('.').unwrap_or(text);
    if d.contains(':') || d.contains('/') {
        return Err("a bare host name is expected, without scheme, port or path".to_owned());
    }
    let host = parse_hostname(d)?;
    if host.contains('_') {
        return Err("`_` is not allowed in a domain name".to_owned());
    }
    Ok(host)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["myapp", "my-app.logs", "a1b", "123", &"a".repeat(63)] {
            assert_eq!(bucket_name_problem(ok), None, "{ok}");
        }
        let bad = [
            ("ab", "3 to 63"),
            (&"a".repeat(64) as &str, "3 to 63"),
            ("MyApp", "lowercase"),
            ("my_app", "lowercase"),
            ("-app", "begin and end"),
            ("app.", "begin and end"),
            ("my..app", "adjacent"),
            ("192.168.5.4", "IP address"),
            ("999.1.1.1", "IP address"),
            ("xn--app", "xn--"),
            ("app-s3alias", "-s3alias"),
        ];
        for (name, why) in bad {
            let p = bucket_name_problem(name).unwrap_or("");
            assert!(p.contains(why), "{name}: {p}");
        }
    }

    #[test]
    fn endpoints() {
        let e = parse_endpoint("https://objectstorage.us-ashburn-1.oraclecloud.com").unwrap();
        assert_eq!(
            e,
            Endpoint {
                scheme_https: true,
                host: "objectstorage.us-ashburn-1.oraclecloud.com".into(),
                port: 443,
                base_path: String::new()
            }
        );
        let e = parse_endpoint("HTTP://LocalHost:8333/s3/").unwrap();
        assert!(!e.scheme_https);
        assert_eq!(e.host, "localhost");
        assert_eq!(e.port, 8333);
        assert_eq!(e.base_path, "/s3");
        let e = parse_endpoint("http://127.0.0.1:9000").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 9000));
        let e = parse_endpoint("http://[::1]:9000/").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.base_path.as_str()),
            ("::1", 9000, "")
        );
        let e = parse_endpoint("http://[::1]").unwrap();
        assert_eq!(e.port, 80);

        for (bad, why) in [
            ("ftp://x.com", "http://"),
            ("x.com", "http://"),
            ("https://", "empty"),
            ("https://x.com:0", "port"),
            ("https://x.com:99999", "port"),
            ("https://x.com:abc", "port"),
            ("https://user:pw@x.com", "credentials"),
            ("https://x.com/?a=b", "query"),
            ("https://x .com", "spaces"),
            ("https://<account-id>.r2.cloudflarestorage.com", "label"),
            ("https://a..b", "empty label"),
            ("https://-a.com", "`-`"),
            ("http://[::1", "unclosed"),
            ("http://[zz]:1", "IPv6"),
            ("http://[::1]x", "after"),
        ] {
            let err = parse_endpoint(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn socket_addrs() {
        assert_eq!(
            parse_socket_addr(":9000").unwrap(),
            "0.0.0.0:9000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_socket_addr("[::1]:9000").unwrap(),
            "[::1]:9000".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_socket_addr("localhost:9000").is_err());
        assert!(parse_socket_addr("127.0.0.1").is_err());
        assert!(parse_socket_addr(":x").is_err());
    }

    #[test]
    fn overlap() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(listens_overlap(a("0.0.0.0:9000"), a("127.0.0.1:9000")));
        assert!(listens_overlap(a("127.0.0.1:9000"), a("127.0.0.1:9000")));
        assert!(!listens_overlap(a("127.0.0.1:9000"), a("127.0.0.2:9000")));
        assert!(!listens_overlap(a("127.0.0.1:9000"), a("127.0.0.1:9001")));
        assert!(!listens_overlap(a("127.0.0.1:0"), a("127.0.0.1:0")));
    }

    #[test]
    fn domains() {
        assert_eq!(parse_domain("S3.Example.com.").unwrap(), "s3.example.com");
        assert_eq!(parse_domain("localhost").unwrap(), "localhost");
        assert!(parse_domain("s3.example.com:9000").is_err());
        assert!(parse_domain("http://x").is_err());
        assert!(parse_domain("a_b.com").is_err());
        assert!(parse_domain("").is_err());
    }

    #[test]
    fn backend_names() {
        assert_eq!(backend_name_problem("oci-1_a.b"), None);
        assert!(backend_name_problem("a b").is_some());
        assert!(backend_name_problem(&"a".repeat(65)).is_some());
    }
}
