//! Counting and reporting: per-thread hdrhistograms merged at the end, shared counters for the
//! once-a-second progress line, text and JSON reports.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

/// Highest latency the histograms hold, in microseconds (one hour); slower samples are clamped.
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Significant figures of the histograms (0.1% resolution).
const SIGFIGS: u8 = 3;
/// Distinct error messages kept for the report.
const MAX_ERROR_SAMPLES: usize = 5;
/// Percentiles reported.
const PERCENTILES: [f64; 6] = [50.0, 90.0, 99.0, 99.9, 99.99, 100.0];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Get,
    Put,
    List,
    Delete,
}

impl Op {
    const ALL: [Op; 4] = [Op::Get, Op::Put, Op::List, Op::Delete];
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Put => "put",
            Op::List => "list",
            Op::Delete => "delete",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// Counters the progress thread reads while workers run.
#[derive(Default)]
pub struct Shared {
    ops: AtomicU64,
    errors: AtomicU64,
    bytes: AtomicU64,
}

impl Shared {
    pub fn add(&self, ok: bool, bytes: u64) {
        self.ops.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Prints one line a second to stderr until `stop`.
pub fn progress(shared: &Shared, stop: &AtomicBool, start: Instant) {
    let mut last_ops = 0;
    let mut last_bytes = 0;
    let mut next = start + Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) {
        // Short sleeps so the thread notices `stop` quickly.
        let now = Instant::now();
        if now < next {
            std::thread::sleep((next - now).min(Duration::from_millis(100)));
            continue;
        }
        let ops = shared.ops.load(Ordering::Relaxed);
        let bytes = shared.bytes.load(Ordering::Relaxed);
        let errors = shared.errors.load(Ordering::Relaxed);
        eprintln!(
            "[{:>4.0}s] ops {ops:>9} ({:>8}/s)  {:>9.1} MB/s  errors {errors}",
            start.elapsed().as_secs_f64(),
            ops - last_ops,
            (bytes - last_bytes) as f64 / 1e6,
        );
        last_ops = ops;
        last_bytes = bytes;
        next += Duration::from_secs(1);
    }
}

pub struct PerOp {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
    bytes: u64,
}

impl PerOp {
    fn new() -> Self {
        PerOp {
            hist: new_hist(),
            ok: 0,
            errors: 0,
            bytes: 0,
        }
    }
}

fn new_hist() -> Histogram<u64> {
    // Constant, valid bounds (low >= 1, high >= 2 * low, sigfigs <= 5): this cannot fail.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, SIGFIGS).expect("valid histogram bounds")
}

/// One worker's results.
pub struct ThreadStats {
    per_op: Vec<PerOp>,
    all: Histogram<u64>,
    errors: Vec<String>,
}

impl ThreadStats {
    pub fn new() -> Self {
        ThreadStats {
            per_op: Op::ALL.iter().map(|_| PerOp::new()).collect(),
            all: new_hist(),
            errors: Vec::new(),
        }
    }

    pub fn record(&mut self, op: Op, ok: bool, bytes: u64, latency: Duration, err: Option<String>) {
        let p = &mut self.per_op[op.index()];
        p.bytes += bytes;
        if ok {
            let us = (latency.as_micros() as u64).clamp(1, MAX_LATENCY_US);
            p.ok += 1;
            p.hist.saturating_record(us);
            self.all.saturating_record(us);
        } else {
            p.errors += 1;
            if let Some(e) = err {
                if self.errors.len() < MAX_ERROR_SAMPLES && !self.errors.contains(&e) {
                    self.errors.push(e);
                }
            }
        }
    }

