//! `routing_strategy` and `backends`: where new objects go, and the providers (S3 or a local
//! directory) with their quotas and monthly usage limits.

use std::fmt;
use std::path::PathBuf;

use super::Secret;

/// Default backend signing region, the one S3 itself assumes when none is given.
pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// `routing_strategy`: where a new object's first copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoutingStrategy {
    /// `spread` (default): the backend with the lowest utilisation, keeping usage balanced.
    #[default]
    Spread,
    /// `pack`: the first backend in file order that has room, overflowing to the next.
    Pack,
}

impl RoutingStrategy {
    /// The word used in the configuration file.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingStrategy::Spread => "spread",
            RoutingStrategy::Pack => "pack",
        }
    }
}

/// One entry of `backends`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    /// Unique name, used in metrics labels, logs and the catalog.
    pub name: String,
    /// An S3-compatible provider or a local directory.
    pub kind: BackendConfigKind,
    /// `quota_bytes`: most bytes this backend may hold; `None` = unlimited (absent, or `0` as in the
    /// Go project).
    pub quota_bytes: Option<u64>,
    /// Monthly (calendar month, UTC) usage limits, for free tiers.
    pub usage_limits: UsageLimits,
}

/// `api_request_limit`, `egress_byte_limit`, `ingress_byte_limit` of a backend: per calendar month
/// (UTC); `None` = unlimited (absent or `0`, as in the Go project). Reads fail over and writes
/// overflow to other backends once a limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageLimits {
    /// Requests sent to the backend.
    pub api_requests: Option<u64>,
    /// Bytes read from the backend (object bodies served).
    pub egress_bytes: Option<u64>,
    /// Bytes written to the backend (object and part bodies).
    pub ingress_bytes: Option<u64>,
}

/// What a backend is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendConfigKind {
    /// An S3-compatible provider (`endpoint:`).
    S3 {
        /// Parsed `endpoint` URL.
        endpoint: Endpoint,
        /// Signing region (`region`, default `DEFAULT_REGION`).
        region: String,
        /// The provider-side bucket all objects go into (`bucket`).
        bucket: String,
        /// The provider credential (`access_key_id`).
        access_key_id: String,
        /// The provider credential (`secret_access_key`).
        secret_access_key: Secret,
        /// `force_path_style` (default `true`): `https://host/bucket/key` rather than
        /// `https://bucket.host/key`. Most non-AWS providers want path style.
        path_style: bool,
        /// `tls.ca_file`: a PEM bundle of CA certificates trusted for this backend, besides
        /// the public web roots (a provider behind a private CA).
        ca_file: Option<PathBuf>,
    },
    /// A directory on this machine (`path:`), for running without any cloud account.
    Local {
        /// The directory; relative paths are relative to the working directory.
        path: PathBuf,
    },
}

/// A parsed `http://` or `https://` endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `true` for `https://`.
    pub scheme_https: bool,
    /// Host name (lowercased) or IP address; IPv6 without brackets.
    pub host: String,
    /// Port, the scheme's default (80/443) when the URL has none.
    pub port: u16,
    /// Path prefix without a trailing slash (`""` when none), e.g. `/s3` for a provider mounted below
    /// a path.
    pub base_path: String,
}

impl Endpoint {
    /// The scheme's default port.
    pub fn default_port(&self) -> u16 {
        if self.scheme_https {
            443
        } else {
            80
        }
    }

    /// The `Host` header value: brackets around IPv6, the port only when it is not the default (as
    /// HTTP clients and SigV4 signers expect).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.scheme_https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.base_path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_authority_and_display() {
        let mut e = Endpoint {
            scheme_https: true,
            host: "s3.example.com".into(),
            port: 443,
            base_path: String::new(),
        };
        assert_eq!(e.authority(), "s3.example.com");
        assert_eq!(e.to_string(), "https://s3.example.com");
        e.port = 8443;
        e.base_path = "/s3".into();
        assert_eq!(e.authority(), "s3.example.com:8443");
        assert_eq!(e.to_string(), "https://s3.example.com:8443/s3");
        let v6 = Endpoint {
            scheme_https: false,
            host: "::1".into(),
            port: 9000,
            base_path: String::new(),
        };
        assert_eq!(v6.authority(), "[::1]:9000");
        assert_eq!(v6.default_port(), 80);
    }

    #[test]
    fn strategy_words() {
        assert_eq!(RoutingStrategy::default(), RoutingStrategy::Spread);
        assert_eq!(RoutingStrategy::Pack.as_str(), "pack");
        assert_eq!(RoutingStrategy::Spread.as_str(), "spread");
    }
}
