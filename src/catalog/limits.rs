//! The catalog's size limits and the checks the [`Catalog`](super::Catalog) handle applies to
//! writes before any store sees them.

use super::{CatalogError, Result};

/// Longest object key S3 allows (bytes of UTF-8).
pub(crate) const MAX_OBJECT_KEY_LEN: usize = 1024;

/// Longest bucket (and backend) name accepted. The fjall key encoding holds a bucket name's
/// length in one byte; S3 names are at most 63 bytes, so real names always fit.
pub(crate) const MAX_BUCKET_NAME_LEN: usize = 255;

/// Longest upload id accepted; ours are short, this only bounds key size.
pub(crate) const MAX_UPLOAD_ID_LEN: usize = 255;

/// Largest listing page: S3's own `max-keys` ceiling. Also caps `scan_objects`.
pub const MAX_LIST_KEYS: usize = 1000;

/// Most bucket names one `data_buckets` call returns. The walk seeks once per distinct bucket,
/// so it costs one read per bucket, not per object; a deployment has tens or hundreds of buckets,
/// and at 255 bytes a name the cap bounds the answer to a few MiB.
pub const MAX_DATA_BUCKETS: usize = 10_000;

/// Most queue items one `queue_peek` returns: bounds the memory of one call.
pub const MAX_QUEUE_PEEK: usize = 1000;

/// Most replication intents one put may queue: more than any sane replication
/// factor, small enough that a bad argument cannot flood the queue.
pub(crate) const MAX_REPLICATE_INTENTS: u32 = 16;

/// How long a completed multipart upload's answer is kept for a retried
/// CompleteMultipartUpload (1 hour). A client whose Complete succeeded but whose answer was lost
/// (a timeout, a dropped connection) sends the same request again; the SDKs retry within
/// seconds to minutes (standard mode: a few attempts, backoff capped at 20 s, each attempt
/// bounded by a read timeout of about a minute), and a Complete of many parts on a slow backend
/// can itself take minutes. An hour covers every SDK's retry window with a wide margin, and
/// bounds what is kept to the completions of one hour (about 100 bytes each plus the key).
pub const COMPLETED_UPLOAD_RETENTION_MS: i64 = 60 * 60 * 1000;

/// Most expired completed-upload answers one completion removes. Each completion adds one
/// answer and removes up to two that are past [`COMPLETED_UPLOAD_RETENTION_MS`], so expired
/// answers never pile up and a completion's batch stays small.
pub(crate) const MAX_COMPLETED_PURGE_PER_WRITE: usize = 2;

/// Fails when a bucket name is longer than [`MAX_BUCKET_NAME_LEN`].
pub(crate) fn check_bucket(bucket: &str) -> Result<()> {
    if bucket.len() > MAX_BUCKET_NAME_LEN {
        return Err(CatalogError::InvalidInput("bucket name too long"));
    }
    Ok(())
}

/// Fails when an object key is longer than S3 allows.
pub(crate) fn check_key(key: &str) -> Result<()> {
    if key.len() > MAX_OBJECT_KEY_LEN {
        return Err(CatalogError::InvalidInput("object key too long"));
    }
    Ok(())
}

/// Fails when a put asks for more than [`MAX_REPLICATE_INTENTS`] replication intents.
pub(crate) fn check_replicate(n: u32) -> Result<()> {
    if n > MAX_REPLICATE_INTENTS {
        return Err(CatalogError::InvalidInput("too many replication intents"));
    }
    Ok(())
}

/// Fails when an upload id is empty or longer than [`MAX_UPLOAD_ID_LEN`].
pub(crate) fn check_upload_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_UPLOAD_ID_LEN {
        return Err(CatalogError::InvalidInput("upload id empty or too long"));
    }
    Ok(())
}

/// Fails when a backend name is empty or longer than [`MAX_BUCKET_NAME_LEN`].
pub(crate) fn check_backend(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_BUCKET_NAME_LEN {
        return Err(CatalogError::InvalidInput("backend name empty or too long"));
    }
    Ok(())
}
