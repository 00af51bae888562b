//! The background (replication) shard: a dedicated glommio executor that drains the catalog's
//! durable work queues apart from client traffic:
//! - [`replicate`]: copies until every object has `replication.factor` copies, throttled by
//!   `replication.max_bytes_per_sec` and `replication.concurrency`;
//! - [`scan`]: the periodic walk that re-queues objects under the factor (long-dead backends,
//!   raised factor) and trims objects over it (a backend came back);
//! - [`cleanup`]: deleting backend copies no longer referenced (overwrites, deletes, trimmed
//!   copies), retried with backoff until they succeed.
//!
//! Every item is re-checked against the catalog under the object's write lock before it acts, so
//! a queued cleanup can never delete bytes that a later write put back under the same key, and a
//! copy is recorded only for the generation it was made from.
//!
//! Priority: copies run in their own glommio task queue with a small share and
//! `Latency::NotImportant`, below the queue's cleanup and scan work, and the thread runs at
//! nice 19; the token bucket ([`throttle`]) is what keeps client traffic on the other shards
//! unaffected: it slows copies to `replication.busy_bytes_per_sec` while clients are active.

pub mod cleanup;
pub mod prober;
pub mod rebalance;
pub mod replicate;
pub mod scan;
pub mod throttle;

use crate::state::{App, AppHandle};
use crate::util::Shutdown;
use glommio::{LocalExecutorBuilder, Placement};
use std::sync::Arc;

/// How often the background shard looks at its queues even when nothing woke it (retries that
/// became due, work queued by a previous run).
pub const IDLE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

pub struct BackgroundHandle {
    thread: glommio::ExecutorJoinHandle<()>,
}

impl BackgroundHandle {
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Starts the background shard. It gets its own core when there are more than two; on smaller
/// machines it floats and relies on its lower share of CPU.
pub fn start(handle: Arc<AppHandle>, shutdown: Shutdown) -> std::io::Result<BackgroundHandle> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let placement = if cores > 2 {
        Placement::Fixed(cores - 1)
    } else {
        Placement::Unbound
    };
    let thread = LocalExecutorBuilder::new(placement)
        .name("background")
        .spawn(move || async move {
            // The OS scheduler is what shares the cores between this thread and the client
            // shards: give it the lowest normal priority (nice 19) so copies only use CPU that
            // client requests leave idle. Failing to lower it is harmless.
            if let Err(e) =
                thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
            {
                tracing::debug!(error = ?e, "could not lower the background shard's priority");
            }
            let queue = glommio::executor().create_task_queue(
                glommio::Shares::Static(REPLICATION_SHARES),
                glommio::Latency::NotImportant,
                "replication",
            );
            let worker = std::rc::Rc::new(BackgroundShard::new(handle, shutdown, queue));
            worker.run().await;
        })
        .map_err(|e| std::io::Error::other(format!("cannot start the background shard: {e}")))?;
    Ok(BackgroundHandle { thread })
}

/// State owned by the background executor.
pub struct BackgroundShard {
    handle: Arc<AppHandle>,
    app_generation: std::cell::Cell<u64>,
    pub shutdown: Shutdown,
    pub pool: crate::backend::client::ClientPool,
    pub signing: std::cell::RefCell<crate::s3::auth::SigningKeyCache>,
    pub cleanup: cleanup::CleanupState,
    pub replicate: replicate::ReplicateState,
    pub scan: scan::ScanState,
    pub throttle: throttle::TokenBucket,
    /// The low-priority task queue copies run in.
    pub replication_queue: glommio::TaskQueueHandle,
}

/// Share of the replication task queue (the default queue has 1000): copies yield to the
/// shard's own bookkeeping whenever both are runnable.
pub const REPLICATION_SHARES: usize = 100;

impl BackgroundShard {
    pub fn new(
        handle: Arc<AppHandle>,
        shutdown: Shutdown,
        replication_queue: glommio::TaskQueueHandle,
    ) -> Self {
        let app = handle.load();
        // The same backend timeouts as the client shards (`server.backend_timeout`), so a hung
        // backend holds a copy no longer than it holds a client request.
        let pool = crate::backend::client::ClientPool::new(
            app.client_limits,
            Some(app.backend_tls.clone()),
        );
        let repl = app.config().replication;
        BackgroundShard {
            app_generation: std::cell::Cell::new(handle.generation()),
            handle,
            shutdown,
            pool,
            signing: std::cell::RefCell::new(crate::s3::auth::SigningKeyCache::new()),
            cleanup: cleanup::CleanupState::default(),
            replicate: Default::default(),
            scan: scan::ScanState::new(app.config().replication.worker_interval),
            throttle: throttle::TokenBucket::new(repl.max_bytes_per_sec, repl.busy_bytes_per_sec),
            replication_queue,
        }
    }

    /// The current state (re-read on every use: a reload takes effect at the next step).
    pub fn app(&self) -> Arc<App> {
        self.handle.load()
    }

    pub fn backend_ctx(&self) -> crate::backend::BackendCtx<'_> {
        crate::backend::BackendCtx {
            pool: &self.pool,
            signing: &self.signing,
        }
    }

    async fn run(self: &std::rc::Rc<Self>) {
        while !self.shutdown.is_triggered() {
            let generation = self.handle.generation();
            if generation != self.app_generation.get() {
                // A reload: new rates and backend timeouts, and a scan to re-check factors and
                // placement now.
                self.app_generation.set(generation);
                let app = self.app();
                let repl = app.config().replication;
                self.throttle
                    .set_rates(repl.max_bytes_per_sec, repl.busy_bytes_per_sec);
                self.pool.set_limits(app.client_limits);
                self.scan.request();
            }
            let mut did = cleanup::run_once(self).await;
            did += replicate::run_once(self).await;
            did += scan::run_step(self).await;
            if did == 0 {
                // No copies running: nothing is yielding (the gauge is set by copies only).
                crate::metrics::global()
                    .replication_yielding
                    .store(0, std::sync::atomic::Ordering::Relaxed);
                // Sleep until woken by new work, a shutdown, or the idle poll.
                let app = self.app();
                let listener = app.background.listen();
                futures_lite::future::or(
                    futures_lite::future::or(listener, async {
                        glommio::timer::sleep(IDLE_POLL).await;
                    }),
                    self.shutdown.wait(),
                )
                .await;
            }
        }
    }
}
