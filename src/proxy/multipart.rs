//! Multipart uploads, passed through natively to the chosen backend's own multipart upload:
//! parts stream straight to the backend and are never re-read, so objects up to the provider's
//! 5 TiB limit work and ETags are the provider's.
//!
//! Quota: every part reserves its size on the upload's backend; the reservations are held until
//! the upload completes (then the object's size becomes usage) or is aborted. Each stored part's
//! size is recorded in the catalog, so they are held again after a restart
//! (`state::reservations`). While a part uploads, its bytes also count against the caller's
//! `server.max_in_flight_bytes_per_key`.

use super::catalog_error;
use super::{App, RequestCtx, Response};
use crate::backend::{backend_key, ObjectMeta};
use crate::backend::{Backend, BackendKind, Integrity, PartInfo};
use crate::catalog::{Copy, CopyState, MultipartQuery, MultipartRecord, ObjectRecord};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::quote_etag;
use crate::s3::xml::{iso8601_ms, XmlWriter};
use crate::server::body::BodyReader;
use crate::state::placement::Reservation;
use crate::util::clock::now_ms;

/// S3's part number range.
pub const MAX_PART_NUMBER: u32 = crate::s3::xml::MAX_PART_NUMBER;
/// S3's largest part (5 GiB).
pub const MAX_PART_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Largest CompleteMultipartUpload document: 10 000 parts at ~120 bytes each, plus slack.
pub const MAX_COMPLETE_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;
/// Default and maximum of ListParts / ListMultipartUploads pages.
pub const MAX_LIST_PARTS: u32 = 1000;

fn new_upload_id() -> String {
    // Time first, so ListMultipartUploads of one key lists uploads in initiation order.
    let r: u64 = rand::random();
    format!("{:012x}{:016x}", now_ms(), r)
}

fn upload_of(ctx: &RequestCtx<'_>) -> S3Result<MultipartRecord> {
    let upload_id = ctx.route.query_param("uploadId").unwrap_or("");
    let rec = ctx
        .app
        .catalog
        .get_multipart(upload_id)
        .map_err(|_| S3Error::new(S3ErrorCode::NoSuchUpload))?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchUpload))?;
    if rec.bucket != ctx.bucket()? || rec.key != ctx.key()? {
        return Err(S3Error::new(S3ErrorCode::NoSuchUpload));
    }
    Ok(rec)
}

fn part_number(ctx: &RequestCtx<'_>) -> S3Result<u32> {
    ctx.route
        .query_param("partNumber")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Part number must be an integer between 1 and 10000, inclusive",
            )
        })
}

/// The upload's backend and room reserved on it for a part of `size` bytes.
fn reserve_on_upload_backend<'a>(
    ctx: &'a RequestCtx<'_>,
    upload: &MultipartRecord,
    size: u64,
) -> S3Result<(&'a Backend, Reservation)> {
    let app = &ctx.app;
    let backend = app.backend_by_name(&upload.backend).ok_or_else(|| {
        S3Error::backend(
            S3ErrorCode::ServiceUnavailable,
            "the upload's backend is gone",
        )
    })?;
    let reservation = app
        .placement
        .reserve_on(backend.index, size)
        .ok_or_else(|| S3Error::new(S3ErrorCode::InsufficientStorage))?;
    Ok((backend, reservation))
}

/// Records the stored part durably with its ETag (so its quota counts again after a restart,
/// and the upload recorded last under a number is the one that counts: `multipart_parts`) and
/// holds its reservation until the upload completes or is aborted. If the upload ended while
/// the part was uploading, the reservation is released: nothing would ever release it.
async fn hold_part(
    app: &App,
    upload: &MultipartRecord,
    part_number: u32,
    size: u64,
    etag: &str,
    reservation: Reservation,
) -> S3Result<()> {
    let recorded = app
        .catalog
        .record_part(&upload.upload_id, part_number, size, etag)
        .await
        .map_err(catalog_error)?;
    if !recorded {
        return Err(S3Error::new(S3ErrorCode::NoSuchUpload));
    }
    app.uploads.add(&upload.upload_id, part_number, reservation);
    Ok(())
}

