//! `replication`, `rebalance` and `cleanup_queue`: copies per object, the background copier's pace,
//! moving copies to even out usage, and the background plane's housekeeping of stale uploads.

use std::time::Duration;

/// Default `replication.unhealthy_threshold` (the user's guide: "default: 10 minutes"): long enough that
/// a provider's short blip does not trigger a full re-copy, short enough that redundancy returns within
/// the hour.
pub(crate) const DEFAULT_UNHEALTHY_THRESHOLD: Duration = Duration::from_secs(10 * 60);

/// Default `replication.concurrency` (the Go project's default): copies in flight at once.
pub(crate) const DEFAULT_REPLICATION_CONCURRENCY: usize = 5;
/// Most copies in flight at once that config may ask for: each holds a backend connection pair
/// and a buffer on the background shard.
pub(crate) const MAX_REPLICATION_CONCURRENCY: usize = 64;
/// Default `replication.max_bytes_per_sec`: 64 MiB/s, a fraction of one core's streaming rate, so
/// a backlog drains steadily without taking the cores client requests need. 0 = unthrottled.
pub(crate) const DEFAULT_REPLICATION_MAX_BYTES_PER_SEC: u64 = 64 * 1024 * 1024;
/// Default `replication.busy_bytes_per_sec` as a divisor of `max_bytes_per_sec`: while clients are
/// being served, copies run at an eighth of the idle rate (8 MiB/s by default). Measured on two
/// cores with co-located backends (`loadtest/replication_latency.py`): small-GET p99 rose ~2.5x
/// with copies at 64 MiB/s and stayed within ~1.2x at 8-16 MiB/s; the busy rate is still a floor,
/// so a backlog drains under constant client load.
const DEFAULT_REPLICATION_BUSY_DIVISOR: u64 = 8;

/// `replication.busy_bytes_per_sec` when the config does not set it (0, unthrottled, stays 0).
pub(crate) const fn default_busy_bytes_per_sec(max_bytes_per_sec: u64) -> u64 {
    max_bytes_per_sec / DEFAULT_REPLICATION_BUSY_DIVISOR
}
/// Default `replication.worker_interval`: how often the whole catalog is scanned for objects
/// under the target factor (copies on long-dead backends, a raised factor) and over it.
pub(crate) const DEFAULT_REPLICATION_WORKER_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Default `replication.batch_size`: queue items or catalog records handled per step.
pub(crate) const DEFAULT_REPLICATION_BATCH_SIZE: usize = 50;
/// Largest `replication.batch_size`: bounds the memory of one step.
pub(crate) const MAX_REPLICATION_BATCH_SIZE: usize = 1000;

/// Default `replication.factor`: one copy, i.e. no replication.
pub(crate) const DEFAULT_REPLICATION_FACTOR: usize = 1;

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

/// Default `rebalance.threshold` (the Go project's): act when the most and least used backends'
/// used/quota ratios differ by more than 10 percentage points.
pub(crate) const DEFAULT_REBALANCE_THRESHOLD: f64 = 0.1;

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

/// Default `cleanup_queue.multipart_stale_timeout` (the Go project's default): an upload left open a
/// whole day is abandoned; a day outlasts any real client's upload, and matches the usual
/// "abort incomplete multipart uploads after one day" lifecycle rule.
pub(crate) const DEFAULT_MULTIPART_STALE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// `cleanup_queue` (the Go project's section name): background housekeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupQueueConfig {
    /// `multipart_stale_timeout`: multipart uploads initiated longer ago than this are aborted
    /// at their backend, their parts deleted and their reservations released.
    pub multipart_stale_timeout: Duration,
}

impl Default for CleanupQueueConfig {
    fn default() -> Self {
        CleanupQueueConfig {
            multipart_stale_timeout: DEFAULT_MULTIPART_STALE_TIMEOUT,
        }
    }
}
