//! Quota reserved by each access key's requests in flight, capped so one tenant cannot reserve
//! the room every other tenant needs (`server.max_in_flight_bytes_per_key`).
//!
//! A PUT, a CopyObject, an UploadPart or an UploadPartCopy reserves its declared size on a
//! backend before any body byte arrives; a client that then stalls holds that room until the
//! upload times out. [`InFlightByKey::charge`] counts those bytes per access key for as long as
//! the request runs; past the cap the request is refused before it reserves anything.
//!
//! The count is per process: each orchestrator instance caps its own requests. A later step moves
//! quota accounting to a shared catalog; this count would then move with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Bytes in flight by access key, shared by every shard and kept across reloads.
#[derive(Default)]
pub struct InFlightByKey {
    /// Only keys with bytes in flight have an entry, so the map is bounded by the requests in
    /// progress (`server.max_concurrent_requests`), not by the number of keys ever seen.
    held: Mutex<HashMap<String, u64>>,
}

/// `size` bytes counted against `key` until dropped (at the end of the request, whether the
/// upload was committed, failed, or is held by its multipart upload).
pub struct InFlightCharge {
    owner: Arc<InFlightByKey>,
    key: String,
    size: u64,
}

impl InFlightByKey {
    /// Counts `size` bytes against `key`, unless that would take it past `cap` (`None` = no
    /// cap). A key with nothing in flight may always start one request, however large, so a
    /// cap below the largest object (5 GiB) never makes an object impossible to upload; the
    /// cap bounds what one key holds to `max(cap, one request)`.
    pub fn charge(
        self: &Arc<Self>,
        key: &str,
        size: u64,
        cap: Option<u64>,
    ) -> Option<InFlightCharge> {
        if size > 0 {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            let now = held.get(key).copied().unwrap_or(0);
            if cap.is_some_and(|cap| now > 0 && now.saturating_add(size) > cap) {
                return None;
            }
            held.insert(key.to_owned(), now.saturating_add(size));
        }
        // Built only once counted: its drop uncounts.
        Some(InFlightCharge {
            owner: self.clone(),
            key: key.to_owned(),
            size,
        })
    }

    /// Bytes `key` has in flight now.
    pub fn held(&self, key: &str) -> u64 {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(key).copied().unwrap_or(0)
    }
}

impl Drop for InFlightCharge {
    fn drop(&mut self) {
        if self.size == 0 {
            return;
        }
        let mut held = self.owner.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(self.size);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_refuses_past_it_and_drop_releases() {
        let f = Arc::new(InFlightByKey::default());
        let a = f.charge("A", 60, Some(100)).expect("first");
        let b = f.charge("A", 40, Some(100)).expect("up to the cap");
        assert!(f.charge("A", 1, Some(100)).is_none(), "past the cap");
        assert!(
            f.charge("B", 100, Some(100)).is_some(),
            "other keys unaffected"
        );
        drop(b);
        assert_eq!(f.held("A"), 60);
        assert!(f.charge("A", 40, Some(100)).is_some());
        drop(a);
        assert_eq!(f.held("A"), 0);
        assert!(
            f.held.lock().expect("lock").is_empty(),
            "no entry left behind"
        );
    }

    #[test]
    fn one_request_larger_than_the_cap_is_allowed_alone() {
        let f = Arc::new(InFlightByKey::default());
        let big = f.charge("A", 500, Some(100)).expect("alone");
        assert!(f.charge("A", 1, Some(100)).is_none());
        drop(big);
        assert!(f.charge("A", 1, None).is_some());
    }
}
