//! The periodic catalog walk (every `replication.worker_interval`, and at start): finds objects
//! whose counted copies are below the factor (a copy on a backend down longer than
//! `unhealthy_threshold`, a raised factor, a backend removed from the config) and queues copies
//! for them; finds objects above the factor once every copy counts again (a backend came back
//! after replacement copies were made) and drops the excess copies, which the cleanup worker then
//! deletes from their backends.

use super::replicate::{counts, effective_copies};
use super::BackgroundShard;
use crate::catalog::{self, ObjectRecord, QueueItem};
use crate::config::ReplicationConfig;
use crate::state::App;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::time::Instant;

pub(crate) struct ScanState {
    cursor: RefCell<Option<(String, String)>>,
    running: Cell<bool>,
    next_scan: Cell<Instant>,
    /// (bucket, key, generation) queued by this process's scans, so a long outage does not queue
    /// the same copy again every interval while the first is still pending.
    queued: RefCell<HashSet<(String, String, u64)>>,
    /// Objects by counted copies over the walk in progress; published when it completes.
    by_copies: RefCell<std::collections::BTreeMap<u32, u64>>,
}

impl Default for ScanState {
    fn default() -> Self {
        ScanState {
            cursor: RefCell::new(None),
            running: Cell::new(false),
            // Set by `ScanState::new`; a default state scans at once.
            next_scan: Cell::new(Instant::now()),
            queued: RefCell::new(HashSet::new()),
            by_copies: RefCell::new(std::collections::BTreeMap::new()),
        }
    }
}

impl ScanState {
    /// The first walk waits one `worker_interval`: at start breakers have no opinion yet, and
    /// copies already scheduled are in the durable queue, which is drained at once.
    pub(crate) fn new(first_after: std::time::Duration) -> Self {
        let st = ScanState::default();
        st.next_scan.set(Instant::now() + first_after);
        st
    }

    /// Forgets what was queued (the queue item was processed or the object changed).
    pub(crate) fn forget(&self, bucket: &str, key: &str) {
        self.queued
            .borrow_mut()
            .retain(|(b, k, _)| !(b == bucket && k == key));
    }

    /// Asks for a full scan as soon as possible (config reload, drain).
    pub(crate) fn request(&self) {
        self.next_scan.set(Instant::now());
    }
}

/// One bounded step of the walk (one page of the catalog); returns how many changes it queued.
pub(crate) async fn run_step(bg: &BackgroundShard) -> usize {
    let st = &bg.scan;
    let app = &bg.app();
    let cfg = &app.config().replication;
    if !begin(st) {
        return 0;
    }
    let Some(batch) = next_page(st, app, cfg) else {
        return 0;
    };
    let mut changes = 0;
    let factor = cfg.factor;
    for (bucket, key, rec) in &batch {
        let eff = effective_copies(app, rec);
        *st.by_copies.borrow_mut().entry(eff as u32).or_insert(0) += 1;
        changes += match classify(app, rec, eff, factor) {
            Verdict::UnderReplicated => queue_copies(st, app, bucket, key, rec, eff, factor).await,
            Verdict::OnDrainingBackend(c) => drop_drained_copy(app, bucket, key, rec, c).await,
            Verdict::OverReplicated => drop_excess_copies(app, bucket, key, rec, factor).await,
            Verdict::Fine => 0,
        };
    }
    if app.config().rebalance.enabled
        && app.config().routing_strategy == crate::config::RoutingStrategy::Spread
    {
        changes += rebalance_page(bg, app, &batch, factor).await;
    }
    end_page(st, cfg, &batch, factor);
    if changes > 0 {
        app.wake_background();
    }
    changes
}

/// Whether a walk is under way, starting one (from the first object) if the next is due.
fn begin(st: &ScanState) -> bool {
    if !st.running.get() {
        if Instant::now() < st.next_scan.get() {
            return false;
        }
        st.running.set(true);
        *st.cursor.borrow_mut() = None;
        st.by_copies.borrow_mut().clear();
    }
    true
}

/// The next page of objects after the cursor; `None` if the catalog cannot be read (the walk is
/// then abandoned until the next interval).
fn next_page(st: &ScanState, app: &App, cfg: &ReplicationConfig) -> Option<Page> {
    let cursor = st.cursor.borrow();
    let after = cursor.as_ref().map(|(b, k)| (b.as_str(), k.as_str()));
    match app.catalog.scan_objects(after, cfg.batch_size) {
        Ok(b) => Some(b),
        Err(e) => {
            tracing::error!(error = %e, "catalog scan failed");
            st.running.set(false);
            st.next_scan.set(Instant::now() + cfg.worker_interval);
            None
        }
    }
}

/// Objects as the catalog walk returns them: (bucket, key, record).
type Page = Vec<(String, String, ObjectRecord)>;

