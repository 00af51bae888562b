//! What each write request decides on the writer thread, against the database plus the
//! group's overlay. Object writes follow `rules`; an `Err` rolls the request's changes back.

use super::codec::{self, ObjectKey};
use super::overlay::Ks;
use super::writer::Writer;
use crate::catalog::limits::{COMPLETED_UPLOAD_RETENTION_MS, MAX_COMPLETED_PURGE_PER_WRITE};
use crate::catalog::model::{
    AddCopyOutcome, BucketRecord, CompletedUpload, Copy, CreateBucketOutcome, DeleteBucketOutcome,
    MonthlyUsage, MultipartRecord, ObjectRecord, PutOutcome, QueueId, QueueItem,
};
use crate::catalog::rules::{self, CopyChange};
use crate::catalog::Result;

impl Writer {
    /// Stores `change`'s record (if any) at `okey` and applies its effects.
    fn apply_change(&mut self, okey: &[u8], change: CopyChange) -> Result<()> {
        self.apply_effects(&change.effects)?;
        if let Some(record) = &change.record {
            self.write_object(okey, record);
        }
        Ok(())
    }

    pub(crate) fn put(
        &mut self,
        bucket: &str,
        key: &str,
        mut record: ObjectRecord,
        replicate: u32,
    ) -> Result<PutOutcome> {
        let okey = ObjectKey::new(bucket, key)?;
        let previous = self.read_object(okey.as_ref())?;
        record.generation = self.next_generation();
        self.write_object(okey.as_ref(), &record);
        let effects = rules::put_effects(bucket, key, &record, previous.as_ref(), replicate);
        self.apply_effects(&effects)?;
        Ok(PutOutcome {
            generation: record.generation,
            previous,
        })
    }

    pub(crate) fn delete(&mut self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        let okey = ObjectKey::new(bucket, key)?;
        let Some(prev) = self.read_object(okey.as_ref())? else {
            return Ok(None);
        };
        self.overlay.set(Ks::Objects, okey.as_ref(), None);
        self.apply_effects(&rules::delete_effects(&prev))?;
        Ok(Some(prev))
    }

    pub(crate) fn add_copy(
        &mut self,
        bucket: &str,
        key: &str,
        generation: u64,
        copy: Copy,
    ) -> Result<AddCopyOutcome> {
        let okey = ObjectKey::new(bucket, key)?;
        let current = self.read_object(okey.as_ref())?;
        let (outcome, change) = rules::add_copy(current, generation, copy);
        self.apply_change(okey.as_ref(), change)?;
        Ok(outcome)
    }

    pub(crate) fn remove_copy(
        &mut self,
        bucket: &str,
        key: &str,
        generation: u64,
        backend: &str,
        backend_key: &str,
    ) -> Result<bool> {
        let okey = ObjectKey::new(bucket, key)?;
        let current = self.read_object(okey.as_ref())?;
        match rules::remove_copy(current, generation, backend, backend_key) {
            None => Ok(false),
            Some(change) => {
                self.apply_change(okey.as_ref(), change)?;
                Ok(true)
            }
        }
    }

    pub(crate) fn set_monthly_usage(&mut self, backend: &str, month: u32, usage: &MonthlyUsage) {
        codec::encode_monthly_usage(usage, self.buf());
        self.put_encoded(Ks::Backends, &codec::monthly_usage_key(backend, month));
    }

    pub(crate) fn queue_push(&mut self, item: &QueueItem) -> QueueId {
        self.enqueue(item)
    }

    pub(crate) fn queue_ack(&mut self, id: QueueId) -> Result<bool> {
        let k = codec::queue_key(id);
        if self.read(Ks::Queue, &k)?.is_none() {
            return Ok(false);
        }
        self.overlay.set(Ks::Queue, &k, None);
        Ok(true)
    }

