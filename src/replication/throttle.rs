//! A token bucket in bytes per second for the background shard's copies, so a replication backlog
//! drains at a bounded rate and client traffic keeps its CPU and bandwidth.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// Burst the bucket allows: one second of the configured rate, at least this much, so a single
/// 64 KiB buffer can always pass.
pub const MIN_BURST_BYTES: u64 = 1024 * 1024;

pub struct TokenBucket {
    /// Bytes per second; 0 = unlimited.
    rate: Cell<u64>,
    tokens: Cell<f64>,
    last: Cell<Instant>,
}

impl TokenBucket {
    pub fn new(rate: u64) -> Self {
        TokenBucket {
            rate: Cell::new(rate),
            tokens: Cell::new(Self::burst(rate) as f64),
            last: Cell::new(Instant::now()),
        }
    }

    fn burst(rate: u64) -> u64 {
        rate.max(MIN_BURST_BYTES)
    }

    pub fn set_rate(&self, rate: u64) {
        self.rate.set(rate);
    }

    fn refill(&self, now: Instant) {
        let rate = self.rate.get();
        let elapsed = now.saturating_duration_since(self.last.get()).as_secs_f64();
        self.last.set(now);
        let t = (self.tokens.get() + elapsed * rate as f64).min(Self::burst(rate) as f64);
        self.tokens.set(t);
    }

    /// How long to wait before `n` bytes may pass (and takes them when that is zero).
    pub fn delay_for(&self, n: u64, now: Instant) -> Duration {
        let rate = self.rate.get();
        if rate == 0 {
            return Duration::ZERO;
        }
        self.refill(now);
        let t = self.tokens.get();
        if t >= n as f64 {
            self.tokens.set(t - n as f64);
            Duration::ZERO
        } else {
            Duration::from_secs_f64((n as f64 - t) / rate as f64)
        }
    }

    /// Waits until `n` bytes may pass.
    pub async fn take(&self, n: u64) {
        loop {
            let d = self.delay_for(n, Instant::now());
            if d.is_zero() {
                return;
            }
            glommio::timer::sleep(d).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_the_rate() {
        let b = TokenBucket::new(10 * 1024 * 1024);
        let t0 = Instant::now();
        // The burst (one second's worth) passes at once.
        assert_eq!(b.delay_for(10 * 1024 * 1024, t0), Duration::ZERO);
        // The next MiB must wait about 0.1 s.
        let d = b.delay_for(1024 * 1024, t0);
        assert!(
            d > Duration::from_millis(90) && d < Duration::from_millis(110),
            "{d:?}"
        );
        // After that time has passed, it goes through.
        assert_eq!(
            b.delay_for(1024 * 1024, t0 + Duration::from_millis(101)),
            Duration::ZERO
        );
    }

    #[test]
    fn zero_means_unlimited() {
        let b = TokenBucket::new(0);
        assert_eq!(b.delay_for(u64::MAX / 2, Instant::now()), Duration::ZERO);
    }
}
