//! Per-thread recorders and the registry that finds them at scrape time.
//!
//! Each thread that records (every S3 shard, the background shard) owns one [`ShardCell`], created
//! on its first record and registered once in a process-wide list. The owning thread is the only
//! writer: it takes the cell's mutex, which nobody else holds except a scrape merging the cells,
//! so the request path never waits on another request. The in-flight gauge is a relaxed atomic
//! written only by its owner.

use super::latency::{micros, Merged, Series, INTERVAL_SECS, TRANSPORT_ERROR};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Process start for the metrics clock (rolling-window intervals, health timestamps).
static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Every registered cell. Grows by one per recording thread (shards live as long as the process).
static REGISTRY: LazyLock<Mutex<Vec<Arc<ShardCell>>>> = LazyLock::new(|| Mutex::new(Vec::new()));

thread_local! {
    static LOCAL: Arc<ShardCell> = register();
}

fn register() -> Arc<ShardCell> {
    let cell = Arc::new(ShardCell::default());
    lock(&REGISTRY).push(cell.clone());
    cell
}

/// A poisoned lock only means another thread panicked mid-update of counters: keep counting.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Seconds since the metrics epoch.
pub fn uptime() -> Duration {
    EPOCH.elapsed()
}

/// The rolling-window interval number of `now`.
pub fn interval_now() -> u64 {
    EPOCH.elapsed().as_secs() / INTERVAL_SECS
}

/// One thread's statistics.
#[derive(Default)]
pub struct ShardCell {
    inflight: AtomicI64,
    /// Client requests this thread has started (read by the background shard to see whether
    /// clients are active, see [`client_activity`]).
    started: AtomicU64,
    data: Mutex<ShardData>,
}

/// What one backend saw on one thread.
#[derive(Default)]
pub struct BackendData {
    pub ops: HashMap<&'static str, Series>,
    /// Milliseconds since the epoch (+1, so 0 means never) of the last success and failure.
    pub last_ok_ms: u64,
    pub last_fail_ms: u64,
}

#[derive(Default)]
pub struct ShardData {
    pub requests: HashMap<&'static str, Series>,
    pub backends: HashMap<String, BackendData>,
}

impl ShardData {
    pub fn record_request(&mut self, op: &'static str, status: u16, us: u64, interval: u64) {
        self.requests
            .entry(op)
            .or_default()
            .record(us, status, interval);
    }

    pub fn record_backend(
        &mut self,
        backend: &str,
        op: &'static str,
        status: u16,
        us: u64,
        interval: u64,
        now_ms: u64,
    ) {
        // Look up by &str first: the name is allocated once per backend and thread, not per call.
        if !self.backends.contains_key(backend) {
            self.backends
                .insert(backend.to_owned(), BackendData::default());
        }
        let Some(b) = self.backends.get_mut(backend) else {
            return;
        };
        b.ops.entry(op).or_default().record(us, status, interval);
        if is_failure(status) {
            b.last_fail_ms = now_ms;
        } else {
            b.last_ok_ms = now_ms;
        }
    }
}

/// A backend answer that says the backend itself is unwell: no HTTP answer at all, or a 5xx.
pub fn is_failure(status: u16) -> bool {
    status == TRANSPORT_ERROR || status >= 500
}

fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64 + 1
}

/// Records one client request on this thread.
pub fn record_request(op: &'static str, status: u16, elapsed: Duration) {
    let interval = interval_now();
    LOCAL.with(|c| lock(&c.data).record_request(op, status, micros(elapsed), interval));
}

/// Records one backend call on this thread; `status` [`TRANSPORT_ERROR`] when no HTTP answer came.
pub fn record_backend(backend: &str, op: &'static str, status: u16, elapsed: Duration) {
    let interval = interval_now();
    let ms = now_ms();
    LOCAL
        .with(|c| lock(&c.data).record_backend(backend, op, status, micros(elapsed), interval, ms));
}

/// Adds `delta` to this thread's in-flight gauge.
pub fn inflight_add(delta: i64) {
    LOCAL.with(|c| c.inflight.fetch_add(delta, Ordering::Relaxed));
}

/// Counts one request in this thread's in-flight gauge for as long as it lives (also when the
/// request's future is dropped half-way, e.g. at shutdown).
pub struct InflightGuard(());

impl InflightGuard {
    pub fn enter() -> InflightGuard {
        LOCAL.with(|c| {
            c.inflight.fetch_add(1, Ordering::Relaxed);
            c.started.fetch_add(1, Ordering::Relaxed);
        });
        InflightGuard(())
    }
}

/// Client requests started so far and in flight now, summed over every thread. Cheap (two relaxed
/// loads per thread, no histogram merge): the background shard polls it to yield to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientActivity {
    pub started: u64,
    pub inflight: i64,
}

