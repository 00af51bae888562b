//! `ListObjects` over the `objects` keyspace.
//!
//! A bucket's keys are one contiguous byte range (see `codec`), so a listing
//! is a range scan from the prefix (or from just after `start_after`). With a
//! delimiter, the first key under a common prefix emits that prefix, and the
//! scan then *seeks* to the prefix's successor instead of iterating the keys
//! under it: a listing of a folder with millions of objects below its
//! sub-folders costs one seek per sub-folder. Common prefixes count toward
//! `max_keys`, as in S3.

use std::ops::Bound;

use crate::catalog::codec;
use crate::catalog::model::{ListPage, ListQuery};
use crate::catalog::store::Store;
use crate::catalog::{CatalogError, Result, MAX_LIST_KEYS};

/// Lists one page; also returns how many stored keys the scan read (tests use
/// it to prove common prefixes are skipped, metrics may too).
pub(crate) fn list_objects(
    store: &Store,
    bucket: &str,
    query: &ListQuery,
) -> Result<(ListPage, usize)> {
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

    let mut start = Bound::Included(lower.clone());
    if let Some(after) = query.start_after.as_deref() {
        let mut s = base.clone();
        s.extend_from_slice(after.as_bytes());
        if s >= lower {
            start = match delimiter.and_then(|d| common_prefix(after, prefix, d)) {
                // `start_after` is itself a common prefix (a continuation
                // after a prefix): skip everything under it.
                Some(cp) if cp.len() == after.len() => {
                    if !codec::prefix_successor(&mut s) {
                        return Ok((page, 0));
                    }
                    Bound::Included(s)
                }
                _ => Bound::Excluded(s),
            };
        }
    }

    let mut scanned = 0usize;
    let mut count = 0usize;
    let mut last: Option<String> = None;
    'seek: loop {
        if range_is_empty(&start, &upper) {
            break;
        }
        let iter = store
            .objects
            .range::<Vec<u8>, _>((start.clone(), upper.clone()));
        for guard in iter {
            let (raw_key, value) = guard.into_inner()?;
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

/// The common prefix `key` rolls up to: `key` up to and including the first
/// `delimiter` after `prefix`, if there is one.
fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: &str) -> Option<&'k str> {
    let rest = key.strip_prefix(prefix)?;
    let pos = rest.find(delimiter)?;
    key.get(..prefix.len() + pos + delimiter.len())
}

/// True when no key can lie in `(start, upper)`; checked before building an
/// iterator so an inverted range never reaches the engine.
pub(crate) fn range_is_empty(start: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    let (Bound::Included(s) | Bound::Excluded(s)) = start else {
        return false;
    };
    match upper {
        Bound::Excluded(u) => s >= u,
        _ => false,
    }
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
