//! The placement-metadata catalog: which objects exist in each virtual bucket,
//! where their copies live, per-backend usage, multipart uploads, API-created
//! buckets and the durable work queues.
//!
//! Callers hold a [`Catalog`]: a cheap-to-clone handle over one store behind the
//! `CatalogStore` trait (`interface`). The only store today is the fjall one (`fjall`: an
//! embedded database per node). `catalog` is a leaf module: it uses only std, crates and
//! `util`, never the rest of the orchestrator.
//!
//! # Layout
//! - `model`: the records, queries, pages and outcomes, shared by every store.
//! - `interface`: the `CatalogStore` trait. `limits`: size limits and input checks.
//!   `error`: [`CatalogError`]. `rules`: what an object write changes besides its record.
//! - `fjall`: the fjall store (its own docs cover keyspaces, group commit and crash safety).
//!
//! # Contract of a store
//! What the callers (request handlers, the background plane, the admin API, import, usage
//! flushing) rely on; a second implementation must keep all of it.
//!
//! - **Durability.** A write's future resolves `Ok` only once the write is durable: it
//!   survives kill -9 and power loss. An `Err` does not prove the write did not happen
//!   (fjall: the fsync failed after the batch was applied). A write whose future is dropped
//!   after its first poll may still be applied.
//! - **Atomicity.** Every write method is one atomic batch: the record change, the usage
//!   deltas and the queue intents `rules` derives from it become visible and durable
//!   together, or not at all. `complete_multipart` removes the upload and puts the object in
//!   one batch. A write that fails on its own account (invalid input, a corrupt record)
//!   changes nothing, even when the store batched it with others.
//! - **Serialisation.** Writes are decided one after another, each against every write ordered
//!   before it: put returns the record it replaced, delete the one it removed, create-if-absent
//!   and delete-bucket-if-empty cannot race, generation checks are compare-and-set. A read
//!   issued after a write was acknowledged sees it. Reads may also see a write that is not yet
//!   acknowledged (fjall: between a group's batch commit and its fsync).
//! - **Generations.** Every put (also `complete_multipart`) assigns the record a generation
//!   from a persistent counter: greater than every generation acknowledged before, across all
//!   keys and restarts; the caller's value is ignored. `add_copy` and `remove_copy` keep the
//!   generation and apply only if the record still has the generation given; otherwise
//!   `add_copy` answers `Superseded` (and queues a cleanup of the orphan copy, see `rules`) and
//!   `remove_copy` answers false. Queue ids come from one more such counter, so a queue's ids
//!   order its items by creation.
//! - **Listing order.** `list_objects` pages through one bucket in byte order of the UTF-8 keys
//!   (S3 order), common prefixes counting toward `max_keys`, `next_start_after` resuming.
//!   `list_multipart` orders by key bytes, then upload id bytes; `list_buckets` and `all_usage`
//!   by name bytes. `scan_objects` walks every bucket in one fixed order that resumes after any
//!   (bucket, key); callers rely on nothing else (fjall: bucket name length, then name, then
//!   key). Pages hold at most [`MAX_LIST_KEYS`] entries, queue peeks [`MAX_QUEUE_PEEK`].
//! - **Queues.** Two durable queues, replicate and cleanup. Intents enter in the batch of the
//!   write that creates them, or through `queue_push`. Delivery is at-least-once: `queue_peek`
//!   returns the oldest items without removing or hiding them, an item stays until
//!   `queue_ack` removes it (acking an absent id answers false). There is no claim or lease:
//!   each node runs one consumer per queue (its background shard), which keeps its retry
//!   backoff in memory and must be idempotent (it rechecks the record before acting); a
//!   consumer that dies before its ack sees the item again.
//! - **Per node, shared.** Everything in the catalog is shared by whoever opens the same store;
//!   with fjall that is one node (the directory is locked by one process). Per node, outside
//!   the catalog: the per-key write locks, the consumers' retry state, and the monthly usage
//!   counters between flushes (`set_monthly_usage` replaces the stored month, last write wins).
//! - **Threads.** Reads are synchronous and run on the caller's thread, usually a glommio
//!   executor, so they may not wait on anything slower than a local disk read. Writes are
//!   `Send` futures that wait for an answer produced elsewhere and never block the executor.
//!   Dropping the last handle closes the store; it can then be reopened.
//! - **Limits.** The handle refuses writes over the size limits (bucket name, key, upload id,
//!   backend name, replication intents; see `limits`) with `InvalidInput` before the store
//!   sees them.

