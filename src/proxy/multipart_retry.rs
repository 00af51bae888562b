//! CompleteMultipartUpload retried after it succeeded: S3 answers `200` with the same ETag and
//! location again, not `NoSuchUpload`, so a client whose first answer was lost (a timeout, a
//! dropped connection) sees its upload completed.
//!
//! The catalog keeps each completed upload's answer for `catalog::COMPLETED_UPLOAD_RETENTION_MS`
//! (1 hour; written in the completion's own batch, so it survives a restart, and purged a
//! couple at a time by later completions). A retry that arrives while the first Complete still
//! runs waits for the key's write lock, finds the upload gone and answers from the kept record.
//! A retry's `If-None-Match` / `If-Match` are not evaluated again: the object they would now
//! refuse is the one its own first attempt wrote.

use super::{catalog_error, RequestCtx, Response};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::quote_etag;
use crate::s3::xml::XmlWriter;
use crate::util::clock::now_ms;

/// The CompleteMultipartUpload answer for `bucket/key` with `etag` (unquoted): the same
/// document for the first answer and for every retry.
pub fn complete_result(bucket: &str, key: &str, etag: &str) -> Response {
    let mut w = XmlWriter::new();
    w.root("CompleteMultipartUploadResult");
    w.elem("Location", &format!("/{bucket}/{key}"));
    w.elem("Bucket", bucket);
    w.elem("Key", key);
    w.elem("ETag", &quote_etag(etag));
    w.close("CompleteMultipartUploadResult");
    Response::xml(200, w.finish())
}

/// The answer to a Complete of an upload that is no longer in progress: the kept answer if it
/// was completed, at this bucket and key, within the retention; `NoSuchUpload` otherwise
/// (never started, aborted, completed elsewhere or too long ago).
pub fn answer_completed(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let upload_id = ctx.route.query_param("uploadId").unwrap_or("");
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let done = ctx
        .app
        .catalog
        .get_completed_upload(upload_id, now_ms())
        .map_err(catalog_error)?
        .filter(|d| d.bucket == bucket && d.key == key)
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchUpload))?;
    tracing::debug!(
        request_id = ctx.request_id,
        upload_id,
        "CompleteMultipartUpload retried after success; answering as before"
    );
    Ok(complete_result(bucket, key, &done.etag))
}
