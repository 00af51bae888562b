//! The credential scope (`20130524/us-east-1/s3/aws4_request`) and the `Credential=` value that
//! carries it together with the access key id.

use std::fmt;

use super::canonical::Sink;

/// Longest access key id we accept. IAM documents access key ids as at most 128 characters;
/// bounding it keeps error messages and cache keys small.
pub const MAX_ACCESS_KEY_ID_LEN: usize = 128;

/// Longest region or service name we accept. Real region names are under 30 characters; the
/// bound only stops absurd inputs from reaching the cache.
const MAX_SCOPE_PART_LEN: usize = 64;

/// Fixed last element of every SigV4 scope.
const TERMINATOR: &str = "aws4_request";

/// Date, region and service of a signature; the key derivation inputs besides the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CredentialScope<'a> {
    /// `YYYYMMDD`.
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl<'a> CredentialScope<'a> {
    pub fn new(date: &'a str, region: &'a str, service: &'a str) -> Self {
        CredentialScope {
            date,
            region,
            service,
        }
    }

    /// Writes `date/region/service/aws4_request` into `sink`.
    pub(crate) fn write_to<S: Sink>(&self, sink: &mut S) {
        sink.put(self.date.as_bytes());
        sink.put(b"/");
        sink.put(self.region.as_bytes());
        sink.put(b"/");
        sink.put(self.service.as_bytes());
        sink.put(b"/");
        sink.put(TERMINATOR.as_bytes());
    }
}

impl fmt::Display for CredentialScope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.date, self.region, self.service, TERMINATOR
        )
    }
}

/// `AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request`, split and shape-checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedCredential<'a> {
    pub access_key_id: &'a str,
    pub scope: CredentialScope<'a>,
}

impl<'a> ParsedCredential<'a> {
    /// Splits a `Credential` value. The error is a human-readable reason, for the caller to wrap
    /// in the right S3 error code (header and query forms differ).
    pub fn parse(value: &'a str) -> Result<Self, &'static str> {
        let mut parts = value.split('/');
        let (Some(access_key_id), Some(date), Some(region), Some(service), Some(terminator)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(
                "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"",
            );
        };
        if parts.next().is_some() {
            return Err(
                "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"",
            );
        }
        if access_key_id.is_empty()
            || access_key_id.len() > MAX_ACCESS_KEY_ID_LEN
            || !access_key_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err("the access key id in the Credential is empty, too long or not printable");
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the Credential date must be YYYYMMDD");
        }
        if !is_scope_part(region) {
            return Err("the Credential region is malformed");
        }
        if !is_scope_part(service) {
            return Err("the Credential service is malformed");
        }
        if terminator != TERMINATOR {
            return Err("the Credential must end with \"aws4_request\"");
        }
        Ok(ParsedCredential {
            access_key_id,
            scope: CredentialScope {
                date,
                region,
                service,
            },
        })
    }
}

/// Region and service names: short, non-empty, letters, digits and `-_.`.
fn is_scope_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SCOPE_PART_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scope_string() {
        let s = CredentialScope::new("20130524", "us-east-1", "s3");
        assert_eq!(s.to_string(), "20130524/us-east-1/s3/aws4_request");
        let mut v = Vec::new();
        s.write_to(&mut v);
        assert_eq!(v, b"20130524/us-east-1/s3/aws4_request");
    }

    #[test]
    fn parses_credential() {
        let c = ParsedCredential::parse("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request")
            .unwrap();
        assert_eq!(c.access_key_id, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(c.scope, CredentialScope::new("20130524", "us-east-1", "s3"));
    }

    #[test]
    fn rejects_malformed_credentials() {
        let long_key = "A".repeat(MAX_ACCESS_KEY_ID_LEN + 1);
        let long = format!("{long_key}/20130524/us-east-1/s3/aws4_request");
        for bad in [
            "",
            "AK",
            "AK/20130524/us-east-1/s3",
            "AK/20130524/us-east-1/s3/aws4_request/extra",
            "/20130524/us-east-1/s3/aws4_request",
            "A K/20130524/us-east-1/s3/aws4_request",
            "AK/2013052/us-east-1/s3/aws4_request",
            "AK/2013052x/us-east-1/s3/aws4_request",
            "AK/20130524//s3/aws4_request",
            "AK/20130524/us east/s3/aws4_request",
            "AK/20130524/us-east-1//aws4_request",
            "AK/20130524/us-east-1/s3/aws4_requesT",
            "AK/20130524/us-east-1/s3/",
            long.as_str(),
        ] {
            assert!(ParsedCredential::parse(bad).is_err(), "{bad:?}");
        }
    }
}
