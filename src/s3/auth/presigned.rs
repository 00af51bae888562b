//! Parsing the query-string (presigned URL) form of SigV4: `X-Amz-Algorithm`,
//! `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`
//! and the optional `X-Amz-Security-Token` / `X-Amz-Content-Sha256`.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

use super::amz_date::AmzDate;
use super::authorization::check_signed_headers;
use super::canonical::split_query;
use super::scope::{CredentialScope, ParsedCredential};
use super::signature::{Signature, ALGORITHM};

/// Longest validity S3 allows for a presigned URL: seven days, in seconds.
pub const MAX_PRESIGNED_EXPIRES_SECS: u32 = 604_800;

pub(crate) const P_ALGORITHM: &str = "X-Amz-Algorithm";
pub(crate) const P_CREDENTIAL: &str = "X-Amz-Credential";
pub(crate) const P_DATE: &str = "X-Amz-Date";
pub(crate) const P_EXPIRES: &str = "X-Amz-Expires";
pub(crate) const P_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
pub(crate) const P_SIGNATURE: &str = "X-Amz-Signature";
pub(crate) const P_SECURITY_TOKEN: &str = "X-Amz-Security-Token";
pub(crate) const P_CONTENT_SHA256: &str = "X-Amz-Content-Sha256";

/// A parsed presigned query. Values are percent-decoded, borrowed when they had no escapes.
#[derive(Debug, Clone)]
pub struct ParsedPresigned<'a> {
    credential: Cow<'a, str>,
    pub amz_date: AmzDate,
    /// Validity in seconds from `amz_date`, 1..=[`MAX_PRESIGNED_EXPIRES_SECS`].
    pub expires_secs: u32,
    pub signed_headers: Cow<'a, str>,
    pub signature: Signature,
    pub security_token: Option<Cow<'a, str>>,
    /// An explicit payload hash some SDKs put in the query; otherwise `UNSIGNED-PAYLOAD`.
    pub content_sha256: Option<Cow<'a, str>>,
}

impl ParsedPresigned<'_> {
    /// Access key id and scope from `X-Amz-Credential`.
    pub fn credential(&self) -> ParsedCredential<'_> {
        // Validated when parsed; the empty fallback cannot occur and could never verify.
        ParsedCredential::parse(&self.credential).unwrap_or(ParsedCredential {
            access_key_id: "",
            scope: CredentialScope::new("", "", ""),
        })
    }
}

fn query_error(message: impl Into<Cow<'static, str>>) -> S3Error {
    S3Error::with_message(S3ErrorCode::AuthorizationQueryParametersError, message)
}

fn decode(value: &str) -> S3Result<Cow<'_, str>> {
    percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| query_error("Query-string authentication parameters must be valid UTF-8."))
}

/// Whether the raw query has a parameter literally named `name`.
pub(crate) fn query_has_param(raw_query: &str, name: &str) -> bool {
    split_query(raw_query).any(|(n, _)| n == name)
}

/// The raw (still percent-encoded) values of the query's `X-Amz-*` authentication parameters,
/// each present at most once.
#[derive(Default)]
struct RawParams<'a> {
    algorithm: Option<&'a str>,
    credential: Option<&'a str>,
    date: Option<&'a str>,
    expires: Option<&'a str>,
    signed_headers: Option<&'a str>,
    signature: Option<&'a str>,
    security_token: Option<&'a str>,
    content_sha256: Option<&'a str>,
}

/// The parameters every presigned request must carry, once `X-Amz-Algorithm` is there.
struct RequiredParams<'a> {
    credential: &'a str,
    date: &'a str,
    expires: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

impl<'a> RawParams<'a> {
    /// Collects the `X-Amz-*` parameters of `raw_query`; other parameters are skipped. A
    /// parameter given twice is an error, whether or not the query is presigned.
    fn collect(raw_query: &'a str) -> S3Result<Self> {
        let mut params = RawParams::default();
        for (name, value) in split_query(raw_query) {
            let slot = match name {
                P_ALGORITHM => &mut params.algorithm,
                P_CREDENTIAL => &mut params.credential,
                P_DATE => &mut params.date,
                P_EXPIRES => &mut params.expires,
                P_SIGNED_HEADERS => &mut params.signed_headers,
                P_SIGNATURE => &mut params.signature,
                P_SECURITY_TOKEN => &mut params.security_token,
                P_CONTENT_SHA256 => &mut params.content_sha256,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(query_error(format!(
                    "Query-string authentication parameter {name} appears more than once."
                )));
            }
        }
        Ok(params)
    }

