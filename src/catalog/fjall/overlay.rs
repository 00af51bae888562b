//! A group commit's pending changes, readable by the later requests of the same group, with
//! an undo log so that one failed request can be rolled back without the others.

use std::collections::HashMap;

use super::store::Db;

/// Which keyspace an overlay entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Ks {
    Objects,
    Backends,
    Multipart,
    Queue,
    Buckets,
    Meta,
}

impl Ks {
    /// The keyspace itself.
    pub(crate) fn of(self, db: &Db) -> &::fjall::Keyspace {
        match self {
            Ks::Objects => &db.objects,
            Ks::Backends => &db.backends,
            Ks::Multipart => &db.multipart,
            Ks::Queue => &db.queue,
            Ks::Buckets => &db.buckets,
            Ks::Meta => &db.meta,
        }
    }
}

type OverlayKey = (Ks, Vec<u8>);

/// The group's pending changes (`None` value: removal), with an undo log for the current
/// request.
#[derive(Default)]
pub(crate) struct Overlay {
    pub(crate) map: HashMap<OverlayKey, Option<Vec<u8>>>,
    undo: Vec<(OverlayKey, Option<Option<Vec<u8>>>)>,
}

impl Overlay {
    /// Starts a request: from here on, [`Overlay::rollback_request`] undoes its changes.
    pub(crate) fn begin_request(&mut self) {
        self.undo.clear();
    }

    /// Undoes every change since [`Overlay::begin_request`].
    pub(crate) fn rollback_request(&mut self) {
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

    /// Sets (`Some`) or removes (`None`) one key.
    pub(crate) fn set(&mut self, ks: Ks, key: &[u8], value: Option<Vec<u8>>) {
        let k = (ks, key.to_vec());
        let prev = self.map.insert(k.clone(), value);
        self.undo.push((k, prev));
    }

    /// The pending change of one key: `Some(None)` if the group removed it, `None` if the group
    /// did not touch it.
    pub(crate) fn get(&self, ks: Ks, key: &[u8]) -> Option<&Option<Vec<u8>>> {
        // The lookup key must be owned for the tuple; keys are small.
        self.map.get(&(ks, key.to_vec()))
    }

    /// Ends the group's last request: nothing can be rolled back any more.
    pub(crate) fn seal(&mut self) {
        self.undo.clear();
    }
}
