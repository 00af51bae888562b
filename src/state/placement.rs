//! Where a new object goes: the routing strategy over backends with room.
//!
//! Usage is kept in memory as atomics shared by all shards (loaded from the catalog at start,
//! moved when a catalog change commits), plus *reservations* for uploads in flight. A write first
//! reserves its size on a backend (an atomic add that is undone if it overshoots the quota), so
//! concurrent uploads can never together exceed `quota_bytes`. The reservation is released when
//! the upload fails, or turned into usage when the catalog change commits.

use crate::config::RoutingStrategy;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One backend's accounting.
pub struct Slot {
    pub name: String,
    /// `quota_bytes`; [`NO_QUOTA`] when unlimited. Atomic so a config reload can change it
    /// while uploads hold reservations on this slot.
    quota: AtomicU64,
    pub used_bytes: AtomicU64,
    pub reserved_bytes: AtomicU64,
    pub objects: AtomicU64,
}

/// The `quota` value meaning "no quota".
pub const NO_QUOTA: u64 = u64::MAX;

impl Slot {
    pub fn quota_bytes(&self) -> Option<u64> {
        match self.quota.load(Ordering::Acquire) {
            NO_QUOTA => None,
            q => Some(q),
        }
    }

    fn load(&self) -> u64 {
        self.used_bytes
            .load(Ordering::Acquire)
            .saturating_add(self.reserved_bytes.load(Ordering::Acquire))
    }

    /// Atomically reserves `size` bytes if the quota allows.
    fn try_reserve(&self, size: u64) -> bool {
        let prev = self.reserved_bytes.fetch_add(size, Ordering::AcqRel);
        if let Some(q) = self.quota_bytes() {
            let used = self.used_bytes.load(Ordering::Acquire);
            if used.saturating_add(prev).saturating_add(size) > q {
                self.reserved_bytes.fetch_sub(size, Ordering::AcqRel);
                return false;
            }
        }
        true
    }
}

pub struct Placement {
    pub strategy: RoutingStrategy,
    pub slots: Vec<Arc<Slot>>,
}

/// Bytes held on one backend for an upload in flight; released on drop unless committed.
pub struct Reservation {
    slot: Arc<Slot>,
    size: u64,
    pub backend_index: usize,
}

