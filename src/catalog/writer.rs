//! The catalog's single writer thread and its group commit.
//!
//! Loop: block for one request, take every other queued request up to
//! [`MAX_GROUP_COMMIT`], decide each against the database plus an in-memory
//! overlay of the group's earlier changes, write the whole overlay as one
//! fjall batch, `persist(SyncAll)` once, then answer every request. Requests
//! that fail on their own (bad input, corrupt record) are rolled back out of
//! the overlay and answered with their error; a storage failure fails the whole
//! group. Being the only writer, this thread is the serialisation point that
//! makes conditional writes race-free.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use fjall::PersistMode;

use crate::catalog::codec::{self, ObjectKey};
use crate::catalog::model::{
    AddCopyOutcome, BackendUsage, BucketRecord, Copy, CreateBucketOutcome, DeleteBucketOutcome,
    MonthlyUsage, MultipartRecord, ObjectRecord, PutOutcome, QueueId, QueueItem,
};
use crate::catalog::store::{Counters, Store, META_GENERATION, META_QUEUE_SEQ};
use crate::catalog::{CatalogError, Result, MAX_GROUP_COMMIT};

/// One-slot channel a request is answered on.
pub(crate) type Reply<T> = flume::Sender<Result<T>>;

/// A write request.
pub(crate) enum Op {
    Put {
        bucket: String,
        key: String,
        record: ObjectRecord,
        replicate: u32,
        reply: Reply<PutOutcome>,
    },
    Delete {
        bucket: String,
        key: String,
        reply: Reply<Option<ObjectRecord>>,
    },
    AddCopy {
        bucket: String,
        key: String,
        generation: u64,
        copy: Copy,
        reply: Reply<AddCopyOutcome>,
    },
    RemoveCopy {
        bucket: String,
        key: String,
        generation: u64,
        backend: String,
        backend_key: String,
        reply: Reply<bool>,
    },
    QueuePush {
        item: QueueItem,
        reply: Reply<QueueId>,
    },
    QueueAck {
        id: QueueId,
        reply: Reply<bool>,
    },
    CreateBucket {
        record: BucketRecord,
        reply: Reply<CreateBucketOutcome>,
    },
    DeleteBucket {
        name: String,
        reply: Reply<DeleteBucketOutcome>,
    },
    CreateMultipart {
        record: MultipartRecord,
        reply: Reply<bool>,
    },
    DeleteMultipart {
        upload_id: String,
        reply: Reply<Option<MultipartRecord>>,
    },
    CompleteMultipart {
        upload_id: String,
        record: ObjectRecord,
        replicate: u32,
        reply: Reply<Option<PutOutcome>>,
    },
    SetMonthlyUsage {
        backend: String,
        month: u32,
        usage: MonthlyUsage,
        reply: Reply<()>,
    },
    /// Test hook: the writer reports `paused`, then blocks until `resume`
    /// fires or is dropped, so a test can queue a whole group behind it.
    #[cfg(test)]
    Pause {
        paused: flume::Sender<()>,
        resume: flume::Receiver<()>,
    },
}

/// Counters of the writer thread's work, readable from any thread (metrics).
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    /// Groups taken from the channel.
    pub(crate) groups: AtomicU64,
    /// Requests answered.
    pub(crate) requests: AtomicU64,
    /// Batches made durable (groups that changed something).
    pub(crate) syncs: AtomicU64,
}

/// An answer held back until the group is durable; called with the group's
/// commit error, if any.
type Pending = Box<dyn FnOnce(Option<&CatalogError>)>;

fn pending<T: 'static>(reply: Reply<T>, result: Result<T>) -> Pending {
    Box::new(move |commit_err| {
        let answer = match (result, commit_err) {
            (Ok(_), Some(e)) => Err(e.clone()),
            (r, _) => r,
        };
        // The caller may have gone away (future dropped): nothing to tell.
        let _ = reply.send(answer);
    })
}

/// Which keyspace an overlay entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ks {
    Objects,
    Backends,
    Multipart,
    Queue,
    Buckets,
    Meta,
}

