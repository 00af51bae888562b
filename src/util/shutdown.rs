//! The process-wide shutdown switch every plane watches.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared shutdown switch: an atomic flag (read on every keep-alive turn) plus an event that wakes
/// accept loops, idle connections and background loops on every thread.
#[derive(Clone, Default)]
pub struct Shutdown {
    flag: Arc<AtomicBool>,
    event: Arc<event_listener::Event>,
}

impl Shutdown {
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.event.notify(usize::MAX);
    }

    pub fn is_triggered(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once shutdown has been triggered.
    pub async fn wait(&self) {
        loop {
            if self.is_triggered() {
                return;
            }
            let listener = self.event.listen();
            if self.is_triggered() {
                return;
            }
            listener.await;
        }
    }
}
