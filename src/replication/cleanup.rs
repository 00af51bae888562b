//! Deleting unreferenced backend copies from the durable cleanup queue.

use super::BackgroundShard;
use crate::catalog::{QueueId, QueueItem, QueueKind};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Items taken from the queue per pass.
pub(crate) const CLEANUP_BATCH: usize = 64;
/// First retry delay of a failed delete; doubles per failure up to [`CLEANUP_MAX_BACKOFF`].
pub(crate) const CLEANUP_FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// A backend that stays down is retried at least this often.
pub(crate) const CLEANUP_MAX_BACKOFF: Duration = Duration::from_secs(300);

#[derive(Default)]
pub(crate) struct CleanupState {
    /// Failed items: attempts so far and when the next attempt is due (in memory: after a
    /// restart everything is retried once at once, which is harmless).
    retry: RefCell<HashMap<QueueId, (u32, Instant)>>,
}

/// One pass over the cleanup queue; returns how many items were completed.
pub(crate) async fn run_once(bg: &BackgroundShard) -> usize {
    let app = &bg.app();
    let items = match app.catalog.queue_peek(QueueKind::Cleanup, CLEANUP_BATCH) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the cleanup queue");
            return 0;
        }
    };
    let mut done = 0;
    let now = Instant::now();
    for (id, item) in items {
        if let Some((_, due)) = bg.cleanup.retry.borrow().get(&id) {
            if *due > now {
                continue;
            }
        }
        let QueueItem::Cleanup {
            backend,
            backend_key,
            ..
        } = &item
        else {
            continue;
        };
        match cleanup_one(bg, backend, backend_key).await {
            Ok(()) => {
                bg.cleanup.retry.borrow_mut().remove(&id);
                if let Err(e) = app.catalog.queue_ack(id).await {
                    tracing::error!(error = %e, "cannot acknowledge a cleanup");
                } else {
                    done += 1;
                }
            }
            Err(e) => {
                let mut retry = bg.cleanup.retry.borrow_mut();
                let entry = retry.entry(id).or_insert((0, now));
                entry.0 += 1;
                let backoff = CLEANUP_FIRST_BACKOFF
                    .saturating_mul(1u32 << entry.0.min(16))
                    .min(CLEANUP_MAX_BACKOFF);
                entry.1 = now + backoff;
                tracing::warn!(backend, attempts = entry.0, retry_in_s = backoff.as_secs(), error = %e, "cleanup failed; will retry");
            }
        }
    }
    done
}

async fn cleanup_one(bg: &BackgroundShard, backend: &str, backend_key: &str) -> Result<(), String> {
    let app = &bg.app();
    let Some(b) = app.backend_by_name(backend) else {
        // The backend was removed from the config: nothing we can delete there any more.
        return Ok(());
    };
    // Backend keys are `<bucket>/<key>`; take the object's write lock so no write of the same
    // key is between "backend stored" and "catalog updated" while we look.
    let (bucket, key) = backend_key.split_once('/').unwrap_or((backend_key, ""));
    let _guard = app.key_locks.lock(bucket, key).await;
    let live = app
        .catalog
        .get_object(bucket, key)
        .map_err(|e| e.to_string())?
        .is_some_and(|rec| rec.copy_at(backend, backend_key).is_some());
    if live {
        return Ok(());
    }
    b.delete(&bg.backend_ctx(), backend_key)
        .await
        .map_err(|e| e.to_string())
}
