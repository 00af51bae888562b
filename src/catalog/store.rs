//! The fjall database behind the catalog: opening it, checking the schema,
//! reading the counters back, and every synchronous read.
//!
//! Reads take no lock of ours: fjall serves them from memtables and the block
//! cache, so they are safe to call from executor threads.

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::catalog::codec::{self, ObjectKey};
use crate::catalog::model::{
    BackendUsage, BucketRecord, MonthlyUsage, MultipartPage, MultipartQuery, MultipartRecord,
    ObjectRecord, QueueId, QueueItem, QueueKind,
};
use crate::catalog::{CatalogError, CatalogOptions, Result, MAX_LIST_KEYS, MAX_QUEUE_PEEK};

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
pub(crate) struct Store {
    pub(crate) db: Database,
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

impl Store {
    /// Opens or creates the database and its keyspaces; writes the schema
    /// version into a new database and refuses an unknown one.
    pub(crate) fn open(path: &Path, options: &CatalogOptions) -> Result<Self> {
        // Manual persistence: the writer thread decides when to fsync (once per
        // group), batch commits only append to the journal.
        let db = Database::builder(path)
            .manual_journal_persist(true)
            .cache_size(options.cache_size_bytes)
            .open()?;
        let ks = |name: &str| db.keyspace(name, KeyspaceCreateOptions::default);
        let store = Self {
            objects: ks("objects")?,
            backends: ks("backends")?,
            multipart: ks("multipart")?,
            queue: ks("queue")?,
            buckets: ks("buckets")?,
            meta: ks("meta")?,
            db,
        };
        match store.meta.get(META_SCHEMA)? {
            Some(raw) => {
                if codec::decode_u64(&raw)? != SCHEMA_VERSION {
                    return Err(CatalogError::Corrupt("unsupported schema version"));
                }
            }
            None => {
                let mut buf = Vec::new();
                codec::encode_u64(SCHEMA_VERSION, &mut buf);
                store.meta.insert(META_SCHEMA, buf)?;
                store.db.persist(PersistMode::SyncAll)?;
            }
        }
        Ok(store)
    }

