//! Heap allocations per proxied GET and PUT in steady state.
//!
//! A counting global allocator (`stats_alloc`, global atomic counters, so allocations on the
//! orchestrator's shard, catalog-writer and background threads are all seen) wraps the system
//! allocator. The orchestrator runs in this process via `s3_orchestrator::run` with one shard and
//! a local-directory backend in a temporary directory. The client side does not allocate inside
//! the measured loop: every request is signed once up front and replayed byte for byte (its
//! signature stays valid for the 15-minute skew window), and responses are drained into one
//! fixed buffer. So every allocation counted is the server's.
//!
//! Run: `cargo bench --bench allocs` (prints allocations and bytes per request).

#[path = "../loadtest/src/http.rs"]
#[allow(dead_code)]
mod http;

use std::alloc::System;
use std::time::{SystemTime, UNIX_EPOCH};

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

use s3_orchestrator::s3::auth::{
    sign_request, AmzDate, Credentials, SignableRequest, SigningKeyCache, UNSIGNED_PAYLOAD,
};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Requests per kind before counting: fills pools, caches, the catalog's memtable arenas.
const WARMUP: usize = 1000;
/// Requests per kind counted.
const MEASURED: usize = 2000;
/// Distinct keys the requests cycle through.
const KEYS: usize = 32;
/// Object size.
const BODY: usize = 4096;

const AK: &str = "bench-access-key";
const SK: &str = "bench-secret-key";

fn signed(method: &str, host: &str, uri: &str, body: &[u8], date: &AmzDate) -> Vec<u8> {
    let mut cache = SigningKeyCache::new();
    let headers = [
        ("host", host),
        ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
        ("x-amz-date", date.as_str()),
    ];
    let req = SignableRequest {
        method,
        canonical_uri: uri,
        query: &[],
        headers: &headers,
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let auth = sign_request(
        &req,
        &Credentials::new(AK, SK),
        "us-east-1",
        date,
        &mut cache,
    );
    let mut out = format!(
        "{method} {uri} HTTP/1.1\r\nHost: {host}\r\nx-amz-content-sha256: {UNSIGNED_PAYLOAD}\r\n\
         x-amz-date: {}\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n",
        date.as_str(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = format!(
        "backends:\n  - name: disk\n    path: {d}/disk\nbuckets:\n  - name: bench\n    credentials:\n\
         \x20     - access_key_id: {AK}\n        secret_access_key: {SK}\nserver:\n\
         \x20 listen_addr: 127.0.0.1:0\n  admin_addr: 127.0.0.1:0\n  shards: 1\ncatalog:\n\
         \x20 path: {d}/catalog\n",
        d = dir.path().display()
    );
    std::fs::create_dir_all(dir.path().join("disk")).expect("mkdir");
    let cfg =
        s3_orchestrator::config::Config::from_str_named(&yaml, "allocs.yaml").expect("config");
    let running = s3_orchestrator::run(cfg).expect("start orchestrator");
    let addr = running.s3_addr();
    let host = addr.to_string();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let date = AmzDate::from_unix(now).expect("date");
    let body = vec![b'x'; BODY];
    let puts: Vec<Vec<u8>> = (0..KEYS)
        .map(|i| signed("PUT", &host, &format!("/bench/k{i}"), &body, &date))
        .collect();
    let gets: Vec<Vec<u8>> = (0..KEYS)
        .map(|i| signed("GET", &host, &format!("/bench/k{i}"), &[], &date))
        .collect();
    let mut conn = http::Conn::new(addr);
    let mut run = |reqs: &[Vec<u8>], n: usize, expect_len: u64| {
        for i in 0..n {
            let r = conn
                .roundtrip(&reqs[i % reqs.len()], &http::Body::Empty, false)
                .expect("request");
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body_head));
            assert_eq!(r.body_len, expect_len);
        }
    };
    let mut report = Vec::new();
    for (name, reqs, len) in [
        ("PUT 4 KiB", &puts, 0u64),
        ("GET 4 KiB", &gets, BODY as u64),
    ] {
        run(reqs, WARMUP, len);
        let region = Region::new(GLOBAL);
        run(reqs, MEASURED, len);
        let s = region.change();
        report.push((name, s));
    }
    println!("heap allocations per request (steady state, {MEASURED} requests each, 1 shard, local backend):");
    for (name, s) in report {
        println!(
            "  {name}: {:.2} allocations, {:.2} reallocations, {:.2} deallocations, {:.0} bytes allocated",
            s.allocations as f64 / MEASURED as f64,
            s.reallocations as f64 / MEASURED as f64,
            s.deallocations as f64 / MEASURED as f64,
            s.bytes_allocated as f64 / MEASURED as f64,
        );
    }
    running.shutdown.trigger();
    running.join();
}
