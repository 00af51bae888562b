//! Conditional writes (S3, 2024): `If-None-Match: *` and `If-Match: <etag>` on PutObject,
//! CompleteMultipartUpload and (for the destination) CopyObject.
//!
//! # Where the check sits
//! The condition is evaluated while the writer holds the key's write lock (`state::keylock`),
//! before any byte reaches a backend, against the catalog record as committed. Every writer of a
//! key (PutObject, CopyObject, CompleteMultipartUpload, DeleteObject, and the background plane's
//! copies and cleanups) takes that lock from before it touches the backend until its catalog
//! commit is durable, so nothing can commit between this check and the caller's commit: the
//! check and the commit are atomic. Of two racing `If-None-Match: *` writers the first to take
//! the lock writes; the second then sees its record and answers 412. Because the loser is
//! refused before it opened a backend write, it leaves nothing behind (no orphan copy, and the
//! winner's bytes under the shared backend key are never overwritten). A check at commit time
//! instead would be too late: both writers store under the same backend key, so the loser
//! would already have replaced the winner's bytes.

use super::{catalog_error, RequestCtx};
use crate::catalog::ObjectRecord;
use crate::http::RequestHead;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::unquote_etag;

/// Whether the request carries a write condition (so the caller must look the key up).
pub fn has_write_conditions(head: &RequestHead) -> bool {
    head.header("if-match").is_some() || head.header("if-none-match").is_some()
}

/// Checks the request's write conditions (if any) against the committed record of
/// `bucket/key`. The caller holds the key's write lock and has not yet opened a backend write.
pub fn check_current(ctx: &RequestCtx<'_>, bucket: &str, key: &str) -> S3Result<()> {
    if !has_write_conditions(ctx.head) {
        return Ok(());
    }
    let current = ctx
        .app
        .catalog
        .get_object(bucket, key)
        .map_err(catalog_error)?;
    check_write_conditions(ctx.head, current.as_ref())
}

/// Evaluates the write conditions against the key's current record, as S3 does:
/// - `If-Match: <etag>[, <etag>...]` (or `*`): `404 NoSuchKey` if the key is absent, `412
///   PreconditionFailed` if no listed ETag is the current one;
/// - `If-None-Match: *`: `412 PreconditionFailed` if the key exists. S3 accepts only `*` there;
///   any other value is `501 NotImplemented`, as S3 answers.
pub fn check_write_conditions(head: &RequestHead, current: Option<&ObjectRecord>) -> S3Result<()> {
    if let Some(list) = head.header_str("if-match") {
        let Some(rec) = current else {
            return Err(S3Error::new(S3ErrorCode::NoSuchKey));
        };
        let matches = list
            .split(',')
            .map(|t| unquote_etag(t.trim()))
            .any(|t| t == "*" || t == rec.etag);
        if !matches {
            return Err(S3Error::new(S3ErrorCode::PreconditionFailed));
        }
    }
    if let Some(value) = head.header_str("if-none-match") {
        if value.trim() != "*" {
            return Err(S3Error::with_message(
                S3ErrorCode::NotImplemented,
                "A header you provided implies functionality that is not implemented: If-None-Match on a write accepts only *",
            ));
        }
        if current.is_some() {
            return Err(S3Error::new(S3ErrorCode::PreconditionFailed));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> RequestHead {
        let mut h = RequestHead::new();
        assert!(
            matches!(h.parse(raw), Ok(crate::http::ParseStatus::Complete { .. })),
            "test head parses"
        );
        h
    }

    fn code(raw: &[u8], current: Option<&ObjectRecord>) -> Option<S3ErrorCode> {
        check_write_conditions(&head(raw), current)
            .err()
            .map(|e| e.code)
    }

    #[test]
    fn conditions_as_s3_answers_them() {
        let rec = ObjectRecord {
            etag: "abc".into(),
            ..Default::default()
        };
        let none_match = b"PUT /b/k HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n";
        assert_eq!(code(none_match, None), None);
        assert_eq!(
            code(none_match, Some(&rec)),
            Some(S3ErrorCode::PreconditionFailed)
        );
        let etag_none_match = b"PUT /b/k HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"abc\"\r\n\r\n";
        assert_eq!(
            code(etag_none_match, None),
            Some(S3ErrorCode::NotImplemented)
        );
        let if_match = b"PUT /b/k HTTP/1.1\r\nHost: x\r\nIf-Match: \"abc\"\r\n\r\n";
        assert_eq!(code(if_match, Some(&rec)), None);
        assert_eq!(code(if_match, None), Some(S3ErrorCode::NoSuchKey));
        let other = ObjectRecord {
            etag: "def".into(),
            ..Default::default()
        };
        assert_eq!(
            code(if_match, Some(&other)),
            Some(S3ErrorCode::PreconditionFailed)
        );
        let plain = b"PUT /b/k HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(!has_write_conditions(&head(plain)));
        assert!(has_write_conditions(&head(if_match)));
        assert_eq!(code(plain, Some(&rec)), None);
    }
}
