//! `s3-orchestrator import`: adopts objects that already exist on a provider, for users moving an
//! existing bucket behind the orchestrator. It lists the backend's bucket (ListObjectsV2, signed
//! with the backend's credentials, over ureq: a plain blocking client, no executor involved) and
//! records each object in the catalog as a copy on that backend at its existing key, so nothing
//! is copied up front; replication then makes the other copies `replication.factor` asks for.
//!
//! Keys: an object stored as `<virtual bucket>/<escaped key>` (the orchestrator's own layout,
//! `backend::naming`) becomes `<key>`, its escape decoded (a rest that is no escape stays as it
//! is); any other key is adopted as it is. It opens the catalog itself, so the orchestrator
//! must not be running (fjall holds a lock on the catalog directory).

use crate::catalog::{Catalog, Copy, CopyState, ObjectRecord};
use crate::config::{BackendConfigKind, Config};
use crate::s3::auth::{
    sign_request, uri_encode, AmzDate, Credentials, SignableRequest, SigningKeyCache,
};
use crate::s3::xml::XmlError;
use std::io::Write;

/// Keys per ListObjectsV2 page (S3's maximum).
pub(crate) const LIST_PAGE_KEYS: usize = 1000;
/// Network timeout of each listing call.
pub(crate) const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// One object found on the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub last_modified_ms: i64,
}

fn parse_iso8601_ms(s: &str) -> i64 {
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

/// Parses one ListObjectsV2 page: the objects and the next continuation token. Keys come back
/// exactly as listed, character references resolved (`a&#xD;b` is `a\rb`).
pub(crate) fn parse_list_page(doc: &[u8]) -> Result<(Vec<Listed>, Option<String>), XmlError> {
    let page = crate::s3::xml::parse_list_objects_v2(doc)?;
    let items = page
        .objects
        .into_iter()
        .map(|o| Listed {
            size: o.size.unwrap_or(0),
            etag: crate::s3::etag::unquote_etag(&o.etag).to_owned(),
            last_modified_ms: o.last_modified.as_deref().map_or(0, parse_iso8601_ms),
            key: o.key,
        })
        .collect();
    let next = if page.is_truncated {
        page.next_continuation_token
    } else {
        None
    };
    Ok((items, next))
}

/// The virtual key an adopted backend key gets: under `<vbucket>/`, the key the rest escapes
/// (`backend::naming`), or the rest verbatim when it is no escaped name (written before the
/// escape existed, or by another writer); any other backend key as it is.
pub(crate) fn virtual_key(backend_key: &str, vbucket: &str) -> String {
    let rest = backend_key
        .strip_prefix(vbucket)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|k| !k.is_empty());
    let Some(rest) = rest else {
        return backend_key.to_owned();
    };
    crate::backend::naming::decode_key(rest)
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| rest.to_owned())
}

/// SHA-256 of the empty body of a listing request.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Where and as whom a backend's bucket is listed: its endpoint and credentials from the config,
/// and the blocking HTTP agent the pages are fetched with.
struct Lister<'a> {
    backend: &'a str,
    scheme: &'static str,
    /// `Host` header value: the endpoint's authority, with the bucket in front (virtual-hosted
    /// style) or not (path style).
    host: String,
    /// The bucket's path: `{base_path}/{bucket}` (path style) or `{base_path}/`.
    uri: String,
    region: &'a str,
    creds: Credentials,
    cache: SigningKeyCache,
    agent: ureq::Agent,
}