type OverlayKey = (Ks, Vec<u8>);

/// The group's pending changes (`None` value: removal), readable by later
/// requests of the same group, with an undo log for the current request.
#[derive(Default)]
struct Overlay {
    map: HashMap<OverlayKey, Option<Vec<u8>>>,
    undo: Vec<(OverlayKey, Option<Option<Vec<u8>>>)>,
}

impl Overlay {
    fn begin_request(&mut self) {
        self.undo.clear();
    }

    fn rollback_request(&mut self) {
        while let Some((k, prev)) = self.undo.pop() {
            match prev {
                Some(v) => {
                    self.map.insert(k, v);
                }
                None => {
                    self.map.remove(&k);
                }
            }
        }
    }

    fn set(&mut self, ks: Ks, key: &[u8], value: Option<Vec<u8>>) {
        let k = (ks, key.to_vec());
        let prev = self.map.insert(k.clone(), value);
        self.undo.push((k, prev));
    }
}

fn keyspace_of(store: &Store, ks: Ks) -> &fjall::Keyspace {
    match ks {
        Ks::Objects => &store.objects,
        Ks::Backends => &store.backends,
        Ks::Multipart => &store.multipart,
        Ks::Queue => &store.queue,
        Ks::Buckets => &store.buckets,
        Ks::Meta => &store.meta,
    }
}

/// Writer-thread state.
struct Writer {
    store: Store,
    /// Counters as handed out so far (may run ahead of the database).
    counters: Counters,
    /// Counters as last made durable: the batch writes them only when changed.
    saved_counters: Counters,
    overlay: Overlay,
    /// Scratch buffer for encoding values.
    buf: Vec<u8>,
}

/// Runs the writer loop until every sender is gone.
pub(crate) fn run(
    store: Store,
    counters: Counters,
    rx: flume::Receiver<Op>,
    stats: Arc<WriterCounters>,
) {
    let mut w = Writer {
        store,
        counters,
        saved_counters: counters,
        overlay: Overlay::default(),
        buf: Vec::new(),
    };
    let mut group: Vec<Op> = Vec::with_capacity(MAX_GROUP_COMMIT);
    let mut answers: Vec<Pending> = Vec::with_capacity(MAX_GROUP_COMMIT);
    while let Ok(first) = rx.recv() {
        group.push(first);
        while group.len() < MAX_GROUP_COMMIT {
            match rx.try_recv() {
                Ok(op) => group.push(op),
                Err(_) => break,
            }
        }
        for op in group.drain(..) {
            w.overlay.begin_request();
            answers.push(w.apply(op));
        }
        let committed = w.commit();
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats
            .requests
            .fetch_add(answers.len() as u64, Ordering::Relaxed);
        if matches!(committed, Ok(true)) {
            stats.syncs.fetch_add(1, Ordering::Relaxed);
        }
        let committed = committed.map(|_| ());
        for answer in answers.drain(..) {
            answer(committed.as_ref().err());
        }
    }
}

impl Writer {
    // ------------------------------------------------------------ overlay access

    fn keyspace(&self, ks: Ks) -> &fjall::Keyspace {
        keyspace_of(&self.store, ks)
    }

    /// Current value: the group's overlay first, then the database.
    fn read(&self, ks: Ks, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // The lookup key must be owned for the tuple; keys are small.
        if let Some(v) = self.overlay.map.get(&(ks, key.to_vec())) {
            return Ok(v.clone());
        }
        Ok(self.keyspace(ks).get(key)?.map(|v| v.to_vec()))
    }

    fn read_object(&self, key: &[u8]) -> Result<Option<ObjectRecord>> {
        self.read(Ks::Objects, key)?
            .map(|raw| codec::decode_object(&raw))
            .transpose()
    }

    fn write_object(&mut self, key: &[u8], record: &ObjectRecord) {
        codec::encode_object(record, &mut self.buf);
        let v = self.buf.clone();
        self.overlay.set(Ks::Objects, key, Some(v));
    }