    /// The required parameters, or the error naming them all when one is missing.
    fn required(&self) -> S3Result<RequiredParams<'a>> {
        let (Some(credential), Some(date), Some(expires), Some(signed_headers), Some(signature)) = (
            self.credential,
            self.date,
            self.expires,
            self.signed_headers,
            self.signature,
        ) else {
            return Err(query_error(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, \
                 X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, \
                 and X-Amz-Expires parameters.",
            ));
        };
        Ok(RequiredParams {
            credential,
            date,
            expires,
            signed_headers,
            signature,
        })
    }
}

fn check_algorithm(raw: &str) -> S3Result<()> {
    if decode(raw)? != ALGORITHM {
        return Err(query_error(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    Ok(())
}

fn parse_credential(raw: &str) -> S3Result<Cow<'_, str>> {
    let credential = decode(raw)?;
    if let Err(reason) = ParsedCredential::parse(&credential) {
        return Err(query_error(format!(
            "Error parsing the X-Amz-Credential parameter; {reason}."
        )));
    }
    Ok(credential)
}

fn parse_date(raw: &str) -> S3Result<AmzDate> {
    AmzDate::parse(&decode(raw)?).ok_or_else(|| {
        query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    })
}

/// Most digits an in-range `X-Amz-Expires` can have (604800 has six); longer all-digit values
/// are out of range without being parsed, so no width of number can overflow.
const MAX_EXPIRES_DIGITS: usize = 10;

/// `X-Amz-Expires`: decimal seconds, 1..=[`MAX_PRESIGNED_EXPIRES_SECS`].
///
/// Not a number is malformed (`AuthorizationQueryParametersError`, 400). A number out of range
/// (zero, negative, more than a week) is `AccessDenied`, 403, as S3 answers it (and as Ceph's
/// s3-tests check): the URL is well formed but grants nothing.
fn parse_expires(raw: &str) -> S3Result<u32> {
    let expires = decode(raw)?;
    let (negative, digits) = match expires.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, expires.as_ref()),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(query_error("X-Amz-Expires should be a number"));
    }
    let out_of_range =
        |message: &'static str| S3Error::with_message(S3ErrorCode::AccessDenied, message);
    if negative {
        return Err(out_of_range("X-Amz-Expires must be non-negative"));
    }
    let value: Option<u64> = if digits.len() > MAX_EXPIRES_DIGITS {
        None
    } else {
        digits.parse().ok()
    };
    match value {
        Some(0) => Err(out_of_range("X-Amz-Expires must be at least one second")),
        Some(v) if v <= u64::from(MAX_PRESIGNED_EXPIRES_SECS) => {
            // Bounded by MAX_PRESIGNED_EXPIRES_SECS just above.
            Ok(u32::try_from(v).unwrap_or(MAX_PRESIGNED_EXPIRES_SECS))
        }
        _ => Err(out_of_range(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        )),
    }
}

fn parse_signed_headers(raw: &str) -> S3Result<Cow<'_, str>> {
    let signed_headers = decode(raw)?;
    if let Err(reason) = check_signed_headers(&signed_headers) {
        return Err(query_error(format!(
            "Error parsing the X-Amz-SignedHeaders parameter; {reason}."
        )));
    }
    Ok(signed_headers)
}

fn parse_signature(raw: &str) -> S3Result<Signature> {
    Signature::from_hex(decode(raw)?.as_bytes())
        .ok_or_else(|| query_error("X-Amz-Signature must be 64 hexadecimal characters."))
}