impl<'a> Lister<'a> {
    /// The lister of the S3 backend named `backend`; an error for an unknown or local backend.
    fn new(cfg: &'a Config, backend: &'a str) -> Result<Lister<'a>, String> {
        let b = cfg
            .backend(backend)
            .ok_or_else(|| format!("no backend named `{backend}` in the config"))?;
        let BackendConfigKind::S3 {
            endpoint,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            path_style,
            ca_file,
        } = &b.kind
        else {
            return Err(format!(
                "backend `{backend}` is a local directory; import adopts objects from S3 providers"
            ));
        };
        let creds = Credentials::new(access_key_id.clone(), secret_access_key.expose().to_owned());
        let address = crate::backend::s3::bucket_address(endpoint, bucket, *path_style);
        let host = address.authority;
        // The bucket's root: with path style `/<bucket>`, virtual-hosted `/`.
        let uri = if *path_style {
            address.path_prefix
        } else {
            format!("{}/", address.path_prefix)
        };
        let scheme = if endpoint.scheme_https {
            "https"
        } else {
            "http"
        };
        let mut agent_config = ureq::Agent::config_builder()
            .timeout_global(Some(LIST_TIMEOUT))
            .http_status_as_error(false);
        if let Some(path) = ca_file {
            agent_config = agent_config.tls_config(private_ca_tls(path)?);
        }
        let agent: ureq::Agent = agent_config.build().into();
        Ok(Lister {
            backend,
            scheme,
            host,
            uri,
            region,
            creds,
            cache: SigningKeyCache::new(),
            agent,
        })
    }

    /// Signs and sends the request for one ListObjectsV2 page: the first when `token` is `None`,
    /// else the one the previous page's continuation token names.
    fn request_page(
        &mut self,
        prefix: &str,
        token: Option<&str>,
    ) -> Result<ureq::http::Response<ureq::Body>, String> {
        let max_keys = LIST_PAGE_KEYS.to_string();
        let mut query: Vec<(&str, &str)> = vec![
            ("list-type", "2"),
            ("max-keys", &max_keys),
            ("prefix", prefix),
        ];
        if let Some(t) = token {
            query.push(("continuation-token", t));
        }
        let now = crate::util::clock::now_secs() as i64;
        let date = AmzDate::from_unix(now).ok_or("clock out of range")?;
        let headers = [
            ("host", self.host.as_str()),
            ("x-amz-date", date.as_str()),
            ("x-amz-content-sha256", EMPTY_SHA256),
        ];
        let req = SignableRequest {
            method: "GET",
            canonical_uri: &self.uri,
            query: &query,
            headers: &headers,
            payload_hash: EMPTY_SHA256,
        };
        let auth = sign_request(&req, &self.creds, self.region, &date, &mut self.cache);
        let qs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false)))
            .collect();
        let url = format!(
            "{}://{}{}?{}",
            self.scheme,
            self.host,
            self.uri,
            qs.join("&")
        );
        self.agent
            .get(&url)
            .header("x-amz-date", date.as_str())
            .header("x-amz-content-sha256", EMPTY_SHA256)
            .header("authorization", &auth)
            .call()
            .map_err(|e| format!("listing {}: {e}", self.backend))
    }

    /// Reads a page's answer and parses it: the objects and the next continuation token. An
    /// answer other than 200 is an error naming the provider's code.
    fn read_page(
        &self,
        mut resp: ureq::http::Response<ureq::Body>,
    ) -> Result<(Vec<Listed>, Option<String>), String> {
        let backend = self.backend;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("listing {backend}: {e}"))?;
        if status != 200 {
            let code = crate::s3::xml::parse_error(body.as_bytes())
                .unwrap_or_default()
                .code;
            return Err(format!("listing {backend}: HTTP {status} {code}"));
        }
        parse_list_page(body.as_bytes()).map_err(|e| format!("listing {backend}: {e}"))
    }
}

