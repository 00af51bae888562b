//! Tests of the catalog through its handle, [`Catalog`], and so through the `CatalogStore`
//! trait object: objects, usage accounting, queues, copies, buckets, multipart uploads and
//! listings (checked against a reference model). They run on the fjall store (`open_tmp`);
//! fjall's own tests (group commit, durability, crash safety) are in `fjall::tests`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::interface::WriteFuture;
use super::limits::{MAX_BUCKET_NAME_LEN, MAX_OBJECT_KEY_LEN, MAX_UPLOAD_ID_LEN};
use super::*;

pub(crate) fn block<F: Future>(f: F) -> F::Output {
    futures_lite::future::block_on(f)
}

/// Polls every future concurrently on the current thread; results in order.
pub(crate) async fn join_all<T>(futs: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
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

pub(crate) fn open_tmp() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(dir.path()).unwrap();
    (dir, cat)
}

pub(crate) fn copy(backend: &str, backend_key: &str) -> Copy {
    Copy {
        backend: backend.into(),
        backend_key: backend_key.into(),
        state: CopyState::Complete,
    }
}

pub(crate) fn rec(size: u64, copies: &[(&str, &str)]) -> ObjectRecord {
    ObjectRecord {
        size,
        etag: format!("etag-{size}"),
        last_modified_ms: 1_700_000_000_000 + size as i64,
        copies: copies.iter().map(|(b, k)| copy(b, k)).collect(),
        ..Default::default()
    }
}

