//! `/stats`: latency percentiles per S3 operation and per backend operation, over two windows
//! (since start, and the rolling last 60 s), as JSON; or (`?format=hdr`) as an HdrHistogram
//! interval log that the usual HdrHistogram tools (HistogramLogAnalyzer, HistogramLogProcessor)
//! plot.

use super::latency::{Merged, Summary, WINDOW_SECS};
use super::shard::Snapshot;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Window names, as in the JSON and the `window=` query parameter.
pub const SINCE_START: &str = "since_start";
pub const LAST_60S: &str = "last_60s";

/// Percentiles of one series in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

impl From<Summary> for Percentiles {
    fn from(s: Summary) -> Self {
        let ms = |us: u64| (us as f64) / 1000.0;
        Percentiles {
            count: s.count,
            p50: ms(s.p50_us),
            p90: ms(s.p90_us),
            p99: ms(s.p99_us),
            p99_9: ms(s.p999_us),
            max: ms(s.max_us),
        }
    }
}

/// One window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Window {
    /// The window's length in seconds.
    pub seconds: f64,
    /// S3 operation → percentiles.
    pub operations: BTreeMap<String, Percentiles>,
    /// Backend → backend operation → percentiles.
    pub backends: BTreeMap<String, BTreeMap<String, Percentiles>>,
}

/// The whole `/stats` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Stats {
    pub version: String,
    pub uptime_seconds: f64,
    /// Unit of every percentile: milliseconds.
    pub unit: String,
    /// `since_start` and `last_60s`.
    pub windows: BTreeMap<String, Window>,
}

fn window(snap: &Snapshot, pick: fn(&Merged) -> &Histogram<u64>, seconds: f64) -> Window {
    let mut w = Window {
        seconds,
        ..Default::default()
    };
    for (op, m) in &snap.requests {
        let h = pick(m);
        if !h.is_empty() {
            w.operations.insert((*op).to_owned(), Summary::of(h).into());
        }
    }
    for (name, b) in &snap.backends {
        let mut ops = BTreeMap::new();
        for (op, m) in &b.ops {
            let h = pick(m);
            if !h.is_empty() {
                ops.insert((*op).to_owned(), Summary::of(h).into());
            }
        }
        if !ops.is_empty() {
            w.backends.insert(name.clone(), ops);
        }
    }
    w
}

/// Builds the JSON document from a snapshot taken with histograms.
pub fn build(snap: &Snapshot) -> Stats {
    let up = snap.uptime.as_secs_f64();
    let mut windows = BTreeMap::new();
    windows.insert(SINCE_START.to_owned(), window(snap, |m| &m.total, up));
    windows.insert(
        LAST_60S.to_owned(),
        window(snap, |m| &m.last_window, up.min(WINDOW_SECS as f64)),
    );
    Stats {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_seconds: up,
        unit: "ms".to_owned(),
        windows,
    }
}

/// The HdrHistogram interval log of one window (`last_60s` when `last_window`, else since
/// start): one histogram per series, tagged `s3.<Operation>` or `backend.<name>.<Operation>`;
/// values in microseconds.
pub fn hdr_log(snap: &Snapshot, last_window: bool) -> Result<Vec<u8>, String> {
    let now = crate::util::clock::now();
    let start = now.checked_sub(snap.uptime).unwrap_or(now);
    let (from, len) = if last_window {
        let len = snap.uptime.min(Duration::from_secs(WINDOW_SECS));
        (snap.uptime.saturating_sub(len), len)
    } else {
        (Duration::ZERO, snap.uptime)
    };
    fn window_of(m: &Merged, last_window: bool) -> &Histogram<u64> {
        if last_window {
            &m.last_window
        } else {
            &m.total
        }
    }
    let mut series: Vec<(String, &Histogram<u64>)> = Vec::new();
    for (op, m) in &snap.requests {
        series.push((format!("s3.{op}"), window_of(m, last_window)));
    }
    for (name, b) in &snap.backends {
        for (op, m) in &b.ops {
            series.push((format!("backend.{name}.{op}"), window_of(m, last_window)));
        }
    }
    let mut out = Vec::with_capacity(4096);
    let mut ser = V2DeflateSerializer::new();
    {
        let mut w = IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "s3-orchestrator {} latency, window {}, values in microseconds",
                env!("CARGO_PKG_VERSION"),
                if last_window { LAST_60S } else { SINCE_START }
            ))
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut out, &mut ser)
            .map_err(|e| e.to_string())?;
        for (tag, h) in series {
            w.write_histogram(h, from, len, Tag::new(&tag))
                .map_err(|e| e.to_string())?;
        }
    }
    // The Java tools write a legend line before the first interval; readers skip it, some
    // tools expect it. The Rust writer does not emit one: insert it after the header comments.
    let at = out
        .split(|b| *b == b'\n')
        .take_while(|l| l.starts_with(b"#"))
        .map(|l| l.len() + 1)
        .sum::<usize>()
        .min(out.len());
    let legend = b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
    out.splice(at..at, legend.iter().copied());
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::metrics::shard::ShardData;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;

    fn sample() -> Snapshot {
        let mut d = ShardData::default();
        for ms in 1..=1000u64 {
            d.record_request("GetObject", 200, ms * 1000, 0);
        }
        d.record_backend("disk1", "GetObject", 200, 2_000, 0, 1);
        let mut s = Snapshot {
            uptime: Duration::from_secs(5),
            ..Default::default()
        };
        s.merge_data(&d, 0, true);
        s
    }

    #[test]
    fn json_percentiles_in_ms() {
        let st = build(&sample());
        let p = st.windows[SINCE_START].operations["GetObject"];
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 500.0).abs() <= 5.0, "{p:?}");
        assert!((p.p90 - 900.0).abs() <= 9.0, "{p:?}");
        assert!((p.p99 - 990.0).abs() <= 9.9, "{p:?}");
        assert!((p.max - 1000.0).abs() <= 10.0, "{p:?}");
        assert_eq!(st.windows[LAST_60S].operations["GetObject"].count, 1000);
        assert_eq!(st.windows[LAST_60S].seconds, 5.0);
        assert_eq!(
            st.windows[SINCE_START].backends["disk1"]["GetObject"].count,
            1
        );
        let text = serde_json::to_string(&st).unwrap();
        let back: Stats = serde_json::from_str(&text).unwrap();
        assert_eq!(back, st);
    }

    #[test]
    fn hdr_log_round_trips() {
        let log = hdr_log(&sample(), false).unwrap();
        let text = String::from_utf8(log.clone()).unwrap();
        assert!(text.contains("values in microseconds"), "{text}");
        let first_data = text.lines().find(|l| !l.starts_with('#')).unwrap();
        assert!(first_data.starts_with("\"StartTimestamp\""), "{text}");
        let mut tags = Vec::new();
        let mut de = Deserializer::new();
        for e in IntervalLogIterator::new(&log) {
            if let Ok(LogEntry::Interval(ih)) = e {
                tags.push(ih.tag().map(|t| t.as_str().to_owned()));
                let raw = base64::Engine::decode(
                    &base64::engine::general_purpose::STANDARD,
                    ih.encoded_histogram(),
                )
                .unwrap();
                let h: Histogram<u64> = de.deserialize(&mut raw.as_slice()).unwrap();
                if ih.tag().map(|t| t.as_str()) == Some("s3.GetObject") {
                    assert_eq!(h.len(), 1000);
                }
            }
        }
        assert_eq!(
            tags,
            vec![
                Some("s3.GetObject".to_owned()),
                Some("backend.disk1.GetObject".to_owned())
            ]
        );
    }
}
