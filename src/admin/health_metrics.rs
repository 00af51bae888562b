//! Prometheus text lines of the health state, merged from the shared atomics at scrape time.

use super::exposition::{escape_label, header, single};
use crate::health::breaker::BreakerState;
use crate::health::usage::Counter;
use crate::health::Health;
use crate::state::App;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// Appends the health metrics: breaker transitions, shedding, rate limiting, and monthly usage
/// with its limits (limits only for backends that have one).
pub(crate) fn render(app: &App, out: &mut String) {
    let h = &app.health;
    // s3o_circuit_breaker_state and s3o_failover_total are written by admin::prometheus.
    write_breaker_transitions(out, h);
    write_refusals(out, h);
    write_usage(out, h);
}

fn write_breaker_transitions(out: &mut String, h: &Health) {
    header(
        out,
        "circuit_breaker_transitions_total",
        "counter",
        "Circuit breaker transitions, by backend and new state.",
    );
    for b in &h.backends {
        for s in BreakerState::ALL {
            let _ = writeln!(
                out,
                "s3o_circuit_breaker_transitions_total{{name=\"{}\",to=\"{}\"}} {}",
                escape_label(&b.name),
                s.label(),
                b.breaker.transitions(s)
            );
        }
    }
}

/// Requests refused by admission control and by the rate limit.
fn write_refusals(out: &mut String, h: &Health) {
    single(
        out,
        "requests_shed_total",
        "counter",
        "Requests refused with 503 SlowDown because the shard was at max_concurrent_requests.",
        h.shed.load(Ordering::Relaxed),
    );
    single(
        out,
        "rate_limited_total",
        "counter",
        "Requests refused with 503 SlowDown by the per-credential rate limit.",
        h.rate_limited.load(Ordering::Relaxed),
    );
}

/// One monthly usage counter: its family, and its limit's when a backend has one.
struct UsageFamily {
    name: &'static str,
    limit_name: &'static str,
    counter: Counter,
    help: &'static str,
    limit_help: &'static str,
}

const USAGE_FAMILIES: [UsageFamily; 3] = [
    UsageFamily {
        name: "usage_api_requests",
        limit_name: "usage_api_request_limit",
        counter: Counter::ApiRequests,
        help: "API requests sent to the backend this calendar month (UTC).",
        limit_help: "Monthly API request limit of the backend.",
    },
    UsageFamily {
        name: "usage_egress_bytes",
        limit_name: "usage_egress_byte_limit",
        counter: Counter::EgressBytes,
        help: "Bytes read from the backend this calendar month (UTC).",
        limit_help: "Monthly egress byte limit of the backend.",
    },
    UsageFamily {
        name: "usage_ingress_bytes",
        limit_name: "usage_ingress_byte_limit",
        counter: Counter::IngressBytes,
        help: "Bytes written to the backend this calendar month (UTC).",
        limit_help: "Monthly ingress byte limit of the backend.",
    },
];

/// Each usage counter of every backend, each followed by its limits.
fn write_usage(out: &mut String, h: &Health) {
    for f in &USAGE_FAMILIES {
        let c = f.counter;
        header(out, f.name, "gauge", f.help);
        for b in &h.backends {
            let _ = writeln!(
                out,
                "s3o_{}{{backend=\"{}\"}} {}",
                f.name,
                escape_label(&b.name),
                b.usage.total(c)
            );
        }
        if h.backends.iter().any(|b| b.usage.limit(c).is_some()) {
            header(out, f.limit_name, "gauge", f.limit_help);
            for b in &h.backends {
                if let Some(l) = b.usage.limit(c) {
                    let _ = writeln!(
                        out,
                        "s3o_{}{{backend=\"{}\"}} {l}",
                        f.limit_name,
                        escape_label(&b.name)
                    );
                }
            }
        }
    }
}
