//! Provider answers and transport failures as [`S3Error`]s, and what each failure costs the
//! backend's breaker.

use super::{S3Backend, MAX_BACKEND_XML_BYTES};
use crate::backend::transport::{BackendResponse, TransportError};
use crate::health::BackendHealth;
use crate::s3::error::{S3Error, S3ErrorCode};
use crate::s3::xml;

/// A transport failure: connect errors, TLS failures, timeouts, resets and malformed answers
/// count against the breaker; a misuse of the client is our bug, not the backend's.
pub(super) fn record_client_failure(health: &BackendHealth, e: &TransportError) {
    match e {
        TransportError::Usage(_) => {}
        TransportError::EarlyResponse { response, .. } => health.answered(response.status),
        _ => health.breaker.record_failure(&e.to_string()),
    }
}

/// Maps a transport failure to an S3 error on the backend side (503: SDKs retry it).
pub(crate) fn client_error(backend: &str, e: &TransportError) -> S3Error {
    S3Error::backend(
        S3ErrorCode::ServiceUnavailable,
        format!("backend {backend}: {e}"),
    )
}

impl S3Backend {
    /// Turns a non-success answer into an error, keeping codes that are the client's fault.
    pub(super) async fn error_from_response(&self, resp: BackendResponse) -> S3Error {
        error_from_response(&self.name, resp).await
    }
}

/// Provider codes that are the client's fault: its data was wrong (a forwarded digest did not
/// match), it named an upload, part or range that the provider does not have, or what it sent
/// is beyond S3's limits (key, object or metadata too large). Passed on as the client's error,
/// so SDKs stop retrying a request that can never succeed; any other provider answer stays a
/// 503 (the provider's failure, worth a retry).
const CLIENT_FAULT_CODES: [S3ErrorCode; 11] = [
    S3ErrorCode::BadDigest,
    S3ErrorCode::InvalidDigest,
    S3ErrorCode::XAmzContentSHA256Mismatch,
    S3ErrorCode::NoSuchUpload,
    S3ErrorCode::InvalidPart,
    S3ErrorCode::InvalidPartOrder,
    S3ErrorCode::EntityTooSmall,
    S3ErrorCode::InvalidRange,
    S3ErrorCode::KeyTooLongError,
    S3ErrorCode::EntityTooLarge,
    S3ErrorCode::MetadataTooLarge,
];

/// Turns a backend's non-success answer into an error. Codes that mean the client's data was
/// wrong (a forwarded digest did not match) are passed through as the client's fault; the rest
/// are the backend's (503, so SDKs retry and the breaker can steer them elsewhere).
pub(crate) async fn error_from_response(backend: &str, resp: BackendResponse) -> S3Error {
    let status = resp.status;
    let body = resp
        .read_to_vec(MAX_BACKEND_XML_BYTES)
        .await
        .unwrap_or_default();
    let xml::ErrorDocument { code, message } = xml::parse_error(&body).unwrap_or_default();
    let detail = format!("backend {backend} answered {status} {code}: {message}");
    provider_error(status, &code, detail)
}

/// The error a provider's answer of `status` with `<Code>` `code` becomes.
fn provider_error(status: u16, code: &str, detail: String) -> S3Error {
    let client_fault = code
        .parse::<S3ErrorCode>()
        .ok()
        .filter(|c| CLIENT_FAULT_CODES.contains(c));
    match client_fault {
        Some(c) => S3Error::client(c, detail),
        None if status == 404 || code == "NoSuchKey" => {
            S3Error::backend(S3ErrorCode::NoSuchKey, detail)
        }
        None => S3Error::backend(S3ErrorCode::ServiceUnavailable, detail),
    }
}

#[cfg(test)]
mod tests {
    use super::{provider_error, CLIENT_FAULT_CODES};
    use crate::s3::error::{S3ErrorCode, Side};

    #[test]
    fn only_the_client_fault_codes_are_passed_through_as_the_clients() {
        for &code in S3ErrorCode::ALL {
            let e = provider_error(400, code.as_str(), "detail".into());
            if CLIENT_FAULT_CODES.contains(&code) {
                assert_eq!((e.code, e.side), (code, Side::Client), "{code:?}");
                assert!(!e.retry_elsewhere, "{code:?}");
            } else if code == S3ErrorCode::NoSuchKey {
                assert_eq!((e.code, e.side), (code, Side::Backend));
                assert!(e.retry_elsewhere);
            } else {
                let want = (S3ErrorCode::ServiceUnavailable, Side::Backend);
                assert_eq!((e.code, e.side), want, "{code:?}");
                assert!(e.retry_elsewhere, "{code:?}");
            }
        }
        assert_eq!(CLIENT_FAULT_CODES.len(), 11);
        let e = provider_error(400, "BadDigest", "d".into());
        assert_eq!(
            e.detail.as_deref(),
            Some("d"),
            "the detail is kept for the log"
        );
        assert_eq!(
            e.message,
            S3ErrorCode::BadDigest.default_message(),
            "the client gets S3's text"
        );
    }

    #[test]
    fn unknown_codes_are_the_backends_and_a_404_is_a_missing_key() {
        let e = provider_error(404, "", "d".into());
        assert_eq!((e.code, e.side), (S3ErrorCode::NoSuchKey, Side::Backend));
        // A client-fault code wins over the status.
        let e = provider_error(404, "NoSuchUpload", "d".into());
        assert_eq!((e.code, e.side), (S3ErrorCode::NoSuchUpload, Side::Client));
        for code in [
            "",
            "badDigest",
            "BadDigest ",
            "SomethingNew",
            "InternalError",
        ] {
            let e = provider_error(500, code, "d".into());
            assert_eq!(e.code, S3ErrorCode::ServiceUnavailable, "{code:?}");
            assert_eq!(e.side, Side::Backend, "{code:?}");
        }
    }
}
