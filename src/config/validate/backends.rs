//! `routing_strategy` and `backends`: S3 backends (endpoint, region, bucket, credentials, path
//! style), local directory backends, names, quotas and monthly usage limits.

use std::collections::HashMap;
use std::path::PathBuf;

use super::names::{backend_name_problem, bucket_name_problem, parse_endpoint};
use super::Checker;
use crate::config::model::{
    BackendConfig, BackendConfigKind, RoutingStrategy, UsageLimits, DEFAULT_REGION,
};
use crate::config::raw::{RawBackend, Scalar};

/// Most backends in one configuration. Every write scans all backends to place a copy and every
/// catalog entry lists the backends holding it; 64 keeps both cheap (a backend set fits a `u64`).
const MAX_BACKENDS: usize = 64;

/// Longest signing region name (part of every SigV4 credential scope).
const MAX_REGION_LEN: usize = 64;

/// Longest provider-side bucket name. AWS allows 63, some providers (OCI) allow 256; path-style
/// requests carry it in every URL.
const MAX_BACKEND_BUCKET_LEN: usize = 256;

impl Checker<'_> {
    pub(super) fn routing_strategy(&mut self, value: Option<&Scalar>) -> RoutingStrategy {
        const PATH: &str = "routing_strategy";
        match self.text(PATH, value).as_deref() {
            None => RoutingStrategy::default(),
            Some("spread") => RoutingStrategy::Spread,
            Some("pack") => RoutingStrategy::Pack,
            Some(other) => {
                self.problem(
                    PATH,
                    format!("unknown routing strategy `{other}`, expected `spread` or `pack`"),
                );
                RoutingStrategy::default()
            }
        }
    }

    pub(super) fn backends(&mut self, raw: Option<&[RawBackend]>) -> Vec<BackendConfig> {
        let raw = raw.unwrap_or_default();
        if raw.is_empty() {
            self.problem("backends", "at least one backend is required");
            return Vec::new();
        }
        if raw.len() > MAX_BACKENDS {
            self.problem(
                "backends",
                format!(
                    "at most {MAX_BACKENDS} backends are supported, found {}",
                    raw.len()
                ),
            );
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(raw.len());
        for (i, b) in raw.iter().enumerate() {
            let base = format!("backends[{i}]");
            if let Some(backend) = self.backend(&base, b) {
                if let Some(first) = names.get(&backend.name) {
                    self.problem(
                        format!("{base}.name"),
                        format!(
                            "duplicate backend name `{}` (already used by backends[{first}])",
                            backend.name
                        ),
                    );
                } else {
                    names.insert(backend.name.clone(), i);
                }
                out.push(backend);
            }
        }
        out
    }

    fn backend(&mut self, base: &str, b: &RawBackend) -> Option<BackendConfig> {
        let name_path = format!("{base}.name");
        let name = self.required_text(&name_path, b.name.as_ref());
        if let Some(n) = &name {
            if let Some(why) = backend_name_problem(n) {
                self.problem(&name_path, why);
            }
        }
        let quota_bytes = self
            .uint(&format!("{base}.quota_bytes"), b.quota_bytes.as_ref())
            // The Go project's convention: 0 means unlimited.
            .filter(|q| *q != 0);
        let mut limit = |key: &str, v: Option<&Scalar>| {
            self.uint(&format!("{base}.{key}"), v).filter(|n| *n != 0)
        };
        let usage_limits = UsageLimits {
            api_requests: limit("api_request_limit", b.api_request_limit.as_ref()),
            egress_bytes: limit("egress_byte_limit", b.egress_byte_limit.as_ref()),
            ingress_bytes: limit("ingress_byte_limit", b.ingress_byte_limit.as_ref()),
        };

        // `endpoint:` or `path:` written without a value count as absent here.
        let endpoint = b.endpoint.as_ref().filter(|v| !v.is_null());
        let path = b.path.as_ref().filter(|v| !v.is_null());
        let kind = match (endpoint, path) {
            (Some(_), Some(_)) => {
                self.problem(
                    format!("{base}.path"),
                    "`path` (a local directory backend) cannot be combined with `endpoint` (an S3 backend); keep one",
                );
                None
            }
            (None, Some(p)) => self.local_backend(base, b, p),
            (Some(_), None) => self.s3_backend(base, b),
            (None, None) => {
                self.problem(
                    base,
                    "needs `endpoint` (an S3-compatible provider) or `path` (a local directory)",
                );
                None
            }
        };
        Some(BackendConfig {
            name: name?,
            kind: kind?,
            quota_bytes,
            usage_limits,
        })
    }

    fn local_backend(
        &mut self,
        base: &str,
        b: &RawBackend,
        path: &Scalar,
    ) -> Option<BackendConfigKind> {
        let s3_only = [
            ("region", &b.region),
            ("bucket", &b.bucket),
            ("access_key_id", &b.access_key_id),
            ("secret_access_key", &b.secret_access_key),
            ("force_path_style", &b.force_path_style),
        ];
        if b.tls.is_some() {
            self.problem(
                format!("{base}.tls"),
                "`tls` applies only to S3 backends (`endpoint:`), not to a local `path:` backend",
            );
        }
        for (key, value) in s3_only {
            if value.as_ref().is_some_and(|v| !v.is_null()) {
                self.problem(
                    format!("{base}.{key}"),
                    format!("`{key}` applies only to S3 backends (`endpoint:`), not to a local `path:` backend"),
                );
            }
        }
        let path = self.required_text(&format!("{base}.path"), Some(path))?;
        Some(BackendConfigKind::Local {
            path: PathBuf::from(path),
        })
    }

    fn s3_backend(&mut self, base: &str, b: &RawBackend) -> Option<BackendConfigKind> {
        let endpoint_path = format!("{base}.endpoint");
        let endpoint = self
            .required_text(&endpoint_path, b.endpoint.as_ref())
            .and_then(|e| {
                parse_endpoint(&e)
                    .map_err(|why| {
                        self.problem(&endpoint_path, format!("invalid URL `{e}`: {why}"))
                    })
                    .ok()
            });

        let region = self.backend_region(base, b.region.as_ref());
        let path_style = self
            .boolean(
                &format!("{base}.force_path_style"),
                b.force_path_style.as_ref(),
            )
            .unwrap_or(true);
        let bucket = self.backend_bucket(base, b.bucket.as_ref(), path_style);
        let access_key_id =
            self.access_key_id(&format!("{base}.access_key_id"), b.access_key_id.as_ref());
        let secret_access_key = self.secret(
            &format!("{base}.secret_access_key"),
            b.secret_access_key.as_ref(),
        );

        let ca_file = match &b.tls {
            None => None,
            Some(t) => Some(PathBuf::from(
                self.required_text(&format!("{base}.tls.ca_file"), t.ca_file.as_ref())?,
            )),
        };
        if ca_file.is_some() && endpoint.as_ref().is_some_and(|e| !e.scheme_https) {
            self.problem(
                format!("{base}.tls.ca_file"),
                "applies only to an `https://` endpoint",
            );
        }

        Some(BackendConfigKind::S3 {
            ca_file,
            endpoint: endpoint?,
            region: region?,
            bucket: bucket?,
            access_key_id: access_key_id?,
            secret_access_key: secret_access_key?,
            path_style,
        })
    }

    /// `region` of an S3 backend: [`DEFAULT_REGION`] when absent; it is part of every SigV4
    /// credential scope, so no `/`.
    fn backend_region(&mut self, base: &str, value: Option<&Scalar>) -> Option<String> {
        let path = format!("{base}.region");
        let region = match value {
            None => Some(DEFAULT_REGION.to_owned()),
            Some(_) => self.required_text(&path, value),
        };
        if let Some(r) = &region {
            if r.len() > MAX_REGION_LEN || !r.bytes().all(|c| c.is_ascii_graphic() && c != b'/') {
                self.problem(
                    &path,
                    format!(
                        "invalid region `{r}`: at most {MAX_REGION_LEN} visible characters, no `/`"
                    ),
                );
            }
        }
        region
    }

    /// `bucket` of an S3 backend: any visible text in path style, a valid S3 bucket name when
    /// virtual-hosted (`force_path_style: false`), where it becomes part of the host name.
    fn backend_bucket(
        &mut self,
        base: &str,
        value: Option<&Scalar>,
        path_style: bool,
    ) -> Option<String> {
        let path = format!("{base}.bucket");
        let bucket = self.required_text(&path, value);
        if let Some(bk) = &bucket {
            if !path_style {
                if let Some(why) = bucket_name_problem(bk) {
                    self.problem(
                        &path,
                        format!("`{bk}` cannot be used with `force_path_style: false` (it becomes a host name): {why}"),
                    );
                }
            } else if bk.len() > MAX_BACKEND_BUCKET_LEN
                || !bk.bytes().all(|c| c.is_ascii_graphic() && c != b'/')
            {
                self.problem(
                    &path,
                    format!("invalid bucket `{bk}`: at most {MAX_BACKEND_BUCKET_LEN} visible characters, no `/`"),
                );
            }
        }
        bucket
    }
}
