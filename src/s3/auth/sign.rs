//! Signing with SigV4: the requests the proxy sends to its backends (`Authorization`
//! header) and producing presigned URLs (tests, load generator).
//!
//! Unlike the verifier, the input here is already in our hands: the path is passed already
//! URI-encoded (see [`uri_encode`](super::uri_encode)), query pairs and header values unencoded.

use std::cmp::Ordering;

use hmac::Mac;
use sha2::{Digest, Sha256};

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

use super::amz_date::AmzDate;
use super::canonical::{put_stream, write_header_value, Encoded, Sink};
use super::presigned::{
    MAX_PRESIGNED_EXPIRES_SECS, P_ALGORITHM, P_CREDENTIAL, P_DATE, P_EXPIRES, P_SECURITY_TOKEN,
    P_SIGNATURE, P_SIGNED_HEADERS,
};
use super::scope::CredentialScope;
use super::secret::Credentials;
use super::signature::{hex_lower, write_string_to_sign, Signature, ALGORITHM};
use super::signing_key::{SigningKey, SigningKeyCache};
use super::{SERVICE, UNSIGNED_PAYLOAD};

/// A request to sign, as the client builds it.
#[derive(Debug, Clone, Copy)]
pub struct SignableRequest<'a> {
    pub method: &'a str,
    /// Path already AWS URI-encoded (`/` kept), e.g. `/bucket/test%24file.text`.
    pub canonical_uri: &'a str,
    /// Query parameters, unencoded; `("lifecycle", "")` for a bare `?lifecycle`.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers to sign (any name case; duplicates are joined in order). Must include `host`,
    /// and for header signing `x-amz-date` and `x-amz-content-sha256`.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, `UNSIGNED-PAYLOAD` or a `STREAMING-…` value. Ignored by
    /// [`presign_url`], which always signs `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
}

fn encoded(s: &str) -> Encoded<std::str::Bytes<'_>> {
    Encoded::new(s.bytes(), false)
}

fn cmp_pairs(a: &(&str, &str), b: &(&str, &str)) -> Ordering {
    encoded(a.0)
        .cmp(encoded(b.0))
        .then_with(|| encoded(a.1).cmp(encoded(b.1)))
}

fn write_query<S: Sink>(sink: &mut S, sorted: &[(&str, &str)]) {
    for (i, (name, value)) in sorted.iter().enumerate() {
        if i > 0 {
            sink.put(b"&");
        }
        put_stream(sink, encoded(name));
        sink.put(b"=");
        put_stream(sink, encoded(value));
    }
}

/// Header indices sorted by lower-cased name (stable, so duplicates keep their order) and the
/// `SignedHeaders` list.
fn header_plan(headers: &[(&str, &str)]) -> (Vec<usize>, String) {
    let mut order: Vec<usize> = (0..headers.len()).collect();
    order.sort_by(|&a, &b| {
        headers[a]
            .0
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(headers[b].0.bytes().map(|c| c.to_ascii_lowercase()))
    });
    let mut signed = String::new();
    let mut last: Option<&str> = None;
    for &i in &order {
        let name = headers[i].0;
        if last.is_some_and(|l| l.eq_ignore_ascii_case(name)) {
            continue;
        }
        if last.is_some() {
            signed.push(';');
        }
        signed.extend(name.chars().map(|c| c.to_ascii_lowercase()));
        last = Some(name);
    }
    (order, signed)
}

fn write_headers<S: Sink>(sink: &mut S, headers: &[(&str, &str)], order: &[usize]) {
    let mut last: Option<&str> = None;
    for &i in order {
        let (name, value) = headers[i];
        if last.is_some_and(|l| l.eq_ignore_ascii_case(name)) {
            sink.put(b",");
        } else {
            if last.is_some() {
                sink.put(b"\n");
            }
            put_stream(sink, name.bytes().map(|c| c.to_ascii_lowercase()));
            sink.put(b":");
        }
        write_header_value(sink, value.as_bytes());
        last = Some(name);
    }
    if last.is_some() {
        sink.put(b"\n");
    }
}

fn write_canonical<S: Sink>(
    sink: &mut S,
    req: &SignableRequest<'_>,
    sorted_query: &[(&str, &str)],
    header_order: &[usize],
    signed_headers: &str,
    payload_hash: &str,
) {
    sink.put(req.method.as_bytes());
    sink.put(b"\n");
    sink.put(if req.canonical_uri.is_empty() {
        b"/"
    } else {
        req.canonical_uri.as_bytes()
    });
    sink.put(b"\n");
    write_query(sink, sorted_query);
    sink.put(b"\n");
    write_headers(sink, req.headers, header_order);
    sink.put(b"\n");
    sink.put(signed_headers.as_bytes());
    sink.put(b"\n");
    sink.put(payload_hash.as_bytes());
}

/// The canonical request `sign_request` signs, as text (tests and debugging).
pub fn signable_canonical_request(req: &SignableRequest<'_>) -> String {
    let mut query = req.query.to_vec();
    query.sort_by(cmp_pairs);
    let (order, signed) = header_plan(req.headers);
    let mut out = Vec::with_capacity(512);
    write_canonical(&mut out, req, &query, &order, &signed, req.payload_hash);
    String::from_utf8_lossy(&out).into_owned()
}

