//! Structured JSON logs on stderr (one object per line), filtered by `--log-level` or RUST_LOG.

use tracing_subscriber::EnvFilter;

pub fn init(level: Option<&str>) {
    let filter = match level {
        Some(l) => EnvFilter::new(l),
        None => {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
        }
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Our own events at info; the storage engine's routine chatter (compactions, flushes) only when
/// it is a warning.
pub const DEFAULT_FILTER: &str = "info,lsm_tree=warn,fjall=warn";
