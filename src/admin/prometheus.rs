//! `/metrics`: the Prometheus text exposition format (version 0.0.4), every name prefixed `s3o_`.
//! Checked by `promtool check metrics` in the end-to-end suite.

use super::exposition::{escape_label, header, histogram, single, status_label};
use crate::metrics::shard::Snapshot;
use crate::metrics::{global, Global};
use crate::state::App;
use std::fmt::{Display, Write};
use std::sync::atomic::Ordering;

/// Renders everything for one scrape.
pub(crate) fn render(app: &App, snap: &Snapshot) -> String {
    page(app, snap, global())
}

/// The page for the process-wide counters `g` (a test passes its own), family by family in the
/// order scrapers have always seen.
fn page(app: &App, snap: &Snapshot, g: &Global) -> String {
    let mut out = String::with_capacity(16 * 1024);
    write_requests(&mut out, snap);
    write_backend_requests(&mut out, snap);
    write_breaker_states(&mut out, app);
    write_storage(&mut out, app);
    write_replication(&mut out, g, app);
    super::health_metrics::render(app, &mut out);
    write_build_info(&mut out);
    out
}

/// Client requests: counts by operation and status, durations, in flight now.
fn write_requests(out: &mut String, snap: &Snapshot) {
    header(
        out,
        "requests_total",
        "counter",
        "S3 requests answered, by operation and HTTP status.",
    );
    for (op, m) in &snap.requests {
        for (status, n) in sorted(&m.statuses) {
            let _ = writeln!(
                out,
                "s3o_requests_total{{operation=\"{op}\",status=\"{}\"}} {n}",
                status_label(status)
            );
        }
    }
    header(
        out,
        "request_duration_seconds",
        "histogram",
        "Time from a parsed request head to the last response byte, by S3 operation.",
    );
    for (op, m) in &snap.requests {
        histogram(
            out,
            "request_duration_seconds",
            &format!("operation=\"{op}\""),
            m,
        );
    }
    single(
        out,
        "inflight_requests",
        "gauge",
        "S3 requests being processed now.",
        snap.inflight.max(0),
    );
}

/// Requests to backends: counts by backend, operation and status, and durations.
fn write_backend_requests(out: &mut String, snap: &Snapshot) {
    header(
        out,
        "backend_requests_total",
        "counter",
        "Requests sent to backends, by backend, operation and status (error = no HTTP answer).",
    );
    for (name, b) in &snap.backends {
        let backend = escape_label(name);
        for (op, m) in &b.ops {
            for (status, n) in sorted(&m.statuses) {
                let _ = writeln!(
                    out,
                    "s3o_backend_requests_total{{backend=\"{backend}\",operation=\"{op}\",status=\"{}\"}} {n}",
                    status_label(status)
                );
            }
        }
    }
    header(
        out,
        "backend_duration_seconds",
        "histogram",
        "Duration of backend requests, by backend and operation.",
    );
    for (name, b) in &snap.backends {
        let backend = escape_label(name);
        for (op, m) in &b.ops {
            histogram(
                out,
                "backend_duration_seconds",
                &format!("backend=\"{backend}\",operation=\"{op}\""),
                m,
            );
        }
    }
}

/// Each configured backend's circuit breaker now (its transitions are in [`super::health_metrics`]).
fn write_breaker_states(out: &mut String, app: &App) {
    gauge_per_backend(
        out,
        "circuit_breaker_state",
        "Backend circuit breaker: 0 healthy, 1 down, 2 probing.",
        "name",
        app.backends
            .iter()
            .map(|b| (b.name.as_str(), app.breaker_state(b.index))),
    );
}

/// What each backend stores as the catalog accounts it: bytes, quota, object copies.
fn write_storage(out: &mut String, app: &App) {
    let slots = &app.placement.slots;
    gauge_per_backend(
        out,
        "quota_bytes_used",
        "Bytes stored on each backend, as the catalog accounts them.",
        "backend",
        slots
            .iter()
            .map(|s| (s.name.as_str(), s.used_bytes.load(Ordering::Relaxed))),
    );
    gauge_per_backend(
        out,
        "quota_bytes_limit",
        "Configured quota of each backend with a quota (quota_bytes).",
        "backend",
        slots
            .iter()
            .filter_map(|s| Some((s.name.as_str(), s.quota_bytes()?))),
    );
    // The issue and the Go project call this `s3o_objects_count`, but promtool's lint refuses a
    // `_count` suffix outside histograms and summaries (it would read as a histogram's count
    // series), and passing `promtool check metrics` is required: hence `_stored`.
    gauge_per_backend(
        out,
        "objects_stored",
        "Object copies stored on each backend.",
        "backend",
        slots
            .iter()
            .map(|s| (s.name.as_str(), s.objects.load(Ordering::Relaxed))),
    );
}

