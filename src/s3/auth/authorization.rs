//! Parsing the SigV4 `Authorization` header:
//! `AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature=<64 hex>`.
//!
//! The three components may come in any order, separated by commas and/or whitespace (SDKs
//! differ on `", "` versus `","`). Everything else is `AuthorizationHeaderMalformed`; other
//! algorithms (SigV4a) are refused as unsupported. SigV2's `AWS AK:sig` never reaches this
//! parser: the verifier sends it to `sigv2.rs`.

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

use super::scope::ParsedCredential;
use super::signature::{Signature, ALGORITHM};

/// Most headers a signature may cover. Far above what any client signs (SDKs sign under 15);
/// the bound keeps the duplicate check trivially cheap on hostile input.
pub const MAX_SIGNED_HEADERS: usize = 128;

/// Message for any algorithm other than SigV4.
pub(crate) const ONLY_SIGV4: &str =
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.";

/// A parsed `Authorization` header, borrowing from the header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedAuthorization<'a> {
    pub credential: ParsedCredential<'a>,
    /// `host;range;x-amz-date`, as sent (it is a line of the canonical request).
    pub signed_headers: &'a str,
    pub signature: Signature,
}

fn malformed(detail: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AuthorizationHeaderMalformed,
        format!("The authorization header is malformed; {detail}."),
    )
}

/// Parses the header value. Never panics on any input.
pub fn parse_authorization_header(value: &str) -> S3Result<ParsedAuthorization<'_>> {
    let value = value.trim_matches(|c: char| c.is_ascii_whitespace());
    let (algorithm, rest) = match value.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (&value[..i], &value[i..]),
        None => (value, ""),
    };
    if algorithm.is_empty() {
        return Err(malformed("it is empty"));
    }
    if algorithm != ALGORITHM {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            ONLY_SIGV4,
        ));
    }

    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for token in rest
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
    {
        let Some((key, val)) = token.split_once('=') else {
            return Err(malformed(
                "expecting Credential=..., SignedHeaders=..., Signature=...",
            ));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return Err(malformed("it has an unknown component")),
        };
        if slot.replace(val).is_some() {
            return Err(malformed("a component appears twice"));
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(malformed(
            "Credential, SignedHeaders and Signature are all required",
        ));
    };
    let credential = ParsedCredential::parse(credential).map_err(malformed)?;
    check_signed_headers(signed_headers).map_err(malformed)?;
    let signature = Signature::from_hex(signature.as_bytes())
        .ok_or_else(|| malformed("the Signature must be 64 hexadecimal characters"))?;
    Ok(ParsedAuthorization {
        credential,
        signed_headers,
        signature,
    })
}

/// Checks a `SignedHeaders` list: non-empty `;`-separated lower-case header names, no repeats,
/// at most [`MAX_SIGNED_HEADERS`].
pub(crate) fn check_signed_headers(list: &str) -> Result<(), &'static str> {
    if list.is_empty() {
        return Err("SignedHeaders is empty");
    }
    let mut count = 0;
    for (i, name) in list.split(';').enumerate() {
        count += 1;
        if count > MAX_SIGNED_HEADERS {
            return Err("SignedHeaders lists too many headers");
        }
        if name.is_empty() || !name.bytes().all(is_lower_tchar) {
            return Err("SignedHeaders must be lower-case header names separated by ';'");
        }
        if list.split(';').take(i).any(|earlier| earlier == name) {
            return Err("SignedHeaders lists a header twice");
        }
    }
    Ok(())
}

/// RFC 9110 token characters, upper-case letters excluded (signed names are lower-case).
fn is_lower_tchar(b: u8) -> bool {
    crate::http::syntax::is_tchar(b) && !b.is_ascii_uppercase()
}

