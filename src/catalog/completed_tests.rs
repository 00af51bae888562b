//! The kept answers of completed multipart uploads: written with the completion, found by
//! upload id within `COMPLETED_UPLOAD_RETENTION_MS`, kept across a reopen, purged once expired.
//! Also the parts of an upload in progress with their ETags: the last recorded wins.

use super::tests::{block, rec};
use super::{Catalog, MultipartRecord, StoredPart, COMPLETED_UPLOAD_RETENTION_MS};

fn upload(id: &str) -> MultipartRecord {
    MultipartRecord {
        bucket: "cb".into(),
        key: format!("k/{id}"),
        upload_id: id.into(),
        backend: "b1".into(),
        backend_key: format!("cb/k/{id}"),
        backend_upload_id: format!("x{id}"),
        ..Default::default()
    }
}

/// Completes upload `id` at `at_ms`.
fn complete(cat: &Catalog, id: &str, at_ms: i64) {
    assert!(block(cat.create_multipart(upload(id))).unwrap());
    let mut r = rec(10, &[("b1", "cb/k")]);
    r.last_modified_ms = at_ms;
    r.etag = format!("etag-{id}");
    block(cat.complete_multipart(id, r, 0)).unwrap().unwrap();
}

#[test]
fn completed_uploads_answer_within_the_retention_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_800_000_000_000i64;
    {
        let cat = Catalog::open(dir.path()).unwrap();
        complete(&cat, "u1", t0);
        let got = cat.get_completed_upload("u1", t0 + 1).unwrap().unwrap();
        assert_eq!((got.bucket.as_str(), got.key.as_str()), ("cb", "k/u1"));
        assert_eq!((got.etag.as_str(), got.completed_ms), ("etag-u1", t0));
        assert_eq!(cat.get_completed_upload("never", t0).unwrap(), None);
        // A read past the retention does not see it, even before it is purged.
        let late = t0 + COMPLETED_UPLOAD_RETENTION_MS;
        assert_eq!(cat.get_completed_upload("u1", late).unwrap(), None);
        // An aborted upload keeps no answer.
        assert!(block(cat.create_multipart(upload("aborted"))).unwrap());
        block(cat.delete_multipart("aborted")).unwrap().unwrap();
        assert_eq!(cat.get_completed_upload("aborted", t0).unwrap(), None);
    }
    // Kept across a reopen.
    let cat = Catalog::open(dir.path()).unwrap();
    assert!(cat.get_completed_upload("u1", t0 + 2).unwrap().is_some());
    complete(&cat, "u2", t0 + 5);
    complete(&cat, "u3", t0 + 6);
    // Completions past the retention of u1..u3 purge the expired ones, two per completion.
    let later = t0 + COMPLETED_UPLOAD_RETENTION_MS + 10;
    complete(&cat, "u4", later);
    let stored = |id: &str| cat.get_completed_upload(id, t0).unwrap().is_some();
    assert!(!stored("u1") && !stored("u2"), "the two oldest are purged");
    assert!(stored("u3"), "at most two per completion");
    complete(&cat, "u5", later + 1);
    assert!(!stored("u3"));
    assert!(cat.get_completed_upload("u4", later + 1).unwrap().is_some());
    assert!(cat.get_completed_upload("u5", later + 1).unwrap().is_some());
}

#[test]
fn an_upload_parts_are_kept_with_the_etag_recorded_last() {
    let dir = tempfile::tempdir().unwrap();
    {
        let cat = Catalog::open(dir.path()).unwrap();
        assert!(block(cat.create_multipart(upload("p"))).unwrap());
        assert!(block(cat.create_multipart(upload("q"))).unwrap());
        assert!(block(cat.record_part("p", 2, 20, "two")).unwrap());
        assert!(block(cat.record_part("p", 1, 10, "first")).unwrap());
        assert!(block(cat.record_part("p", 1, 11, "again")).unwrap());
        assert!(block(cat.record_part("q", 1, 5, "other")).unwrap());
    }
    let cat = Catalog::open(dir.path()).unwrap();
    let part = |n, size, etag: &str| StoredPart {
        part_number: n,
        size,
        etag: Some(etag.into()),
    };
    assert_eq!(
        cat.upload_parts("p").unwrap(),
        vec![part(1, 11, "again"), part(2, 20, "two")]
    );
    assert_eq!(cat.upload_parts("none").unwrap(), vec![]);
    let mut r = rec(31, &[("b1", "cb/k")]);
    r.last_modified_ms = 1;
    block(cat.complete_multipart("p", r, 0)).unwrap().unwrap();
    assert_eq!(cat.upload_parts("p").unwrap(), vec![]);
    assert_eq!(cat.upload_parts("q").unwrap(), vec![part(1, 5, "other")]);
}
