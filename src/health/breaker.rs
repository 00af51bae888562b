//! One backend's circuit breaker: closed → open after `failure_threshold` consecutive failures →
//! half-open once `open_timeout` has passed → closed after `success_threshold` successful probes
//! (a failed probe reopens it).
//!
//! The state lives in atomics shared by every shard, so all shards see one coherent state without a
//! lock on the request path: recording an outcome is one or two relaxed atomic operations, and a
//! transition is a compare-and-swap that exactly one thread wins (it logs and counts it).
//!
//! Client requests never probe: open and half-open backends are skipped by reads and writes, and
//! the health thread (`replication::prober`) sends the half-open probes. A client therefore never waits
//! for a backend that is known to be down.

use crate::config::CircuitBreakerConfig;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Spacing of consecutive half-open probes (capped by `open_timeout`). One second lets a recovered
/// backend rejoin within `success_threshold` seconds while costing a provider one request a second.
pub const HALF_OPEN_PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// A breaker state, with the numbers the user's guide exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BreakerState {
    /// Healthy: traffic flows (`0`).
    Closed = 0,
    /// Down: skipped by reads and writes (`1`).
    Open = 1,
    /// Probing: still skipped by clients; the prober is testing it (`2`).
    HalfOpen = 2,
}

impl BreakerState {
    fn from_u8(v: u8) -> BreakerState {
        match v {
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }

    /// The `to` label of the transitions counter.
    pub fn label(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    pub const ALL: [BreakerState; 3] = [
        BreakerState::Closed,
        BreakerState::Open,
        BreakerState::HalfOpen,
    ];
}

pub struct Breaker {
    name: String,
    /// The settings, replaced in place by a reload (the breaker's state carries on).
    settings: Settings,
    /// Time origin of the `*_ms` fields.
    epoch: Instant,
    state: AtomicU8,
    /// Consecutive failures while closed.
    failures: AtomicU32,
    /// Consecutive successful probes while half-open.
    probe_successes: AtomicU32,
    /// When the breaker last changed state (ms since `epoch`).
    changed_ms: AtomicU64,
    /// Earliest next half-open probe (ms since `epoch`).
    next_probe_ms: AtomicU64,
    /// Transitions into each state, indexed by `BreakerState as usize`.
    transitions: [AtomicU64; 3],
    /// When the breaker last left `Closed` (ms since `epoch`); failed probes that bounce it
    /// between open and half-open do not move it. Meaningless while closed.
    down_since_ms: AtomicU64,
}

/// [`CircuitBreakerConfig`] in atomics, so a reload can change it under requests that read it.
/// Each field is read on its own (relaxed): a request that sees half of a reload's new settings
/// behaves as under either, which is harmless for thresholds and timeouts.
struct Settings {
    enabled: AtomicBool,
    failure_threshold: AtomicU32,
    success_threshold: AtomicU32,
    open_timeout_ms: AtomicU64,
}

impl Settings {
    fn new(cfg: CircuitBreakerConfig) -> Settings {
        let s = Settings {
            enabled: AtomicBool::new(false),
            failure_threshold: AtomicU32::new(0),
            success_threshold: AtomicU32::new(0),
            open_timeout_ms: AtomicU64::new(0),
        };
        s.store(cfg);
        s
    }

    fn store(&self, cfg: CircuitBreakerConfig) {
        self.enabled.store(cfg.enabled, Ordering::Relaxed);
        self.failure_threshold
            .store(cfg.failure_threshold, Ordering::Relaxed);
        self.success_threshold
            .store(cfg.success_threshold, Ordering::Relaxed);
        self.open_timeout_ms
            .store(cfg.open_timeout.as_millis() as u64, Ordering::Relaxed);
    }

    fn load(&self) -> CircuitBreakerConfig {
        CircuitBreakerConfig {
            enabled: self.enabled.load(Ordering::Relaxed),
            failure_threshold: self.failure_threshold.load(Ordering::Relaxed),
            success_threshold: self.success_threshold.load(Ordering::Relaxed),
            open_timeout: std::time::Duration::from_millis(
                self.open_timeout_ms.load(Ordering::Relaxed),
            ),
        }
    }
}

impl Breaker {
    pub fn new(name: &str, cfg: CircuitBreakerConfig, epoch: Instant) -> Breaker {
        Breaker {
            name: name.to_owned(),
            settings: Settings::new(cfg),
            epoch,
            state: AtomicU8::new(BreakerState::Closed as u8),
            failures: AtomicU32::new(0),
            probe_successes: AtomicU32::new(0),
            changed_ms: AtomicU64::new(0),
            next_probe_ms: AtomicU64::new(0),
            transitions: Default::default(),
            down_since_ms: AtomicU64::new(0),
        }
    }

    /// The current settings.
    fn cfg(&self) -> CircuitBreakerConfig {
        self.settings.load()
    }

    /// Applies reloaded settings; the state (open, counts, down time) is kept.
    pub fn set_config(&self, cfg: CircuitBreakerConfig) {
        self.settings.store(cfg);
    }

    pub fn enabled(&self) -> bool {
        self.cfg().enabled
    }

    pub fn state(&self) -> BreakerState {
        BreakerState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Whether client traffic may go to the backend (always, when breakers are disabled).
    pub fn allows_traffic(&self) -> bool {
        !self.cfg().enabled || self.state() == BreakerState::Closed
    }

    /// How long the backend has been continuously down (open or probing); `None` when closed
    /// or breakers are disabled. `replication.unhealthy_threshold` is measured against this.
    pub fn down_for(&self, now: Instant) -> Option<std::time::Duration> {
        if !self.cfg().enabled || self.state() == BreakerState::Closed {
            return None;
        }
        let since = self.down_since_ms.load(Ordering::Acquire);
        Some(std::time::Duration::from_millis(
            self.now_ms(now).saturating_sub(since),
        ))
    }

    /// Transitions into `to` since start.
    pub fn transitions(&self, to: BreakerState) -> u64 {
        self.transitions[to as usize].load(Ordering::Relaxed)
    }

    fn now_ms(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.epoch).as_millis() as u64
    }

    /// A request to the backend succeeded (any answer below 500, 4xx included).
    pub fn record_success(&self) {
        if self.cfg().enabled && self.state() == BreakerState::Closed {
            // Only store when needed: keeps the cache line shared on the happy path.
            if self.failures.load(Ordering::Relaxed) != 0 {
                self.failures.store(0, Ordering::Relaxed);
            }
        }
    }

    /// A request failed on the backend's side (connect error, timeout, reset, 5xx).
    pub fn record_failure(&self, reason: &str) {
        self.record_failure_at(reason, Instant::now());
    }

    pub fn record_failure_at(&self, reason: &str, now: Instant) {
        if !self.cfg().enabled || self.state() != BreakerState::Closed {
            return;
        }
        let n = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if n >= self.cfg().failure_threshold {
            self.transition(BreakerState::Closed, BreakerState::Open, reason, now);
        }
    }

    /// Moves `from` → `to` if the state is still `from`; the winner logs and counts it.
    fn transition(&self, from: BreakerState, to: BreakerState, reason: &str, now: Instant) -> bool {
        if self
            .state
            .compare_exchange(from as u8, to as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        let now_ms = self.now_ms(now);
        self.changed_ms.store(now_ms, Ordering::Release);
        self.probe_successes.store(0, Ordering::Relaxed);
        if from == BreakerState::Closed {
            self.down_since_ms.store(now_ms, Ordering::Release);
        }
        match to {
            BreakerState::Closed => self.failures.store(0, Ordering::Relaxed),
            BreakerState::HalfOpen => self.next_probe_ms.store(now_ms, Ordering::Relaxed),
            BreakerState::Open => {}
        }
        self.transitions[to as usize].fetch_add(1, Ordering::Relaxed);
        match (from, to) {
            // A failed probe re-opening the breaker is routine while a backend stays down.
            (BreakerState::Closed, BreakerState::Open) => tracing::warn!(
                backend = self.name,
                from = from.label(),
                to = to.label(),
                reason,
                "circuit breaker opened: backend skipped until probes succeed"
            ),
            _ => tracing::info!(
                backend = self.name,
                from = from.label(),
                to = to.label(),
                reason,
                "circuit breaker transition"
            ),
        }
        true
    }

    /// For the prober: whether to send a probe now. An open breaker whose `open_timeout` has
    /// passed turns half-open here.
    pub fn probe_due(&self, now: Instant) -> bool {
        if !self.cfg().enabled {
            return false;
        }
        let now_ms = self.now_ms(now);
        match self.state() {
            BreakerState::Closed => false,
            BreakerState::Open => {
                let since = now_ms.saturating_sub(self.changed_ms.load(Ordering::Acquire));
                since >= self.cfg().open_timeout.as_millis() as u64
                    && self.transition(
                        BreakerState::Open,
                        BreakerState::HalfOpen,
                        "open_timeout elapsed",
                        now,
                    )
            }
            BreakerState::HalfOpen => now_ms >= self.next_probe_ms.load(Ordering::Relaxed),
        }
    }

    /// For the prober: the outcome of a half-open probe.
    pub fn probe_result(&self, ok: bool, reason: &str, now: Instant) {
        if self.state() != BreakerState::HalfOpen {
            return;
        }
        if !ok {
            self.transition(BreakerState::HalfOpen, BreakerState::Open, reason, now);
            return;
        }
        let n = self.probe_successes.fetch_add(1, Ordering::AcqRel) + 1;
        if n >= self.cfg().success_threshold {
            self.transition(
                BreakerState::HalfOpen,
                BreakerState::Closed,
                "probes succeeded",
                now,
            );
        } else {
            let spacing = HALF_OPEN_PROBE_INTERVAL.min(self.cfg().open_timeout);
            self.next_probe_ms.store(
                self.now_ms(now) + spacing.as_millis() as u64,
                Ordering::Relaxed,
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cfg(threshold: u32, open_ms: u64, successes: u32) -> CircuitBreakerConfig {
        CircuitBreakerConfig {
            enabled: true,
            failure_threshold: threshold,
            open_timeout: Duration::from_millis(open_ms),
            success_threshold: successes,
        }
    }

    #[test]
    fn full_cycle_closed_open_half_open_closed() {
        let t0 = Instant::now();
        let b = Breaker::new("a", cfg(3, 1000, 2), t0);
        assert_eq!(b.state(), BreakerState::Closed);
        b.record_failure_at("x", t0);
        b.record_failure_at("x", t0);
        // A success resets the consecutive count.
        b.record_success();
        b.record_failure_at("x", t0);
        b.record_failure_at("x", t0);
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allows_traffic());
        b.record_failure_at("x", t0);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allows_traffic());
        assert_eq!(b.transitions(BreakerState::Open), 1);
        // Not yet due.
        assert!(!b.probe_due(t0 + Duration::from_millis(999)));
        assert_eq!(b.state(), BreakerState::Open);
        let t1 = t0 + Duration::from_millis(1000);
        assert!(b.probe_due(t1));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(!b.allows_traffic(), "clients never probe");
        b.probe_result(true, "ok", t1);
        assert_eq!(b.state(), BreakerState::HalfOpen, "needs two successes");
        assert!(!b.probe_due(t1 + Duration::from_millis(10)));
        let t2 = t1 + HALF_OPEN_PROBE_INTERVAL;
        assert!(b.probe_due(t2));
        b.probe_result(true, "ok", t2);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.transitions(BreakerState::HalfOpen), 1);
        assert_eq!(b.transitions(BreakerState::Closed), 1);
        // Failures counted from zero again.
        b.record_failure_at("x", t2);
        b.record_failure_at("x", t2);
        assert_eq!(b.state(), BreakerState::Closed);
    }

    #[test]
    fn failed_probe_reopens_and_waits_again() {
        let t0 = Instant::now();
        let b = Breaker::new("a", cfg(1, 500, 1), t0);
        b.record_failure_at("refused", t0);
        assert_eq!(b.state(), BreakerState::Open);
        let t1 = t0 + Duration::from_millis(600);
        assert!(b.probe_due(t1));
        b.probe_result(false, "refused", t1);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.probe_due(t1 + Duration::from_millis(100)));
        let t2 = t1 + Duration::from_millis(500);
        assert!(b.probe_due(t2));
        b.probe_result(true, "ok", t2);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.transitions(BreakerState::Open), 2);
    }

    #[test]
    fn disabled_breaker_never_opens() {
        let t0 = Instant::now();
        let mut c = cfg(1, 100, 1);
        c.enabled = false;
        let b = Breaker::new("a", c, t0);
        for _ in 0..10 {
            b.record_failure_at("x", t0);
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.allows_traffic());
        assert!(!b.probe_due(t0 + Duration::from_secs(10)));
    }

    #[test]
    fn concurrent_failures_open_exactly_once() {
        let b = std::sync::Arc::new(Breaker::new("a", cfg(5, 1000, 1), Instant::now()));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let b = b.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        b.record_failure("x");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.transitions(BreakerState::Open), 1);
    }
}