    /// Adds (`add`) or subtracts one copy of `size` bytes to a backend's usage.
    /// Subtraction saturates: a drifted counter must not wrap to 2^64.
    fn adjust_usage(&mut self, backend: &str, size: u64, add: bool) -> Result<()> {
        let mut u = match self.read(Ks::Backends, backend.as_bytes())? {
            Some(raw) => codec::decode_usage(&raw)?,
            None => BackendUsage::default(),
        };
        if add {
            u.bytes_used = u.bytes_used.saturating_add(size);
            u.objects = u.objects.saturating_add(1);
        } else {
            u.bytes_used = u.bytes_used.saturating_sub(size);
            u.objects = u.objects.saturating_sub(1);
        }
        codec::encode_usage(&u, &mut self.buf);
        let v = self.buf.clone();
        self.overlay.set(Ks::Backends, backend.as_bytes(), Some(v));
        Ok(())
    }

    fn enqueue(&mut self, item: &QueueItem) -> QueueId {
        self.counters.queue_seq += 1;
        let id = QueueId {
            kind: item.kind(),
            seq: self.counters.queue_seq,
        };
        codec::encode_queue_item(item, &mut self.buf);
        let v = self.buf.clone();
        self.overlay.set(Ks::Queue, &codec::queue_key(id), Some(v));
        id
    }

    fn next_generation(&mut self) -> u64 {
        self.counters.generation += 1;
        self.counters.generation
    }

    // ------------------------------------------------------------ commit

    /// Writes the overlay (and advanced counters) as one batch and fsyncs it;
    /// returns whether there was anything to write.
    fn commit(&mut self) -> Result<bool> {
        if self.counters != self.saved_counters {
            codec::encode_u64(self.counters.generation, &mut self.buf);
            let g = self.buf.clone();
            self.overlay.set(Ks::Meta, META_GENERATION, Some(g));
            codec::encode_u64(self.counters.queue_seq, &mut self.buf);
            let q = self.buf.clone();
            self.overlay.set(Ks::Meta, META_QUEUE_SEQ, Some(q));
        }
        self.overlay.undo.clear();
        if self.overlay.map.is_empty() {
            // Nothing changed: every answer was decided on state that earlier
            // groups already made durable.
            return Ok(false);
        }
        let mut batch = self.store.db.batch();
        for ((ks, key), value) in self.overlay.map.drain() {
            let keyspace = keyspace_of(&self.store, ks);
            match value {
                Some(v) => batch.insert(keyspace, key, v),
                None => batch.remove(keyspace, key),
            }
        }
        batch.commit()?;
        self.store.db.persist(PersistMode::SyncAll)?;
        self.saved_counters = self.counters;
        Ok(true)
    }

    // ------------------------------------------------------------ requests

    /// Decides one request against the overlay; on error its changes are undone.
    fn apply(&mut self, op: Op) -> Pending {
        macro_rules! answer {
            ($reply:expr, $result:expr) => {{
                let result = $result;
                if result.is_err() {
                    self.overlay.rollback_request();
                }
                pending($reply, result)
            }};
        }
        match op {
            Op::Put {
                bucket,
                key,
                record,
                replicate,
                reply,
            } => answer!(reply, self.put(&bucket, &key, record, replicate)),
            Op::Delete { bucket, key, reply } => answer!(reply, self.delete(&bucket, &key)),
            Op::AddCopy {
                bucket,
                key,
                generation,
                copy,
                reply,
            } => answer!(reply, self.add_copy(&bucket, &key, generation, copy)),
            Op::RemoveCopy {
                bucket,
                key,
                generation,
                backend,
                backend_key,
                reply,
            } => answer!(
                reply,
                self.remove_copy(&bucket, &key, generation, &backend, &backend_key)
            ),
            Op::SetMonthlyUsage {
                backend,
                month,
                usage,
                reply,
            } => {
                codec::encode_monthly_usage(&usage, &mut self.buf);
                let v = self.buf.clone();
                let k = codec::monthly_usage_key(&backend, month);
                self.overlay.set(Ks::Backends, &k, Some(v));
                pending(reply, Ok(()))
            }
            Op::QueuePush { item, reply } => answer!(reply, Ok(self.enqueue(&item))),
            Op::QueueAck { id, reply } => answer!(reply, self.queue_ack(id)),
            Op::CreateBucket { record, reply } => answer!(reply, self.create_bucket(record)),
            Op::DeleteBucket { name, reply } => answer!(reply, self.delete_bucket(&name)),
            Op::CreateMultipart { record, reply } => {
                answer!(reply, self.create_multipart(&record))
            }
            Op::DeleteMultipart { upload_id, reply } => {
                answer!(reply, self.delete_multipart(&upload_id))
            }
            Op::CompleteMultipart {
                upload_id,
                record,
                replicate,
                reply,
            } => answer!(
                reply,
                self.complete_multipart(&upload_id, record, replicate)
            ),
            #[cfg(test)]
            Op::Pause { paused, resume } => {
                let _ = paused.send(());
                let _ = resume.recv();
                Box::new(|_| {})
            }
        }
    }