pub async fn handle_create_multipart_upload(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    check_upload_limit(ctx, bucket)?;
    let app = &ctx.app;
    let meta = ObjectMeta::from_headers(ctx.head)?;
    let bkey = backend_key(bucket, key);
    let upload_id = new_upload_id();
    // A zero-byte reservation picks the backend the strategy prefers among those with room.
    let mut tried = Vec::new();
    let (backend, backend_upload_id) = loop {
        let choice = app
            .placement
            .reserve(0, &|i| {
                !tried.contains(&i) && app.writable(i) && app.placement.has_room(i, 1)
            })
            .ok_or_else(|| S3Error::new(S3ErrorCode::InsufficientStorage))?;
        let backend = &app.backends[choice.backend_index];
        match backend
            .create_multipart(&ctx.shard.backend_ctx(), &bkey, &meta, &upload_id)
            .await
        {
            Ok(id) => break (backend, id),
            Err(e) if e.retry_elsewhere => {
                tracing::warn!(request_id = ctx.request_id, backend = backend.name, error = %e, "CreateMultipartUpload failed; trying the next backend");
                tried.push(choice.backend_index);
            }
            Err(e) => return Err(e),
        }
    };
    let record = MultipartRecord {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        upload_id: upload_id.clone(),
        backend: backend.name.clone(),
        backend_key: bkey,
        backend_upload_id,
        initiated_ms: now_ms(),
        content_type: meta.content_type.clone(),
        cache_control: meta.cache_control.clone(),
        content_disposition: meta.content_disposition.clone(),
        content_encoding: meta.content_encoding.clone(),
        content_language: meta.content_language.clone(),
        expires: meta.expires.clone(),
        checksum_algorithm: ctx
            .head
            .header_str("x-amz-checksum-algorithm")
            .map(str::to_owned),
        user_metadata: meta.user_metadata.clone(),
    };
    if !app
        .catalog
        .create_multipart(record)
        .await
        .map_err(catalog_error)?
    {
        return Err(S3Error::internal("upload id collision"));
    }
    let mut w = XmlWriter::new();
    w.root("InitiateMultipartUploadResult");
    w.elem("Bucket", bucket);
    w.elem("Key", key);
    w.elem("UploadId", &upload_id);
    w.close("InitiateMultipartUploadResult");
    Ok(Response::xml(200, w.finish()))
}

pub async fn handle_upload_part(
    ctx: &RequestCtx<'_>,
    body: &mut BodyReader<'_>,
) -> S3Result<Response> {
    let upload = upload_of(ctx)?;
    let n = part_number(ctx)?;
    let size = body
        .decoded_len()
        .ok_or_else(|| S3Error::new(S3ErrorCode::MissingContentLength))?;
    if size > MAX_PART_BYTES {
        return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
    }
    let app = &ctx.app;
    let _in_flight = super::write::charge_in_flight(ctx, size)?;
    let (backend, reservation) = reserve_on_upload_backend(ctx, &upload, size)?;
    let integrity = Integrity::from_request(ctx.head, &ctx.auth);
    let writer = backend
        .begin_part(
            &ctx.shard.backend_ctx(),
            &upload.backend_key,
            &upload.backend_upload_id,
            n,
            size,
            &integrity,
        )
        .await?;
    let etag = super::write::stream_body(ctx, body, writer).await?;
    hold_part(app, &upload, n, size, &etag, reservation).await?;
    let mut r = Response::new(200);
    r.header("ETag", quote_etag(&etag));
    if let Some(s) = body.summary() {
        if let Some((alg, v)) = &s.checksum {
            r.header(alg.header_name(), v.to_b64());
        }
    }
    Ok(r)
}