/// Puts every key concurrently (so setup costs a few group commits), in
/// chunks so `join_all`'s re-polling stays cheap.
pub(crate) fn put_all(cat: &Catalog, bucket: &str, keys: &[String]) {
    for chunk in keys.chunks(PUT_CHUNK) {
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

/// Puts per `join_all` in [`put_all`]: one full fjall group commit.
const PUT_CHUNK: usize = 512;

/// `backend`'s usage as `all_usage` reports it (zero if it never held anything).
pub(crate) fn usage(cat: &Catalog, backend: &str) -> BackendUsage {
    cat.all_usage()
        .unwrap()
        .into_iter()
        .find(|(name, _)| name == backend)
        .map(|(_, u)| u)
        .unwrap_or_default()
}

/// Number of objects in `bucket`, by paging through its listing.
pub(crate) fn count_objects(cat: &Catalog, bucket: &str) -> u64 {
    let (keys, _) = paginate(cat, bucket, &lq("", None, None, MAX_LIST_KEYS));
    keys.len() as u64
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

// ---------------------------------------------------------------- usage and queues

#[test]
fn usage_through_overwrite_and_delete() {
    let (_d, cat) = open_tmp();
    let u = |b: &str| usage(&cat, b);
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
    assert_eq!(usage(&cat, "b2").bytes_used, 10);
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
    assert_eq!(usage(&cat, "b2").objects, 1);

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
    assert_eq!(usage(&cat, "b3"), BackendUsage::default());

    assert!(!block(cat.remove_copy("b", "k", g + 1, "b2", "k")).unwrap());
    assert!(!block(cat.remove_copy("b", "k", g, "b2", "nope")).unwrap());
    assert!(block(cat.remove_copy("b", "k", g, "b2", "k")).unwrap());
    assert_eq!(usage(&cat, "b2"), BackendUsage::default());
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
    assert!(count_objects(&cat, "alpha") > 0);
    assert!(count_objects(&cat, "beta") == 0);
    assert_eq!(
        block(cat.delete_bucket("alpha")).unwrap(),
        DeleteBucketOutcome::NotEmpty
    );
    assert_eq!(
        block(cat.delete_bucket("gamma")).unwrap(),
        DeleteBucketOutcome::NotFound
    );
    assert!(block(cat.delete_object("alpha", "k")).unwrap().is_some());
    assert!(matches!(
        block(cat.delete_bucket("alpha")).unwrap(),
        DeleteBucketOutcome::Deleted(b) if b.name == "alpha"
    ));
    assert_eq!(cat.list_buckets().unwrap().len(), 1);
}

/// A name under which objects or uploads are stored but no bucket record exists (a config
/// bucket taken out of the config) cannot be created: the creator would inherit them.
#[test]
fn orphaned_names_cannot_be_created_and_are_found_by_data_buckets() {
    let (_d, cat) = open_tmp();
    block(cat.put_object("beta", "secret", rec(1, &[]), 0)).unwrap();
    block(cat.put_object("beta", "secret2", rec(1, &[]), 0)).unwrap();
    block(cat.create_multipart(upload("gamma", "k", "u1"))).unwrap();
    block(cat.put_object("a", "k", rec(1, &[]), 0)).unwrap();
    assert_eq!(
        block(cat.create_bucket("beta", "AK", 1)).unwrap(),
        CreateBucketOutcome::HoldsData
    );
    assert_eq!(
        block(cat.create_bucket("gamma", "AK", 1)).unwrap(),
        CreateBucketOutcome::HoldsData
    );
    assert_eq!(cat.get_bucket("beta").unwrap(), None);
    assert_eq!(cat.data_buckets().unwrap(), vec!["a", "beta", "gamma"]);

    // The operator's re-bind sets the record whatever the bucket holds, and can remove it.
    let owner = BucketRecord {
        name: "beta".into(),
        owner_access_key: "AK2".into(),
        created_ms: 3,
    };
    assert_eq!(
        block(cat.replace_bucket("beta", Some(owner.clone()))).unwrap(),
        None
    );
    assert_eq!(cat.get_bucket("beta").unwrap(), Some(owner.clone()));
    assert!(block(cat.replace_bucket("gamma", Some(owner.clone()))).is_err());
    assert_eq!(
        block(cat.replace_bucket("beta", None)).unwrap(),
        Some(owner)
    );
    assert_eq!(cat.get_bucket("beta").unwrap(), None);

    // Once emptied, the name is free again.
    assert!(block(cat.delete_multipart("u1")).unwrap().is_some());
    assert_eq!(
        block(cat.create_bucket("gamma", "AK", 1)).unwrap(),
        CreateBucketOutcome::Created
    );
    assert_eq!(cat.data_buckets().unwrap(), vec!["a", "beta"]);
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

/// One scenario in steps, each on the state the previous ones left: long, but split up it
/// would need that state rebuilt for every part.
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

/// Part sizes are kept per part number until the upload is completed or aborted, survive a
/// reopen, never appear for an upload that is gone, and do not disturb the upload listing.
#[test]
fn multipart_parts_are_recorded_until_the_upload_ends() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cat = Catalog::open(dir.path()).unwrap();
        for id in ["p1", "p2", "p3"] {
            assert!(block(cat.create_multipart(upload("pb", id, id))).unwrap());
        }
        assert!(block(cat.record_part("p1", 2, 20, "e")).unwrap());
        assert!(block(cat.record_part("p1", 1, 10, "e")).unwrap());
        assert!(
            block(cat.record_part("p1", 1, 11, "e")).unwrap(),
            "re-upload replaces"
        );
        assert!(block(cat.record_part("p2", 1, 5, "e")).unwrap());
        assert!(block(cat.record_part("p3", 7, 70, "e")).unwrap());
        assert!(
            !block(cat.record_part("gone", 1, 1, "e")).unwrap(),
            "no such upload"
        );
        let all = MultipartQuery {
            prefix: String::new(),
            key_marker: None,
            upload_id_marker: None,
            max_uploads: 100,
        };
        let ids = cat.list_multipart("pb", &all).unwrap();
        assert_eq!(ids.uploads.len(), 3, "part keys are not uploads");
        block(cat.delete_multipart("p2")).unwrap().unwrap();
        block(cat.complete_multipart("p3", rec(70, &[("b1", "bk/p3")]), 0))
            .unwrap()
            .unwrap();
        assert!(!block(cat.record_part("p2", 2, 1, "e")).unwrap(), "aborted");
    }
    let cat = Catalog::open(dir.path()).unwrap();
    assert_eq!(
        cat.all_parts().unwrap(),
        vec![("p1".to_owned(), 1, 11), ("p1".to_owned(), 2, 20)]
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
                    etag: format!("etag-{}", s.len()),
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

pub(crate) fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    keys.dedup();
    keys
}

pub(crate) fn lq(
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max: usize,
) -> ListQuery {
    ListQuery {
        prefix: prefix.into(),
        delimiter: delimiter.map(Into::into),
        start_after: start_after.map(Into::into),
        max_keys: max,
    }
}

/// Follows `next_start_after` to the end; returns all keys and prefixes.
pub(crate) fn paginate(cat: &Catalog, bucket: &str, q: &ListQuery) -> (Vec<String>, Vec<String>) {
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

/// A battery of queries over one key set: long, but split up every part would load the same
/// keys again.
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
    assert_eq!(count_objects(&cat, "lb"), n as u64);
    assert_eq!(count_objects(&cat, "lb2"), 2);
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

// ---------------------------------------------------------------- the handle

#[test]
fn catalog_handle_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Catalog>();
}

/// A store that refuses everything and counts how often it was asked: shows what the handle
/// decides on its own, whatever the store behind it.
#[derive(Default)]
struct RefusingStore {
    calls: AtomicUsize,
}

impl RefusingStore {
    fn refuse<T>(&self) -> Result<T> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Err(CatalogError::Closed)
    }

    fn refuse_write<T: Send + 'static>(&self) -> WriteFuture<'_, T> {
        let result = self.refuse();
        Box::pin(async move { result })
    }
}

impl CatalogStore for RefusingStore {
    fn get_object(&self, _: &str, _: &str) -> Result<Option<ObjectRecord>> {
        self.refuse()
    }
    fn get_bucket(&self, _: &str) -> Result<Option<BucketRecord>> {
        self.refuse()
    }
    fn get_multipart(&self, _: &str) -> Result<Option<MultipartRecord>> {
        self.refuse()
    }
    fn get_completed_upload(&self, _: &str) -> Result<Option<crate::catalog::CompletedUpload>> {
        self.refuse()
    }
    fn all_usage(&self) -> Result<Vec<(String, BackendUsage)>> {
        self.refuse()
    }
    fn monthly_usage(&self, _: &str, _: u32) -> Result<MonthlyUsage> {
        self.refuse()
    }
    fn list_objects(&self, _: &str, _: &ListQuery) -> Result<ListPage> {
        self.refuse()
    }
    fn scan_objects(
        &self,
        _: Option<(&str, &str)>,
        _: usize,
    ) -> Result<Vec<(String, String, ObjectRecord)>> {
        self.refuse()
    }
    fn list_multipart(&self, _: &str, _: &MultipartQuery) -> Result<MultipartPage> {
        self.refuse()
    }
    fn all_parts(&self) -> Result<Vec<(String, u32, u64)>> {
        self.refuse()
    }
    fn upload_parts(&self, _: &str) -> Result<Vec<crate::catalog::StoredPart>> {
        self.refuse()
    }
    fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        self.refuse()
    }
    fn queue_peek(&self, _: QueueKind, _: usize) -> Result<Vec<(QueueId, QueueItem)>> {
        self.refuse()
    }
    fn queue_len(&self, _: QueueKind) -> Result<u64> {
        self.refuse()
    }
    fn queue_push(&self, _: QueueItem) -> WriteFuture<'_, QueueId> {
        self.refuse_write()
    }
    fn queue_ack(&self, _: QueueId) -> WriteFuture<'_, bool> {
        self.refuse_write()
    }
    fn put_object<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: ObjectRecord,
        _: u32,
    ) -> WriteFuture<'a, PutOutcome> {
        self.refuse_write()
    }
    fn delete_object<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
    ) -> WriteFuture<'a, Option<ObjectRecord>> {
        self.refuse_write()
    }
    fn add_copy<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: u64,
        _: Copy,
    ) -> WriteFuture<'a, AddCopyOutcome> {
        self.refuse_write()
    }
    fn remove_copy<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: u64,
        _: &'a str,
        _: &'a str,
    ) -> WriteFuture<'a, bool> {
        self.refuse_write()
    }
    fn set_monthly_usage<'a>(&'a self, _: &'a str, _: u32, _: MonthlyUsage) -> WriteFuture<'a, ()> {
        self.refuse_write()
    }
    fn data_buckets(&self) -> Result<Vec<String>> {
        self.refuse()
    }
    fn replace_bucket<'a>(
        &'a self,
        _: &'a str,
        _: Option<BucketRecord>,
    ) -> WriteFuture<'a, Option<BucketRecord>> {
        self.refuse_write()
    }
    fn create_bucket(&self, _: BucketRecord) -> WriteFuture<'_, CreateBucketOutcome> {
        self.refuse_write()
    }
    fn delete_bucket<'a>(&'a self, _: &'a str) -> WriteFuture<'a, DeleteBucketOutcome> {
        self.refuse_write()
    }
    fn create_multipart(&self, _: MultipartRecord) -> WriteFuture<'_, bool> {
        self.refuse_write()
    }
    fn record_part<'a>(&'a self, _: &'a str, _: u32, _: u64, _: &'a str) -> WriteFuture<'a, bool> {
        self.refuse_write()
    }
    fn delete_multipart<'a>(&'a self, _: &'a str) -> WriteFuture<'a, Option<MultipartRecord>> {
        self.refuse_write()
    }
    fn complete_multipart<'a>(
        &'a self,
        _: &'a str,
        _: ObjectRecord,
        _: u32,
    ) -> WriteFuture<'a, Option<PutOutcome>> {
        self.refuse_write()
    }
}

