//! Tests of the catalog through its public API: durability across reopen,
//! group commit, conditional writes, usage accounting, queues, buckets,
//! multipart uploads and listings (checked against a reference model).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

fn block<F: Future>(f: F) -> F::Output {
    futures_lite::future::block_on(f)
}

/// Polls every future concurrently on the current thread; results in order.
async fn join_all<T>(futs: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
    let mut futs: Vec<Option<Pin<Box<dyn Future<Output = T> + '_>>>> =
        futs.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = (0..futs.len()).map(|_| None).collect();
    std::future::poll_fn(move |cx| {
        let mut pending = false;
        for (slot, res) in futs.iter_mut().zip(out.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *res = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(out.iter_mut().map(|r| r.take().unwrap()).collect())
        }
    })
    .await
}

fn open_tmp() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(dir.path()).unwrap();
    (dir, cat)
}

fn copy(backend: &str, backend_key: &str) -> Copy {
    Copy {
        backend: backend.into(),
        backend_key: backend_key.into(),
        state: CopyState::Complete,
    }
}

fn rec(size: u64, copies: &[(&str, &str)]) -> ObjectRecord {
    ObjectRecord {
        size,
        etag: format!("\"etag-{size}\""),
        last_modified_ms: 1_700_000_000_000 + size as i64,
        copies: copies.iter().map(|(b, k)| copy(b, k)).collect(),
        ..Default::default()
    }
}

/// Puts every key concurrently (so setup costs a few group commits), in
/// chunks so `join_all`'s re-polling stays cheap.
fn put_all(cat: &Catalog, bucket: &str, keys: &[String]) {
    for chunk in keys.chunks(MAX_GROUP_COMMIT) {
        let futs = chunk
            .iter()
            .map(|k| {
                Box::pin(cat.put_object(bucket, k, rec(k.len() as u64, &[("b1", k)]), 0))
                    as Pin<Box<dyn Future<Output = Result<PutOutcome>>>>
            })
            .collect();
        for r in block(join_all(futs)) {
            r.unwrap();
        }
    }
}

/// Pauses the writer thread; returns the resume handle once it is blocked.
fn pause_writer(cat: &Catalog) -> flume::Sender<()> {
    let (paused_tx, paused_rx) = flume::bounded(1);
    let (resume_tx, resume_rx) = flume::bounded(1);
    cat.inner
        .tx
        .as_ref()
        .unwrap()
        .send(writer::Op::Pause {
            paused: paused_tx,
            resume: resume_rx,
        })
        .unwrap();
    paused_rx.recv().unwrap();
    resume_tx
}

/// Waits (bounded) until `n` requests sit in the write channel.
fn wait_queued(cat: &Catalog, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while cat.inner.tx.as_ref().unwrap().len() < n {
        assert!(Instant::now() < deadline, "requests never queued");
        std::thread::yield_now();
    }
}

// ---------------------------------------------------------------- objects

#[test]
fn put_get_overwrite_delete() {
    let (_d, cat) = open_tmp();
    let mut r = rec(10, &[("b1", "k1")]);
    r.content_type = Some("text/plain".into());
    r.user_metadata = vec![("color".into(), "blue".into())];
    r.checksum = Some(("CRC32".into(), "AAAAAA==".into()));
    let first = block(cat.put_object("bkt", "a/b", r.clone(), 0)).unwrap();
    assert_eq!(first.previous, None);
    let got = cat.get_object("bkt", "a/b").unwrap().unwrap();
    assert_eq!(got.generation, first.generation);
    assert_eq!(
        ObjectRecord {
            generation: 0,
            ..got.clone()
        },
        r
    );
    assert_eq!(cat.get_object("bkt", "a/c").unwrap(), None);
    assert_eq!(cat.get_object("other", "a/b").unwrap(), None);

    let second = block(cat.put_object("bkt", "a/b", rec(20, &[("b1", "k1")]), 0)).unwrap();
    assert!(second.generation > first.generation);
    assert_eq!(second.previous, Some(got));

    let removed = block(cat.delete_object("bkt", "a/b")).unwrap().unwrap();
    assert_eq!(removed.size, 20);
    assert_eq!(removed.generation, second.generation);
    assert_eq!(block(cat.delete_object("bkt", "a/b")).unwrap(), None);
    assert_eq!(cat.get_object("bkt", "a/b").unwrap(), None);
}

