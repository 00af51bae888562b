//! `backend_circuit_breaker` and `rate_limit`: skipping backends that keep failing, and the
//! per-credential request rate limit.

use std::time::Duration;

/// Default `backend_circuit_breaker.failure_threshold` (the Go project's): five consecutive failures
/// are well past a transient blip, yet at a few requests per second trip within seconds.
pub(crate) const DEFAULT_FAILURE_THRESHOLD: u32 = 5;

/// Most consecutive failures `failure_threshold` may ask for: beyond this a dead backend would cost
/// clients thousands of timed-out attempts before being skipped.
pub(crate) const MAX_FAILURE_THRESHOLD: u32 = 1000;

/// Default `backend_circuit_breaker.open_timeout` (the Go project's): how long an open breaker waits
/// before the first half-open probe. Five minutes avoids hammering a provider that is down.
pub(crate) const DEFAULT_OPEN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Bounds of `open_timeout`: below 100 ms probes would be a busy loop; above a day a recovered
/// provider would stay unused for too long.
pub(crate) const OPEN_TIMEOUT_RANGE: (Duration, Duration) =
    (Duration::from_millis(100), Duration::from_secs(24 * 3600));

/// Default `backend_circuit_breaker.success_threshold`: consecutive successful half-open probes
/// (spaced by the breaker's half-open probe interval, `HALF_OPEN_PROBE_INTERVAL`) before the breaker
/// closes. Two keeps a flapping backend from rejoining on a single lucky answer.
pub(crate) const DEFAULT_SUCCESS_THRESHOLD: u32 = 2;

/// Most probes `success_threshold` may ask for (each costs a probe interval of waiting).
pub(crate) const MAX_SUCCESS_THRESHOLD: u32 = 100;

/// `backend_circuit_breaker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreakerConfig {
    /// `enabled` (default `false`): track backend health and skip backends that keep failing. Needed
    /// for replacement copies after `replication.unhealthy_threshold`.
    pub enabled: bool,
    /// `failure_threshold` (default `DEFAULT_FAILURE_THRESHOLD`): consecutive failures (connect
    /// errors, timeouts, resets, 5xx) that open the breaker.
    pub failure_threshold: u32,
    /// `open_timeout` (default `DEFAULT_OPEN_TIMEOUT`): how long the breaker stays open before it
    /// turns half-open and probes the backend.
    pub open_timeout: Duration,
    /// `success_threshold` (default `DEFAULT_SUCCESS_THRESHOLD`): consecutive successful
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

/// Default `rate_limit.requests_per_sec` (the Go project's rate limiter default).
pub(crate) const DEFAULT_RATE_LIMIT_RPS: f64 = 100.0;

/// Default `rate_limit.burst` (the Go project's).
pub(crate) const DEFAULT_RATE_LIMIT_BURST: u32 = 200;

/// Most `rate_limit.burst`: a bucket this deep is no limit at all.
pub(crate) const MAX_RATE_LIMIT_BURST: u32 = 10_000_000;

/// `rate_limit`: a token bucket per client credential (access key id), shared by all shards.
/// Requests beyond it get 503 `SlowDown`. (The Go project's `rate_limit` has the same keys but
/// limits per client IP.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    /// `enabled` (default `false`).
    pub enabled: bool,
    /// `requests_per_sec` (default `DEFAULT_RATE_LIMIT_RPS`): refill rate.
    pub requests_per_sec: f64,
    /// `burst` (default `DEFAULT_RATE_LIMIT_BURST`): bucket depth.
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
