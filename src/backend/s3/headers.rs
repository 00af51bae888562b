//! The headers forwarded to the provider with a body: the object's metadata, and what the client
//! sent to prove its body's integrity.

use super::S3Backend;
use crate::backend::{Integrity, ObjectMeta};

/// The payload hash of a body whose SHA-256 the client did not sign.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

impl S3Backend {
    pub(super) fn meta_headers(meta: &ObjectMeta, out: &mut Vec<(String, String)>) {
        let std = [
            ("content-type", &meta.content_type),
            ("cache-control", &meta.cache_control),
            ("content-disposition", &meta.content_disposition),
            ("content-encoding", &meta.content_encoding),
            ("content-language", &meta.content_language),
            ("expires", &meta.expires),
        ];
        for (name, v) in std {
            if let Some(v) = v {
                out.push((name.to_owned(), v.clone()));
            }
        }
        for (k, v) in &meta.user_metadata {
            out.push((format!("x-amz-meta-{k}"), v.clone()));
        }
    }

    /// Pushes the client's `Content-MD5` and `x-amz-checksum-*` headers; returns the payload
    /// hash to sign (the client's signed SHA-256, else `UNSIGNED-PAYLOAD`).
    pub(super) fn integrity_headers(
        integrity: &Integrity,
        out: &mut Vec<(String, String)>,
    ) -> String {
        if let Some(md5) = &integrity.content_md5 {
            out.push(("content-md5".into(), md5.clone()));
        }
        if let Some((name, value)) = &integrity.checksum {
            out.push((name.clone(), value.clone()));
        }
        integrity
            .sha256_hex
            .clone()
            .unwrap_or_else(|| UNSIGNED_PAYLOAD.to_owned())
    }
}
