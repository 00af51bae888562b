//! Range reads over the fjall keyspaces: `ListObjects`, the catalog-wide object scan and
//! `ListMultipartUploads`.
//!
//! A bucket's keys are one contiguous byte range (see `codec`), so a listing
//! is a range scan from the prefix (or from just after `start_after`). With a
//! delimiter, the first key under a common prefix emits that prefix, and the
//! scan then *seeks* to the prefix's successor instead of iterating the keys
//! under it: a listing of a folder with millions of objects below its
//! sub-folders costs one seek per sub-folder. Common prefixes count toward
//! `max_keys`, as in S3.

use std::ops::Bound;

use super::codec::{self, ObjectKey};
use super::storage;
use super::store::Db;
use crate::catalog::limits::{MAX_DATA_BUCKETS, MAX_LIST_KEYS};
use crate::catalog::model::{ListPage, ListQuery, MultipartPage, MultipartQuery, ObjectRecord};
use crate::catalog::{CatalogError, Result};

/// Lists one page; also returns how many stored keys the scan read (tests use
/// it to prove common prefixes are skipped).
pub(crate) fn list_objects(db: &Db, bucket: &str, query: &ListQuery) -> Result<(ListPage, usize)> {
    let max = query.max_keys.min(MAX_LIST_KEYS);
    let mut page = ListPage::default();
    if max == 0 {
        return Ok((page, 0));
    }
    let delimiter = query.delimiter.as_deref().filter(|d| !d.is_empty());
    let prefix = query.prefix.as_str();

    let mut base = Vec::with_capacity(1 + bucket.len() + prefix.len());
    codec::push_bucket_prefix(&mut base, bucket)?;
    let base_len = base.len();
    // Range of every key starting with the prefix.
    let mut lower = base.clone();
    lower.extend_from_slice(prefix.as_bytes());
    let mut upper = lower.clone();
    let upper = if codec::prefix_successor(&mut upper) {
        Bound::Excluded(upper)
    } else {
        Bound::Unbounded
    };
    let start_after = query.start_after.as_deref();
    let Some(mut start) = list_start(&base, lower, prefix, delimiter, start_after) else {
        return Ok((page, 0));
    };

    let mut scanned = 0usize;
    let mut count = 0usize;
    let mut last: Option<String> = None;
    'seek: loop {
        if range_is_empty(&start, &upper) {
            break;
        }
        let iter = db
            .objects
            .range::<Vec<u8>, _>((start.clone(), upper.clone()));
        for guard in iter {
            let (raw_key, value) = guard.into_inner().map_err(storage)?;
            scanned += 1;
            let key = raw_key
                .get(base_len..)
                .ok_or(CatalogError::Corrupt("object key outside its bucket"))?;
            let key =
                std::str::from_utf8(key).map_err(|_| CatalogError::Corrupt("key not UTF-8"))?;
            if count == max {
                page.is_truncated = true;
                break 'seek;
            }
            count += 1;
            if let Some(cp) = delimiter.and_then(|d| common_prefix(key, prefix, d)) {
                page.common_prefixes.push(cp.to_owned());
                last = Some(cp.to_owned());
                // Seek past every key under this common prefix.
                let mut next = base.clone();
                next.extend_from_slice(cp.as_bytes());
                if !codec::prefix_successor(&mut next) {
                    break 'seek;
                }
                start = Bound::Included(next);
                continue 'seek;
            }
            page.entries
                .push((key.to_owned(), codec::decode_summary(&value)?));
            last = Some(key.to_owned());
        }
        break;
    }
    if page.is_truncated {
        page.next_start_after = last;
    }
    Ok((page, scanned))
}

/// Where a listing starts: the prefix range's `lower` end, or just after `start_after` when
/// that lies inside the range. None when nothing can follow.
fn list_start(
    base: &[u8],
    lower: Vec<u8>,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
) -> Option<Bound<Vec<u8>>> {
    let Some(after) = start_after else {
        return Some(Bound::Included(lower));
    };
    let mut s = base.to_vec();
    s.extend_from_slice(after.as_bytes());
    if s < lower {
        return Some(Bound::Included(lower));
    }
    match delimiter.and_then(|d| common_prefix(after, prefix, d)) {
        // `start_after` is itself a common prefix (a continuation after a
        // prefix): skip everything under it.
        Some(cp) if cp.len() == after.len() => {
            if !codec::prefix_successor(&mut s) {
                return None;
            }
            Some(Bound::Included(s))
        }
        _ => Some(Bound::Excluded(s)),
    }
}