/// Whether `name` (lower-case) is in a checked `SignedHeaders` list.
pub(crate) fn signed_headers_contain(list: &str, name: &str) -> bool {
    list.split(';').any(|n| n.eq_ignore_ascii_case(name))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SIG: &str = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";

    #[test]
    fn parses_the_documented_example() {
        let v = format!(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-date, Signature={SIG}"
        );
        let p = parse_authorization_header(&v).unwrap();
        assert_eq!(p.credential.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(p.credential.scope.date, "20130524");
        assert_eq!(p.credential.scope.region, "us-east-1");
        assert_eq!(p.credential.scope.service, "s3");
        assert_eq!(p.signed_headers, "host;range;x-amz-date");
        assert_eq!(p.signature.to_hex().as_str(), SIG);
    }

    #[test]
    fn tolerates_sdk_spacing_and_ordering() {
        let cred = "Credential=AK/20130524/us-east-1/s3/aws4_request";
        let sh = "SignedHeaders=host;x-amz-date";
        let sig = format!("Signature={SIG}");
        for v in [
            format!("AWS4-HMAC-SHA256 {cred},{sh},{sig}"),
            format!("AWS4-HMAC-SHA256 {cred}, {sh}, {sig}"),
            format!("  AWS4-HMAC-SHA256   {cred} ,  {sh} ,{sig}  "),
            format!("AWS4-HMAC-SHA256\t{cred},\n{sh},\t{sig}"),
            format!("AWS4-HMAC-SHA256 {sig}, {cred}, {sh}"),
            format!("AWS4-HMAC-SHA256 {sh} {sig} {cred}"),
            format!("AWS4-HMAC-SHA256 {cred},,{sh},{sig},"),
        ] {
            let p = parse_authorization_header(&v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
            assert_eq!(p.credential.access_key_id, "AK");
            assert_eq!(p.signed_headers, "host;x-amz-date");
        }
    }

    #[test]
    fn other_algorithms_are_unsupported() {
        for v in [
            "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
            "AWS4-ECDSA-P256-SHA256 Credential=AK/20130524/s3/aws4_request, SignedHeaders=host, Signature=00",
            "Bearer abc",
            "aws4-hmac-sha256 Credential=x",
            "AWS4-HMAC-SHA256X",
        ] {
            let e = parse_authorization_header(v).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::InvalidRequest, "{v:?}");
            assert!(e.message.contains("AWS4-HMAC-SHA256"));
        }
    }

    #[test]
    fn malformed_shapes_are_rejected_never_panic() {
        let good_cred = "Credential=AK/20130524/us-east-1/s3/aws4_request";
        let good_sig = format!("Signature={SIG}");
        let cases = [
            String::new(),
            "   ".into(),
            "AWS4-HMAC-SHA256".into(),
            "AWS4-HMAC-SHA256 ".into(),
            format!("AWS4-HMAC-SHA256 {good_cred}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=host"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=host, Signature=abc"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=host, Signature={SIG}00"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=, {good_sig}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=Host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=host;;date, {good_sig}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=host;host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=host;, {good_sig}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=ho st, {good_sig}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, {good_cred}, SignedHeaders=host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=host, {good_sig}, Extra=1"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 credential=AK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AK/20130524/us-east-1/s3, SignedHeaders=host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 Credential=AK/2013/us-east-1/s3/aws4_request, SignedHeaders=host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 = , SignedHeaders=host, {good_sig}"),
            format!("AWS4-HMAC-SHA256 {good_cred}, SignedHeaders=host, Signature=é{}", &SIG[2..]),
        ];
        for v in &cases {
            let e = parse_authorization_header(v).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::AuthorizationHeaderMalformed, "{v:?}");
            assert_eq!(e.status(), 400);
        }
    }

    #[test]
    fn signed_header_list_limits() {
        let many: Vec<String> = (0..MAX_SIGNED_HEADERS).map(|i| format!("h{i}")).collect();
        assert!(check_signed_headers(&many.join(";")).is_ok());
        let too_many: Vec<String> = (0..=MAX_SIGNED_HEADERS).map(|i| format!("h{i}")).collect();
        assert!(check_signed_headers(&too_many.join(";")).is_err());
        assert!(signed_headers_contain("host;x-amz-date", "x-amz-date"));
        assert!(!signed_headers_contain("host;x-amz-date", "x-amz"));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic sweep over awkward inputs (multi-byte chars at every split point).
        let base = "AWS4-HMAC-SHA256 Credential=ÄK/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;é, Signature=00";
        for i in 0..base.len() {
            for j in i..base.len().min(i + 8) {
                let (Some(a), Some(b)) = (base.get(..i), base.get(j..)) else {
                    continue;
                };
                let _ = parse_authorization_header(&format!("{a}{b}"));
                let _ = parse_authorization_header(&format!("{a}=,;{b}"));
            }
        }
    }
}
