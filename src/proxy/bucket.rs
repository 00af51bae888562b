//! Bucket-level operations answered by the orchestrator itself.

use super::{RequestCtx, Response};
use crate::s3::error::S3Result;
use crate::s3::xml::{iso8601_ms, XmlWriter};

/// The owner shown in listings and ACLs: the orchestrator presents one owner for everything.
pub const OWNER_ID: &str = "s3-orchestrator";
pub const OWNER_DISPLAY_NAME: &str = "s3-orchestrator";

/// The region reported for virtual buckets (any region is accepted in signatures).
pub const REGION: &str = "us-east-1";

pub fn handle_list_buckets(ctx: &RequestCtx<'_>) -> S3Result<Response> {
    let app = &ctx.app;
    let created_ms = app
        .started
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut w = XmlWriter::new();
    w.root("ListAllMyBucketsResult");
    w.open("Owner");
    w.elem("ID", OWNER_ID);
    w.elem("DisplayName", OWNER_DISPLAY_NAME);
    w.close("Owner");
    w.open("Buckets");
    if let Some(cred) = app.credentials.get(&ctx.auth.access_key_id) {
        let mut names: Vec<&String> = cred.buckets.iter().collect();
        names.sort();
        for name in names {
            w.open("Bucket");
            w.elem("Name", name);
            w.elem("CreationDate", &iso8601_ms(created_ms));
            w.close("Bucket");
        }
    }
    w.close("Buckets");
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

/// CreateBucket on a bucket this credential already has: S3 answers BucketAlreadyOwnedByYou.
/// (Creating new buckets through the API needs an admin credential, refused in authorization.)
pub fn handle_create_bucket(_ctx: &RequestCtx<'_>) -> S3Result<Response> {
    Err(crate::s3::error::S3Error::new(
        crate::s3::error::S3ErrorCode::BucketAlreadyOwnedByYou,
    ))
}