/// The common prefix `key` rolls up to: `key` up to and including the first
/// `delimiter` after `prefix`, if there is one.
fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: &str) -> Option<&'k str> {
    let rest = key.strip_prefix(prefix)?;
    let pos = rest.find(delimiter)?;
    key.get(..prefix.len() + pos + delimiter.len())
}

/// True when no key can lie in `(start, upper)`; checked before building an
/// iterator so an inverted range never reaches the engine.
fn range_is_empty(start: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    let (Bound::Included(s) | Bound::Excluded(s)) = start else {
        return false;
    };
    match upper {
        Bound::Excluded(u) => s >= u,
        _ => false,
    }
}

/// Up to `limit` (at most [`MAX_LIST_KEYS`]) objects of all buckets in key order (bucket name
/// length, then name, then key), starting after `after` (bucket, key): lets background work
/// walk the whole catalog in bounded steps.
pub(crate) fn scan_objects(
    db: &Db,
    after: Option<(&str, &str)>,
    limit: usize,
) -> Result<Vec<(String, String, ObjectRecord)>> {
    let limit = limit.min(MAX_LIST_KEYS);
    let start = match after {
        Some((b, k)) => Bound::Excluded(ObjectKey::new(b, k)?.as_ref().to_vec()),
        None => Bound::Unbounded,
    };
    let mut out = Vec::with_capacity(limit);
    let range = (start, Bound::<Vec<u8>>::Unbounded);
    for guard in db.objects.range::<Vec<u8>, _>(range).take(limit) {
        let (k, v) = guard.into_inner().map_err(storage)?;
        let (bucket, key) = codec::decode_object_key(&k)?;
        out.push((bucket.to_owned(), key.to_owned(), codec::decode_object(&v)?));
    }
    Ok(out)
}

/// The names of the buckets holding an object or an upload, sorted, at most
/// [`MAX_DATA_BUCKETS`]: one seek per bucket in each keyspace (a bucket's keys are one
/// contiguous range, so after its first key the walk jumps to the prefix's successor).
/// Counts `bucket`'s upload index keys, at most `at_most`: keys only, no record is read.
pub(crate) fn count_multipart(db: &Db, bucket: &str, at_most: usize) -> Result<usize> {
    let mut base = Vec::new();
    codec::push_mp_index_bucket(&mut base, bucket)?;
    let mut n = 0;
    for guard in db.multipart.prefix(&base) {
        if n >= at_most {
            break;
        }
        guard.key().map_err(storage)?;
        n += 1;
    }
    Ok(n)
}

pub(crate) fn data_buckets(db: &Db) -> Result<Vec<String>> {
    let mut names = std::collections::BTreeSet::new();
    distinct_buckets(&db.objects, &[], &mut names)?;
    distinct_buckets(&db.multipart, &[codec::MP_INDEX_TAG], &mut names)?;
    Ok(names.into_iter().take(MAX_DATA_BUCKETS).collect())
}

/// Adds to `names` the bucket of every `[tag][bucket_len][bucket]...` key range in `ks` (keys
/// that start with `tag`), up to [`MAX_DATA_BUCKETS`] of them.
fn distinct_buckets(
    ks: &::fjall::Keyspace,
    tag: &[u8],
    names: &mut std::collections::BTreeSet<String>,
) -> Result<()> {
    let mut start = tag.to_vec();
    let mut end = tag.to_vec();
    let end = if codec::prefix_successor(&mut end) {
        Bound::Excluded(end)
    } else {
        Bound::Unbounded
    };
    for _ in 0..MAX_DATA_BUCKETS {
        let range = (Bound::Included(start.clone()), end.clone());
        let Some(guard) = ks.range::<Vec<u8>, _>(range).next() else {
            return Ok(());
        };
        let k = guard.key().map_err(storage)?;
        let rest = k
            .get(tag.len()..)
            .ok_or(CatalogError::Corrupt("key shorter than its tag"))?;
        let (bucket, _) = codec::decode_object_key(rest)?;
        start.truncate(tag.len());
        codec::push_bucket_prefix(&mut start, bucket)?;
        names.insert(bucket.to_owned());
        if !codec::prefix_successor(&mut start) {
            return Ok(());
        }
    }
    Ok(())
}