    pub(crate) fn create_bucket(&mut self, record: &BucketRecord) -> Result<CreateBucketOutcome> {
        if let Some(raw) = self.read(Ks::Buckets, record.name.as_bytes())? {
            let existing = codec::decode_bucket(&raw)?;
            return Ok(CreateBucketOutcome::AlreadyExists {
                owner: existing.owner_access_key,
            });
        }
        if self.bucket_has_objects(&record.name)? || self.bucket_has_uploads(&record.name)? {
            return Ok(CreateBucketOutcome::HoldsData);
        }
        codec::encode_bucket(record, self.buf());
        self.put_encoded(Ks::Buckets, record.name.as_bytes());
        Ok(CreateBucketOutcome::Created)
    }

    pub(crate) fn replace_bucket(
        &mut self,
        name: &str,
        record: Option<&BucketRecord>,
    ) -> Result<Option<BucketRecord>> {
        let previous = match self.read(Ks::Buckets, name.as_bytes())? {
            Some(raw) => Some(codec::decode_bucket(&raw)?),
            None => None,
        };
        match record {
            Some(r) => {
                codec::encode_bucket(r, self.buf());
                self.put_encoded(Ks::Buckets, name.as_bytes());
            }
            None => self.overlay.set(Ks::Buckets, name.as_bytes(), None),
        }
        Ok(previous)
    }

    pub(crate) fn delete_bucket(&mut self, name: &str) -> Result<DeleteBucketOutcome> {
        let Some(raw) = self.read(Ks::Buckets, name.as_bytes())? else {
            return Ok(DeleteBucketOutcome::NotFound);
        };
        let record = codec::decode_bucket(&raw)?;
        if self.bucket_has_objects(name)? {
            return Ok(DeleteBucketOutcome::NotEmpty);
        }
        self.overlay.set(Ks::Buckets, name.as_bytes(), None);
        Ok(DeleteBucketOutcome::Deleted(record))
    }

    /// Whether the bucket holds an object, counting this group's changes.
    fn bucket_has_objects(&self, bucket: &str) -> Result<bool> {
        let mut prefix = Vec::new();
        codec::push_bucket_prefix(&mut prefix, bucket)?;
        self.has_key_under(Ks::Objects, &prefix)
    }

    /// Whether the bucket has a multipart upload in progress, counting this group's changes.
    fn bucket_has_uploads(&self, bucket: &str) -> Result<bool> {
        let mut prefix = Vec::new();
        codec::push_mp_index_bucket(&mut prefix, bucket)?;
        self.has_key_under(Ks::Multipart, &prefix)
    }

    /// Whether `ks` holds a key starting with `prefix`, counting this group's changes.
    fn has_key_under(&self, ks: Ks, prefix: &[u8]) -> Result<bool> {
        // Stored keys, unless this group deleted them (bounded by the group size).
        for guard in ks.of(self.db()).prefix(prefix) {
            let k = guard.key().map_err(super::storage)?;
            match self.overlay.get(ks, &k) {
                Some(None) => continue,
                _ => return Ok(true),
            }
        }
        // Keys this group added.
        Ok(self
            .overlay
            .map
            .iter()
            .any(|((k_ks, k), v)| *k_ks == ks && v.is_some() && k.starts_with(prefix)))
    }

    pub(crate) fn create_multipart(&mut self, record: &MultipartRecord) -> Result<bool> {
        let rkey = codec::mp_record_key(&record.upload_id);
        if self.read(Ks::Multipart, &rkey)?.is_some() {
            return Ok(false);
        }
        let ikey = codec::mp_index_key(&record.bucket, &record.key, &record.upload_id)?;
        codec::encode_multipart(record, self.buf());
        self.put_encoded(Ks::Multipart, &rkey);
        self.overlay.set(Ks::Multipart, &ikey, Some(Vec::new()));
        Ok(true)
    }

    pub(crate) fn delete_multipart(&mut self, upload_id: &str) -> Result<Option<MultipartRecord>> {
        let rkey = codec::mp_record_key(upload_id);
        let Some(raw) = self.read(Ks::Multipart, &rkey)? else {
            return Ok(None);
        };
        let record = codec::decode_multipart(&raw)?;
        let ikey = codec::mp_index_key(&record.bucket, &record.key, &record.upload_id)?;
        self.overlay.set(Ks::Multipart, &rkey, None);
        self.overlay.set(Ks::Multipart, &ikey, None);
        self.delete_parts(upload_id)?;
        Ok(Some(record))
    }

