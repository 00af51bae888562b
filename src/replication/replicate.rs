//! Making the copies `replication.factor` asks for, from the durable replication queue.
//!
//! One queue item says "object (bucket, key) at generation G needs one more copy". The worker
//! re-reads the catalog under the object's write lock: a stale generation (overwritten or deleted
//! since) or an object that already has enough copies is simply acknowledged. Otherwise it picks a
//! target with the routing strategy among healthy backends with room that hold no copy yet,
//! streams the object from a healthy holder (never buffering it whole), records the copy for that
//! generation, and only then acknowledges the item. A crash at any point leaves the item queued
//! (the copy is redone; a half-written copy was never recorded, and a recorded copy makes the
//! redo a no-op), so nothing is lost or counted twice.

use super::retry::{Backoff, Retries};
use super::BackgroundShard;
use crate::backend::ObjectMeta;
use crate::backend::{Backend, Integrity};
use crate::catalog::{
    AddCopyOutcome, Copy, CopyState, ObjectRecord, QueueId, QueueItem, QueueKind,
};
use crate::state::App;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// First retry delay of a failed copy; doubles per failure up to [`MAX_COPY_BACKOFF`].
pub(crate) const FIRST_COPY_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between retries of one copy (a backend that stays full or down).
pub(crate) const MAX_COPY_BACKOFF: Duration = Duration::from_secs(120);

/// How a failed copy backs off.
const COPY_BACKOFF: Backoff = Backoff {
    first: FIRST_COPY_BACKOFF,
    max: MAX_COPY_BACKOFF,
};

/// How often the pending gauge is recounted (a walk over the queue's keys).
pub(crate) const PENDING_RECOUNT: Duration = Duration::from_secs(2);

#[derive(Default)]
pub(crate) struct ReplicateState {
    /// Failed items waiting out their backoff.
    retry: Retries,
    last_count: std::cell::Cell<Option<Instant>>,
}

/// Whether a copy on backend `index` counts toward the factor: the backend is configured, not
/// being drained, and has not been down longer than `replication.unhealthy_threshold`.
pub(crate) fn counts(app: &App, backend: &str) -> bool {
    app.backend_by_name(backend)
        .is_some_and(|b| !app.long_down(b.index) && !app.is_draining(b.index))
}

/// Copies of `rec` that count toward the factor.
pub(crate) fn effective_copies(app: &App, rec: &ObjectRecord) -> usize {
    rec.complete_copies()
        .filter(|c| counts(app, &c.backend))
        .count()
}

/// What one queue item came to.
enum Outcome {
    /// Nothing (more) to do: acknowledge.
    Done,
    /// A copy was made and recorded.
    Copied { health: bool },
    /// Try again later.
    Retry(String),
}

/// One pass over the replication queue; returns the number of items finished.
pub(crate) async fn run_once(bg: &Rc<BackgroundShard>) -> usize {
    let app = &bg.app();
    let cfg = &app.config().replication;
    let items = match app.catalog.queue_peek(QueueKind::Replicate, cfg.batch_size) {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the replication queue");
            return 0;
        }
    };
    let now = Instant::now();
    recount_pending(bg, app, now);
    let due = due_items(bg, items, now);
    let mut done = 0;
    for chunk in due.chunks(cfg.concurrency.max(1)) {
        // In item order, each outcome as soon as its copy ends (later ones may still be running).
        for t in spawn_copies(bg, chunk) {
            let (id, outcome) = t.await;
            done += settle(bg, app, id, outcome).await;
        }
    }
    done
}

/// Recounts `s3o_replication_pending` when the last count is older than [`PENDING_RECOUNT`].
fn recount_pending(bg: &BackgroundShard, app: &App, now: Instant) {
    if bg
        .replicate
        .last_count
        .get()
        .is_none_or(|t| now.duration_since(t) >= PENDING_RECOUNT)
    {
        bg.replicate.last_count.set(Some(now));
        if let Ok(n) = app.catalog.queue_len(QueueKind::Replicate) {
            crate::metrics::global()
                .replication_pending
                .store(n, Ordering::Relaxed);
        }
    }
}

/// The items not waiting out a retry backoff.
fn due_items(
    bg: &BackgroundShard,
    items: Vec<(QueueId, QueueItem)>,
    now: Instant,
) -> Vec<(QueueId, QueueItem)> {
    items
        .into_iter()
        .filter(|(id, _)| bg.replicate.retry.is_due(*id, now))
        .collect()
}

/// Starts one copy task per item in the replication task queue (an item whose task cannot be
/// spawned is left queued for the next pass).
fn spawn_copies(
    bg: &Rc<BackgroundShard>,
    chunk: &[(QueueId, QueueItem)],
) -> Vec<glommio::Task<(QueueId, Outcome)>> {
    let mut tasks = Vec::with_capacity(chunk.len());
    for (id, item) in chunk.iter().cloned() {
        let bg2 = bg.clone();
        let task = glommio::spawn_local_into(
            async move { (id, process(&bg2, &item).await) },
            bg.replication_queue,
        );
        match task {
            Ok(t) => tasks.push(t),
            Err(e) => tracing::error!(error = %e, "cannot spawn a replication task"),
        }
    }
    tasks
}