    /// Reads the persistent counters back.
    pub(crate) fn load_counters(&self) -> Result<Counters> {
        let read = |key: &[u8]| -> Result<u64> {
            match self.meta.get(key)? {
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
        match self.objects.get(k)? {
            Some(raw) => codec::decode_object(&raw).map(Some),
            None => Ok(None),
        }
    }

    /// Up to `limit` objects of all buckets in key order, starting after
    /// `after` (bucket, key): lets background work walk the whole catalog in
    /// bounded steps.
    pub(crate) fn scan_objects(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, ObjectRecord)>> {
        let limit = limit.min(MAX_LIST_KEYS);
        let start = match after {
            Some((b, k)) => std::ops::Bound::Excluded(ObjectKey::new(b, k)?.as_ref().to_vec()),
            None => std::ops::Bound::Unbounded,
        };
        let mut out = Vec::with_capacity(limit);
        let range = (start, std::ops::Bound::<Vec<u8>>::Unbounded);
        for guard in self.objects.range::<Vec<u8>, _>(range).take(limit) {
            let (k, v) = guard.into_inner()?;
            let (bucket, key) = codec::decode_object_key(&k)?;
            out.push((bucket.to_owned(), key.to_owned(), codec::decode_object(&v)?));
        }
        Ok(out)
    }

    pub(crate) fn bucket_is_empty(&self, bucket: &str) -> Result<bool> {
        let mut prefix = Vec::with_capacity(1 + bucket.len());
        codec::push_bucket_prefix(&mut prefix, bucket)?;
        match self.objects.prefix(&prefix).next() {
            None => Ok(true),
            Some(guard) => guard.key().map(|_| false).map_err(CatalogError::from),
        }
    }

    pub(crate) fn count_objects(&self, bucket: &str) -> Result<u64> {
        let mut prefix = Vec::with_capacity(1 + bucket.len());
        codec::push_bucket_prefix(&mut prefix, bucket)?;
        let mut n = 0u64;
        for guard in self.objects.prefix(&prefix) {
            guard.key()?;
            n += 1;
        }
        Ok(n)
    }

    pub(crate) fn usage(&self, backend: &str) -> Result<BackendUsage> {
        match self.backends.get(backend)? {
            Some(raw) => codec::decode_usage(&raw),
            None => Ok(BackendUsage::default()),
        }
    }

    pub(crate) fn monthly_usage(&self, backend: &str, month: u32) -> Result<MonthlyUsage> {
        match self
            .backends
            .get(codec::monthly_usage_key(backend, month))?
        {
            Some(raw) => codec::decode_monthly_usage(&raw),
            None => Ok(MonthlyUsage::default()),
        }
    }

    pub(crate) fn all_usage(&self) -> Result<Vec<(String, BackendUsage)>> {
        let mut out = Vec::new();
        for guard in self.backends.iter() {
            let (k, v) = guard.into_inner()?;
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
        for guard in self.queue.prefix([kind.tag()]).take(n) {
            let (k, v) = guard.into_inner()?;
            out.push((codec::decode_queue_key(&k)?, codec::decode_queue_item(&v)?));
        }
        Ok(out)
    }

    /// Items in one queue (a key-only prefix walk: O(queue length), for an occasional gauge).
    pub(crate) fn queue_len(&self, kind: QueueKind) -> Result<u64> {
        let mut n = 0u64;
        for guard in self.queue.prefix([kind.tag()]) {
            guard.key()?;
            n += 1;
        }
        Ok(n)
    }

    pub(crate) fn get_bucket(&self, name: &str) -> Result<Option<BucketRecord>> {
        match self.buckets.get(name)? {
            Some(raw) => codec::decode_bucket(&raw).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn list_buckets(&self) -> Result<Vec<BucketRecord>> {
        let mut out = Vec::new();
        for guard in self.buckets.iter() {
            let (_, v) = guard.into_inner()?;
            out.push(codec::decode_bucket(&v)?);
        }
        Ok(out)
    }

    pub(crate) fn get_multipart(&self, upload_id: &str) -> Result<Option<MultipartRecord>> {
        match self.multipart.get(codec::mp_record_key(upload_id))? {
            Some(raw) => codec::decode_multipart(&raw).map(Some),
            None => Ok(None),
        }
    }

    /// Scans the bucket's upload index from the markers on, fetching each
    /// record by id.
    pub(crate) fn list_multipart(
        &self,
        bucket: &str,
        query: &MultipartQuery,
    ) -> Result<MultipartPage> {
        let max = query.max_uploads.min(MAX_LIST_KEYS);
        let mut page = MultipartPage::default();
        if max == 0 {
            return Ok(page);
        }
        let mut base = Vec::new();
        codec::push_mp_index_bucket(&mut base, bucket)?;
        let mut scan = base.clone();
        codec::push_escaped(&mut scan, query.prefix.as_bytes());
        let mut end = scan.clone();
        let end = if codec::prefix_successor(&mut end) {
            std::ops::Bound::Excluded(end)
        } else {
            std::ops::Bound::Unbounded
        };
        let start = match &query.key_marker {
            None => std::ops::Bound::Included(scan.clone()),
            Some(marker) => {
                let mut s = base.clone();
                codec::push_escaped(&mut s, marker.as_bytes());
                s.extend_from_slice(&codec::ESCAPED_TERMINATOR);
                match &query.upload_id_marker {
                    // Same key, later upload ids; then later keys.
                    Some(id) => {
                        s.extend_from_slice(id.as_bytes());
                        std::ops::Bound::Excluded(s)
                    }
                    // Past every upload of the marker key.
                    None => {
                        if !codec::prefix_successor(&mut s) {
                            return Ok(page);
                        }
                        std::ops::Bound::Included(s)
                    }
                }
            }
        };
        // A marker below the prefix range must not widen it.
        let start = match start {
            std::ops::Bound::Included(s) | std::ops::Bound::Excluded(s) if s < scan => {
                std::ops::Bound::Included(scan)
            }
            other => other,
        };
        if crate::catalog::list::range_is_empty(&start, &end) {
            return Ok(page);
        }
        for guard in self.multipart.range::<Vec<u8>, _>((start, end)) {
            let k = guard.key()?;
            let upload_id = index_upload_id(&k, base.len())?;
            if page.uploads.len() == max {
                page.is_truncated = true;
                break;
            }
            let rec = self
                .get_multipart(upload_id)?
                .ok_or(CatalogError::Corrupt("multipart index without record"))?;
            page.uploads.push(rec);
        }
        if page.is_truncated {
            if let Some(last) = page.uploads.last() {
                page.next_key_marker = Some(last.key.clone());
                page.next_upload_id_marker = Some(last.upload_id.clone());
            }
        }
        Ok(page)
    }
}

/// Upload id of a bucket-index key: the bytes after the escaped key's terminator.
fn index_upload_id(k: &[u8], base_len: usize) -> Result<&str> {
    let rest = k
        .get(base_len..)
        .ok_or(CatalogError::Corrupt("multipart index key"))?;
    // The escaped key holds 0x00 only as 0x00 0xFF; the first 0x00 0x00 pair is
    // the terminator.
    let mut i = 0;
    while i + 1 < rest.len() {
        if rest[i] == 0 {
            if rest[i + 1] == 0 {
                return std::str::from_utf8(&rest[i + 2..])
                    .map_err(|_| CatalogError::Corrupt("upload id not UTF-8"));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Err(CatalogError::Corrupt(
        "multipart index key without terminator",
    ))
}
