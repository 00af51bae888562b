//! Pacing of the background shard's copies: a token bucket in bytes per second that yields to
//! client traffic.
//!
//! Two rates: `replication.max_bytes_per_sec` while no client request is being served, and
//! `replication.busy_bytes_per_sec` (lower) while clients are active. Why both: the copies cost
//! CPU and bandwidth not only in this process (cheap: a few percent of a core at 64 MiB/s) but in
//! the backends and on the network they share with client requests, which no thread priority
//! here can lower. Slowing copies while clients are served keeps client latency where it is
//! without replication, and the busy rate is a floor, so a backlog always drains, while idle
//! periods drain it at the full rate.
//!
//! "Clients active" = a client request started or was in flight at one of the last samples
//! (every [`ACTIVITY_SAMPLE`]), held for [`BUSY_HOLD`] after the last one so that a steady stream
//! of short requests with gaps between them counts as busy.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Smallest burst: one copy buffer (64 KiB) must always be able to pass, with room for a few
/// concurrent copies.
pub(crate) const MIN_BURST_BYTES: u64 = 256 * 1024;
/// The burst is this fraction of a second of the current rate: small, so copies are paced
/// smoothly (a one-second burst would hit the backends with a second's worth of bytes at once
/// whenever the bucket had filled up).
pub(crate) const BURST_FRACTION_OF_SECOND: f64 = 0.1;
/// How often client activity is sampled (two relaxed loads per thread).
pub(crate) const ACTIVITY_SAMPLE: Duration = Duration::from_millis(20);
/// How long after the last client request copies stay at the busy rate.
pub(crate) const BUSY_HOLD: Duration = Duration::from_secs(1);
/// Longest single sleep while waiting for tokens, so a change of rate (clients went away, a
/// reload) takes effect soon even when the wait at the busy rate would be long.
pub(crate) const MAX_WAIT_STEP: Duration = Duration::from_millis(100);

/// Watches client activity: busy while requests start or are in flight, and for [`BUSY_HOLD`]
/// after.
pub(crate) struct ActivityWatch {
    last_sample: Cell<Option<Instant>>,
    last_started: Cell<u64>,
    busy_until: Cell<Option<Instant>>,
}

impl Default for ActivityWatch {
    fn default() -> Self {
        ActivityWatch {
            last_sample: Cell::new(None),
            last_started: Cell::new(0),
            busy_until: Cell::new(None),
        }
    }
}

impl ActivityWatch {
    /// Whether clients are active at `now`, sampling `activity` at most every [`ACTIVITY_SAMPLE`].
    pub(crate) fn is_busy(
        &self,
        now: Instant,
        activity: impl FnOnce() -> crate::metrics::ClientActivity,
    ) -> bool {
        let due = self
            .last_sample
            .get()
            .is_none_or(|t| now.saturating_duration_since(t) >= ACTIVITY_SAMPLE);
        if due {
            let a = activity();
            let first = self.last_sample.get().is_none();
            if (!first && a.started != self.last_started.get()) || a.inflight > 0 {
                self.busy_until.set(Some(now + BUSY_HOLD));
            }
            self.last_started.set(a.started);
            self.last_sample.set(Some(now));
        }
        self.busy_until.get().is_some_and(|t| now < t)
    }
}

pub(crate) struct TokenBucket {
    /// Bytes per second with no client activity; 0 = unlimited.
    idle_rate: Cell<u64>,
    /// Bytes per second while clients are active; 0 = unlimited.
    busy_rate: Cell<u64>,
    tokens: Cell<f64>,
    last: Cell<Instant>,
    watch: ActivityWatch,
}

impl TokenBucket {
    pub(crate) fn new(idle_rate: u64, busy_rate: u64) -> Self {
        TokenBucket {
            idle_rate: Cell::new(idle_rate),
            busy_rate: Cell::new(busy_rate),
            tokens: Cell::new(Self::burst(busy_rate) as f64),
            last: Cell::new(Instant::now()),
            watch: ActivityWatch::default(),
        }
    }

    fn burst(rate: u64) -> u64 {
        ((rate as f64 * BURST_FRACTION_OF_SECOND) as u64).max(MIN_BURST_BYTES)
    }

    pub(crate) fn set_rates(&self, idle_rate: u64, busy_rate: u64) {
        self.idle_rate.set(idle_rate);
        self.busy_rate.set(busy_rate);
    }

    fn rate(&self, busy: bool) -> u64 {
        if busy {
            self.busy_rate.get()
        } else {
            self.idle_rate.get()
        }
    }

    fn refill(&self, now: Instant, rate: u64) {
        let elapsed = now.saturating_duration_since(self.last.get()).as_secs_f64();
        self.last.set(now);
        let t = (self.tokens.get() + elapsed * rate as f64).min(Self::burst(rate) as f64);
        self.tokens.set(t);
    }

