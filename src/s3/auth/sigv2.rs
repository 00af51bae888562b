//! AWS Signature Version 2 for S3, server side: `Authorization: AWS AKID:signature` and
//! presigned URLs (`AWSAccessKeyId`, `Expires`, `Signature`).
//!
//! Deprecated by AWS but still what boto3's `signature_version="s3"`, older tools and appliances
//! send. The signature is base64 HMAC-SHA1 over S3's string to sign:
//!
//! ```text
//! VERB \n Content-MD5 \n Content-Type \n Date-or-Expires \n CanonicalizedAmzHeaders CanonicalizedResource
//! ```
//!
//! The body is not signed (only its Content-MD5, when sent), so a verified request carries
//! [`PayloadSigning::Unsigned`] unless it also sent a (signed) `x-amz-content-sha256`. Like the
//! SigV4 verifier this is a pure function of the request, the secret lookup and the clock.

use std::borrow::{Borrow, Cow};

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::percent_decode_str;
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

use super::amz_date::AmzDate;
use super::canonical::{split_query, Sink};
use super::payload::PayloadSigning;
use super::scope::MAX_ACCESS_KEY_ID_LEN;
use super::secret::SecretKey;
use super::verified::{header_str, AuthKind, VerifiedRequest, MAX_CLOCK_SKEW_SECS};
use super::RequestView;

/// The `Authorization` header's first token for SigV2 (`AWS AKID:signature`).
pub(crate) const V2_AUTH_PREFIX: &str = "AWS ";
/// Presigned SigV2: the access key id parameter.
pub(crate) const Q_ACCESS_KEY_ID: &str = "AWSAccessKeyId";
/// Presigned SigV2: expiry as unix seconds.
pub(crate) const Q_EXPIRES: &str = "Expires";
/// Presigned SigV2: base64 signature.
pub(crate) const Q_SIGNATURE: &str = "Signature";

/// Length of an HMAC-SHA1 digest: every SigV2 signature decodes to exactly this many bytes.
const SHA1_LEN: usize = 20;

/// Longest `Signature` value (base64 text) worth decoding: 20 bytes are 28 base64 characters;
/// the margin admits stray whitespace. Anything longer cannot match and is refused undecoded.
const MAX_SIGNATURE_TEXT_LEN: usize = 64;

/// The query parameters S3 puts into SigV2's canonicalized resource ("sub-resources"), sorted.
/// The union of what S3 documents, botocore signs and MinIO checks; anything else in the query
/// is left out of the signature, as S3 does.
const SIGNED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "defaultObjectAcl",
    "delete",
    "encryption",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "partNumber",
    "policy",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "storageClass",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

type HmacSha1 = Hmac<Sha1>;

impl Sink for HmacSha1 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// A SigV2 signature (HMAC-SHA1). Equality is constant-time; there is no `Ord` or `Hash`.
#[derive(Clone, Copy)]
pub struct SignatureV2([u8; SHA1_LEN]);

impl SignatureV2 {
    /// Decodes the base64 text of a signature; `None` unless it is exactly 20 bytes.
    fn from_base64(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() > MAX_SIGNATURE_TEXT_LEN {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?;
        Some(SignatureV2(bytes.try_into().ok()?))
    }
}

impl PartialEq for SignatureV2 {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SignatureV2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureV2(..)")
    }
}

/// Whether an `Authorization` value is the SigV2 form.
pub(crate) fn is_v2_authorization(value: &[u8]) -> bool {
    value.starts_with(V2_AUTH_PREFIX.as_bytes())
}

/// Whether the query carries SigV2 presigned parameters.
pub(crate) fn query_is_v2_presigned(raw_query: &str) -> bool {
    split_query(raw_query).any(|(n, _)| n == Q_ACCESS_KEY_ID || n == Q_SIGNATURE)
}

/// What a SigV2 request claims.
struct ClaimV2<'a> {
    kind: AuthKind,
    access_key_id: Cow<'a, str>,
    /// `None` when the text was not a 20-byte base64 value: it can only fail to match.
    signature: Option<SignatureV2>,
    /// The fourth line of the string to sign: Date (header form) or Expires (presigned).
    date_line: Cow<'a, str>,
}

/// Verifies a header-signed SigV2 request; `value` is the whole `Authorization` header.
pub(crate) fn verify_v2_header<K: Borrow<SecretKey>>(
    req: &RequestView<'_>,
    value: &str,
    host_bucket: Option<&str>,
    secret_lookup: &mut impl FnMut(&str) -> Option<K>,
    now_unix: i64,
) -> S3Result<VerifiedRequest> {
    let rest = value.strip_prefix(V2_AUTH_PREFIX).unwrap_or(value);
    let Some((access_key_id, signature)) = rest.trim().rsplit_once(':') else {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
        ));
    };
    if access_key_id.is_empty() {
        return Err(S3ErrorCode::InvalidAccessKeyId.into());
    }
    // With x-amz-date the Date line is empty (x-amz-date is signed among the x-amz-* headers).
    let amz_date = header_str(req, "x-amz-date")?;
    let date = header_str(req, "date")?;
    let when = amz_date.or(date).and_then(parse_v2_date).ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    })?;
    if when.abs_diff(now_unix) > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
        return Err(S3ErrorCode::RequestTimeTooSkewed.into());
    }
    let date_line = match amz_date {
        Some(_) => "",
        None => date.unwrap_or("").trim(),
    };
    let claim = ClaimV2 {
        kind: AuthKind::HeaderV2,
        access_key_id: Cow::Borrowed(access_key_id),
        signature: SignatureV2::from_base64(signature),
        date_line: Cow::Borrowed(date_line),
    };
    verify_claim(req, &claim, host_bucket, secret_lookup)
}

