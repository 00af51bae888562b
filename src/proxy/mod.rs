//! The S3 API: the application the data-plane transport (`server`) serves, tying the S3
//! protocol (`s3`) to the shared state (placement, catalog, backends).
//!
//! [`S3Api`] is the [`Service`] each shard runs: [`prepare`] turns a parsed head into an
//! authenticated, authorized [`RequestCtx`] (routing, SigV4, credential → virtual bucket) plus
//! the payload verifier for its body; [`dispatch`] runs the handler named after the AWS
//! operation. Handlers return a [`Response`]; errors are rendered in exactly one place,
//! [`error_response`].

pub mod auth;
pub mod bucket;
pub mod copy;
pub mod delete;
pub mod get;
pub mod list;
pub mod multipart;
pub mod multipart_parts;
pub mod multipart_retry;
pub mod owner;
pub mod put;
pub mod read;
pub mod write;
pub mod write_conditions;
pub mod xml_body;

pub use crate::server::response::{error_response, Response, ResponseBody};

use crate::http::RequestHead;
use crate::s3::auth::VerifiedRequest;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::router::Resource;
use crate::s3::router::{Route, S3Operation};
use crate::server::body::BodyReader;
use crate::server::service::{PendingBody, Request, Served, Service};
use crate::server::shard::Shard;
use crate::server::wire::BodyUse;
use crate::state::App;

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
        self.route.resource()
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

/// A catalog failure as the client sees it: an internal error (the detail goes to the log).
pub fn catalog_error(e: impl std::fmt::Display) -> S3Error {
    S3Error::internal(format!("catalog: {e}"))
}

/// Buckets are unversioned: the only version id is `null` (each object's single version). Any
/// other id names no version, so acting on the object for it would read or delete the wrong thing.
fn check_version_id(version: Option<&str>) -> S3Result<()> {
    match version {
        Some(v) if v != "null" => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Invalid version id specified",
        )),
        _ => Ok(()),
    }
}

/// The S3 API as the shards' service.
pub struct S3Api;

impl Service for S3Api {
    async fn serve<'a>(&'a self, req: Request<'a>, body: PendingBody<'a>) -> Served {
        let request_id = req.request_id;
        let (ctx, verifier) = match prepare(req.shard, req.app, req.head, request_id) {
            Ok(prepared) => prepared,
            Err((err, resource)) => return Served::error(&err, resource, request_id),
        };
        let operation = ctx.route.operation.name();
        let mut body = body.open(verifier);
        let result = dispatch(&ctx, &mut body).await;
        let body_state: BodyUse = body.state();
        let resource = Resource::of(ctx.route);
        let response = match result {
            Ok(r) => r,
            Err(e) => error_response(&e, &resource.to_string(), request_id),
        };
        Served {
            response,
            operation,
            resource,
            body: body_state,
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
    let fail = |e: S3Error| (e, route.resource());
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
        PutObject => put::handle_put_object(ctx, body).await,
        GetObject => get::handle_get_object(ctx).await,
        HeadObject => get::handle_head_object(ctx),
        DeleteObject => delete::handle_delete_object(ctx).await,
        DeleteObjects => delete::handle_delete_objects(ctx, body).await,
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
