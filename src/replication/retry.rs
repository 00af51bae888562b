//! The in-memory backoff of failed queue items, shared by [`super::replicate`] and
//! [`super::cleanup`] (after a restart everything is retried once at once, which is harmless).

use crate::catalog::QueueId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Exponential backoff: `first` doubled per failure, at most `max`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

/// Failed items: attempts so far and when the next attempt is due.
#[derive(Default)]
pub(crate) struct Retries {
    items: RefCell<HashMap<QueueId, (u32, Instant)>>,
}

impl Retries {
    /// Whether `id` may be tried at `now` (it has not failed, or its backoff is over).
    pub(crate) fn is_due(&self, id: QueueId, now: Instant) -> bool {
        self.items
            .borrow()
            .get(&id)
            .is_none_or(|(_, due)| *due <= now)
    }

    /// `id` succeeded (or is gone): forget its failures.
    pub(crate) fn forget(&self, id: QueueId) {
        self.items.borrow_mut().remove(&id);
    }

    /// Counts one more failure of `id` and makes it due `backoff` after `now`; returns the
    /// attempts so far and the wait.
    pub(crate) fn failed(&self, id: QueueId, now: Instant, backoff: Backoff) -> (u32, Duration) {
        let mut items = self.items.borrow_mut();
        let entry = items.entry(id).or_insert((0, now));
        entry.0 += 1;
        let wait = backoff
            .first
            .saturating_mul(1u32 << entry.0.min(16))
            .min(backoff.max);
        entry.1 = now + wait;
        (entry.0, wait)
    }
}
