//! The Prometheus text exposition format (version 0.0.4): content type, label escaping and the
//! HELP/TYPE, single-value and histogram lines every `/metrics` section writes.

use crate::metrics::latency::{Merged, TRANSPORT_ERROR};
use std::fmt::{Display, Write};

/// The `Content-Type` of the exposition.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Escapes a label value (backslash, double quote, newline).
pub(crate) fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The label text of a status: the HTTP code, or `error` for a transport failure.
pub(crate) fn status_label(status: u16) -> String {
    if status == TRANSPORT_ERROR {
        "error".to_owned()
    } else {
        status.to_string()
    }
}

/// The `# HELP` and `# TYPE` lines of the family `s3o_{name}`.
pub(crate) fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP s3o_{name} {help}");
    let _ = writeln!(out, "# TYPE s3o_{name} {kind}");
}

/// A family of one unlabelled series: its header and `s3o_{name} {value}`.
pub(crate) fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl Display) {
    header(out, name, kind, help);
    let _ = writeln!(out, "s3o_{name} {value}");
}

/// One histogram series: `_bucket`s, `_sum`, `_count`. `labels` is `a="x",b="y"` (non-empty).
pub(crate) fn histogram(out: &mut String, name: &str, labels: &str, m: &Merged) {
    for (le, n) in m.cumulative_buckets() {
        let _ = writeln!(out, "s3o_{name}_bucket{{{labels},le=\"{le}\"}} {n}");
    }
    let count = m.count();
    let _ = writeln!(out, "s3o_{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "s3o_{name}_sum{{{labels}}} {}", m.sum_us as f64 / 1e6);
    let _ = writeln!(out, "s3o_{name}_count{{{labels}}} {count}");
}