pub async fn handle_upload_part_copy(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let upload = upload_of(ctx)?;
    let n = part_number(ctx)?;
    let (_, _, src) = super::copy::copy_source_object(ctx)?;
    let app = &ctx.app;
    let range = match ctx.head.header_str("x-amz-copy-source-range") {
        None => None,
        Some(h) => Some(
            crate::s3::range::parse_range(Some(h), src.size)?.ok_or_else(|| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "The x-amz-copy-source-range value must be of the form bytes=first-last",
                )
            })?,
        ),
    };
    let size = range.map(|r| r.end - r.start + 1).unwrap_or(src.size);
    let _in_flight = super::write::charge_in_flight(ctx, size)?;
    let (backend, reservation) = reserve_on_upload_backend(ctx, &upload, size)?;
    let bctx = ctx.shard.backend_ctx();
    // Server-side at the provider when the source has a copy on the upload's backend.
    let same = src
        .complete_copies()
        .find(|c| c.backend == upload.backend)
        .cloned();
    let etag = match (&backend.kind, same) {
        (BackendKind::S3(s3), Some(c)) => {
            s3.upload_part_copy(
                &bctx,
                &upload.backend_key,
                &upload.backend_upload_id,
                n,
                &c.backend_key,
                range,
            )
            .await?
        }
        _ => {
            let mut stream = super::read::open_object(ctx, &src, range).await?;
            let writer = backend
                .begin_part(
                    &bctx,
                    &upload.backend_key,
                    &upload.backend_upload_id,
                    n,
                    size,
                    &Integrity::default(),
                )
                .await?;
            crate::backend::pump::pump(&mut stream, writer, size, &crate::backend::pump::Unpaced)
                .await?
        }
    };
    hold_part(app, &upload, n, size, &etag, reservation).await?;
    let mut w = XmlWriter::new();
    w.root("CopyPartResult");
    w.elem("ETag", &quote_etag(&etag));
    w.elem("LastModified", &iso8601_ms(now_ms()));
    w.close("CopyPartResult");
    Ok(Response::xml(200, w.finish()))
}

fn parse_complete_document(doc: &[u8]) -> S3Result<Vec<(u32, String)>> {
    Ok(crate::s3::xml::parse_complete_multipart_upload(doc)?
        .into_iter()
        .map(|p| {
            (
                p.part_number,
                crate::s3::etag::unquote_etag(&p.etag).to_owned(),
            )
        })
        .collect())
}

pub async fn handle_complete_multipart_upload(
    ctx: &RequestCtx<'_>,
    body: &mut BodyReader<'_>,
) -> S3Result<Response> {
    let upload = match upload_of(ctx) {
        Ok(upload) => upload,
        Err(e) if e.code == S3ErrorCode::NoSuchUpload => {
            return super::multipart_retry::answer_completed(ctx)
        }
        Err(e) => return Err(e),
    };
    let doc = body.read_to_vec(MAX_COMPLETE_DOCUMENT_BYTES).await?;
    let parts = super::xml_body::parse_xml_body(doc, parse_complete_document).await?;
    let app = &ctx.app;
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let _guard = app.key_locks.lock(bucket, key).await;
    // A retry that waited for the first Complete to finish gets that one's answer.
    if app
        .catalog
        .get_multipart(&upload.upload_id)
        .map_err(catalog_error)?
        .is_none()
    {
        return super::multipart_retry::answer_completed(ctx);
    }
    // Under the key lock, before the backend assembles anything (`write_conditions`). A
    // refused Complete leaves the upload as it was: the client may retry it or abort it.
    super::write_conditions::check_current(ctx, bucket, key)?;
    let latest = super::multipart_parts::latest_etags(app, &upload.upload_id)?;
    super::multipart_parts::check_latest(&parts, &latest)?;
    let backend = app.backend_by_name(&upload.backend).ok_or_else(|| {
        S3Error::backend(
            S3ErrorCode::ServiceUnavailable,
            "the upload's backend is gone",
        )
    })?;
    let (etag, size) = backend
        .complete_multipart(
            &ctx.shard.backend_ctx(),
            &upload.backend_key,
            &upload.backend_upload_id,
            &parts,
        )
        .await?;
    let record = ObjectRecord {
        size,
        etag: etag.clone(),
        content_type: upload.content_type.clone(),
        cache_control: upload.cache_control.clone(),
        content_disposition: upload.content_disposition.clone(),
        content_encoding: upload.content_encoding.clone(),
        content_language: upload.content_language.clone(),
        expires: upload.expires.clone(),
        user_metadata: upload.user_metadata.clone(),
        last_modified_ms: now_ms(),
        parts_count: Some(parts.len() as u32),
        copies: vec![Copy {
            backend: upload.backend.clone(),
            backend_key: upload.backend_key.clone(),
            state: CopyState::Complete,
        }],
        ..Default::default()
    };
    let outcome = app
        .catalog
        .complete_multipart(&upload.upload_id, record, app.replication_intents())
        .await
        .map_err(catalog_error)?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchUpload))?;
    app.placement.add_usage(&upload.backend, size, 1);
    app.uploads.release(&upload.upload_id);
    if let Some(prev) = outcome.previous {
        for c in &prev.copies {
            app.placement.release_usage(&c.backend, prev.size, 1);
        }
    }
    app.wake_background();
    Ok(super::multipart_retry::complete_result(bucket, key, &etag))
}

