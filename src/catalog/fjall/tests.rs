//! Tests of the fjall store itself: the handle's checks stop before the writer, group commit
//! (one fsync for a whole group, requests of a group seeing each other, a failing request
//! rolled back alone), atomic batches, durability across reopen and kill -9, corrupt records,
//! and listings that seek past common prefixes.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::codec;
use super::list;
use super::writer::Op;
use super::FjallStore;
use crate::catalog::limits::{MAX_BUCKET_NAME_LEN, MAX_LIST_KEYS, MAX_OBJECT_KEY_LEN};
use crate::catalog::tests::{block, count_objects, join_all, lq, put_all, rec, usage};
use crate::catalog::*;

/// Opens the fjall store in `path`; returns a handle over it and the store itself (for its
/// internals). Drop both to close it.
fn open_at(path: &Path) -> (Catalog, Arc<FjallStore>) {
    let store = Arc::new(FjallStore::open(path).unwrap());
    (Catalog::from_store(store.clone()), store)
}

fn open_tmp_store() -> (tempfile::TempDir, Catalog, Arc<FjallStore>) {
    let dir = tempfile::tempdir().unwrap();
    let (cat, store) = open_at(dir.path());
    (dir, cat, store)
}

/// The writer thread's work so far: (groups, requests, syncs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stats {
    groups: u64,
    requests: u64,
    syncs: u64,
}

fn writer_stats(store: &FjallStore) -> Stats {
    Stats {
        groups: store.stats.groups.load(Relaxed),
        requests: store.stats.requests.load(Relaxed),
        syncs: store.stats.syncs.load(Relaxed),
    }
}

/// Pauses the writer thread; returns the resume handle once it is blocked. The writer
/// reports `paused`, then blocks until `resume` fires or is dropped, so a test can queue a
/// whole group behind it.
fn pause_writer(store: &FjallStore) -> flume::Sender<()> {
    let (paused_tx, paused_rx) = flume::bounded(1);
    let (resume_tx, resume_rx) = flume::bounded::<()>(1);
    let pause: Op = Box::new(move |_| {
        let _ = paused_tx.send(());
        let _ = resume_rx.recv();
        Box::new(|_| {})
    });
    store.tx.as_ref().unwrap().send(pause).unwrap();
    paused_rx.recv().unwrap();
    resume_tx
}

/// Waits (bounded) until `n` requests sit in the write channel.
fn wait_queued(store: &FjallStore, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.tx.as_ref().unwrap().len() < n {
        assert!(Instant::now() < deadline, "requests never queued");
        std::thread::yield_now();
    }
}

// ---------------------------------------------------------------- the handle and the writer

#[test]
fn invalid_input_is_refused_before_the_writer() {
    let (_d, cat, store) = open_tmp_store();
    let long_key = "k".repeat(MAX_OBJECT_KEY_LEN + 1);
    assert!(matches!(
        block(cat.put_object("b", &long_key, rec(1, &[]), 0)),
        Err(CatalogError::InvalidInput(_))
    ));
    assert!(matches!(
        cat.get_object("b", &long_key),
        Err(CatalogError::InvalidInput(_))
    ));
    let long_bucket = "b".repeat(MAX_BUCKET_NAME_LEN + 1);
    assert!(matches!(
        block(cat.delete_object(&long_bucket, "k")),
        Err(CatalogError::InvalidInput(_))
    ));
    assert!(matches!(
        block(cat.put_object("b", "k", rec(1, &[]), MAX_REPLICATE_INTENTS + 1)),
        Err(CatalogError::InvalidInput(_))
    ));
    assert!(matches!(
        block(cat.delete_multipart("")),
        Err(CatalogError::InvalidInput(_))
    ));
    // Nothing reached the writer.
    assert_eq!(writer_stats(&store).requests, 0);
}

#[test]
fn reopen_keeps_data_and_generations_never_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let (g1, q1) = {
        let cat = Catalog::open(dir.path()).unwrap();
        let out = block(cat.put_object("b", "k", rec(5, &[("b1", "x")]), 1)).unwrap();
        let q = cat.queue_peek(QueueKind::Replicate, 10).unwrap();
        assert_eq!(q.len(), 1);
        (out.generation, q[0].0.seq)
    };
    let cat = Catalog::open(dir.path()).unwrap();
    let got = cat.get_object("b", "k").unwrap().unwrap();
    assert_eq!(got.generation, g1);
    assert_eq!(usage(&cat, "b1").bytes_used, 5);
    let out = block(cat.put_object("b", "k2", rec(1, &[]), 1)).unwrap();
    assert!(out.generation > g1, "{} <= {g1}", out.generation);
    let q = cat.queue_peek(QueueKind::Replicate, 10).unwrap();
    assert_eq!(q.len(), 2);
    assert!(q[1].0.seq > q1);
}

