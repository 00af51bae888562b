//! The fjall implementation of the catalog: one embedded LSM database per node, in the
//! directory `catalog.path` (fjall locks it: one process at a time).
//!
//! # Layout
//! - `store`: opening the database (keyspaces, schema version, counters) and the point reads.
//! - `list`: range reads: `ListObjects` (seeking past common prefixes), the catalog-wide scan,
//!   `ListMultipartUploads`.
//! - `codec`: ordered key encodings and the versioned binary value format.
//! - `writer`: the single writer thread and its group commit; `overlay` holds a group's
//!   pending changes; `apply` is what each write request decides.
//!
//! # Keyspaces
//! `objects` (bucket + key → `ObjectRecord`), `backends` (name →
//! `BackendUsage`; `\0` name `\0` month → `MonthlyUsage`), `multipart` (upload id →
//! `MultipartRecord`, plus a per-bucket index, each stored part's size, and the kept answers of
//! completed uploads with their expiry index), `queue` (`QueueId` → `QueueItem`),
//! `buckets` (name → `BucketRecord`), `meta` (schema version, generation and queue counters).
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
//! - **Reads** are plain synchronous calls (memtable and block cache lookups, a
//!   block read from disk on a cache miss), from any thread.
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
//! A caller whose future is dropped after its request entered the channel still gets its
//! write applied; only the answer is discarded.

mod apply;
mod codec;
mod list;
mod overlay;
mod store;
mod writer;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use super::interface::{CatalogStore, WriteFuture};
use super::model::{
    AddCopyOutcome, BackendUsage, BucketRecord, CompletedUpload, Copy, CreateBucketOutcome,
    DeleteBucketOutcome, ListPage, ListQuery, MonthlyUsage, MultipartPage, MultipartQuery,
    MultipartRecord, ObjectRecord, PutOutcome, QueueId, QueueItem, QueueKind, StoredPart,
};
use super::{CatalogError, Result};
use store::Db;
use writer::{Op, Writer, WriterCounters};

/// Most write requests applied in one batch / one fsync. Bounds the memory of
/// a batch and the wait of the first request in it; under load one fsync
/// (about a millisecond or more) still serves hundreds of writes.
pub(crate) const MAX_GROUP_COMMIT: usize = 512;

/// Capacity of the write channel. Bounded so that a slow disk pushes back on
/// request handlers (their `send_async` waits) instead of growing memory.
pub(crate) const WRITE_QUEUE_CAPACITY: usize = 4096;

/// Block cache size: enough for the hot part of a catalog of a few
/// million objects without being a noticeable share of RAM.
pub(crate) const DEFAULT_CACHE_SIZE_BYTES: u64 = 64 * 1024 * 1024;

/// A fjall failure as a catalog error (the fjall error stays behind it as an opaque source).
pub(crate) fn storage(e: ::fjall::Error) -> CatalogError {
    CatalogError::storage(e)
}

/// The fjall store: the database for reads and the channel to its writer thread.
///
/// Dropping it stops the writer thread (after it finished the requests already
/// queued) and closes the database, so it can be reopened.
pub(crate) struct FjallStore {
    db: Db,
    /// Read only by the tests that prove group commit.
    #[cfg_attr(not(test), allow(dead_code))]
    stats: Arc<WriterCounters>,
    /// `Option` only so `Drop` can disconnect the channel before joining.
    tx: Option<flume::Sender<Op>>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for FjallStore {
    fn drop(&mut self) {
        // Disconnecting ends the writer's receive loop once the queue is empty.
        self.tx = None;
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

impl FjallStore {
    /// Opens (or creates) the database in `path` and starts the writer thread.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let db = Db::open(path, DEFAULT_CACHE_SIZE_BYTES)?;
        let counters = db.load_counters()?;
        let (tx, rx) = flume::bounded(WRITE_QUEUE_CAPACITY);
        let stats = Arc::new(WriterCounters::default());
        let writer_db = db.clone();
        let writer_stats = Arc::clone(&stats);
        let writer = std::thread::Builder::new()
            .name("catalog-writer".into())
            .spawn(move || writer::run(writer_db, counters, rx, writer_stats))
            .map_err(CatalogError::storage)?;
        Ok(Self {
            db,
            stats,
            tx: Some(tx),
            writer: Some(writer),
        })
    }

    /// Sends one request to the writer thread and awaits its durable answer. `decision` runs
    /// on the writer thread (see [`Writer::decide`]); nothing is sent before the first poll.
    fn call<T: Send + 'static>(
        &self,
        decision: impl FnOnce(&mut Writer) -> Result<T> + Send + 'static,
    ) -> WriteFuture<'_, T> {
        Box::pin(async move {
            let tx = self.tx.as_ref().ok_or(CatalogError::Closed)?;
            let (reply_tx, reply_rx) = flume::bounded(1);
            let op: Op = Box::new(move |w: &mut Writer| w.decide(reply_tx, decision));
            tx.send_async(op).await.map_err(|_| CatalogError::Closed)?;
            reply_rx
                .recv_async()
                .await
                .map_err(|_| CatalogError::Closed)?
        })
    }
}

