//! The periodic catalog walk (every `replication.worker_interval`, and at start): finds objects
//! whose counted copies are below the factor (a copy on a backend down longer than
//! `unhealthy_threshold`, a raised factor, a backend removed from the config) and queues copies
//! for them; finds objects above the factor once every copy counts again (a backend came back
//! after replacement copies were made) and drops the excess copies, which the cleanup worker then
//! deletes from their backends.

use super::replicate::{counts, effective_copies};
use super::BackgroundShard;
use crate::catalog::QueueItem;
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::time::Instant;

pub struct ScanState {
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
    pub fn new(first_after: std::time::Duration) -> Self {
        let st = ScanState::default();
        st.next_scan.set(Instant::now() + first_after);
        st
    }

    /// Forgets what was queued (the queue item was processed or the object changed).
    pub fn forget(&self, bucket: &str, key: &str) {
        self.queued
            .borrow_mut()
            .retain(|(b, k, _)| !(b == bucket && k == key));
    }

    /// Asks for a full scan as soon as possible (config reload, drain).
    pub fn request(&self) {
        self.next_scan.set(Instant::now());
    }
}

/// One bounded step of the walk; returns how many changes it queued.
pub async fn run_step(bg: &BackgroundShard) -> usize {
    let st = &bg.scan;
    let app = &bg.app();
    let cfg = &app.config().replication;
    if !st.running.get() {
        if Instant::now() < st.next_scan.get() {
            return 0;
        }
        st.running.set(true);
        *st.cursor.borrow_mut() = None;
        st.by_copies.borrow_mut().clear();
    }
    let batch = {
        let cursor = st.cursor.borrow();
        let after = cursor.as_ref().map(|(b, k)| (b.as_str(), k.as_str()));
        match app.catalog.scan_objects(after, cfg.batch_size) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "catalog scan failed");
                st.running.set(false);
                st.next_scan.set(Instant::now() + cfg.worker_interval);
                return 0;
            }
        }
    };
    let mut changes = 0;
    let factor = cfg.factor;
    for (bucket, key, rec) in &batch {
        let eff = effective_copies(app, rec);
        *st.by_copies.borrow_mut().entry(eff as u32).or_insert(0) += 1;
        if eff < factor {
            let id = (bucket.clone(), key.clone(), rec.generation);
            if st.queued.borrow().contains(&id) {
                continue;
            }
            let item = QueueItem::Replicate {
                bucket: bucket.clone(),
                key: key.clone(),
                generation: rec.generation,
            };
            // One intent per missing copy.
            let mut ok = true;
            for _ in eff..factor {
                if let Err(e) = app.catalog.queue_push(item.clone()).await {
                    tracing::error!(error = %e, "cannot queue a replication copy");
                    ok = false;
                    break;
                }
                changes += 1;
            }
            if ok {
                st.queued.borrow_mut().insert(id);
            }
        } else if let Some(c) = rec.complete_copies().find(|c| {
            app.backend_by_name(&c.backend)
                .is_some_and(|b| app.is_draining(b.index))
        }) {
            // Enough copies elsewhere: the drained backend's copy can go.
            let c = c.clone();
            if let Ok(true) = app
                .catalog
                .remove_copy(bucket, key, rec.generation, &c.backend, &c.backend_key)
                .await
            {
                app.placement.release_usage(&c.backend, rec.size, 1);
                tracing::info!(bucket, key, backend = c.backend, "drained a copy");
                changes += 1;
            }
        } else if eff > factor && rec.complete_copies().all(|c| counts(app, &c.backend)) {
            // Keep the first copies (the primary first); drop the newest extras.
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
                        changes += 1;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "cannot remove an excess copy"),
                }
            }
        }
    }
    if app.config().rebalance.enabled
        && app.config().routing_strategy == crate::config::RoutingStrategy::Spread
    {
        for (bucket, key, rec) in &batch {
            if effective_copies(app, rec) == factor
                && super::rebalance::maybe_move(bg, bucket, key, rec).await
            {
                changes += 1;
            }
        }
    }
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
    if changes > 0 {
        app.wake_background();
    }
    changes
}