#[test]
fn corrupt_record_is_an_error_and_only_fails_its_own_request() {
    let (_d, cat, store) = open_tmp_store();
    let k = codec::ObjectKey::new("b", "bad").unwrap();
    store
        .db
        .objects
        .insert(k.as_ref(), vec![codec::FORMAT_V1, 0xFF])
        .unwrap();
    assert!(matches!(
        cat.get_object("b", "bad"),
        Err(CatalogError::Corrupt(_))
    ));
    assert!(matches!(
        cat.list_objects(
            "b",
            &ListQuery {
                max_keys: 10,
                ..Default::default()
            }
        ),
        Err(CatalogError::Corrupt(_))
    ));
    // Group a failing overwrite with a good put: the bad one is rolled back
    // (its usage change too), the good one commits.
    let resume = pause_writer(&store);
    let (bad, good) = block(async {
        let bad = cat.put_object("b", "bad", rec(7, &[("b9", "z")]), 0);
        let good = cat.put_object("b", "good", rec(3, &[("b1", "g")]), 0);
        let waiter = async {
            wait_queued(&store, 2);
            resume.send(()).unwrap();
        };
        let (r, _) = futures_lite::future::zip(futures_lite::future::zip(bad, good), waiter).await;
        r
    });
    assert!(matches!(bad, Err(CatalogError::Corrupt(_))));
    assert!(good.is_ok());
    assert_eq!(usage(&cat, "b9"), BackendUsage::default());
    assert_eq!(usage(&cat, "b1").bytes_used, 3);
    assert!(cat.get_object("b", "good").unwrap().is_some());
}

/// One backend's usage record as stored (`all_usage` would trip over a corrupt neighbour).
fn stored_usage(store: &FjallStore, backend: &str) -> BackendUsage {
    let raw = store.db.backends.get(backend).unwrap().unwrap();
    codec::decode_usage(&raw).unwrap()
}

#[test]
fn a_batch_is_atomic_across_record_usage_and_queue() {
    let (dir, cat, store) = open_tmp_store();
    let first = block(cat.put_object("b", "k", rec(5, &[("b1", "k")]), 0)).unwrap();
    // A corrupt usage record for b2: an overwrite that adds a copy there fails halfway
    // through its effects (after its record and b1's usage changed in the group).
    store
        .db
        .backends
        .insert("b2", vec![codec::FORMAT_V1, 0xFF])
        .unwrap();
    let overwrite = rec(9, &[("b1", "k2"), ("b2", "k")]);
    let failed = block(cat.put_object("b", "k", overwrite, 2));
    assert!(
        matches!(failed, Err(CatalogError::Corrupt(_))),
        "{failed:?}"
    );
    // None of it happened: record, usage and queues are as before.
    let check = |cat: &Catalog, store: &FjallStore| {
        let live = cat.get_object("b", "k").unwrap().unwrap();
        assert_eq!((live.generation, live.size), (first.generation, 5));
        let b1 = BackendUsage {
            bytes_used: 5,
            objects: 1,
        };
        assert_eq!(stored_usage(store, "b1"), b1);
        assert!(cat.queue_peek(QueueKind::Replicate, 10).unwrap().is_empty());
        assert!(cat.queue_peek(QueueKind::Cleanup, 10).unwrap().is_empty());
    };
    check(&cat, &store);
    // The same after a reopen: nothing of the failed request reached the disk.
    drop((cat, store));
    let (cat, store) = open_at(dir.path());
    check(&cat, &store);
}

// ---------------------------------------------------------------- group commit