/// Records what one item came to: counts a copy, acknowledges a finished item, or schedules a
/// retry. Returns 1 if the item was acknowledged.
async fn settle(bg: &BackgroundShard, app: &App, id: QueueId, outcome: Outcome) -> usize {
    match outcome {
        Outcome::Done | Outcome::Copied { .. } => {
            if let Outcome::Copied { health } = outcome {
                count_copy(health);
            }
            bg.replicate.retry.forget(id);
            match app.catalog.queue_ack(id).await {
                Ok(_) => 1,
                Err(e) => {
                    tracing::error!(error = %e, "cannot acknowledge a replication item");
                    0
                }
            }
        }
        Outcome::Retry(reason) => {
            schedule_retry(bg, id, reason);
            0
        }
    }
}

fn count_copy(health: bool) {
    let g = crate::metrics::global();
    g.replication_copies_created_total
        .fetch_add(1, Ordering::Relaxed);
    if health {
        g.replication_health_copies_total
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts the failure and backs the item off: [`FIRST_COPY_BACKOFF`] doubled per failure, at
/// most [`MAX_COPY_BACKOFF`].
fn schedule_retry(bg: &BackgroundShard, id: QueueId, reason: String) {
    crate::metrics::global()
        .replication_errors_total
        .fetch_add(1, Ordering::Relaxed);
    let (attempts, backoff) = bg.replicate.retry.failed(id, Instant::now(), COPY_BACKOFF);
    tracing::warn!(
        attempts,
        retry_in_s = backoff.as_secs(),
        reason,
        "replication copy failed; will retry"
    );
}

async fn process(bg: &BackgroundShard, item: &QueueItem) -> Outcome {
    let QueueItem::Replicate {
        bucket,
        key,
        generation,
    } = item
    else {
        return Outcome::Done;
    };
    let app = &bg.app();
    bg.scan.forget(bucket, key);
    let _guard = app.key_locks.lock(bucket, key).await;
    let rec = match app.catalog.get_object(bucket, key) {
        Ok(Some(r)) if r.generation == *generation => r,
        Ok(_) => return Outcome::Done, // deleted or overwritten: that version needs no copies
        Err(e) => return Outcome::Retry(format!("catalog: {e}")),
    };
    let factor = app.config().replication.factor;
    let have = effective_copies(app, &rec);
    if have >= factor {
        return Outcome::Done;
    }
    // A copy made while another copy sits on a long-dead backend is a health copy (the guide's
    // s3o_replication_health_copies_total).
    let health = rec.complete_copies().any(|c| !counts(app, &c.backend));
    match copy_to_new_backend(bg, bucket, key, &rec, None).await {
        Ok(true) => Outcome::Copied { health },
        Ok(false) => Outcome::Done,
        Err(e) => Outcome::Retry(e),
    }
}

/// Copies `rec` to one more backend (the strategy's choice, or `only`) and records it.
/// `Ok(false)`: the record changed meanwhile. The caller holds the object's write lock.
pub(crate) async fn copy_to_new_backend(
    bg: &BackgroundShard,
    bucket: &str,
    key: &str,
    rec: &ObjectRecord,
    only: Option<usize>,
) -> Result<bool, String> {
    let app = &bg.app();
    let holds = |i: usize| rec.copies.iter().any(|c| c.backend == app.backends[i].name);
    let eligible = |i: usize| app.writable(i) && !app.long_down(i) && !holds(i);
    let reservation = match only {
        Some(i) if eligible(i) => app.placement.reserve_on(i, rec.size),
        Some(_) => None,
        None => app.placement.reserve(rec.size, &eligible),
    }
    .ok_or_else(|| "no healthy backend with room that lacks a copy".to_owned())?;
    let target = &app.backends[reservation.backend_index];
    let backend_key = crate::backend::backend_key(bucket, key);
    let etag = stream_copy(bg, rec, target, &backend_key).await?;
    let copy = Copy {
        backend: target.name.clone(),
        backend_key,
        state: CopyState::Complete,
    };
    match app
        .catalog
        .add_copy(bucket, key, rec.generation, copy)
        .await
    {
        Ok(AddCopyOutcome::Added) => {
            reservation.commit(true);
            tracing::info!(bucket, key, backend = target.name, etag, "replica created");
            app.wake_background();
            Ok(true)
        }
        // The catalog queued a cleanup for the bytes we wrote; the reservation is released.
        Ok(AddCopyOutcome::Superseded) => Ok(false),
        Err(e) => Err(format!("catalog: {e}")),
    }
}

/// Streams the object from a readable holder to `target`, throttled.
async fn stream_copy(
    bg: &BackgroundShard,
    rec: &ObjectRecord,
    target: &Backend,
    backend_key: &str,
) -> Result<String, String> {
    let app = &bg.app();
    let ctx = bg.backend_ctx();
    let mut last = String::from("no readable copy");
    for c in rec.complete_copies() {
        let Some(src) = app.backend_by_name(&c.backend) else {
            continue;
        };
        if !app.readable(src.index) {
            continue;
        }
        let mut stream = match src.get(&ctx, &c.backend_key, None, rec).await {
            Ok(s) => s,
            Err(e) => {
                last = format!("reading from {}: {e}", src.name);
                continue;
            }
        };
        let meta = ObjectMeta::from_record(rec);
        let writer = target
            .begin_put(&ctx, backend_key, rec.size, &meta, &Integrity::default())
            .await
            .map_err(|e| format!("writing to {}: {e}", target.name))?;
        return crate::backend::pump::pump(&mut stream, writer, rec.size, &bg.throttle)
            .await
            .map_err(|e| e.log_text().to_owned());
    }
    Err(last)
}
