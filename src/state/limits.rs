//! The client listener's time and size limits, part of the state because a reload carries them
//! and every shard reads them per connection.

use std::time::Duration;

/// The time and size limits of the client listener. Defaults are the named constants in
/// [`crate::http::limits`]; tests shorten the timeouts to exercise them quickly.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub head_read_timeout: Duration,
    pub idle_keepalive_timeout: Duration,
    pub body_stall_timeout: Duration,
    pub max_connections_per_shard: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        use crate::http::limits as l;
        ServerLimits {
            head_read_timeout: l::HEAD_READ_TIMEOUT,
            idle_keepalive_timeout: l::IDLE_KEEPALIVE_TIMEOUT,
            body_stall_timeout: l::BODY_STALL_TIMEOUT,
            max_connections_per_shard: l::MAX_CONNECTIONS_PER_SHARD,
        }
    }
}
