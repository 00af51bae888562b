//! CopyObject: server-side at the provider when source and destination can share a backend,
//! streamed from a source copy to the destination backend otherwise.

use super::catalog_error;
use super::get::{evaluate_conditions, ConditionHeaders};
use super::put::MAX_SINGLE_PUT_BYTES;
use super::{RequestCtx, Response};
use crate::backend::pump::{pump, Unpaced};
use crate::backend::Integrity;
use crate::backend::{backend_key, ObjectMeta};
use crate::catalog::{Copy, CopyState, ObjectRecord};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::quote_etag;
use crate::s3::xml::{iso8601_ms, XmlWriter};
use crate::state::placement::Reservation;
use crate::util::clock::now_ms;

/// `x-amz-copy-source-if-*` preconditions against the source record (any failure is
/// `PreconditionFailed`).
fn check_copy_source_conditions(ctx: &RequestCtx<'_>, src: &ObjectRecord) -> S3Result<()> {
    const COPY_SOURCE_CONDITIONS: ConditionHeaders = ConditionHeaders {
        if_match: "x-amz-copy-source-if-match",
        if_unmodified_since: "x-amz-copy-source-if-unmodified-since",
        if_none_match: "x-amz-copy-source-if-none-match",
        if_modified_since: "x-amz-copy-source-if-modified-since",
    };
    evaluate_conditions(
        ctx,
        src,
        &COPY_SOURCE_CONDITIONS,
        S3ErrorCode::PreconditionFailed,
    )
}

/// `x-amz-copy-source` → (bucket, key), checking the caller may read the source bucket.
fn copy_source(ctx: &RequestCtx<'_>) -> S3Result<(String, String)> {
    let raw = ctx.head.header_str("x-amz-copy-source").ok_or_else(|| {
        S3Error::with_message(S3ErrorCode::InvalidArgument, "missing x-amz-copy-source")
    })?;
    let raw = raw.trim();
    let (path, version) = match raw.split_once('?') {
        Some((p, q)) => (p, q.strip_prefix("versionId=")),
        None => (raw, None),
    };
    if let Some(v) = version {
        if v != "null" {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Invalid version id specified",
            ));
        }
    }
    let decoded = crate::s3::router::decode_path(path.trim_start_matches('/'))?;
    let (b, k) = decoded
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
        })?;
    let app = &ctx.app;
    if !app.bucket_exists(b) {
        return Err(S3Error::new(S3ErrorCode::NoSuchBucket));
    }
    // Copying out of a bucket is reading it.
    if !app
        .permissions(&ctx.auth.access_key_id, b)
        .contains(crate::config::Permissions::READ)
    {
        return Err(S3Error::new(S3ErrorCode::AccessDenied));
    }
    Ok((b.to_owned(), k.to_owned()))
}

/// The object `x-amz-copy-source` names, as (bucket, key, record), once the caller may read it
/// and the `x-amz-copy-source-if-*` conditions hold (CopyObject and UploadPartCopy).
pub fn copy_source_object(ctx: &RequestCtx<'_>) -> S3Result<(String, String, ObjectRecord)> {
    let (sb, sk) = copy_source(ctx)?;
    let src = ctx
        .app
        .catalog
        .get_object(&sb, &sk)
        .map_err(catalog_error)?
        .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey))?;
    check_copy_source_conditions(ctx, &src)?;
    Ok((sb, sk, src))
}

pub async fn handle_copy_object(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let (bucket, key) = (ctx.bucket()?, ctx.key()?);
    let (sb, sk, src) = copy_source_object(ctx)?;
    let app = &ctx.app;
    if src.size > MAX_SINGLE_PUT_BYTES {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120",
        ));
    }
    let replace = metadata_replaced(ctx)?;
    if sb == bucket && sk == key && !replace {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let meta = if replace {
        ObjectMeta::from_headers(ctx.head)?
    } else {
        ObjectMeta::from_record(&src)
    };
    let _in_flight = super::write::charge_in_flight(ctx, src.size)?;
    let _guard = app.key_locks.lock(bucket, key).await;
    // The destination's If-None-Match / If-Match, as for PutObject (`write_conditions`).
    super::write_conditions::check_current(ctx, bucket, key)?;
    let dst_key = backend_key(bucket, key);
    let (reservation, etag) = copy_bytes(ctx, &src, &dst_key, &meta).await?;
    let mut record = ObjectRecord {
        size: src.size,
        etag: etag.clone(),
        last_modified_ms: now_ms(),
        checksum: src.checksum.clone(),
        copies: vec![Copy {
            backend: reservation.backend().to_owned(),
            backend_key: dst_key,
            state: CopyState::Complete,
        }],
        ..Default::default()
    };
    meta.apply_to(&mut record);
    let modified = record.last_modified_ms;
    super::write::commit_new_object(app, bucket, key, record, reservation).await?;
    let mut w = XmlWriter::new();
    w.root("CopyObjectResult");
    w.elem("LastModified", &iso8601_ms(modified));
    w.elem("ETag", &quote_etag(&etag));
    w.close("CopyObjectResult");
    Ok(Response::xml(200, w.finish()))
}

/// `x-amz-metadata-directive`: `COPY` (default) keeps the source's metadata, `REPLACE` takes
/// the request's.
fn metadata_replaced(ctx: &RequestCtx<'_>) -> S3Result<bool> {
    match ctx.head.header_str("x-amz-metadata-directive") {
        None => Ok(false),
        Some(d) if d.eq_ignore_ascii_case("COPY") => Ok(false),
        Some(d) if d.eq_ignore_ascii_case("REPLACE") => Ok(true),
        Some(_) => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Unknown metadata directive.",
        )),
    }
}

/// Copies the source's bytes to `dst_key` on some backend: server-side at the provider when a
/// backend that holds a complete copy can take the object, streamed through this shard from a
/// source copy to the best backend with room otherwise. Returns the reservation and the ETag.
async fn copy_bytes(
    ctx: &RequestCtx<'_>,
    src: &ObjectRecord,
    dst_key: &str,
    meta: &ObjectMeta,
) -> S3Result<(Reservation, String)> {
    let app = &ctx.app;
    let bctx = ctx.shard.backend_ctx();
    // Prefer a backend that already holds the source and has room: the provider copies it.
    let same_backend = src.complete_copies().find_map(|c| {
        let b = app.backend_by_name(&c.backend)?;
        if !app.writable(b.index) {
            return None;
        }
        let r = app.placement.reserve_on(b.index, src.size)?;
        Some((r, b, c.backend_key.clone()))
    });
    match same_backend {
        Some((r, b, src_bkey)) => {
            let etag = b.copy_within(&bctx, &src_bkey, dst_key, meta).await?;
            Ok((r, etag))
        }
        None => {
            let (r, writer) =
                super::write::begin_write(ctx, src.size, dst_key, meta, &Integrity::default())
                    .await?;
            let mut stream = match super::read::open_object(ctx, src, None).await {
                Ok(s) => s,
                Err(e) => {
                    writer.abort().await;
                    return Err(e);
                }
            };
            let etag = pump(&mut stream, writer, src.size, &Unpaced).await?;
            Ok((r, etag))
        }
    }
}
