//! Metrics and latency statistics: what `/metrics` (Prometheus text) and `/stats` (HdrHistogram
//! percentiles) report.
//!
//! # Where numbers live
//! - Per request and per backend call: counters, exact Prometheus buckets and HdrHistograms live
//!   **per shard** ([`shard`]): each recording thread owns its cell and is its only writer; a
//!   scrape merges all cells ([`snapshot`]). Nothing on the request path waits on another request.
//! - Rare, process-wide events (replication copies, failovers): [`Global`] relaxed atomic
//!   counters ([`global`]), incremented by the modules that do the work.
//! - Recent failover events: a small bounded ring ([`record_failover`], [`recent_failovers`]),
//!   shown on the dashboard.
//!
//! The statistics are process-wide (one orchestrator per process); tests that start several
//! instances in one process see their sum.
//!
//! # Hooks
//! - [`record_request`] and [`InflightGuard`]: `server::conn::handle_one`.
//! - [`record_backend`]: `backend::s3` (every HTTP exchange) and `backend::local`.
//! - [`record_failover`]: the read-failover code.
//! - [`global`]: replication (copies, errors, pending) and failover counters.

pub mod latency;

pub mod shard;
pub mod stats;

pub use latency::TRANSPORT_ERROR;
pub use shard::{
    client_activity, record_backend, record_request, snapshot, ClientActivity, InflightGuard,
};

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

/// Process-wide counters of background work. Each is incremented by one module (replication,
/// failover); relaxed ordering suffices since each is read on its own.
#[derive(Default)]
pub struct Global {
    /// Copies created to reach the replication factor (`s3o_replication_copies_created_total`).
    pub replication_copies_created_total: AtomicU64,
    /// Copy attempts that failed (`s3o_replication_errors_total`).
    pub replication_errors_total: AtomicU64,
    /// Replacement copies made because a backend stayed down (`s3o_replication_health_copies_total`).
    pub replication_health_copies_total: AtomicU64,
    /// Reads served from another copy than the first (`s3o_failover_total`).
    pub failover_total: AtomicU64,
    /// Copies still to be made, as the replication worker last counted (`s3o_replication_pending`).
    pub replication_pending: AtomicU64,
    /// Objects by number of counted copies, from the last complete catalog scan
    /// (`s3o_replication_objects_by_copies{copies}`): "under the factor" is one query.
    pub objects_by_copies: std::sync::Mutex<std::collections::BTreeMap<u32, u64>>,
    /// The replication factor the last scan counted against.
    pub replication_factor: AtomicU64,
    /// Bytes the background shard has copied (replication, health copies, rebalancing):
    /// `s3o_replication_bytes_total`.
    pub replication_bytes_total: AtomicU64,
    /// 1 while background copies run at `replication.busy_bytes_per_sec` because clients are
    /// active, 0 at the full rate (`s3o_replication_yielding`).
    pub replication_yielding: AtomicU64,
}

impl Global {
    /// Adds one to a counter.
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

static GLOBAL: LazyLock<Global> = LazyLock::new(Global::default);

/// The process-wide counters.
pub fn global() -> &'static Global {
    &GLOBAL
}

/// Failover events kept for the dashboard. Enough to show a burst; old ones are in the logs.
pub const MAX_FAILOVER_EVENTS: usize = 100;

/// Longest text kept per field of a failover event (keys can be 1 KiB; the dashboard needs less).
pub const MAX_EVENT_FIELD_CHARS: usize = 256;

/// One read that was served from another backend than the first choice.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FailoverEvent {
    /// Unix milliseconds.
    pub at_ms: u64,
    pub bucket: String,
    pub key: String,
    pub from: String,
    pub to: String,
    pub reason: String,
}

static FAILOVERS: LazyLock<Mutex<VecDeque<FailoverEvent>>> =
    LazyLock::new(|| Mutex::new(VecDeque::with_capacity(MAX_FAILOVER_EVENTS)));

fn clip(s: &str) -> String {
    s.chars().take(MAX_EVENT_FIELD_CHARS).collect()
}

/// Records a read failover: counts it, logs it at warn and keeps it for the dashboard.
pub fn record_failover(bucket: &str, key: &str, from: &str, to: &str, reason: &str) {
    Global::inc(&global().failover_total);
    tracing::warn!(bucket, key, from, to, reason, "read failover");
    let at_ms = crate::util::clock::now_ms() as u64;
    let ev = FailoverEvent {
        at_ms,
        bucket: clip(bucket),
        key: clip(key),
        from: clip(from),
        to: clip(to),
        reason: clip(reason),
    };
    let mut ring = FAILOVERS.lock().unwrap_or_else(|e| e.into_inner());
    if ring.len() == MAX_FAILOVER_EVENTS {
        ring.pop_front();
    }
    ring.push_back(ev);
}

/// The most recent failover events, newest first.
pub fn recent_failovers() -> Vec<FailoverEvent> {
    let ring = FAILOVERS.lock().unwrap_or_else(|e| e.into_inner());
    ring.iter().rev().cloned().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn failover_ring_is_bounded_and_newest_first() {
        let before = global().failover_total.load(Ordering::Relaxed);
        for i in 0..(MAX_FAILOVER_EVENTS + 5) {
            record_failover(
                "b",
                &format!("k{i}"),
                "disk1",
                "disk2",
                "connection refused",
            );
        }
        let after = global().failover_total.load(Ordering::Relaxed);
        assert!(after - before >= (MAX_FAILOVER_EVENTS + 5) as u64);
        let ev = recent_failovers();
        assert_eq!(ev.len(), MAX_FAILOVER_EVENTS);
        // Other tests may record too, but ours are the last MAX pushed by this loop.
        assert!(ev
            .iter()
            .any(|e| e.key == format!("k{}", MAX_FAILOVER_EVENTS + 4)));
        assert!(!ev.iter().any(|e| e.key == "k0"));
        let long = "x".repeat(5000);
        record_failover(&long, "k", "a", "b", "r");
        assert_eq!(recent_failovers()[0].bucket.len(), MAX_EVENT_FIELD_CHARS);
    }
}
