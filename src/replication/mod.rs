//! The background (replication) shard: a dedicated glommio executor that drains the catalog's
//! durable work queues apart from client traffic:
//! - [`replicate`]: copies until every object has `replication.factor` copies, throttled by
//!   `replication.max_bytes_per_sec` and `replication.concurrency`;
//! - [`scan`]: the periodic walk that re-queues objects under the factor (long-dead backends,
//!   raised factor) and trims objects over it (a backend came back);
//! - [`cleanup`]: deleting backend copies no longer referenced (overwrites, deletes, trimmed
//!   copies), retried with backoff until they succeed;
//! - [`stale_uploads`]: aborting multipart uploads older than
//!   `cleanup_queue.multipart_stale_timeout`, releasing what they reserved.
//!
//! Every item is re-checked against the catalog under the object's write lock before it acts, so
//! a queued cleanup can never delete bytes that a later write put back under the same key, and a
//! copy is recorded only for the generation it was made from.
//!
//! Priority: copies run in their own glommio task queue with a small share and
//! `Latency::NotImportant`, below the queue's cleanup and scan work, and the thread runs at
//! nice 19; the token bucket ([`throttle`]) is what keeps client traffic on the other shards
//! unaffected: it slows copies to `replication.busy_bytes_per_sec` while clients are active.

pub(crate) mod cleanup;
pub mod prober;
pub(crate) mod rebalance;
pub(crate) mod replicate;
pub(crate) mod retry;
pub(crate) mod scan;
pub(crate) mod stale_uploads;
pub(crate) mod throttle;

use crate::state::{App, AppHandle};
use crate::util::Shutdown;
use glommio::{LocalExecutorBuilder, Placement};
use std::sync::Arc;

/// How often the background shard looks at its queues even when nothing woke it (retries that
/// became due, work queued by a previous run).
pub(crate) const IDLE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

pub struct BackgroundHandle {
    thread: glommio::ExecutorJoinHandle<()>,
}

impl BackgroundHandle {
    pub(crate) fn join(self) {
        let _ = self.thread.join();
    }
}

