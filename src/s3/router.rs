//! Turns a request's method, host, path and query into an S3 operation.
//!
//! The table here is the one place that knows which (method, bucket?, key?, sub-resource) names which
//! AWS operation. It supports path-style (`/bucket/key`) and, when `server.domain` is set,
//! virtual-hosted-style (`bucket.<domain>/key`) addressing. Nothing here knows about backends.

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use percent_encoding::percent_decode_str;

/// Longest object key S3 accepts, in bytes of UTF-8 (AWS documents 1024).
pub const MAX_KEY_BYTES: usize = 1024;

/// Number of query parameters we look at; more is refused so one request cannot make routing
/// quadratic. SDK requests carry fewer than 20; presigned ones about 10.
pub const MAX_QUERY_PARAMS: usize = 64;

/// Every S3 operation the router can name. Handlers are named after these (`handle_<operation>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3Operation {
    ListBuckets,
    CreateBucket,
    DeleteBucket,
    HeadBucket,
    GetBucketLocation,
    GetBucketVersioning,
    GetBucketAcl,
    GetBucketPolicy,
    GetBucketLifecycleConfiguration,
    GetBucketEncryption,
    GetBucketCors,
    ListObjects,
    ListObjectsV2,
    ListObjectVersions,
    ListMultipartUploads,
    DeleteObjects,
    PutObject,
    CopyObject,
    GetObject,
    HeadObject,
    DeleteObject,
    GetObjectAcl,
    CreateMultipartUpload,
    UploadPart,
    UploadPartCopy,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
}

impl S3Operation {
    /// The AWS name, as used in metrics labels and logs.
    pub const fn name(self) -> &'static str {
        use S3Operation::*;
        match self {
            ListBuckets => "ListBuckets",
            CreateBucket => "CreateBucket",
            DeleteBucket => "DeleteBucket",
            HeadBucket => "HeadBucket",
            GetBucketLocation => "GetBucketLocation",
            GetBucketVersioning => "GetBucketVersioning",
            GetBucketAcl => "GetBucketAcl",
            GetBucketPolicy => "GetBucketPolicy",
            GetBucketLifecycleConfiguration => "GetBucketLifecycleConfiguration",
            GetBucketEncryption => "GetBucketEncryption",
            GetBucketCors => "GetBucketCors",
            ListObjects => "ListObjects",
            ListObjectsV2 => "ListObjectsV2",
            ListObjectVersions => "ListObjectVersions",
            ListMultipartUploads => "ListMultipartUploads",
            DeleteObjects => "DeleteObjects",
            PutObject => "PutObject",
            CopyObject => "CopyObject",
            GetObject => "GetObject",
            HeadObject => "HeadObject",
            DeleteObject => "DeleteObject",
            GetObjectAcl => "GetObjectAcl",
            CreateMultipartUpload => "CreateMultipartUpload",
            UploadPart => "UploadPart",
            UploadPartCopy => "UploadPartCopy",
            CompleteMultipartUpload => "CompleteMultipartUpload",
            AbortMultipartUpload => "AbortMultipartUpload",
            ListParts => "ListParts",
        }
    }

    /// Operations whose request carries an object body that must be streamed and verified.
    pub const fn has_streamed_body(self) -> bool {
        matches!(self, S3Operation::PutObject | S3Operation::UploadPart)
    }
}

/// Sub-resources S3 defines that this server does not implement: a request naming one gets
/// `NotImplemented` rather than being mistaken for a plain GET/PUT of the bucket or object.
const UNSUPPORTED_SUBRESOURCES: &[&str] = &[
    "accelerate",
    "analytics",
    "attributes",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "website",
    "renameObject",
    "session",
];

/// A routed request: which operation, on which virtual bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub operation: S3Operation,
    /// Virtual bucket; `None` only for ListBuckets.
    pub bucket: Option<String>,
    /// Decoded object key; `None` for bucket-level operations.
    pub key: Option<String>,
    /// Decoded query parameters, in order of appearance.
    pub query: Vec<(String, String)>,
}