fn sign_canonical(
    key: &SigningKey,
    amz_date: &AmzDate,
    scope: &CredentialScope<'_>,
    canonical_sha256: [u8; 32],
) -> Signature {
    let mut mac = key.mac();
    write_string_to_sign(&mut mac, amz_date, scope, &hex_lower(&canonical_sha256));
    Signature::from_bytes(mac.finalize().into_bytes().into())
}

/// Signs `req` and returns the `Authorization` header value
/// (`AWS4-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…`).
pub fn sign_request(
    req: &SignableRequest<'_>,
    credentials: &Credentials,
    region: &str,
    amz_date: &AmzDate,
    cache: &mut SigningKeyCache,
) -> String {
    let scope = CredentialScope::new(amz_date.date_stamp(), region, SERVICE);
    let key = cache.get_or_derive(&credentials.access_key_id, &credentials.secret, &scope);
    let mut query = req.query.to_vec();
    query.sort_by(cmp_pairs);
    let (order, signed) = header_plan(req.headers);
    let mut hasher = Sha256::new();
    write_canonical(&mut hasher, req, &query, &order, &signed, req.payload_hash);
    let sig = sign_canonical(&key, amz_date, &scope, hasher.finalize().into());
    format!(
        "{ALGORITHM} Credential={}/{scope},SignedHeaders={signed},Signature={}",
        credentials.access_key_id,
        sig.to_hex()
    )
}

/// Presigns `req` for `expires_secs` (1..=604800) and returns `<canonical_uri>?<query>` with
/// the `X-Amz-*` parameters and signature appended; prepend scheme and host to get the URL.
pub fn presign_url(
    req: &SignableRequest<'_>,
    credentials: &Credentials,
    region: &str,
    amz_date: &AmzDate,
    expires_secs: u32,
    cache: &mut SigningKeyCache,
) -> S3Result<String> {
    if expires_secs == 0 || expires_secs > MAX_PRESIGNED_EXPIRES_SECS {
        return Err(S3Error::with_message(
            S3ErrorCode::AuthorizationQueryParametersError,
            "X-Amz-Expires must be between 1 and 604800 seconds",
        ));
    }
    let scope = CredentialScope::new(amz_date.date_stamp(), region, SERVICE);
    let key = cache.get_or_derive(&credentials.access_key_id, &credentials.secret, &scope);
    let (order, signed) = header_plan(req.headers);
    let credential = format!("{}/{scope}", credentials.access_key_id);
    let expires = expires_secs.to_string();
    let mut query: Vec<(&str, &str)> = req.query.to_vec();
    query.extend([
        (P_ALGORITHM, ALGORITHM),
        (P_CREDENTIAL, credential.as_str()),
        (P_DATE, amz_date.as_str()),
        (P_EXPIRES, expires.as_str()),
        (P_SIGNED_HEADERS, signed.as_str()),
    ]);
    if let Some(token) = &credentials.session_token {
        query.push((P_SECURITY_TOKEN, token.as_str()));
    }
    query.sort_by(cmp_pairs);
    let mut hasher = Sha256::new();
    write_canonical(&mut hasher, req, &query, &order, &signed, UNSIGNED_PAYLOAD);
    let sig = sign_canonical(&key, amz_date, &scope, hasher.finalize().into());
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(if req.canonical_uri.is_empty() {
        b"/"
    } else {
        req.canonical_uri.as_bytes()
    });
    out.push(b'?');
    write_query(&mut out, &query);
    out.push(b'&');
    out.extend_from_slice(P_SIGNATURE.as_bytes());
    out.push(b'=');
    out.extend_from_slice(sig.to_hex().as_bytes());
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_plan_sorts_case_insensitively_and_dedups() {
        let headers = [
            ("X-Amz-Date", "d"),
            ("Host", "h"),
            ("x-amz-meta-b", "1"),
            ("X-AMZ-META-B", "2"),
            ("content-type", " text/plain "),
        ];
        let (order, signed) = header_plan(&headers);
        assert_eq!(signed, "content-type;host;x-amz-date;x-amz-meta-b");
        let mut out = Vec::new();
        write_headers(&mut out, &headers, &order);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "content-type:text/plain\nhost:h\nx-amz-date:d\nx-amz-meta-b:1,2\n"
        );
    }

    #[test]
    fn presign_rejects_bad_expiry() {
        let req = SignableRequest {
            method: "GET",
            canonical_uri: "/k",
            query: &[],
            headers: &[("host", "h")],
            payload_hash: UNSIGNED_PAYLOAD,
        };
        let creds = Credentials::new("AK", "SK");
        let date = AmzDate::parse("20130524T000000Z").unwrap();
        let mut cache = SigningKeyCache::new();
        for bad in [0, MAX_PRESIGNED_EXPIRES_SECS + 1] {
            let e = presign_url(&req, &creds, "us-east-1", &date, bad, &mut cache).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::AuthorizationQueryParametersError);
        }
        assert!(presign_url(&req, &creds, "us-east-1", &date, 1, &mut cache).is_ok());
    }
}
