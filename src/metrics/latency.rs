//! Latency and count statistics of one series (one S3 operation, or one backend operation): an
//! HdrHistogram since start, a ring of interval histograms for the rolling window, exact
//! Prometheus bucket counters, the sum, and counts per status.
//!
//! A [`Series`] has exactly one writer (the shard that owns it); readers merge series of all
//! shards into a [`Merged`] at scrape time.

use hdrhistogram::Histogram;
use std::time::Duration;

/// Smallest recorded latency, in microseconds (the unit of every histogram here).
pub const LOWEST_US: u64 = 1;
/// Largest latency kept exactly: one hour. Longer requests (a huge download on a slow link) are
/// recorded as one hour rather than lost.
pub const HIGHEST_US: u64 = 3_600_000_000;
/// Significant digits: 2 keeps every percentile within 1% of the true value while a histogram
/// stays ~26 KiB (3 digits would be ~200 KiB, times operations, windows and shards).
pub const SIGFIGS: u8 = 2;
/// Length of one interval of the rolling window.
pub const INTERVAL_SECS: u64 = 10;
/// Intervals in the rolling window: 6 × 10 s = the "last 60 s" window.
pub const INTERVALS: usize = 6;
/// Length of the rolling window, in seconds.
pub const WINDOW_SECS: u64 = INTERVAL_SECS * INTERVALS as u64;

/// Upper bounds (seconds) of the Prometheus `_bucket` series: from a fast metadata answer to a
/// multi-minute transfer.
pub const PROM_BUCKETS_SECONDS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    120.0,
];

/// The bucket bounds in microseconds (values `<=` the bound fall in the bucket).
const PROM_BUCKETS_US: [u64; 16] = [
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    30_000_000,
    120_000_000,
];

/// Status label for a backend call that failed below HTTP (connect, TLS, reset, timeout).
pub const TRANSPORT_ERROR: u16 = 0;

/// An empty histogram with this module's bounds.
pub fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds: creation cannot fail.
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIGS).expect("constant histogram bounds")
}

/// Microseconds of a duration, clamped into the histogram's range.
pub fn micros(d: Duration) -> u64 {
    (d.as_micros().min(u128::from(HIGHEST_US)) as u64).max(LOWEST_US)
}

/// One series as its owning shard records it.
pub struct Series {
    total: Histogram<u64>,
    intervals: Vec<Histogram<u64>>,
    /// The interval number (`seconds since start / INTERVAL_SECS`) each slot holds; `u64::MAX` for
    /// a slot never used.
    interval_of: [u64; INTERVALS],
    buckets: [u64; PROM_BUCKETS_US.len()],
    sum_us: u64,
    /// (status, count), few entries: a linear scan beats hashing.
    statuses: Vec<(u16, u64)>,
}

impl Default for Series {
    fn default() -> Self {
        Series::new()
    }
}

impl Series {
    pub fn new() -> Series {
        Series {
            total: new_histogram(),
            intervals: (0..INTERVALS).map(|_| new_histogram()).collect(),
            interval_of: [u64::MAX; INTERVALS],
            buckets: [0; PROM_BUCKETS_US.len()],
            sum_us: 0,
            statuses: Vec::with_capacity(4),
        }
    }

    /// Records one request of `us` microseconds answered with `status`, during interval `interval`.
    pub fn record(&mut self, us: u64, status: u16, interval: u64) {
        self.total.saturating_record(us);
        let slot = (interval % INTERVALS as u64) as usize;
        if self.interval_of[slot] != interval {
            self.intervals[slot].reset();
            self.interval_of[slot] = interval;
        }
        self.intervals[slot].saturating_record(us);
        if let Some(i) = PROM_BUCKETS_US.iter().position(|b| us <= *b) {
            self.buckets[i] += 1;
        }
        self.sum_us = self.sum_us.saturating_add(us);
        match self.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.statuses.push((status, 1)),
        }
    }

    /// Adds this series into `into`; `now_interval` decides which intervals are in the rolling
    /// window; histograms are merged only when `histograms` is set (`/metrics` needs none).
    pub fn merge_into(&self, into: &mut Merged, now_interval: u64, histograms: bool) {
        for (i, n) in self.buckets.iter().enumerate() {
            into.buckets[i] += n;
        }
        into.sum_us = into.sum_us.saturating_add(self.sum_us);
        for (status, n) in &self.statuses {
            match into.statuses.iter_mut().find(|(s, _)| s == status) {
                Some((_, m)) => *m += n,
                None => into.statuses.push((*status, *n)),
            }
        }
        if histograms {
            // Same bounds everywhere, so adding cannot fail.
            let _ = into.total.add(&self.total);
            for (slot, h) in self.intervals.iter().enumerate() {
                let iv = self.interval_of[slot];
                if iv != u64::MAX && iv <= now_interval && now_interval - iv < INTERVALS as u64 {
                    let _ = into.last_window.add(h);
                }
            }
        }
    }
}

/// A series merged over all shards.
pub struct Merged {
    pub total: Histogram<u64>,
    pub last_window: Histogram<u64>,
    pub buckets: [u64; PROM_BUCKETS_US.len()],
    pub sum_us: u64,
    pub statuses: Vec<(u16, u64)>,
}

impl Default for Merged {
    fn default() -> Self {
        Merged {
            total: new_histogram(),
            last_window: new_histogram(),
            buckets: [0; PROM_BUCKETS_US.len()],
            sum_us: 0,
            statuses: Vec::new(),
        }
    }
}

