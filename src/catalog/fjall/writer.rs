//! The fjall store's single writer thread and its group commit.
//!
//! Loop: block for one request, take every other queued request up to
//! [`MAX_GROUP_COMMIT`], decide each against the database plus an in-memory
//! overlay of the group's earlier changes, write the whole overlay as one
//! fjall batch, `persist(SyncAll)` once, then answer every request. Requests
//! that fail on their own (bad input, corrupt record) are rolled back out of
//! the overlay and answered with their error; a storage failure fails the whole
//! group. Being the only writer, this thread is the serialisation point that
//! makes conditional writes race-free. What each request decides is in `apply`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ::fjall::PersistMode;

use super::codec;
use super::overlay::{Ks, Overlay};
use super::storage;
use super::store::{Counters, Db, META_GENERATION, META_QUEUE_SEQ};
use super::MAX_GROUP_COMMIT;
use crate::catalog::model::{BackendUsage, ObjectRecord, QueueId, QueueItem};
use crate::catalog::rules::{self, Effect};
use crate::catalog::{CatalogError, Result};

/// One-slot channel a request is answered on.
pub(crate) type Reply<T> = flume::Sender<Result<T>>;

/// A write request: decides itself against the writer's state (see [`Writer::decide`]) and
/// returns the answer to send once the group is durable.
pub(crate) type Op = Box<dyn FnOnce(&mut Writer) -> Pending + Send>;

/// An answer held back until the group is durable; called with the group's
/// commit error, if any.
pub(crate) type Pending = Box<dyn FnOnce(Option<&CatalogError>)>;

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

/// Counters of the writer thread's work, readable from any thread.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    /// Groups taken from the channel.
    pub(crate) groups: AtomicU64,
    /// Requests answered.
    pub(crate) requests: AtomicU64,
    /// Batches made durable (groups that changed something).
    pub(crate) syncs: AtomicU64,
}

/// Writer-thread state.
pub(crate) struct Writer {
    db: Db,
    /// Counters as handed out so far (may run ahead of the database).
    counters: Counters,
    /// Counters as last made durable: the batch writes them only when changed.
    saved_counters: Counters,
    pub(crate) overlay: Overlay,
    /// Scratch buffer for encoding values.
    buf: Vec<u8>,
}

/// Runs the writer loop until every sender is gone.
pub(crate) fn run(db: Db, counters: Counters, rx: flume::Receiver<Op>, stats: Arc<WriterCounters>) {
    let mut w = Writer {
        db,
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
            answers.push(op(&mut w));
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
    /// Runs one request's decision; on error its changes are rolled back out of the overlay.
    pub(crate) fn decide<T: 'static>(
        &mut self,
        reply: Reply<T>,
        decision: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Pending {
        let result = decision(self);
        if result.is_err() {
            self.overlay.rollback_request();
        }
        pending(reply, result)
    }

    // ------------------------------------------------------------ overlay access

    /// The database the writer writes.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Current value: the group's overlay first, then the database.
    pub(crate) fn read(&self, ks: Ks, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.overlay.get(ks, key) {
            return Ok(v.clone());
        }
        Ok(ks
            .of(&self.db)
            .get(key)
            .map_err(storage)?
            .map(|v| v.to_vec()))
    }

    pub(crate) fn read_object(&self, key: &[u8]) -> Result<Option<ObjectRecord>> {
        self.read(Ks::Objects, key)?
            .map(|raw| codec::decode_object(&raw))
            .transpose()
    }

    pub(crate) fn write_object(&mut self, key: &[u8], record: &ObjectRecord) {
        codec::encode_object(record, &mut self.buf);
        self.put_encoded(Ks::Objects, key);
    }

    /// Sets `key` to the value just encoded into the scratch buffer.
    pub(crate) fn put_encoded(&mut self, ks: Ks, key: &[u8]) {
        let v = self.buf.clone();
        self.overlay.set(ks, key, Some(v));
    }

    /// The scratch buffer to encode a value into (then [`Writer::put_encoded`]).
    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Applies a write's effects (see `rules`) in order.
    pub(crate) fn apply_effects(&mut self, effects: &[Effect]) -> Result<()> {
        for effect in effects {
            match effect {
                Effect::CopyAdded { backend, .. } | Effect::CopyDropped { backend, .. } => {
                    let usage = match self.read(Ks::Backends, backend.as_bytes())? {
                        Some(raw) => codec::decode_usage(&raw)?,
                        None => BackendUsage::default(),
                    };
                    let usage = rules::adjust_usage(usage, effect);
                    codec::encode_usage(&usage, &mut self.buf);
                    self.put_encoded(Ks::Backends, backend.as_bytes());
                }
                Effect::Enqueue(item) => {
                    self.enqueue(item);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn enqueue(&mut self, item: &QueueItem) -> QueueId {
        self.counters.queue_seq += 1;
        let id = QueueId {
            kind: item.kind(),
            seq: self.counters.queue_seq,
        };
        codec::encode_queue_item(item, &mut self.buf);
        self.put_encoded(Ks::Queue, &codec::queue_key(id));
        id
    }

    pub(crate) fn next_generation(&mut self) -> u64 {
        self.counters.generation += 1;
        self.counters.generation
    }

    // ------------------------------------------------------------ commit

    /// Writes the overlay (and advanced counters) as one batch and fsyncs it;
    /// returns whether there was anything to write.
    fn commit(&mut self) -> Result<bool> {
        if self.counters != self.saved_counters {
            codec::encode_u64(self.counters.generation, &mut self.buf);
            self.put_encoded(Ks::Meta, META_GENERATION);
            codec::encode_u64(self.counters.queue_seq, &mut self.buf);
            self.put_encoded(Ks::Meta, META_QUEUE_SEQ);
        }
        self.overlay.seal();
        if self.overlay.map.is_empty() {
            // Nothing changed: every answer was decided on state that earlier
            // groups already made durable.
            return Ok(false);
        }
        let mut batch = self.db.database.batch();
        for ((ks, key), value) in self.overlay.map.drain() {
            let keyspace = ks.of(&self.db);
            match value {
                Some(v) => batch.insert(keyspace, key, v),
                None => batch.remove(keyspace, key),
            }
        }
        batch.commit().map_err(storage)?;
        self.db
            .database
            .persist(PersistMode::SyncAll)
            .map_err(storage)?;
        self.saved_counters = self.counters;
        Ok(true)
    }
}
