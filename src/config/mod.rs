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

mod duration;
mod env;
mod load;
mod locate;
mod model;
mod raw;
mod validate;

use std::fmt;
use std::path::Path;

pub use duration::{format_duration, parse_duration, DurationError, MAX_DURATION_TEXT_LEN};
pub use env::{EnvLookup, ExpandError, MAX_ENV_NAME_LEN};
pub use load::{MAX_CONFIG_BYTES, MAX_DIAGNOSTICS};
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

/// What stage refused the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read (missing, unreadable, too large, not UTF-8).
    Read,
    /// Not valid YAML, or not the expected structure (unknown key, list where a value belongs, ...).
    Syntax,
    /// Well-formed, but one or more values are wrong.
    Invalid,
}

/// One problem, with its place in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Key path such as `backends[1].quota_bytes`; empty for the file as a whole.
    pub key_path: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// 1-based column, with `line`.
    pub column: Option<usize>,
    /// What is wrong, e.g. `must not be negative`. Never contains a secret's value.
    pub message: String,
}

/// Why a configuration was refused: one or more [`Diagnostic`]s (at most
/// [`MAX_DIAGNOSTICS`] and a summary line). Display prints one line per diagnostic.
#[derive(Debug)]
pub struct ConfigError {
    file: String,
    kind: ConfigErrorKind,
    diagnostics: Vec<Diagnostic>,
    io: Option<std::io::Error>,
}

impl ConfigError {
    /// The file name as given (or the name passed to [`Config::from_str_named`]).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// What stage refused the file.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The problems, in file order; never empty.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(&self.file)?;
            match (d.line, d.column) {
                (Some(l), Some(c)) => write!(f, ":{l}:{c}")?,
                (Some(l), None) => write!(f, ":{l}")?,
                _ => {}
            }
            f.write_str(": ")?;
            if !d.key_path.is_empty() {
                write!(f, "{}: ", d.key_path)?;
            }
            f.write_str(&d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn display_formats() {
        let e = ConfigError {
            file: "c.yaml".into(),
            kind: ConfigErrorKind::Invalid,
            diagnostics: vec![
                Diagnostic {
                    key_path: "backends".into(),
                    line: None,
                    column: None,
                    message: "at least one backend is required".into(),
                },
                Diagnostic {
                    key_path: "backends[1].quota_bytes".into(),
                    line: Some(14),
                    column: Some(5),
                    message: "must not be negative".into(),
                },
                Diagnostic {
                    key_path: String::new(),
                    line: Some(3),
                    column: None,
                    message: "bad".into(),
                },
            ],
            io: None,
        };
        assert_eq!(
            e.to_string(),
            "c.yaml: backends: at least one backend is required\n\
             c.yaml:14:5: backends[1].quota_bytes: must not be negative\n\
             c.yaml:3: bad"
        );
        assert_eq!(e.file(), "c.yaml");
        assert_eq!(e.kind(), ConfigErrorKind::Invalid);
        assert_eq!(e.diagnostics().len(), 3);
    }
}