impl Merged {
    /// Requests counted (all statuses).
    pub fn count(&self) -> u64 {
        self.statuses.iter().map(|(_, n)| n).sum()
    }

    /// Cumulative bucket counts, as Prometheus wants them (`le` = upper bound, seconds).
    pub fn cumulative_buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let mut acc = 0;
        PROM_BUCKETS_SECONDS
            .iter()
            .zip(self.buckets.iter())
            .map(move |(le, n)| {
                acc += n;
                (*le, acc)
            })
    }
}

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

impl Summary {
    pub fn of(h: &Histogram<u64>) -> Summary {
        if h.is_empty() {
            return Summary {
                count: 0,
                p50_us: 0,
                p90_us: 0,
                p99_us: 0,
                p999_us: 0,
                max_us: 0,
            };
        }
        Summary {
            count: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Relative distance of `got` from `want`.
    fn rel(got: u64, want: u64) -> f64 {
        (got as f64 - want as f64).abs() / want as f64
    }

    #[test]
    fn percentiles_match_a_known_distribution() {
        // 1..=10_000 ms, one value each: p50 = 5000 ms, p90 = 9000 ms, p99 = 9900 ms,
        // p99.9 = 9990 ms, max = 10000 ms. Spread over two series (two shards).
        let mut a = Series::new();
        let mut b = Series::new();
        for ms in 1..=10_000u64 {
            let s = if ms % 2 == 0 { &mut a } else { &mut b };
            s.record(ms * 1000, 200, 0);
        }
        let mut m = Merged::default();
        a.merge_into(&mut m, 0, true);
        b.merge_into(&mut m, 0, true);
        let s = Summary::of(&m.total);
        assert_eq!(s.count, 10_000);
        for (got, want) in [
            (s.p50_us, 5_000_000),
            (s.p90_us, 9_000_000),
            (s.p99_us, 9_900_000),
            (s.p999_us, 9_990_000),
            (s.max_us, 10_000_000),
        ] {
            assert!(rel(got, want) <= 0.01, "got {got}, want {want} ±1%");
        }
        assert_eq!(Summary::of(&m.last_window), s);
        assert_eq!(m.count(), 10_000);
        assert_eq!(m.sum_us, (1..=10_000u64).sum::<u64>() * 1000);
    }

    #[test]
    fn bimodal_distribution() {
        // 90% at 2 ms, 10% at 200 ms: p50 and p90 are 2 ms, p99 is 200 ms.
        let mut s = Series::new();
        for i in 0..1000 {
            s.record(if i % 10 == 0 { 200_000 } else { 2_000 }, 200, 0);
        }
        let mut m = Merged::default();
        s.merge_into(&mut m, 0, true);
        let sum = Summary::of(&m.total);
        assert!(rel(sum.p50_us, 2_000) <= 0.01, "{sum:?}");
        assert!(rel(sum.p90_us, 2_000) <= 0.01, "{sum:?}");
        assert!(rel(sum.p99_us, 200_000) <= 0.01, "{sum:?}");
    }

    #[test]
    fn rolling_window_forgets_old_intervals() {
        let mut s = Series::new();
        s.record(1_000, 200, 0); // interval 0
        s.record(2_000, 200, 3);
        s.record(3_000, 500, 7);
        // At interval 7 the window holds intervals 2..=7: the 2 ms and 3 ms values.
        let mut m = Merged::default();
        s.merge_into(&mut m, 7, true);
        assert_eq!(m.total.len(), 3);
        assert_eq!(m.last_window.len(), 2);
        assert!(rel(m.last_window.min(), 2_000) <= 0.01);
        // Interval 13 reuses slot 1 (13 % 6), holding nothing yet: slots still hold 3 and 7, 3 is
        // too old now.
        let mut m = Merged::default();
        s.merge_into(&mut m, 13, true);
        assert_eq!(m.last_window.len(), 0);
        let mut m = Merged::default();
        s.merge_into(&mut m, 12, true);
        assert_eq!(m.last_window.len(), 1);
        // Recording into interval 12 (slot 0) resets what interval 0 left there.
        s.record(4_000, 200, 12);
        let mut m = Merged::default();
        s.merge_into(&mut m, 12, true);
        assert_eq!(m.last_window.len(), 2);
        assert_eq!(m.statuses.iter().find(|(st, _)| *st == 500).unwrap().1, 1);
    }

    #[test]
    fn prometheus_buckets_are_exact_and_cumulative() {
        let mut s = Series::new();
        for us in [100, 500, 501, 1_000, 2_000_000, 500_000_000] {
            s.record(us, 200, 0);
        }
        let mut m = Merged::default();
        s.merge_into(&mut m, 0, false);
        let b: Vec<(f64, u64)> = m.cumulative_buckets().collect();
        assert_eq!(b[0], (0.0005, 2)); // 100 and 500 µs (le is inclusive)
        assert_eq!(b[1], (0.001, 4));
        assert_eq!(b[11], (2.5, 5));
        assert_eq!(b.last().unwrap().1, 5); // 500 s is only in +Inf
        assert_eq!(m.count(), 6);
        assert_eq!(m.total.len(), 0, "histograms skipped when not asked for");
    }

    #[test]
    fn micros_is_clamped() {
        assert_eq!(micros(Duration::ZERO), 1);
        assert_eq!(micros(Duration::from_millis(3)), 3000);
        assert_eq!(micros(Duration::from_secs(10 * 3600)), HIGHEST_US);
    }
}
