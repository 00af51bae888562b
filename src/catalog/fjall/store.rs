//! The fjall database behind the catalog: opening it, checking the schema,
//! reading the counters back, the point reads, the whole-keyspace reads (buckets, usage) and
//! the queue reads. Listings with a query are in `list`.
//!
//! Reads take no lock of ours: fjall serves them from memtables and the block
//! cache (reading a block from disk on a miss), so they are safe to call from executor threads.

use std::path::Path;

use ::fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::codec::{self, ObjectKey};
use super::storage;
use crate::catalog::limits::MAX_QUEUE_PEEK;
use crate::catalog::model::{
    BackendUsage, BucketRecord, CompletedUpload, MonthlyUsage, MultipartRecord, ObjectRecord,
    QueueId, QueueItem, QueueKind, StoredPart,
};
use crate::catalog::{CatalogError, Result};

/// Version of the keyspace layout and value formats as a whole. A database
/// written by a newer layout is refused rather than misread.
pub(crate) const SCHEMA_VERSION: u64 = 1;

/// `meta` key of the schema version.
pub(crate) const META_SCHEMA: &[u8] = b"schema_version";
/// `meta` key of the last generation handed out.
pub(crate) const META_GENERATION: &[u8] = b"generation";
/// `meta` key of the last queue sequence number handed out.
pub(crate) const META_QUEUE_SEQ: &[u8] = b"queue_seq";

/// The database and its keyspaces (handles are cheap clones).
#[derive(Clone)]
pub(crate) struct Db {
    pub(crate) database: Database,
    pub(crate) objects: Keyspace,
    pub(crate) backends: Keyspace,
    pub(crate) multipart: Keyspace,
    pub(crate) queue: Keyspace,
    pub(crate) buckets: Keyspace,
    pub(crate) meta: Keyspace,
}

/// Counters the writer thread continues from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counters {
    /// Last generation handed out (0: none yet).
    pub(crate) generation: u64,
    /// Last queue sequence number handed out (0: none yet).
    pub(crate) queue_seq: u64,
}

