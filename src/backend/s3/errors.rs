//! Provider answers and transport failures as [`S3Error`]s, and what each failure costs the
//! backend's breaker.

use super::{S3Backend, MAX_BACKEND_XML_BYTES};
use crate::backend::client::{BackendResponse, ClientError};
use crate::health::BackendHealth;
use crate::s3::error::{S3Error, S3ErrorCode};
use crate::s3::xml;

/// A transport failure: connect errors, TLS failures, timeouts, resets and malformed answers
/// count against the breaker; a misuse of the client is our bug, not the backend's.
pub(super) fn record_client_failure(health: &BackendHealth, e: &ClientError) {
    match e {
        ClientError::Usage(_) => {}
        ClientError::EarlyResponse { response, .. } => health.answered(response.status),
        _ => health.breaker.record_failure(&e.to_string()),
    }
}

/// Maps a transport failure to an S3 error on the backend side (503: SDKs retry it).
pub fn client_error(backend: &str, e: &ClientError) -> S3Error {
    S3Error::backend(
        S3ErrorCode::ServiceUnavailable,
        format!("backend {backend}: {e}"),
    )
}

impl S3Backend {
    /// Turns a non-success answer into an error, keeping codes that are the client's fault.
    pub async fn error_from_response(&self, resp: BackendResponse) -> S3Error {
        error_from_response(&self.name, resp).await
    }
}

/// Turns a backend's non-success answer into an error. Codes that mean the client's data was
/// wrong (a forwarded digest did not match) are passed through as the client's fault; the rest
/// are the backend's (503, so SDKs retry and the breaker can steer them elsewhere).
pub async fn error_from_response(backend: &str, resp: BackendResponse) -> S3Error {
    let status = resp.status;
    let body = resp
        .read_to_vec(MAX_BACKEND_XML_BYTES)
        .await
        .unwrap_or_default();
    let xml::ErrorDocument { code, message } = xml::parse_error(&body).unwrap_or_default();
    let client_fault = match code.as_str() {
        "BadDigest" => Some(S3ErrorCode::BadDigest),
        "InvalidDigest" => Some(S3ErrorCode::InvalidDigest),
        "XAmzContentSHA256Mismatch" => Some(S3ErrorCode::XAmzContentSHA256Mismatch),
        "NoSuchUpload" => Some(S3ErrorCode::NoSuchUpload),
        "InvalidPart" => Some(S3ErrorCode::InvalidPart),
        "InvalidPartOrder" => Some(S3ErrorCode::InvalidPartOrder),
        "EntityTooSmall" => Some(S3ErrorCode::EntityTooSmall),
        "InvalidRange" => Some(S3ErrorCode::InvalidRange),
        _ => None,
    };
    let detail = format!("backend {backend} answered {status} {code}: {message}");
    match client_fault {
        Some(c) => S3Error::client(c, detail),
        None if status == 404 || code == "NoSuchKey" => {
            S3Error::backend(S3ErrorCode::NoSuchKey, detail)
        }
        None => S3Error::backend(S3ErrorCode::ServiceUnavailable, detail),
    }
}
