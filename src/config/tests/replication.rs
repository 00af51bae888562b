//! `replication`: factor bounds, durations, and the idle and busy copy rates.

use std::time::Duration;

use super::*;

#[test]
fn replication_busy_rate_defaults_to_an_eighth_and_must_not_exceed_the_idle_rate() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(c.replication.max_bytes_per_sec, 64 * 1024 * 1024);
    assert_eq!(c.replication.busy_bytes_per_sec, 8 * 1024 * 1024);
    let c = parse(&with("replication:\n  max_bytes_per_sec: 800\n")).unwrap();
    assert_eq!(c.replication.busy_bytes_per_sec, 100);
    let c = parse(&with(
        "replication:\n  max_bytes_per_sec: 0\n  busy_bytes_per_sec: 0\n",
    ))
    .unwrap();
    assert_eq!(
        (
            c.replication.max_bytes_per_sec,
            c.replication.busy_bytes_per_sec
        ),
        (0, 0)
    );
    let c = parse(&with(
        "replication:\n  max_bytes_per_sec: 1000\n  busy_bytes_per_sec: 1000\n",
    ))
    .unwrap();
    assert_eq!(c.replication.busy_bytes_per_sec, 1000);
    // Above the idle rate, or unthrottled under a throttled idle rate: refused, naming the key.
    for busy in ["1001", "0"] {
        let text = with(&format!(
            "replication:\n  max_bytes_per_sec: 1000\n  busy_bytes_per_sec: {busy}\n"
        ));
        assert_err(
            &text,
            11,
            "replication.busy_bytes_per_sec",
            "must not exceed replication.max_bytes_per_sec (1000)",
        );
    }
}

#[test]
fn replication_factor_bounds() {
    assert_err(
        &with("replication:\n  factor: 0\n"),
        10,
        "replication.factor",
        "at least 1",
    );
    assert_err(
        &with("replication:\n  factor: 2\n"),
        10,
        "replication.factor",
        "only 1 backends",
    );
    let c = parse(&s3_with("replication:\n  factor: 2\n")).unwrap();
    assert_eq!(c.replication.factor, 2);
}

#[test]
fn durations() {
    for (text, want) in [
        ("10m", 600_000),
        ("30s", 30_000),
        ("1h", 3_600_000),
        ("500ms", 500),
    ] {
        let c = parse(&with(&format!(
            "replication:\n  unhealthy_threshold: {text}\n"
        )))
        .unwrap();
        assert_eq!(
            c.replication.unhealthy_threshold,
            Duration::from_millis(want)
        );
    }
    assert_err(
        &with("replication:\n  unhealthy_threshold: 600\n"),
        10,
        "replication.unhealthy_threshold",
        "has no unit",
    );
    assert_err(
        &with("replication:\n  unhealthy_threshold: 10 minutes\n"),
        10,
        "replication.unhealthy_threshold",
        "unknown duration unit",
    );
    assert_err(
        &with("replication:\n  unhealthy_threshold: 0s\n"),
        10,
        "replication.unhealthy_threshold",
        "greater than zero",
    );
}

#[test]
fn cleanup_queue_stale_timeout_and_bucket_upload_limit() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(
        c.cleanup_queue.multipart_stale_timeout,
        Duration::from_secs(24 * 3600)
    );
    assert_eq!(c.buckets[0].max_multipart_uploads, 0);
    let c = parse(&with("cleanup_queue:\n  multipart_stale_timeout: 2s\n")).unwrap();
    assert_eq!(
        c.cleanup_queue.multipart_stale_timeout,
        Duration::from_secs(2)
    );
    assert_err(
        &with("cleanup_queue:\n  multipart_stale_timeout: 0s\n"),
        10,
        "cleanup_queue.multipart_stale_timeout",
        "greater than zero",
    );
    let limited = MINIMAL.replace(
        "  - name: myapp\n",
        "  - name: myapp\n    max_multipart_uploads: 5\n",
    );
    assert_eq!(parse(&limited).unwrap().buckets[0].max_multipart_uploads, 5);
    let over = MINIMAL.replace(
        "  - name: myapp\n",
        "  - name: myapp\n    max_multipart_uploads: 100001\n",
    );
    assert_err(
        &over,
        6,
        "buckets[0].max_multipart_uploads",
        "at most 100000",
    );
}