    fn put(
        &mut self,
        bucket: &str,
        key: &str,
        mut record: ObjectRecord,
        replicate: u32,
    ) -> Result<PutOutcome> {
        let okey = ObjectKey::new(bucket, key)?;
        let previous = self.read_object(okey.as_ref())?;
        let generation = self.next_generation();
        record.generation = generation;
        self.write_object(okey.as_ref(), &record);
        for c in &record.copies {
            self.adjust_usage(&c.backend, record.size, true)?;
        }
        if let Some(prev) = &previous {
            for c in &prev.copies {
                self.adjust_usage(&c.backend, prev.size, false)?;
                // Same backend + key: the new body overwrote it in place.
                if record.copy_at(&c.backend, &c.backend_key).is_none() {
                    self.enqueue(&QueueItem::Cleanup {
                        backend: c.backend.clone(),
                        backend_key: c.backend_key.clone(),
                        generation: prev.generation,
                    });
                }
            }
        }
        for _ in 0..replicate {
            self.enqueue(&QueueItem::Replicate {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                generation,
            });
        }
        Ok(PutOutcome {
            generation,
            previous,
        })
    }

    fn delete(&mut self, bucket: &str, key: &str) -> Result<Option<ObjectRecord>> {
        let okey = ObjectKey::new(bucket, key)?;
        let Some(prev) = self.read_object(okey.as_ref())? else {
            return Ok(None);
        };
        self.overlay.set(Ks::Objects, okey.as_ref(), None);
        for c in &prev.copies {
            self.adjust_usage(&c.backend, prev.size, false)?;
            self.enqueue(&QueueItem::Cleanup {
                backend: c.backend.clone(),
                backend_key: c.backend_key.clone(),
                generation: prev.generation,
            });
        }
        Ok(Some(prev))
    }

    fn add_copy(
        &mut self,
        bucket: &str,
        key: &str,
        generation: u64,
        copy: Copy,
    ) -> Result<AddCopyOutcome> {
        let okey = ObjectKey::new(bucket, key)?;
        let current = self.read_object(okey.as_ref())?;
        let mut record = match current {
            Some(r) if r.generation == generation => r,
            other => {
                // The copy is of a version that no longer exists: queue its
                // removal unless the live record uses that very backend key.
                let in_use = other
                    .as_ref()
                    .is_some_and(|r| r.copy_at(&copy.backend, &copy.backend_key).is_some());
                if !in_use {
                    self.enqueue(&QueueItem::Cleanup {
                        backend: copy.backend,
                        backend_key: copy.backend_key,
                        generation,
                    });
                }
                return Ok(AddCopyOutcome::Superseded);
            }
        };
        if let Some(existing) = record
            .copies
            .iter_mut()
            .find(|c| c.backend == copy.backend && c.backend_key == copy.backend_key)
        {
            existing.state = copy.state;
        } else {
            self.adjust_usage(&copy.backend, record.size, true)?;
            record.copies.push(copy);
        }
        self.write_object(okey.as_ref(), &record);
        Ok(AddCopyOutcome::Added)
    }

