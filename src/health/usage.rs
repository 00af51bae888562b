//! Monthly usage counters of one backend (API requests, egress and ingress bytes), for the
//! free-tier limits `api_request_limit`, `egress_byte_limit` and `ingress_byte_limit`.
//!
//! Counting is per shard: each shard thread adds to its own cache-line-padded slot (chosen by a
//! thread-local set when the shard starts), so the hot path never contends on a shared line; every
//! other thread (background, prober) shares one extra slot. Reads (limit checks, metrics, the
//! periodic flush) sum the slots, which for a handful of shards is a few loads.
//!
//! The totals of the current month are flushed to the catalog by the health thread (every
//! `USAGE_FLUSH_INTERVAL` of `replication::prober`) and loaded back at start, so a restart resumes the
//! month's counts (losing at most one flush interval of counts after a crash). At a new calendar
//! month (UTC) the flusher stores the old month's final totals and starts from zero.

use crate::catalog::MonthlyUsage;
use crate::config::UsageLimits;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Counter indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    ApiRequests = 0,
    EgressBytes = 1,
    IngressBytes = 2,
}

/// One shard's counters, alone on a cache line so shards never write the same line.
#[repr(align(64))]
#[derive(Default)]
struct Slot {
    c: [AtomicU64; 3],
}