#[test]
fn invalid_input_is_refused_before_the_writer() {
    let (_d, cat) = open_tmp();
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
    assert_eq!(cat.writer_stats().requests, 0);
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
    assert_eq!(cat.usage("b1").unwrap().bytes_used, 5);
    let out = block(cat.put_object("b", "k2", rec(1, &[]), 1)).unwrap();
    assert!(out.generation > g1, "{} <= {g1}", out.generation);
    let q = cat.queue_peek(QueueKind::Replicate, 10).unwrap();
    assert_eq!(q.len(), 2);
    assert!(q[1].0.seq > q1);
}

#[test]
fn corrupt_record_is_an_error_and_only_fails_its_own_request() {
    let (_d, cat) = open_tmp();
    let k = codec::ObjectKey::new("b", "bad").unwrap();
    cat.inner
        .store
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
    let resume = pause_writer(&cat);
    let (bad, good) = block(async {
        let bad = cat.put_object("b", "bad", rec(7, &[("b9", "z")]), 0);
        let good = cat.put_object("b", "good", rec(3, &[("b1", "g")]), 0);
        let waiter = async {
            wait_queued(&cat, 2);
            resume.send(()).unwrap();
        };
        let (r, _) = futures_lite::future::zip(futures_lite::future::zip(bad, good), waiter).await;
        r
    });
    assert!(matches!(bad, Err(CatalogError::Corrupt(_))));
    assert!(good.is_ok());
    assert_eq!(cat.usage("b9").unwrap(), BackendUsage::default());
    assert_eq!(cat.usage("b1").unwrap().bytes_used, 3);
    assert!(cat.get_object("b", "good").unwrap().is_some());
}

// ---------------------------------------------------------------- writer thread

#[test]
fn glommio_executor_awaits_100_concurrent_puts() {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(dir.path()).unwrap();
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
    assert_eq!(cat.usage("b1").unwrap().objects, 100);
    // Every request answered once (grouping itself is proven, deterministically,
    // by the 200-writer test).
    let stats = cat.writer_stats();
    assert_eq!(stats.requests, 100);
    assert!(stats.syncs <= 100);
    drop(cat);
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
    assert_eq!(cat.count_objects("g").unwrap(), 100);
}

#[test]
fn group_commit_200_writers_on_4_threads_each_get_their_answer() {
    let (_d, cat) = open_tmp();
    let resume = pause_writer(&cat);
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
    wait_queued(&cat, 200);
    let before = cat.writer_stats();
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
    let after = cat.writer_stats();
    // The paused group plus exactly one group (one fsync) for all 200.
    assert_eq!(after.groups - before.groups, 2);
    assert_eq!(after.syncs - before.syncs, 1);
    assert_eq!(after.requests, 201);
    assert_eq!(cat.usage("b1").unwrap().objects, 200);
}

