//! The S3 router on arbitrary method / path / query / Host / domain. Input: one flags byte
//! (1 = x-amz-copy-source present, 2 = Host given, 4 = domain configured), then
//! `method\npath\nquery\nhost\ndomain` (lossy UTF-8). Must never panic, and a
//! routed request must be self-consistent:
//! - only ListBuckets lacks a bucket, and a key always comes with a bucket;
//! - keys and query lists stay within `MAX_KEY_BYTES` / `MAX_QUERY_PARAMS`;
//! - virtual-hosted style (`b.<domain>/key`) routes exactly like path style (`/b/key`), and a
//!   Host equal to the domain itself means path style.
#![no_main]

use s3_orchestrator::s3::error::S3ErrorCode;
use s3_orchestrator::s3::router::{route, Route, S3Operation, MAX_KEY_BYTES, MAX_QUERY_PARAMS};

type Outcome = Result<Route, S3ErrorCode>;

fn run(
    method: &str,
    path: &str,
    query: &str,
    host: Option<&str>,
    domain: Option<&str>,
    copy: bool,
) -> Outcome {
    let r = route(method, path, query, host, domain, copy).map_err(|e| e.code);
    if let Ok(r) = &r {
        assert!(path.starts_with('/'), "routed a relative target");
        assert_eq!(
            r.bucket.is_none(),
            r.operation == S3Operation::ListBuckets,
            "bucket presence disagrees with the operation"
        );
        assert!(r.key.is_none() || r.bucket.is_some(), "key without bucket");
        assert!(r.key.as_ref().is_none_or(|k| k.len() <= MAX_KEY_BYTES));
        assert!(r.query.len() <= MAX_QUERY_PARAMS);
    }
    r
}

/// Keeps the characters that make an unambiguous DNS label sequence (no port, no escapes).
fn dns_like(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.split('\n');
    let mut next = || fields.next().unwrap_or("");
    let (method, path, query, host, domain) = (next(), next(), next(), next(), next());
    let copy = flags & 1 != 0;
    let host_opt = (flags & 2 != 0).then_some(host);
    let domain_opt = (flags & 4 != 0).then_some(domain);

    // Arbitrary everything.
    let _ = run(method, path, query, host_opt, domain_opt, copy);

    // Virtual-hosted vs path style on a well-formed bucket and domain.
    let (bucket, domain) = (dns_like(host), dns_like(domain));
    if bucket.is_empty() || domain.is_empty() || !path.starts_with('/') {
        return;
    }
    let vhost = format!("{bucket}.{domain}");
    let virtual_hosted = run(method, path, query, Some(&vhost), Some(&domain), copy);
    let path_style_target = format!("/{bucket}{path}");
    let path_style = run(method, &path_style_target, query, None, Some(&domain), copy);
    assert_eq!(
        virtual_hosted, path_style,
        "virtual-hosted {vhost}{path} and path-style {path_style_target} differ"
    );
    let host_is_domain = run(method, path, query, Some(&domain), Some(&domain), copy);
    let no_host = run(method, path, query, None, Some(&domain), copy);
    assert_eq!(
        host_is_domain, no_host,
        "Host equal to the domain is not path style"
    );
});
