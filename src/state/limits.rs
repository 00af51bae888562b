//! The client listener's time and size limits, part of the state because a reload carries them
//! and every shard reads them per connection.

use crate::config::ServerConfig;
use std::time::Duration;

/// The time and size limits of the client listener. Defaults are the named constants in
/// [`crate::http::limits`] and the `server` section's defaults; tests shorten the timeouts to
/// exercise them quickly.
///
/// The fields backed by a config key (`write_stall_timeout`, `request_timeout`,
/// `min_upload_bytes_per_second`, `upload_rate_window`) are set from the config at start and on
/// every reload ([`ServerLimits::with_config`]); each connection reads them at the start of each
/// request, so a reload applies from the next request on. The other fields come from the code
/// (tests shorten them) and stay as started.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub head_read_timeout: Duration,
    pub idle_keepalive_timeout: Duration,
    pub body_stall_timeout: Duration,
    pub max_connections_per_shard: usize,
    /// `server.write_stall_timeout`: longest a write to the client may make no progress.
    pub write_stall_timeout: Duration,
    /// `server.request_timeout`: deadline of a request with a small or no body.
    pub request_timeout: Duration,
    /// `server.min_upload_bytes_per_second`: slowest request body accepted (0 = no floor).
    pub min_upload_bytes_per_second: u64,
    /// `server.upload_rate_window`: waiting time the upload rate is averaged over.
    pub upload_rate_window: Duration,
}

impl ServerLimits {
    /// These limits with the config-backed fields taken from `server`.
    pub fn with_config(self, server: &ServerConfig) -> ServerLimits {
        ServerLimits {
            write_stall_timeout: server.write_stall_timeout,
            request_timeout: server.request_timeout,
            min_upload_bytes_per_second: server.min_upload_bytes_per_second,
            upload_rate_window: server.upload_rate_window,
            ..self
        }
    }
}

impl Default for ServerLimits {
    fn default() -> Self {
        use crate::http::limits as l;
        // The config-backed fields get the `server` section's defaults.
        let server = ServerConfig::default();
        ServerLimits {
            head_read_timeout: l::HEAD_READ_TIMEOUT,
            idle_keepalive_timeout: l::IDLE_KEEPALIVE_TIMEOUT,
            body_stall_timeout: l::BODY_STALL_TIMEOUT,
            max_connections_per_shard: l::MAX_CONNECTIONS_PER_SHARD,
            write_stall_timeout: server.write_stall_timeout,
            request_timeout: server.request_timeout,
            min_upload_bytes_per_second: server.min_upload_bytes_per_second,
            upload_rate_window: server.upload_rate_window,
        }
    }
}