/// One page of a bucket's uploads: scans the bucket's upload index from the markers on,
/// fetching each record by id.
pub(crate) fn list_multipart(
    db: &Db,
    bucket: &str,
    query: &MultipartQuery,
) -> Result<MultipartPage> {
    let max = query.max_uploads.min(MAX_LIST_KEYS);
    let mut page = MultipartPage::default();
    if max == 0 {
        return Ok(page);
    }
    let mut base = Vec::new();
    codec::push_mp_index_bucket(&mut base, bucket)?;
    let mut scan = base.clone();
    codec::push_escaped(&mut scan, query.prefix.as_bytes());
    let mut end = scan.clone();
    let end = if codec::prefix_successor(&mut end) {
        Bound::Excluded(end)
    } else {
        Bound::Unbounded
    };
    let Some(start) = multipart_start(&base, scan, query) else {
        return Ok(page);
    };
    if range_is_empty(&start, &end) {
        return Ok(page);
    }
    for guard in db.multipart.range::<Vec<u8>, _>((start, end)) {
        let k = guard.key().map_err(storage)?;
        let upload_id = index_upload_id(&k, base.len())?;
        if page.uploads.len() == max {
            page.is_truncated = true;
            break;
        }
        let rec = db
            .get_multipart(upload_id)?
            .ok_or(CatalogError::Corrupt("multipart index without record"))?;
        page.uploads.push(rec);
    }
    if page.is_truncated {
        if let Some(last) = page.uploads.last() {
            page.next_key_marker = Some(last.key.clone());
            page.next_upload_id_marker = Some(last.upload_id.clone());
        }
    }
    Ok(page)
}

/// Where a multipart listing starts in the bucket's index (`base`): at `scan` (the escaped
/// prefix), or after the markers when they lie inside the prefix range. None when nothing can
/// follow.
fn multipart_start(base: &[u8], scan: Vec<u8>, query: &MultipartQuery) -> Option<Bound<Vec<u8>>> {
    let start = match &query.key_marker {
        None => Bound::Included(scan.clone()),
        Some(marker) => {
            let mut s = base.to_vec();
            codec::push_escaped(&mut s, marker.as_bytes());
            s.extend_from_slice(&codec::ESCAPED_TERMINATOR);
            match &query.upload_id_marker {
                // Same key, later upload ids; then later keys.
                Some(id) => {
                    s.extend_from_slice(id.as_bytes());
                    Bound::Excluded(s)
                }
                // Past every upload of the marker key.
                None => {
                    if !codec::prefix_successor(&mut s) {
                        return None;
                    }
                    Bound::Included(s)
                }
            }
        }
    };
    // A marker below the prefix range must not widen it.
    Some(match start {
        Bound::Included(s) | Bound::Excluded(s) if s < scan => Bound::Included(scan),
        other => other,
    })
}

/// Upload id of a bucket-index key: the bytes after the escaped key's terminator.
fn index_upload_id(k: &[u8], base_len: usize) -> Result<&str> {
    let rest = k
        .get(base_len..)
        .ok_or(CatalogError::Corrupt("multipart index key"))?;
    // The escaped key holds 0x00 only as 0x00 0xFF; the first 0x00 0x00 pair is
    // the terminator.
    let mut i = 0;
    while i + 1 < rest.len() {
        if rest[i] == 0 {
            if rest[i + 1] == 0 {
                return std::str::from_utf8(&rest[i + 2..])
                    .map_err(|_| CatalogError::Corrupt("upload id not UTF-8"));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Err(CatalogError::Corrupt(
        "multipart index key without terminator",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_rules() {
        assert_eq!(common_prefix("a/b/c", "", "/"), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", "/"), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/b", "/"), None);
        assert_eq!(common_prefix("a//b", "a/", "/"), Some("a//"));
        assert_eq!(
            common_prefix("xABCyABC", "x", "ABC"),
            Some("xABCyABC".get(..4).unwrap())
        );
        assert_eq!(common_prefix("b/x", "a", "/"), None);
        assert_eq!(common_prefix("é/ü", "", "/"), Some("é/"));
    }

    #[test]
    fn empty_range_detection() {
        let a = Bound::Included(vec![1u8, 2]);
        assert!(range_is_empty(&a, &Bound::Excluded(vec![1, 2])));
        assert!(!range_is_empty(&a, &Bound::Excluded(vec![1, 3])));
        assert!(!range_is_empty(&a, &Bound::Unbounded));
    }
}