#[test]
fn glommio_executor_awaits_100_concurrent_puts() {
    let dir = tempfile::tempdir().unwrap();
    let (cat, store) = open_at(dir.path());
    let cat2 = cat.clone();
    let gens = glommio::LocalExecutorBuilder::default()
        .spawn(move || async move {
            let tasks: Vec<_> = (0..100)
                .map(|i| {
                    let c = cat2.clone();
                    glommio::spawn_local(async move {
                        c.put_object("g", &format!("key-{i:03}"), rec(i, &[("b1", "k")]), 0)
                            .await
                    })
                })
                .collect();
            let mut gens = Vec::new();
            for t in tasks {
                gens.push(t.await.unwrap().generation);
            }
            gens
        })
        .unwrap()
        .join()
        .unwrap();
    let mut sorted = gens.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 100, "generations must be unique");
    assert_eq!(usage(&cat, "b1").objects, 100);
    // Every request answered once (grouping itself is proven, deterministically,
    // by the 200-writer test).
    let stats = writer_stats(&store);
    assert_eq!(stats.requests, 100);
    assert!(stats.syncs <= 100);
    drop((cat, store));
    // Durable: a fresh open sees every acknowledged put.
    let cat = Catalog::open(dir.path()).unwrap();
    for (i, g) in gens.iter().enumerate() {
        let r = cat
            .get_object("g", &format!("key-{i:03}"))
            .unwrap()
            .unwrap();
        assert_eq!(r.generation, *g);
        assert_eq!(r.size, i as u64);
    }
    assert_eq!(count_objects(&cat, "g"), 100);
}

#[test]
fn group_commit_200_writers_on_4_threads_each_get_their_answer() {
    let (_d, cat, store) = open_tmp_store();
    let resume = pause_writer(&store);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let c = cat.clone();
            std::thread::spawn(move || {
                let keys: Vec<String> = (0..50).map(|i| format!("t{t}/k{i}")).collect();
                let futs = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| {
                        let size = (t * 1000 + i) as u64;
                        Box::pin(c.put_object("gc", k, rec(size, &[("b1", k)]), 0))
                            as Pin<Box<dyn Future<Output = Result<PutOutcome>>>>
                    })
                    .collect();
                let outs = block(join_all(futs));
                keys.into_iter()
                    .zip(outs)
                    .map(|(k, o)| (k, o.unwrap().generation))
                    .collect::<Vec<(String, u64)>>()
            })
        })
        .collect();
    wait_queued(&store, 200);
    let before = writer_stats(&store);
    resume.send(()).unwrap();
    let mut all = Vec::new();
    for t in threads {
        all.extend(t.join().unwrap());
    }
    assert_eq!(all.len(), 200);
    for (k, g) in &all {
        assert_eq!(cat.get_object("gc", k).unwrap().unwrap().generation, *g);
    }
    let mut gens: Vec<u64> = all.iter().map(|(_, g)| *g).collect();
    gens.sort_unstable();
    gens.dedup();
    assert_eq!(gens.len(), 200);
    let after = writer_stats(&store);
    // The paused group plus exactly one group (one fsync) for all 200.
    assert_eq!(after.groups - before.groups, 2);
    assert_eq!(after.syncs - before.syncs, 1);
    assert_eq!(after.requests, 201);
    assert_eq!(usage(&cat, "b1").objects, 200);
}

