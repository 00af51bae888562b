//! `replication` and `rebalance`: the copy factor against the number of backends, thresholds and
//! intervals, copy concurrency, the idle and busy copy rates, and the rebalance threshold.

use std::time::Duration;

use super::super::model::{
    default_busy_bytes_per_sec, RebalanceConfig, ReplicationConfig, DEFAULT_REBALANCE_THRESHOLD,
    DEFAULT_REPLICATION_BATCH_SIZE, DEFAULT_REPLICATION_CONCURRENCY, DEFAULT_REPLICATION_FACTOR,
    DEFAULT_REPLICATION_MAX_BYTES_PER_SEC, DEFAULT_REPLICATION_WORKER_INTERVAL,
    DEFAULT_UNHEALTHY_THRESHOLD, MAX_REPLICATION_BATCH_SIZE, MAX_REPLICATION_CONCURRENCY,
};
use super::super::raw::{RawRebalance, RawReplication, Scalar};
use super::Checker;

impl Checker<'_> {
    pub(super) fn replication(
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