pub async fn handle_abort_multipart_upload(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let upload = upload_of(ctx)?;
    abort_upload(ctx.app, &ctx.shard.backend_ctx(), &upload).await?;
    Ok(Response::new(204))
}

pub async fn abort_upload(
    app: &App,
    bctx: &crate::backend::BackendCtx<'_>,
    upload: &MultipartRecord,
) -> S3Result<()> {
    if let Some(backend) = app.backend_by_name(&upload.backend) {
        backend
            .abort_multipart(bctx, &upload.backend_key, &upload.backend_upload_id)
            .await?;
    }
    app.catalog
        .delete_multipart(&upload.upload_id)
        .await
        .map_err(catalog_error)?;
    app.uploads.release(&upload.upload_id);
    Ok(())
}

pub async fn handle_list_parts(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let upload = upload_of(ctx)?;
    let app = &ctx.app;
    let marker: u32 = ctx
        .route
        .query_param("part-number-marker")
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let max: u32 = ctx
        .route
        .query_param("max-parts")
        .and_then(|m| m.parse().ok())
        .map(|m: u32| m.min(MAX_LIST_PARTS))
        .unwrap_or(MAX_LIST_PARTS);
    let backend = app.backend_by_name(&upload.backend).ok_or_else(|| {
        S3Error::backend(
            S3ErrorCode::ServiceUnavailable,
            "the upload's backend is gone",
        )
    })?;
    let (parts, truncated, next): (Vec<PartInfo>, bool, u32) = match &backend.kind {
        BackendKind::S3(s3) => {
            s3.list_parts(
                &ctx.shard.backend_ctx(),
                &upload.backend_key,
                &upload.backend_upload_id,
                marker,
                max,
            )
            .await?
        }
        BackendKind::Local(l) => {
            let all = l.list_parts(&upload.backend_upload_id).await?;
            let after: Vec<_> = all.into_iter().filter(|p| p.0 > marker).collect();
            let truncated = after.len() > max as usize;
            let page: Vec<PartInfo> = after
                .into_iter()
                .take(max as usize)
                .map(|(n, etag, size)| PartInfo {
                    part_number: n,
                    etag,
                    size,
                    last_modified: None,
                })
                .collect();
            let next = page.last().map(|p| p.part_number).unwrap_or(0);
            (page, truncated, next)
        }
    };
    let latest = super::multipart_parts::latest_etags(app, &upload.upload_id)?;
    let parts = super::multipart_parts::keep_latest(parts, &latest);
    let mut w = XmlWriter::new();
    w.root("ListPartsResult");
    w.elem("Bucket", &upload.bucket);
    w.elem("Key", &upload.key);
    w.elem("UploadId", &upload.upload_id);
    w.elem_display("PartNumberMarker", marker);
    w.elem_display("NextPartNumberMarker", next);
    w.elem_display("MaxParts", max);
    w.elem("IsTruncated", if truncated { "true" } else { "false" });
    w.elem("StorageClass", "STANDARD");
    for p in parts {
        w.open("Part");
        w.elem_display("PartNumber", p.part_number);
        w.elem(
            "LastModified",
            p.last_modified
                .as_deref()
                .unwrap_or(&iso8601_ms(upload.initiated_ms)),
        );
        w.elem("ETag", &quote_etag(&p.etag));
        w.elem_display("Size", p.size);
        w.close("Part");
    }
    w.close("ListPartsResult");
    Ok(Response::xml(200, w.finish()))
}