/// `Date` (RFC 7231, also the obsolete forms) or, as some clients send in `x-amz-date`, the
/// ISO 8601 basic form; as unix seconds.
fn parse_v2_date(text: &str) -> Option<i64> {
    let text = text.trim();
    AmzDate::parse_http_date(text)
        .or_else(|| AmzDate::parse(text))
        .map(|d| d.unix())
}

/// The SigV2 presigned parameters, each at most once.
#[derive(Default)]
struct QueryParamsV2<'a> {
    access_key_id: Option<&'a str>,
    expires: Option<&'a str>,
    signature: Option<&'a str>,
}

impl<'a> QueryParamsV2<'a> {
    fn collect(raw_query: &'a str) -> S3Result<Self> {
        let mut p = QueryParamsV2::default();
        for (name, value) in split_query(raw_query) {
            let slot = match name {
                Q_ACCESS_KEY_ID => &mut p.access_key_id,
                Q_EXPIRES => &mut p.expires,
                Q_SIGNATURE => &mut p.signature,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    format!("Query-string authentication parameter {name} appears more than once."),
                ));
            }
        }
        Ok(p)
    }
}

fn decode_param(raw: &str) -> S3Result<Cow<'_, str>> {
    percent_decode_str(raw).decode_utf8().map_err(|_| {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Query-string authentication parameters must be valid UTF-8.",
        )
    })
}

/// Verifies a SigV2 presigned request (`AWSAccessKeyId`, `Expires`, `Signature`).
pub(crate) fn verify_v2_presigned<K: Borrow<SecretKey>>(
    req: &RequestView<'_>,
    host_bucket: Option<&str>,
    secret_lookup: &mut impl FnMut(&str) -> Option<K>,
    now_unix: i64,
) -> S3Result<VerifiedRequest> {
    let params = QueryParamsV2::collect(req.raw_query)?;
    let (Some(access_key_id), Some(expires), Some(signature)) =
        (params.access_key_id, params.expires, params.signature)
    else {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        ));
    };
    let expires = decode_param(expires)?;
    let expires_at: i64 = expires.trim().parse().map_err(|_| {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Invalid date (should be seconds since epoch)",
        )
    })?;
    if now_unix > expires_at {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Request has expired",
        ));
    }
    let claim = ClaimV2 {
        kind: AuthKind::PresignedV2,
        access_key_id: decode_param(access_key_id)?,
        signature: SignatureV2::from_base64(&decode_param(signature)?),
        date_line: expires,
    };
    verify_claim(req, &claim, host_bucket, secret_lookup)
}

/// The secret, then the signature; then the payload contract.
fn verify_claim<K: Borrow<SecretKey>>(
    req: &RequestView<'_>,
    claim: &ClaimV2<'_>,
    host_bucket: Option<&str>,
    secret_lookup: &mut impl FnMut(&str) -> Option<K>,
) -> S3Result<VerifiedRequest> {
    if claim.access_key_id.len() > MAX_ACCESS_KEY_ID_LEN {
        return Err(S3ErrorCode::InvalidAccessKeyId.into());
    }
    let Some(secret) = secret_lookup(&claim.access_key_id) else {
        return Err(S3ErrorCode::InvalidAccessKeyId.into());
    };
    let secret = secret.borrow();
    let mut matched =
        claim.signature == Some(signature_v2(secret, req, &claim.date_line, host_bucket)?);
    if !matched && names_bucket_only(req.raw_path, host_bucket) {
        // A bucket's resource is `/bucket/`: botocore signs that while it sends `/bucket`.
        let resource = ResourceForm::BucketSlash;
        let sig = signature_v2_form(secret, req, &claim.date_line, host_bucket, resource)?;
        matched = claim.signature == Some(sig);
    }
    if !matched {
        return Err(S3ErrorCode::SignatureDoesNotMatch.into());
    }
    Ok(VerifiedRequest {
        access_key_id: claim.access_key_id.clone().into_owned(),
        region: String::new(),
        payload: payload_contract(req)?,
        chunk_signer: None,
        kind: claim.kind,
    })
}

/// SigV2 does not sign the body. A (signed, since every x-amz-* header is) hex
/// `x-amz-content-sha256` is still honoured; the chunk-signed streaming forms need a SigV4 seed
/// signature and are refused.
fn payload_contract(req: &RequestView<'_>) -> S3Result<PayloadSigning> {
    let Some(value) = header_str(req, "x-amz-content-sha256")? else {
        return Ok(PayloadSigning::Unsigned);
    };
    let payload = PayloadSigning::parse(value.as_bytes())?;
    if payload.is_signed_streaming() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Signed aws-chunked payloads need AWS Signature Version 4.",
        ));
    }
    Ok(payload)
}

