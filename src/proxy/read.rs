//! The read path: open a copy of an object, trying copies in order and moving on transparently
//! when a backend cannot serve before the first byte reaches the client.

use super::object::ByteRange;
use super::RequestCtx;
use crate::backend::ObjectStream;
use crate::catalog::ObjectRecord;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

pub async fn open_object(
    ctx: &RequestCtx<'_>,
    rec: &ObjectRecord,
    range: Option<ByteRange>,
) -> S3Result<ObjectStream> {
    let app = &ctx.app;
    let mut last_err: Option<S3Error> = None;
    let mut from: Option<&str> = None;
    for copy in rec.complete_copies() {
        let Some(backend) = app.backend_by_name(&copy.backend) else {
            continue;
        };
        if !app.readable(backend.index) {
            continue;
        }
        match backend
            .get(&ctx.shard.backend_ctx(), &copy.backend_key, range, rec)
            .await
        {
            Ok(stream) => {
                if let Some(prev) = from {
                    tracing::info!(
                        request_id = ctx.request_id,
                        bucket = ctx.route.bucket.as_deref().unwrap_or(""),
                        key = ctx.route.key.as_deref().unwrap_or(""),
                        from = prev,
                        to = backend.name,
                        reason = last_err
                            .as_ref()
                            .map(|e| e.message.to_string())
                            .unwrap_or_default(),
                        "read failover"
                    );
                }
                return Ok(stream);
            }
            Err(e) => {
                tracing::warn!(request_id = ctx.request_id, backend = backend.name, error = %e, "copy unreadable");
                from.get_or_insert(backend.name.as_str());
                last_err = Some(e);
            }
        }
    }
    Err(S3Error::backend(
        S3ErrorCode::ServiceUnavailable,
        match last_err {
            Some(e) => format!("no copy of the object could be read: {}", e.message),
            None => "no readable copy of the object".to_owned(),
        },
    ))
}
