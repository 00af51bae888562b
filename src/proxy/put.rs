//! PutObject: one verified body streamed to the chosen backend, committed durably.

use super::{RequestCtx, Response};
use crate::backend::Integrity;
use crate::backend::{backend_key, ObjectMeta};
use crate::catalog::{Copy, CopyState, ObjectRecord};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::quote_etag;
use crate::server::body::BodyReader;
use crate::util::clock::now_ms;

/// S3's largest single PUT (5 GiB); larger objects need multipart.
pub const MAX_SINGLE_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;

pub async fn handle_put_object(
    ctx: &RequestCtx<'_>,
    body: &mut BodyReader<'_>,
) -> S3Result<Response> {
    let bucket = ctx.bucket()?;
    let key = ctx.key()?;
    let size = body
        .decoded_len()
        .ok_or_else(|| S3Error::new(S3ErrorCode::MissingContentLength))?;
    if size > MAX_SINGLE_PUT_BYTES {
        return Err(S3Error::new(S3ErrorCode::EntityTooLarge));
    }
    let meta = ObjectMeta::from_headers(ctx.head)?;
    let integrity = Integrity::from_request(ctx.head, &ctx.auth);
    let app = &ctx.app;
    let _in_flight = super::write::charge_in_flight(ctx, size)?;
    let _guard = app.key_locks.lock(bucket, key).await;
    // Under the key lock and before the backend sees a byte: see `write_conditions`.
    super::write_conditions::check_current(ctx, bucket, key)?;
    let bkey = backend_key(bucket, key);
    let (reservation, writer) =
        super::write::begin_write(ctx, size, &bkey, &meta, &integrity).await?;
    let backend_name = reservation.backend().to_owned();
    let etag = super::write::stream_body(ctx, body, writer).await?;
    let summary = body.summary().copied();
    let mut record = ObjectRecord {
        size,
        etag,
        last_modified_ms: now_ms(),
        copies: vec![Copy {
            backend: backend_name,
            backend_key: bkey,
            state: CopyState::Complete,
        }],
        ..Default::default()
    };
    meta.apply_to(&mut record);
    if let Some(s) = &summary {
        record.checksum = s
            .checksum
            .as_ref()
            .map(|(alg, value)| (alg.header_name().to_owned(), value.to_b64()));
    }
    let checksum = record.checksum.clone();
    let etag = record.etag.clone();
    super::write::commit_new_object(app, bucket, key, record, reservation).await?;
    let mut r = Response::new(200);
    r.header("ETag", quote_etag(&etag));
    if let Some((name, value)) = checksum {
        r.header(name, value);
    }
    Ok(r)
}
