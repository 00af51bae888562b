//! Per-object write serialisation across all shards.
//!
//! Backends store an object under one key (`<virtual bucket>/<key>`), so two writers of the same
//! object on the same backend race at the backend *and* at the catalog, and the two orders could
//! disagree (catalog says A, backend holds B). Holding this lock from "start writing to a
//! backend" to "catalog updated" makes the backend order and the catalog order the same: last
//! writer wins everywhere, and a delete cannot interleave with a write. Writes to different keys
//! never wait on each other; the map is only touched at acquire and release.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct KeyLocks {
    held: Mutex<HashSet<(String, String)>>,
    released: event_listener::Event,
}

/// Held while writing one object; releases on drop.
pub struct KeyGuard {
    locks: Arc<KeyLocks>,
    id: Option<(String, String)>,
}

impl KeyLocks {
    pub fn new() -> Arc<KeyLocks> {
        Arc::new(KeyLocks::default())
    }

    fn try_insert(&self, id: &(String, String)) -> bool {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.contains(id) {
            false
        } else {
            held.insert(id.clone());
            true
        }
    }

    /// Waits until no other writer holds (bucket, key), then holds it.
    pub async fn lock(self: &Arc<Self>, bucket: &str, key: &str) -> KeyGuard {
        let id = (bucket.to_owned(), key.to_owned());
        loop {
            if self.try_insert(&id) {
                return KeyGuard {
                    locks: self.clone(),
                    id: Some(id),
                };
            }
            let listener = self.released.listen();
            // Re-check after registering, or a release in between would be missed.
            if self.try_insert(&id) {
                return KeyGuard {
                    locks: self.clone(),
                    id: Some(id),
                };
            }
            listener.await;
        }
    }

    pub fn is_locked(&self, bucket: &str, key: &str) -> bool {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.contains(&(bucket.to_owned(), key.to_owned()))
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let mut held = self.locks.held.lock().unwrap_or_else(|p| p.into_inner());
            held.remove(&id);
            drop(held);
            self.locks.released.notify(usize::MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_waits_for_the_first() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let locks = KeyLocks::new();
        let acquired = Arc::new(AtomicBool::new(false));
        let g = futures_lite::future::block_on(locks.lock("b", "k"));
        // A different key is independent.
        let other = futures_lite::future::block_on(locks.lock("b", "other"));
        let (tx, rx) = std::sync::mpsc::channel();
        let (l2, a2) = (locks.clone(), acquired.clone());
        let waiter = std::thread::spawn(move || {
            tx.send(()).expect("send");
            let _g2 = futures_lite::future::block_on(l2.lock("b", "k"));
            a2.store(true, Ordering::SeqCst);
        });
        rx.recv().expect("waiter started");
        assert!(!acquired.load(Ordering::SeqCst), "lock taken twice");
        drop(g);
        waiter.join().expect("waiter finished");
        assert!(acquired.load(Ordering::SeqCst));
        drop(other);
        assert!(!locks.is_locked("b", "k"));
        assert!(!locks.is_locked("b", "other"));
    }
}
