//! The interface a catalog store implements; callers reach it only through the
//! [`Catalog`](super::Catalog) handle. The contract every method must keep is in the module
//! documentation of `catalog` (durability, atomicity, ordering, queue semantics).
//!
//! Arguments are already validated against the limits in `limits` when a write method is
//! called (the handle checks them); reads may get oversize names and must answer
//! `InvalidInput` or nothing, never panic.

use std::future::Future;
use std::pin::Pin;

use super::model::{
    AddCopyOutcome, BackendUsage, BucketRecord, CompletedUpload, Copy, CreateBucketOutcome,
    DeleteBucketOutcome, ListPage, ListQuery, MonthlyUsage, MultipartPage, MultipartQuery,
    MultipartRecord, ObjectRecord, PutOutcome, QueueId, QueueItem, QueueKind, StoredPart,
};
use super::Result;

/// The future of a write: `Send`, so a handle can be used from any executor or thread.
pub(crate) type WriteFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A catalog store: lookups, range reads and queue reads are synchronous, every write is one
/// atomic batch whose future resolves once the batch is durable.
///
/// Reads run on the caller's thread, which is usually a glommio executor: they must not wait on
/// anything slower than a local disk read. Write futures must not block either; the work happens
/// elsewhere (fjall: on the writer thread) and the future only waits for its answer.
pub(crate) trait CatalogStore: Send + Sync {
    // ------------------------------------------------------------ lookups

    /// The record of `bucket/key`.
    fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>>;

    /// An API bucket's record.
    fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>>;

    /// An upload's record.
    fn get_multipart(&self, upload_id: &str) -> Result<Option<MultipartRecord>>;

    /// The kept answer of a completed upload (see [`CatalogStore::complete_multipart`]),
    /// whatever its age.
    fn get_completed_upload(&self, upload_id: &str) -> Result<Option<CompletedUpload>>;

    /// Usage of every backend that ever held a copy, by name (byte order).
    fn all_usage(&self) -> Result<Vec<(String, BackendUsage)>>;

    /// `backend`'s stored usage for `month` (`yyyymm`); zero when none is stored.
    fn monthly_usage(&self, backend: &str, month: u32) -> Result<MonthlyUsage>;

    // ------------------------------------------------------------ ranges

    /// One page of a bucket listing, in key byte order; see [`ListQuery`].
    fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<ListPage>;

    /// Up to `limit` (at most `MAX_LIST_KEYS`) objects across all buckets after `after`, in
    /// the store's fixed (bucket, key) order.
    fn scan_objects(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, ObjectRecord)>>;

    /// One page of a bucket's uploads, by key then upload id; see [`MultipartQuery`].
    fn list_multipart(&self, bucket: &str, query: &MultipartQuery) -> Result<MultipartPage>;

    /// How many uploads `bucket` has in progress, counting at most `at_most` (a store stops
    /// there). The default pages through [`CatalogStore::list_multipart`].
    fn count_multipart(&self, bucket: &str, at_most: usize) -> Result<usize> {
        let mut query = MultipartQuery {
            max_uploads: super::MAX_LIST_KEYS,
            ..Default::default()
        };
        let mut n = 0;
        loop {
            let page = self.list_multipart(bucket, &query)?;
            n += page.uploads.len();
            if n >= at_most || !page.is_truncated {
                return Ok(n.min(at_most));
            }
            query.key_marker = page.next_key_marker;
            query.upload_id_marker = page.next_upload_id_marker;
        }
    }

    /// Every part recorded by [`CatalogStore::record_part`] of every upload in progress, as
    /// (upload id, part number, size), by upload id then part number.
    fn all_parts(&self) -> Result<Vec<(String, u32, u64)>>;

    /// The parts recorded for one upload (by [`CatalogStore::record_part`]), by part number.
    fn upload_parts(&self, upload_id: &str) -> Result<Vec<StoredPart>>;

    /// All API buckets, by name (byte order).
    fn list_buckets(&self) -> Result<Vec<BucketRecord>>;

    /// The names of the buckets that hold an object or a multipart upload, by name (byte
    /// order), at most `MAX_DATA_BUCKETS`; whether or not a bucket record exists for them.
    fn data_buckets(&self) -> Result<Vec<String>>;

    // ------------------------------------------------------------ queues