#[test]
fn the_handle_refuses_oversize_writes_before_any_store_sees_them() {
    let store = Arc::new(RefusingStore::default());
    let cat = Catalog::from_store(store.clone());
    let invalid = |r: Result<()>| matches!(r, Err(CatalogError::InvalidInput(_)));
    let long_key = "k".repeat(MAX_OBJECT_KEY_LEN + 1);
    let long_bucket = "b".repeat(MAX_BUCKET_NAME_LEN + 1);
    let long_id = "u".repeat(MAX_UPLOAD_ID_LEN + 1);
    let put = |b: &str, k: &str, n| block(cat.put_object(b, k, rec(1, &[]), n)).map(drop);
    assert!(invalid(put("b", &long_key, 0)));
    assert!(invalid(put(&long_bucket, "k", 0)));
    assert!(invalid(put("b", "k", MAX_REPLICATE_INTENTS + 1)));
    assert!(invalid(block(cat.delete_object("b", &long_key)).map(drop)));
    assert!(invalid(
        block(cat.add_copy(&long_bucket, "k", 1, copy("b1", "k"))).map(drop)
    ));
    assert!(invalid(
        block(cat.remove_copy("b", &long_key, 1, "b1", "k")).map(drop)
    ));
    let month = MonthlyUsage::default();
    assert!(invalid(block(cat.set_monthly_usage("", 202501, month))));
    assert!(invalid(
        block(cat.create_bucket(&long_bucket, "AK", 1)).map(drop)
    ));
    assert!(invalid(block(cat.delete_bucket(&long_bucket)).map(drop)));
    let mut up = MultipartRecord {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: String::new(),
        ..Default::default()
    };
    assert!(invalid(block(cat.create_multipart(up.clone())).map(drop)));
    up.upload_id = "u".into();
    up.key = long_key.clone();
    assert!(invalid(block(cat.create_multipart(up)).map(drop)));
    assert!(invalid(block(cat.delete_multipart(&long_id)).map(drop)));
    assert!(invalid(
        block(cat.complete_multipart("u", rec(1, &[]), MAX_REPLICATE_INTENTS + 1)).map(drop)
    ));
    assert_eq!(store.calls.load(Ordering::Relaxed), 0);
    // Valid input reaches the store, and its answer comes back unchanged.
    assert!(matches!(
        block(cat.put_object("b", "k", rec(1, &[]), 1)),
        Err(CatalogError::Closed)
    ));
    assert!(matches!(
        cat.get_object("b", "k"),
        Err(CatalogError::Closed)
    ));
    assert_eq!(store.calls.load(Ordering::Relaxed), 2);
}

/// `count_multipart` counts one bucket's uploads (not a bucket whose name extends it), stops at
/// `at_most`, and no longer counts a deleted upload.
#[test]
fn count_multipart_counts_one_bucket_up_to_the_cap() {
    let (_d, cat) = open_tmp();
    for (bucket, key, id) in [("cb", "a", "c1"), ("cb", "b", "c2"), ("cb", "b", "c3")] {
        assert!(block(cat.create_multipart(upload(bucket, key, id))).unwrap());
    }
    assert!(block(cat.create_multipart(upload("cbx", "a", "c4"))).unwrap());
    assert_eq!(cat.count_multipart("cb", 100).unwrap(), 3);
    assert_eq!(cat.count_multipart("cb", 2).unwrap(), 2);
    assert_eq!(cat.count_multipart("cbx", 100).unwrap(), 1);
    assert_eq!(cat.count_multipart("none", 100).unwrap(), 0);
    block(cat.delete_multipart("c2")).unwrap();
    assert_eq!(cat.count_multipart("cb", 100).unwrap(), 2);
}
