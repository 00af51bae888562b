//! The orchestration layer: ties the S3 protocol (`s3`) to placement, the catalog and backends.
//!
//! [`prepare`] turns a parsed head into an authenticated, authorized [`RequestCtx`] (routing,
//! SigV4, credential → virtual bucket) plus the payload verifier for its body; [`dispatch`] runs
//! the handler named after the AWS operation. Handlers return a [`Response`]; errors are
//! rendered in exactly one place, [`error_response`].

pub mod auth;
pub mod bucket;
pub mod copy;
pub mod list;
pub mod multipart;
pub mod object;
pub mod read;
pub mod response;
pub mod write;

pub use response::{error_response, Response, ResponseBody};

use crate::http::RequestHead;
use crate::state::App;
use crate::s3::auth::VerifiedRequest;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::router::{Route, S3Operation};
use crate::server::body::BodyReader;
use crate::server::shard::Shard;

/// An authenticated request on its way to a handler.
pub struct RequestCtx<'a> {
    pub shard: &'a Shard,
    /// The state this request runs on (a reload mid-request does not change it).
    pub app: &'a App,
    pub head: &'a RequestHead,
    pub route: Route,
    pub request_id: &'a str,
    pub auth: VerifiedRequest,
}

impl RequestCtx<'_> {
    /// `/bucket/key` as S3 reports in `<Resource>`.
    pub fn resource(&self) -> String {
        resource_of(&self.route)
    }

    pub fn bucket(&self) -> S3Result<&str> {
        self.route.bucket.as_deref().ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::InvalidRequest, "a bucket is required")
        })
    }

    pub fn key(&self) -> S3Result<&str> {
        self.route
            .key
            .as_deref()
            .ok_or_else(|| S3Error::with_message(S3ErrorCode::InvalidRequest, "a key is required"))
    }
}

fn resource_of(route: &Route) -> String {
    let mut s = String::new();
    let _ = write_resource(&mut s, route.bucket.as_deref(), route.key.as_deref());
    s
}

/// `/bucket/key`, `/bucket` or `/`, as S3 reports in `<Resource>`.
fn write_resource(
    out: &mut impl std::fmt::Write,
    bucket: Option<&str>,
    key: Option<&str>,
) -> std::fmt::Result {
    match (bucket, key) {
        (Some(b), Some(k)) => write!(out, "/{b}/{k}"),
        (Some(b), None) => write!(out, "/{b}"),
        _ => out.write_str("/"),
    }
}

/// The resource a request concerns, formatted only when shown: in an error body or a log line,
/// not on every request.
pub enum Resource {
    /// Bucket and key moved out of the finished request's route.
    Route {
        bucket: Option<String>,
        key: Option<String>,
    },
    /// Already a string (a request that failed before it was routed).
    Text(String),
}

impl Resource {
    pub fn of(route: Route) -> Resource {
        Resource::Route {
            bucket: route.bucket,
            key: route.key,
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Route { bucket, key } => write_resource(f, bucket.as_deref(), key.as_deref()),
            Resource::Text(t) => f.write_str(t),
        }
    }
}

/// The prepared request: context plus the body's verifier and declared decoded length.
pub type Prepared<'a> = (RequestCtx<'a>, Option<(auth::BodyVerifier, Option<u64>)>);

/// Routes, authenticates and authorizes. On error returns the error and the resource it concerns.
pub fn prepare<'a>(
    shard: &'a Shard,
    app: &'a App,
    head: &'a RequestHead,
    request_id: &'a str,
) -> Result<Prepared<'a>, (S3Error, String)> {
    let cfg = app.config();
    let host = head.header_str("host");
    let has_copy_source = head.header("x-amz-copy-source").is_some();
    let route = crate::s3::router::route(
        head.method(),
        head.path(),
        head.query(),
        host,
        cfg.server.domain.as_deref(),
        has_copy_source,
    )
    .map_err(|e| (e, head.path().to_owned()))?;
    // The resource string only for an error (no allocation on the way to a handler).
    let fail = |e: S3Error| (e, resource_of(&route));
    let mut verified = auth::authenticate(shard, app, head).map_err(fail)?;
    auth::authorize(app, &verified.access_key_id, &route).map_err(fail)?;
    if !app.health.admit_credential(&verified.access_key_id) {
        return Err(fail(S3Error::new(S3ErrorCode::SlowDown)));
    }
    let payload = auth::payload_verifier(head, &route, &mut verified).map_err(fail)?;
    Ok((
        RequestCtx {
            shard,
            app,
            head,
            route,
            request_id,
            auth: verified,
        },
        payload,
    ))
}

/// Runs the handler for the routed operation.
pub async fn dispatch(ctx: &RequestCtx<'_>, body: &mut BodyReader<'_>) -> S3Result<Response> {
    use S3Operation::*;
    match ctx.route.operation {
        ListBuckets => bucket::handle_list_buckets(ctx),
        HeadBucket => bucket::handle_head_bucket(ctx),
        GetBucketLocation => bucket::handle_get_bucket_location(ctx),
        GetBucketVersioning => bucket::handle_get_bucket_versioning(ctx),
        ListObjectsV2 => list::handle_list_objects_v2(ctx),
        ListObjects => list::handle_list_objects(ctx),
        ListObjectVersions => list::handle_list_object_versions(ctx),
        PutObject => object::handle_put_object(ctx, body).await,
        GetObject => object::handle_get_object(ctx).await,
        HeadObject => object::handle_head_object(ctx),
        DeleteObject => object::handle_delete_object(ctx).await,
        DeleteObjects => object::handle_delete_objects(ctx, body).await,
        CopyObject => copy::handle_copy_object(ctx).await,
        CreateMultipartUpload => multipart::handle_create_multipart_upload(ctx).await,
        UploadPart => multipart::handle_upload_part(ctx, body).await,
        UploadPartCopy => multipart::handle_upload_part_copy(ctx).await,
        CompleteMultipartUpload => multipart::handle_complete_multipart_upload(ctx, body).await,
        AbortMultipartUpload => multipart::handle_abort_multipart_upload(ctx).await,
        ListParts => multipart::handle_list_parts(ctx).await,
        ListMultipartUploads => multipart::handle_list_multipart_uploads(ctx),
        CreateBucket => bucket::handle_create_bucket(ctx, body).await,
        DeleteBucket => bucket::handle_delete_bucket(ctx).await,
        GetBucketAcl | GetObjectAcl => bucket::handle_get_acl(ctx),
        GetBucketPolicy => bucket::handle_not_configured(S3ErrorCode::NoSuchBucketPolicy),
        GetBucketLifecycleConfiguration => {
            bucket::handle_not_configured(S3ErrorCode::NoSuchLifecycleConfiguration)
        }
        GetBucketEncryption => bucket::handle_not_configured(
            S3ErrorCode::ServerSideEncryptionConfigurationNotFoundError,
        ),
        GetBucketCors => bucket::handle_not_configured(S3ErrorCode::NoSuchCORSConfiguration),
    }
}