    pub fn merge(&mut self, other: ThreadStats) {
        for (a, b) in self.per_op.iter_mut().zip(other.per_op) {
            // Same bounds on both sides, so `add` cannot fail.
            let _ = a.hist.add(&b.hist);
            a.ok += b.ok;
            a.errors += b.errors;
            a.bytes += b.bytes;
        }
        let _ = self.all.add(&other.all);
        for e in other.errors {
            if self.errors.len() < MAX_ERROR_SAMPLES && !self.errors.contains(&e) {
                self.errors.push(e);
            }
        }
    }
}

/// The final figures.
pub struct Report<'a> {
    stats: &'a ThreadStats,
    secs: f64,
    label: &'a str,
    rate: Option<f64>,
    connections: usize,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl<'a> Report<'a> {
    pub fn new(
        stats: &'a ThreadStats,
        elapsed: Duration,
        label: &'a str,
        rate: Option<f64>,
        connections: usize,
    ) -> Self {
        Report {
            stats,
            secs: elapsed.as_secs_f64().max(1e-9),
            label,
            rate,
            connections,
        }
    }

    fn totals(&self) -> (u64, u64, u64) {
        self.stats.per_op.iter().fold((0, 0, 0), |(o, e, b), p| {
            (o + p.ok, e + p.errors, b + p.bytes)
        })
    }

    fn pct(h: &Histogram<u64>) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for p in PERCENTILES {
            m.insert(format!("p{p}"), json!(ms(h.value_at_percentile(p))));
        }
        m.insert("mean".into(), json!(h.mean() / 1000.0));
        serde_json::Value::Object(m)
    }

    pub fn json(&self) -> String {
        let (ok, errors, bytes) = self.totals();
        let mut ops = serde_json::Map::new();
        for op in Op::ALL {
            let p = &self.stats.per_op[op.index()];
            if p.ok + p.errors == 0 {
                continue;
            }
            ops.insert(
                op.name().into(),
                json!({
                    "ok": p.ok,
                    "errors": p.errors,
                    "ops_per_sec": p.ok as f64 / self.secs,
                    "bytes": p.bytes,
                    "latency_ms": Self::pct(&p.hist),
                }),
            );
        }
        json!({
            "label": self.label,
            "connections": self.connections,
            "mode": if self.rate.is_some() { "open" } else { "closed" },
            "target_rate": self.rate,
            "seconds": self.secs,
            "ok": ok,
            "errors": errors,
            "ops_per_sec": ok as f64 / self.secs,
            "bytes": bytes,
            "gb_per_sec": bytes as f64 / self.secs / 1e9,
            "latency_ms": Self::pct(&self.stats.all),
            "ops": ops,
            "error_samples": self.stats.errors,
        })
        .to_string()
    }

    pub fn text(&self) -> String {
        use std::fmt::Write;
        let (ok, errors, bytes) = self.totals();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} connections, {} loop{}, {:.2} s",
            self.connections,
            if self.rate.is_some() {
                "open"
            } else {
                "closed"
            },
            self.rate
                .map(|r| format!(" at {r:.0}/s (latency from intended send time)"))
                .unwrap_or_default(),
            self.secs
        );
        let _ = writeln!(
            s,
            "ok {ok}  errors {errors}  {:.1} ops/s  {:.3} GB/s",
            ok as f64 / self.secs,
            bytes as f64 / self.secs / 1e9
        );
        let _ = writeln!(
            s,
            "{:<7} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "op", "ok", "errors", "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"
        );
        for op in Op::ALL {
            let p = &self.stats.per_op[op.index()];
            if p.ok + p.errors == 0 {
                continue;
            }
            let h = &p.hist;
            let _ = writeln!(
                s,
                "{:<7} {:>9} {:>7} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                op.name(),
                p.ok,
                p.errors,
                p.ok as f64 / self.secs,
                ms(h.value_at_percentile(50.0)),
                ms(h.value_at_percentile(90.0)),
                ms(h.value_at_percentile(99.0)),
                ms(h.value_at_percentile(99.9)),
                ms(h.max()),
            );
        }
        for e in &self.stats.errors {
            let _ = writeln!(s, "error: {}", e.replace('\n', " "));
        }
        s
    }
}
