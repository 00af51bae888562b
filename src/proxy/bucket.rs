//! Bucket-level operations answered by the orchestrator itself: ListBuckets, CreateBucket,
//! DeleteBucket, HeadBucket, GetBucketLocation and the sub-resources clients probe (versioning,
//! ACLs, policy, lifecycle, encryption, CORS), which an orchestrator bucket does not configure.

use super::catalog_error;
use super::owner::{write_owner, write_owner_fields};
use super::{RequestCtx, Response};
use crate::catalog::{CreateBucketOutcome, DeleteBucketOutcome, MultipartQuery, MAX_LIST_KEYS};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::xml::{iso8601_ms, XmlWriter};
use crate::server::body::BodyReader;
use crate::util::clock::now_ms;

/// The region reported for virtual buckets (any region is accepted in signatures).
pub const REGION: &str = "us-east-1";

/// Largest CreateBucketConfiguration document we read (it only names a location).
pub const MAX_CREATE_BUCKET_DOCUMENT_BYTES: usize = 16 * 1024;

/// ListBuckets, paged as S3 has since 2024 (`max-buckets`, `continuation-token`, `prefix`; see
/// `list::bucket_page`): `ContinuationToken` when more buckets follow, `Prefix` when one was sent.
pub fn handle_list_buckets(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let visible = ctx.app.visible_buckets(&ctx.auth.access_key_id);
    let page = super::list::bucket_page(ctx, visible)?;
    let mut w = XmlWriter::new();
    w.root("ListAllMyBucketsResult");
    write_owner(&mut w, "Owner");
    w.open("Buckets");
    for (name, created_ms) in &page.buckets {
        w.open("Bucket");
        w.elem("Name", name);
        w.elem("CreationDate", &iso8601_ms(*created_ms));
        w.elem("BucketRegion", REGION);
        w.close("Bucket");
    }
    w.close("Buckets");
    if let Some(token) = &page.next_token {
        w.elem("ContinuationToken", token);
    }
    if let Some(prefix) = ctx.route.query_param("prefix") {
        w.elem("Prefix", prefix);
    }
    w.close("ListAllMyBucketsResult");
    Ok(Response::xml(200, w.finish()))
}

pub fn handle_head_bucket(_ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let mut r = Response::new(200);
    r.header("x-amz-bucket-region", REGION);
    Ok(r)
}

pub fn handle_get_bucket_location(_ctx: &RequestCtx<'_>) -> S3Result<Response> {
    // us-east-1 is reported as an empty LocationConstraint, as S3 does.
    let mut w = XmlWriter::new();
    w.out
        .push_str("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
    Ok(Response::xml(200, w.finish()))
}

pub fn handle_get_bucket_versioning(_ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let mut w = XmlWriter::new();
    w.out
        .push_str("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
    Ok(Response::xml(200, w.finish()))
}

/// GetBucketAcl and GetObjectAcl: the owner has FULL_CONTROL (read-only; PutAcl is not offered).
pub fn handle_get_acl(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    if ctx.route.key.is_some() {
        // GetObjectAcl on a missing key is NoSuchKey.
        ctx.app
            .catalog
            .get_object(ctx.bucket()?, ctx.key()?)
            .map_err(catalog_error)?
            .ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey))?;
    }
    let mut w = XmlWriter::new();
    w.root("AccessControlPolicy");
    write_owner(&mut w, "Owner");
    w.open("AccessControlList");
    w.out.push_str("<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">");
    write_owner_fields(&mut w);
    w.out.push_str("</Grantee>");
    w.elem("Permission", "FULL_CONTROL");
    w.out.push_str("</Grant>");
    w.close("AccessControlList");
    w.close("AccessControlPolicy");
    Ok(Response::xml(200, w.finish()))
}

/// Sub-resources an orchestrator bucket never has: the proper "not configured" answers.
pub fn handle_not_configured(code: S3ErrorCode) -> S3Result<Response> {
    Err(S3Error::new(code))
}

/// S3's bucket naming rules (the config uses the same ones).
pub fn check_bucket_name(name: &str) -> S3Result<()> {
    match crate::config::bucket_name_problem(name) {
        None => Ok(()),
        Some(why) => Err(S3Error::with_message(
            S3ErrorCode::InvalidBucketName,
            format!("The specified bucket is not valid: {why}"),
        )),
    }
}

/// CreateBucket: admin credentials only. The bucket is stored in the catalog (durable, survives
/// restarts and reloads) and belongs to its creator. A name under which objects or uploads are
/// still stored (an orphaned bucket) is refused with `BucketAlreadyExists`, decided atomically
/// with the other catalog writes.
pub async fn handle_create_bucket(
    ctx: &RequestCtx<'_>,
    body: &mut BodyReader<'_>,
) -> S3Result<Response> {
    let name = ctx.bucket()?;
    let app = ctx.app;
    let caller = &ctx.auth.access_key_id;
    let is_admin = app.credentials.get(caller).is_some_and(|c| c.admin);
    check_bucket_name(name)?;
    if app.is_config_bucket(name) {
        return Err(S3Error::new(if app.may_use(caller, name) {
            S3ErrorCode::BucketAlreadyOwnedByYou
        } else {
            S3ErrorCode::BucketAlreadyExists
        }));
    }
    if !is_admin {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "creating buckets needs an admin credential",
        ));
    }
    // The optional CreateBucketConfiguration only names a location, which we do not use.
    let _ = body.read_to_vec(MAX_CREATE_BUCKET_DOCUMENT_BYTES).await?;
    match app
        .catalog
        .create_bucket(name, caller, now_ms())
        .await
        .map_err(catalog_error)?
    {
        CreateBucketOutcome::Created => {
            tracing::info!(bucket = name, owner = %caller, "bucket created");
            let mut r = Response::new(200);
            r.header("Location", format!("/{name}"));
            Ok(r)
        }
        CreateBucketOutcome::AlreadyExists { owner } => Err(S3Error::new(if owner == *caller {
            S3ErrorCode::BucketAlreadyOwnedByYou
        } else {
            S3ErrorCode::BucketAlreadyExists
        })),
        // Objects or uploads with no owner (an orphan: a config bucket taken out of the config)
        // are someone else's until an operator purges or re-binds them (admin API
        // `/admin/orphans`): a new bucket of that name would hand them to its creator.
        CreateBucketOutcome::HoldsData => {
            tracing::warn!(
                bucket = name,
                caller = %caller,
                "CreateBucket refused: objects or uploads with no owner are stored under this name"
            );
            Err(S3Error::new(S3ErrorCode::BucketAlreadyExists))
        }
    }
}

