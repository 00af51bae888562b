//! `backend_circuit_breaker`, `rate_limit` and the server's admission keys, and backend usage limits.

use super::*;
use crate::config::CircuitBreakerConfig;

#[test]
fn health_keys_defaults_and_values() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.backend_circuit_breaker, CircuitBreakerConfig::default());
    assert!(!c.backend_circuit_breaker.enabled);
    assert_eq!(c.backend_circuit_breaker.failure_threshold, 5);
    assert_eq!(
        c.backend_circuit_breaker.open_timeout,
        std::time::Duration::from_secs(300)
    );
    assert_eq!(c.server.max_concurrent_requests, 1000);
    assert_eq!(c.server.backend_timeout, std::time::Duration::from_secs(30));
    assert!(!c.rate_limit.enabled);
    assert_eq!(
        c.backends[0].usage_limits,
        crate::config::UsageLimits::default()
    );

    let c = parse(
        "\
backends:
  - name: a
    path: ./data/a
    api_request_limit: 1000
    egress_byte_limit: 0
    ingress_byte_limit: \"5000\"
buckets:
  - name: myapp
    credentials:
      - access_key_id: AK
        secret_access_key: SK
backend_circuit_breaker:
  enabled: true
  failure_threshold: 2
  open_timeout: 1500ms
  success_threshold: 3
rate_limit:
  enabled: true
  requests_per_sec: 2.5
  burst: 4
server:
  shards: 2
  max_concurrent_requests: 7
  backend_timeout: 2s
",
    )
    .unwrap();
    let cb = c.backend_circuit_breaker;
    assert!(cb.enabled);
    assert_eq!(cb.failure_threshold, 2);
    assert_eq!(cb.open_timeout, std::time::Duration::from_millis(1500));
    assert_eq!(cb.success_threshold, 3);
    assert_eq!(c.rate_limit.requests_per_sec, 2.5);
    assert_eq!(c.rate_limit.burst, 4);
    assert_eq!(c.server.max_concurrent_requests, 7);
    // 7 over 2 shards: each admits 4 (rounded up).
    assert_eq!(c.server.max_concurrent_per_shard(), 4);
    assert_eq!(c.server.backend_timeout, std::time::Duration::from_secs(2));
    let l = c.backends[0].usage_limits;
    assert_eq!(l.api_requests, Some(1000));
    assert_eq!(l.egress_bytes, None, "0 means unlimited");
    assert_eq!(l.ingress_bytes, Some(5000));
}

#[test]
fn health_keys_are_range_checked() {
    assert_err(
        &with("backend_circuit_breaker:\n  failure_threshold: 0\n"),
        10,
        "backend_circuit_breaker.failure_threshold",
        "at least 1",
    );
    assert_err(
        &with("backend_circuit_breaker:\n  open_timeout: 10ms\n"),
        10,
        "backend_circuit_breaker.open_timeout",
        "between",
    );
    assert_err(
        &with("backend_circuit_breaker:\n  success_threshold: 1000\n"),
        10,
        "backend_circuit_breaker.success_threshold",
        "at most",
    );
    assert_err(
        &with("server:\n  backend_timeout: 1h\n"),
        10,
        "server.backend_timeout",
        "between",
    );
    assert_err(
        &with("server:\n  max_concurrent_requests: -1\n"),
        10,
        "server.max_concurrent_requests",
        "negative",
    );
    assert_err(
        &with("rate_limit:\n  requests_per_sec: 0\n"),
        10,
        "rate_limit.requests_per_sec",
        "positive",
    );
    assert_err(
        &with("backend_circuit_breaker:\n  probe: 1\n"),
        10,
        "backend_circuit_breaker",
        "probe",
    );
}