/// A gauge family with one series per backend: `s3o_{name}{{label}="<backend>"} {value}`.
fn gauge_per_backend<'a, V: Display>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    series: impl Iterator<Item = (&'a str, V)>,
) {
    header(out, name, "gauge", help);
    for (backend, value) in series {
        let _ = writeln!(
            out,
            "s3o_{name}{{{label}=\"{}\"}} {value}",
            escape_label(backend)
        );
    }
}

fn write_build_info(out: &mut String) {
    header(
        out,
        "build_info",
        "gauge",
        "Always 1; the version label names the running build.",
    );
    let _ = writeln!(
        out,
        "s3o_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
}

fn sorted(statuses: &[(u16, u64)]) -> Vec<(u16, u64)> {
    let mut v = statuses.to_vec();
    v.sort_unstable();
    v
}

/// The background shard's work: counters, the queue and throttle gauges, copies per object.
fn write_replication(out: &mut String, g: &Global, app: &App) {
    write_background_counters(out, g);
    write_replication_gauges(out, g, app);
    write_objects_by_copies(out, g);
}

/// Copies made, failed and replaced, failovers, bytes copied.
fn write_background_counters(out: &mut String, g: &Global) {
    let counters = [
        (
            "replication_copies_created_total",
            "Copies created to reach the replication factor.",
            &g.replication_copies_created_total,
        ),
        (
            "replication_errors_total",
            "Replication copy attempts that failed.",
            &g.replication_errors_total,
        ),
        (
            "replication_health_copies_total",
            "Replacement copies created because a backend stayed down.",
            &g.replication_health_copies_total,
        ),
        (
            "failover_total",
            "Reads served from another copy than the first choice.",
            &g.failover_total,
        ),
        (
            "replication_bytes_total",
            "Bytes copied by the background shard (replication, health copies, rebalancing).",
            &g.replication_bytes_total,
        ),
    ];
    for (name, help, c) in counters {
        single(out, name, "counter", help, c.load(Ordering::Relaxed));
    }
}

/// Copies pending, whether copies yield to clients, the configured factor.
fn write_replication_gauges(out: &mut String, g: &Global, app: &App) {
    single(
        out,
        "replication_pending",
        "gauge",
        "Copies still to be made, as the replication worker last counted.",
        g.replication_pending.load(Ordering::Relaxed),
    );
    single(
        out,
        "replication_yielding",
        "gauge",
        "1 while background copies are running at replication.busy_bytes_per_sec because clients are active.",
        g.replication_yielding.load(Ordering::Relaxed),
    );
    single(
        out,
        "replication_factor",
        "gauge",
        "The configured replication factor.",
        app.config().replication.factor,
    );
}

/// Objects by counted copies, from the last complete catalog scan.
fn write_objects_by_copies(out: &mut String, g: &Global) {
    header(
        out,
        "replication_objects_by_copies",
        "gauge",
        "Objects by number of counted copies (last complete catalog scan); below s3o_replication_factor means under-replicated.",
    );
    let by = g
        .objects_by_copies
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for (copies, n) in by.iter() {
        let _ = writeln!(
            out,
            "s3o_replication_objects_by_copies{{copies=\"{copies}\"}} {n}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::latency::{Merged, TRANSPORT_ERROR};
    use crate::metrics::shard::ShardData;

    /// The page [`page_is_unchanged`] renders, with `@VERSION@` for the crate version.
    const EXPECTED_PAGE: &str = include_str!("testdata/metrics_page.prom");

    /// An app with three local backends (one with a quota and two of the three usage limits, one
    /// whose breaker opened), a snapshot with client and backend requests, and process-wide counters.
    fn fixture(dir: &std::path::Path) -> (App, Snapshot, Global) {
        let yaml = format!(
            r#"backends:
  - name: disk-a
    path: {root}/a
    quota_bytes: 1000000
    api_request_limit: 5000
    ingress_byte_limit: 70000
  - name: disk_b
    path: {root}/b
  - name: disk.c
    path: {root}/c
buckets:
  - name: myapp
    credentials:
      - access_key_id: AK
        secret_access_key: SK
backend_circuit_breaker:
  enabled: true
  failure_threshold: 1
replication:
  factor: 2
catalog:
  path: {root}/catalog
"#,
            root = dir.display()
        );
        let cfg = crate::config::Config::from_str_named(&yaml, "metrics-test").expect("config");
        let app = App::new(cfg, Default::default()).expect("app");
        app.placement.set_usage("disk-a", 4096, 3);
        app.placement.set_usage("disk.c", 17, 1);
        let h = &app.health;
        h.backends[1].breaker.record_failure("test");
        h.backends[0].count_request();
        h.backends[0].count_ingress(512);
        h.backends[2].count_egress(99);
        h.shed.store(4, Ordering::Relaxed);
        h.rate_limited.store(6, Ordering::Relaxed);

        let mut data = ShardData::default();
        data.record_request("GetObject", 200, 700, 0);
        data.record_request("GetObject", 404, 3_000_000, 0);
        data.record_request("PutObject", 200, 12_345, 0);
        data.record_request("PutObject", 503, 250, 0);
        data.record_request("PutObject", 200, 80_000, 0);
        data.record_backend("disk-a", "GetObject", 200, 900, 0, 10);
        data.record_backend("disk-a", "GetObject", TRANSPORT_ERROR, 50, 0, 20);
        data.record_backend("disk-a", "PutObject", 500, 2_000, 0, 30);
        data.record_backend("odd\"name\\", "HeadObject", 200, 1, 0, 40);
        let mut snap = Snapshot::default();
        snap.merge_data(&data, 0, true);
        snap.inflight = 3;

        let g = Global::default();
        g.replication_copies_created_total
            .store(11, Ordering::Relaxed);
        g.replication_errors_total.store(2, Ordering::Relaxed);
        g.replication_health_copies_total
            .store(1, Ordering::Relaxed);
        g.failover_total.store(5, Ordering::Relaxed);
        g.replication_bytes_total.store(1 << 20, Ordering::Relaxed);
        g.replication_pending.store(7, Ordering::Relaxed);
        g.replication_yielding.store(1, Ordering::Relaxed);
        *g.objects_by_copies.lock().expect("lock") = [(1, 4), (2, 9)].into_iter().collect();
        (app, snap, g)
    }

    /// The whole page for a fixed input, byte for byte: the order of families, HELP and TYPE
    /// lines, labels and number formatting are what scrapers and `promtool` see.
    #[test]
    fn page_is_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (app, snap, g) = fixture(dir.path());
        let got = page(&app, &snap, &g).replace(env!("CARGO_PKG_VERSION"), "@VERSION@");
        // After an intended change of the page: rerun with this set to rewrite the expected file.
        if let Some(path) = std::env::var_os("S3O_WRITE_METRICS_PAGE") {
            std::fs::write(path, &got).expect("write");
        }
        assert_eq!(got, EXPECTED_PAGE);
    }

    #[test]
    fn label_escaping() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("x\ny"), "x\\ny");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(status_label(TRANSPORT_ERROR), "error");
        assert_eq!(status_label(503), "503");
    }

    #[test]
    fn histogram_lines() {
        let mut s = crate::metrics::latency::Series::new();
        s.record(700, 200, 0);
        s.record(3_000_000, 200, 0);
        let mut m = Merged::default();
        s.merge_into(&mut m, 0, false);
        let mut out = String::new();
        histogram(&mut out, "x_seconds", "operation=\"GetObject\"", &m);
        assert!(out.contains("s3o_x_seconds_bucket{operation=\"GetObject\",le=\"0.0005\"} 0\n"));
        assert!(out.contains("s3o_x_seconds_bucket{operation=\"GetObject\",le=\"0.001\"} 1\n"));
        assert!(out.contains("s3o_x_seconds_bucket{operation=\"GetObject\",le=\"5\"} 2\n"));
        assert!(out.contains("s3o_x_seconds_bucket{operation=\"GetObject\",le=\"+Inf\"} 2\n"));
        assert!(out.contains("s3o_x_seconds_sum{operation=\"GetObject\"} 3.0007\n"));
        assert!(out.contains("s3o_x_seconds_count{operation=\"GetObject\"} 2\n"));
    }
}
