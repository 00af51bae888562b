//! The health thread: a small glommio executor of its own that sends half-open probes to backends
//! whose breaker is open, and flushes monthly usage to the catalog. It has its own backend
//! connection pool, so a probe to a hung backend never occupies a shard.

use super::usage::month_of;
use crate::backend::{BackendCtx, BackendKind};
use crate::proxy::App;
use crate::server::Shutdown;
use glommio::{LocalExecutorBuilder, Placement};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often each backend's breaker is checked for a due probe. A quarter second keeps the
/// half-open transition within that of `open_timeout` at no measurable cost.
pub const PROBE_TICK: Duration = Duration::from_millis(250);

/// How often usage totals are written to the catalog. Ten seconds bounds what a crash forgets
/// (the Go project flushes every 30 s) at one small durable write per backend.
pub const USAGE_FLUSH_INTERVAL: Duration = Duration::from_secs(10);

pub struct HealthHandle {
    thread: glommio::ExecutorJoinHandle<()>,
}

impl HealthHandle {
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Starts the health thread; it ends (after a last usage flush) on shutdown.
pub fn start(app: Arc<App>, shutdown: Shutdown) -> std::io::Result<HealthHandle> {
    let thread = LocalExecutorBuilder::new(Placement::Unbound)
        .name("health")
        .spawn(move || async move { run(app, shutdown).await })
        .map_err(|e| std::io::Error::other(format!("cannot start the health thread: {e}")))?;
    Ok(HealthHandle { thread })
}

struct Ctx {
    app: Arc<App>,
    shutdown: Shutdown,
    pool: crate::backend::client::ClientPool,
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

async fn run(app: Arc<App>, shutdown: Shutdown) {
    let pool = crate::backend::client::ClientPool::new(
        app.health.client_limits.clone(),
        Some(app.backend_tls.clone()),
    );
    let ctx = Rc::new(Ctx {
        app,
        shutdown,
        pool,
        signing: RefCell::new(crate::s3::auth::SigningKeyCache::new()),
    });
    let mut tasks = Vec::new();
    let breakers_on = ctx.app.config().backend_circuit_breaker.enabled;
    for i in 0..ctx.app.backends.len() {
        if breakers_on && matches!(ctx.app.backends[i].kind, BackendKind::S3(_)) {
            let c = ctx.clone();
            tasks.push(glommio::spawn_local(async move { probe_loop(c, i).await }));
        }
    }
    let c = ctx.clone();
    tasks.push(glommio::spawn_local(async move { flush_loop(c).await }));
    for t in tasks {
        t.await;
    }
}

async fn probe_loop(ctx: Rc<Ctx>, i: usize) {
    let health = ctx.app.health.backends[i].clone();
    let BackendKind::S3(backend) = &ctx.app.backends[i].kind else {
        return;
    };
    while ctx.sleep(PROBE_TICK).await {
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

async fn flush_loop(ctx: Rc<Ctx>) {
    let mut running = true;
    while running {
        running = ctx.sleep(USAGE_FLUSH_INTERVAL).await;
        flush_usage(&ctx.app).await;
    }
}

/// Writes every backend's totals for its month; at a new month, stores the old month's final
/// totals and starts the counters from zero.
pub async fn flush_usage(app: &App) {
    let now_month = month_of(std::time::SystemTime::now());
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