impl Route {
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn has_query(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    /// `/bucket/key` as S3 reports in `<Resource>`.
    pub fn resource(&self) -> String {
        let mut s = String::new();
        let _ = write_resource(&mut s, self.bucket.as_deref(), self.key.as_deref());
        s
    }
}

/// `/bucket/key`, `/bucket` or `/`, as S3 reports in `<Resource>`.
fn write_resource(
    out: &mut impl std::fmt::Write,
    bucket: Option<&str>,
    key: Option<&str>,
) -> std::fmt::Result {
    match (bucket, key) {
        (Some(b), Some(k)) => write!(out, "/{b}/{k}"),
        (Some(b), None) => write!(out, "/{b}"),
        _ => out.write_str("/"),
    }
}

/// The resource a request concerns, formatted only when shown: in an error body or a log line,
/// not on every request.
pub enum Resource {
    /// Bucket and key moved out of the finished request's route.
    Route {
        bucket: Option<String>,
        key: Option<String>,
    },
    /// Already a string (a request that failed before it was routed).
    Text(String),
}

impl Resource {
    pub fn of(route: Route) -> Resource {
        Resource::Route {
            bucket: route.bucket,
            key: route.key,
        }
    }
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Resource::Route { bucket, key } => write_resource(f, bucket.as_deref(), key.as_deref()),
            Resource::Text(t) => f.write_str(t),
        }
    }
}

/// Decodes `a=b&c&d=%20` into pairs. `+` is a literal plus, as SigV4 canonicalisation treats it
/// (SDKs always send spaces as `%20`), so the key we act on is the key that was signed.
pub fn parse_query(raw: &str) -> S3Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if raw.is_empty() {
        return Ok(out);
    }
    for part in raw.split('&') {
        if part.is_empty() {
            continue;
        }
        if out.len() >= MAX_QUERY_PARAMS {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "too many query parameters",
            ));
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((decode_query_component(k)?, decode_query_component(v)?));
    }
    Ok(out)
}

fn decode_query_component(s: &str) -> S3Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| {
            S3Error::with_message(S3ErrorCode::InvalidArgument, "query is not valid UTF-8")
        })
}

/// Decodes a path component (`+` stays `+` in paths). A bucket or key that is not UTF-8 once
/// decoded is S3's `400 InvalidURI`.
pub fn decode_path(s: &str) -> S3Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| S3Error::new(S3ErrorCode::InvalidURI))
}

/// Finds the bucket named by the `Host` header under virtual-hosted-style addressing.
/// `domain` is `server.domain`; a host equal to the domain itself means path-style.
pub fn bucket_from_host<'a>(host: &'a str, domain: &str) -> Option<&'a str> {
    let host = strip_port(host);
    let prefix = host.strip_suffix(domain)?.strip_suffix('.')?;
    if prefix.is_empty() {
        None
    } else {
        Some(prefix)
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // IPv6 literal: `[::1]:9000`.
        return host
            .split_once(']')
            .map(|(h, _)| &host[..h.len() + 1])
            .unwrap_or(host);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// Routes one request. `raw_path` is still percent-encoded; `host` is the Host header if any.
pub fn route(
    method: &str,
    raw_path: &str,
    raw_query: &str,
    host: Option<&str>,
    domain: Option<&str>,
    has_copy_source: bool,
) -> S3Result<Route> {
    let query = parse_query(raw_query)?;
    if !raw_path.starts_with('/') {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "request target must be an absolute path",
        ));
    }
    let vhost_bucket = match (host, domain) {
        (Some(h), Some(d)) => bucket_from_host(h, d).map(str::to_owned),
        _ => None,
    };
    let (bucket, key) = match vhost_bucket {
        Some(b) => {
            let key = &raw_path[1..];
            (
                Some(b),
                if key.is_empty() {
                    None
                } else {
                    Some(decode_path(key)?)
                },
            )
        }
        None => {
            let rest = &raw_path[1..];
            if rest.is_empty() {
                (None, None)
            } else {
                match rest.split_once('/') {
                    Some((b, k)) if !k.is_empty() => (Some(decode_path(b)?), Some(decode_path(k)?)),
                    Some((b, _)) => (Some(decode_path(b)?), None),
                    None => (Some(decode_path(rest)?), None),
                }
            }
        }
    };
    if let Some(k) = &key {
        if k.len() > MAX_KEY_BYTES {
            return Err(S3Error::with_message(
                S3ErrorCode::KeyTooLongError,
                "Your key is too long",
            ));
        }
    }
    let has = |name: &str| query.iter().any(|(k, _)| k == name);
    if let Some(sub) = UNSUPPORTED_SUBRESOURCES.iter().find(|s| has(s)) {
        return Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            format!("the '{sub}' sub-resource is not implemented"),
        ));
    }
    let operation = operation_for(
        method,
        bucket.is_some(),
        key.is_some(),
        &has,
        has_copy_source,
    )?;
    Ok(Route {
        operation,
        bucket,
        key,
        query,
    })
}

