//! The health thread: a small glommio executor of its own that sends half-open probes to backends
//! whose breaker is open, and flushes monthly usage to the catalog. It has its own backend
//! connection pool, so a probe to a hung backend never occupies a shard.

use crate::backend::{BackendCtx, BackendKind};
use crate::health::usage::month_of;
use crate::state::App;
use crate::util::Shutdown;
use glommio::{LocalExecutorBuilder, Placement};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often each backend's breaker is checked for a due probe. A quarter second keeps the
/// half-open transition within that of `open_timeout` at no measurable cost.
pub(crate) const PROBE_TICK: Duration = Duration::from_millis(250);

/// How often usage totals are written to the catalog. Ten seconds bounds what a crash forgets
/// (the Go project flushes every 30 s) at one small durable write per backend.
pub(crate) const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(10);

pub struct HealthHandle {
    thread: glommio::ExecutorJoinHandle<()>,
}

impl HealthHandle {
    pub(crate) fn join(self) {
        let _ = self.thread.join();
    }
}

/// Starts the health thread; it ends (after a last usage flush) on shutdown.
pub(crate) fn start(
    handle: Arc<crate::state::AppHandle>,
    shutdown: Shutdown,
) -> std::io::Result<HealthHandle> {
    let thread = LocalExecutorBuilder::new(Placement::Unbound)
        .name("health")
        .spawn(move || async move { run(handle, shutdown).await })
        .map_err(|e| std::io::Error::other(format!("cannot start the health thread: {e}")))?;
    Ok(HealthHandle { thread })
}

struct Ctx {
    handle: Arc<crate::state::AppHandle>,
    shutdown: Shutdown,
    pool: crate::backend::transport::BackendPool,
    signing: RefCell<crate::s3::auth::SigningKeyCache>,
}

impl Ctx {
    fn backend_ctx(&self) -> BackendCtx<'_> {
        BackendCtx {
            pool: &self.pool,
            signing: &self.signing,
        }
    }

    /// Sleeps `d`; false once shutdown was triggered.
    async fn sleep(&self, d: Duration) -> bool {
        futures_lite::future::or(
            async {
                glommio::timer::sleep(d).await;
                true
            },
            async {
                self.shutdown.wait().await;
                false
            },
        )
        .await
    }
}

async fn run(handle: Arc<crate::state::AppHandle>, shutdown: Shutdown) {
    let app = handle.load();
    let pool = crate::backend::transport::BackendPool::new(
        app.client_limits,
        Some(app.backend_tls.clone()),
    );
    drop(app);
    let ctx = Rc::new(Ctx {
        handle,
        shutdown,
        pool,
        signing: RefCell::new(crate::s3::auth::SigningKeyCache::new()),
    });
    let c = ctx.clone();
    let probes = glommio::spawn_local(async move { probe_loop(c).await });
    let c = ctx.clone();
    let flush = glommio::spawn_local(async move { flush_loop(c).await });
    probes.await;
    flush.await;
}

/// Every tick, probes each S3 backend whose breaker wants a half-open probe. The backend list is
/// re-read each tick, so a config reload's added or removed backends are followed.
async fn probe_loop(ctx: Rc<Ctx>) {
    while ctx.sleep(PROBE_TICK).await {
        let app = ctx.handle.load();
        // A reload's `server.backend_timeout` bounds probes too (cheap: a copy of a few fields).
        ctx.pool.set_limits(app.client_limits);
        if !app.config().backend_circuit_breaker.enabled {
            continue;
        }
        for (i, b) in app.backends.iter().enumerate() {
            let BackendKind::S3(backend) = &b.kind else {
                continue;
            };
            let Some(health) = app.health.backends.get(i) else {
                continue;
            };
            if !health.breaker.probe_due(Instant::now()) {
                continue;
            }
            let started = Instant::now();
            let result = backend.probe(&ctx.backend_ctx()).await;
            tracing::debug!(
                backend = health.name,
                ok = result.is_ok(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "half-open probe"
            );
            match result {
                Ok(()) => health
                    .breaker
                    .probe_result(true, "probe answered", Instant::now()),
                Err(why) => health.breaker.probe_result(false, &why, Instant::now()),
            }
        }
    }
}

async fn flush_loop(ctx: Rc<Ctx>) {
    let mut running = true;
    while running {
        running = ctx.sleep(USAGE_FLUSH_INTERVAL).await;
        flush_usage(&ctx.handle.load()).await;
    }
}

/// Writes every backend's totals for its month; at a new month, stores the old month's final
/// totals and starts the counters from zero.
pub(crate) async fn flush_usage(app: &App) {
    let now_month = month_of(crate::util::clock::now());
    for b in &app.health.backends {
        let month = b.usage.month();
        let totals = b.usage.totals();
        if let Err(e) = app.catalog.set_monthly_usage(&b.name, month, totals).await {
            tracing::warn!(backend = b.name, error = %e, "could not store monthly usage");
            continue;
        }
        if month != now_month {
            tracing::info!(
                backend = b.name,
                from = month,
                to = now_month,
                "new usage month"
            );
            b.usage.start_month(now_month);
        }
    }
}