#[test]
fn conditional_writes_in_one_group_see_each_other() {
    let (_d, cat) = open_tmp();
    let resume = pause_writer(&cat);
    let (p1, p2, del, p3) = block(async {
        let f1 = cat.put_object("b", "k", rec(1, &[("b1", "v1")]), 0);
        let f2 = cat.put_object("b", "k", rec(2, &[("b1", "v2")]), 0);
        let f3 = cat.delete_object("b", "k");
        let f4 = cat.put_object("b", "k", rec(4, &[("b2", "v4")]), 0);
        // Sends happen in poll order, so queue them one by one.
        let waiter = async {
            wait_queued(&cat, 4);
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
    assert_eq!(cat.usage("b1").unwrap(), BackendUsage::default());
    assert_eq!(
        cat.usage("b2").unwrap(),
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

// ---------------------------------------------------------------- usage and queues

#[test]
fn usage_through_overwrite_and_delete() {
    let (_d, cat) = open_tmp();
    let u = |b: &str| cat.usage(b).unwrap();
    let bu = |bytes_used, objects| BackendUsage {
        bytes_used,
        objects,
    };
    block(cat.put_object("b", "x", rec(100, &[("b1", "x"), ("b2", "x")]), 0)).unwrap();
    block(cat.put_object("b", "y", rec(7, &[("b1", "y")]), 0)).unwrap();
    assert_eq!(u("b1"), bu(107, 2));
    assert_eq!(u("b2"), bu(100, 1));
    assert_eq!(u("never"), bu(0, 0));

    // Overwrite x: smaller, now on b2 (same key, overwritten in place) and b3.
    let out = block(cat.put_object("b", "x", rec(50, &[("b2", "x"), ("b3", "x2")]), 0)).unwrap();
    let old_gen = out.previous.unwrap().generation;
    assert_eq!(u("b1"), bu(7, 1));
    assert_eq!(u("b2"), bu(50, 1));
    assert_eq!(u("b3"), bu(50, 1));
    let q = cat.queue_peek(QueueKind::Cleanup, 10).unwrap();
    assert_eq!(q.len(), 1, "only the b1 copy needs a cleanup: {q:?}");
    assert_eq!(
        q[0].1,
        QueueItem::Cleanup {
            backend: "b1".into(),
            backend_key: "x".into(),
            generation: old_gen,
        }
    );

    // Same backend, different backend key: cleanup of the old key.
    block(cat.put_object("b", "y", rec(9, &[("b1", "y-v2")]), 0)).unwrap();
    assert_eq!(u("b1"), bu(9, 1));
    assert_eq!(cat.queue_peek(QueueKind::Cleanup, 10).unwrap().len(), 2);

    let removed = block(cat.delete_object("b", "x")).unwrap().unwrap();
    assert_eq!(removed.size, 50);
    assert_eq!(u("b2"), bu(0, 0));
    assert_eq!(u("b3"), bu(0, 0));
    let q = cat.queue_peek(QueueKind::Cleanup, 10).unwrap();
    assert_eq!(q.len(), 4);
    let all: Vec<_> = cat
        .all_usage()
        .unwrap()
        .into_iter()
        .map(|(n, u)| (n, u.bytes_used, u.objects))
        .collect();
    assert_eq!(
        all,
        vec![
            ("b1".into(), 9, 1),
            ("b2".into(), 0, 0),
            ("b3".into(), 0, 0)
        ]
    );
}

#[test]
fn queue_intents_peek_ack_push() {
    let (_d, cat) = open_tmp();
    let out = block(cat.put_object("b", "k", rec(1, &[("b1", "k")]), 2)).unwrap();
    let q = cat.queue_peek(QueueKind::Replicate, 10).unwrap();
    assert_eq!(q.len(), 2);
    for (id, item) in &q {
        assert_eq!(id.kind, QueueKind::Replicate);
        assert_eq!(
            *item,
            QueueItem::Replicate {
                bucket: "b".into(),
                key: "k".into(),
                generation: out.generation
            }
        );
    }
    assert!(q[0].0.seq < q[1].0.seq);
    assert!(cat.queue_peek(QueueKind::Cleanup, 10).unwrap().is_empty());
    assert_eq!(cat.queue_peek(QueueKind::Replicate, 1).unwrap().len(), 1);

    assert!(block(cat.queue_ack(q[0].0)).unwrap());
    assert!(!block(cat.queue_ack(q[0].0)).unwrap());
    let rest = cat.queue_peek(QueueKind::Replicate, 10).unwrap();
    assert_eq!(rest, vec![q[1].clone()]);

    let item = QueueItem::Cleanup {
        backend: "b1".into(),
        backend_key: "old".into(),
        generation: 3,
    };
    let id = block(cat.queue_push(item.clone())).unwrap();
    assert_eq!(id.kind, QueueKind::Cleanup);
    assert!(id.seq > q[1].0.seq);
    assert_eq!(
        cat.queue_peek(QueueKind::Cleanup, 10).unwrap(),
        vec![(id, item)]
    );
    // A no-op group (ack of a missing id) needs no fsync.
    let before = cat.writer_stats().syncs;
    assert!(!block(cat.queue_ack(q[0].0)).unwrap());
    assert_eq!(cat.writer_stats().syncs, before);
}

#[test]
fn add_and_remove_copies_check_the_generation() {
    let (_d, cat) = open_tmp();
    let g = block(cat.put_object("b", "k", rec(10, &[("b1", "k")]), 1))
        .unwrap()
        .generation;
    assert_eq!(
        block(cat.add_copy("b", "k", g, copy("b2", "k"))).unwrap(),
        AddCopyOutcome::Added
    );
    let r = cat.get_object("b", "k").unwrap().unwrap();
    assert_eq!(r.generation, g, "adding a copy keeps the generation");
    assert_eq!(r.copies.len(), 2);
    assert_eq!(cat.usage("b2").unwrap().bytes_used, 10);
    // Same backend + key: state update, no double counting.
    let mut stale = copy("b2", "k");
    stale.state = CopyState::Stale;
    assert_eq!(
        block(cat.add_copy("b", "k", g, stale)).unwrap(),
        AddCopyOutcome::Added
    );
    let r = cat.get_object("b", "k").unwrap().unwrap();
    assert_eq!(r.copies[1].state, CopyState::Stale);
    assert_eq!(r.complete_copies().count(), 1);
    assert_eq!(cat.usage("b2").unwrap().objects, 1);

    // A copy of an old generation is refused and its orphan queued for cleanup.
    assert_eq!(
        block(cat.add_copy("b", "k", g - 1, copy("b3", "orphan"))).unwrap(),
        AddCopyOutcome::Superseded
    );
    // ... unless the live record uses that backend key.
    assert_eq!(
        block(cat.add_copy("b", "k", g + 100, copy("b1", "k"))).unwrap(),
        AddCopyOutcome::Superseded
    );
    assert_eq!(
        block(cat.add_copy("b", "gone", 1, copy("b3", "gone"))).unwrap(),
        AddCopyOutcome::Superseded
    );
    let cleanups: Vec<_> = cat
        .queue_peek(QueueKind::Cleanup, 10)
        .unwrap()
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    assert_eq!(
        cleanups,
        vec![
            QueueItem::Cleanup {
                backend: "b3".into(),
                backend_key: "orphan".into(),
                generation: g - 1
            },
            QueueItem::Cleanup {
                backend: "b3".into(),
                backend_key: "gone".into(),
                generation: 1
            }
        ]
    );
    assert_eq!(cat.usage("b3").unwrap(), BackendUsage::default());

    assert!(!block(cat.remove_copy("b", "k", g + 1, "b2", "k")).unwrap());
    assert!(!block(cat.remove_copy("b", "k", g, "b2", "nope")).unwrap());
    assert!(block(cat.remove_copy("b", "k", g, "b2", "k")).unwrap());
    assert_eq!(cat.usage("b2").unwrap(), BackendUsage::default());
    assert_eq!(cat.get_object("b", "k").unwrap().unwrap().copies.len(), 1);
    assert_eq!(cat.queue_peek(QueueKind::Cleanup, 10).unwrap().len(), 3);
}

// ---------------------------------------------------------------- buckets

#[test]
fn api_buckets() {
    let (_d, cat) = open_tmp();
    assert_eq!(
        block(cat.create_bucket("alpha", "AK1", 5)).unwrap(),
        CreateBucketOutcome::Created
    );
    assert_eq!(
        block(cat.create_bucket("alpha", "AK2", 6)).unwrap(),
        CreateBucketOutcome::AlreadyExists {
            owner: "AK1".into()
        }
    );
    assert_eq!(
        block(cat.create_bucket("beta", "AK2", 7)).unwrap(),
        CreateBucketOutcome::Created
    );
    let names: Vec<_> = cat
        .list_buckets()
        .unwrap()
        .into_iter()
        .map(|b| (b.name, b.owner_access_key, b.created_ms))
        .collect();
    assert_eq!(
        names,
        vec![
            ("alpha".into(), "AK1".into(), 5),
            ("beta".into(), "AK2".into(), 7)
        ]
    );
    assert_eq!(cat.get_bucket("alpha").unwrap().unwrap().created_ms, 5);
    assert_eq!(cat.get_bucket("gamma").unwrap(), None);

    block(cat.put_object("alpha", "k", rec(1, &[]), 0)).unwrap();
    assert!(!cat.bucket_is_empty("alpha").unwrap());
    assert!(cat.bucket_is_empty("beta").unwrap());
    assert_eq!(
        block(cat.delete_bucket("alpha")).unwrap(),
        DeleteBucketOutcome::NotEmpty
    );
    assert_eq!(
        block(cat.delete_bucket("gamma")).unwrap(),
        DeleteBucketOutcome::NotFound
    );
    // Delete of the last object and of the bucket in one group.
    let resume = pause_writer(&cat);
    let (del_obj, del_bkt) = block(async {
        let a = cat.delete_object("alpha", "k");
        let b = cat.delete_bucket("alpha");
        let waiter = async {
            wait_queued(&cat, 2);
            resume.send(()).unwrap();
        };
        let (r, _) = futures_lite::future::zip(futures_lite::future::zip(a, b), waiter).await;
        r
    });
    assert!(del_obj.unwrap().is_some());
    assert!(matches!(del_bkt.unwrap(), DeleteBucketOutcome::Deleted(b) if b.name == "alpha"));
    // A put and a delete-bucket in one group: the put counts.
    let resume = pause_writer(&cat);
    let (_, del_bkt) = block(async {
        let a = cat.put_object("beta", "k", rec(1, &[]), 0);
        let b = cat.delete_bucket("beta");
        let waiter = async {
            wait_queued(&cat, 2);
            resume.send(()).unwrap();
        };
        let (r, _) = futures_lite::future::zip(futures_lite::future::zip(a, b), waiter).await;
        r
    });
    assert_eq!(del_bkt.unwrap(), DeleteBucketOutcome::NotEmpty);
    assert_eq!(cat.list_buckets().unwrap().len(), 1);
}

// ---------------------------------------------------------------- multipart

fn upload(bucket: &str, key: &str, id: &str) -> MultipartRecord {
    MultipartRecord {
        bucket: bucket.into(),
        key: key.into(),
        upload_id: id.into(),
        backend: "b1".into(),
        backend_key: format!("bk/{key}"),
        backend_upload_id: format!("remote-{id}"),
        initiated_ms: 42,
        content_type: Some("application/x".into()),
        user_metadata: vec![("m".into(), "v".into())],
        ..Default::default()
    }
}

#[test]
fn multipart_create_get_list_delete_complete() {
    let (_d, cat) = open_tmp();
    let ups = [
        upload("mb", "a", "u2"),
        upload("mb", "a", "u1"),
        upload("mb", "a\0z", "u9"),
        upload("mb", "ab", "u3"),
        upload("mb", "b/c", "u4"),
        upload("other", "a", "u5"),
    ];
    for u in &ups {
        assert!(block(cat.create_multipart(u.clone())).unwrap());
    }
    assert!(!block(cat.create_multipart(upload("mb", "zzz", "u1"))).unwrap());
    assert_eq!(cat.get_multipart("u4").unwrap().unwrap(), ups[4]);
    assert_eq!(cat.get_multipart("nope").unwrap(), None);

    let ids = |page: &MultipartPage| -> Vec<String> {
        page.uploads.iter().map(|u| u.upload_id.clone()).collect()
    };
    let q = |prefix: &str, km: Option<&str>, um: Option<&str>, max| MultipartQuery {
        prefix: prefix.into(),
        key_marker: km.map(Into::into),
        upload_id_marker: um.map(Into::into),
        max_uploads: max,
    };
    let all = cat.list_multipart("mb", &q("", None, None, 100)).unwrap();
    assert_eq!(ids(&all), ["u1", "u2", "u9", "u3", "u4"]);
    assert!(!all.is_truncated);
    let p = cat.list_multipart("mb", &q("a", None, None, 100)).unwrap();
    assert_eq!(ids(&p), ["u1", "u2", "u9", "u3"]);
    let p = cat
        .list_multipart("mb", &q("a\0", None, None, 100))
        .unwrap();
    assert_eq!(ids(&p), ["u9"]);
    let p = cat
        .list_multipart("mb", &q("", Some("a"), None, 100))
        .unwrap();
    assert_eq!(ids(&p), ["u9", "u3", "u4"]);
    let p = cat
        .list_multipart("mb", &q("", Some("a"), Some("u1"), 100))
        .unwrap();
    assert_eq!(ids(&p), ["u2", "u9", "u3", "u4"]);
    // Marker below the prefix does not widen it.
    let p = cat
        .list_multipart("mb", &q("b", Some("a"), None, 100))
        .unwrap();
    assert_eq!(ids(&p), ["u4"]);
    // Paginate by 2 through everything.
    let mut seen = Vec::new();
    let (mut km, mut um) = (None::<String>, None::<String>);
    loop {
        let p = cat
            .list_multipart("mb", &q("", km.as_deref(), um.as_deref(), 2))
            .unwrap();
        seen.extend(ids(&p));
        if !p.is_truncated {
            break;
        }
        km = p.next_key_marker;
        um = p.next_upload_id_marker;
    }
    assert_eq!(seen, ids(&all));
    assert!(cat
        .list_multipart("mb", &q("", None, None, 0))
        .unwrap()
        .uploads
        .is_empty());

    assert_eq!(block(cat.delete_multipart("u2")).unwrap().unwrap(), ups[0]);
    assert_eq!(block(cat.delete_multipart("u2")).unwrap(), None);
    let p = cat.list_multipart("mb", &q("", None, None, 100)).unwrap();
    assert_eq!(ids(&p), ["u1", "u9", "u3", "u4"]);

    let mut r = rec(99, &[("b1", "bk/b/c")]);
    r.parts_count = Some(3);
    let out = block(cat.complete_multipart("u4", r, 1)).unwrap().unwrap();
    assert_eq!(out.previous, None);
    let got = cat.get_object("mb", "b/c").unwrap().unwrap();
    assert_eq!((got.size, got.parts_count), (99, Some(3)));
    assert_eq!(cat.get_multipart("u4").unwrap(), None);
    assert_eq!(cat.queue_peek(QueueKind::Replicate, 5).unwrap().len(), 1);
    assert_eq!(
        block(cat.complete_multipart("u4", rec(1, &[]), 0)).unwrap(),
        None
    );
}

// ---------------------------------------------------------------- listing

/// Reference model of a listing page over sorted keys.
fn model_list(keys: &[String], q: &ListQuery) -> ListPage {
    let max = q.max_keys.min(MAX_LIST_KEYS);
    let mut page = ListPage::default();
    if max == 0 {
        return page;
    }
    let delim = q.delimiter.as_deref().filter(|d| !d.is_empty());
    let roll = |k: &str| -> Option<String> {
        let d = delim?;
        let rest = k.strip_prefix(q.prefix.as_str())?;
        let pos = rest.find(d)?;
        Some(k[..q.prefix.len() + pos + d.len()].to_owned())
    };
    let skip_under = q
        .start_after
        .as_deref()
        .filter(|sa| roll(sa).as_deref() == Some(*sa));
    let mut items: Vec<(bool, String)> = Vec::new();
    for k in keys {
        if !k.starts_with(q.prefix.as_str()) {
            continue;
        }
        if let Some(sa) = &q.start_after {
            if k.as_bytes() <= sa.as_bytes() {
                continue;
            }
        }
        if skip_under.is_some_and(|s| k.starts_with(s)) {
            continue;
        }
        let item = match roll(k) {
            Some(cp) => (true, cp),
            None => (false, k.clone()),
        };
        if items.last() != Some(&item) {
            items.push(item);
        }
    }
    page.is_truncated = items.len() > max;
    items.truncate(max);
    for (is_cp, s) in &items {
        if *is_cp {
            page.common_prefixes.push(s.clone());
        } else {
            page.entries.push((
                s.clone(),
                ObjectSummary {
                    size: s.len() as u64,
                    etag: format!("\"etag-{}\"", s.len()),
                    last_modified_ms: 1_700_000_000_000 + s.len() as i64,
                },
            ));
        }
    }
    if page.is_truncated {
        page.next_start_after = items.last().map(|(_, s)| s.clone());
    }
    page
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    keys.dedup();
    keys
}

fn lq(prefix: &str, delimiter: Option<&str>, start_after: Option<&str>, max: usize) -> ListQuery {
    ListQuery {
        prefix: prefix.into(),
        delimiter: delimiter.map(Into::into),
        start_after: start_after.map(Into::into),
        max_keys: max,
    }
}

/// Follows `next_start_after` to the end; returns all keys and prefixes.
fn paginate(cat: &Catalog, bucket: &str, q: &ListQuery) -> (Vec<String>, Vec<String>) {
    let mut q = q.clone();
    let (mut keys, mut cps) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let p = cat.list_objects(bucket, &q).unwrap();
        keys.extend(p.entries.into_iter().map(|(k, _)| k));
        cps.extend(p.common_prefixes);
        if !p.is_truncated {
            return (keys, cps);
        }
        q.start_after = p.next_start_after;
    }
    panic!("pagination did not end");
}

fn edge_keys() -> Vec<String> {
    [
        "a",
        "a b",
        "a+b",
        "a%2Fb",
        "a/",
        "a//b",
        "a/b",
        "a/b/c",
        "a/b/d",
        "a/c",
        "ab",
        "b",
        "b/x",
        "caf\u{e9}",
        "caf\u{e9}/menu",
        "\u{1F600}/x",
        "\u{5b57}",
        "z--y--x",
        "z--y",
        "z-",
        " lead",
        "trail ",
        "x/",
        "x/y/",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[test]
fn listing_edge_cases() {
    let (_d, cat) = open_tmp();
    let keys = sorted(edge_keys());
    put_all(&cat, "lb", &keys);
    put_all(&cat, "lb2", &["a".into(), "zz".into()]);
    let check = |q: ListQuery| {
        let got = cat.list_objects("lb", &q).unwrap();
        assert_eq!(got, model_list(&keys, &q), "query {q:?}");
        got
    };
    // No delimiter: everything, in UTF-8 byte order, summaries included.
    let p = check(lq("", None, None, 1000));
    assert_eq!(p.entries.len(), keys.len());
    assert_eq!(p.entries[0].0, " lead");
    assert_eq!(p.entries.last().unwrap().0, "\u{1F600}/x");
    // Prefix + "/".
    let p = check(lq("", Some("/"), None, 1000));
    assert_eq!(
        p.common_prefixes,
        ["a/", "b/", "caf\u{e9}/", "x/", "\u{1F600}/"]
    );
    let p = check(lq("a/", Some("/"), None, 1000));
    assert_eq!(p.common_prefixes, ["a//", "a/b/"]);
    let entries: Vec<_> = p.entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(entries, ["a/", "a/b", "a/c"]);
    // Multi-char delimiter.
    let p = check(lq("z", Some("--"), None, 1000));
    assert_eq!(p.common_prefixes, ["z--"]);
    assert_eq!(p.entries.len(), 1);
    let p = check(lq("z--", Some("--"), None, 1000));
    assert_eq!(p.common_prefixes, ["z--y--"]);
    // Empty delimiter means none.
    let p = check(lq("", Some(""), None, 1000));
    assert!(p.common_prefixes.is_empty());
    // Prefix that is not at a delimiter, unicode prefix, space, '+', '%'.
    check(lq("a", Some("/"), None, 1000));
    check(lq("caf", Some("/"), None, 1000));
    check(lq("a ", None, None, 1000));
    check(lq("a+", Some("+"), None, 1000));
    check(lq("a%", Some("%"), None, 1000));
    check(lq("nothing", Some("/"), None, 1000));
    check(lq("\u{1F600}", Some("/"), None, 1000));
    // start_after: inside a prefix, equal to a common prefix, before the prefix,
    // after everything.
    let p = check(lq("", Some("/"), Some("a/b"), 1000));
    assert_eq!(p.common_prefixes[0], "a/");
    let p = check(lq("", Some("/"), Some("a/"), 1000));
    assert_eq!(p.entries[0].0, "ab");
    check(lq("b", Some("/"), Some("a"), 1000));
    check(lq("", None, Some("\u{1F600}/x"), 1000));
    check(lq("", None, Some("\u{10FFFF}"), 1000));
    // max_keys: common prefixes count, truncation, zero.
    let p = check(lq("", Some("/"), None, 3));
    assert_eq!(p.entries.len() + p.common_prefixes.len(), 3);
    assert!(p.is_truncated);
    assert_eq!(p.next_start_after.as_deref(), Some("a b"));
    let p = check(lq("", None, None, 0));
    assert!(p.entries.is_empty() && !p.is_truncated);
    // Exactly fitting page is not truncated.
    let n = keys.len();
    assert!(!check(lq("", None, None, n)).is_truncated);
    assert!(check(lq("", None, None, n - 1)).is_truncated);
    // Other buckets stay out; unknown bucket is empty.
    assert!(cat
        .list_objects("nope", &lq("", None, None, 10))
        .unwrap()
        .entries
        .is_empty());
    assert_eq!(cat.count_objects("lb").unwrap(), n as u64);
    assert_eq!(cat.count_objects("lb2").unwrap(), 2);
    // Pagination through everything equals the full listing.
    for delim in [None, Some("/"), Some("--"), Some("b")] {
        for prefix in ["", "a", "a/", "z"] {
            let full = cat
                .list_objects("lb", &lq(prefix, delim, None, 1000))
                .unwrap();
            for max in [1, 2, 3, 7] {
                let (k, c) = paginate(&cat, "lb", &lq(prefix, delim, None, max));
                let fk: Vec<_> = full.entries.iter().map(|(k, _)| k.clone()).collect();
                assert_eq!(k, fk, "{prefix:?} {delim:?} {max}");
                assert_eq!(c, full.common_prefixes, "{prefix:?} {delim:?} {max}");
            }
        }
    }
}

#[test]
fn listing_matches_model_on_random_queries() {
    let (_d, cat) = open_tmp();
    let mut rng = StdRng::seed_from_u64(99);
    const ALPHABET: &[char] = &['a', 'b', '/', '-', ' ', '\u{e9}', '\u{1F600}'];
    let rand_str = |rng: &mut StdRng, max: usize| -> String {
        let n = rng.random_range(0..=max);
        (0..n)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
            .collect()
    };
    let keys = sorted((0..300).map(|_| rand_str(&mut rng, 6)).collect());
    put_all(&cat, "rb", &keys);
    for _ in 0..400 {
        let delimiter = match rng.random_range(0..4) {
            0 => None,
            1 => Some("/".to_string()),
            _ => Some(rand_str(&mut rng, 2)),
        };
        let start_after = if rng.random_bool(0.4) {
            Some(rand_str(&mut rng, 4))
        } else {
            None
        };
        let q = ListQuery {
            prefix: rand_str(&mut rng, 2),
            delimiter,
            start_after,
            max_keys: rng.random_range(0..40),
        };
        let got = cat.list_objects("rb", &q).unwrap();
        assert_eq!(got, model_list(&keys, &q), "query {q:?}");
        if q.max_keys > 0 {
            let (k, c) = paginate(&cat, "rb", &q);
            let full = model_list(
                &keys,
                &ListQuery {
                    max_keys: usize::MAX,
                    ..q.clone()
                },
            );
            let fk: Vec<_> = full.entries.iter().map(|(k, _)| k.clone()).collect();
            assert_eq!(k, fk, "paginated {q:?}");
            assert_eq!(c, full.common_prefixes, "paginated {q:?}");
        }
    }
}

#[test]
fn delimiter_listing_seeks_past_common_prefixes() {
    let (_d, cat) = open_tmp();
    let mut keys: Vec<String> = (0..10_000).map(|i| format!("big/{i:05}")).collect();
    keys.extend(["a", "big", "big0", "c/d", "zz"].map(String::from));
    put_all(&cat, "sk", &keys);
    let q = lq("", Some("/"), None, 1000);
    let (page, scanned) = list::list_objects(&cat.inner.store, "sk", &q).unwrap();
    let entries: Vec<_> = page.entries.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(entries, ["a", "big", "big0", "zz"]);
    assert_eq!(page.common_prefixes, ["big/", "c/"]);
    assert!(scanned <= 10, "scan touched {scanned} keys");
    // Continuing after the big prefix also skips it.
    let q = lq("", Some("/"), Some("big/"), 1000);
    let (page, scanned) = list::list_objects(&cat.inner.store, "sk", &q).unwrap();
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

#[test]
fn acknowledged_writes_survive_kill_9() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "catalog::tests::crash_child_writer",
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
    let usage = cat.usage("b1").unwrap();
    assert!(usage.objects >= CRASH_ACKS as u64);
    assert_eq!(usage.objects, cat.count_objects("crash").unwrap());
    let last = acked.last().unwrap().1;
    let out = block(cat.put_object("crash", "after", rec(1, &[]), 0)).unwrap();
    assert!(out.generation > last);
}

#[test]
fn catalog_handle_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Catalog>();
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
