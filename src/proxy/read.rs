//! The read path: open a copy of an object, trying copies in order and moving on transparently
//! when a backend cannot serve before the first byte reaches the client.
//!
//! Backends whose breaker is open (or probing) and backends that reached a monthly usage limit are
//! skipped without a request. A connect failure, timeout or 5xx (or a missing or wrong-size copy)
//! moves on to the next copy; errors that are the client's own (an unsatisfiable range) are
//! answered at once. Serving from another copy than the first is a failover: logged as one
//! structured event (object, from, to, reason) and counted (`s3o_failover_total`).

use super::RequestCtx;
use crate::backend::ObjectStream;
use crate::catalog::ObjectRecord;
use crate::health::Skip;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result, Side};
use crate::s3::range::ByteRange;

pub async fn open_object(
    ctx: &RequestCtx<'_>,
    rec: &ObjectRecord,
    range: Option<ByteRange>,
) -> S3Result<ObjectStream> {
    let app = ctx.app;
    let bytes = range.map_or(rec.size, |r| r.end - r.start + 1);
    let mut last_err: Option<S3Error> = None;
    // The first backend passed over, and why.
    let mut from: Option<(&str, String)> = None;
    let (mut down, mut over_limit, mut failed) = (0usize, 0usize, 0usize);
    for copy in rec.complete_copies() {
        let Some(backend) = app.backend_by_name(&copy.backend) else {
            continue;
        };
        if let Some(skip) = app.health.read_skip(backend.index, bytes) {
            match skip {
                Skip::Down => down += 1,
                Skip::OverLimit => over_limit += 1,
            }
            from.get_or_insert((backend.name.as_str(), skip.reason().to_owned()));
            continue;
        }
        match backend
            .get(&ctx.shard.backend_ctx(), &copy.backend_key, range, rec)
            .await
        {
            Ok(stream) => {
                if let Some((prev, reason)) = from {
                    // Counted (s3o_failover_total), logged as a structured event and kept for
                    // the dashboard.
                    tracing::debug!(
                        request_id = ctx.request_id,
                        from = prev,
                        to = backend.name,
                        "read failover"
                    );
                    crate::metrics::record_failover(
                        ctx.route.bucket.as_deref().unwrap_or(""),
                        ctx.route.key.as_deref().unwrap_or(""),
                        prev,
                        &backend.name,
                        &reason,
                    );
                }
                return Ok(stream);
            }
            // Reads are idempotent: anything but the request's own fault tries the next copy.
            Err(e) if e.side == Side::Client => return Err(e),
            Err(e) => {
                tracing::warn!(request_id = ctx.request_id, backend = backend.name, error = %e, "copy unreadable");
                failed += 1;
                from.get_or_insert((backend.name.as_str(), e.log_text().to_owned()));
                last_err = Some(e);
            }
        }
    }
    if over_limit > 0 && down == 0 && failed == 0 {
        return Err(S3Error::with_message(
            S3ErrorCode::SlowDown,
            "every copy of the object is on a backend that reached its usage limit",
        ));
    }
    Err(S3Error::backend(
        S3ErrorCode::ServiceUnavailable,
        match last_err {
            Some(e) => format!("no copy of the object could be read: {}", e.log_text()),
            None => "no readable copy of the object".to_owned(),
        },
    ))
}