#[test]
fn conditional_writes_in_one_group_see_each_other() {
    let (_d, cat, store) = open_tmp_store();
    let resume = pause_writer(&store);
    let (p1, p2, del, p3) = block(async {
        let f1 = cat.put_object("b", "k", rec(1, &[("b1", "v1")]), 0);
        let f2 = cat.put_object("b", "k", rec(2, &[("b1", "v2")]), 0);
        let f3 = cat.delete_object("b", "k");
        let f4 = cat.put_object("b", "k", rec(4, &[("b2", "v4")]), 0);
        // Sends happen in poll order, so queue them one by one.
        let waiter = async {
            wait_queued(&store, 4);
            resume.send(()).unwrap();
        };
        let all = futures_lite::future::zip(
            futures_lite::future::zip(f1, f2),
            futures_lite::future::zip(f3, f4),
        );
        let (((a, b), (c, d)), _) = futures_lite::future::zip(all, waiter).await;
        (a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap())
    });
    assert_eq!(p1.previous, None);
    assert_eq!(p2.previous.as_ref().unwrap().generation, p1.generation);
    assert_eq!(del.as_ref().unwrap().generation, p2.generation);
    assert_eq!(p3.previous, None);
    assert!(p1.generation < p2.generation && p2.generation < p3.generation);
    assert_eq!(usage(&cat, "b1"), BackendUsage::default());
    assert_eq!(
        usage(&cat, "b2"),
        BackendUsage {
            bytes_used: 4,
            objects: 1
        }
    );
    // v1 overwritten by v2 (other backend key), v2 deleted: two cleanups.
    let cleanups = cat.queue_peek(QueueKind::Cleanup, 10).unwrap();
    let keys: Vec<_> = cleanups
        .iter()
        .map(|(_, i)| match i {
            QueueItem::Cleanup { backend_key, .. } => backend_key.as_str(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(keys, vec!["v1", "v2"]);
}

#[test]
fn a_group_that_changes_nothing_needs_no_fsync() {
    let (_d, cat, store) = open_tmp_store();
    let id = block(cat.queue_push(QueueItem::Cleanup {
        backend: "b1".into(),
        backend_key: "k".into(),
        generation: 1,
    }))
    .unwrap();
    assert!(block(cat.queue_ack(id)).unwrap());
    // An ack of a missing id changes nothing.
    let before = writer_stats(&store).syncs;
    assert!(!block(cat.queue_ack(id)).unwrap());
    assert_eq!(writer_stats(&store).syncs, before);
}

#[test]
fn delete_bucket_in_a_group_counts_the_groups_object_writes() {
    let (_d, cat, store) = open_tmp_store();
    for name in ["alpha", "beta"] {
        let created = block(cat.create_bucket(name, "AK1", 5)).unwrap();
        assert_eq!(created, CreateBucketOutcome::Created);
    }
    block(cat.put_object("alpha", "k", rec(1, &[]), 0)).unwrap();
    // Delete of the last object and of the bucket in one group.
    let resume = pause_writer(&store);
    let (del_obj, del_bkt) = block(async {
        let a = cat.delete_object("alpha", "k");
        let b = cat.delete_bucket("alpha");
        let waiter = async {
            wait_queued(&store, 2);
            resume.send(()).unwrap();
        };
        let (r, _) = futures_lite::future::zip(futures_lite::future::zip(a, b), waiter).await;
        r
    });
    assert!(del_obj.unwrap().is_some());
    assert!(matches!(del_bkt.unwrap(), DeleteBucketOutcome::Deleted(b) if b.name == "alpha"));
    // A put and a delete-bucket in one group: the put counts.
    let resume = pause_writer(&store);
    let (_, del_bkt) = block(async {
        let a = cat.put_object("beta", "k", rec(1, &[]), 0);
        let b = cat.delete_bucket("beta");
        let waiter = async {
            wait_queued(&store, 2);
            resume.send(()).unwrap();
        };
        let (r, _) = futures_lite::future::zip(futures_lite::future::zip(a, b), waiter).await;
        r
    });
    assert_eq!(del_bkt.unwrap(), DeleteBucketOutcome::NotEmpty);
    assert_eq!(cat.list_buckets().unwrap().len(), 1);
}

// ---------------------------------------------------------------- listing

#[test]
fn delimiter_listing_seeks_past_common_prefixes() {
    let (_d, cat, store) = open_tmp_store();
    let mut keys: Vec<String> = (0..10_000).map(|i| format!("big/{i:05}")).collect();
    keys.extend(["a", "big", "big0", "c/d", "zz"].map(String::from));
    put_all(&cat, "sk", &keys);
    let q = lq("", Some("/"), None, 1000);
    let (page, scanned) = list::list_objects(&store.db, "sk", &q).unwrap();
    let entries: Vec<_> = page.entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(entries, ["a", "big", "big0", "zz"]);
    assert_eq!(page.common_prefixes, ["big/", "c/"]);
    assert!(scanned <= 10, "scan touched {scanned} keys");
    // Continuing after the big prefix also skips it.
    let q = lq("", Some("/"), Some("big/"), 1000);
    let (page, scanned) = list::list_objects(&store.db, "sk", &q).unwrap();
    assert_eq!(page.entries[0].0, "big0");
    assert!(scanned <= 10, "scan touched {scanned} keys");
    // Without a delimiter, max_keys caps at MAX_LIST_KEYS.
    let p = cat
        .list_objects("sk", &lq("big/", None, None, 5000))
        .unwrap();
    assert_eq!(p.entries.len(), MAX_LIST_KEYS);
    assert!(p.is_truncated);
    assert_eq!(p.next_start_after.as_deref(), Some("big/00999"));
    // scan_objects walks everything in bounded steps.
    let mut n = 0;
    let mut after: Option<(String, String)> = None;
    loop {
        let batch = cat
            .scan_objects(after.as_ref().map(|(b, k)| (b.as_str(), k.as_str())), 4000)
            .unwrap();
        assert!(batch.len() <= MAX_LIST_KEYS);
        let Some(last) = batch.last() else { break };
        after = Some((last.0.clone(), last.1.clone()));
        n += batch.len();
    }
    assert_eq!(n, keys.len());
}

// ---------------------------------------------------------------- durability

// ---------------------------------------------------------------- crash safety

/// Env var that turns [`crash_child_writer`] into the crashing writer.
const CRASH_DIR_ENV: &str = "S3O_CATALOG_CRASH_DIR";

/// Acknowledged puts the parent waits for before killing the child.
const CRASH_ACKS: usize = 40;

/// Child half of [`acknowledged_writes_survive_kill_9`]: writes until killed,
/// printing each acknowledged put. Does nothing in a normal test run.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CRASH_DIR_ENV) else {
        return;
    };
    let cat = Catalog::open(&dir).unwrap();
    // Bounded so a child whose parent died cannot run forever.
    for i in 0..100_000u64 {
        let out =
            block(cat.put_object("crash", &format!("k{i}"), rec(i, &[("b1", "x")]), 0)).unwrap();
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "acked k{i} {}", out.generation).unwrap();
        stdout.flush().unwrap();
    }
}

