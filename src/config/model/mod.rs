//! The typed, validated configuration: what the rest of the program reads.
//!
//! Every value here has passed [`crate::config::validate`], so users of these types need not re-check
//! names, ranges or URLs. Defaults live here too (the `Default` impls and the `DEFAULT_*` constants),
//! so the documentation of a key and its default sit next to each other. Secrets are wrapped in
//! [`Secret`], whose `Debug` prints `***`, so `{:?}` of a whole [`Config`] is safe to log.
//!
//! One file per group of sections: `backends.rs` (`routing_strategy`, `backends`), `buckets.rs`
//! (`buckets`, `admin_credentials`), `replication.rs` (`replication`, `rebalance`, `cleanup_queue`), `health.rs`
//! (`backend_circuit_breaker`, `rate_limit`), `server.rs` (`server`, `catalog`, `ui`, `logging`).
//! This file holds the whole [`Config`] and [`Secret`].

mod backends;
mod buckets;
mod health;
mod replication;
mod server;

use std::fmt;

pub use backends::*;
pub use buckets::*;
pub use health::*;
pub use replication::*;
pub use server::*;

/// A secret string (a secret access key). `Debug` prints `***`; there is no `Display`, so the only way
/// to the text is the explicit [`Secret::expose`].
///
/// `PartialEq` is an ordinary comparison, meant for comparing configurations (reload); request
/// authentication must compare signatures in constant time, not secrets with `==`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The secret text, for signing. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How new objects pick their first backend (`routing_strategy`).
    pub routing_strategy: RoutingStrategy,
    /// The providers behind the orchestrator (`backends`), in file order; never empty.
    pub backends: Vec<BackendConfig>,
    /// Copies per object and when to replace copies on a dead backend (`replication`).
    pub replication: ReplicationConfig,
    /// Per-backend circuit breakers (`backend_circuit_breaker`).
    pub backend_circuit_breaker: CircuitBreakerConfig,
    /// Moving copies to even out usage under `spread` (`rebalance`).
    pub rebalance: RebalanceConfig,
    /// Background housekeeping: stale multipart uploads (`cleanup_queue`).
    pub cleanup_queue: CleanupQueueConfig,
    /// Per-credential request rate limit (`rate_limit`).
    pub rate_limit: RateLimitConfig,
    /// The virtual buckets clients see (`buckets`), in file order.
    pub buckets: Vec<BucketConfig>,
    /// `admin_credentials`: credentials that may create and delete buckets through the S3 API.
    pub admin_credentials: Vec<CredentialConfig>,
    /// Listeners and sharding (`server`).
    pub server: ServerConfig,
    /// Where the catalog lives (`catalog`).
    pub catalog: CatalogConfig,
    /// The dashboard and the admin credentials (`ui`).
    pub ui: UiConfig,
    /// Log settings (`logging`).
    pub logging: LoggingConfig,
}

impl Config {
    /// The backend with this name.
    pub fn backend(&self, name: &str) -> Option<&BackendConfig> {
        self.backends.iter().find(|b| b.name == name)
    }

    /// The virtual bucket with this name.
    pub fn bucket(&self, name: &str) -> Option<&BucketConfig> {
        self.buckets.iter().find(|b| b.name == name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("wJalrXUtnFEMI");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(s.expose(), "wJalrXUtnFEMI");
    }
}
