//! The placement-metadata catalog: which objects exist in each virtual bucket,
//! where their copies live, per-backend usage, multipart uploads, API-created
//! buckets and the durable work queues, in one fjall database.
//!
//! # Layout
//! - [`model`]: the records and the inputs/outcomes of operations.
//! - `codec`: ordered key encodings and the versioned binary value format.
//! - `store`: opening the database and the synchronous reads.
//! - `list`: `ListObjects` over a range scan that seeks past common prefixes.
//! - `writer`: the single writer thread and its group commit.
//!
//! # Keyspaces
//! `objects` (bucket + key → [`ObjectRecord`]), `backends` (name →
//! [`BackendUsage`]; `\0` name `\0` month → [`MonthlyUsage`]), `multipart` (upload id → [`MultipartRecord`], plus a
//! per-bucket index), `queue` ([`QueueId`] → [`QueueItem`]), `buckets` (name →
//! [`BucketRecord`]), `meta` (schema version, generation and queue counters).
//!
//! # Threading model
//! Request handlers run on glommio executors that must never block on fsync.
//! - **Writes** are messages over a bounded flume channel to one dedicated
//!   writer thread. It takes every queued request (up to [`MAX_GROUP_COMMIT`]),
//!   decides each one against the current state plus the changes of the
//!   requests before it in the same group, applies the whole group as one fjall
//!   write batch, makes it durable with one `persist(SyncAll)` and only then
//!   answers each request on its own one-slot channel. Callers `await` the
//!   answer (`recv_async`), which works from any executor. Because that thread
//!   is the only writer, conditional writes (put returning the replaced record,
//!   delete returning the removed one, create-if-absent, generation checks)
//!   cannot race.
//! - **Reads** are plain synchronous calls on [`Catalog`] (memtable and block
//!   cache lookups), from any thread. [`Catalog`] is `Clone + Send + Sync`.
//!
//! # Crash safety
//! A write is answered `Ok` only after the batch holding it was fsynced
//! (`PersistMode::SyncAll`), so every acknowledged write survives kill -9 or
//! power loss. A batch is atomic: an object change, its usage accounting and
//! the queue intents it creates are all there after a crash, or none of them.
//! The generation and queue counters are stored in the same batch as the
//! records that use them, so after a reopen they continue above every value
//! ever acknowledged. Caveat: readers on other threads can observe a group in
//! the short window between its batch commit and its fsync; if the process dies
//! in that window, those (never acknowledged) changes are lost.
//!
//! A caller whose future is dropped after sending still gets its write applied;
//! only the answer is discarded.

pub mod model;

mod codec;
mod list;
mod store;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use model::{
    AddCopyOutcome, BackendUsage, BucketRecord, Copy, CopyState, CreateBucketOutcome,
    DeleteBucketOutcome, ListPage, ListQuery, MonthlyUsage, MultipartPage, MultipartQuery,
    MultipartRecord, ObjectRecord, ObjectSummary, PutOutcome, QueueId, QueueItem, QueueKind,
};

use store::Store;
use writer::{Op, Reply};

/// Longest object key S3 allows (bytes of UTF-8).
pub const MAX_OBJECT_KEY_LEN: usize = 1024;

/// Longest bucket name the key encoding can hold (one length byte); S3 names
/// are at most 63 bytes, so real names always fit.
pub const MAX_BUCKET_NAME_LEN: usize = 255;

/// Longest upload id accepted; ours are short, this only bounds key size.
pub const MAX_UPLOAD_ID_LEN: usize = 255;

/// Largest listing page: S3's own `max-keys` ceiling.
pub const MAX_LIST_KEYS: usize = 1000;

/// Most queue items one `queue_peek` returns: bounds the memory of one call.
pub const MAX_QUEUE_PEEK: usize = 1000;

/// Most replication intents one put may queue: more than any sane replication
/// factor, small enough that a bad argument cannot flood the queue.
pub const MAX_REPLICATE_INTENTS: u32 = 16;

/// Most write requests applied in one batch / one fsync. Bounds the memory of
/// a batch and the wait of the first request in it; under load one fsync
/// (about a millisecond or more) still serves hundreds of writes.
pub const MAX_GROUP_COMMIT: usize = 512;

