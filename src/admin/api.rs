//! The admin API's read endpoints: `GET /admin/status` (backends, health, usage, replication,
//! recent failovers) and `GET /admin/object?bucket=B&key=K` (an object's copies and their states).

use crate::catalog::{CopyState, QueueKind, MAX_LIST_KEYS, MAX_QUEUE_PEEK};
use crate::metrics::shard::BackendMerged;
use crate::metrics::{self, FailoverEvent};
use crate::state::App;
use serde::Serialize;
use std::sync::atomic::Ordering;

/// Objects a status request inspects to count those under the replication factor. The scan reads
/// the catalog on the admin thread; 10 000 records take a few milliseconds. Beyond it the count
/// is reported as a lower bound (`under_replicated_complete: false`).
pub(crate) const MAX_STATUS_SCAN_OBJECTS: usize = 10_000;

#[derive(Serialize)]
pub(crate) struct BackendStatus {
    pub(crate) name: String,
    /// `s3` or `local`.
    pub(crate) kind: &'static str,
    /// `healthy`, `down` or `probing`.
    pub(crate) health: &'static str,
    /// Why `health` says so.
    pub(crate) health_reason: &'static str,
    /// The circuit breaker as `s3o_circuit_breaker_state` exports it: 0 healthy, 1 down, 2 probing.
    pub(crate) breaker_state: u8,
    pub(crate) quota_bytes: Option<u64>,
    pub(crate) used_bytes: u64,
    pub(crate) reserved_bytes: u64,
    pub(crate) objects: u64,
    /// Requests sent to this backend since start, and those that failed (transport or 5xx).
    pub(crate) requests: u64,
    pub(crate) failed_requests: u64,
    /// Monthly usage (API requests, egress, ingress) and its limits (see [`backend_usage`]).
    pub(crate) usage: Option<serde_json::Value>,
}

#[derive(Serialize)]
pub(crate) struct ReplicationStatus {
    pub(crate) factor: usize,
    /// The replication worker's own count (`s3o_replication_pending`).
    pub(crate) pending: u64,
    /// Replication intents in the durable queue (at most [`MAX_QUEUE_PEEK`] counted).
    pub(crate) queued: usize,
    pub(crate) copies_created_total: u64,
    pub(crate) errors_total: u64,
    pub(crate) health_copies_total: u64,
    /// Objects with fewer complete copies than `factor`, among `scanned`.
    pub(crate) under_replicated: u64,
    pub(crate) scanned: u64,
    /// Whether the scan saw every object (else `under_replicated` is a lower bound).
    pub(crate) under_replicated_complete: bool,
}

#[derive(Serialize)]
pub(crate) struct Status {
    pub(crate) version: &'static str,
    pub(crate) uptime_seconds: f64,
    pub(crate) routing_strategy: &'static str,
    pub(crate) backends: Vec<BackendStatus>,
    pub(crate) replication: ReplicationStatus,
    pub(crate) inflight_requests: i64,
    pub(crate) requests_total: u64,
    pub(crate) failover_total: u64,
    pub(crate) recent_failovers: Vec<FailoverEvent>,
    pub(crate) log_filter: Option<String>,
}

/// Health as the dashboard shows it: the breaker when it says down or probing; otherwise passive
/// health from the metrics (the last call to the backend failed and none succeeded since).
pub(crate) fn health(breaker: u8, seen: Option<&BackendMerged>) -> (&'static str, &'static str) {
    match breaker {
        1 => ("down", "circuit breaker open"),
        2 => ("probing", "circuit breaker half-open"),
        _ if seen.is_some_and(BackendMerged::last_call_failed) => {
            ("down", "last request failed (no answer or 5xx)")
        }
        _ => ("healthy", "no failure since the last success"),
    }
}

/// The backend's usage this calendar month (UTC) as `src/health` counts it (what its monthly
/// limits are checked against), with the limits that are set: `{"month": "2026-12",
/// "api_requests": n, "egress_bytes": n, "ingress_bytes": n, "api_request_limit": n, ...}`.
pub(crate) fn backend_usage(app: &App, i: usize) -> Option<serde_json::Value> {
    use crate::health::usage::Counter;
    let usage = &app.health.backends.get(i)?.usage;
    let month = usage.month();
    let mut v = serde_json::json!({
        "month": format!("{:04}-{:02}", month / 100, month % 100),
        "api_requests": usage.total(Counter::ApiRequests),
        "egress_bytes": usage.total(Counter::EgressBytes),
        "ingress_bytes": usage.total(Counter::IngressBytes),
    });
    for (name, c) in [
        ("api_request_limit", Counter::ApiRequests),
        ("egress_byte_limit", Counter::EgressBytes),
        ("ingress_byte_limit", Counter::IngressBytes),
    ] {
        if let (Some(limit), Some(obj)) = (usage.limit(c), v.as_object_mut()) {
            obj.insert(name.to_owned(), limit.into());
        }
    }
    Some(v)
}

fn under_replicated(app: &App) -> (u64, u64, bool) {
    let factor = app.config().replication.factor;
    let (mut under, mut scanned) = (0u64, 0u64);
    let mut after: Option<(String, String)> = None;
    loop {
        let page = app.catalog.scan_objects(
            after.as_ref().map(|(b, k)| (b.as_str(), k.as_str())),
            MAX_LIST_KEYS,
        );
        let Ok(page) = page else {
            return (under, scanned, false);
        };
        let full = page.len() == MAX_LIST_KEYS;
        for (_, _, rec) in &page {
            scanned += 1;
            if rec.complete_copies().count() < factor {
                under += 1;
            }
        }
        after = page.last().map(|(b, k, _)| (b.clone(), k.clone()));
        if !full {
            return (under, scanned, true);
        }
        if scanned as usize >= MAX_STATUS_SCAN_OBJECTS {
            return (under, scanned, false);
        }
    }
}

