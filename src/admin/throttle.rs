//! Slowing down password guessing on the admin listener, without a lockout an attacker could turn
//! against the operator: every failed authentication (wrong or missing credentials on
//! `/admin/*`, a wrong login form) is answered only after [`AUTH_FAILURE_DELAY`], and each
//! failure is logged (peer address, method, path, why; never what was sent), at most one line per
//! [`AUTH_LOG_INTERVAL`] with a count of the lines left out.
//!
//! Each request that will check credentials first takes a slot: at most
//! [`MAX_AUTH_SLOTS_PER_PEER`] per client address and [`MAX_AUTH_SLOTS`] in all, held while it
//! is checked and, on failure, while it is delayed. A request that finds no slot is refused with
//! `429` before its credentials are looked at, so it tells the sender nothing. One address can
//! therefore try at most `MAX_AUTH_SLOTS_PER_PEER` guesses per `AUTH_FAILURE_DELAY`, and delayed
//! failures never hold more than `MAX_AUTH_SLOTS` of the listener's threads. Nothing is remembered
//! after the delay: the right credentials work the moment the guessing stops.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The pause before a failed authentication is answered. One second costs an operator's typo
/// nothing and brings guessing from ~1400/s to [`MAX_AUTH_SLOTS_PER_PEER`]/s per address.
pub(crate) const AUTH_FAILURE_DELAY: Duration = Duration::from_secs(1);

/// Slots one client address may hold: a dashboard makes one authenticated request at a time,
/// a script a few; more in parallel from one address is guessing.
pub(crate) const MAX_AUTH_SLOTS_PER_PEER: usize = 4;

/// Slots in all: a quarter of the admin listener's threads (`MAX_ADMIN_CONNECTIONS`), so
/// failures being delayed never occupy all of them.
pub(crate) const MAX_AUTH_SLOTS: usize = 16;

/// At most one auth-failure log line per this interval; the next line says how many were left out.
pub(crate) const AUTH_LOG_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Inner {
    per_peer: HashMap<IpAddr, usize>,
    total: usize,
    last_log: Option<Instant>,
    suppressed: u64,
}

/// The slots and the log limiter every admin connection shares.
#[derive(Default)]
pub(crate) struct AuthThrottle {
    inner: Mutex<Inner>,
}

/// A taken slot; released when dropped.
pub(crate) struct Slot<'a> {
    throttle: &'a AuthThrottle,
    peer: IpAddr,
}

impl AuthThrottle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a request from `peer` about to be authenticated; `None` when `peer` or the
    /// listener holds all it may.
    pub(crate) fn take(&self, peer: IpAddr) -> Option<Slot<'_>> {
        let mut inner = self.lock();
        let mine = inner.per_peer.get(&peer).copied().unwrap_or(0);
        if mine >= MAX_AUTH_SLOTS_PER_PEER || inner.total >= MAX_AUTH_SLOTS {
            return None;
        }
        inner.per_peer.insert(peer, mine + 1);
        inner.total += 1;
        Some(Slot {
            throttle: self,
            peer,
        })
    }

    /// Logs one failure (rate-limited); `why` is ours, never request data.
    pub(crate) fn log_failure(&self, peer: IpAddr, method: &str, path: &str, why: &str) {
        let suppressed = {
            let mut inner = self.lock();
            let now = Instant::now();
            if inner
                .last_log
                .is_some_and(|t| now.duration_since(t) < AUTH_LOG_INTERVAL)
            {
                inner.suppressed += 1;
                return;
            }
            inner.last_log = Some(now);
            std::mem::take(&mut inner.suppressed)
        };
        // The method is one the codec accepted (a token); the path is logged as a debug string so
        // that no byte of it can forge a line.
        tracing::warn!(
            peer = %peer,
            method = %method.escape_debug(),
            path = %path.escape_debug(),
            reason = why,
            failures_not_logged = suppressed,
            "admin authentication failed"
        );
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().total
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut inner = self.throttle.lock();
        inner.total = inner.total.saturating_sub(1);
        if let Some(n) = inner.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                inner.per_peer.remove(&self.peer);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_peer_and_in_all() {
        let t = AuthThrottle::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let mine: Vec<_> = (0..MAX_AUTH_SLOTS_PER_PEER)
            .map(|_| t.take(a).unwrap())
            .collect();
        assert!(t.take(a).is_none(), "one address holds at most its share");
        let others: Vec<_> = (0..MAX_AUTH_SLOTS - MAX_AUTH_SLOTS_PER_PEER)
            .map(|i| t.take(IpAddr::from([10, 0, 1, i as u8])).unwrap())
            .collect();
        assert!(t.take("10.0.2.1".parse().unwrap()).is_none());
        drop(mine);
        assert!(t.take(a).is_some());
        drop(others);
        assert_eq!(t.held(), 0);
        assert!(t.lock().per_peer.is_empty());
    }
}
