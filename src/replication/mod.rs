//! The background shard: a dedicated glommio executor that drains the catalog's durable work
//! queues apart from client traffic. Today: deleting backend copies that are no longer referenced
//! (overwrites that moved, deletes), retried with backoff until they succeed.
//!
//! Every item is re-checked against the catalog under the object's write lock before it acts, so
//! a queued cleanup can never delete bytes that a later write put back under the same key.

pub mod cleanup;

use crate::proxy::App;
use crate::server::Shutdown;
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
pub fn start(app: Arc<App>, shutdown: Shutdown) -> std::io::Result<BackgroundHandle> {
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
            let worker = BackgroundShard::new(app, shutdown);
            worker.run().await;
        })
        .map_err(|e| std::io::Error::other(format!("cannot start the background shard: {e}")))?;
    Ok(BackgroundHandle { thread })
}

/// State owned by the background executor.
pub struct BackgroundShard {
    pub app: Arc<App>,
    pub shutdown: Shutdown,
    pub pool: crate::backend::client::ClientPool,
    pub signing: std::cell::RefCell<crate::s3::auth::SigningKeyCache>,
    pub cleanup: cleanup::CleanupState,
}

impl BackgroundShard {
    pub fn new(app: Arc<App>, shutdown: Shutdown) -> Self {
        let pool = crate::backend::client::ClientPool::new(
            crate::backend::client::ClientLimits::default(),
            Some(app.backend_tls.clone()),
        );
        BackgroundShard {
            app,
            shutdown,
            pool,
            signing: std::cell::RefCell::new(crate::s3::auth::SigningKeyCache::new()),
            cleanup: cleanup::CleanupState::default(),
        }
    }

    pub fn backend_ctx(&self) -> crate::backend::BackendCtx<'_> {
        crate::backend::BackendCtx {
            pool: &self.pool,
            signing: &self.signing,
        }
    }

    async fn run(&self) {
        while !self.shutdown.is_triggered() {
            let did = cleanup::run_once(self).await;
            if did == 0 {
                // Sleep until woken by new work, a shutdown, or the idle poll.
                let listener = self.app.background.listen();
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
