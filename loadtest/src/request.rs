//! Building signed S3 requests: header SigV4 (`UNSIGNED-PAYLOAD` or the hex SHA-256 of the
//! generated body) or presigned URLs, with the orchestrator's own signer.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use s3_orchestrator::s3::auth::{
    presign_url, sign_request, uri_encode, AmzDate, Credentials, SignableRequest, SigningKeyCache,
    UNSIGNED_PAYLOAD,
};

/// Lifetime of presigned URLs: each is used at once, so a short validity is enough.
const PRESIGN_EXPIRES_SECS: u32 = 900;

/// How request payloads are declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Signing {
    /// `Authorization` header, `x-amz-content-sha256: UNSIGNED-PAYLOAD`.
    Unsigned,
    /// `Authorization` header with the body's hex SHA-256 (computed once per object size, since
    /// bodies of one size are identical).
    Sha256,
    /// Presigned query string (no `Authorization` header).
    Presigned,
}

/// Per-thread signer state: credentials, the cached derived key, cached body hashes.
pub struct Signer {
    pub creds: Credentials,
    pub region: String,
    pub host: String,
    pub mode: Signing,
    cache: SigningKeyCache,
    hashes: HashMap<u64, String>,
}

impl Signer {
    pub fn new(creds: Credentials, region: String, host: String, mode: Signing) -> Self {
        Signer {
            creds,
            region,
            host,
            mode,
            cache: SigningKeyCache::new(),
            hashes: HashMap::new(),
        }
    }

    fn body_hash(&mut self, pattern: &[u8], len: u64) -> String {
        if len == 0 {
            return s3_orchestrator::s3::auth::EMPTY_SHA256_HEX.to_string();
        }
        self.hashes
            .entry(len)
            .or_insert_with(|| {
                let mut h = Sha256::new();
                let mut left = len;
                while left > 0 {
                    let n = left.min(pattern.len() as u64) as usize;
                    h.update(&pattern[..n]);
                    left -= n as u64;
                }
                hex::encode(h.finalize())
            })
            .clone()
    }

    /// Writes the complete request head for `method path?query` with a body of `body_len`
    /// bytes (the first `body_len` of the cycled `pattern`) into `out`. False when the clock
    /// cannot be expressed as a SigV4 date.
    pub fn head(
        &mut self,
        out: &mut Vec<u8>,
        method: &str,
        canonical_uri: &str,
        query: &[(&str, &str)],
        pattern: &[u8],
        body_len: u64,
    ) -> bool {
        out.clear();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        // A clock outside 1970..=9999 cannot be written as an AmzDate: refuse to sign.
        let Some(date) = AmzDate::from_unix(now) else {
            return false;
        };
        let mut target = String::with_capacity(canonical_uri.len() + 64);
        match self.mode {
            Signing::Presigned => {
                let req = SignableRequest {
                    method,
                    canonical_uri,
                    query,
                    headers: &[("host", &self.host)],
                    payload_hash: UNSIGNED_PAYLOAD,
                };
                match presign_url(
                    &req,
                    &self.creds,
                    &self.region,
                    &date,
                    PRESIGN_EXPIRES_SECS,
                    &mut self.cache,
                ) {
                    Ok(url) => target.push_str(&url),
                    Err(_) => target.push_str(canonical_uri),
                }
                let _ = write!(
                    StrBuf(out),
                    "{method} {target} HTTP/1.1\r\nHost: {}\r\n",
                    self.host
                );
            }
            Signing::Unsigned | Signing::Sha256 => {
                let hash = if self.mode == Signing::Sha256 {
                    self.body_hash(pattern, body_len)
                } else {
                    UNSIGNED_PAYLOAD.to_string()
                };
                let headers = [
                    ("host", self.host.as_str()),
                    ("x-amz-content-sha256", hash.as_str()),
                    ("x-amz-date", date.as_str()),
                ];
                let req = SignableRequest {
                    method,
                    canonical_uri,
                    query,
                    headers: &headers,
                    payload_hash: &hash,
                };
                let auth = sign_request(&req, &self.creds, &self.region, &date, &mut self.cache);
                target.push_str(canonical_uri);
                for (i, (k, v)) in query.iter().enumerate() {
                    target.push(if i == 0 { '?' } else { '&' });
                    target.push_str(&uri_encode(k, false));
                    target.push('=');
                    target.push_str(&uri_encode(v, false));
                }
                let _ = write!(
                    StrBuf(out),
                    "{method} {target} HTTP/1.1\r\nHost: {}\r\nx-amz-content-sha256: {hash}\r\n\
                     x-amz-date: {}\r\nAuthorization: {auth}\r\n",
                    self.host,
                    date.as_str()
                );
            }
        }
        if body_len > 0 || method == "PUT" || method == "POST" {
            let _ = write!(StrBuf(out), "Content-Length: {body_len}\r\n");
        }
        out.extend_from_slice(b"\r\n");
        true
    }
}

/// `fmt::Write` into a byte vector.
struct StrBuf<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for StrBuf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `/bucket/key` with the key AWS-URI-encoded (`/` kept).
pub fn object_uri(bucket: &str, key: &str) -> String {
    format!("/{}/{}", uri_encode(bucket, false), uri_encode(key, true))
}