mod model;

mod error;
mod fjall;
mod interface;
mod limits;
mod rules;

use std::path::Path;
use std::sync::Arc;

pub use error::{CatalogError, Result};
// `pub`: the page caps that `pub` documentation (here, the admin API) refers to.
pub(crate) use limits::MAX_REPLICATE_INTENTS;
pub use limits::{COMPLETED_UPLOAD_RETENTION_MS, MAX_DATA_BUCKETS, MAX_LIST_KEYS, MAX_QUEUE_PEEK};
// `pub`: in the signatures of the handle's `pub` methods, or of `pub` items elsewhere.
pub use model::{
    AddCopyOutcome, BucketRecord, CompletedUpload, Copy, CopyState, ListPage, ListQuery,
    MonthlyUsage, MultipartRecord, ObjectRecord, ObjectSummary, PutOutcome,
};
pub(crate) use model::{
    BackendUsage, CreateBucketOutcome, DeleteBucketOutcome, MultipartPage, MultipartQuery, QueueId,
    QueueItem, QueueKind, StoredPart,
};

use interface::CatalogStore;
use limits::{check_backend, check_bucket, check_key, check_replicate, check_upload_id};

/// Handle to the catalog. Cheap to clone; reads are synchronous, writes are
/// `async` and resolve once they are durable.
///
/// Dropping the last handle closes the store (the fjall store first finishes the
/// requests already queued), so it can be reopened.
#[derive(Clone)]
pub struct Catalog {
    store: Arc<dyn CatalogStore>,
}