pub(crate) fn status(app: &App) -> Status {
    let snap = metrics::snapshot(false);
    let backends = app
        .backends
        .iter()
        .map(|b| {
            let seen = snap.backends.get(&b.name);
            let breaker = app.breaker_state(b.index);
            let (health, health_reason) = health(breaker, seen);
            let slot = &app.placement.slots[b.index];
            let failed = seen.map_or(0, |m| {
                m.ops
                    .values()
                    .flat_map(|o| o.statuses.iter())
                    .filter(|(s, _)| metrics::shard::is_failure(*s))
                    .map(|(_, n)| n)
                    .sum()
            });
            BackendStatus {
                name: b.name.clone(),
                kind: if b.is_local() { "local" } else { "s3" },
                health,
                health_reason,
                breaker_state: breaker,
                quota_bytes: slot.quota_bytes(),
                used_bytes: slot.used_bytes.load(Ordering::Relaxed),
                reserved_bytes: slot.reserved_bytes.load(Ordering::Relaxed),
                objects: slot.objects.load(Ordering::Relaxed),
                requests: seen.map_or(0, BackendMerged::requests),
                failed_requests: failed,
                usage: backend_usage(app, b.index),
            }
        })
        .collect();
    let g = metrics::global();
    let queued = app
        .catalog
        .queue_peek(QueueKind::Replicate, MAX_QUEUE_PEEK)
        .map_or(0, |v| v.len());
    let (under, scanned, complete) = under_replicated(app);
    Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: snap.uptime.as_secs_f64(),
        routing_strategy: app.config().routing_strategy.as_str(),
        backends,
        replication: ReplicationStatus {
            factor: app.config().replication.factor,
            pending: g.replication_pending.load(Ordering::Relaxed),
            queued,
            copies_created_total: g.replication_copies_created_total.load(Ordering::Relaxed),
            errors_total: g.replication_errors_total.load(Ordering::Relaxed),
            health_copies_total: g.replication_health_copies_total.load(Ordering::Relaxed),
            under_replicated: under,
            scanned,
            under_replicated_complete: complete,
        },
        inflight_requests: snap.inflight.max(0),
        requests_total: snap.requests.values().map(|m| m.count()).sum(),
        failover_total: g.failover_total.load(Ordering::Relaxed),
        recent_failovers: metrics::recent_failovers(),
        log_filter: crate::logging::current_filter(),
    }
}

#[derive(Serialize)]
pub(crate) struct CopyView {
    pub(crate) backend: String,
    pub(crate) backend_key: String,
    /// `complete` or `stale`.
    pub(crate) state: &'static str,
    /// That backend's health now.
    pub(crate) backend_health: &'static str,
}

#[derive(Serialize)]
pub(crate) struct ObjectView {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) size: u64,
    pub(crate) etag: String,
    pub(crate) last_modified_ms: i64,
    pub(crate) replication_factor: usize,
    pub(crate) complete_copies: usize,
    pub(crate) copies: Vec<CopyView>,
}

/// `None` when the catalog has no such object.
pub(crate) fn object(app: &App, bucket: &str, key: &str) -> Result<Option<ObjectView>, String> {
    let Some(rec) = app
        .catalog
        .get_object(bucket, key)
        .map_err(|e| format!("catalog: {e}"))?
    else {
        return Ok(None);
    };
    let snap = metrics::snapshot(false);
    let copies = rec
        .copies
        .iter()
        .map(|c| {
            let backend_health = app.backend_by_name(&c.backend).map_or("unknown", |b| {
                health(app.breaker_state(b.index), snap.backends.get(&b.name)).0
            });
            CopyView {
                backend: c.backend.clone(),
                backend_key: c.backend_key.clone(),
                state: match c.state {
                    CopyState::Complete => "complete",
                    CopyState::Stale => "stale",
                },
                backend_health,
            }
        })
        .collect();
    Ok(Some(ObjectView {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: rec.size,
        etag: rec.etag.clone(),
        last_modified_ms: rec.last_modified_ms,
        replication_factor: app.config().replication.factor,
        complete_copies: rec.complete_copies().count(),
        copies,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::shard::{ShardData, Snapshot};

    #[test]
    fn health_words() {
        assert_eq!(health(1, None).0, "down");
        assert_eq!(health(2, None).0, "probing");
        assert_eq!(health(0, None).0, "healthy");
        let mut d = ShardData::default();
        d.record_backend("b", "GetObject", 200, 10, 0, 5);
        d.record_backend("b", "GetObject", metrics::TRANSPORT_ERROR, 10, 0, 6);
        let mut s = Snapshot::default();
        s.merge_data(&d, 0, false);
        assert_eq!(health(0, s.backends.get("b")).0, "down");
        d.record_backend("b", "GetObject", 404, 10, 0, 7);
        let mut s = Snapshot::default();
        s.merge_data(&d, 0, false);
        assert_eq!(health(0, s.backends.get("b")).0, "healthy");
    }
}