pub fn handle_list_multipart_uploads(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let bucket = ctx.bucket()?;
    let max = ctx
        .route
        .query_param("max-uploads")
        .and_then(|m| m.parse::<u32>().ok())
        .map(|m| m.min(MAX_LIST_PARTS))
        .unwrap_or(MAX_LIST_PARTS);
    let q = MultipartQuery {
        prefix: ctx.route.query_param("prefix").unwrap_or("").to_owned(),
        key_marker: ctx
            .route
            .query_param("key-marker")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        upload_id_marker: ctx
            .route
            .query_param("upload-id-marker")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        max_uploads: max as usize,
    };
    let page = ctx
        .app
        .catalog
        .list_multipart(bucket, &q)
        .map_err(catalog_error)?;
    let mut w = XmlWriter::new();
    w.root("ListMultipartUploadsResult");
    w.elem("Bucket", bucket);
    w.elem("KeyMarker", q.key_marker.as_deref().unwrap_or(""));
    w.elem(
        "UploadIdMarker",
        q.upload_id_marker.as_deref().unwrap_or(""),
    );
    w.elem(
        "NextKeyMarker",
        page.next_key_marker.as_deref().unwrap_or(""),
    );
    w.elem(
        "NextUploadIdMarker",
        page.next_upload_id_marker.as_deref().unwrap_or(""),
    );
    w.elem("Prefix", &q.prefix);
    w.elem_display("MaxUploads", max);
    w.elem(
        "IsTruncated",
        if page.is_truncated { "true" } else { "false" },
    );
    for u in &page.uploads {
        w.open("Upload");
        w.elem("Key", &u.key);
        w.elem("UploadId", &u.upload_id);
        super::owner::write_owner(&mut w, "Initiator");
        super::owner::write_owner(&mut w, "Owner");
        w.elem("StorageClass", "STANDARD");
        w.elem("Initiated", &iso8601_ms(u.initiated_ms));
        w.close("Upload");
    }
    w.close("ListMultipartUploadsResult");
    Ok(Response::xml(200, w.finish()))
}

/// `buckets[].max_multipart_uploads`: a configured bucket with a limit refuses a new upload once
/// it has that many in progress, with `503 SlowDown` as the Go project answers (the client backs
/// off and retries; completing or aborting an upload, or its expiry, frees a place). The count
/// and the create are not one atomic step: uploads created at the same moment may pass the
/// limit by the few in flight.
pub fn check_upload_limit(ctx: &RequestCtx<'_>, bucket: &str) -> S3Result<()> {
    let limit = ctx
        .app
        .config()
        .bucket(bucket)
        .map_or(0, |b| b.max_multipart_uploads);
    if limit == 0 {
        return Ok(());
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let open = ctx
        .app
        .catalog
        .count_multipart(bucket, limit)
        .map_err(catalog_error)?;
    if open >= limit {
        return Err(S3Error::with_message(
            S3ErrorCode::SlowDown,
            "Too many active multipart uploads",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_document() {
        let doc = br#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"a1"</ETag><PartNumber>1</PartNumber></Part><Part><PartNumber>3</PartNumber><ETag>&quot;b2&quot;</ETag></Part></CompleteMultipartUpload>"#;
        assert_eq!(
            parse_complete_document(doc).expect("parses"),
            vec![(1, "a1".into()), (3, "b2".into())]
        );
        let bad_order = b"<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>x</ETag></Part><Part><PartNumber>1</PartNumber><ETag>y</ETag></Part></CompleteMultipartUpload>";
        assert_eq!(
            parse_complete_document(bad_order).expect_err("order").code,
            S3ErrorCode::InvalidPartOrder
        );
        assert_eq!(
            parse_complete_document(b"<CompleteMultipartUpload/>")
                .expect_err("empty")
                .code,
            S3ErrorCode::MalformedXML
        );
        assert!(parse_complete_document(b"<Part><PartNumber>x</PartNumber></Part>").is_err());
    }

    #[test]
    fn upload_ids_sort_by_time() {
        let a = new_upload_id();
        assert_eq!(a.len(), 28);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
