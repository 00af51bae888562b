//! Per-shard HTTP/1.1 client used to talk to S3 backends.
//!
//! # Layout
//! - [`pool`]: [`ClientPool`], one per shard (glommio executor): connects, keeps a bounded LRU of idle
//!   keep-alive connections keyed by (host, port, TLS identity), and starts requests.
//! - [`request`]: [`RequestInFlight`], a request whose head is on its way; streams the request body
//!   (`Content-Length` or chunked framing), handles `Expect: 100-continue`, and reads the response head.
//! - [`response`]: [`BackendResponse`], the response head plus a streaming body reader
//!   (`Content-Length`, chunked, read-until-close); a fully read keep-alive response hands its
//!   connection back to the pool when dropped.
//! - [`conn`]: one connection (plain TCP or TLS) with its fixed, reused buffers and timed I/O.
//! - [`tls`]: rustls client configuration (ring is the only crypto provider) and the handshake.
//! - [`error`]: [`ClientError`], which records the phase that failed and whether any request body
//!   byte reached the backend (so the caller knows whether failing over to another backend is safe).
//!
//! # Request lifecycle
//! ```text
//! pool.start(target, head, body_len, expect)   checkout idle conn (checked for EOF/age) or connect
//!   ├─ write_body(data) *                       head goes out with the first body bytes
//!   ├─ finish()  ──▶ BackendResponse            body terminator, response head (1xx skipped)
//!   │     └─ read_body(buf) * / read_to_vec / discard ── drop: conn back to the pool if reusable
//!   └─ abort()                                  close without completing the body
//! ```
//! A reused connection that turns out to be closed by the backend (EOF/reset while writing the head
//! or before any response byte) is replaced by a fresh connection once, transparently, provided no
//! request body byte was sent (pingora's "ReusedOnly" retry). Nothing is retried after body bytes
//! went out.
//!
//! # Threading
//! Everything here is `!Send` and lives on one glommio executor (`Rc`, `RefCell`, `Cell`); shards
//! share nothing. The client knows nothing of SigV4 or S3: the caller passes fully signed headers.

pub mod conn;
pub mod error;
pub mod pool;
pub mod request;
pub mod response;
pub mod tls;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod test_server;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::time::Duration;

pub use error::{ClientError, Phase};
pub use pool::{ClientPool, PoolStats};
pub use request::RequestInFlight;
pub use response::BackendResponse;

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
/// its buffers (about 32 KiB, see [`conn::READ_BUF_BYTES`] and [`conn::WRITE_BUF_BYTES`]) and a
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
}

impl Target {
    /// A plain-HTTP target.
    pub fn http(host: impl Into<String>, port: u16) -> Self {
        Target {
            host: host.into(),
            port,
            tls: false,
            server_name: None,
        }
    }

    /// An HTTPS target whose certificate is checked against `host`.
    pub fn https(host: impl Into<String>, port: u16) -> Self {
        Target {
            host: host.into(),
            port,
            tls: true,
            server_name: None,
        }
    }

    /// The name used for SNI and certificate verification.
    pub fn tls_name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }

    /// Whether a connection made for `self` may serve a request for `other`.
    pub(crate) fn same_endpoint(&self, other: &Target) -> bool {
        self.port == other.port
            && self.tls == other.tls
            && self.host == other.host
            && (!self.tls || self.tls_name() == other.tls_name())
    }
}

/// Timeouts and pool bounds of one [`ClientPool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    pub connect_timeout: Duration,
    pub response_head_timeout: Duration,
    pub idle_timeout: Duration,
    /// Stall limit of any single read or write.
    pub io_timeout: Duration,
    pub expect_continue_timeout: Duration,
    pub max_idle_per_target: usize,
    pub max_idle_total: usize,
}

impl ClientLimits {
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

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
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

/// The request head as the caller built (and signed) it.
#[derive(Clone, Copy, Debug)]
pub struct RequestHeadOut<'a> {
    /// `GET`, `PUT`, ... (a token; case-sensitive as HTTP says).
    pub method: &'a str,
    /// Origin-form request target, already percent-encoded: `/bucket/key?uploads`.
    pub path_and_query: &'a str,
    /// Every header to send, `Host` and `Authorization` included. Must not contain
    /// `Content-Length`, `Transfer-Encoding`, `Expect` or `Connection`: the client writes those
    /// from [`BodyLen`] and the `expect_continue` flag. A missing `Host` is filled in from the
    /// target.
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// How the request body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyLen {
    /// No body and no framing header (GET, HEAD, DELETE).
    None,
    /// `Content-Length: n`; exactly `n` bytes must be written. `Length(0)` sends
    /// `Content-Length: 0`, which some servers require on an empty POST/PUT.
    Length(u64),
    /// `Transfer-Encoding: chunked`; each `write_body` call becomes one chunk.
    Chunked,
}

impl BodyLen {
    /// Whether this framing carries no body bytes at all.
    pub(crate) fn is_empty(self) -> bool {
        matches!(self, BodyLen::None | BodyLen::Length(0))
    }
}

#[cfg(test)]
mod limits_tests {
    use super::*;

    #[test]
    fn default_limits_validate_and_zero_is_refused() {
        assert_eq!(ClientLimits::default().validate(), Ok(()));
        let zero = ClientLimits {
            io_timeout: Duration::ZERO,
            ..ClientLimits::default()
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
    }
}