/// Lists every object under `prefix` in the backend's bucket, page after page.
fn list_backend(cfg: &Config, backend: &str, prefix: &str) -> Result<Vec<Listed>, String> {
    let mut lister = Lister::new(cfg, backend)?;
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let resp = lister.request_page(prefix, token.as_deref())?;
        let (items, next) = lister.read_page(resp)?;
        out.extend(items);
        match next {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}

/// Records one listed object in the catalog as a complete copy on `backend` at its existing
/// key, with `replicate` replication intents; `false` (skipped) when the catalog already has
/// that copy.
fn adopt(
    catalog: &Catalog,
    backend: &str,
    vbucket: &str,
    o: &Listed,
    replicate: u32,
) -> Result<bool, String> {
    let key = virtual_key(&o.key, vbucket);
    let key = key.as_str();
    let existing = catalog
        .get_object(vbucket, key)
        .map_err(|e| format!("catalog: {e}"))?;
    if existing.is_some_and(|r| r.copy_at(backend, &o.key).is_some()) {
        return Ok(false);
    }
    let record = ObjectRecord {
        size: o.size,
        etag: o.etag.clone(),
        last_modified_ms: o.last_modified_ms,
        copies: vec![Copy {
            backend: backend.to_owned(),
            backend_key: o.key.clone(),
            state: CopyState::Complete,
        }],
        ..Default::default()
    };
    futures_lite::future::block_on(catalog.put_object(vbucket, key, record, replicate))
        .map_err(|e| format!("catalog: {e}"))?;
    Ok(true)
}

/// Runs the import; prints a progress bar on stderr. Returns (adopted, skipped).
pub fn run(cfg: &Config, backend: &str, vbucket: &str, prefix: &str) -> Result<(u64, u64), String> {
    if cfg.bucket(vbucket).is_none() {
        return Err(format!("no virtual bucket named `{vbucket}` in the config"));
    }
    let objects = list_backend(cfg, backend, prefix)?;
    let catalog = Catalog::open(&cfg.catalog.path).map_err(|e| {
        format!(
            "catalog.path {}: {e} (stop the orchestrator before importing)",
            cfg.catalog.path.display()
        )
    })?;
    let replicate = (cfg.replication.factor.saturating_sub(1) as u32)
        .min(crate::catalog::MAX_REPLICATE_INTENTS);
    let total = objects.len() as u64;
    let (mut adopted, mut skipped, mut bytes) = (0u64, 0u64, 0u64);
    let mut stderr = std::io::stderr();
    for (i, o) in objects.iter().enumerate() {
        if adopt(&catalog, backend, vbucket, o, replicate)? {
            adopted += 1;
            bytes += o.size;
        } else {
            skipped += 1;
        }
        let done = i as u64 + 1;
        if done == total || done.is_multiple_of(100) {
            let width = 30u64;
            let filled = (done * width).checked_div(total).unwrap_or(width);
            let _ = write!(
                stderr,
                "\r[{}{}] {done}/{total} objects, {:.1} MiB adopted",
                "#".repeat(filled as usize),
                "-".repeat((width - filled) as usize),
                bytes as f64 / (1024.0 * 1024.0)
            );
        }
    }
    let _ = writeln!(stderr);
    Ok((adopted, skipped))
}

/// TLS settings for listing a backend with its own `tls.ca_file`: the import trusts exactly the
/// certificates in that file (the provider's private CA).
fn private_ca_tls(path: &std::path::Path) -> Result<ureq::tls::TlsConfig, String> {
    let fail = |e: &dyn std::fmt::Display| format!("tls.ca_file {}: {e}", path.display());
    let pem = std::fs::read(path).map_err(|e| fail(&e))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let ureq::tls::PemItem::Certificate(c) = item.map_err(|e| fail(&e))? {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err(fail(&"no certificate found"));
    }
    Ok(ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_page_parsing() {
        let doc = br#"<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a/b</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified><ETag>"abc"</ETag><Size>12</Size></Contents><Contents><Key>c</Key><LastModified>2024-05-01T10:00:01.000Z</LastModified><ETag>&quot;def&quot;</ETag><Size>0</Size></Contents><NextContinuationToken>tok</NextContinuationToken></ListBucketResult>"#;
        let (items, next) = parse_list_page(doc).expect("parses");
        assert_eq!(next.as_deref(), Some("tok"));
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            Listed {
                key: "a/b".into(),
                size: 12,
                etag: "abc".into(),
                last_modified_ms: 1_714_557_600_000
            }
        );
        assert_eq!(items[1].size, 0);
        let (_, none) = parse_list_page(
            b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
        )
        .expect("parses");
        assert_eq!(none, None);
        // A page that is not XML stops the import instead of adopting nothing.
        assert!(parse_list_page(b"<ListBucketResult><Contents>").is_err());
    }

    /// A ListObjectsV2 page as a provider may write it: `\r` and `&` as character references.
    const PAGE_1: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>src</Name><Prefix></Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a&#x0D;b</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>x&#38;y</Key><LastModified>2024-05-01T10:00:01.000Z</LastModified><ETag>&#34;e2&#34;</ETag><Size>4</Size></Contents><NextContinuationToken>next&amp;page</NextContinuationToken></ListBucketResult>"#;
    const PAGE_2: &str = r#"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>vbk/ in&#x1F600;bucket </Key><ETag>"e3"</ETag><Size>5</Size></Contents></ListBucketResult>"#;

    /// Regression: keys with `&#x0D;` and `&#38;` survive import. `run` lists a loopback fake
    /// provider (signed ureq requests, two pages) and the catalog must hold the exact keys.
    #[test]
    fn a_key_with_character_references_survives_import() {
        use crate::backend::transport::test_server::{Reply, TestServer};
        let provider = TestServer::start(|req| {
            if req.path.contains("continuation-token=") {
                Reply::ok(PAGE_2.as_bytes())
            } else {
                Reply::ok(PAGE_1.as_bytes())
            }
        });
        let dir = tempfile::tempdir().expect("tempdir");
        let yaml = format!(
            r#"backends:
  - name: prov
    endpoint: http://127.0.0.1:{port}
    region: us-east-1
    bucket: src
    access_key_id: AKIDPROVIDER
    secret_access_key: provider-secret
replication:
  factor: 1
buckets:
  - name: vbk
    credentials:
      - access_key_id: AKIDCLIENT
        secret_access_key: client-secret
catalog:
  path: {catalog}
"#,
            port = provider.port(),
            catalog = dir.path().join("catalog").display(),
        );
        let cfg = Config::from_str_named(&yaml, "import-test").expect("config");
        assert_eq!(run(&cfg, "prov", "vbk", ""), Ok((3, 0)));

        // Both pages were asked for, signed, the second with the decoded token.
        let requests = provider.requests();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert!(requests[0]
            .path
            .starts_with("/src?list-type=2&max-keys=1000&prefix="));
        assert!(requests[1]
            .path
            .ends_with("&continuation-token=next%26page"));
        assert!(requests.iter().all(|r| r
            .header("authorization")
            .is_some_and(|a| a.contains("AKIDPROVIDER/"))));

        let catalog = Catalog::open(&cfg.catalog.path).expect("catalog");
        let objects = catalog.scan_objects(None, 100).expect("scan");
        let got: Vec<(&str, &str, &str, u64, &str)> = objects
            .iter()
            .map(|(bucket, key, rec)| {
                let backend_key = rec.copies.first().map_or("", |c| c.backend_key.as_str());
                (
                    bucket.as_str(),
                    key.as_str(),
                    backend_key,
                    rec.size,
                    rec.etag.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "vbk",
                    " in\u{1F600}bucket ",
                    "vbk/ in\u{1F600}bucket ",
                    5,
                    "e3"
                ),
                ("vbk", "a\rb", "a\rb", 3, "e1"),
                ("vbk", "x&y", "x&y", 4, "e2"),
            ]
        );
        let rec = catalog
            .get_object("vbk", "a\rb")
            .expect("get")
            .expect("a\\rb adopted");
        assert_eq!(rec.last_modified_ms, 1_714_557_600_000);
        assert!(catalog.get_object("vbk", "ab").expect("get").is_none());
    }

    #[test]
    fn keys_in_orchestrator_layout_lose_their_bucket_prefix() {
        assert_eq!(virtual_key("myapp/dir/x", "myapp"), "dir/x");
        assert_eq!(virtual_key("other/x", "myapp"), "other/x");
        assert_eq!(virtual_key("myapp", "myapp"), "myapp");
        assert_eq!(virtual_key("myapp/", "myapp"), "myapp/");
        assert_eq!(virtual_key("myappx/y", "myapp"), "myappx/y");
    }

    /// Objects the orchestrator wrote with escaped names are adopted under the client's key;
    /// names that are no escape (stored verbatim) keep their rest as it is.
    #[test]
    fn escaped_backend_names_are_adopted_under_the_clients_key() {
        let escaped = crate::backend::backend_key("myapp", "../beta/x");
        assert_eq!(escaped, "myapp/~2E~2E/beta/x");
        assert_eq!(virtual_key(&escaped, "myapp"), "../beta/x");
        assert_eq!(virtual_key("myapp/a/~/b", "myapp"), "a//b");
        assert_eq!(virtual_key("myapp/50~25", "myapp"), "50%");
        assert_eq!(virtual_key("myapp/../x", "myapp"), "../x");
        assert_eq!(virtual_key("myapp/a~b", "myapp"), "a~b");
        assert_eq!(virtual_key("myapp/~", "myapp"), "~");
    }
}