    fn remove_copy(
        &mut self,
        bucket: &str,
        key: &str,
        generation: u64,
        backend: &str,
        backend_key: &str,
    ) -> Result<bool> {
        let okey = ObjectKey::new(bucket, key)?;
        let Some(mut record) = self.read_object(okey.as_ref())? else {
            return Ok(false);
        };
        if record.generation != generation {
            return Ok(false);
        }
        let Some(pos) = record
            .copies
            .iter()
            .position(|c| c.backend == backend && c.backend_key == backend_key)
        else {
            return Ok(false);
        };
        let removed = record.copies.remove(pos);
        self.adjust_usage(backend, record.size, false)?;
        self.enqueue(&QueueItem::Cleanup {
            backend: removed.backend,
            backend_key: removed.backend_key,
            generation,
        });
        self.write_object(okey.as_ref(), &record);
        Ok(true)
    }

    fn queue_ack(&mut self, id: QueueId) -> Result<bool> {
        let k = codec::queue_key(id);
        if self.read(Ks::Queue, &k)?.is_none() {
            return Ok(false);
        }
        self.overlay.set(Ks::Queue, &k, None);
        Ok(true)
    }

    fn create_bucket(&mut self, record: BucketRecord) -> Result<CreateBucketOutcome> {
        if let Some(raw) = self.read(Ks::Buckets, record.name.as_bytes())? {
            let existing = codec::decode_bucket(&raw)?;
            return Ok(CreateBucketOutcome::AlreadyExists {
                owner: existing.owner_access_key,
            });
        }
        codec::encode_bucket(&record, &mut self.buf);
        let v = self.buf.clone();
        self.overlay
            .set(Ks::Buckets, record.name.as_bytes(), Some(v));
        Ok(CreateBucketOutcome::Created)
    }

    fn delete_bucket(&mut self, name: &str) -> Result<DeleteBucketOutcome> {
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
        // Stored keys, unless this group deleted them (bounded by the group size).
        for guard in self.store.objects.prefix(&prefix) {
            let k = guard.key()?;
            match self.overlay.map.get(&(Ks::Objects, k.to_vec())) {
                Some(None) => continue,
                _ => return Ok(true),
            }
        }
        // Keys this group added.
        Ok(self
            .overlay
            .map
            .iter()
            .any(|((ks, k), v)| *ks == Ks::Objects && v.is_some() && k.starts_with(&prefix)))
    }

    fn create_multipart(&mut self, record: &MultipartRecord) -> Result<bool> {
        let rkey = codec::mp_record_key(&record.upload_id);
        if self.read(Ks::Multipart, &rkey)?.is_some() {
            return Ok(false);
        }
        let ikey = codec::mp_index_key(&record.bucket, &record.key, &record.upload_id)?;
        codec::encode_multipart(record, &mut self.buf);
        let v = self.buf.clone();
        self.overlay.set(Ks::Multipart, &rkey, Some(v));
        self.overlay.set(Ks::Multipart, &ikey, Some(Vec::new()));
        Ok(true)
    }

    fn delete_multipart(&mut self, upload_id: &str) -> Result<Option<MultipartRecord>> {
        let rkey = codec::mp_record_key(upload_id);
        let Some(raw) = self.read(Ks::Multipart, &rkey)? else {
            return Ok(None);
        };
        let record = codec::decode_multipart(&raw)?;
        let ikey = codec::mp_index_key(&record.bucket, &record.key, &record.upload_id)?;
        self.overlay.set(Ks::Multipart, &rkey, None);
        self.overlay.set(Ks::Multipart, &ikey, None);
        Ok(Some(record))
    }

    fn complete_multipart(
        &mut self,
        upload_id: &str,
        record: ObjectRecord,
        replicate: u32,
    ) -> Result<Option<PutOutcome>> {
        let Some(upload) = self.delete_multipart(upload_id)? else {
            return Ok(None);
        };
        self.put(&upload.bucket, &upload.key, record, replicate)
            .map(Some)
    }
}
