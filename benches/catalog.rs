//! Catalog put, get and list against a fresh fjall store in a temporary directory (divan).
//!
//! `put` goes through the group-commit writer thread and waits for durability, one write at a
//! time (the latency of a lone PUT's catalog step, with a real fsync to the disk holding the
//! system temporary directory; concurrent PUTs share an fsync).

use s3_orchestrator::catalog::{Catalog, Copy, CopyState, ListQuery, ObjectRecord};

/// Objects loaded before the get and list benchmarks.
const PRELOADED: u64 = 10_000;

fn main() {
    divan::main();
}

fn record(size: u64) -> ObjectRecord {
    ObjectRecord {
        size,
        etag: "0123456789abcdef0123456789abcdef".into(),
        content_type: Some("application/octet-stream".into()),
        last_modified_ms: 1_700_000_000_000,
        copies: vec![Copy {
            backend: "disk-a".into(),
            backend_key: "myapp/key".into(),
            state: CopyState::Complete,
        }],
        ..ObjectRecord::default()
    }
}

/// A temporary directory on tmpfs when there is one: the preload's 10k durable writes then cost
/// microseconds each instead of an fsync to disk.
fn fast_tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("tempdir")
}

fn preloaded() -> (tempfile::TempDir, Catalog) {
    let dir = fast_tempdir();
    let cat = Catalog::open(dir.path().join("catalog")).expect("open catalog");
    futures_lite::future::block_on(async {
        let keys: Vec<String> = (0..PRELOADED)
            .map(|i| format!("dir{}/obj-{i:06}", i % 10))
            .collect();
        for (b, batch) in keys.chunks(256).enumerate() {
            let pending: Vec<_> = batch
                .iter()
                .enumerate()
                .map(|(j, k)| cat.put_object("myapp", k, record((b * 256 + j) as u64), 0))
                .collect();
            for f in pending {
                f.await.expect("put");
            }
        }
    });
    (dir, cat)
}

#[divan::bench(sample_count = 20, sample_size = 10)]
fn put_durable(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = Catalog::open(dir.path().join("catalog")).expect("open catalog");
    let mut i = 0u64;
    bencher.bench_local(|| {
        i += 1;
        futures_lite::future::block_on(cat.put_object("myapp", &format!("k{i}"), record(i), 0))
            .expect("put")
    });
}

#[divan::bench]
fn get(bencher: divan::Bencher) {
    let (_dir, cat) = preloaded();
    let mut i = 0u64;
    bencher.bench_local(|| {
        i = (i + 7919) % PRELOADED;
        let r = cat
            .get_object("myapp", &format!("dir{}/obj-{i:06}", i % 10))
            .expect("get");
        assert!(r.is_some());
        r
    });
}

#[divan::bench(args = [100, 1000])]
fn list(bencher: divan::Bencher, max_keys: usize) {
    let (_dir, cat) = preloaded();
    let q = ListQuery {
        prefix: "dir3/".into(),
        delimiter: Some("/".into()),
        start_after: None,
        max_keys,
    };
    bencher.bench_local(|| {
        let page = cat.list_objects("myapp", &q).expect("list");
        assert_eq!(page.entries.len(), max_keys);
        page
    });
}