impl CatalogStore for FjallStore {
    fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        self.db.get_object(bucket, key)
    }

    fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        self.db.get_bucket(name)
    }

    fn get_multipart(&self, upload_id: &str) -> Result<Option<MultipartRecord>> {
        self.db.get_multipart(upload_id)
    }

    fn get_completed_upload(&self, upload_id: &str) -> Result<Option<CompletedUpload>> {
        self.db.get_completed_upload(upload_id)
    }

    fn all_usage(&self) -> Result<Vec<(String, BackendUsage)>> {
        self.db.all_usage()
    }

    fn monthly_usage(&self, backend: &str, month: u32) -> Result<MonthlyUsage> {
        self.db.monthly_usage(backend, month)
    }

    fn list_objects(&self, bucket: &str, query: &ListQuery) -> Result<ListPage> {
        list::list_objects(&self.db, bucket, query).map(|(page, _)| page)
    }

    fn scan_objects(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, ObjectRecord)>> {
        list::scan_objects(&self.db, after, limit)
    }

    fn list_multipart(&self, bucket: &str, query: &MultipartQuery) -> Result<MultipartPage> {
        list::list_multipart(&self.db, bucket, query)
    }

    fn count_multipart(&self, bucket: &str, at_most: usize) -> Result<usize> {
        list::count_multipart(&self.db, bucket, at_most)
    }

    fn all_parts(&self) -> Result<Vec<(String, u32, u64)>> {
        self.db.all_parts()
    }

    fn upload_parts(&self, upload_id: &str) -> Result<Vec<StoredPart>> {
        self.db.upload_parts(upload_id)
    }

    fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        self.db.list_buckets()
    }

    fn data_buckets(&self) -> Result<Vec<String>> {
        list::data_buckets(&self.db)
    }

    fn queue_peek(&self, kind: QueueKind, n: usize) -> Result<Vec<(QueueId, QueueItem)>> {
        self.db.queue_peek(kind, n)
    }

    fn queue_len(&self, kind: QueueKind) -> Result<u64> {
        self.db.queue_len(kind)
    }

    fn queue_push(&self, item: QueueItem) -> WriteFuture<'_, QueueId> {
        self.call(move |w| Ok(w.queue_push(&item)))
    }

    fn queue_ack(&self, id: QueueId) -> WriteFuture<'_, bool> {
        self.call(move |w| w.queue_ack(id))
    }

    fn put_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        record: ObjectRecord,
        replicate: u32,
    ) -> WriteFuture<'a, PutOutcome> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.call(move |w| w.put(&bucket, &key, record, replicate))
    }

    fn delete_object<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> WriteFuture<'a, Option<ObjectRecord>> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.call(move |w| w.delete(&bucket, &key))
    }

    fn add_copy<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        generation: u64,
        copy: Copy,
    ) -> WriteFuture<'a, AddCopyOutcome> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.call(move |w| w.add_copy(&bucket, &key, generation, copy))
    }

    fn remove_copy<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        generation: u64,
        backend: &'a str,
        backend_key: &'a str,
    ) -> WriteFuture<'a, bool> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let (backend, backend_key) = (backend.to_owned(), backend_key.to_owned());
        self.call(move |w| w.remove_copy(&bucket, &key, generation, &backend, &backend_key))
    }

    fn set_monthly_usage<'a>(
        &'a self,
        backend: &'a str,
        month: u32,
        usage: MonthlyUsage,
    ) -> WriteFuture<'a, ()> {
        let backend = backend.to_owned();
        self.call(move |w| {
            w.set_monthly_usage(&backend, month, &usage);
            Ok(())
        })
    }

    fn create_bucket(&self, record: BucketRecord) -> WriteFuture<'_, CreateBucketOutcome> {
        self.call(move |w| w.create_bucket(&record))
    }

    fn delete_bucket<'a>(&'a self, name: &'a str) -> WriteFuture<'a, DeleteBucketOutcome> {
        let name = name.to_owned();
        self.call(move |w| w.delete_bucket(&name))
    }

    fn replace_bucket<'a>(
        &'a self,
        name: &'a str,
        record: Option<BucketRecord>,
    ) -> WriteFuture<'a, Option<BucketRecord>> {
        let name = name.to_owned();
        self.call(move |w| w.replace_bucket(&name, record.as_ref()))
    }

    fn create_multipart(&self, record: MultipartRecord) -> WriteFuture<'_, bool> {
        self.call(move |w| w.create_multipart(&record))
    }

    fn delete_multipart<'a>(
        &'a self,
        upload_id: &'a str,
    ) -> WriteFuture<'a, Option<MultipartRecord>> {
        let upload_id = upload_id.to_owned();
        self.call(move |w| w.delete_multipart(&upload_id))
    }

    fn record_part<'a>(
        &'a self,
        upload_id: &'a str,
        part_number: u32,
        size: u64,
        etag: &'a str,
    ) -> WriteFuture<'a, bool> {
        let (upload_id, etag) = (upload_id.to_owned(), etag.to_owned());
        self.call(move |w| w.record_part(&upload_id, part_number, size, &etag))
    }

    fn complete_multipart<'a>(
        &'a self,
        upload_id: &'a str,
        record: ObjectRecord,
        replicate: u32,
    ) -> WriteFuture<'a, Option<PutOutcome>> {
        let upload_id = upload_id.to_owned();
        self.call(move |w| w.complete_multipart(&upload_id, record, replicate))
    }
}