impl Db {
    /// Opens or creates the database and its keyspaces; writes the schema
    /// version into a new database and refuses an unknown one.
    pub(crate) fn open(path: &Path, cache_size_bytes: u64) -> Result<Self> {
        // Manual persistence: the writer thread decides when to fsync (once per
        // group), batch commits only append to the journal.
        let db = Database::builder(path)
            .manual_journal_persist(true)
            .cache_size(cache_size_bytes)
            .open()
            .map_err(storage)?;
        let ks = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(storage)
        };
        let store = Self {
            objects: ks("objects")?,
            backends: ks("backends")?,
            multipart: ks("multipart")?,
            queue: ks("queue")?,
            buckets: ks("buckets")?,
            meta: ks("meta")?,
            database: db,
        };
        match store.meta.get(META_SCHEMA).map_err(storage)? {
            Some(raw) => {
                if codec::decode_u64(&raw)? != SCHEMA_VERSION {
                    return Err(CatalogError::Corrupt("unsupported schema version"));
                }
            }
            None => {
                let mut buf = Vec::new();
                codec::encode_u64(SCHEMA_VERSION, &mut buf);
                store.meta.insert(META_SCHEMA, buf).map_err(storage)?;
                store
                    .database
                    .persist(PersistMode::SyncAll)
                    .map_err(storage)?;
            }
        }
        Ok(store)
    }

    /// Reads the persistent counters back.
    pub(crate) fn load_counters(&self) -> Result<Counters> {
        let read = |key: &[u8]| -> Result<u64> {
            match self.meta.get(key).map_err(storage)? {
                Some(raw) => codec::decode_u64(&raw),
                None => Ok(0),
            }
        };
        Ok(Counters {
            generation: read(META_GENERATION)?,
            queue_seq: read(META_QUEUE_SEQ)?,
        })
    }

    pub(crate) fn get_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        let k = ObjectKey::new(bucket, key)?;
        match self.objects.get(k).map_err(storage)? {
            Some(raw) => codec::decode_object(&raw).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn monthly_usage(&self, backend: &str, month: u32) -> Result<MonthlyUsage> {
        let k = codec::monthly_usage_key(backend, month);
        match self.backends.get(k).map_err(storage)? {
            Some(raw) => codec::decode_monthly_usage(&raw),
            None => Ok(MonthlyUsage::default()),
        }
    }

    pub(crate) fn all_usage(&self) -> Result<Vec<(String, BackendUsage)>> {
        let mut out = Vec::new();
        for guard in self.backends.iter() {
            let (k, v) = guard.into_inner().map_err(storage)?;
            if k.first() == Some(&codec::MONTHLY_USAGE_TAG) {
                continue;
            }
            let name = std::str::from_utf8(&k)
                .map_err(|_| CatalogError::Corrupt("backend name not UTF-8"))?;
            out.push((name.to_owned(), codec::decode_usage(&v)?));
        }
        Ok(out)
    }

    pub(crate) fn queue_peek(
        &self,
        kind: QueueKind,
        n: usize,
    ) -> Result<Vec<(QueueId, QueueItem)>> {
        let n = n.min(MAX_QUEUE_PEEK);
        let mut out = Vec::with_capacity(n);
        for guard in self.queue.prefix([codec::queue_tag(kind)]).take(n) {
            let (k, v) = guard.into_inner().map_err(storage)?;
            out.push((codec::decode_queue_key(&k)?, codec::decode_queue_item(&v)?));
        }
        Ok(out)
    }

    /// Items in one queue (a key-only prefix walk: O(queue length), for an occasional gauge).
    pub(crate) fn queue_len(&self, kind: QueueKind) -> Result<u64> {
        let mut n = 0u64;
        for guard in self.queue.prefix([codec::queue_tag(kind)]) {
            guard.key().map_err(storage)?;
            n += 1;
        }
        Ok(n)
    }

    pub(crate) fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        match self.buckets.get(name).map_err(storage)? {
            Some(raw) => codec::decode_bucket(&raw).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        let mut out = Vec::new();
        for guard in self.buckets.iter() {
            let (_, v) = guard.into_inner().map_err(storage)?;
            out.push(codec::decode_bucket(&v)?);
        }
        Ok(out)
    }

    pub(crate) fn get_multipart(&self, upload_id: &str) -> Result<Option<MultipartRecord>> {
        match self
            .multipart
            .get(codec::mp_record_key(upload_id))
            .map_err(storage)?
        {
            Some(raw) => codec::decode_multipart(&raw).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn get_completed_upload(&self, upload_id: &str) -> Result<Option<CompletedUpload>> {
        match self
            .multipart
            .get(codec::mp_done_key(upload_id))
            .map_err(storage)?
        {
            Some(raw) => codec::decode_completed(&raw).map(Some),
            None => Ok(None),
        }
    }

    /// Every stored part of every upload in progress, as (upload id, part number, size), by
    /// upload id then part number.
    pub(crate) fn all_parts(&self) -> Result<Vec<(String, u32, u64)>> {
        let mut out = Vec::new();
        for guard in self.multipart.prefix([codec::MP_PART_TAG]) {
            let (k, v) = guard.into_inner().map_err(storage)?;
            let (upload_id, n) = codec::decode_mp_part_key(&k)?;
            out.push((upload_id.to_owned(), n, codec::decode_part(&v)?.0));
        }
        Ok(out)
    }

    /// The recorded parts of one upload, by part number.
    pub(crate) fn upload_parts(&self, upload_id: &str) -> Result<Vec<StoredPart>> {
        let mut out = Vec::new();
        for guard in self.multipart.prefix(codec::mp_part_prefix(upload_id)?) {
            let (k, v) = guard.into_inner().map_err(storage)?;
            let (_, part_number) = codec::decode_mp_part_key(&k)?;
            let (size, etag) = codec::decode_part(&v)?;
            out.push(StoredPart {
                part_number,
                size,
                etag,
            });
        }
        Ok(out)
    }
}