/// The current [`ClientActivity`].
pub fn client_activity() -> ClientActivity {
    let cells = lock(&REGISTRY);
    let mut a = ClientActivity::default();
    for c in cells.iter() {
        a.started = a.started.wrapping_add(c.started.load(Ordering::Relaxed));
        a.inflight += c.inflight.load(Ordering::Relaxed);
    }
    a
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        inflight_add(-1);
    }
}

/// A backend's statistics merged over all threads.
#[derive(Default)]
pub struct BackendMerged {
    pub ops: BTreeMap<&'static str, Merged>,
    pub last_ok_ms: u64,
    pub last_fail_ms: u64,
}

impl BackendMerged {
    /// Passive health: the most recent call to this backend failed (transport error or 5xx) and
    /// none succeeded since.
    pub fn last_call_failed(&self) -> bool {
        self.last_fail_ms > self.last_ok_ms
    }

    /// Requests counted over all operations.
    pub fn requests(&self) -> u64 {
        self.ops.values().map(Merged::count).sum()
    }
}

/// Everything merged at one scrape.
#[derive(Default)]
pub struct Snapshot {
    pub requests: BTreeMap<&'static str, Merged>,
    pub backends: BTreeMap<String, BackendMerged>,
    pub inflight: i64,
    /// Seconds since start when taken.
    pub uptime: Duration,
}

impl Snapshot {
    /// Merges `cells`; histograms only when `histograms` (they cost a few ms to add up).
    pub fn merge(cells: &[Arc<ShardCell>], histograms: bool) -> Snapshot {
        let interval = interval_now();
        let mut snap = Snapshot {
            uptime: uptime(),
            ..Default::default()
        };
        for cell in cells {
            snap.inflight += cell.inflight.load(Ordering::Relaxed);
            let data = lock(&cell.data);
            snap.merge_data(&data, interval, histograms);
        }
        snap
    }

    pub fn merge_data(&mut self, data: &ShardData, interval: u64, histograms: bool) {
        for (op, s) in &data.requests {
            s.merge_into(self.requests.entry(op).or_default(), interval, histograms);
        }
        for (name, b) in &data.backends {
            let into = self.backends.entry(name.clone()).or_default();
            into.last_ok_ms = into.last_ok_ms.max(b.last_ok_ms);
            into.last_fail_ms = into.last_fail_ms.max(b.last_fail_ms);
            for (op, s) in &b.ops {
                s.merge_into(into.ops.entry(op).or_default(), interval, histograms);
            }
        }
    }
}

/// Merges every registered thread's statistics.
pub fn snapshot(histograms: bool) -> Snapshot {
    let cells: Vec<Arc<ShardCell>> = lock(&REGISTRY).clone();
    Snapshot::merge(&cells, histograms)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shards_merge_at_scrape_time() {
        let mut a = ShardData::default();
        let mut b = ShardData::default();
        a.record_request("GetObject", 200, 1_000, 0);
        b.record_request("GetObject", 404, 3_000, 0);
        b.record_request("PutObject", 200, 5_000, 0);
        a.record_backend("disk1", "GetObject", 200, 900, 0, 10);
        b.record_backend("disk1", "GetObject", TRANSPORT_ERROR, 50, 0, 20);
        let mut s = Snapshot::default();
        s.merge_data(&a, 0, true);
        s.merge_data(&b, 0, true);
        assert_eq!(s.requests["GetObject"].count(), 2);
        assert_eq!(s.requests["PutObject"].count(), 1);
        let d = &s.backends["disk1"];
        assert_eq!(d.requests(), 2);
        assert!(d.last_call_failed());
        // A later success clears the failure.
        a.record_backend("disk1", "HeadObject", 200, 100, 0, 30);
        let mut s = Snapshot::default();
        s.merge_data(&a, 0, true);
        s.merge_data(&b, 0, true);
        assert!(!s.backends["disk1"].last_call_failed());
    }

    #[test]
    fn thread_local_cells_are_registered_once() {
        // Record from two fresh threads; both cells appear in the global snapshot.
        let op = "TestOnlyOperation";
        let t1 = std::thread::spawn(move || {
            record_request(op, 200, Duration::from_millis(2));
            record_request(op, 200, Duration::from_millis(2));
        });
        let t2 = std::thread::spawn(move || record_request(op, 500, Duration::from_millis(4)));
        t1.join().unwrap();
        t2.join().unwrap();
        let s = snapshot(true);
        let m = &s.requests[op];
        assert_eq!(m.count(), 3);
        assert_eq!(m.statuses.iter().find(|(st, _)| *st == 500).unwrap().1, 1);
    }

    #[test]
    fn failures_are_transport_errors_and_5xx() {
        assert!(is_failure(TRANSPORT_ERROR));
        assert!(is_failure(503));
        assert!(!is_failure(404));
        assert!(!is_failure(200));
    }
}
