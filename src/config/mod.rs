//! The configuration file: its typed model, loading, `${VAR}` expansion and validation.
//!
//! A leaf module: nothing here imports from the rest of the crate (`util` would be the one allowed
//! exception), so every other module may depend on it.
//!
//! # Layout
//! - `model/`: the validated [`Config`] and its parts, defaults, and [`Secret`];
//! - `raw`: the file's shape for serde (unknown keys refused);
//! - `load`: reading the file and running the stages below; `diagnose`: turning failures into
//!   [`ConfigError`]s with lines; `error`: [`ConfigError`] and [`Diagnostic`];
//! - `validate/`: value checks and conversion from `raw` to `model`;
//! - `env`: `${VAR}` expansion; `locate`: key path → line; `duration`: `10m`-style durations;
//! - `tests/`: whole-file tests, by topic.
//!
//! Each config section has one file in `model/` (its types and defaults), the file of the same name
//! in `validate/` (its checks) and in `tests/` (its whole-file tests); a new key also needs its field
//! in `raw.rs`:
//!
//! | sections                                   | file              |
//! |--------------------------------------------|-------------------|
//! | `routing_strategy`, `backends`             | `backends.rs`     |
//! | `buckets`, `admin_credentials`             | `buckets.rs`      |
//! | `replication`, `rebalance`                 | `replication.rs`  |
//! | `backend_circuit_breaker`, `rate_limit`    | `health.rs`       |
//! | `server`, `catalog`, `ui`, `logging`       | `server.rs`       |
//!
//! # Flow
//! text → serde_norway → `RawConfig` (structure only; syntax and unknown keys fail here with the
//! parser's own line and column) → `validate` (expansion, ranges, cross-checks; all problems
//! collected) → `Config`. Problems found after parsing get their line from `locate`.
//!
//! # Errors
//! Every problem renders as `file:line:column: key.path: message`, e.g.
//! `config/x.yaml:14:5: backends[1]: unknown field `quota_byte`, expected one of ...`; the line is
//! left out only when the problem has no place in the file (e.g. a required section that is missing).

mod diagnose;
mod duration;
mod env;
mod error;
mod load;
mod locate;
mod model;
mod raw;
mod validate;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::path::Path;

pub use error::{ConfigError, ConfigErrorKind, Diagnostic};
pub use model::{
    AccessLogLevel, BackendConfig, BackendConfigKind, BucketConfig, CatalogConfig,
    CircuitBreakerConfig, Config, CredentialConfig, Endpoint, LoggingConfig, Permissions,
    RateLimitConfig, RebalanceConfig, ReplicationConfig, RoutingStrategy, Secret, ServerConfig,
    TlsConfig, UiConfig, UsageLimits,
};
pub(crate) use validate::bucket_name_problem;

impl Config {
    /// Reads, expands (from the process environment) and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        load::load_file(path, &process_env)
    }

    /// Parses configuration text; `name` stands for the file name in messages.
    pub fn from_str_named(text: &str, name: &str) -> Result<Config, ConfigError> {
        load::parse_str(text, name, &process_env)
    }
}

/// `${VAR}` lookup in the process environment.
fn process_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name)
}
