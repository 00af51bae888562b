//! Server-side verification of an incoming request's SigV4 signature, header or presigned.
//!
//! Order of checks: which mechanism → parse → scope/date consistency → clock → payload mode →
//! signed-header coverage → secret lookup → signature (normalised path first, then the path as
//! sent). Derived keys enter the shard's cache only after a signature verified, so unauthenticated
//! traffic cannot churn it.

use std::borrow::{Borrow, Cow};

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

use super::amz_date::AmzDate;
use super::authorization::{parse_authorization_header, signed_headers_contain};
use super::canonical::{
    canonical_request_sha256, path_may_differ_when_normalized, CanonicalInput, PathForm,
};
use super::chunk_signer::ChunkSigner;
use super::payload::PayloadSigning;
use super::presigned::{parse_presigned_query, query_has_param, P_ALGORITHM};
use super::scope::CredentialScope;
use super::secret::SecretKey;
use super::signature::{hex_lower, write_string_to_sign, Signature};
use super::signing_key::{SigningKey, SigningKeyCache};
use super::sigv2::{
    is_v2_authorization, query_is_v2_presigned, verify_v2_header, verify_v2_presigned,
};
use super::verified::{header_str, single_header, AuthKind, VerifiedRequest, MAX_CLOCK_SKEW_SECS};
use super::{RequestView, EMPTY_SHA256_HEX, SERVICE, UNSIGNED_PAYLOAD};

use hmac::Mac;

/// What either mechanism claims, normalised for the common checks.
struct Claim<'a> {
    kind: AuthKind,
    access_key_id: &'a str,
    scope: CredentialScope<'a>,
    signed_headers: &'a str,
    signature: Signature,
    amz_date: AmzDate,
    payload_hash: &'a str,
}

/// Verifies `req` against the secret `secret_lookup` returns for its access key id.
///
/// Anonymous requests are refused (`AccessDenied`); so is SigV4a (`InvalidRequest`). SigV2 is
/// verified as a path-style request; [`verify_request_for_host`] names the bucket a
/// virtual-hosted request's Host carries, which SigV2 signs.
pub fn verify_request<K: Borrow<SecretKey>>(
    req: &RequestView<'_>,
    secret_lookup: impl FnMut(&str) -> Option<K>,
    cache: &mut SigningKeyCache,
    now_unix: i64,
) -> S3Result<VerifiedRequest> {
    verify_request_for_host(req, None, secret_lookup, cache, now_unix)
}

/// [`verify_request`] for a request whose bucket came from its Host header (`host_bucket`,
/// virtual-hosted style): SigV2's canonicalized resource starts with `/bucket` then.
pub fn verify_request_for_host<K: Borrow<SecretKey>>(
    req: &RequestView<'_>,
    host_bucket: Option<&str>,
    mut secret_lookup: impl FnMut(&str) -> Option<K>,
    cache: &mut SigningKeyCache,
    now_unix: i64,
) -> S3Result<VerifiedRequest> {
    let authorization = single_header(req, "authorization")?;
    let presigned_v4 = query_has_param(req.raw_query, P_ALGORITHM);
    let presigned_v2 = !presigned_v4 && query_is_v2_presigned(req.raw_query);
    match authorization {
        Some(_) if presigned_v4 || presigned_v2 => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
             Signature query string parameter or the Authorization header should be specified",
        )),
        Some(value) if is_v2_authorization(value) => {
            let value = std::str::from_utf8(value).map_err(|_| {
                S3Error::with_message(
                    S3ErrorCode::InvalidArgument,
                    "The authorization header is not valid text.",
                )
            })?;
            verify_v2_header(req, value, host_bucket, &mut secret_lookup, now_unix)
        }
        Some(value) => verify_header_auth(req, value, &mut secret_lookup, cache, now_unix),
        None if presigned_v4 => verify_presigned(req, &mut secret_lookup, cache, now_unix),
        None if presigned_v2 => verify_v2_presigned(req, host_bucket, &mut secret_lookup, now_unix),
        None => Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Anonymous access is not allowed; sign the request.",
        )),
    }
}

/// `x-amz-date`, or the `Date` header when it is absent.
fn request_date(req: &RequestView<'_>) -> S3Result<AmzDate> {
    let invalid = || {
        S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    };
    if let Some(v) = header_str(req, "x-amz-date")? {
        return AmzDate::parse(v.trim()).ok_or_else(invalid);
    }
    match header_str(req, "date")? {
        Some(v) => AmzDate::parse_http_date(v).ok_or_else(invalid),
        None => Err(invalid()),
    }
}