/// DeleteBucket: API buckets only (config buckets are the config's). Objects make a bucket "not
/// empty"; unfinished multipart uploads do not: as S3 does, they are aborted at their backends and
/// the bucket is deleted (`204`), so a cleanup loop "delete every object, then DeleteBucket"
/// succeeds over leftover uploads.
///
/// Order: the bucket must exist and hold no object before anything is aborted (a refused delete
/// aborts nothing); then one pass aborts the uploads already there, the catalog deletes the
/// bucket (checking for objects again, atomically), and a second pass aborts any upload created
/// meanwhile, so none outlives its bucket as an orphan. A backend that fails an abort fails the
/// request (503, retryable) before the bucket is deleted; the uploads aborted so far stay aborted.
pub async fn handle_delete_bucket(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let name = ctx.bucket()?;
    let app = ctx.app;
    if app.is_config_bucket(name) {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "this bucket is defined in the orchestrator's config; remove it there",
        ));
    }
    if app
        .catalog
        .get_bucket(name)
        .map_err(catalog_error)?
        .is_none()
    {
        return Err(S3Error::new(S3ErrorCode::NoSuchBucket));
    }
    if holds_objects(ctx, name)? {
        return Err(S3Error::new(S3ErrorCode::BucketNotEmpty));
    }
    let aborted = abort_bucket_uploads(ctx, name).await?;
    match app
        .catalog
        .delete_bucket(name)
        .await
        .map_err(catalog_error)?
    {
        DeleteBucketOutcome::Deleted(_) => {
            // Uploads created between the first pass and the delete: best effort, the bucket is
            // gone whatever happens here (the stale-upload expiry catches what this misses).
            let late = match abort_bucket_uploads(ctx, name).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(request_id = ctx.request_id, bucket = name, error = %e, "DeleteBucket: an upload created during the delete was not aborted");
                    0
                }
            };
            tracing::info!(
                bucket = name,
                aborted_uploads = aborted + late,
                "bucket deleted"
            );
            Ok(Response::new(204))
        }
        DeleteBucketOutcome::NotFound => Err(S3Error::new(S3ErrorCode::NoSuchBucket)),
        DeleteBucketOutcome::NotEmpty => Err(S3Error::new(S3ErrorCode::BucketNotEmpty)),
    }
}

/// Whether `bucket` holds at least one object.
fn holds_objects(ctx: &RequestCtx<'_>, bucket: &str) -> S3Result<bool> {
    let q = crate::catalog::ListQuery {
        max_keys: 1,
        ..Default::default()
    };
    let page = ctx
        .app
        .catalog
        .list_objects(bucket, &q)
        .map_err(catalog_error)?;
    Ok(!page.entries.is_empty())
}

/// Aborts every upload of `bucket` (at its backend, then in the catalog, releasing its
/// reservations) in one pass over the listing; returns how many. Bounded by the uploads that
/// exist when each page is read: the pass resumes after the last upload of the previous page.
async fn abort_bucket_uploads(ctx: &RequestCtx<'_>, bucket: &str) -> S3Result<usize> {
    let app = ctx.app;
    let bctx = ctx.shard.backend_ctx();
    let mut query = MultipartQuery {
        max_uploads: MAX_LIST_KEYS,
        ..Default::default()
    };
    let mut aborted = 0;
    loop {
        let page = app
            .catalog
            .list_multipart(bucket, &query)
            .map_err(catalog_error)?;
        for upload in &page.uploads {
            super::multipart::abort_upload(app, &bctx, upload).await?;
            aborted += 1;
        }
        let Some(last) = page.uploads.last().filter(|_| page.is_truncated) else {
            return Ok(aborted);
        };
        query.key_marker = Some(last.key.clone());
        query.upload_id_marker = Some(last.upload_id.clone());
    }
}
