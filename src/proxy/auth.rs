//! Authentication (SigV4 in every form, SigV2), authorization (credential → virtual bucket) and the
//! construction of the payload verifier that the body is read through.

use super::put::MAX_SINGLE_PUT_BYTES;
use super::App;
use crate::config::Permissions;
use crate::http::RequestHead;
use crate::s3::auth::{self, PayloadSigning, RequestView, VerifiedRequest};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
pub use crate::s3::payload::BodyVerifier;
use crate::s3::payload::{ChecksumAlgorithm, PayloadEncoding, PayloadSpec};
use crate::s3::router::{Route, S3Operation};
use crate::server::shard::Shard;

fn now_unix() -> i64 {
    crate::util::clock::now_secs() as i64
}

/// Verifies the request's signature (SigV4 or SigV2, header or presigned).
pub fn authenticate(shard: &Shard, app: &App, head: &RequestHead) -> S3Result<VerifiedRequest> {
    let mut headers = Vec::with_capacity(24);
    head.headers_into(&mut headers);
    let view = RequestView {
        method: head.method(),
        raw_path: head.path(),
        raw_query: head.query(),
        headers: &headers,
    };
    // SigV2 signs the bucket of a virtual-hosted request as part of its resource.
    let cfg = app.config();
    let host_bucket = match (head.header_str("host"), cfg.server.domain.as_deref()) {
        (Some(host), Some(domain)) => crate::s3::router::bucket_from_host(host, domain),
        _ => None,
    };
    let mut cache = shard.signing_keys.borrow_mut();
    auth::verify_request_for_host(
        &view,
        host_bucket,
        |ak| app.credentials.get(ak).map(|c| c.secret.clone()),
        &mut cache,
        now_unix(),
    )
}

/// What an operation needs from the caller's grant in its bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// Decided outside the bucket's grants: ListBuckets (answers with the caller's own buckets),
    /// CreateBucket (its handler checks for an admin credential).
    NotBucketScoped,
    /// Any grant at all in the bucket.
    AnyGrant,
    /// All of these permissions.
    All(Permissions),
}

/// What `op` needs in its bucket.
pub fn required_permission(op: S3Operation) -> Required {
    use S3Operation::*;
    Required::All(match op {
        ListBuckets | CreateBucket => return Required::NotBucketScoped,
        // HeadBucket only says that the bucket exists and may be used, which any grant in it
        // already tells: tools probe it before uploading (rclone) or listing, whatever the
        // credential may do there.
        HeadBucket => return Required::AnyGrant,
        GetObject
        | HeadObject
        | GetObjectAcl
        | GetBucketLocation
        | GetBucketVersioning
        | GetBucketAcl
        | GetBucketPolicy
        | GetBucketLifecycleConfiguration
        | GetBucketEncryption
        | GetBucketCors => Permissions::READ,
        ListObjects | ListObjectsV2 | ListObjectVersions | ListMultipartUploads | ListParts => {
            Permissions::LIST
        }
        PutObject
        | CopyObject
        | CreateMultipartUpload
        | UploadPart
        | UploadPartCopy
        | CompleteMultipartUpload
        | AbortMultipartUpload => Permissions::WRITE,
        DeleteObject | DeleteObjects => Permissions::DELETE,
        // DeleteBucket needs `admin` in the bucket: for an API bucket only its creator has it, so
        // another admin credential cannot remove a bucket it can neither see nor empty (as in S3,
        // where only the owner deletes a bucket).
        DeleteBucket => Permissions::ADMIN,
    })
}

/// A credential reaches only the buckets it is granted, and only for what its permissions allow.
pub fn authorize(app: &App, access_key: &str, route: &Route) -> S3Result<()> {
    let required = required_permission(route.operation);
    let Some(bucket) = route.bucket.as_deref() else {
        return Ok(()); // ListBuckets: answered with the caller's own buckets.
    };
    if required == Required::NotBucketScoped {
        return Ok(());
    }
    if !app.bucket_exists(bucket) {
        return Err(S3Error::new(S3ErrorCode::NoSuchBucket));
    }
    let granted = app.permissions(access_key, bucket);
    let allowed = match required {
        Required::NotBucketScoped => true,
        Required::AnyGrant => !granted.is_empty(),
        Required::All(needed) => granted.contains(needed),
    };
    if allowed {
        Ok(())
    } else {
        Err(S3Error::new(S3ErrorCode::AccessDenied))
    }
}

