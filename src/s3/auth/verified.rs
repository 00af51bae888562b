//! What a verified request is, shared by the SigV4 (`verify`) and SigV2 (`sigv2`) verifiers: the
//! outcome type, the mechanism that authenticated it, the clock-skew window and the header
//! accessors both use. A leaf, so the two verifiers do not import each other's internals.

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

use super::chunk_signer::ChunkSigner;
use super::payload::PayloadSigning;
use super::RequestView;

/// How far a header-signed request's timestamp may be from our clock, and how far in the future
/// a presigned URL may start. S3 uses 15 minutes for both.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

/// Which mechanism authenticated the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthKind {
    Header,
    Presigned,
    /// SigV2, `Authorization: AWS AKID:signature`.
    HeaderV2,
    /// SigV2 presigned URL (`AWSAccessKeyId`, `Expires`, `Signature`).
    PresignedV2,
}

/// A request whose signature checked out.
#[derive(Debug)]
pub struct VerifiedRequest {
    pub access_key_id: String,
    /// The credential scope's region; empty for SigV2, which names none.
    pub region: String,
    pub payload: PayloadSigning,
    /// Present for the two signed streaming modes, seeded with the request's signature.
    pub chunk_signer: Option<ChunkSigner>,
    pub kind: AuthKind,
}

impl AuthKind {
    /// The "your auth parameters are malformed" code of this mechanism.
    pub(super) fn malformed_code(self) -> S3ErrorCode {
        match self {
            AuthKind::Header | AuthKind::HeaderV2 => S3ErrorCode::AuthorizationHeaderMalformed,
            AuthKind::Presigned | AuthKind::PresignedV2 => {
                S3ErrorCode::AuthorizationQueryParametersError
            }
        }
    }
}

/// The one value of header `name`; a repeated auth-relevant header is ambiguous and refused.
pub(super) fn single_header<'a>(req: &RequestView<'a>, name: &str) -> S3Result<Option<&'a [u8]>> {
    let mut values = req.header_values(name);
    let first = values.next();
    if values.next().is_some() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            format!("The {name} header may appear only once."),
        ));
    }
    Ok(first)
}

pub(super) fn header_str<'a>(req: &RequestView<'a>, name: &str) -> S3Result<Option<&'a str>> {
    match single_header(req, name)? {
        None => Ok(None),
        Some(v) => std::str::from_utf8(v).map(Some).map_err(|_| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("The {name} header is not valid text."),
            )
        }),
    }
}