fn verify_header_auth<K: Borrow<SecretKey>>(
    req: &RequestView<'_>,
    value: &[u8],
    secret_lookup: &mut impl FnMut(&str) -> Option<K>,
    cache: &mut SigningKeyCache,
    now_unix: i64,
) -> S3Result<VerifiedRequest> {
    let value = std::str::from_utf8(value).map_err(|_| {
        S3Error::with_message(
            S3ErrorCode::AuthorizationHeaderMalformed,
            "The authorization header is malformed; it is not valid text.",
        )
    })?;
    let parsed = parse_authorization_header(value)?;
    let amz_date = request_date(req)?;
    if amz_date.unix().abs_diff(now_unix) > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
        return Err(S3ErrorCode::RequestTimeTooSkewed.into());
    }
    // A request without a body may leave the header out (curl's --aws-sigv4 before 8.x does):
    // its payload is the empty one, as SeaweedFS and MinIO read it. One with a body must say.
    let payload_hash = match header_str(req, "x-amz-content-sha256")? {
        Some(v) => v,
        None if announces_no_body(req) => EMPTY_SHA256_HEX,
        None => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Missing required header for this request: x-amz-content-sha256",
            ))
        }
    };
    let claim = Claim {
        kind: AuthKind::Header,
        access_key_id: parsed.credential.access_key_id,
        scope: parsed.credential.scope,
        signed_headers: parsed.signed_headers,
        signature: parsed.signature,
        amz_date,
        payload_hash,
    };
    verify_claim(req, &claim, secret_lookup, cache)
}

/// Whether the head announces no body: no `Transfer-Encoding`, and no `Content-Length` or `0`.
fn announces_no_body(req: &RequestView<'_>) -> bool {
    req.header_values("transfer-encoding").next().is_none()
        && req
            .header_values("content-length")
            .all(|v| v.trim_ascii() == b"0")
}

fn verify_presigned<K: Borrow<SecretKey>>(
    req: &RequestView<'_>,
    secret_lookup: &mut impl FnMut(&str) -> Option<K>,
    cache: &mut SigningKeyCache,
    now_unix: i64,
) -> S3Result<VerifiedRequest> {
    let Some(parsed) = parse_presigned_query(req.raw_query)? else {
        return Err(S3Error::with_message(
            S3ErrorCode::AuthorizationQueryParametersError,
            "X-Amz-Algorithm is missing.",
        ));
    };
    let start = parsed.amz_date.unix();
    if start > now_unix.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Request is not valid yet",
        ));
    }
    if now_unix > start + i64::from(parsed.expires_secs) {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "Request has expired",
        ));
    }
    // Payload hash: explicit query parameter, else a (signed) header, else unsigned.
    let payload_hash: Cow<'_, str> = match &parsed.content_sha256 {
        Some(v) => Cow::Borrowed(v.as_ref()),
        None => match header_str(req, "x-amz-content-sha256")? {
            Some(v) => Cow::Borrowed(v),
            None => Cow::Borrowed(UNSIGNED_PAYLOAD),
        },
    };
    let credential = parsed.credential();
    let claim = Claim {
        kind: AuthKind::Presigned,
        access_key_id: credential.access_key_id,
        scope: credential.scope,
        signed_headers: &parsed.signed_headers,
        signature: parsed.signature,
        amz_date: parsed.amz_date,
        payload_hash: &payload_hash,
    };
    verify_claim(req, &claim, secret_lookup, cache)
}

/// Checks common to both mechanisms, then the signature itself.
fn verify_claim<K: Borrow<SecretKey>>(
    req: &RequestView<'_>,
    claim: &Claim<'_>,
    secret_lookup: &mut impl FnMut(&str) -> Option<K>,
    cache: &mut SigningKeyCache,
) -> S3Result<VerifiedRequest> {
    let malformed = claim.kind.malformed_code();
    if claim.scope.date != claim.amz_date.date_stamp() {
        return Err(S3Error::with_message(
            malformed,
            "Invalid credential date. Date is not the same as X-Amz-Date.",
        ));
    }
    if claim.scope.service != SERVICE {
        return Err(S3Error::with_message(
            malformed,
            "The credential scope names the wrong service; expecting \"s3\".",
        ));
    }
    let payload = PayloadSigning::parse(claim.payload_hash.as_bytes())?;
    if !signed_headers_contain(claim.signed_headers, "host") {
        return Err(S3Error::with_message(
            malformed,
            "The host header must be included in SignedHeaders.",
        ));
    }
    // Every x-amz-* header changes what the request means (copy source, ACL, checksum...), so an
    // unsigned one would let anyone holding a signature repurpose it.
    if req.headers.iter().any(|(name, _)| {
        name.len() > 6
            && name.as_bytes()[..6].eq_ignore_ascii_case(b"x-amz-")
            && !signed_headers_contain(claim.signed_headers, name)
    }) {
        return Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            "There were headers present in the request which were not signed",
        ));
    }
    let Some(secret) = secret_lookup(claim.access_key_id) else {
        return Err(S3ErrorCode::InvalidAccessKeyId.into());
    };
    let secret: &SecretKey = secret.borrow();

    let cached = cache
        .get(claim.access_key_id, secret, &claim.scope)
        .cloned();
    let from_cache = cached.is_some();
    let key = cached.unwrap_or_else(|| SigningKey::derive(secret, &claim.scope));

    let mut input = CanonicalInput {
        request: req,
        signed_headers: claim.signed_headers,
        payload_hash: claim.payload_hash,
        path: PathForm::Normalized,
        exclude_signature_param: claim.kind == AuthKind::Presigned,
    };
    let mut matched = expected_signature(&input, claim, &key)? == claim.signature;
    if !matched && path_may_differ_when_normalized(req.raw_path) {
        // Some clients sign the path exactly as they sent it; accept that form second.
        input.path = PathForm::AsSent;
        matched = expected_signature(&input, claim, &key)? == claim.signature;
    }
    if !matched {
        return Err(S3ErrorCode::SignatureDoesNotMatch.into());
    }
    if !from_cache {
        cache.insert(claim.access_key_id, secret, &claim.scope, key.clone());
    }
    let chunk_signer = payload
        .is_signed_streaming()
        .then(|| ChunkSigner::new(key, claim.amz_date, &claim.scope, claim.signature));
    Ok(VerifiedRequest {
        access_key_id: claim.access_key_id.to_owned(),
        region: claim.scope.region.to_owned(),
        payload,
        chunk_signer,
        kind: claim.kind,
    })
}