/// Capacity of the write channel. Bounded so that a slow disk pushes back on
/// request handlers (their `send_async` waits) instead of growing memory.
pub const WRITE_QUEUE_CAPACITY: usize = 4096;

/// Default block cache size: enough for the hot part of a catalog of a few
/// million objects without being a noticeable share of RAM.
pub const DEFAULT_CACHE_SIZE_BYTES: u64 = 64 * 1024 * 1024;

/// Errors of catalog operations. Small and cloneable: one storage failure is
/// reported to every request of the failed group.
#[derive(Debug, Clone)]
pub enum CatalogError {
    /// The storage engine failed (I/O, or poisoned after an earlier failure).
    Storage(Arc<fjall::Error>),
    /// The writer thread is gone (catalog shut down or writer failed).
    Closed,
    /// A stored record could not be decoded.
    Corrupt(&'static str),
    /// An argument exceeds a limit (e.g. key longer than [`MAX_OBJECT_KEY_LEN`]).
    InvalidInput(&'static str),
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogError::Storage(e) => write!(f, "catalog storage error: {e}"),
            CatalogError::Closed => f.write_str("catalog is closed"),
            CatalogError::Corrupt(what) => write!(f, "corrupt catalog record: {what}"),
            CatalogError::InvalidInput(what) => write!(f, "invalid catalog input: {what}"),
        }
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CatalogError::Storage(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<fjall::Error> for CatalogError {
    fn from(e: fjall::Error) -> Self {
        CatalogError::Storage(Arc::new(e))
    }
}

/// Result of catalog operations.
pub type Result<T> = std::result::Result<T, CatalogError>;

/// Tuning of [`Catalog::open_with`].
#[derive(Debug, Clone)]
pub struct CatalogOptions {
    /// fjall block cache size.
    pub cache_size_bytes: u64,
}

impl Default for CatalogOptions {
    fn default() -> Self {
        Self {
            cache_size_bytes: DEFAULT_CACHE_SIZE_BYTES,
        }
    }
}

/// Work done by the writer thread since the catalog was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Groups taken from the write channel.
    pub groups: u64,
    /// Write requests answered.
    pub requests: u64,
    /// Durable batches (one fsync each).
    pub syncs: u64,
}

/// Handle to the catalog. Cheap to clone; reads are synchronous, writes are
/// `async` and answered by the writer thread after they are durable.
///
/// Dropping the last handle stops the writer thread (after it finished the
/// requests already queued) and closes the database, so it can be reopened.
#[derive(Clone)]
pub struct Catalog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    stats: Arc<writer::WriterCounters>,
    /// `Option` only so `Drop` can disconnect the channel before joining.
    tx: Option<flume::Sender<Op>>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Disconnecting ends the writer's receive loop once the queue is empty.
        self.tx = None;
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

impl Catalog {
    /// Opens (or creates) the catalog database in `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, CatalogOptions::default())
    }

    /// Opens (or creates) the catalog database in `path` and starts the writer
    /// thread.
    pub fn open_with(path: impl AsRef<Path>, options: CatalogOptions) -> Result<Self> {
        let store = Store::open(path.as_ref(), &options)?;
        let counters = store.load_counters()?;
        let (tx, rx) = flume::bounded(WRITE_QUEUE_CAPACITY);
        let writer_store = store.clone();
        let stats = Arc::new(writer::WriterCounters::default());
        let writer_stats = Arc::clone(&stats);
        let writer = std::thread::Builder::new()
            .name("catalog-writer".into())
            .spawn(move || writer::run(writer_store, counters, rx, writer_stats))
            .map_err(|e| CatalogError::Storage(Arc::new(fjall::Error::Io(e))))?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                stats,
                tx: Some(tx),
                writer: Some(writer),
            }),
        })
    }

    /// Sends one request to the writer thread and awaits its durable answer.
    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Op) -> Result<T> {
        let (reply_tx, reply_rx) = flume::bounded(1);
        let tx = self.inner.tx.as_ref().ok_or(CatalogError::Closed)?;
        tx.send_async(make(reply_tx))
            .await
            .map_err(|_| CatalogError::Closed)?;
        reply_rx
            .recv_async()
            .await
            .map_err(|_| CatalogError::Closed)?
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
        codec::check_bucket(bucket)?;
        codec::check_key(key)?;
        check_replicate(replicate)?;
        self.call(|reply| Op::Put {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            record,
            replicate,
            reply,
        })
        .await
    }

    /// Removes `bucket/key`; returns the removed record (None if absent). Its
    /// copies' usage is subtracted and a cleanup queued for each copy.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        codec::check_bucket(bucket)?;
        codec::check_key(key)?;
        self.call(|reply| Op::Delete {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            reply,
        })
        .await
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
        codec::check_bucket(bucket)?;
        codec::check_key(key)?;
        self.call(|reply| Op::AddCopy {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            generation,
            copy,
            reply,
        })
        .await
    }

    /// Drops the copy at `backend` + `backend_key` from `bucket/key` if the
    /// record still has `generation`; subtracts its usage and queues its cleanup.
    /// Returns whether a copy was removed.
    pub async fn remove_copy(
        &self,
        bucket: &str,
        key: &str,
        generation: u64,
        backend: &str,
        backend_key: &str,
    ) -> Result<bool> {
        codec::check_bucket(bucket)?;
        codec::check_key(key)?;
        self.call(|reply| Op::RemoveCopy {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            generation,
            backend: backend.to_owned(),
            backend_key: backend_key.to_owned(),
            reply,
        })
        .await
    }

    // ------------------------------------------------------------ usage writes

    /// Stores `backend`'s usage for `month` (`yyyymm`, UTC), replacing what was
    /// stored; durable when this returns. Usage counters are flushed this way
    /// periodically, so a restart resumes the month's counts.
    pub async fn set_monthly_usage(
        &self,
        backend: &str,
        month: u32,
        usage: MonthlyUsage,
    ) -> Result<()> {
        if backend.is_empty() || backend.len() > MAX_BUCKET_NAME_LEN {
            return Err(CatalogError::InvalidInput("backend name empty or too long"));
        }
        self.call(|reply| Op::SetMonthlyUsage {
            backend: backend.to_owned(),
            month,
            usage,
            reply,
        })
        .await
    }

    // ------------------------------------------------------------ queue writes

    /// Adds an intent to its queue (e.g. a retry); returns its id.
    pub async fn queue_push(&self, item: QueueItem) -> Result<QueueId> {
        self.call(|reply| Op::QueuePush { item, reply }).await
    }

    /// Removes a finished intent; returns whether it was still queued.
    pub async fn queue_ack(&self, id: QueueId) -> Result<bool> {
        self.call(|reply| Op::QueueAck { id, reply }).await
    }

    // ------------------------------------------------------------ bucket writes

    /// Creates an API bucket unless one of that name exists.
    pub async fn create_bucket(
        &self,
        name: &str,
        owner_access_key: &str,
        created_ms: i64,
    ) -> Result<CreateBucketOutcome> {
        codec::check_bucket(name)?;
        self.call(|reply| Op::CreateBucket {
            record: BucketRecord {
                name: name.to_owned(),
                owner_access_key: owner_access_key.to_owned(),
                created_ms,
            },
            reply,
        })
        .await
    }

    /// Deletes an API bucket if it holds no objects (decided on the writer
    /// thread, so a put in the same group counts).
    pub async fn delete_bucket(&self, name: &str) -> Result<DeleteBucketOutcome> {
        codec::check_bucket(name)?;
        self.call(|reply| Op::DeleteBucket {
            name: name.to_owned(),
            reply,
        })
        .await
    }

    // ------------------------------------------------------------ multipart writes

    /// Records a new upload; returns false (and changes nothing) if its upload
    /// id is already in use.
    pub async fn create_multipart(&self, record: MultipartRecord) -> Result<bool> {
        codec::check_bucket(&record.bucket)?;
        codec::check_key(&record.key)?;
        check_upload_id(&record.upload_id)?;
        self.call(|reply| Op::CreateMultipart { record, reply })
            .await
    }

    /// Removes an upload (abort); returns the removed record.
    pub async fn delete_multipart(&self, upload_id: &str) -> Result<Option<MultipartRecord>> {
        check_upload_id(upload_id)?;
        self.call(|reply| Op::DeleteMultipart {
            upload_id: upload_id.to_owned(),
            reply,
        })
        .await
    }

    /// Completes an upload atomically: removes the upload record and puts
    /// `record` at the upload's bucket + key exactly as [`Catalog::put_object`]
    /// does. Returns None (and changes nothing) if the upload does not exist.
    pub async fn complete_multipart(
        &self,
        upload_id: &str,
        record: ObjectRecord,
        replicate: u32,
    ) -> Result<Option<PutOutcome>> {
        check_upload_id(upload_id)?;
        check_replicate(replicate)?;
        self.call(|reply| Op::CompleteMultipart {
            upload_id: upload_id.to_owned(),
            record,
            replicate,
            reply,
        })
        .await
    }

    // ------------------------------------------------------------ reads

    /// What the writer thread has done so far (for metrics).
    pub fn writer_stats(&self) -> WriterStats {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.inner.stats;
        WriterStats {
            groups: s.groups.load(Relaxed),
            requests: s.requests.load(Relaxed),
            syncs: s.syncs.load(Relaxed),
        }
    }

    /// The record of `bucket/key`.
    pub fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        self.inner.store.get_object(bucket, key)
    }

    /// One page of a bucket listing; see [`ListQuery`].
    pub fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<ListPage> {
        list::list_objects(&self.inner.store, bucket, query).map(|(page, _)| page)
    }

    /// Up to `limit` (at most [`MAX_LIST_KEYS`]) objects across all buckets,
    /// after `after` = (bucket, key): for background walks (rebalancing,
    /// scrubbing). Bucket order is by name length, then name.
    pub fn scan_objects(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, ObjectRecord)>> {
        self.inner.store.scan_objects(after, limit)
    }

    /// Whether `bucket` holds no objects.
    pub fn bucket_is_empty(&self, bucket: &str) -> Result<bool> {
        self.inner.store.bucket_is_empty(bucket)
    }

    /// Number of objects in `bucket` (a key scan: admin use, not the hot path).
    pub fn count_objects(&self, bucket: &str) -> Result<u64> {
        self.inner.store.count_objects(bucket)
    }

    /// Usage of one backend (zero if it never held anything).
    pub fn usage(&self, backend: &str) -> Result<BackendUsage> {
        self.inner.store.usage(backend)
    }

    /// `backend`'s stored usage for `month` (`yyyymm`); zero when none.
    pub fn monthly_usage(&self, backend: &str, month: u32) -> Result<MonthlyUsage> {
        self.inner.store.monthly_usage(backend, month)
    }

    /// Usage of every backend that ever held a copy, by name.
    pub fn all_usage(&self) -> Result<Vec<(String, BackendUsage)>> {
        self.inner.store.all_usage()
    }

    /// The oldest `n` (at most [`MAX_QUEUE_PEEK`]) items of one queue.
    pub fn queue_peek(&self, kind: QueueKind, n: usize) -> Result<Vec<(QueueId, QueueItem)>> {
        self.inner.store.queue_peek(kind, n)
    }

    /// An API bucket's record.
    /// How many items one queue holds (walks the queue's keys: call it occasionally).
    pub fn queue_len(&self, kind: QueueKind) -> Result<u64> {
        self.inner.store.queue_len(kind)
    }

    pub fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        self.inner.store.get_bucket(name)
    }

    /// All API buckets, by name.
    pub fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        self.inner.store.list_buckets()
    }

    /// An upload's record.
    pub fn get_multipart(&self, upload_id: &str) -> Result<Option<MultipartRecord>> {
        self.inner.store.get_multipart(upload_id)
    }

    /// One page of a bucket's uploads; see [`MultipartQuery`].
    pub fn list_multipart(&self, bucket: &str, query: &MultipartQuery) -> Result<MultipartPage> {
        self.inner.store.list_multipart(bucket, query)
    }
}

fn check_replicate(n: u32) -> Result<()> {
    if n > MAX_REPLICATE_INTENTS {
        return Err(CatalogError::InvalidInput("too many replication intents"));
    }
    Ok(())
}

fn check_upload_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_UPLOAD_ID_LEN {
        return Err(CatalogError::InvalidInput("upload id empty or too long"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