thread_local! {
    /// This thread's slot: the shard id on shard threads, unset elsewhere.
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Makes the calling thread (shard `id`) count into its own slot.
pub fn bind_thread_slot(id: usize) {
    SLOT.with(|s| s.set(id));
}

/// The calendar month (UTC) of `t` as `yyyymm`.
pub fn month_of(t: std::time::SystemTime) -> u32 {
    let dt = time::OffsetDateTime::from(t);
    (dt.year().max(0) as u32) * 100 + u32::from(u8::from(dt.month()))
}

/// Stored for "no limit": no month can count this many requests or bytes.
const NO_LIMIT: u64 = u64::MAX;

/// The limits in [`Counter`] order.
fn limit_values(l: UsageLimits) -> [u64; 3] {
    [l.api_requests, l.egress_bytes, l.ingress_bytes].map(|v| v.unwrap_or(NO_LIMIT))
}

pub struct Usage {
    /// Limits by [`Counter`], [`NO_LIMIT`] where none is set; replaced in place by a reload.
    limits: [AtomicU64; 3],
    /// The month the counters belong to (`yyyymm`).
    month: AtomicU32,
    /// Totals loaded from the catalog at start (or zero after a month change).
    base: [AtomicU64; 3],
    /// One slot per shard plus one for every other thread (the last).
    slots: Box<[Slot]>,
}

impl Usage {
    pub fn new(limits: UsageLimits, shards: usize, month: u32, stored: MonthlyUsage) -> Usage {
        Usage {
            limits: limit_values(limits).map(AtomicU64::new),
            month: AtomicU32::new(month),
            base: [
                AtomicU64::new(stored.api_requests),
                AtomicU64::new(stored.egress_bytes),
                AtomicU64::new(stored.ingress_bytes),
            ],
            slots: (0..shards + 1).map(|_| Slot::default()).collect(),
        }
    }

    fn slot(&self) -> &Slot {
        let last = self.slots.len() - 1;
        let i = SLOT.with(Cell::get).min(last);
        &self.slots[i]
    }

    pub fn add(&self, c: Counter, n: u64) {
        if n > 0 {
            self.slot().c[c as usize].fetch_add(n, Ordering::Relaxed);
        }
    }

    pub fn total(&self, c: Counter) -> u64 {
        let i = c as usize;
        self.slots
            .iter()
            .fold(self.base[i].load(Ordering::Relaxed), |acc, s| {
                acc.saturating_add(s.c[i].load(Ordering::Relaxed))
            })
    }

    pub fn totals(&self) -> MonthlyUsage {
        MonthlyUsage {
            api_requests: self.total(Counter::ApiRequests),
            egress_bytes: self.total(Counter::EgressBytes),
            ingress_bytes: self.total(Counter::IngressBytes),
        }
    }

    pub fn limit(&self, c: Counter) -> Option<u64> {
        let v = self.limits[c as usize].load(Ordering::Relaxed);
        (v != NO_LIMIT).then_some(v)
    }

    /// Applies reloaded limits; the month's counts carry on.
    pub fn set_limits(&self, limits: UsageLimits) {
        for (slot, v) in self.limits.iter().zip(limit_values(limits)) {
            slot.store(v, Ordering::Relaxed);
        }
    }

    pub fn has_limits(&self) -> bool {
        self.limits
            .iter()
            .any(|l| l.load(Ordering::Relaxed) != NO_LIMIT)
    }

    /// Whether `n` more of `c` stay within its limit.
    fn fits(&self, c: Counter, n: u64) -> bool {
        match self.limit(c) {
            None => true,
            Some(l) => self.total(c).saturating_add(n) <= l,
        }
    }

    /// Whether one more request reading `bytes` stays within the limits.
    pub fn can_read(&self, bytes: u64) -> bool {
        self.fits(Counter::ApiRequests, 1) && self.fits(Counter::EgressBytes, bytes)
    }

    /// Whether one more request writing `bytes` stays within the limits.
    pub fn can_write(&self, bytes: u64) -> bool {
        self.fits(Counter::ApiRequests, 1) && self.fits(Counter::IngressBytes, bytes)
    }

    pub fn month(&self) -> u32 {
        self.month.load(Ordering::Relaxed)
    }

    /// Starts `month` from zero. Counts added concurrently with the reset may land in either
    /// month; at a month boundary that imprecision is a handful of requests.
    pub fn start_month(&self, month: u32) {
        self.month.store(month, Ordering::Relaxed);
        for b in &self.base {
            b.store(0, Ordering::Relaxed);
        }
        for s in self.slots.iter() {
            for c in &s.c {
                c.store(0, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_merge_across_threads_and_limits_apply() {
        let limits = UsageLimits {
            api_requests: Some(10),
            egress_bytes: Some(1000),
            ingress_bytes: None,
        };
        let stored = MonthlyUsage {
            api_requests: 2,
            egress_bytes: 100,
            ingress_bytes: 5,
        };
        let u = std::sync::Arc::new(Usage::new(limits, 2, 202501, stored));
        let threads: Vec<_> = (0..3)
            .map(|id| {
                let u = u.clone();
                std::thread::spawn(move || {
                    if id < 2 {
                        bind_thread_slot(id);
                    }
                    u.add(Counter::ApiRequests, 2);
                    u.add(Counter::EgressBytes, 200);
                    u.add(Counter::IngressBytes, 1 << 40);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(u.total(Counter::ApiRequests), 8);
        assert_eq!(u.total(Counter::EgressBytes), 700);
        assert_eq!(u.totals().ingress_bytes, 5 + 3 * (1 << 40));
        assert!(u.can_read(300));
        assert!(!u.can_read(301), "egress would pass 1000");
        assert!(u.can_write(u64::MAX), "no ingress limit");
        u.add(Counter::ApiRequests, 2);
        assert!(!u.can_read(0) && !u.can_write(0), "api limit reached");
        u.start_month(202502);
        assert_eq!(u.month(), 202502);
        assert_eq!(u.totals(), MonthlyUsage::default());
        assert!(u.can_read(1000));
    }

    #[test]
    fn months_are_utc_calendar_months() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(month_of(UNIX_EPOCH), 197001);
        // 2024-02-29T23:59:59Z and one second later.
        let t = UNIX_EPOCH + Duration::from_secs(1_709_251_199);
        assert_eq!(month_of(t), 202402);
        assert_eq!(month_of(t + Duration::from_secs(1)), 202403);
    }
}