    /// How long to wait before `n` bytes may pass at the rate for `busy` (and takes them when
    /// that is zero).
    pub(crate) fn delay_for(&self, n: u64, now: Instant, busy: bool) -> Duration {
        let rate = self.rate(busy);
        if rate == 0 {
            self.last.set(now);
            return Duration::ZERO;
        }
        self.refill(now, rate);
        let t = self.tokens.get();
        if t >= n as f64 {
            self.tokens.set(t - n as f64);
            Duration::ZERO
        } else {
            Duration::from_secs_f64((n as f64 - t) / rate as f64)
        }
    }

    /// Waits until `n` bytes may pass, at the busy rate while clients are active; counts them in
    /// `s3o_replication_bytes_total`.
    pub(crate) async fn take(&self, n: u64) {
        let g = crate::metrics::global();
        loop {
            let now = Instant::now();
            let busy = self.watch.is_busy(now, crate::metrics::client_activity);
            g.replication_yielding.store(
                u64::from(busy && self.busy_rate.get() != self.idle_rate.get()),
                Ordering::Relaxed,
            );
            let d = self.delay_for(n, now, busy);
            if d.is_zero() {
                g.replication_bytes_total.fetch_add(n, Ordering::Relaxed);
                return;
            }
            glommio::timer::sleep(d.min(MAX_WAIT_STEP)).await;
        }
    }
}

impl crate::backend::pump::Pacer for TokenBucket {
    async fn take(&self, n: u64) {
        TokenBucket::take(self, n).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ClientActivity;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn limits_the_rate() {
        let b = TokenBucket::new(10 * MIB, 10 * MIB);
        let t0 = Instant::now();
        // The burst (a tenth of a second's worth) passes at once.
        assert_eq!(b.delay_for(MIB, t0, false), Duration::ZERO);
        // The next MiB must wait about 0.1 s.
        let d = b.delay_for(MIB, t0, false);
        assert!(
            d > Duration::from_millis(90) && d < Duration::from_millis(110),
            "{d:?}"
        );
        // After that time has passed, it goes through.
        assert_eq!(
            b.delay_for(MIB, t0 + Duration::from_millis(101), false),
            Duration::ZERO
        );
    }

    #[test]
    fn busy_uses_the_lower_rate_and_a_smaller_burst() {
        let b = TokenBucket::new(64 * MIB, 8 * MIB);
        let t0 = Instant::now();
        // Idle for a second: the bucket holds the idle burst (6.4 MiB).
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.delay_for(6 * MIB, t1, false), Duration::ZERO);
        // Busy: the bucket is capped at the busy burst (0.8 MiB), and refills at 8 MiB/s.
        let t2 = t1 + Duration::from_secs(1);
        assert!(b.delay_for(MIB, t2, true) > Duration::ZERO);
        let d = b.delay_for(8 * MIB, t2, true);
        assert!(
            d > Duration::from_millis(850) && d < Duration::from_millis(1000),
            "{d:?}"
        );
    }

    #[test]
    fn zero_means_unlimited() {
        let b = TokenBucket::new(0, 0);
        assert_eq!(
            b.delay_for(u64::MAX / 2, Instant::now(), true),
            Duration::ZERO
        );
    }

    fn act(started: u64, inflight: i64) -> ClientActivity {
        ClientActivity { started, inflight }
    }

    #[test]
    fn activity_watch_sees_requests_and_holds() {
        let w = ActivityWatch::default();
        let t0 = Instant::now();
        // The first sample only learns the counter: requests before it are history.
        assert!(!w.is_busy(t0, || act(100, 0)));
        // Nothing new: idle.
        let t1 = t0 + ACTIVITY_SAMPLE;
        assert!(!w.is_busy(t1, || act(100, 0)));
        // A request started since: busy, and still busy within the hold without new requests.
        let t2 = t1 + ACTIVITY_SAMPLE;
        assert!(w.is_busy(t2, || act(101, 0)));
        let t3 = t2 + BUSY_HOLD / 2;
        assert!(w.is_busy(t3, || act(101, 0)));
        // The hold ran out: idle again.
        let t4 = t2 + BUSY_HOLD + ACTIVITY_SAMPLE;
        assert!(!w.is_busy(t4, || act(101, 0)));
        // A long request in flight keeps it busy although nothing new starts.
        let t5 = t4 + ACTIVITY_SAMPLE;
        assert!(w.is_busy(t5, || act(101, 1)));
    }

    #[test]
    fn activity_is_sampled_at_most_every_interval() {
        let w = ActivityWatch::default();
        let t0 = Instant::now();
        w.is_busy(t0, || act(0, 0));
        let mut sampled = false;
        w.is_busy(t0 + ACTIVITY_SAMPLE / 2, || {
            sampled = true;
            act(0, 0)
        });
        assert!(!sampled);
    }
}
