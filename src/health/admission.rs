//! Admission control: a cap on requests in progress per shard (load shedding with 503 `SlowDown`
//! instead of an unbounded queue) and an optional token bucket per client credential.

use crate::config::RateLimitConfig;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// A shard's count of requests in progress. Owned by one executor thread, so a `Cell` suffices.
pub struct ShardGate {
    /// Changed by a reload (`server.max_concurrent_requests`) between requests.
    max: Cell<usize>,
    in_flight: Cell<usize>,
}

/// One admitted request; leaving the scope frees its place.
pub struct Permit<'a> {
    gate: &'a ShardGate,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.gate
            .in_flight
            .set(self.gate.in_flight.get().saturating_sub(1));
    }
}

impl ShardGate {
    pub fn new(max: usize) -> ShardGate {
        ShardGate {
            max: Cell::new(max.max(1)),
            in_flight: Cell::new(0),
        }
    }

    /// A place for one more request, or `None` when the shard is at its limit (shed it).
    pub fn try_enter(&self) -> Option<Permit<'_>> {
        let n = self.in_flight.get();
        if n >= self.max.get() {
            return None;
        }
        self.in_flight.set(n + 1);
        Some(Permit { gate: self })
    }

    /// A reloaded limit: requests in flight finish; new ones are admitted under `max`.
    pub fn set_max(&self, max: usize) {
        self.max.set(max.max(1));
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.get()
    }
}

/// A token bucket.
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets per access key id, shared by all shards. Each bucket has its own small mutex held
/// for a few arithmetic operations; credentials are known from the config, so the map is fixed
/// and needs no lock itself.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<String, Mutex<Bucket>>,
}

impl RateLimiter {
    /// `None` when rate limiting is disabled.
    pub fn new<'a>(
        cfg: &RateLimitConfig,
        access_keys: impl Iterator<Item = &'a str>,
    ) -> Option<RateLimiter> {
        if !cfg.enabled {
            return None;
        }
        let now = Instant::now();
        let burst = f64::from(cfg.burst);
        Some(RateLimiter {
            rate: cfg.requests_per_sec,
            burst,
            buckets: access_keys
                .map(|k| {
                    (
                        k.to_owned(),
                        Mutex::new(Bucket {
                            tokens: burst,
                            last: now,
                        }),
                    )
                })
                .collect(),
        })
    }

    /// Takes one token for `access_key`; false when its bucket is empty. Unknown keys (never
    /// authenticated) pass: authentication refuses them anyway.
    pub fn allow(&self, access_key: &str, now: Instant) -> bool {
        let Some(m) = self.buckets.get(access_key) else {
            return true;
        };
        // A poisoned lock only means another thread panicked mid-update of two floats.
        let mut b = m.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.last = now.max(b.last);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn gate_sheds_past_its_limit_and_frees_on_drop() {
        let g = ShardGate::new(2);
        let a = g.try_enter().unwrap();
        let b = g.try_enter().unwrap();
        assert!(g.try_enter().is_none());
        assert_eq!(g.in_flight(), 2);
        drop(a);
        let c = g.try_enter().unwrap();
        drop(b);
        drop(c);
        assert_eq!(g.in_flight(), 0);
    }

    #[test]
    fn token_bucket_bursts_then_refills_at_rate() {
        let cfg = RateLimitConfig {
            enabled: true,
            requests_per_sec: 10.0,
            burst: 3,
        };
        let r = RateLimiter::new(&cfg, ["AK", "OTHER"].into_iter()).unwrap();
        let t0 = Instant::now();
        assert!(r.allow("AK", t0));
        assert!(r.allow("AK", t0));
        assert!(r.allow("AK", t0));
        assert!(!r.allow("AK", t0), "burst spent");
        assert!(r.allow("OTHER", t0), "buckets are per credential");
        assert!(!r.allow("AK", t0 + Duration::from_millis(50)));
        assert!(
            r.allow("AK", t0 + Duration::from_millis(110)),
            "one token per 100 ms"
        );
        assert!(!r.allow("AK", t0 + Duration::from_millis(120)));
        // Refill is capped at the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(r.allow("AK", later));
        }
        assert!(!r.allow("AK", later));
        assert!(r.allow("unknown", t0));
        let off = RateLimitConfig {
            enabled: false,
            ..cfg
        };
        assert!(RateLimiter::new(&off, std::iter::empty()).is_none());
    }
}
