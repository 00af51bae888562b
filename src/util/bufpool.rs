//! A per-thread pool of fixed-size byte buffers, so streaming a body reuses the same few buffers
//! instead of allocating per request. Each shard is one thread, so a thread-local pool is a
//! per-shard pool with no locking.

use std::cell::RefCell;

/// Buffers kept per thread. Enough for the concurrent transfers of a busy shard without holding
/// memory that a burst left behind: 256 × 64 KiB = 16 MiB at most per shard.
pub const MAX_POOLED_BUFFERS: usize = 256;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A zeroed-once buffer of exactly `size` bytes (len == size).
pub fn take(size: usize) -> Vec<u8> {
    let reused = POOL.with(|p| {
        let mut p = p.borrow_mut();
        let pos = p.iter().rposition(|b| b.len() == size)?;
        Some(p.swap_remove(pos))
    });
    reused.unwrap_or_else(|| vec![0u8; size])
}

/// Returns a buffer to this thread's pool.
pub fn give(buf: Vec<u8>) {
    if buf.is_empty() {
        return;
    }
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < MAX_POOLED_BUFFERS {
            p.push(buf);
        }
    });
}

/// Number of pooled buffers on this thread (for tests and metrics).
pub fn pooled() -> usize {
    POOL.with(|p| p.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused() {
        let b = take(1024);
        let ptr = b.as_ptr();
        give(b);
        let again = take(1024);
        assert_eq!(again.as_ptr(), ptr);
        assert_eq!(again.len(), 1024);
        give(again);
        let other = take(2048);
        assert_eq!(other.len(), 2048);
        assert_eq!(pooled(), 1);
    }
}
