//! `replication` and `rebalance`: the copy factor against the number of backends, thresholds and
//! intervals, copy concurrency, the idle and busy copy rates, and the rebalance threshold.

use std::time::Duration;

use super::Checker;
use crate::config::model::{
    default_busy_bytes_per_sec, RebalanceConfig, ReplicationConfig, DEFAULT_REBALANCE_THRESHOLD,
    DEFAULT_REPLICATION_BATCH_SIZE, DEFAULT_REPLICATION_CONCURRENCY, DEFAULT_REPLICATION_FACTOR,
    DEFAULT_REPLICATION_MAX_BYTES_PER_SEC, DEFAULT_REPLICATION_WORKER_INTERVAL,
    DEFAULT_UNHEALTHY_THRESHOLD, MAX_REPLICATION_BATCH_SIZE, MAX_REPLICATION_CONCURRENCY,
};
use crate::config::model::{CleanupQueueConfig, DEFAULT_MULTIPART_STALE_TIMEOUT};
use crate::config::raw::{RawCleanupQueue, RawRebalance, RawReplication, Scalar};

impl Checker<'_> {
    pub(super) fn replication(
        &mut self,
        raw: Option<&RawReplication>,
        backend_count: Option<usize>,
    ) -> ReplicationConfig {
        let Some(raw) = raw else {
            return ReplicationConfig::default();
        };
        let factor = self.replication_factor(raw.factor.as_ref(), backend_count);
        let threshold = self.nonzero_duration(
            "replication.unhealthy_threshold",
            raw.unhealthy_threshold.as_ref(),
            "must be greater than zero (a zero threshold would re-copy on every brief failure)",
        );
        let concurrency = self.one_to(
            "replication.concurrency",
            raw.concurrency.as_ref(),
            MAX_REPLICATION_CONCURRENCY,
        );
        let max_bytes_per_sec = self
            .uint(
                "replication.max_bytes_per_sec",
                raw.max_bytes_per_sec.as_ref(),
            )
            .unwrap_or(DEFAULT_REPLICATION_MAX_BYTES_PER_SEC);
        let busy_bytes_per_sec = self.busy_rate(raw.busy_bytes_per_sec.as_ref(), max_bytes_per_sec);
        let interval = self.nonzero_duration(
            "replication.worker_interval",
            raw.worker_interval.as_ref(),
            "must be greater than zero",
        );
        let batch = self.one_to(
            "replication.batch_size",
            raw.batch_size.as_ref(),
            MAX_REPLICATION_BATCH_SIZE,
        );
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

    /// `replication.factor`: at least 1, and at most the number of backends (each copy needs its
    /// own). `backend_count` is `None` when `backends` is missing (reported there).
    fn replication_factor(
        &mut self,
        value: Option<&Scalar>,
        backend_count: Option<usize>,
    ) -> Option<usize> {
        const FACTOR: &str = "replication.factor";
        self.uint(FACTOR, value).map(|f| {
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
        })
    }

    /// `replication.busy_bytes_per_sec`: at most `max_bytes_per_sec` (0, unthrottled, is at most
    /// only an unthrottled idle rate); by default a fraction of it.
    fn busy_rate(&mut self, value: Option<&Scalar>, max_bytes_per_sec: u64) -> u64 {
        const BUSY: &str = "replication.busy_bytes_per_sec";
        match self.uint(BUSY, value) {
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
        }
    }

    /// A duration that must not be zero (`why_not_zero` is the message when it is).
    fn nonzero_duration(
        &mut self,
        path: &str,
        value: Option<&Scalar>,
        why_not_zero: &str,
    ) -> Option<Duration> {
        let d = self.duration(path, value);
        if d == Some(Duration::ZERO) {
            self.problem(path, why_not_zero);
        }
        d
    }

    /// A whole number in `1..=max`. Unlike [`Checker::count`] it keeps an out-of-range value (the
    /// problem refuses the file anyway), and its message names both bounds.
    fn one_to(&mut self, path: &str, value: Option<&Scalar>, max: usize) -> Option<usize> {
        self.uint(path, value).map(|n| {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if n == 0 || n > max {
                self.problem(path, format!("must be between 1 and {max}"));
            }
            n
        })
    }

    pub(super) fn cleanup_queue(&mut self, raw: Option<&RawCleanupQueue>) -> CleanupQueueConfig {
        let Some(raw) = raw else {
            return CleanupQueueConfig::default();
        };
        let stale = self.nonzero_duration(
            "cleanup_queue.multipart_stale_timeout",
            raw.multipart_stale_timeout.as_ref(),
            "must be greater than zero (a zero timeout would abort every upload as it starts)",
        );
        CleanupQueueConfig {
            multipart_stale_timeout: stale.unwrap_or(DEFAULT_MULTIPART_STALE_TIMEOUT),
        }
    }

    pub(super) fn rebalance(&mut self, raw: Option<&RawRebalance>) -> RebalanceConfig {
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
}