fn operation_for(
    method: &str,
    has_bucket: bool,
    has_key: bool,
    has: &dyn Fn(&str) -> bool,
    has_copy_source: bool,
) -> S3Result<S3Operation> {
    use S3Operation::*;
    let not_implemented = || {
        Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            format!("{method} on this resource is not implemented"),
        ))
    };
    let op = match (has_bucket, has_key) {
        (false, _) => match method {
            "GET" => ListBuckets,
            _ => return not_implemented(),
        },
        (true, false) => match method {
            "GET" if has("location") => GetBucketLocation,
            "GET" if has("versioning") => GetBucketVersioning,
            "GET" if has("acl") => GetBucketAcl,
            "GET" if has("policy") => GetBucketPolicy,
            "GET" if has("lifecycle") => GetBucketLifecycleConfiguration,
            "GET" if has("encryption") => GetBucketEncryption,
            "GET" if has("cors") => GetBucketCors,
            "GET" if has("versions") => ListObjectVersions,
            "GET" if has("uploads") => ListMultipartUploads,
            "GET" if has("list-type") => ListObjectsV2,
            "GET" => ListObjects,
            "HEAD" => HeadBucket,
            "PUT"
                if has("versioning")
                    || has("acl")
                    || has("policy")
                    || has("lifecycle")
                    || has("encryption")
                    || has("cors") =>
            {
                return not_implemented()
            }
            "PUT" => CreateBucket,
            "DELETE" if has("policy") || has("lifecycle") || has("encryption") || has("cors") => {
                return not_implemented()
            }
            "DELETE" => DeleteBucket,
            "POST" if has("delete") => DeleteObjects,
            _ => return not_implemented(),
        },
        (true, true) => match method {
            "GET" if has("acl") => GetObjectAcl,
            "GET" if has("uploadId") => ListParts,
            "GET" => GetObject,
            "HEAD" => HeadObject,
            "PUT" if has("acl") => return not_implemented(),
            "PUT" if has("uploadId") && has("partNumber") => {
                if has_copy_source {
                    UploadPartCopy
                } else {
                    UploadPart
                }
            }
            "PUT" if has_copy_source => CopyObject,
            "PUT" => PutObject,
            "POST" if has("uploads") => CreateMultipartUpload,
            "POST" if has("uploadId") => CompleteMultipartUpload,
            "DELETE" if has("uploadId") => AbortMultipartUpload,
            "DELETE" => DeleteObject,
            _ => return not_implemented(),
        },
    };
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use S3Operation::*;

    fn op(method: &str, path: &str, query: &str) -> S3Operation {
        route(method, path, query, Some("127.0.0.1:9000"), None, false)
            .expect("routes")
            .operation
    }

    fn vop(method: &str, host: &str, path: &str, query: &str) -> Route {
        route(
            method,
            path,
            query,
            Some(host),
            Some("s3.example.com"),
            false,
        )
        .expect("routes")
    }

    #[test]
    fn path_style_table() {
        let cases: &[(&str, &str, &str, S3Operation)] = &[
            ("GET", "/", "", ListBuckets),
            ("PUT", "/b", "", CreateBucket),
            ("DELETE", "/b", "", DeleteBucket),
            ("HEAD", "/b", "", HeadBucket),
            ("GET", "/b", "location", GetBucketLocation),
            ("GET", "/b", "versioning", GetBucketVersioning),
            ("GET", "/b", "acl", GetBucketAcl),
            ("GET", "/b", "policy", GetBucketPolicy),
            ("GET", "/b", "lifecycle", GetBucketLifecycleConfiguration),
            ("GET", "/b", "encryption", GetBucketEncryption),
            ("GET", "/b", "cors", GetBucketCors),
            ("GET", "/b", "versions", ListObjectVersions),
            ("GET", "/b", "uploads", ListMultipartUploads),
            ("GET", "/b", "list-type=2&prefix=a", ListObjectsV2),
            ("GET", "/b/", "list-type=2", ListObjectsV2),
            ("GET", "/b", "prefix=a", ListObjects),
            ("POST", "/b", "delete", DeleteObjects),
            ("PUT", "/b/k", "", PutObject),
            ("GET", "/b/k", "", GetObject),
            ("GET", "/b/k", "x-id=GetObject", GetObject),
            ("HEAD", "/b/k", "", HeadObject),
            ("DELETE", "/b/k", "", DeleteObject),
            ("GET", "/b/k", "acl", GetObjectAcl),
            ("POST", "/b/k", "uploads", CreateMultipartUpload),
            ("PUT", "/b/k", "partNumber=1&uploadId=u", UploadPart),
            ("POST", "/b/k", "uploadId=u", CompleteMultipartUpload),
            ("DELETE", "/b/k", "uploadId=u", AbortMultipartUpload),
            ("GET", "/b/k", "uploadId=u", ListParts),
        ];
        for (m, p, q, want) in cases {
            assert_eq!(op(m, p, q), *want, "{m} {p}?{q}");
        }
    }

    #[test]
    fn copy_source_selects_copy_operations() {
        let r = route("PUT", "/b/k", "", None, None, true).expect("routes");
        assert_eq!(r.operation, CopyObject);
        let r = route("PUT", "/b/k", "partNumber=2&uploadId=x", None, None, true).expect("routes");
        assert_eq!(r.operation, UploadPartCopy);
    }

    #[test]
    fn virtual_hosted_table() {
        let r = vop("GET", "myapp.s3.example.com:9000", "/", "list-type=2");
        assert_eq!(r.operation, ListObjectsV2);
        assert_eq!(r.bucket.as_deref(), Some("myapp"));
        assert_eq!(r.key, None);
        let r = vop("PUT", "myapp.s3.example.com", "/dir/file.txt", "");
        assert_eq!(r.operation, PutObject);
        assert_eq!(r.key.as_deref(), Some("dir/file.txt"));
        let r = vop("GET", "my.dotted.bucket.s3.example.com", "/k", "");
        assert_eq!(r.bucket.as_deref(), Some("my.dotted.bucket"));
        // The domain itself is path-style.
        let r = vop("GET", "s3.example.com:9000", "/b/k", "");
        assert_eq!(r.bucket.as_deref(), Some("b"));
        assert_eq!(r.key.as_deref(), Some("k"));
        // A host outside the domain is path-style too.
        let r = vop("GET", "127.0.0.1:9000", "/", "");
        assert_eq!(r.operation, ListBuckets);
    }

    #[test]
    fn keys_are_decoded_exactly() {
        let r = route("GET", "/b/a%20b/c%2Bd+e/%25//x", "", None, None, false).expect("routes");
        assert_eq!(r.key.as_deref(), Some("a b/c+d+e/%//x"));
        let r = route("GET", "/b/%E2%9C%93", "", None, None, false).expect("routes");
        assert_eq!(r.key.as_deref(), Some("✓"));
    }

    #[test]
    fn unsupported_subresources_are_not_implemented() {
        for q in ["torrent", "tagging", "restore", "website"] {
            let e = route("GET", "/b/k", q, None, None, false).expect_err("refused");
            assert_eq!(e.code, S3ErrorCode::NotImplemented, "{q}");
        }
        let e = route("PATCH", "/b/k", "", None, None, false).expect_err("refused");
        assert_eq!(e.code, S3ErrorCode::NotImplemented);
        let e = route("POST", "/", "", None, None, false).expect_err("refused");
        assert_eq!(e.code, S3ErrorCode::NotImplemented);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(route("GET", "b/k", "", None, None, false).is_err());
        assert!(route("GET", "/b/%FF", "", None, None, false).is_err());
        let long = format!("/b/{}", "k".repeat(MAX_KEY_BYTES + 1));
        assert_eq!(
            route("GET", &long, "", None, None, false)
                .expect_err("too long")
                .code,
            S3ErrorCode::KeyTooLongError
        );
        let many = vec!["a=1"; MAX_QUERY_PARAMS + 1].join("&");
        assert!(route("GET", "/b", &many, None, None, false).is_err());
    }

    #[test]
    fn query_decoding() {
        let q = parse_query("prefix=a%2Fb&delimiter=%2F&empty&plus=a+b&lit=%2B").expect("parses");
        assert_eq!(
            q,
            vec![
                ("prefix".into(), "a/b".into()),
                ("delimiter".into(), "/".into()),
                ("empty".into(), "".into()),
                ("plus".into(), "a+b".into()),
                ("lit".into(), "+".into()),
            ]
        );
    }

    #[test]
    fn host_port_stripping() {
        assert_eq!(bucket_from_host("b.d.com:80", "d.com"), Some("b"));
        assert_eq!(bucket_from_host("d.com", "d.com"), None);
        assert_eq!(bucket_from_host("xd.com", "d.com"), None);
        assert_eq!(bucket_from_host("[::1]:9000", "d.com"), None);
    }
}