/// Builds the verifier for the request's body, if it has one.
pub fn payload_verifier(
    head: &RequestHead,
    route: &Route,
    verified: &mut VerifiedRequest,
) -> S3Result<Option<(BodyVerifier, Option<u64>)>> {
    let has_body = !matches!(
        head.body_kind(),
        crate::http::BodyKind::None | crate::http::BodyKind::Length(0)
    );
    let streaming = matches!(
        verified.payload,
        PayloadSigning::StreamingSigned
            | PayloadSigning::StreamingSignedTrailer
            | PayloadSigning::StreamingUnsignedTrailer
    );
    // Object writes always get a verifier, so an empty body still has its Content-MD5 and
    // checksum headers checked.
    if !has_body && !streaming && !route.operation.has_streamed_body() {
        return Ok(None);
    }
    let (mode, decoded_length) = if streaming {
        aws_chunked_encoding(head, verified.payload)?
    } else {
        plain_encoding(head, route, verified.payload)?
    };
    let spec = PayloadSpec {
        mode,
        decoded_length,
        content_md5: content_md5(head)?,
        checksum_header: checksum_header(head)?,
        want_md5: route.operation.has_streamed_body(),
        want_checksum: None,
    };
    let chunk_verifier: Option<Box<dyn auth::ChunkVerifier>> = verified
        .chunk_signer
        .take()
        .map(|s| Box::new(s) as Box<dyn auth::ChunkVerifier>);
    let v = BodyVerifier::new(spec, chunk_verifier)?;
    Ok(Some((v, decoded_length)))
}

/// The `x-amz-checksum-*` header sent with the request, if any. S3 checks one checksum per
/// request and refuses a request that sends several (any two, or one twice) rather than picking
/// one, so a wrong CRC32 beside a right SHA-256 cannot slip through.
fn checksum_header(head: &RequestHead) -> S3Result<Option<(ChecksumAlgorithm, &str)>> {
    let mut found = None;
    for (name, value) in head.headers() {
        let lower = name.to_ascii_lowercase();
        if let Some(alg) = ChecksumAlgorithm::from_header_name(&lower) {
            if found.is_some() {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidRequest,
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
                ));
            }
            let v =
                std::str::from_utf8(value).map_err(|_| S3Error::new(S3ErrorCode::InvalidDigest))?;
            found = Some((alg, v));
        }
    }
    Ok(found)
}

/// The `Content-MD5` header, if sent. More than one is refused: checking only the first would
/// let a second, different digest pass unchecked.
fn content_md5(head: &RequestHead) -> S3Result<Option<&str>> {
    if head.header_all("content-md5").nth(1).is_some() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidDigest,
            "Only one Content-MD5 header is allowed.",
        ));
    }
    Ok(head.header_str("content-md5"))
}

/// An aws-chunked body: its decoded length (`x-amz-decoded-content-length`, required) and the
/// trailer it announces.
fn aws_chunked_encoding(
    head: &RequestHead,
    payload: PayloadSigning,
) -> S3Result<(PayloadEncoding, Option<u64>)> {
    let len = head
        .header_str("x-amz-decoded-content-length")
        .ok_or_else(|| S3Error::new(S3ErrorCode::MissingContentLength))?;
    let len: u64 = len.trim().parse().map_err(|_| {
        S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "invalid x-amz-decoded-content-length",
        )
    })?;
    if len > MAX_SINGLE_PUT_BYTES {
        return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
    }
    let trailer = match head.header_str("x-amz-trailer") {
        None => None,
        Some(t) => Some(
            ChecksumAlgorithm::from_header_name(&t.trim().to_ascii_lowercase()).ok_or_else(
                || S3Error::with_message(S3ErrorCode::InvalidRequest, "unsupported x-amz-trailer"),
            )?,
        ),
    };
    let signed = matches!(
        payload,
        PayloadSigning::StreamingSigned | PayloadSigning::StreamingSignedTrailer
    );
    Ok((PayloadEncoding::AwsChunked { signed, trailer }, Some(len)))
}

/// A plain body: its length is the framing's, and its SHA-256 the signed one (if it was signed).
fn plain_encoding(
    head: &RequestHead,
    route: &Route,
    payload: PayloadSigning,
) -> S3Result<(PayloadEncoding, Option<u64>)> {
    let decoded_length = match head.body_kind() {
        crate::http::BodyKind::Length(n) => Some(n),
        _ => None,
    };
    if decoded_length.is_none() && route.operation.has_streamed_body() {
        // S3 needs the object's size up front (it is also what lets us withhold the final byte).
        return Err(S3Error::new(S3ErrorCode::MissingContentLength));
    }
    let expected_sha256 = match payload {
        PayloadSigning::Sha256(h) => Some(h),
        _ => None,
    };
    Ok((PayloadEncoding::Plain { expected_sha256 }, decoded_length))
}
