//! Structured JSON logs on stderr (one object per line), filtered by `--log-level` or RUST_LOG,
//! and changeable at run time ([`set_filter`], behind `PUT /admin/log-level`).
//!
//! Access-log lines (one per request, target `access`, carrying the `request_id` that the client
//! also gets as `x-amz-request-id`) are written at `logging.access_log_level` through
//! [`access_log!`](crate::access_log). Secrets never reach a log line: they are [`Secret`]s whose
//! `Debug` is `***`, and no code formats their exposed text into a message.
//!
//! [`Secret`]: crate::config::Secret

use std::sync::OnceLock;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// Our own events at info; the storage engine's routine chatter (compactions, flushes) only when
/// it is a warning.
pub const DEFAULT_FILTER: &str = "info,lsm_tree=warn,fjall=warn";

/// Directives added to a bare level set at run time, so `debug` does not also turn on the storage
/// engine's per-flush lines.
const QUIET_DEPENDENCIES: &str = "lsm_tree=warn,fjall=warn";

/// Longest filter accepted from the admin API (a few directives; keeps parsing trivially cheap).
pub const MAX_FILTER_LEN: usize = 512;

static RELOAD: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

pub fn init(level: Option<&str>) {
    let filter = match level {
        Some(l) => EnvFilter::new(l),
        None => {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
        }
    };
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_writer(std::io::stderr);
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init()
        .is_ok()
    {
        let _ = RELOAD.set(handle);
    }
}

/// Why a run-time filter change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// Logging was not set up by [`init`] (the library embedded without it, unit tests).
    NotInitialized,
    Invalid(String),
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterError::NotInitialized => f.write_str("logging is not initialised"),
            FilterError::Invalid(why) => write!(f, "invalid log filter: {why}"),
        }
    }
}

/// The filter a run-time request asks for: a bare level gets the dependency directives added.
pub fn parse_filter(text: &str) -> Result<EnvFilter, FilterError> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_FILTER_LEN {
        return Err(FilterError::Invalid(format!(
            "expected a level (error, warn, info, debug, trace) or a filter of at most {MAX_FILTER_LEN} bytes"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(FilterError::Invalid("control characters".into()));
    }
    let bare = matches!(
        text.to_ascii_lowercase().as_str(),
        "error" | "warn" | "info" | "debug" | "trace" | "off"
    );
    let full = if bare {
        format!("{},{QUIET_DEPENDENCIES}", text.to_ascii_lowercase())
    } else {
        text.to_owned()
    };
    EnvFilter::try_new(&full).map_err(|e| FilterError::Invalid(e.to_string()))
}

/// Replaces the active filter; returns the new filter's text.
pub fn set_filter(text: &str) -> Result<String, FilterError> {
    let filter = parse_filter(text)?;
    let shown = filter.to_string();
    let handle = RELOAD.get().ok_or(FilterError::NotInitialized)?;
    handle
        .reload(filter)
        .map_err(|e| FilterError::Invalid(e.to_string()))?;
    tracing::warn!(filter = %shown, "log filter changed through the admin API");
    Ok(shown)
}

/// The active filter's text, when logging was initialised.
pub fn current_filter() -> Option<String> {
    RELOAD.get()?.with_current(|f| f.to_string()).ok()
}

/// Writes an access-log line at a level chosen at run time (tracing's macros want a constant
/// level, hence one arm per level). Usage: `crate::logging::access_log!(level, field = value, ...,
/// "message")`. Module-scoped (not `#[macro_export]`), so its path names the module it lives in.
macro_rules! access_log {
    ($level:expr, $($rest:tt)+) => {
        match $level {
            $crate::config::AccessLogLevel::Off => {}
            $crate::config::AccessLogLevel::Error => ::tracing::error!(target: "access", $($rest)+),
            $crate::config::AccessLogLevel::Warn => ::tracing::warn!(target: "access", $($rest)+),
            $crate::config::AccessLogLevel::Info => ::tracing::info!(target: "access", $($rest)+),
            $crate::config::AccessLogLevel::Debug => ::tracing::debug!(target: "access", $($rest)+),
            $crate::config::AccessLogLevel::Trace => ::tracing::trace!(target: "access", $($rest)+),
        }
    };
}
pub(crate) use access_log;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert!(parse_filter("DEBUG")
            .map(|f| f.to_string())
            .unwrap_or_default()
            .contains("fjall=warn"));
        assert!(parse_filter("s3_orchestrator=trace,info").is_ok());
        assert!(matches!(parse_filter(""), Err(FilterError::Invalid(_))));
        assert!(matches!(
            parse_filter(&"x".repeat(MAX_FILTER_LEN + 1)),
            Err(FilterError::Invalid(_))
        ));
        assert!(matches!(
            parse_filter("info\nerror"),
            Err(FilterError::Invalid(_))
        ));
        assert!(matches!(parse_filter("=[{"), Err(FilterError::Invalid(_))));
    }
}