impl Catalog {
    /// Opens (or creates) the fjall catalog database in `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let store = fjall::FjallStore::open(path.as_ref())?;
        Ok(Self::from_store(Arc::new(store)))
    }

    /// A handle over `store`.
    pub(crate) fn from_store(store: Arc<dyn CatalogStore>) -> Self {
        Self { store }
    }

    // ------------------------------------------------------------ object writes

    /// Stores `record` as `bucket/key`, replacing any previous record.
    ///
    /// In the same durable batch: assigns the next generation, adds `size` to
    /// the usage of every backend holding a new copy and subtracts the previous
    /// record's size from the backends of its copies, queues a cleanup for every
    /// previous copy whose backend + backend key the new record no longer uses,
    /// and queues `replicate` replication intents for the new generation.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        record: ObjectRecord,
        replicate: u32,
    ) -> Result<PutOutcome> {
        check_bucket(bucket)?;
        check_key(key)?;
        check_replicate(replicate)?;
        self.store.put_object(bucket, key, record, replicate).await
    }

    /// Removes `bucket/key`; returns the removed record (None if absent). Its
    /// copies' usage is subtracted and a cleanup queued for each copy.
    pub(crate) async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ObjectRecord>> {
        check_bucket(bucket)?;
        check_key(key)?;
        self.store.delete_object(bucket, key).await
    }

    /// Records one more copy of `bucket/key`, if the record still has
    /// `generation` (the copy was made of that version). A copy at the same
    /// backend + backend key replaces the existing one (use it to change a
    /// copy's state) without changing usage.
    pub async fn add_copy(
        &self,
        bucket: &str,
        key: &str,
        generation: u64,
        copy: Copy,
    ) -> Result<AddCopyOutcome> {
        check_bucket(bucket)?;
        check_key(key)?;
        self.store.add_copy(bucket, key, generation, copy).await
    }

    /// Drops the copy at `backend` + `backend_key` from `bucket/key` if the
    /// record still has `generation`; subtracts its usage and queues its cleanup.
    /// Returns whether a copy was removed.
    pub(crate) async fn remove_copy(
        &self,
        bucket: &str,
        key: &str,
        generation: u64,
        backend: &str,
        backend_key: &str,
    ) -> Result<bool> {
        check_bucket(bucket)?;
        check_key(key)?;
        self.store
            .remove_copy(bucket, key, generation, backend, backend_key)
            .await
    }

    // ------------------------------------------------------------ usage writes

    /// Stores `backend`'s usage for `month` (`yyyymm`, UTC), replacing what was
    /// stored; durable when this returns. Usage counters are flushed this way
    /// periodically, so a restart resumes the month's counts.
    pub(crate) async fn set_monthly_usage(
        &self,
        backend: &str,
        month: u32,
        usage: MonthlyUsage,
    ) -> Result<()> {
        check_backend(backend)?;
        self.store.set_monthly_usage(backend, month, usage).await
    }

    // ------------------------------------------------------------ queue writes

    /// Adds an intent to its queue (e.g. a retry); returns its id.
    pub(crate) async fn queue_push(&self, item: QueueItem) -> Result<QueueId> {
        self.store.queue_push(item).await
    }

    /// Removes a finished intent; returns whether it was still queued.
    pub(crate) async fn queue_ack(&self, id: QueueId) -> Result<bool> {
        self.store.queue_ack(id).await
    }

    // ------------------------------------------------------------ bucket writes

    /// Creates an API bucket unless one of that name exists, or objects or uploads are stored
    /// under the name ([`CreateBucketOutcome::HoldsData`]: they belong to someone else).
    pub(crate) async fn create_bucket(
        &self,
        name: &str,
        owner_access_key: &str,
        created_ms: i64,
    ) -> Result<CreateBucketOutcome> {
        check_bucket(name)?;
        let record = BucketRecord {
            name: name.to_owned(),
            owner_access_key: owner_access_key.to_owned(),
            created_ms,
        };
        self.store.create_bucket(record).await
    }

    /// Deletes an API bucket if it holds no objects (decided in order with
    /// the other writes, so a put acknowledged before counts).
    pub(crate) async fn delete_bucket(&self, name: &str) -> Result<DeleteBucketOutcome> {
        check_bucket(name)?;
        self.store.delete_bucket(name).await
    }

    /// Sets (`Some`) or removes (`None`) the bucket record of `name`, whatever the bucket
    /// holds: the admin API's re-bind of an orphaned bucket (and the end of a purge). Returns
    /// the record it replaced.
    pub(crate) async fn replace_bucket(
        &self,
        name: &str,
        record: Option<BucketRecord>,
    ) -> Result<Option<BucketRecord>> {
        check_bucket(name)?;
        if record.as_ref().is_some_and(|r| r.name != name) {
            return Err(CatalogError::InvalidInput("bucket record of another name"));
        }
        self.store.replace_bucket(name, record).await
    }

    // ------------------------------------------------------------ multipart writes

    /// Records a new upload; returns false (and changes nothing) if its upload
    /// id is already in use.
    pub(crate) async fn create_multipart(&self, record: MultipartRecord) -> Result<bool> {
        check_bucket(&record.bucket)?;
        check_key(&record.key)?;
        check_upload_id(&record.upload_id)?;
        self.store.create_multipart(record).await
    }

    /// Removes an upload (abort); returns the removed record.
    pub(crate) async fn delete_multipart(
        &self,
        upload_id: &str,
    ) -> Result<Option<MultipartRecord>> {
        check_upload_id(upload_id)?;
        self.store.delete_multipart(upload_id).await
    }

    /// Records that part `part_number` of the upload is stored with `size` bytes (so the quota
    /// it holds is known after a restart) and `etag` (the part uploaded last under a number is
    /// the one that counts); false (and no change) if the upload is gone.
    pub(crate) async fn record_part(
        &self,
        upload_id: &str,
        part_number: u32,
        size: u64,
        etag: &str,
    ) -> Result<bool> {
        check_upload_id(upload_id)?;
        self.store
            .record_part(upload_id, part_number, size, etag)
            .await
    }

    /// The parts recorded for one upload in progress, by part number.
    pub(crate) fn upload_parts(&self, upload_id: &str) -> Result<Vec<StoredPart>> {
        self.store.upload_parts(upload_id)
    }

    /// Completes an upload atomically: removes the upload record and puts
    /// `record` at the upload's bucket + key exactly as [`Catalog::put_object`]
    /// does. Returns None (and changes nothing) if the upload does not exist.
    ///
    /// In the same batch the answer (bucket, key, `record.etag`, completed at
    /// `record.last_modified_ms`) is kept for [`COMPLETED_UPLOAD_RETENTION_MS`], for
    /// [`Catalog::get_completed_upload`], and up to `MAX_COMPLETED_PURGE_PER_WRITE` answers kept
    /// longer than that are removed.
    pub(crate) async fn complete_multipart(
        &self,
        upload_id: &str,
        record: ObjectRecord,
        replicate: u32,
    ) -> Result<Option<PutOutcome>> {
        check_upload_id(upload_id)?;
        check_replicate(replicate)?;
        self.store
            .complete_multipart(upload_id, record, replicate)
            .await
    }

    // ------------------------------------------------------------ reads

    /// The kept answer of upload `upload_id`, completed less than
    /// [`COMPLETED_UPLOAD_RETENTION_MS`] before `now_ms`; None for an upload never completed,
    /// or completed longer ago.
    pub fn get_completed_upload(
        &self,
        upload_id: &str,
        now_ms: i64,
    ) -> Result<Option<CompletedUpload>> {
        Ok(self
            .store
            .get_completed_upload(upload_id)?
            .filter(|c| now_ms.saturating_sub(c.completed_ms) < COMPLETED_UPLOAD_RETENTION_MS))
    }

    /// The record of `bucket/key`.
    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        self.store.get_object(bucket, key)
    }

    /// One page of a bucket listing; see [`ListQuery`].
    pub fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<ListPage> {
        self.store.list_objects(bucket, query)
    }

    /// Up to `limit` (at most [`MAX_LIST_KEYS`]) objects across all buckets,
    /// after `after` = (bucket, key): for background walks (replication scan,
    /// admin status). The order is fixed and resumable, not alphabetical across
    /// buckets.
    pub fn scan_objects(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, ObjectRecord)>> {
        self.store.scan_objects(after, limit)
    }

    /// `backend`'s stored usage for `month` (`yyyymm`); zero when none.
    pub(crate) fn monthly_usage(&self, backend: &str, month: u32) -> Result<MonthlyUsage> {
        self.store.monthly_usage(backend, month)
    }

    /// Usage of every backend that ever held a copy, by name.
    pub(crate) fn all_usage(&self) -> Result<Vec<(String, BackendUsage)>> {
        self.store.all_usage()
    }

    /// The oldest `n` (at most [`MAX_QUEUE_PEEK`]) items of one queue; they stay
    /// queued until acknowledged.
    pub(crate) fn queue_peek(
        &self,
        kind: QueueKind,
        n: usize,
    ) -> Result<Vec<(QueueId, QueueItem)>> {
        self.store.queue_peek(kind, n)
    }

    /// How many items one queue holds (walks the queue's keys: call it occasionally).
    pub(crate) fn queue_len(&self, kind: QueueKind) -> Result<u64> {
        self.store.queue_len(kind)
    }

    /// An API bucket's record.
    pub(crate) fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        self.store.get_bucket(name)
    }

    /// All API buckets, by name.
    pub(crate) fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        self.store.list_buckets()
    }

    /// The names of the buckets holding an object or a multipart upload, by name, at most
    /// [`MAX_DATA_BUCKETS`] (one seek per bucket, not a walk of the objects). With the bucket
    /// records and the config this tells which buckets' data has no owner.
    pub(crate) fn data_buckets(&self) -> Result<Vec<String>> {
        self.store.data_buckets()
    }

    /// An upload's record.
    pub(crate) fn get_multipart(&self, upload_id: &str) -> Result<Option<MultipartRecord>> {
        self.store.get_multipart(upload_id)
    }

    /// Every stored part of every upload in progress, as (upload id, part number, size).
    pub(crate) fn all_parts(&self) -> Result<Vec<(String, u32, u64)>> {
        self.store.all_parts()
    }

    /// How many uploads `bucket` has in progress, counting at most `at_most` (so a limit check
    /// costs at most the limit, never the whole bucket).
    pub(crate) fn count_multipart(&self, bucket: &str, at_most: usize) -> Result<usize> {
        self.store.count_multipart(bucket, at_most)
    }

    /// One page of a bucket's uploads; see [`MultipartQuery`].
    pub(crate) fn list_multipart(
        &self,
        bucket: &str,
        query: &MultipartQuery,
    ) -> Result<MultipartPage> {
        self.store.list_multipart(bucket, query)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod completed_tests;