/// The signature the request should carry: HMAC over the string to sign, streamed.
fn expected_signature(
    input: &CanonicalInput<'_>,
    claim: &Claim<'_>,
    key: &SigningKey,
) -> S3Result<Signature> {
    let canonical_hash = canonical_request_sha256(input)?;
    let mut mac = key.mac();
    write_string_to_sign(
        &mut mac,
        &claim.amz_date,
        &claim.scope,
        &hex_lower(&canonical_hash),
    );
    Ok(Signature::from_bytes(mac.finalize().into_bytes().into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::s3::auth::{
        presign_url, sign_request, uri_encode, Credentials, SignableRequest, EMPTY_SHA256_HEX,
    };

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SK: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const NOW: i64 = 1_369_353_600;
    const HOST: &str = "examplebucket.s3.amazonaws.com";

    /// An owned request that can be viewed as a [`RequestView`].
    #[derive(Clone)]
    struct Owned {
        method: String,
        path: String,
        query: String,
        headers: Vec<(String, Vec<u8>)>,
    }

    impl Owned {
        fn with_view<T>(&self, f: impl FnOnce(&RequestView<'_>) -> T) -> T {
            let headers: Vec<(&str, &[u8])> = self
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice()))
                .collect();
            let view = RequestView {
                method: &self.method,
                raw_path: &self.path,
                raw_query: &self.query,
                headers: &headers,
            };
            f(&view)
        }

        fn verify(&self, now: i64) -> S3Result<VerifiedRequest> {
            let secret = SecretKey::from(SK);
            let mut cache = SigningKeyCache::new();
            self.with_view(|v| {
                verify_request(v, |ak| (ak == AK).then_some(&secret), &mut cache, now)
            })
        }

        fn code(&self, now: i64) -> S3ErrorCode {
            self.verify(now).unwrap_err().code
        }

        fn set_header(&mut self, name: &str, value: &[u8]) {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            self.headers.push((name.to_owned(), value.to_vec()));
        }

        fn remove_header(&mut self, name: &str) {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        }
    }

    fn encode_query(pairs: &[(&str, &str)]) -> String {
        pairs
            .iter()
            .map(|(n, v)| format!("{}={}", uri_encode(n, false), uri_encode(v, false)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// A header-signed request: `path` is what goes on the wire and is also what is signed.
    fn header_signed(
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        extra: &[(&str, &str)],
        payload_hash: &str,
        at: i64,
        secret: &str,
    ) -> Owned {
        let date = AmzDate::from_unix(at).unwrap();
        let mut headers: Vec<(&str, &str)> = vec![
            ("Host", HOST),
            ("x-amz-date", date.as_str()),
            ("x-amz-content-sha256", payload_hash),
        ];
        headers.extend_from_slice(extra);
        let signable = SignableRequest {
            method,
            canonical_uri: path,
            query,
            headers: &headers,
            payload_hash,
        };
        let mut cache = SigningKeyCache::new();
        let auth = sign_request(
            &signable,
            &Credentials::new(AK, secret),
            "us-east-1",
            &date,
            &mut cache,
        );
        let mut owned_headers: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        owned_headers.push(("Authorization".into(), auth.into_bytes()));
        Owned {
            method: method.into(),
            path: path.into(),
            query: encode_query(query),
            headers: owned_headers,
        }
    }

    fn simple(at: i64) -> Owned {
        header_signed("GET", "/bucket/key", &[], &[], EMPTY_SHA256_HEX, at, SK)
    }

    fn presigned(path: &str, query: &[(&str, &str)], at: i64, expires: u32) -> Owned {
        let date = AmzDate::from_unix(at).unwrap();
        let signable = SignableRequest {
            method: "GET",
            canonical_uri: path,
            query,
            headers: &[("host", HOST)],
            payload_hash: UNSIGNED_PAYLOAD,
        };
        let mut cache = SigningKeyCache::new();
        let url = presign_url(
            &signable,
            &Credentials::new(AK, SK),
            "us-east-1",
            &date,
            expires,
            &mut cache,
        )
        .unwrap();
        let (p, q) = url.split_once('?').unwrap();
        Owned {
            method: "GET".into(),
            path: p.into(),
            query: q.into(),
            headers: vec![("Host".into(), HOST.as_bytes().to_vec())],
        }
    }

    #[test]
    fn header_auth_accepts_within_skew_and_rejects_beyond() {
        let r = simple(NOW);
        assert!(r.verify(NOW).is_ok());
        assert!(r.verify(NOW + MAX_CLOCK_SKEW_SECS).is_ok());
        assert!(r.verify(NOW - MAX_CLOCK_SKEW_SECS).is_ok());
        assert_eq!(
            r.code(NOW + MAX_CLOCK_SKEW_SECS + 1),
            S3ErrorCode::RequestTimeTooSkewed
        );
        assert_eq!(
            r.code(NOW - MAX_CLOCK_SKEW_SECS - 1),
            S3ErrorCode::RequestTimeTooSkewed
        );
        assert_eq!(r.code(i64::MIN), S3ErrorCode::RequestTimeTooSkewed);
        assert_eq!(r.code(i64::MAX), S3ErrorCode::RequestTimeTooSkewed);
        assert_eq!(
            S3Error::from(S3ErrorCode::RequestTimeTooSkewed).status(),
            403
        );
    }

    #[test]
    fn unknown_key_and_wrong_secret() {
        let r = simple(NOW);
        let secret = SecretKey::from(SK);
        let mut cache = SigningKeyCache::new();
        let e = r
            .with_view(|v| verify_request(v, |_| None::<&SecretKey>, &mut cache, NOW))
            .unwrap_err();
        assert_eq!((e.code, e.status()), (S3ErrorCode::InvalidAccessKeyId, 403));
        let wrong = header_signed("GET", "/bucket/key", &[], &[], EMPTY_SHA256_HEX, NOW, "bad");
        assert_eq!(wrong.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        assert_eq!(
            S3Error::from(S3ErrorCode::SignatureDoesNotMatch).status(),
            403
        );
        // Lookup returning an owned secret works too.
        assert!(r
            .with_view(|v| verify_request(v, |_| Some(secret.clone()), &mut cache, NOW))
            .is_ok());
    }

    #[test]
    fn cache_is_filled_only_by_verified_requests() {
        let secret = SecretKey::from(SK);
        let mut cache = SigningKeyCache::new();
        let bad = header_signed("GET", "/k", &[], &[], EMPTY_SHA256_HEX, NOW, "bad");
        assert!(bad
            .with_view(|v| verify_request(v, |_| Some(&secret), &mut cache, NOW))
            .is_err());
        assert!(cache.is_empty());
        let good = simple(NOW);
        good.with_view(|v| verify_request(v, |_| Some(&secret), &mut cache, NOW))
            .unwrap();
        assert_eq!(cache.len(), 1);
        good.with_view(|v| verify_request(v, |_| Some(&secret), &mut cache, NOW))
            .unwrap();
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.stats().0, 1, "second request hits the cache");
        // A secret rotated under the same key id: the cached key must not verify the old
        // signature.
        let rotated = SecretKey::from("rotated");
        let e = good
            .with_view(|v| verify_request(v, |_| Some(&rotated), &mut cache, NOW))
            .unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn scope_checks() {
        let r = simple(NOW);
        let auth = r
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
            .unwrap();
        let mut wrong_date = r.clone();
        wrong_date.set_header(
            "Authorization",
            auth.replace("/20130524/", "/20130523/").as_bytes(),
        );
        let e = wrong_date.verify(NOW).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AuthorizationHeaderMalformed);
        assert!(e.message.contains("Invalid credential date"));
        let mut wrong_service = r.clone();
        wrong_service.set_header(
            "Authorization",
            auth.replace("/us-east-1/s3/", "/us-east-1/ec2/").as_bytes(),
        );
        assert_eq!(
            wrong_service.code(NOW),
            S3ErrorCode::AuthorizationHeaderMalformed
        );
        // Another region is a different key: the signature no longer matches.
        let mut wrong_region = r.clone();
        wrong_region.set_header(
            "Authorization",
            auth.replace("/us-east-1/", "/eu-west-1/").as_bytes(),
        );
        assert_eq!(wrong_region.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn region_of_a_correctly_signed_other_region_is_reported() {
        let date = AmzDate::from_unix(NOW).unwrap();
        let headers = [
            ("host", HOST),
            ("x-amz-date", date.as_str()),
            ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
        ];
        let auth = sign_request(
            &SignableRequest {
                method: "HEAD",
                canonical_uri: "/b",
                query: &[],
                headers: &headers,
                payload_hash: UNSIGNED_PAYLOAD,
            },
            &Credentials::new(AK, SK),
            "garage",
            &date,
            &mut SigningKeyCache::new(),
        );
        let mut r = Owned {
            method: "HEAD".into(),
            path: "/b".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
        };
        r.set_header("authorization", auth.as_bytes());
        let v = r.verify(NOW).unwrap();
        assert_eq!(v.region, "garage");
        assert_eq!(v.payload, PayloadSigning::Unsigned);
    }

    #[test]
    fn mechanism_selection() {
        // Neither: anonymous is refused.
        let mut anon = simple(NOW);
        anon.remove_header("authorization");
        let e = anon.verify(NOW).unwrap_err();
        assert_eq!((e.code, e.status()), (S3ErrorCode::AccessDenied, 403));
        // SigV2 presigned query: verified as SigV2 (this one expired long ago).
        let mut v2 = anon.clone();
        v2.query = "AWSAccessKeyId=AK&Expires=1&Signature=abc".into();
        let e = v2.verify(NOW).unwrap_err();
        assert_eq!((e.code, e.status()), (S3ErrorCode::AccessDenied, 403));
        assert!(e.message.contains("expired"));
        // SigV2 header: verified as SigV2 (and this signature is not the request's).
        let mut v2h = anon.clone();
        v2h.set_header(
            "Authorization",
            b"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
        );
        assert_eq!(v2h.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        // SigV2 header beside a SigV2 query: two mechanisms.
        let mut two = v2h.clone();
        two.query = "AWSAccessKeyId=AK&Expires=1&Signature=abc".into();
        assert_eq!(two.code(NOW), S3ErrorCode::InvalidArgument);
        // Both.
        let mut both = presigned("/k", &[], NOW, 60);
        let header = simple(NOW);
        both.headers = header.headers.clone();
        assert_eq!(both.code(NOW), S3ErrorCode::InvalidArgument);
    }

    /// Signed the way curl 7.88's `--aws-sigv4` signs: `host;x-amz-date`, no
    /// `x-amz-content-sha256` sent, `payload_hash` in the canonical request.
    fn curl_signed(method: &str, payload_hash: &str, extra: &[(&str, &str)]) -> Owned {
        let date = AmzDate::from_unix(NOW).unwrap();
        let headers = [("Host", HOST), ("x-amz-date", date.as_str())];
        let signable = SignableRequest {
            method,
            canonical_uri: "/bucket/key",
            query: &[],
            headers: &headers,
            payload_hash,
        };
        let mut cache = SigningKeyCache::new();
        let auth = sign_request(
            &signable,
            &Credentials::new(AK, SK),
            "us-east-1",
            &date,
            &mut cache,
        );
        let mut r = Owned {
            method: method.into(),
            path: "/bucket/key".into(),
            query: String::new(),
            headers: headers
                .iter()
                .chain(extra)
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
        };
        r.set_header("Authorization", auth.as_bytes());
        r
    }

    #[test]
    fn bodyless_request_may_omit_content_sha256() {
        for method in ["GET", "HEAD", "DELETE"] {
            let v = curl_signed(method, EMPTY_SHA256_HEX, &[])
                .verify(NOW)
                .unwrap();
            let empty: [u8; 32] = hex::decode(EMPTY_SHA256_HEX).unwrap().try_into().unwrap();
            assert_eq!(v.payload, PayloadSigning::Sha256(empty), "{method}");
        }
        let zero = curl_signed("DELETE", EMPTY_SHA256_HEX, &[("Content-Length", "0")]);
        zero.verify(NOW).unwrap();
        // Signed over another payload hash: the empty one is what gets checked, so it fails.
        let other = curl_signed("GET", UNSIGNED_PAYLOAD, &[]);
        assert_eq!(other.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        // A body still needs the header, whatever its framing.
        for framing in [("Content-Length", "6"), ("Transfer-Encoding", "chunked")] {
            let r = curl_signed("PUT", EMPTY_SHA256_HEX, &[framing]);
            assert_eq!(r.code(NOW), S3ErrorCode::InvalidRequest, "{framing:?}");
        }
    }

    #[test]
    fn content_sha256_rules() {
        let mut missing = simple(NOW);
        missing.set_header("content-length", b"5");
        missing.remove_header("x-amz-content-sha256");
        let e = missing.verify(NOW).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidRequest);
        assert_eq!(
            e.message,
            "Missing required header for this request: x-amz-content-sha256"
        );
        for bad in [
            "zz",
            "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
            &"g".repeat(64),
        ] {
            let r = header_signed("PUT", "/k", &[], &[], bad, NOW, SK);
            assert_eq!(r.code(NOW), S3ErrorCode::InvalidArgument, "{bad}");
        }
        for (value, mode) in [
            ("UNSIGNED-PAYLOAD", PayloadSigning::Unsigned),
            (
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                PayloadSigning::StreamingSigned,
            ),
            (
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                PayloadSigning::StreamingUnsignedTrailer,
            ),
            (
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                PayloadSigning::StreamingSignedTrailer,
            ),
        ] {
            let v = header_signed("PUT", "/k", &[], &[], value, NOW, SK)
                .verify(NOW)
                .unwrap();
            assert_eq!(v.payload, mode);
            assert_eq!(v.chunk_signer.is_some(), mode.is_signed_streaming());
        }
    }

    #[test]
    fn date_header_fallback() {
        let date = "Fri, 24 May 2013 00:00:00 GMT";
        let amz = AmzDate::from_unix(NOW).unwrap();
        let headers = [
            ("Host", HOST),
            ("Date", date),
            ("x-amz-content-sha256", EMPTY_SHA256_HEX),
        ];
        let auth = sign_request(
            &SignableRequest {
                method: "GET",
                canonical_uri: "/k",
                query: &[],
                headers: &headers,
                payload_hash: EMPTY_SHA256_HEX,
            },
            &Credentials::new(AK, SK),
            "us-east-1",
            &amz,
            &mut SigningKeyCache::new(),
        );
        let mut r = Owned {
            method: "GET".into(),
            path: "/k".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
        };
        r.set_header("Authorization", auth.as_bytes());
        assert!(r.verify(NOW).is_ok());
        assert_eq!(r.code(NOW + 3600), S3ErrorCode::RequestTimeTooSkewed);
        let mut bad = r.clone();
        bad.set_header("Date", b"yesterday");
        assert_eq!(bad.code(NOW), S3ErrorCode::AccessDenied);
        let mut none = r.clone();
        none.remove_header("Date");
        assert_eq!(none.code(NOW), S3ErrorCode::AccessDenied);
        // An invalid x-amz-date does not fall back to Date.
        let mut both = r.clone();
        both.set_header("x-amz-date", b"not-a-date");
        assert_eq!(both.code(NOW), S3ErrorCode::AccessDenied);
    }

    #[test]
    fn duplicate_headers() {
        // Duplicate auth-relevant headers are refused outright.
        for name in ["Authorization", "x-amz-date", "x-amz-content-sha256"] {
            let mut r = simple(NOW);
            let value = r
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap();
            r.headers.push((name.to_ascii_uppercase(), value));
            assert_eq!(r.code(NOW), S3ErrorCode::InvalidArgument, "{name}");
        }
        // Other signed headers may repeat; they are joined with ',' in order.
        let r = header_signed(
            "GET",
            "/k",
            &[],
            &[("x-amz-meta-a", "1"), ("X-Amz-Meta-A", "2")],
            EMPTY_SHA256_HEX,
            NOW,
            SK,
        );
        assert!(r.verify(NOW).is_ok());
        let mut reordered = r.clone();
        let a = reordered
            .headers
            .iter()
            .position(|(n, _)| n == "x-amz-meta-a")
            .unwrap();
        let b = reordered
            .headers
            .iter()
            .position(|(n, _)| n == "X-Amz-Meta-A")
            .unwrap();
        reordered.headers.swap(a, b);
        assert_eq!(reordered.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        let mut dropped = r.clone();
        dropped.headers.remove(b);
        assert_eq!(dropped.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn unsigned_amz_headers_and_missing_signed_headers() {
        let mut extra = simple(NOW);
        extra
            .headers
            .push(("x-amz-copy-source".into(), b"/other/secret".to_vec()));
        let e = extra.verify(NOW).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AccessDenied);
        assert!(e.message.contains("not signed"));
        // Non-x-amz headers may go unsigned.
        let mut ua = simple(NOW);
        ua.headers.push(("User-Agent".into(), b"curl".to_vec()));
        assert!(ua.verify(NOW).is_ok());
        // A signed header that is missing fails the signature.
        let mut missing = header_signed(
            "GET",
            "/k",
            &[],
            &[("range", "bytes=0-1")],
            EMPTY_SHA256_HEX,
            NOW,
            SK,
        );
        missing.remove_header("range");
        assert_eq!(missing.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        // Host must be signed.
        let date = AmzDate::from_unix(NOW).unwrap();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request, SignedHeaders=x-amz-content-sha256;x-amz-date, Signature={}",
            "0".repeat(64)
        );
        let r = Owned {
            method: "GET".into(),
            path: "/".into(),
            query: String::new(),
            headers: vec![
                ("x-amz-date".into(), date.as_str().as_bytes().to_vec()),
                (
                    "x-amz-content-sha256".into(),
                    EMPTY_SHA256_HEX.as_bytes().to_vec(),
                ),
                ("authorization".into(), auth.into_bytes()),
            ],
        };
        assert_eq!(r.code(NOW), S3ErrorCode::AuthorizationHeaderMalformed);
    }

    #[test]
    fn malformed_authorization_headers_never_panic() {
        let base = simple(NOW);
        let shapes: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"AWS4-HMAC-SHA256".to_vec(),
            b"AWS4-HMAC-SHA256 Credential=".to_vec(),
            b"AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request".to_vec(),
            b"AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=".to_vec(),
            b"AWS4-HMAC-SHA256 ,,,,===;;;".to_vec(),
            b"\xff\xfe\xfd".to_vec(),
            "AWS4-HMAC-SHA256 Credential=ÄK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=é".as_bytes().to_vec(),
            vec![b'A'; 10_000],
            b"AWS4-HMAC-SHA256 \0\0\0".to_vec(),
        ];
        for shape in shapes {
            let mut r = base.clone();
            r.set_header("Authorization", &shape);
            let e = r.verify(NOW).unwrap_err();
            assert!(
                matches!(
                    e.code,
                    S3ErrorCode::AuthorizationHeaderMalformed | S3ErrorCode::InvalidRequest
                ),
                "{:?} -> {:?}",
                String::from_utf8_lossy(&shape),
                e.code
            );
        }
    }

    #[test]
    fn path_normalisation_and_as_sent_fallback() {
        // A client that signs the normalised path but sends needless/lower-case escapes.
        let mut r = header_signed("GET", "/bucket/a~b/c", &[], &[], EMPTY_SHA256_HEX, NOW, SK);
        r.path = "/bucket/a%7eb/%63".into();
        assert!(r.verify(NOW).is_ok());
        // A client that signs exactly what it sends (`%2F` inside a key, `+`).
        for raw in ["/bucket/a%2Fb", "/bucket/a+b", "/bucket/a%2fb%20c"] {
            let r = header_signed("GET", raw, &[], &[], EMPTY_SHA256_HEX, NOW, SK);
            assert!(r.verify(NOW).is_ok(), "{raw}");
        }
        // Non-ASCII keys, encoded the SDK way.
        let key = format!("/bucket/{}", uri_encode("ключ/日本 語.txt", true));
        assert!(
            header_signed("GET", &key, &[], &[], EMPTY_SHA256_HEX, NOW, SK)
                .verify(NOW)
                .is_ok()
        );
        // Signed as `/a%2Fb` but sent as `/a/b`: the fallback only ever uses what was sent.
        let mut r = header_signed("GET", "/bucket/a%2Fb", &[], &[], EMPTY_SHA256_HEX, NOW, SK);
        r.path = "/bucket/a/b".into();
        assert_eq!(r.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        // Dot segments are not normalised: a different path is a different signature.
        let mut r = header_signed(
            "GET",
            "/bucket/x/../key",
            &[],
            &[],
            EMPTY_SHA256_HEX,
            NOW,
            SK,
        );
        assert!(r.verify(NOW).is_ok());
        r.path = "/bucket/key".into();
        assert_eq!(r.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn presigned_expiry_and_future_dates() {
        let r = presigned("/bucket/test.txt", &[], NOW, 86_400);
        assert!(r.verify(NOW).is_ok());
        assert!(r.verify(NOW + 86_400).is_ok());
        let e = r.verify(NOW + 86_401).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_ref()),
            (S3ErrorCode::AccessDenied, "Request has expired")
        );
        // Dated slightly ahead of our clock is fine, far ahead is not.
        assert!(r.verify(NOW - MAX_CLOCK_SKEW_SECS).is_ok());
        let e = r.verify(NOW - MAX_CLOCK_SKEW_SECS - 1).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AccessDenied);
        // More than 7 days is refused before anything else, with 403.
        let mut long = r.clone();
        long.query = long
            .query
            .replace("X-Amz-Expires=86400", "X-Amz-Expires=604801");
        assert_eq!(long.code(NOW), S3ErrorCode::AccessDenied);
        // Exactly 7 days is the maximum.
        let week = presigned("/bucket/test.txt", &[], NOW, 604_800);
        assert!(week.verify(NOW + 604_800).is_ok());
        assert_eq!(week.code(NOW + 604_801), S3ErrorCode::AccessDenied);
    }

    #[test]
    fn presigned_tampering_and_extras() {
        let r = presigned(
            "/bucket/test.txt",
            &[
                ("response-content-type", "text/plain"),
                ("versionId", "a b"),
            ],
            NOW,
            600,
        );
        let v = r.verify(NOW).unwrap();
        assert_eq!(v.kind, AuthKind::Presigned);
        assert_eq!(v.payload, PayloadSigning::Unsigned);
        // Query parameter order on the wire does not matter.
        let mut shuffled = r.clone();
        let mut parts: Vec<&str> = r.query.split('&').collect();
        parts.reverse();
        shuffled.query = parts.join("&");
        assert!(shuffled.verify(NOW).is_ok());
        // Any changed parameter does.
        let mut changed = r.clone();
        changed.query = changed.query.replace("text%2Fplain", "text%2Fhtml");
        assert_eq!(changed.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        let mut added = r.clone();
        added.query.push_str("&acl");
        assert_eq!(added.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        let mut host = r.clone();
        host.set_header("Host", b"evil.example.com");
        assert_eq!(host.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        let mut unsigned_amz = r.clone();
        unsigned_amz
            .headers
            .push(("x-amz-copy-source".into(), b"/a/b".to_vec()));
        assert_eq!(unsigned_amz.code(NOW), S3ErrorCode::AccessDenied);
        let mut sig = r.clone();
        let at = sig.query.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
        let flipped = if sig.query.as_bytes()[at] == b'0' {
            "1"
        } else {
            "0"
        };
        sig.query.replace_range(at..at + 1, flipped);
        assert_eq!(sig.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
        let mut unknown = r.clone();
        unknown.query = unknown.query.replace("AKIAIOSFODNN7EXAMPLE", "AKIAUNKNOWN");
        assert_eq!(unknown.code(NOW), S3ErrorCode::InvalidAccessKeyId);
        let mut date = r.clone();
        date.query = date.query.replace("%2F20130524%2F", "%2F20130525%2F");
        assert_eq!(
            date.code(NOW),
            S3ErrorCode::AuthorizationQueryParametersError
        );
    }

    #[test]
    fn presigned_with_security_token() {
        let date = AmzDate::from_unix(NOW).unwrap();
        let mut creds = Credentials::new(AK, SK);
        creds.session_token = Some("FQoG/token+value=".into());
        let url = presign_url(
            &SignableRequest {
                method: "PUT",
                canonical_uri: "/b/k",
                query: &[],
                headers: &[("host", HOST)],
                payload_hash: UNSIGNED_PAYLOAD,
            },
            &creds,
            "us-east-1",
            &date,
            60,
            &mut SigningKeyCache::new(),
        )
        .unwrap();
        assert!(url.contains("X-Amz-Security-Token=FQoG%2Ftoken%2Bvalue%3D"));
        let (p, q) = url.split_once('?').unwrap();
        let r = Owned {
            method: "PUT".into(),
            path: p.into(),
            query: q.into(),
            headers: vec![("host".into(), HOST.as_bytes().to_vec())],
        };
        assert!(r.verify(NOW).is_ok());
        let mut stripped = r.clone();
        stripped.query = q
            .split('&')
            .filter(|p| !p.starts_with("X-Amz-Security-Token"))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(stripped.code(NOW), S3ErrorCode::SignatureDoesNotMatch);
    }

    /// Small deterministic PRNG (xorshift64*) for the property test: no extra dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn text(&mut self, max: usize, alphabet: &[char]) -> String {
            let len = 1 + self.below(max);
            (0..len)
                .map(|_| alphabet[self.below(alphabet.len())])
                .collect()
        }
    }

    #[test]
    fn round_trip_property_and_single_byte_changes_fail() {
        let key_chars: Vec<char> = "abcXYZ019-._~ /+%=&?#é日!*'()".chars().collect();
        let value_chars: Vec<char> = "abcXYZ019-._~ ,;:=\"/".chars().collect();
        let name_chars: Vec<char> = "abcdefxyz-".chars().collect();
        let methods = ["GET", "PUT", "HEAD", "DELETE", "POST"];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..40 {
            let method = methods[rng.below(methods.len())];
            let object_key = rng.text(24, &key_chars);
            let path = format!("/bucket/{}", uri_encode(&object_key, true));
            let query_owned: Vec<(String, String)> = (0..rng.below(4))
                .map(|_| (rng.text(8, &key_chars), rng.text(8, &key_chars)))
                .collect();
            let query: Vec<(&str, &str)> = query_owned
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let headers_owned: Vec<(String, String)> = (0..rng.below(4))
                .map(|_| {
                    let prefix = if rng.below(2) == 0 {
                        "x-amz-meta-"
                    } else {
                        "x-"
                    };
                    let name = format!("{prefix}{}", rng.text(6, &name_chars));
                    // Values never end in spaces here so every byte we flip is significant.
                    (name, format!("{}z", rng.text(12, &value_chars)))
                })
                .collect();
            let extra: Vec<(&str, &str)> = headers_owned
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let at = NOW + rng.below(100_000) as i64;
            let r = header_signed(method, &path, &query, &extra, EMPTY_SHA256_HEX, at, SK);
            let v = r
                .verify(at)
                .unwrap_or_else(|e| panic!("case {case}: {e} for {path}?{}", r.query));
            assert_eq!(v.access_key_id, AK);

            // Flip one non-space byte of each signed header value.
            for (i, (name, value)) in r.headers.iter().enumerate() {
                if name.eq_ignore_ascii_case("authorization") {
                    continue;
                }
                let Some(pos) = value.iter().rposition(|b| *b != b' ') else {
                    continue;
                };
                let mut m = r.clone();
                m.headers[i].1[pos] = if value[pos] == b'q' { b'r' } else { b'q' };
                assert!(
                    m.verify(at).is_err(),
                    "case {case}: changed {name} still verified"
                );
            }
            // Change the method, the path, the query.
            let mut m = r.clone();
            m.method = if method == "GET" {
                "PUT".into()
            } else {
                "GET".into()
            };
            assert!(m.verify(at).is_err());
            let mut m = r.clone();
            m.path.push('q');
            assert!(m.verify(at).is_err());
            if !r.query.is_empty() {
                let mut m = r.clone();
                m.query.push('q');
                assert!(m.verify(at).is_err(), "case {case}: query change verified");
            }
            // And every byte of the signature itself.
            let auth_idx = r
                .headers
                .iter()
                .position(|(n, _)| n == "Authorization")
                .unwrap();
            let auth_len = r.headers[auth_idx].1.len();
            for pos in auth_len - 64..auth_len {
                let mut m = r.clone();
                let b = m.headers[auth_idx].1[pos];
                m.headers[auth_idx].1[pos] = if b == b'0' { b'1' } else { b'0' };
                assert_eq!(m.code(at), S3ErrorCode::SignatureDoesNotMatch);
            }
        }
    }

    #[test]
    fn fuzz_entry_points_do_not_panic() {
        use crate::s3::auth::{
            fuzz_parse_authorization, fuzz_parse_presigned, fuzz_verify_request,
        };
        let mut rng = Rng(42);
        let seeds: [&[u8]; 4] = [
            b"AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=",
            PRESIGNED_SAMPLE.as_bytes(),
            b"/a%2\n&&==&X-Amz-Algorithm\nAWS4-HMAC-SHA256 \n20130524T000000Z\nUNSIGNED-PAYLOAD\nh",
            b"\xff\x00%%%;;;,,,",
        ];
        for seed in seeds {
            for _ in 0..200 {
                let mut data = seed.to_vec();
                for _ in 0..1 + rng.below(4) {
                    let pos = rng.below(data.len().max(1));
                    match rng.below(3) {
                        0 if !data.is_empty() => {
                            data.remove(pos.min(data.len() - 1));
                        }
                        1 => data.insert(pos.min(data.len()), rng.next() as u8),
                        _ if !data.is_empty() => {
                            let at = pos.min(data.len() - 1);
                            data[at] = rng.next() as u8;
                        }
                        _ => {}
                    }
                }
                fuzz_parse_authorization(&data);
                fuzz_parse_presigned(&data);
                fuzz_verify_request(&data);
            }
        }
    }

    const PRESIGNED_SAMPLE: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
}
