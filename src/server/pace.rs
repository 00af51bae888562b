//! The upload rate floor (`server.min_upload_bytes_per_second`): how fast a request body arrives,
//! measured over the time spent waiting on the client only. Time the handler spends elsewhere
//! (writing to a slow backend: backpressure) is not counted, since it is not the client's doing.

use std::time::Duration;

/// The average rate of one request body over windows of waiting time.
///
/// Every wait for body bytes adds its duration and the bytes it brought; once the waits add up
/// to a window, the bytes must be at least the floor times that time, then the count starts
/// over. So a fast start does not buy a long trickle afterwards, and a client pausing for a
/// moment (under a window) is averaged with its good moments.
#[derive(Debug, Clone, Copy)]
pub struct UploadPace {
    min_bytes_per_second: u64,
    window: Duration,
    waited: Duration,
    bytes: u64,
}

/// A body that arrived slower than the floor over a whole window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSlow {
    pub bytes: u64,
    pub waited: Duration,
}

impl UploadPace {
    /// A meter for one body; `min_bytes_per_second == 0` never fails.
    pub fn new(min_bytes_per_second: u64, window: Duration) -> UploadPace {
        UploadPace {
            min_bytes_per_second,
            window,
            waited: Duration::ZERO,
            bytes: 0,
        }
    }

    /// Records one wait on the client that lasted `waited` and brought `bytes`.
    pub fn record(&mut self, waited: Duration, bytes: usize) -> Result<(), TooSlow> {
        if self.min_bytes_per_second == 0 {
            return Ok(());
        }
        self.waited += waited;
        self.bytes = self.bytes.saturating_add(bytes as u64);
        if self.waited < self.window {
            return Ok(());
        }
        // bytes / waited >= floor, in integer milliseconds (no float, no overflow for sane
        // windows: a floor of at most 100 MiB/s times an hour of milliseconds fits u128 easily).
        let needed = u128::from(self.min_bytes_per_second) * self.waited.as_millis() / 1000;
        let result = if u128::from(self.bytes) >= needed {
            Ok(())
        } else {
            Err(TooSlow {
                bytes: self.bytes,
                waited: self.waited,
            })
        };
        self.waited = Duration::ZERO;
        self.bytes = 0;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_trickle_fails_after_one_window() {
        let mut p = UploadPace::new(1024, Duration::from_secs(1));
        // One byte every 200 ms: four waits fit the window, the fifth completes it.
        for _ in 0..4 {
            assert_eq!(p.record(200 * MS, 1), Ok(()));
        }
        assert_eq!(
            p.record(200 * MS, 1),
            Err(TooSlow {
                bytes: 5,
                waited: 1000 * MS
            })
        );
    }

    #[test]
    fn a_pause_inside_a_good_window_passes() {
        let mut p = UploadPace::new(1024, Duration::from_secs(30));
        assert_eq!(p.record(20_000 * MS, 0), Ok(()));
        assert_eq!(p.record(10_000 * MS, 64 * 1024), Ok(()));
        // The next window starts from nothing: the earlier bytes buy no credit.
        assert_eq!(p.record(29_000 * MS, 10), Ok(()));
        assert!(p.record(1_000 * MS, 10).is_err());
    }

    #[test]
    fn zero_turns_the_floor_off() {
        let mut p = UploadPace::new(0, Duration::from_secs(1));
        assert_eq!(p.record(Duration::from_secs(3600), 0), Ok(()));
    }
}
