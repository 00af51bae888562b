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