/// Parses the presigned parameters; `Ok(None)` when there is no `X-Amz-Algorithm` (not a
/// presigned request). Never panics. Parameters are checked in a fixed order (algorithm, the
/// required set, credential, date, expiry, signed headers, signature, then the optional ones),
/// so the first problem found is the one reported.
pub fn parse_presigned_query(raw_query: &str) -> S3Result<Option<ParsedPresigned<'_>>> {
    let raw = RawParams::collect(raw_query)?;
    let Some(algorithm) = raw.algorithm else {
        return Ok(None);
    };
    check_algorithm(algorithm)?;
    let required = raw.required()?;
    let credential = parse_credential(required.credential)?;
    let amz_date = parse_date(required.date)?;
    let expires_secs = parse_expires(required.expires)?;
    let signed_headers = parse_signed_headers(required.signed_headers)?;
    let signature = parse_signature(required.signature)?;
    Ok(Some(ParsedPresigned {
        credential,
        amz_date,
        expires_secs,
        signed_headers,
        signature,
        security_token: raw.security_token.map(decode).transpose()?,
        content_sha256: raw.content_sha256.map(decode).transpose()?,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SIG: &str = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    fn example_query() -> String {
        format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature={SIG}"
        )
    }

    #[test]
    fn parses_the_documented_example() {
        let q = example_query();
        let p = parse_presigned_query(&q).unwrap().unwrap();
        let c = p.credential();
        assert_eq!(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(c.scope.to_string(), "20130524/us-east-1/s3/aws4_request");
        assert_eq!(p.amz_date.as_str(), "20130524T000000Z");
        assert_eq!(p.expires_secs, 86_400);
        assert_eq!(p.signed_headers, "host");
        assert_eq!(p.signature.to_hex().as_str(), SIG);
        assert!(p.security_token.is_none());
        assert!(p.content_sha256.is_none());
    }

    #[test]
    fn not_presigned_without_algorithm() {
        assert!(parse_presigned_query("").unwrap().is_none());
        assert!(parse_presigned_query("prefix=a&max-keys=2")
            .unwrap()
            .is_none());
        assert!(parse_presigned_query("X-Amz-Credential=x")
            .unwrap()
            .is_none());
        assert!(query_has_param("a=1&X-Amz-Algorithm", "X-Amz-Algorithm"));
        assert!(!query_has_param("a=1&x-amz-algorithm=2", "X-Amz-Algorithm"));
    }

    #[test]
    fn optional_parameters() {
        let q = format!(
            "{}&X-Amz-Security-Token=tok%2Fen&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD",
            example_query()
        );
        let p = parse_presigned_query(&q).unwrap().unwrap();
        assert_eq!(p.security_token.as_deref(), Some("tok/en"));
        assert_eq!(p.content_sha256.as_deref(), Some("UNSIGNED-PAYLOAD"));
    }

    #[test]
    fn expires_bounds() {
        let with =
            |e: &str| example_query().replace("X-Amz-Expires=86400", &format!("X-Amz-Expires={e}"));
        assert_eq!(
            parse_presigned_query(&with("604800"))
                .unwrap()
                .unwrap()
                .expires_secs,
            604_800
        );
        assert_eq!(
            parse_presigned_query(&with("1"))
                .unwrap()
                .unwrap()
                .expires_secs,
            1
        );
        // Out of range: well formed, grants nothing (403).
        for out in [
            "604801",
            "0",
            "-1",
            "-0",
            "99999999999",
            "18446744073709551617",
        ] {
            let e = parse_presigned_query(&with(out)).unwrap_err();
            assert_eq!(
                (e.code, e.status()),
                (S3ErrorCode::AccessDenied, 403),
                "{out:?}"
            );
        }
        // Not a number: malformed (400).
        for bad in ["", "-", "1e3", "%31x", "+5", " 5"] {
            let e = parse_presigned_query(&with(bad)).unwrap_err();
            assert_eq!(
                e.code,
                S3ErrorCode::AuthorizationQueryParametersError,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn malformed_queries() {
        let q = example_query();
        let cases = [
            q.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
            q.replace("&X-Amz-Date=20130524T000000Z", ""),
            q.replace("&X-Amz-SignedHeaders=host", ""),
            q.replace(&format!("&X-Amz-Signature={SIG}"), ""),
            q.replace("&X-Amz-Expires=86400", ""),
            q.replace(
                "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE",
                "X-Amz-Credential=AK%2Fextra",
            ),
            q.replace("20130524T000000Z", "2013-05-24"),
            q.replace("SignedHeaders=host", "SignedHeaders=Host"),
            q.replace("SignedHeaders=host", "SignedHeaders="),
            q.replace(SIG, "abc"),
            format!("{q}&X-Amz-Date=20130524T000000Z"),
            format!("{q}&X-Amz-Algorithm=AWS4-HMAC-SHA256"),
            q.replace("SignedHeaders=host", "SignedHeaders=%FF"),
            q.replace("Credential=AKIA", "Credential=%C3%28"),
        ];
        for c in &cases {
            let e = parse_presigned_query(c).unwrap_err();
            assert_eq!(
                e.code,
                S3ErrorCode::AuthorizationQueryParametersError,
                "{c:?}"
            );
        }
    }
}
