//! What the caller hands the client: the endpoint a request goes to ([`Target`]), the limits a
//! pool works under ([`PoolLimits`]) and how a request body is framed ([`BodyLen`]).

use std::sync::Arc;
use std::time::Duration;

use crate::http::{Authority, BodyKind};

/// Default time allowed for DNS resolution plus the TCP connect (and, separately, the TLS
/// handshake). Backends sit on the same LAN or cloud region, where a connect takes milliseconds;
/// a dead host should fail fast so the caller can fail over to another copy.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Default time between the end of the request and a complete response head. S3 answers slow
/// operations (CompleteMultipartUpload, CopyObject) with an early `200` head and keeps the body
/// alive with whitespace, so a full minute without any head means the backend is stuck.
pub const DEFAULT_RESPONSE_HEAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Default idle time after which a pooled connection is no longer reused. Shorter than the idle
/// limits S3 front ends and reverse proxies commonly apply (often 20-75 s), so we usually retire a
/// connection before the server does and rarely hit the reuse race.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Default stall limit for any single read or write once a request is under way: a backend that
/// neither accepts nor sends a byte for this long is treated as dead.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Default wait for `100 Continue` before sending the body anyway (curl waits one second too):
/// some servers ignore `Expect` and wait for the body.
pub const DEFAULT_EXPECT_CONTINUE_TIMEOUT: Duration = Duration::from_secs(1);

/// Default number of idle connections kept per target: enough for a burst of concurrent requests
/// from one shard to come back without reconnecting, small enough to not hoard backend sockets.
pub const DEFAULT_MAX_IDLE_PER_TARGET: usize = 32;

/// Default number of idle connections kept per shard over all targets. Each idle connection holds
/// its buffers (about 32 KiB, see [`super::conn::READ_BUF_BYTES`] and
/// [`super::conn::WRITE_BUF_BYTES`]) and a
/// file descriptor, so this bounds a shard's idle memory to a few MiB.
pub const DEFAULT_MAX_IDLE_TOTAL: usize = 128;

/// Where a request goes: one backend endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// DNS name or IP literal (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// Speak TLS (HTTPS) to this target.
    pub tls: bool,
    /// TLS server name (SNI and certificate check) when it differs from `host`; also part of the
    /// pool key, so connections verified for one name are never reused for another.
    pub server_name: Option<String>,
    /// The roots this target's certificate is checked against when they are not the pool's
    /// (a backend with its own `tls.ca_file`). Part of the pool key as well.
    pub trust: Option<TlsTrust>,
}

/// A TLS client configuration with its own trust roots, compared by identity: two backends
/// share pooled connections only when they were built with the very same configuration.
#[derive(Clone, Debug)]
pub struct TlsTrust(pub Arc<rustls::ClientConfig>);

impl PartialEq for TlsTrust {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TlsTrust {}

impl std::hash::Hash for TlsTrust {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0), state);
    }
}

impl Target {
    /// A plain-HTTP target.
    pub fn http(host: impl Into<String>, port: u16) -> Self {
        Target {
            host: host.into(),
            port,
            tls: false,
            server_name: None,
            trust: None,
        }
    }

    /// An HTTPS target whose certificate is checked against `host`.
    pub fn https(host: impl Into<String>, port: u16) -> Self {
        Target {
            host: host.into(),
            port,
            tls: true,
            server_name: None,
            trust: None,
        }
    }

    /// The name used for SNI and certificate verification.
    pub fn tls_name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }

    /// What the `Host` field names when the caller does not set it.
    pub(crate) fn authority(&self) -> Authority<'_> {
        Authority {
            host: &self.host,
            port: self.port,
            default_port: if self.tls { 443 } else { 80 },
        }
    }

    /// Whether a connection made for `self` may serve a request for `other`.
    pub(crate) fn same_endpoint(&self, other: &Target) -> bool {
        self.port == other.port
            && self.tls == other.tls
            && self.host == other.host
            && (!self.tls || (self.tls_name() == other.tls_name() && self.trust == other.trust))
    }
}

/// Timeouts and pool bounds of one [`super::BackendPool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    pub connect_timeout: Duration,
    pub response_head_timeout: Duration,
    pub idle_timeout: Duration,
    /// Stall limit of any single read or write.
    pub io_timeout: Duration,
    pub expect_continue_timeout: Duration,
    pub max_idle_per_target: usize,
    pub max_idle_total: usize,
}

impl PoolLimits {
    /// Refuses limits the client cannot work with (a zero timeout fails every operation).
    pub fn validate(&self) -> Result<(), &'static str> {
        let timeouts = [
            (self.connect_timeout, "connect_timeout must be positive"),
            (
                self.response_head_timeout,
                "response_head_timeout must be positive",
            ),
            (self.idle_timeout, "idle_timeout must be positive"),
            (self.io_timeout, "io_timeout must be positive"),
            (
                self.expect_continue_timeout,
                "expect_continue_timeout must be positive",
            ),
        ];
        match timeouts.iter().find(|(d, _)| d.is_zero()) {
            Some((_, msg)) => Err(msg),
            None => Ok(()),
        }
    }
}

impl Default for PoolLimits {
    fn default() -> Self {
        PoolLimits {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            response_head_timeout: DEFAULT_RESPONSE_HEAD_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            io_timeout: DEFAULT_IO_TIMEOUT,
            expect_continue_timeout: DEFAULT_EXPECT_CONTINUE_TIMEOUT,
            max_idle_per_target: DEFAULT_MAX_IDLE_PER_TARGET,
            max_idle_total: DEFAULT_MAX_IDLE_TOTAL,
        }
    }
}

/// How the request body is framed; the codec's [`BodyKind`]. `None` sends no framing field
/// (GET, HEAD, DELETE); `Length(n)` means exactly `n` bytes must be written; `Chunked` makes
/// each `write_body` call one chunk.
pub type BodyLen = BodyKind;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_validate_and_zero_is_refused() {
        assert_eq!(PoolLimits::default().validate(), Ok(()));
        let zero = PoolLimits {
            io_timeout: Duration::ZERO,
            ..PoolLimits::default()
        };
        assert_eq!(zero.validate(), Err("io_timeout must be positive"));
    }

    #[test]
    fn endpoint_identity() {
        let a = Target::https("10.0.0.1", 443);
        let named = Target {
            server_name: Some("s3.local".into()),
            ..a.clone()
        };
        assert!(a.same_endpoint(&a.clone()));
        assert!(!a.same_endpoint(&named));
        assert!(!a.same_endpoint(&Target::http("10.0.0.1", 443)));
        // Plain HTTP ignores the TLS name.
        let plain = Target::http("10.0.0.1", 80);
        let plain_named = Target {
            server_name: Some("x".into()),
            ..plain.clone()
        };
        assert!(plain.same_endpoint(&plain_named));
        assert_eq!(named.tls_name(), "s3.local");
        assert_eq!(a.tls_name(), "10.0.0.1");
        // A target with its own trust roots never shares connections with one without them.
        let config = super::super::tls::client_config(None).unwrap();
        let own = Target {
            trust: Some(TlsTrust(config.clone())),
            ..a.clone()
        };
        assert!(!a.same_endpoint(&own));
        assert!(own.same_endpoint(&own.clone()));
        let other = Target {
            trust: Some(TlsTrust(super::super::tls::client_config(None).unwrap())),
            ..a.clone()
        };
        assert!(!own.same_endpoint(&other));
    }
}