    /// Records that part `part_number` of the upload is stored with `size` bytes and `etag`
    /// (replacing a part uploaded before under that number: the last recorded wins). False, and
    /// no change, if the upload no longer exists (completed or aborted while the part was
    /// uploading).
    pub(crate) fn record_part(
        &mut self,
        upload_id: &str,
        part_number: u32,
        size: u64,
        etag: &str,
    ) -> Result<bool> {
        if self
            .read(Ks::Multipart, &codec::mp_record_key(upload_id))?
            .is_none()
        {
            return Ok(false);
        }
        let pkey = codec::mp_part_key(upload_id, part_number)?;
        codec::encode_part(size, etag, self.buf());
        self.put_encoded(Ks::Multipart, &pkey);
        Ok(true)
    }

    /// Removes every part key of the upload, stored or added by this group (at most
    /// `MAX_PART_NUMBER` of them).
    fn delete_parts(&mut self, upload_id: &str) -> Result<()> {
        let prefix = codec::mp_part_prefix(upload_id)?;
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for guard in self.db().multipart.prefix(&prefix) {
            keys.push(guard.key().map_err(super::storage)?.to_vec());
        }
        keys.extend(
            self.overlay
                .map
                .iter()
                .filter(|((ks, k), v)| {
                    *ks == Ks::Multipart && v.is_some() && k.starts_with(&prefix)
                })
                .map(|((_, k), _)| k.clone()),
        );
        for k in keys {
            self.overlay.set(Ks::Multipart, &k, None);
        }
        Ok(())
    }

    pub(crate) fn complete_multipart(
        &mut self,
        upload_id: &str,
        record: ObjectRecord,
        replicate: u32,
    ) -> Result<Option<PutOutcome>> {
        let Some(upload) = self.delete_multipart(upload_id)? else {
            return Ok(None);
        };
        let done = CompletedUpload {
            bucket: upload.bucket.clone(),
            key: upload.key.clone(),
            etag: record.etag.clone(),
            completed_ms: record.last_modified_ms,
        };
        let outcome = self.put(&upload.bucket, &upload.key, record, replicate)?;
        self.purge_completed(done.completed_ms - COMPLETED_UPLOAD_RETENTION_MS)?;
        codec::encode_completed(&done, self.buf());
        self.put_encoded(Ks::Multipart, &codec::mp_done_key(upload_id));
        let age_key = codec::mp_done_age_key(done.completed_ms, upload_id);
        self.overlay.set(Ks::Multipart, &age_key, Some(Vec::new()));
        Ok(Some(outcome))
    }

    /// Removes up to `MAX_COMPLETED_PURGE_PER_WRITE` kept answers of uploads completed before
    /// `before_ms`, oldest first (stored ones; this group's own are recent).
    fn purge_completed(&mut self, before_ms: i64) -> Result<()> {
        let mut expired: Vec<(Vec<u8>, String)> = Vec::new();
        for guard in self.db().multipart.prefix([codec::MP_DONE_AGE_TAG]) {
            let key = guard.key().map_err(super::storage)?;
            let (completed_ms, upload_id) = codec::decode_mp_done_age_key(&key)?;
            if completed_ms >= before_ms || expired.len() >= MAX_COMPLETED_PURGE_PER_WRITE {
                break;
            }
            if matches!(self.overlay.get(Ks::Multipart, &key), Some(None)) {
                continue; // already removed by an earlier request of this group
            }
            expired.push((key.to_vec(), upload_id.to_owned()));
        }
        for (age_key, upload_id) in expired {
            self.overlay.set(Ks::Multipart, &age_key, None);
            self.overlay
                .set(Ks::Multipart, &codec::mp_done_key(&upload_id), None);
        }
        Ok(())
    }
}
