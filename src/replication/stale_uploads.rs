//! Expiring stale multipart uploads: an upload initiated longer ago than
//! `cleanup_queue.multipart_stale_timeout` is abandoned. It is aborted at its backend (which
//! deletes its parts there), its catalog record and per-part records are removed, and the quota
//! its parts reserved is released, so a client that walked away does not hold backend space, or a
//! place under `buckets[].max_multipart_uploads`, for ever.
//!
//! A sweep walks every bucket that holds data, its uploads in listing order, from a cursor kept
//! here: each step handles at most [`STALE_UPLOADS_PER_STEP`] uploads and the next step resumes
//! after the last one, so a sweep never starves the copies that share this shard, and an upload
//! whose backend refuses the abort is retried at the next sweep, not in a loop.

use super::BackgroundShard;
use crate::catalog::{MultipartQuery, MultipartRecord, MAX_LIST_KEYS};
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// Uploads examined per step (listing page size too): bounds how long one step keeps the shard
/// from its other work, as `cleanup::CLEANUP_BATCH` does for deletes.
pub(crate) const STALE_UPLOADS_PER_STEP: usize = 64;
/// Shortest time between sweeps, whatever the timeout: each sweep reads every bucket's uploads.
pub(crate) const MIN_SWEEP_INTERVAL: Duration = Duration::from_secs(1);
/// Longest time between sweeps: the Go project sweeps hourly; an upload is at most this late.
pub(crate) const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(60 * 60);
/// A sweep every quarter of the timeout: an upload is aborted at most a quarter of its timeout
/// late (and within the bounds above).
const SWEEP_FRACTION: u32 = 4;

/// How often uploads are swept for a given `multipart_stale_timeout`.
pub(crate) fn sweep_interval(timeout: Duration) -> Duration {
    (timeout / SWEEP_FRACTION).clamp(MIN_SWEEP_INTERVAL, MAX_SWEEP_INTERVAL)
}

/// Where the sweep in progress is: the buckets still to visit (the current one first) and the
/// last upload examined in the current bucket.
struct Cursor {
    buckets: Vec<String>,
    after: Option<(String, String)>,
}

#[derive(Default)]
pub(crate) struct StaleUploadsState {
    /// When the next sweep starts (`None`: one interval after start-up).
    next_sweep: RefCell<Option<Instant>>,
    /// The sweep in progress, if any.
    cursor: RefCell<Option<Cursor>>,
}

/// One step of the sweep: starts one when due, then examines up to [`STALE_UPLOADS_PER_STEP`]
/// uploads. Returns how many uploads it aborted.
pub(crate) async fn run_step(bg: &BackgroundShard) -> usize {
    let app = bg.app();
    let timeout = app.config().cleanup_queue.multipart_stale_timeout;
    let now = Instant::now();
    let state = &bg.stale_uploads;
    if state.cursor.borrow().is_none() {
        let due = *state
            .next_sweep
            .borrow_mut()
            .get_or_insert(now + sweep_interval(timeout));
        if now < due {
            return 0;
        }
        let buckets = match app.catalog.data_buckets() {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "stale uploads: cannot list the buckets");
                *state.next_sweep.borrow_mut() = Some(now + sweep_interval(timeout));
                return 0;
            }
        };
        *state.cursor.borrow_mut() = Some(Cursor {
            buckets,
            after: None,
        });
    }
    let cutoff_ms = crate::util::clock::now_ms()
        .saturating_sub(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX));
    let Some(batch) = next_batch(bg) else {
        *state.cursor.borrow_mut() = None;
        *state.next_sweep.borrow_mut() = Some(now + sweep_interval(timeout));
        return 0;
    };
    let mut aborted = 0;
    for upload in batch.iter().filter(|u| u.initiated_ms <= cutoff_ms) {
        match expire(bg, upload).await {
            Ok(()) => aborted += 1,
            Err(e) => {
                tracing::warn!(bucket = upload.bucket, upload_id = upload.upload_id, backend = upload.backend, error = %e, "stale upload not aborted; retried at the next sweep");
            }
        }
    }
    // Something was examined: report progress so the shard runs the next step soon.
    aborted.max(1)
}

/// The next uploads of the sweep in progress (moving on to the next bucket when one is done);
/// `None` when the sweep has visited every bucket.
fn next_batch(bg: &BackgroundShard) -> Option<Vec<MultipartRecord>> {
    let app = bg.app();
    let mut guard = bg.stale_uploads.cursor.borrow_mut();
    let cursor = guard.as_mut()?;
    loop {
        let bucket = cursor.buckets.first()?.clone();
        let (key_marker, upload_id_marker) = cursor.after.clone().unzip();
        let query = MultipartQuery {
            key_marker,
            upload_id_marker,
            max_uploads: STALE_UPLOADS_PER_STEP.min(MAX_LIST_KEYS),
            ..Default::default()
        };
        let page = match app.catalog.list_multipart(&bucket, &query) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(bucket, error = %e, "stale uploads: cannot list the bucket's uploads");
                Default::default()
            }
        };
        match page.uploads.last() {
            Some(last) if page.is_truncated => {
                cursor.after = Some((last.key.clone(), last.upload_id.clone()));
            }
            _ => {
                cursor.buckets.remove(0);
                cursor.after = None;
            }
        }
        if !page.uploads.is_empty() {
            return Some(page.uploads);
        }
    }
}

/// Aborts one upload at its backend, then forgets it: catalog record and parts, reservations.
async fn expire(bg: &BackgroundShard, upload: &MultipartRecord) -> Result<(), String> {
    let app = bg.app();
    if let Some(backend) = app.backend_by_name(&upload.backend) {
        backend
            .abort_multipart(
                &bg.backend_ctx(),
                &upload.backend_key,
                &upload.backend_upload_id,
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    // A backend taken out of the config holds nothing we can reach: only the records go.
    app.catalog
        .delete_multipart(&upload.upload_id)
        .await
        .map_err(|e| e.to_string())?;
    app.uploads.release(&upload.upload_id);
    tracing::info!(
        bucket = upload.bucket,
        upload_id = upload.upload_id,
        backend = upload.backend,
        "stale multipart upload aborted"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_every_quarter_timeout_within_bounds() {
        assert_eq!(sweep_interval(Duration::from_secs(2)), MIN_SWEEP_INTERVAL);
        assert_eq!(
            sweep_interval(Duration::from_secs(40)),
            Duration::from_secs(10)
        );
        assert_eq!(
            sweep_interval(Duration::from_secs(24 * 3600)),
            MAX_SWEEP_INTERVAL
        );
    }
}
