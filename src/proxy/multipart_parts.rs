//! A part uploaded twice: the upload that finished last wins, as in S3.
//!
//! Backends disagree on a part number uploaded again: a local directory replaces it, SeaweedFS
//! keeps both (ListParts lists the number twice, so a client that builds its Complete document
//! from ListParts sends the number twice and gets `InvalidPartOrder`), and two uploads of one
//! number racing can both land anywhere. The catalog decides instead: each stored part is
//! recorded with its ETag once the backend has it (`Catalog::record_part`, serialised by the
//! catalog writer), so the part recorded last under a number is the one that counts. ListParts
//! shows only that one; CompleteMultipartUpload accepts only its ETag for that number
//! (`InvalidPart` for an earlier upload's, which S3 no longer has either).

use std::collections::BTreeMap;

use super::{catalog_error, App};
use crate::backend::PartInfo;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::unquote_etag;

/// The ETag (unquoted) of the last recorded upload of each part number of `upload_id`. Parts
/// recorded before ETags were are absent: the backend's answer counts for them.
pub fn latest_etags(app: &App, upload_id: &str) -> S3Result<BTreeMap<u32, String>> {
    Ok(app
        .catalog
        .upload_parts(upload_id)
        .map_err(catalog_error)?
        .into_iter()
        .filter_map(|p| Some((p.part_number, p.etag?)))
        .collect())
}

/// The backend's part listing (ascending by number) with, for each number, only the upload
/// recorded last: any other upload of a recorded number is dropped, and of several left under
/// one number the last listed is kept.
pub fn keep_latest(parts: Vec<PartInfo>, latest: &BTreeMap<u32, String>) -> Vec<PartInfo> {
    let mut out: Vec<PartInfo> = Vec::with_capacity(parts.len());
    for p in parts {
        let current = latest
            .get(&p.part_number)
            .is_none_or(|e| unquote_etag(e) == unquote_etag(&p.etag));
        if !current {
            continue;
        }
        match out.last_mut() {
            Some(prev) if prev.part_number == p.part_number => *prev = p,
            _ => out.push(p),
        }
    }
    out
}

/// Refuses a Complete document that names an earlier upload of a part number: `InvalidPart`.
pub fn check_latest(listed: &[(u32, String)], latest: &BTreeMap<u32, String>) -> S3Result<()> {
    for (n, etag) in listed {
        if latest
            .get(n)
            .is_some_and(|e| unquote_etag(e) != unquote_etag(etag))
        {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidPart,
                format!(
                    "part {n} was uploaded again since; its current ETag is the later upload's"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(n: u32, etag: &str) -> PartInfo {
        PartInfo {
            part_number: n,
            etag: etag.into(),
            size: 1,
            last_modified: None,
        }
    }

    #[test]
    fn only_the_last_recorded_upload_of_a_number_counts() {
        let latest = BTreeMap::from([(1, "b".to_owned()), (3, "d".to_owned())]);
        let listed = vec![
            part(1, "\"b\""),
            part(1, "a"),
            part(2, "x"),
            part(2, "y"),
            part(3, "c"),
        ];
        let kept: Vec<(u32, String)> = keep_latest(listed, &latest)
            .into_iter()
            .map(|p| (p.part_number, p.etag))
            .collect();
        // 1: the recorded one; 2: not recorded, the last listed; 3: the recorded one is missing.
        assert_eq!(kept, vec![(1, "\"b\"".into()), (2, "y".into())]);
        assert!(check_latest(&[(1, "b".into()), (2, "anything".into())], &latest).is_ok());
        let err = check_latest(&[(1, "a".into())], &latest).expect_err("stale");
        assert_eq!(err.code, S3ErrorCode::InvalidPart);
    }
}
