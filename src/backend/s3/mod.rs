//! An S3-compatible provider as a backend: requests re-signed with the backend's own credentials
//! and region, sent through the shard's connection pool, bodies streamed both ways.
//!
//! # Layout
//! One file per concern, the operations grouped by family:
//! - this file: [`S3Backend`], built from a backend's config, and its half-open probe.
//! - `request`: the core every operation goes through: sign a request with the backend's
//!   credentials, open it on the shard's pool (`start`, for streamed bodies) or send it whole and
//!   read the answer head (`simple`), recording each call in the backend's metrics and health.
//! - `errors`: provider answers and transport failures as [`S3Error`](crate::s3::error::S3Error)s
//!   (`error_from_response`, `client_error`) and what each failure costs the breaker.
//! - `headers`: the object metadata and integrity headers forwarded to the provider.
//! - `upload`: [`S3Upload`], a PUT (object or part) whose body is streamed to the provider.
//! - `object`: PutObject, GetObject, HeadObject, DeleteObject.
//! - `copy`: CopyObject and UploadPartCopy within the backend, and reading their ETag answers.
//! - `multipart`: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
//!   AbortMultipartUpload, ListParts.

mod copy;
mod errors;
mod headers;
mod multipart;
mod object;
mod request;
mod upload;

pub(crate) use errors::{client_error, error_from_response};
pub use upload::S3Upload;

use super::transport::Target;
use super::BackendCtx;
use crate::config::{BackendConfig, BackendConfigKind, Endpoint};
use crate::health::BackendHealth;
use crate::s3::auth::{uri_encode, Credentials};
use std::sync::Arc;

/// Bodies at least this large are sent with `Expect: 100-continue`, so a backend that refuses
/// (5xx, auth, quota) does so before we consume the client's body and we can still fail over.
/// Smaller bodies go out with the head: a refusal costs little, and a round trip per small PUT
/// would dominate its latency.
const EXPECT_CONTINUE_MIN_BYTES: u64 = 1024 * 1024;

/// Largest backend XML answer we read into memory (error documents, ListParts pages of 1000
/// parts at ~250 bytes each).
const MAX_BACKEND_XML_BYTES: usize = 1024 * 1024;

pub struct S3Backend {
    pub(crate) name: String,
    target: Target,
    /// `Host` header value (with port when not the default).
    host_header: String,
    /// Path prefix for every request: `{base_path}/{bucket}` (path style) or `{base_path}`.
    path_prefix: String,
    /// The provider-side bucket, for `x-amz-copy-source`.
    bucket: String,
    region: String,
    credentials: Credentials,
    /// Breaker and usage counters: every request's cost and outcome is recorded there.
    health: Arc<BackendHealth>,
}

/// Where requests to a provider bucket go: path style (`host/bucket/key`) or virtual-hosted
/// (`bucket.host/key`).
pub(crate) struct BucketAddress {
    /// The host to connect to (and, for TLS, to verify).
    pub host: String,
    /// The `Host` header: the host with any non-default port.
    pub authority: String,
    /// What comes before `/<key>` in a request path (no trailing slash).
    pub path_prefix: String,
}

pub(crate) fn bucket_address(endpoint: &Endpoint, bucket: &str, path_style: bool) -> BucketAddress {
    if path_style {
        BucketAddress {
            host: endpoint.host.clone(),
            authority: endpoint.authority(),
            path_prefix: format!("{}/{}", endpoint.base_path, uri_encode(bucket, false)),
        }
    } else {
        BucketAddress {
            host: format!("{bucket}.{}", endpoint.host),
            authority: format!("{bucket}.{}", endpoint.authority()),
            path_prefix: endpoint.base_path.clone(),
        }
    }
}

impl S3Backend {
    /// The backend `cfg` describes; `trust` is the TLS configuration built from its
    /// `tls.ca_file`, when it has one.
    pub(crate) fn from_config(
        cfg: &BackendConfig,
        health: Arc<BackendHealth>,
        trust: Option<crate::backend::transport::TlsTrust>,
    ) -> S3Backend {
        let BackendConfigKind::S3 {
            endpoint,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            path_style,
            ca_file: _,
        } = &cfg.kind
        else {
            unreachable!("from_config is only called for S3 backends")
        };
        let BucketAddress {
            host,
            authority: host_header,
            path_prefix,
        } = bucket_address(endpoint, bucket, *path_style);
        let mut target = if endpoint.scheme_https {
            Target::https(host, endpoint.port)
        } else {
            Target::http(host, endpoint.port)
        };
        target.server_name = None;
        target.trust = trust;
        S3Backend {
            name: cfg.name.clone(),
            target,
            host_header,
            path_prefix,
            bucket: bucket.clone(),
            region: region.clone(),
            credentials: Credentials::new(
                access_key_id.clone(),
                secret_access_key.expose().to_owned(),
            ),
            health,
        }
    }

    /// A half-open probe (HEAD on the provider bucket): any answer below 500 means the backend is
    /// serving again.
    pub(crate) async fn probe(&self, ctx: &BackendCtx<'_>) -> Result<(), String> {
        let uri = if self.path_prefix.is_empty() {
            "/".to_owned()
        } else {
            self.path_prefix.clone()
        };
        match self.simple(ctx, "HEAD", &uri, &[], &[], None).await {
            Ok(resp) if resp.status < 500 => {
                resp.discard().await;
                Ok(())
            }
            Ok(resp) => Err(format!("probe answered {}", resp.status)),
            Err(e) => Err(e.log_text().to_owned()),
        }
    }

    fn object_uri(&self, backend_key: &str) -> String {
        format!("{}/{}", self.path_prefix, uri_encode(backend_key, true))
    }
}