/// Whether a path-style request addresses a bucket itself with no trailing slash (`/bucket`).
/// Virtual-hosted requests send `/` and already spell `/bucket/`.
fn names_bucket_only(raw_path: &str, host_bucket: Option<&str>) -> bool {
    host_bucket.is_none()
        && raw_path
            .strip_prefix('/')
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// How the canonicalized resource spells the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResourceForm {
    /// The path exactly as sent.
    AsSent,
    /// The path as sent plus a trailing `/`: a bucket-only request, `/bucket/`.
    BucketSlash,
}

/// The signature `req` should carry under `secret`.
pub(crate) fn signature_v2(
    secret: &SecretKey,
    req: &RequestView<'_>,
    date_line: &str,
    host_bucket: Option<&str>,
) -> S3Result<SignatureV2> {
    signature_v2_form(secret, req, date_line, host_bucket, ResourceForm::AsSent)
}

fn signature_v2_form(
    secret: &SecretKey,
    req: &RequestView<'_>,
    date_line: &str,
    host_bucket: Option<&str>,
    resource: ResourceForm,
) -> S3Result<SignatureV2> {
    let mut mac = <HmacSha1 as hmac::digest::KeyInit>::new_from_slice(secret.expose().as_bytes())
        .map_err(|_| S3Error::new(S3ErrorCode::SignatureDoesNotMatch))?;
    write_string_to_sign_form(&mut mac, req, date_line, host_bucket, resource)?;
    Ok(SignatureV2(mac.finalize().into_bytes().into()))
}

/// Streams SigV2's string to sign into `sink` (the tests compare it with AWS's examples).
#[cfg(test)]
pub(crate) fn write_string_to_sign_v2(
    sink: &mut impl Sink,
    req: &RequestView<'_>,
    date_line: &str,
    host_bucket: Option<&str>,
) -> S3Result<()> {
    write_string_to_sign_form(sink, req, date_line, host_bucket, ResourceForm::AsSent)
}

fn write_string_to_sign_form(
    sink: &mut impl Sink,
    req: &RequestView<'_>,
    date_line: &str,
    host_bucket: Option<&str>,
    resource: ResourceForm,
) -> S3Result<()> {
    sink.put(req.method.as_bytes());
    sink.put(b"\n");
    for name in ["content-md5", "content-type"] {
        sink.put(header_str(req, name)?.unwrap_or("").trim().as_bytes());
        sink.put(b"\n");
    }
    sink.put(date_line.as_bytes());
    sink.put(b"\n");
    write_amz_headers(sink, req);
    write_resource(sink, req, host_bucket, resource);
    Ok(())
}

/// `name:value\n` for every x-amz-* header: names lower-cased and sorted, values trimmed,
/// repeated headers joined with `,` in arrival order.
fn write_amz_headers(sink: &mut impl Sink, req: &RequestView<'_>) {
    let mut amz: Vec<(String, &[u8])> = req
        .headers
        .iter()
        .filter(|(n, _)| n.len() > 6 && n.as_bytes()[..6].eq_ignore_ascii_case(b"x-amz-"))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim_ascii()))
        .collect();
    amz.sort_by(|a, b| a.0.cmp(&b.0)); // stable: repeated headers keep arrival order
    let mut previous: Option<&str> = None;
    for (name, value) in &amz {
        if previous == Some(name.as_str()) {
            sink.put(b",");
        } else {
            if previous.is_some() {
                sink.put(b"\n");
            }
            sink.put(name.as_bytes());
            sink.put(b":");
        }
        sink.put(value);
        previous = Some(name);
    }
    if previous.is_some() {
        sink.put(b"\n");
    }
}

/// `/bucket` (virtual-hosted style only) + the path as sent + the signed sub-resources, sorted
/// by name, values percent-decoded, `name` alone when it was sent without `=`.
fn write_resource(
    sink: &mut impl Sink,
    req: &RequestView<'_>,
    host_bucket: Option<&str>,
    form: ResourceForm,
) {
    if let Some(bucket) = host_bucket {
        sink.put(b"/");
        sink.put(bucket.as_bytes());
    }
    sink.put(req.raw_path.as_bytes());
    if form == ResourceForm::BucketSlash {
        sink.put(b"/");
    }
    let mut sub: Vec<(&str, Option<&str>)> = req
        .raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (p, None),
        })
        .filter(|(n, _)| SIGNED_SUBRESOURCES.binary_search(n).is_ok())
        .collect();
    sub.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (name, value)) in sub.iter().enumerate() {
        sink.put(if i == 0 { b"?" } else { b"&" });
        sink.put(name.as_bytes());
        if let Some(v) = value {
            sink.put(b"=");
            let decoded: Cow<'_, [u8]> = percent_decode_str(v).into();
            sink.put(&decoded);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "sigv2_tests.rs"]
mod tests;
