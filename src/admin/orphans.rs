//! `/admin/orphans`: buckets whose data has no owner (the rule is in `state::orphans`), and the
//! operator's decisions about them.
//!
//! - `GET /admin/orphans`: `{"orphans": [{bucket, reason, owner, objects, bytes, uploads,
//!   counts_capped}]}`.
//! - `POST /admin/orphans/purge?bucket=NAME`: deletes the bucket's uploads (aborted on their
//!   backends), objects (copies removed by the cleanup queue) and record.
//! - `POST /admin/orphans/rebind?bucket=NAME&to=config` or `...&owner=ACCESS_KEY_ID`: gives the
//!   bucket to the config bucket of that name, or to a configured credential as an API bucket.
//!
//! The caller has been authenticated, and a changing request checked for cross-site use, by
//! `admin::route` already (as for `/admin/reload`).

use super::http::{Request, Response};
use crate::state::orphans::{OrphanError, RebindTarget};
use crate::state::App;
use std::sync::Arc;

/// Answers `/admin/orphans` and its sub-paths.
pub(crate) fn route(req: &Request, app: &Arc<App>) -> Response {
    match (req.path.as_str(), req.method.as_str()) {
        ("/admin/orphans", "GET" | "HEAD") => match app.orphans() {
            Ok(orphans) => Response::json(200, &serde_json::json!({ "orphans": orphans })),
            Err(e) => Response::text(503, format!("catalog: {e}")),
        },
        ("/admin/orphans/purge", "POST") => with_bucket(req, |b| purge(app, b)),
        ("/admin/orphans/rebind", "POST") => with_bucket(req, |b| rebind(req, app, b)),
        ("/admin/orphans" | "/admin/orphans/purge" | "/admin/orphans/rebind", _) => {
            Response::text(405, "method not allowed")
        }
        _ => Response::text(404, "not found"),
    }
}

fn with_bucket(req: &Request, f: impl FnOnce(&str) -> Response) -> Response {
    match req.param("bucket") {
        Some(b) if !b.is_empty() => f(&b),
        _ => Response::text(400, "expected ?bucket=NAME"),
    }
}

fn answer(r: Result<serde_json::Value, OrphanError>) -> Response {
    match r {
        Ok(v) => Response::json(200, &v),
        Err(OrphanError::NotOrphaned) => Response::text(
            404,
            "no orphaned bucket of that name (see GET /admin/orphans)",
        ),
        Err(OrphanError::Refused(why)) => Response::text(409, why),
        Err(OrphanError::Failed(why)) => Response::text(503, why),
    }
}

/// `POST /admin/orphans/rebind?bucket=B&to=config|owner=AK`.
fn rebind(req: &Request, app: &Arc<App>, bucket: &str) -> Response {
    let target = match (req.param("to").as_deref(), req.param("owner")) {
        (Some("config"), None) => RebindTarget::Config,
        (None, Some(owner)) if !owner.is_empty() => RebindTarget::Owner(owner),
        _ => return Response::text(400, "expected &to=config or &owner=ACCESS_KEY_ID"),
    };
    let r = futures_lite::future::block_on(app.rebind_orphan(bucket, &target));
    answer(r.map(|()| serde_json::json!({ "bucket": bucket, "rebound": true })))
}

/// `POST /admin/orphans/purge?bucket=B`. Aborting uploads talks to the backends, which needs a
/// glommio executor and a backend pool: the purge runs on a short-lived executor thread of its
/// own (never a shard's), and this admin thread waits for it.
fn purge(app: &Arc<App>, bucket: &str) -> Response {
    let app = app.clone();
    let name = bucket.to_owned();
    let spawned = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
        .name("orphan-purge")
        .spawn(move || async move {
            let pool = crate::backend::transport::BackendPool::new(
                app.client_limits,
                Some(app.backend_tls.clone()),
            );
            let signing = std::cell::RefCell::new(crate::s3::auth::SigningKeyCache::new());
            let bctx = crate::backend::BackendCtx {
                pool: &pool,
                signing: &signing,
            };
            app.purge_orphan(&bctx, &name).await
        });
    let r = match spawned {
        Ok(handle) => handle
            .join()
            .map_err(|e| OrphanError::Failed(format!("purge thread: {e}")))
            .and_then(|r| r),
        Err(e) => Err(OrphanError::Failed(format!("cannot start the purge: {e}"))),
    };
    answer(r.map(|p| serde_json::json!(p)))
}
