//! The configuration file: its typed model, loading, `${VAR}` expansion and validation.
//!
//! # Layout
//! - `model`: the validated [`Config`] and its parts, defaults, and [`Secret`];
//! - `raw`: the file's shape for serde (unknown keys refused);
//! - `load`: reading the file, YAML parsing, turning failures into [`ConfigError`]s with lines;
//! - `validate`: value checks and conversion from `raw` to `model`;
//! - `env`: `${VAR}` expansion; `locate`: key path → line; `duration`: `10m`-style durations.
//!
//! # Flow
//! text → serde_norway → `RawConfig` (structure only; syntax and unknown keys fail here with the
//! parser's own line and column) → `validate` (expansion, ranges, cross-checks; all problems collected)
//! → `Config`. Problems found after parsing get their line from `locate`.
//!
//! # Errors
//! Every problem renders as `file:line:column: key.path: message`, e.g.
//! `config/x.yaml:14:5: backends[1]: unknown field `quota_byte`, expected one of ...`; the line is left
//! out only when the problem has no place in the file (e.g. a required section that is missing).

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

pub use diagnose::MAX_DIAGNOSTICS;
pub use duration::{format_duration, parse_duration, DurationError, MAX_DURATION_TEXT_LEN};
pub use env::{EnvLookup, ExpandError, MAX_ENV_NAME_LEN};
pub use error::{ConfigError, ConfigErrorKind, Diagnostic};
pub use load::MAX_CONFIG_BYTES;
pub use model::{
    AccessLogLevel, BackendConfig, BackendKind, BucketConfig, CatalogConfig, CircuitBreakerConfig,
    Config, CredentialConfig, Endpoint, LoggingConfig, Permissions, RebalanceConfig,
    ReplicationConfig, RoutingStrategy, Secret, ServerConfig, TlsConfig, UiConfig,
    DEFAULT_ADMIN_ADDR, DEFAULT_CATALOG_PATH, DEFAULT_LISTEN_ADDR, DEFAULT_REGION,
    DEFAULT_REPLICATION_FACTOR, DEFAULT_UNHEALTHY_THRESHOLD, MAX_SHARDS,
};
pub use model::{
    RateLimitConfig, UsageLimits, DEFAULT_BACKEND_TIMEOUT, DEFAULT_FAILURE_THRESHOLD,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_OPEN_TIMEOUT, DEFAULT_SUCCESS_THRESHOLD,
};
pub use validate::{
    bucket_name_problem, parse_endpoint, MAX_ACCESS_KEY_ID_LEN, MAX_BACKENDS,
    MAX_BACKEND_BUCKET_LEN, MAX_BACKEND_NAME_LEN, MAX_BUCKETS, MAX_CREDENTIALS, MAX_HOST_LEN,
    MAX_REGION_LEN, MAX_SECRET_LEN,
};

impl Config {
    /// Reads, expands (from the process environment) and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        load::load_file(path, &process_env)
    }

    /// Parses configuration text; `name` stands for the file name in messages.
    pub fn from_str_named(text: &str, name: &str) -> Result<Config, ConfigError> {
        load::parse_str(text, name, &process_env)
    }

    /// Like [`Config::from_str_named`] with `${VAR}` looked up by `env` instead of the process
    /// environment (tests, or a reload that must see a fixed environment).
    pub fn from_str_with_env(
        text: &str,
        name: &str,
        env: EnvLookup<'_>,
    ) -> Result<Config, ConfigError> {
        load::parse_str(text, name, env)
    }
}

/// `${VAR}` lookup in the process environment.
fn process_env(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name)
}