/// What one object needs, in this order of precedence.
enum Verdict<'r> {
    /// Fewer counted copies than the factor: queue the missing ones.
    UnderReplicated,
    /// Enough copies elsewhere, and this one sits on a backend being drained: it can go.
    OnDrainingBackend(&'r catalog::Copy),
    /// More counted copies than the factor, and every copy counts again: drop the extras.
    OverReplicated,
    /// Nothing to do.
    Fine,
}

/// `eff` is the object's counted copies.
fn classify<'r>(app: &App, rec: &'r ObjectRecord, eff: usize, factor: usize) -> Verdict<'r> {
    if eff < factor {
        Verdict::UnderReplicated
    } else if let Some(c) = rec.complete_copies().find(|c| {
        app.backend_by_name(&c.backend)
            .is_some_and(|b| app.is_draining(b.index))
    }) {
        Verdict::OnDrainingBackend(c)
    } else if eff > factor && rec.complete_copies().all(|c| counts(app, &c.backend)) {
        Verdict::OverReplicated
    } else {
        Verdict::Fine
    }
}

/// Queues one replication intent per missing copy, unless this process queued them for this
/// generation already. Returns the intents queued.
async fn queue_copies(
    st: &ScanState,
    app: &App,
    bucket: &str,
    key: &str,
    rec: &ObjectRecord,
    eff: usize,
    factor: usize,
) -> usize {
    let id = (bucket.to_owned(), key.to_owned(), rec.generation);
    if st.queued.borrow().contains(&id) {
        return 0;
    }
    let item = QueueItem::Replicate {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        generation: rec.generation,
    };
    // One intent per missing copy.
    let mut queued = 0;
    let mut ok = true;
    for _ in eff..factor {
        if let Err(e) = app.catalog.queue_push(item.clone()).await {
            tracing::error!(error = %e, "cannot queue a replication copy");
            ok = false;
            break;
        }
        queued += 1;
    }
    if ok {
        st.queued.borrow_mut().insert(id);
    }
    queued
}

/// Drops the copy on a drained backend (the cleanup worker deletes its bytes). Returns 1 if the
/// catalog dropped it.
async fn drop_drained_copy(
    app: &App,
    bucket: &str,
    key: &str,
    rec: &ObjectRecord,
    c: &catalog::Copy,
) -> usize {
    if let Ok(true) = app
        .catalog
        .remove_copy(bucket, key, rec.generation, &c.backend, &c.backend_key)
        .await
    {
        app.placement.release_usage(&c.backend, rec.size, 1);
        tracing::info!(bucket, key, backend = c.backend, "drained a copy");
        1
    } else {
        0
    }
}

/// Keeps the first `factor` copies (the primary first) and drops the newest extras. Returns the
/// copies dropped.
async fn drop_excess_copies(
    app: &App,
    bucket: &str,
    key: &str,
    rec: &ObjectRecord,
    factor: usize,
) -> usize {
    let mut dropped = 0;
    let extras: Vec<_> = rec.complete_copies().skip(factor).cloned().collect();
    for c in extras {
        match app
            .catalog
            .remove_copy(bucket, key, rec.generation, &c.backend, &c.backend_key)
            .await
        {
            Ok(true) => {
                app.placement.release_usage(&c.backend, rec.size, 1);
                tracing::info!(bucket, key, backend = c.backend, "removed an excess copy");
                dropped += 1;
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "cannot remove an excess copy"),
        }
    }
    dropped
}

/// Under `spread` with rebalancing on: moves at most one copy of each object that has exactly
/// `factor` counted copies, when that narrows the spread. Returns the copies moved.
async fn rebalance_page(bg: &BackgroundShard, app: &App, batch: &Page, factor: usize) -> usize {
    let mut moved = 0;
    for (bucket, key, rec) in batch {
        if effective_copies(app, rec) == factor
            && super::rebalance::maybe_move(bg, bucket, key, rec).await
        {
            moved += 1;
        }
    }
    moved
}

/// After a page: a short page ends the walk (the counts are published and the next walk waits
/// one `worker_interval`); a full one moves the cursor to its last object.
fn end_page(st: &ScanState, cfg: &ReplicationConfig, batch: &Page, factor: usize) {
    if batch.len() < cfg.batch_size {
        let g = crate::metrics::global();
        *g.objects_by_copies
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = st.by_copies.borrow().clone();
        g.replication_factor
            .store(factor as u64, std::sync::atomic::Ordering::Relaxed);
        st.running.set(false);
        st.next_scan.set(Instant::now() + cfg.worker_interval);
    } else if let Some((b, k, _)) = batch.last() {
        *st.cursor.borrow_mut() = Some((b.clone(), k.clone()));
    }
}