/// Starts the background shard. It gets its own core when there are more than two; on smaller
/// machines it floats and relies on its lower share of CPU.
pub(crate) fn start(
    handle: Arc<AppHandle>,
    shutdown: Shutdown,
) -> std::io::Result<BackgroundHandle> {
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
pub(crate) struct BackgroundShard {
    handle: Arc<AppHandle>,
    app_generation: std::cell::Cell<u64>,
    pub(crate) shutdown: Shutdown,
    pub(crate) pool: crate::backend::transport::BackendPool,
    pub(crate) signing: std::cell::RefCell<crate::s3::auth::SigningKeyCache>,
    pub(crate) cleanup: cleanup::CleanupState,
    pub(crate) replicate: replicate::ReplicateState,
    pub(crate) scan: scan::ScanState,
    pub(crate) stale_uploads: stale_uploads::StaleUploadsState,
    pub(crate) throttle: throttle::TokenBucket,
    /// The low-priority task queue copies run in.
    pub(crate) replication_queue: glommio::TaskQueueHandle,
}

/// Share of the replication task queue (the default queue has 1000): copies yield to the
/// shard's own bookkeeping whenever both are runnable.
pub(crate) const REPLICATION_SHARES: usize = 100;

impl BackgroundShard {
    pub(crate) fn new(
        handle: Arc<AppHandle>,
        shutdown: Shutdown,
        replication_queue: glommio::TaskQueueHandle,
    ) -> Self {
        let app = handle.load();
        // The same backend timeouts as the client shards (`server.backend_timeout`), so a hung
        // backend holds a copy no longer than it holds a client request.
        let pool = crate::backend::transport::BackendPool::new(
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
            stale_uploads: Default::default(),
            throttle: throttle::TokenBucket::new(repl.max_bytes_per_sec, repl.busy_bytes_per_sec),
            replication_queue,
        }
    }

    /// The current state (re-read on every use: a reload takes effect at the next step).
    pub(crate) fn app(&self) -> Arc<App> {
        self.handle.load()
    }

    pub(crate) fn backend_ctx(&self) -> crate::backend::BackendCtx<'_> {
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
            did += stale_uploads::run_step(self).await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Integrity, ObjectMeta};
    use crate::catalog::{Copy, CopyState, ObjectRecord, QueueKind};
    use crate::config::Config;
    use std::rc::Rc;
    use std::sync::atomic::Ordering;

    const BUCKET: &str = "myapp";

    fn config(root: &std::path::Path, factor: usize) -> Config {
        let yaml = format!(
            "backends:\n  - name: disk-a\n    path: {root}/a\n  - name: disk-b\n    path: {root}/b\n  \
             - name: disk-c\n    path: {root}/c\nbuckets:\n  - name: {BUCKET}\n    credentials:\n      \
             - access_key_id: AK\n        secret_access_key: SK\nreplication:\n  factor: {factor}\n  \
             batch_size: 2\n  worker_interval: 1h\ncatalog:\n  path: {root}/catalog\n",
            root = root.display()
        );
        Config::from_str_named(&yaml, "replication-test").expect("config")
    }

    /// Stores `key` with one copy on `disk-a`.
    async fn put(bg: &BackgroundShard, key: &str, body: &[u8]) {
        put_at(bg, key, &crate::backend::backend_key(BUCKET, key), body).await;
    }

    /// Stores `key` with one copy on `disk-a` under the backend name `backend_key`.
    async fn put_at(bg: &BackgroundShard, key: &str, backend_key: &str, body: &[u8]) {
        let app = bg.app();
        let backend_key = backend_key.to_owned();
        let rec = ObjectRecord {
            size: body.len() as u64,
            etag: format!("etag-{key}"),
            ..Default::default()
        };
        let meta = ObjectMeta::from_record(&rec);
        let mut w = app.backends[0]
            .begin_put(
                &bg.backend_ctx(),
                &backend_key,
                rec.size,
                &meta,
                &Integrity::default(),
            )
            .await
            .expect("begin put");
        w.write(body).await.expect("write");
        let md5: [u8; 16] = <md5::Md5 as md5::Digest>::digest(body).into();
        w.finish(Some(md5)).await.expect("finish");
        let rec = ObjectRecord {
            copies: vec![Copy {
                backend: "disk-a".to_owned(),
                backend_key,
                state: CopyState::Complete,
            }],
            ..rec
        };
        app.catalog
            .put_object(BUCKET, key, rec, 0)
            .await
            .expect("put object");
        app.placement.add_usage("disk-a", body.len() as u64, 1);
    }

    /// Each object's copies (backend names, in stored order), then both queues' lengths.
    fn layout(app: &App) -> String {
        let mut out = String::new();
        for (_, key, rec) in app.catalog.scan_objects(None, 100).expect("scan") {
            let on: Vec<&str> = rec.copies.iter().map(|c| c.backend.as_str()).collect();
            out.push_str(&format!("{key}={} ", on.join(",")));
        }
        let len = |k| app.catalog.queue_len(k).expect("queue len");
        out + &format!(
            "replicate={} cleanup={}",
            len(QueueKind::Replicate),
            len(QueueKind::Cleanup)
        )
    }

    /// One whole walk: the three objects are two pages of two; the changes of each step, then
    /// of one more step (0: the walk ended and the next is not due).
    async fn walk(bg: &BackgroundShard) -> [usize; 3] {
        bg.scan.request();
        [
            scan::run_step(bg).await,
            scan::run_step(bg).await,
            scan::run_step(bg).await,
        ]
    }

    /// What [`scan_and_copies_follow_factor_and_drain`] sees. The copy worker takes two items a
    /// pass (`batch_size`), so `k3` waits; a walk does not queue an object again while its copy
    /// is pending; while `disk-a` drains its copies do not count, and the copies made meanwhile
    /// are health copies.
    const EXPECTED_LOG: [&str; 17] = [
        "k1=disk-a k2=disk-a k3=disk-a replicate=0 cleanup=0",
        "early step 0",
        "walk [2, 1, 0]",
        "walk again [0, 0, 0]",
        "k1=disk-a k2=disk-a k3=disk-a replicate=3 cleanup=0",
        "copied 2",
        "k1=disk-a,disk-b k2=disk-a,disk-c k3=disk-a replicate=1 cleanup=0",
        "walk [0, 0, 0]",
        "k1=disk-a,disk-b k2=disk-a,disk-c k3=disk-a replicate=1 cleanup=0",
        "drain walk [2, 0, 0]",
        "copied 2",
        "drain walk [1, 1, 0]",
        "k1=disk-b,disk-c k2=disk-a,disk-c k3=disk-a,disk-b replicate=2 cleanup=1",
        "factor 1 walk [2, 1, 0]",
        "k1=disk-b k2=disk-a k3=disk-a replicate=2 cleanup=4",
        "created 4 health 2",
        "by copies {2: 3}",
    ];

    /// The scan and the copy worker through under-replication, a repeated walk, a drain and a
    /// lowered factor, step by step: which copies each step queued, made or dropped.
    #[test]
    fn scan_and_copies_follow_factor_and_drain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_owned();
        let handle = AppHandle::new(App::new(config(&root, 2), Default::default()).expect("app"));
        glommio::LocalExecutorBuilder::new(Placement::Unbound)
            .spawn(move || async move {
                let queue = glommio::executor().create_task_queue(
                    glommio::Shares::Static(REPLICATION_SHARES),
                    glommio::Latency::NotImportant,
                    "replication",
                );
                let bg = Rc::new(BackgroundShard::new(
                    handle.clone(),
                    Shutdown::default(),
                    queue,
                ));
                for (key, body) in [("k1", &b"one"[..]), ("k2", b"second"), ("k3", b"3")] {
                    put(&bg, key, body).await;
                }
                let g = crate::metrics::global();
                let created = g.replication_copies_created_total.load(Ordering::Relaxed);
                let health = g.replication_health_copies_total.load(Ordering::Relaxed);
                let mut log = vec![layout(&bg.app())];
                // Not due yet: the first walk waits one worker_interval.
                log.push(format!("early step {}", scan::run_step(&bg).await));
                log.push(format!("walk {:?}", walk(&bg).await));
                log.push(format!("walk again {:?}", walk(&bg).await));
                log.push(layout(&bg.app()));
                log.push(format!("copied {}", replicate::run_once(&bg).await));
                log.push(layout(&bg.app()));
                log.push(format!("walk {:?}", walk(&bg).await));
                log.push(layout(&bg.app()));

                assert!(bg.app().set_draining("disk-a", true));
                log.push(format!("drain walk {:?}", walk(&bg).await));
                log.push(format!("copied {}", replicate::run_once(&bg).await));
                log.push(format!("drain walk {:?}", walk(&bg).await));
                log.push(layout(&bg.app()));
                assert!(bg.app().set_draining("disk-a", false));

                handle.reload(config(&root, 1)).expect("reload");
                log.push(format!("factor 1 walk {:?}", walk(&bg).await));
                log.push(layout(&bg.app()));
                log.push(format!(
                    "created {} health {}",
                    g.replication_copies_created_total.load(Ordering::Relaxed) - created,
                    g.replication_health_copies_total.load(Ordering::Relaxed) - health,
                ));
                let objects_by_copies = g
                    .objects_by_copies
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                log.push(format!("by copies {objects_by_copies:?}"));
                assert_eq!(log, EXPECTED_LOG);
            })
            .expect("executor")
            .join()
            .expect("join");
    }

    /// A queued cleanup of a name that a later write of the same key stored again spares it,
    /// whether the name is escaped (`../x` is `myapp/~2E~2E/x`) or was stored verbatim before
    /// the escape existed (`a~7Eb`, which also reads as the escape of `a~b`).
    #[test]
    fn cleanup_spares_a_live_copy_under_an_escaped_or_verbatim_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_owned();
        let handle = AppHandle::new(App::new(config(&root, 1), Default::default()).expect("app"));
        glommio::LocalExecutorBuilder::new(Placement::Unbound)
            .spawn(move || async move {
                let queue = glommio::executor().create_task_queue(
                    glommio::Shares::Static(REPLICATION_SHARES),
                    glommio::Latency::NotImportant,
                    "replication",
                );
                let bg = Rc::new(BackgroundShard::new(handle, Shutdown::default(), queue));
                let app = bg.app();
                let names = [
                    ("../x", crate::backend::backend_key(BUCKET, "../x")),
                    ("a~7Eb", format!("{BUCKET}/a~7Eb")),
                ];
                for (key, name) in &names {
                    put_at(&bg, key, name, b"first").await;
                    // Overwritten elsewhere (queues the cleanup of `name`), then written back.
                    let elsewhere = ObjectRecord {
                        size: 1,
                        copies: vec![Copy {
                            backend: "disk-b".to_owned(),
                            backend_key: "elsewhere".to_owned(),
                            state: CopyState::Complete,
                        }],
                        ..Default::default()
                    };
                    let put = app.catalog.put_object(BUCKET, key, elsewhere, 0).await;
                    put.expect("overwrite");
                    put_at(&bg, key, name, b"third").await;
                }
                assert!(app.catalog.queue_len(QueueKind::Cleanup).expect("len") >= 2);
                cleanup::run_once(&bg).await;
                let crate::backend::BackendKind::Local(disk_a) = &app.backends[0].kind else {
                    panic!("disk-a is local");
                };
                for (key, name) in &names {
                    let size = disk_a.size_of(name).await.expect("size");
                    assert_eq!(size, Some(5), "{key}'s live copy at {name}");
                }
            })
            .expect("executor")
            .join()
            .expect("join");
    }
}