impl Reservation {
    pub fn backend(&self) -> &str {
        &self.slot.name
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Turns the reservation into usage (call after the catalog change is durable).
    pub fn commit(mut self, new_object: bool) {
        self.slot.used_bytes.fetch_add(self.size, Ordering::AcqRel);
        if new_object {
            self.slot.objects.fetch_add(1, Ordering::AcqRel);
        }
        self.slot
            .reserved_bytes
            .fetch_sub(self.size, Ordering::AcqRel);
        self.size = 0;
    }
    /// Grows the reservation (multipart parts), if the quota allows.
    pub fn grow(&mut self, more: u64) -> bool {
        if self.slot.try_reserve(more) {
            self.size += more;
            true
        } else {
            false
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.size > 0 {
            self.slot
                .reserved_bytes
                .fetch_sub(self.size, Ordering::AcqRel);
        }
    }
}

impl Placement {
    pub fn new(strategy: RoutingStrategy, backends: &[(String, Option<u64>)]) -> Placement {
        let slots = backends
            .iter()
            .map(|(name, quota)| {
                Arc::new(Slot {
                    name: name.clone(),
                    quota: AtomicU64::new(quota.unwrap_or(NO_QUOTA)),
                    used_bytes: AtomicU64::new(0),
                    reserved_bytes: AtomicU64::new(0),
                    objects: AtomicU64::new(0),
                })
            })
            .collect();
        Placement { strategy, slots }
    }

    /// The placement for a reloaded config: backends that stay keep their slot (usage and the
    /// reservations of uploads in flight carry over), with the new quota; new backends start empty
    /// (their usage comes from the catalog).
    pub fn carry_over(
        &self,
        strategy: RoutingStrategy,
        backends: &[(String, Option<u64>)],
    ) -> Placement {
        let fresh = Placement::new(strategy, backends);
        let slots = fresh
            .slots
            .into_iter()
            .map(|new| match self.slots.iter().find(|s| s.name == new.name) {
                Some(old) => {
                    old.quota
                        .store(new.quota.load(Ordering::Acquire), Ordering::Release);
                    old.clone()
                }
                None => new,
            })
            .collect();
        Placement { strategy, slots }
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.name == name)
    }

    /// Sets a backend's usage (from the catalog at start).
    pub fn set_usage(&self, name: &str, bytes: u64, objects: u64) {
        if let Some(i) = self.index_of(name) {
            self.slots[i].used_bytes.store(bytes, Ordering::Release);
            self.slots[i].objects.store(objects, Ordering::Release);
        }
    }

    /// Removes bytes from a backend's usage (an overwritten or deleted copy).
    pub fn release_usage(&self, name: &str, bytes: u64, objects: u64) {
        if let Some(i) = self.index_of(name) {
            let s = &self.slots[i];
            let _ = s
                .used_bytes
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                    Some(u.saturating_sub(bytes))
                });
            let _ = s
                .objects
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                    Some(u.saturating_sub(objects))
                });
        }
    }

    /// Adds usage for a copy recorded without a reservation (e.g. found at start).
    pub fn add_usage(&self, name: &str, bytes: u64, objects: u64) {
        if let Some(i) = self.index_of(name) {
            self.slots[i].used_bytes.fetch_add(bytes, Ordering::AcqRel);
            self.slots[i].objects.fetch_add(objects, Ordering::AcqRel);
        }
    }

    /// Candidate backends in the order the strategy prefers them, filtered by `eligible`.
    pub fn candidates(&self, eligible: &dyn Fn(usize) -> bool) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.slots.len()).filter(|&i| eligible(i)).collect();
        if self.strategy == RoutingStrategy::Spread {
            let all_have_quota = idx.iter().all(|&i| self.slots[i].quota_bytes().is_some());
            // Lowest used/quota ratio first; without quotas everywhere, lowest bytes first.
            // Ties keep config order (the sort is stable).
            idx.sort_by(|&a, &b| {
                let (sa, sb) = (&self.slots[a], &self.slots[b]);
                if all_have_quota {
                    let ra = sa.load() as f64 / sa.quota_bytes().unwrap_or(1).max(1) as f64;
                    let rb = sb.load() as f64 / sb.quota_bytes().unwrap_or(1).max(1) as f64;
                    ra.partial_cmp(&rb).unwrap_or(std::cmp::Ordering::Equal)
                } else {
                    sa.load().cmp(&sb.load())
                }
            });
        }
        idx
    }

    /// Reserves `size` bytes on the best eligible backend with room; `None` means no room anywhere
    /// (answered as 507 before any body byte is read).
    pub fn reserve(&self, size: u64, eligible: &dyn Fn(usize) -> bool) -> Option<Reservation> {
        for i in self.candidates(eligible) {
            let slot = &self.slots[i];
            if slot.try_reserve(size) {
                return Some(Reservation {
                    slot: slot.clone(),
                    size,
                    backend_index: i,
                });
            }
        }
        None
    }

    /// Bytes used plus reserved on backend `index`.
    pub fn load_bytes(&self, index: usize) -> u64 {
        self.slots.get(index).map(|s| s.load()).unwrap_or(0)
    }

    /// How full backend `index` is, for balancing: used/quota when every backend has a quota,
    /// else plain bytes (so backends without quotas balance by bytes). `scale` is what one byte
    /// adds to the value, to judge whether a move overshoots.
    pub fn fullness(&self, index: usize) -> (f64, f64) {
        let all_quota = self.slots.iter().all(|s| s.quota_bytes().is_some());
        let load = self.load_bytes(index) as f64;
        match (
            all_quota,
            self.slots.get(index).and_then(|s| s.quota_bytes()),
        ) {
            (true, Some(q)) => (load / q.max(1) as f64, 1.0 / q.max(1) as f64),
            _ => (load, 1.0),
        }
    }

    /// Whether backend `index` could take `size` more bytes right now.
    pub fn has_room(&self, index: usize, size: u64) -> bool {
        self.slots.get(index).is_some_and(|s| {
            s.quota_bytes()
                .is_none_or(|q| s.load().saturating_add(size) <= q)
        })
    }

    /// Holds `size` bytes on backend `index` whatever its quota says: for bytes a backend
    /// already stores and that must count again, such as the parts of uploads in progress found
    /// in the catalog at start. `None` only if there is no such backend.
    pub fn hold_on(&self, index: usize, size: u64) -> Option<Reservation> {
        let slot = self.slots.get(index)?;
        slot.reserved_bytes.fetch_add(size, Ordering::AcqRel);
        Some(Reservation {
            slot: slot.clone(),
            size,
            backend_index: index,
        })
    }

    /// Reserves on a specific backend (multipart parts go to the upload's backend).
    pub fn reserve_on(&self, index: usize, size: u64) -> Option<Reservation> {
        let slot = self.slots.get(index)?;
        if slot.try_reserve(size) {
            Some(Reservation {
                slot: slot.clone(),
                size,
                backend_index: index,
            })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(strategy: RoutingStrategy, quotas: &[Option<u64>]) -> Placement {
        let b: Vec<(String, Option<u64>)> = quotas
            .iter()
            .enumerate()
            .map(|(i, q)| (format!("b{i}"), *q))
            .collect();
        Placement::new(strategy, &b)
    }

    #[test]
    fn spread_balances_by_ratio() {
        let pl = p(RoutingStrategy::Spread, &[Some(1000), Some(2000)]);
        let mut placed = [0u64; 2];
        for _ in 0..30 {
            let r = pl.reserve(50, &|_| true).expect("room");
            placed[r.backend_index] += 50;
            r.commit(true);
        }
        // 1500 bytes over quotas 1000:2000 → ratios equal at 500:1000.
        assert_eq!(placed, [500, 1000]);
    }

    #[test]
    fn pack_fills_in_order_then_overflows() {
        let pl = p(RoutingStrategy::Pack, &[Some(100), Some(100)]);
        let names: Vec<usize> = (0..4)
            .map(|_| {
                let r = pl.reserve(50, &|_| true).expect("room");
                let i = r.backend_index;
                r.commit(true);
                i
            })
            .collect();
        assert_eq!(names, vec![0, 0, 1, 1]);
        assert!(pl.reserve(1, &|_| true).is_none(), "full everywhere");
    }

    #[test]
    fn reservations_count_against_quota_until_released() {
        let pl = p(RoutingStrategy::Pack, &[Some(100)]);
        let a = pl.reserve(60, &|_| true).expect("room");
        assert!(pl.reserve(60, &|_| true).is_none(), "in-flight bytes count");
        drop(a);
        assert!(pl.reserve(60, &|_| true).is_some(), "released on drop");
    }

    #[test]
    fn concurrent_reservations_never_overshoot() {
        let pl = Arc::new(p(RoutingStrategy::Spread, &[Some(10_000), Some(10_000)]));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let pl = pl.clone();
                std::thread::spawn(move || {
                    let mut ok = 0u64;
                    for _ in 0..1000 {
                        if let Some(r) = pl.reserve(7, &|_| true) {
                            r.commit(true);
                            ok += 7;
                        }
                    }
                    ok
                })
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().expect("thread")).sum();
        let used: u64 = pl
            .slots
            .iter()
            .map(|s| s.used_bytes.load(Ordering::SeqCst))
            .sum();
        assert_eq!(total, used);
        for s in &pl.slots {
            assert!(s.used_bytes.load(Ordering::SeqCst) <= 10_000);
        }
    }

    #[test]
    fn ineligible_backends_are_skipped() {
        let pl = p(RoutingStrategy::Pack, &[None, None]);
        let r = pl.reserve(1, &|i| i == 1).expect("room");
        assert_eq!(r.backend(), "b1");
    }
}
