//! The write path shared by PutObject, CopyObject and multipart completion: choose a backend
//! with room (failing over before any body byte is sent), stream the verified body, commit the
//! catalog change durably, then settle usage and wake the background workers.

use super::catalog_error;
use super::{App, RequestCtx};
use crate::backend::ObjectMeta;
use crate::backend::{Integrity, PutWriter};
use crate::catalog::ObjectRecord;
use crate::health::Skip;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::server::body::BodyReader;
use crate::state::inflight::InFlightCharge;
use crate::state::placement::Reservation;
use crate::state::WriteSkip;

/// Counts a write of `size` bytes against the caller's access key for as long as the returned
/// charge lives (hold it until the request ends), before anything is reserved on a backend.
///
/// Past `server.max_in_flight_bytes_per_key` the answer is 503 `SlowDown`: it is S3's answer
/// for "too much at once from you", and SDKs retry it with backoff, which is right here, since
/// the key's other uploads finishing (or timing out) frees its share. 507 would tell the
/// client the store is full, which it is not; 403 would not be retried at all.
pub fn charge_in_flight(ctx: &RequestCtx<'_>, size: u64) -> S3Result<InFlightCharge> {
    ctx.app
        .charge_in_flight(&ctx.auth.access_key_id, size)
        .ok_or_else(|| {
            tracing::info!(
                request_id = ctx.request_id,
                access_key = ctx.auth.access_key_id,
                size,
                "refused: the access key's uploads in flight reached server.max_in_flight_bytes_per_key"
            );
            S3Error::with_message(
                S3ErrorCode::SlowDown,
                "too many bytes of uploads in flight for this access key; retry when some finish",
            )
        })
}

/// Reserves room on the best backend and opens the upload there. A backend that fails before
/// any body byte was consumed is skipped for the next eligible one, invisibly to the client.
pub async fn begin_write(
    ctx: &RequestCtx<'_>,
    size: u64,
    backend_key: &str,
    meta: &ObjectMeta,
    integrity: &Integrity,
) -> S3Result<(Reservation, PutWriter)> {
    let app = &ctx.app;
    let mut tried: Vec<usize> = Vec::new();
    loop {
        let reservation = app
            .placement
            .reserve(size, &|i| {
                !tried.contains(&i) && app.write_skip(i, size).is_none()
            })
            .ok_or_else(|| no_backend_error(app, size, &tried))?;
        let backend = &app.backends[reservation.backend_index];
        match backend
            .begin_put(&ctx.shard.backend_ctx(), backend_key, size, meta, integrity)
            .await
        {
            Ok(w) => return Ok((reservation, w)),
            Err(e) if e.retry_elsewhere => {
                tracing::warn!(
                    request_id = ctx.request_id,
                    backend = backend.name,
                    error = %e,
                    "backend refused the upload before the body; trying the next one"
                );
                tried.push(reservation.backend_index);
            }
            Err(e) => return Err(e),
        }
    }
}

/// Why no backend can take a write of `size`: 503 `ServiceUnavailable` when a backend with room
/// is down or refused it (retrying may succeed once it is back), 503 `SlowDown` when the only
/// backends with room reached a usage limit, 507 when none has room.
fn no_backend_error(app: &App, size: u64, tried: &[usize]) -> S3Error {
    if !tried.is_empty() {
        return S3Error::backend(
            S3ErrorCode::ServiceUnavailable,
            "no backend accepted the upload",
        );
    }
    let mut down = false;
    let mut over_limit = false;
    for i in 0..app.backends.len() {
        if !app.placement.has_room(i, size) {
            continue;
        }
        match app.write_skip(i, size) {
            Some(WriteSkip::Health(Skip::Down)) => down = true,
            Some(WriteSkip::Health(Skip::OverLimit)) => over_limit = true,
            // A draining backend's room is not offered: with nothing else, the answer is 507.
            Some(WriteSkip::Draining) | None => {}
        }
    }
    if down {
        S3Error::backend(
            S3ErrorCode::ServiceUnavailable,
            "every backend with room for the object is down",
        )
    } else if over_limit {
        S3Error::with_message(
            S3ErrorCode::SlowDown,
            "every backend with room for the object reached its usage limit",
        )
    } else {
        S3Error::new(S3ErrorCode::InsufficientStorage)
    }
}

/// Streams the verified body into the backend; aborts the upload on any error so nothing
/// partial is committed. Returns the backend's ETag (unquoted).
pub async fn stream_body(
    ctx: &RequestCtx<'_>,
    body: &mut BodyReader<'_>,
    mut writer: PutWriter,
) -> S3Result<String> {
    if !writer.needs_md5() {
        // Hashing (say) 64 MiB with MD5 that nothing uses would only cost CPU.
        body.skip_md5();
    }
    loop {
        match body.next().await {
            Ok(Some(chunk)) => {
                if let Err(e) = writer.write(chunk).await {
                    writer.abort().await;
                    tracing::warn!(request_id = ctx.request_id, error = %e, "backend failed mid-body");
                    return Err(S3Error::backend(
                        S3ErrorCode::ServiceUnavailable,
                        "backend failed during the upload",
                    ));
                }
            }
            Ok(None) => break,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        }
    }
    let md5 = body.summary().and_then(|s| s.md5);
    writer.finish(md5).await
}

/// Makes the new record durable, then moves usage from the reservation and from the record it
/// replaced. Replication intents for the remaining copies are written in the same batch.
pub async fn commit_new_object(
    app: &App,
    bucket: &str,
    key: &str,
    record: ObjectRecord,
    reservation: Reservation,
) -> S3Result<u64> {
    let replicate = app.replication_intents();
    let outcome = app
        .catalog
        .put_object(bucket, key, record, replicate)
        .await
        .map_err(catalog_error)?;
    reservation.commit(true);
    if let Some(prev) = outcome.previous {
        for c in &prev.copies {
            app.placement.release_usage(&c.backend, prev.size, 1);
        }
    }
    app.wake_background();
    Ok(outcome.generation)
}

/// Removes the object from the catalog (copies are deleted from backends by the cleanup worker
/// from the durable queue). Deleting a missing key succeeds, as in S3.
pub async fn delete_object(app: &App, bucket: &str, key: &str) -> S3Result<()> {
    let _guard = app.key_locks.lock(bucket, key).await;
    let removed = app
        .catalog
        .delete_object(bucket, key)
        .await
        .map_err(catalog_error)?;
    if let Some(prev) = removed {
        for c in &prev.copies {
            app.placement.release_usage(&c.backend, prev.size, 1);
        }
        app.wake_background();
    }
    Ok(())
}
