//! Deleting unreferenced backend copies from the durable cleanup queue.

use super::retry::{Backoff, Retries};
use super::BackgroundShard;
use crate::catalog::{QueueItem, QueueKind};
use std::time::{Duration, Instant};

/// Items taken from the queue per pass.
pub(crate) const CLEANUP_BATCH: usize = 64;
/// First retry delay of a failed delete; doubles per failure up to [`CLEANUP_MAX_BACKOFF`].
pub(crate) const CLEANUP_FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// A backend that stays down is retried at least this often.
pub(crate) const CLEANUP_MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How a failed delete backs off.
const CLEANUP_BACKOFF: Backoff = Backoff {
    first: CLEANUP_FIRST_BACKOFF,
    max: CLEANUP_MAX_BACKOFF,
};

#[derive(Default)]
pub(crate) struct CleanupState {
    /// Failed items waiting out their backoff.
    retry: Retries,
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
        if !bg.cleanup.retry.is_due(id, now) {
            continue;
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
                bg.cleanup.retry.forget(id);
                if let Err(e) = app.catalog.queue_ack(id).await {
                    tracing::error!(error = %e, "cannot acknowledge a cleanup");
                } else {
                    done += 1;
                }
            }
            Err(e) => {
                let (attempts, backoff) = bg.cleanup.retry.failed(id, now, CLEANUP_BACKOFF);
                tracing::warn!(backend, attempts, retry_in_s = backoff.as_secs(), error = %e, "cleanup failed; will retry");
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
    // Backend keys are `<bucket>/<escaped key>`, or `<bucket>/<key>` verbatim when written before
    // the escape: check every object the name may belong to, holding each one's write lock so no
    // write of it is between "backend stored" and "catalog updated" while we look.
    let mut owners = crate::backend::naming::owners_of(backend_key);
    owners.sort();
    let mut guards = Vec::with_capacity(owners.len());
    for (bucket, key) in &owners {
        guards.push(app.key_locks.lock(bucket, key).await);
        let live = app
            .catalog
            .get_object(bucket, key)
            .map_err(|e| e.to_string())?
            .is_some_and(|rec| rec.copy_at(backend, backend_key).is_some());
        if live {
            return Ok(());
        }
    }
    b.delete(&bg.backend_ctx(), backend_key)
        .await
        .map_err(|e| e.to_string())
}