/// The libtest name of [`crash_child_writer`]: its module path without the crate name.
fn crash_child_test_name() -> String {
    let path = module_path!();
    let path = path.split_once("::").map_or(path, |(_, rest)| rest);
    format!("{path}::crash_child_writer")
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &crash_child_test_name(),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DIR_ENV, dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("acked ") {
            let (k, g) = rest.split_once(' ').unwrap();
            acked.push((k.to_owned(), g.parse::<u64>().unwrap()));
            if acked.len() == CRASH_ACKS {
                break;
            }
        }
    }
    // SIGKILL on Unix: no destructors, no final persist.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(acked.len(), CRASH_ACKS, "child stopped early");
    let cat = Catalog::open(dir.path()).unwrap();
    for (k, g) in &acked {
        let r = cat.get_object("crash", k).unwrap().unwrap();
        assert_eq!(r.generation, *g, "{k}");
    }
    let usage = usage(&cat, "b1");
    assert!(usage.objects >= CRASH_ACKS as u64);
    assert_eq!(usage.objects, count_objects(&cat, "crash"));
    let last = acked.last().unwrap().1;
    let out = block(cat.put_object("crash", "after", rec(1, &[]), 0)).unwrap();
    assert!(out.generation > last);
}

#[test]
fn monthly_usage_roundtrip_survives_reopen_and_stays_out_of_all_usage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cat = Catalog::open(dir.path()).unwrap();
        assert_eq!(
            cat.monthly_usage("b1", 202501).unwrap(),
            MonthlyUsage::default()
        );
        block(cat.put_object("b", "x", rec(10, &[("b1", "x")]), 0)).unwrap();
        let jan = MonthlyUsage {
            api_requests: 7,
            egress_bytes: 1 << 40,
            ingress_bytes: 3,
        };
        block(cat.set_monthly_usage("b1", 202501, jan)).unwrap();
        let feb = MonthlyUsage {
            api_requests: 1,
            ..Default::default()
        };
        block(cat.set_monthly_usage("b1", 202502, feb)).unwrap();
        // A later write replaces the month's record.
        let jan2 = MonthlyUsage {
            api_requests: 8,
            ..jan
        };
        block(cat.set_monthly_usage("b1", 202501, jan2)).unwrap();
        assert!(block(cat.set_monthly_usage("", 202501, jan)).is_err());
    }
    let cat = Catalog::open(dir.path()).unwrap();
    let jan = cat.monthly_usage("b1", 202501).unwrap();
    assert_eq!(jan.api_requests, 8);
    assert_eq!(jan.egress_bytes, 1 << 40);
    assert_eq!(jan.ingress_bytes, 3);
    assert_eq!(cat.monthly_usage("b1", 202502).unwrap().api_requests, 1);
    assert_eq!(
        cat.monthly_usage("b2", 202501).unwrap(),
        MonthlyUsage::default()
    );
    // Quota accounting still sees exactly the backends, not the month records.
    let all: Vec<_> = cat
        .all_usage()
        .unwrap()
        .into_iter()
        .map(|(n, u)| (n, u.bytes_used))
        .collect();
    assert_eq!(all, vec![("b1".to_owned(), 10)]);
}