    /// The oldest `n` (at most `MAX_QUEUE_PEEK`) items of one queue, oldest first; they stay
    /// queued until acknowledged.
    fn queue_peek(&self, kind: QueueKind, n: usize) -> Result<Vec<(QueueId, QueueItem)>>;

    /// How many items one queue holds (may be O(queue length)).
    fn queue_len(&self, kind: QueueKind) -> Result<u64>;

    /// Adds an intent to its queue; returns its id.
    fn queue_push(&self, item: QueueItem) -> WriteFuture<'_, QueueId>;

    /// Removes an intent; returns whether it was still queued.
    fn queue_ack(&self, id: QueueId) -> WriteFuture<'_, bool>;

    // ------------------------------------------------------------ commits

    /// Stores `record` (with a new generation) as `bucket/key`, with the effects of
    /// `rules::put_effects`; returns the generation and the replaced record.
    fn put_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        record: ObjectRecord,
        replicate: u32,
    ) -> WriteFuture<'a, PutOutcome>;

    /// Removes `bucket/key` with the effects of `rules::delete_effects`; returns the removed
    /// record.
    fn delete_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> WriteFuture<'a, Option<ObjectRecord>>;

    /// Records `copy` if the record still has `generation`, as `rules::add_copy` decides.
    fn add_copy<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        generation: u64,
        copy: Copy,
    ) -> WriteFuture<'a, AddCopyOutcome>;

    /// Drops a copy if the record still has `generation`, as `rules::remove_copy` decides;
    /// returns whether a copy was removed.
    fn remove_copy<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        generation: u64,
        backend: &'a str,
        backend_key: &'a str,
    ) -> WriteFuture<'a, bool>;

    /// Replaces `backend`'s stored usage for `month`.
    fn set_monthly_usage<'a>(
        &'a self,
        backend: &'a str,
        month: u32,
        usage: MonthlyUsage,
    ) -> WriteFuture<'a, ()>;

    /// Creates an API bucket unless one of that name exists or objects or uploads are stored
    /// under the name (counting every write ordered before).
    fn create_bucket(&self, record: BucketRecord) -> WriteFuture<'_, CreateBucketOutcome>;

    /// Deletes an API bucket unless it holds an object (counting every write ordered before).
    fn delete_bucket<'a>(&'a self, name: &'a str) -> WriteFuture<'a, DeleteBucketOutcome>;

    /// Sets (`Some`) or removes (`None`) the bucket record of `name` whatever the bucket holds:
    /// the operator's re-bind of an orphaned bucket. Returns the record it replaced.
    fn replace_bucket<'a>(
        &'a self,
        name: &'a str,
        record: Option<BucketRecord>,
    ) -> WriteFuture<'a, Option<BucketRecord>>;

    /// Records a new upload; false (and no change) if its upload id is taken.
    fn create_multipart(&self, record: MultipartRecord) -> WriteFuture<'_, bool>;

    /// Removes an upload; returns the removed record.
    fn delete_multipart<'a>(
        &'a self,
        upload_id: &'a str,
    ) -> WriteFuture<'a, Option<MultipartRecord>>;

    /// Records that part `part_number` of an upload is stored with `size` bytes and `etag`,
    /// replacing an earlier part of that number (the last recorded wins); false (and no change)
    /// if the upload does not exist. Removing the upload (delete or complete) removes its parts.
    fn record_part<'a>(
        &'a self,
        upload_id: &'a str,
        part_number: u32,
        size: u64,
        etag: &'a str,
    ) -> WriteFuture<'a, bool>;

    /// In one batch: removes the upload and puts `record` at its bucket + key as
    /// [`CatalogStore::put_object`] does, keeps the answer (bucket, key, `record.etag`,
    /// completed at `record.last_modified_ms`) for [`CatalogStore::get_completed_upload`], and
    /// removes up to `MAX_COMPLETED_PURGE_PER_WRITE` answers completed more than
    /// `COMPLETED_UPLOAD_RETENTION_MS` before this one. None (and no change) if the upload does
    /// not exist.
    fn complete_multipart<'a>(
        &'a self,
        upload_id: &'a str,
        record: ObjectRecord,
        replicate: u32,
    ) -> WriteFuture<'a, Option<PutOutcome>>;
}
