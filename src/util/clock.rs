//! The one wall-clock reader. Durations and deadlines use `Instant`; this is for timestamps that
//! leave the process (Last-Modified, catalog records, month boundaries, log events). A clock set
//! before 1970 reads as the epoch rather than failing a request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The wall clock now.
pub fn now() -> SystemTime {
    SystemTime::now()
}

/// Time since the Unix epoch (zero if the system clock is set before it).
pub fn since_epoch() -> Duration {
    since_epoch_at(now())
}

/// [`since_epoch`] for a given instant (tests pass fixed times).
pub fn since_epoch_at(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO)
}

/// Milliseconds since the Unix epoch, as catalog records store times.
pub fn now_ms() -> i64 {
    since_epoch().as_millis() as i64
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    since_epoch().as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_the_epoch_reads_as_zero() {
        let t = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(since_epoch_at(t), Duration::ZERO);
        assert!(now_ms() > 1_700_000_000_000);
    }
}
