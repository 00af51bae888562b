//! Prometheus text lines of the health state, merged from the shared atomics at scrape time.

use crate::health::breaker::BreakerState;
use crate::health::usage::Counter;
use crate::state::App;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Escapes a label value as the exposition format requires (`\`, `"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Appends the health metrics: breaker transitions, shedding, rate limiting, and monthly usage
/// with its limits (limits only for backends that have one).
pub fn render(app: &App, out: &mut String) {
    let h = &app.health;
    // s3o_circuit_breaker_state and s3o_failover_total are written by metrics::prometheus.
    header(
        out,
        "s3o_circuit_breaker_transitions_total",
        "counter",
        "Circuit breaker transitions, by backend and new state.",
    );
    for b in &h.backends {
        for s in BreakerState::ALL {
            let _ = writeln!(
                out,
                "s3o_circuit_breaker_transitions_total{{name=\"{}\",to=\"{}\"}} {}",
                label(&b.name),
                s.label(),
                b.breaker.transitions(s)
            );
        }
    }
    header(
        out,
        "s3o_requests_shed_total",
        "counter",
        "Requests refused with 503 SlowDown because the shard was at max_concurrent_requests.",
    );
    let _ = writeln!(
        out,
        "s3o_requests_shed_total {}",
        h.shed.load(Ordering::Relaxed)
    );
    header(
        out,
        "s3o_rate_limited_total",
        "counter",
        "Requests refused with 503 SlowDown by the per-credential rate limit.",
    );
    let _ = writeln!(
        out,
        "s3o_rate_limited_total {}",
        h.rate_limited.load(Ordering::Relaxed)
    );
    let series = [
        (
            "s3o_usage_api_requests",
            "s3o_usage_api_request_limit",
            Counter::ApiRequests,
            "API requests sent to the backend this calendar month (UTC).",
            "Monthly API request limit of the backend.",
        ),
        (
            "s3o_usage_egress_bytes",
            "s3o_usage_egress_byte_limit",
            Counter::EgressBytes,
            "Bytes read from the backend this calendar month (UTC).",
            "Monthly egress byte limit of the backend.",
        ),
        (
            "s3o_usage_ingress_bytes",
            "s3o_usage_ingress_byte_limit",
            Counter::IngressBytes,
            "Bytes written to the backend this calendar month (UTC).",
            "Monthly ingress byte limit of the backend.",
        ),
    ];
    for (name, limit_name, c, help, limit_help) in series {
        header(out, name, "gauge", help);
        for b in &h.backends {
            let _ = writeln!(
                out,
                "{name}{{backend=\"{}\"}} {}",
                label(&b.name),
                b.usage.total(c)
            );
        }
        if h.backends.iter().any(|b| b.usage.limit(c).is_some()) {
            header(out, limit_name, "gauge", limit_help);
            for b in &h.backends {
                if let Some(l) = b.usage.limit(c) {
                    let _ = writeln!(out, "{limit_name}{{backend=\"{}\"}} {l}", label(&b.name));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
