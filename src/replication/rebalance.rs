//! Rebalancing under `spread`: when backends' fullness differs by more than
//! `rebalance.threshold` (typically right after a backend was added), the scan moves copies from
//! the fullest backend holding an object to the emptiest one that does not, one object at a time,
//! throttled like replication. A move is a copy (recorded for the object's generation) followed
//! by dropping the old copy, whose bytes the cleanup worker then deletes; a crash in between
//! leaves one extra copy that the next scan trims.

use super::replicate::{copy_to_new_backend, counts};
use super::BackgroundShard;
use crate::catalog::ObjectRecord;
use crate::state::App;

/// Moves one copy of the object if that narrows the spread without overshooting. Returns whether
/// it moved one.
pub(crate) async fn maybe_move(
    bg: &BackgroundShard,
    bucket: &str,
    key: &str,
    rec: &ObjectRecord,
) -> bool {
    let app = bg.app();
    let Some((from, to)) = pick_move(&app, rec) else {
        return false;
    };
    let _guard = app.key_locks.lock(bucket, key).await;
    let fresh = match app.catalog.get_object(bucket, key) {
        Ok(Some(r)) if r.generation == rec.generation => r,
        _ => return false,
    };
    match copy_to_new_backend(bg, bucket, key, &fresh, Some(to)).await {
        Ok(true) => {}
        Ok(false) => return false,
        Err(e) => {
            tracing::warn!(bucket, key, error = e, "rebalance copy failed");
            return false;
        }
    }
    let Some(old) = fresh
        .copies
        .iter()
        .find(|c| c.backend == app.backends[from].name)
        .cloned()
    else {
        return false;
    };
    match app
        .catalog
        .remove_copy(
            bucket,
            key,
            fresh.generation,
            &old.backend,
            &old.backend_key,
        )
        .await
    {
        Ok(true) => {
            app.placement.release_usage(&old.backend, fresh.size, 1);
            tracing::info!(
                bucket,
                key,
                from = old.backend,
                to = app.backends[to].name,
                "rebalanced a copy"
            );
            true
        }
        Ok(false) => false,
        Err(e) => {
            tracing::error!(error = %e, "rebalance: cannot drop the old copy (the next scan trims it)");
            false
        }
    }
}

/// The move worth making for `rec`, as (from, to) backend indexes: from the fullest backend
/// holding a counted copy to the emptiest usable one with room that holds none, if their
/// fullness differs by more than `rebalance.threshold` and the move does not overshoot.
fn pick_move(app: &App, rec: &ObjectRecord) -> Option<(usize, usize)> {
    let threshold = app.config().rebalance.threshold;
    let pl = &app.placement;
    let holds = |i: usize| rec.copies.iter().any(|c| c.backend == app.backends[i].name);
    let usable = |i: usize| app.writable(i) && !app.long_down(i);
    let from = (0..app.backends.len())
        .filter(|&i| holds(i) && counts(app, &app.backends[i].name))
        .max_by(|&a, &b| pl.fullness(a).0.total_cmp(&pl.fullness(b).0));
    let to = (0..app.backends.len())
        .filter(|&i| !holds(i) && usable(i) && pl.has_room(i, rec.size))
        .min_by(|&a, &b| pl.fullness(a).0.total_cmp(&pl.fullness(b).0));
    let (Some(from), Some(to)) = (from, to) else {
        return None;
    };
    let ((f_full, f_scale), (t_full, t_scale)) = (pl.fullness(from), pl.fullness(to));
    let spread = f_full - t_full;
    // In bytes mode the threshold is relative to the fuller backend.
    let limit = if f_scale == 1.0 {
        threshold * f_full
    } else {
        threshold
    };
    let size = rec.size as f64;
    // Move only while it narrows the gap: after the move `to` must still be no fuller than `from`.
    if spread <= limit || t_full + size * t_scale > f_full - size * f_scale {
        return None;
    }
    Some((from, to))
}
