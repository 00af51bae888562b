//! The control-plane listener (`server.admin_addr`), apart from client traffic: it runs on its own
//! OS threads with blocking I/O, so scrapes never compete with client requests on an executor.
//!
//! # Routes
//! - `GET /health`, `GET /ready`: liveness and readiness.
//! - `GET /metrics`: Prometheus text ([`prometheus`]).
//! - `GET /stats`: latency percentiles as JSON; `?format=hdr[&window=last_60s]` for the
//!   HdrHistogram interval log ([`crate::metrics::stats`]).
//! - `GET /ui`: the dashboard (login form first), `POST /ui/login`, `POST /ui/logout` ([`ui`]).
//! - `GET /admin/status`, `GET /admin/object?bucket=B&key=K` ([`api`]).
//! - `GET /admin/log-level`, `PUT /admin/log-level` (body: a level or tracing filter).
//! - `POST /admin/reload`: re-read the config file (validated whole; refused with the reason).
//! - `POST|DELETE|GET /admin/drain?backend=NAME`: start, stop or watch draining a backend.
//! - `GET /admin/orphans`, `POST /admin/orphans/{purge,rebind}?bucket=NAME`: buckets whose data
//!   has no owner ([`orphans`]).
//!
//! # Who may call what
//! `/health`, `/ready`, `/metrics` and `/stats` are open (scrapers; the listener is private by
//! default). When `ui.admin_key`/`ui.admin_secret` are configured, `/ui` and `/admin/*` need them
//! (session cookie from the login form, HTTP basic auth, or `Bearer <ui.admin_token>`). Without
//! credentials the read-only `/admin/*` GETs are open and changing the log level is refused.

pub(crate) mod api;
pub(crate) mod auth;
pub(crate) mod exposition;
pub(crate) mod health_metrics;
pub(crate) mod http;
pub(crate) mod orphans;
pub(crate) mod prometheus;
pub(crate) mod ui;

use crate::metrics;
use crate::state::{App, AppHandle};
use crate::util::Shutdown;
use http::{Request, Response};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A stalled admin client is dropped after this long.
pub(crate) const ADMIN_IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Admin connections served at once (one thread each). A dashboard and a scraper need a handful;
/// the cap keeps a flood of connections from spawning unbounded threads.
pub(crate) const MAX_ADMIN_CONNECTIONS: usize = 64;

pub struct AdminHandle {
    pub(crate) addr: SocketAddr,
    thread: std::thread::JoinHandle<()>,
}

impl AdminHandle {
    pub(crate) fn join(self) {
        let _ = self.thread.join();
    }
}

/// What every admin connection shares.
pub(crate) struct AdminState {
    pub(crate) handle: Arc<AppHandle>,
    pub(crate) sessions: auth::Sessions,
    active: AtomicUsize,
}

impl AdminState {
    /// The current state (a reload takes effect at the next admin request).
    pub(crate) fn app(&self) -> Arc<App> {
        self.handle.load()
    }
}

pub(crate) fn start(handle: Arc<AppHandle>, shutdown: Shutdown) -> std::io::Result<AdminHandle> {
    let listener = TcpListener::bind(handle.load().config().server.admin_addr)?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(false)?;
    let state = Arc::new(AdminState {
        handle,
        sessions: auth::Sessions::default(),
        active: AtomicUsize::new(0),
    });
    let thread = std::thread::Builder::new()
        .name("admin".into())
        .spawn(move || {
            // Wake the blocking accept on shutdown by connecting to ourselves.
            let sd = shutdown.clone();
            std::thread::spawn(move || {
                futures_lite::future::block_on(sd.wait());
                let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
            });
            for stream in listener.incoming() {
                if shutdown.is_triggered() {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if state.active.fetch_add(1, Ordering::AcqRel) >= MAX_ADMIN_CONNECTIONS {
                    state.active.fetch_sub(1, Ordering::AcqRel);
                    drop(stream);
                    continue;
                }
                let st = state.clone();
                let spawned =
                    std::thread::Builder::new()
                        .name("admin-conn".into())
                        .spawn(move || {
                            let _ = serve_admin(stream, &st);
                            st.active.fetch_sub(1, Ordering::AcqRel);
                        });
                if spawned.is_err() {
                    state.active.fetch_sub(1, Ordering::AcqRel);
                }
            }
        })?;
    tracing::info!(addr = %addr, "admin listener up");
    Ok(AdminHandle { addr, thread })
}

fn serve_admin(mut stream: TcpStream, state: &AdminState) -> std::io::Result<()> {
    stream.set_read_timeout(Some(ADMIN_IO_TIMEOUT))?;
    stream.set_write_timeout(Some(ADMIN_IO_TIMEOUT))?;
    let req = match http::read_request(&mut stream) {
        Ok(r) => r,
        Err(http::ReadError::Closed) | Err(http::ReadError::Io) => return Ok(()),
        Err(http::ReadError::Refused(e)) => {
            return http::write_response(&mut stream, &Response::text(e.status, e.reason), false)
        }
    };
    let resp = route(&req, state);
    http::write_response(&mut stream, &resp, req.method == "HEAD")
}

/// Answers one request.
pub(crate) fn route(req: &Request, state: &AdminState) -> Response {
    let app = &state.app();
    let ui_cfg = &app.config().ui;
    let read = req.method == "GET" || req.method == "HEAD";
    let admin_ok = || !ui_cfg.has_credentials() || auth::authorized(req, ui_cfg, &state.sessions);
    match (req.path.as_str(), read) {
        ("/health", true) => Response::text(200, "ok"),
        ("/ready", true) => Response::text(200, "ready"),
        ("/metrics", true) => {
            let snap = metrics::snapshot(false);
            Response::new(
                200,
                exposition::CONTENT_TYPE,
                prometheus::render(app, &snap),
            )
        }
        ("/stats", true) => stats(req),
        ("/ui" | "/ui/" | "/ui/login" | "/ui/logout" | "/ui/app.js" | "/ui/style.css", _) => {
            ui::route(req, state)
        }
        (p, _) if p.starts_with("/admin/") => {
            if !admin_ok() {
                return Response::text(401, "admin credentials required")
                    .with_header("WWW-Authenticate", "Basic realm=\"s3-orchestrator admin\"");
            }
            admin(req, state)
        }
        ("/health" | "/ready" | "/metrics" | "/stats", false) => {
            Response::text(405, "method not allowed").with_header("Allow", "GET, HEAD")
        }
        _ => Response::text(404, "not found"),
    }
}

fn stats(req: &Request) -> Response {
    let snap = metrics::snapshot(true);
    match req.param("format").as_deref() {
        None | Some("json") => Response::json(200, &metrics::stats::build(&snap)),
        Some("hdr") => {
            let last = match req.param("window").as_deref() {
                None | Some(metrics::stats::SINCE_START) => false,
                Some(metrics::stats::LAST_60S) => true,
                Some(_) => return Response::text(400, "window: expected since_start or last_60s"),
            };
            match metrics::stats::hdr_log(&snap, last) {
                Ok(log) => Response::new(200, "text/plain; charset=utf-8", log),
                Err(e) => Response::text(500, format!("cannot write the histogram log: {e}")),
            }
        }
        Some(_) => Response::text(400, "format: expected json or hdr"),
    }
}

/// `/admin/*`, once [`route`] let the caller through: one handler per (path, method).
fn admin(req: &Request, state: &AdminState) -> Response {
    let app = &state.app();
    match (req.path.as_str(), req.method.as_str()) {
        ("/admin/status", "GET" | "HEAD") => Response::json(200, &api::status(app)),
        ("/admin/object", "GET" | "HEAD") => object(req, app),
        ("/admin/log-level", "GET" | "HEAD") => log_level(),
        ("/admin/log-level", "PUT" | "POST") => set_log_level(req, app),
        // Changes: like the log level, they need the admin credentials to be configured.
        ("/admin/reload", "POST") | ("/admin/drain", "POST" | "DELETE")
            if !app.config().ui.has_credentials() =>
        {
            Response::text(
                403,
                "this admin action needs ui.admin_key and ui.admin_secret in the config",
            )
        }
        ("/admin/reload", "POST") => reload(state),
        ("/admin/drain", "GET" | "HEAD" | "POST" | "DELETE") => drain(req, app),
        (p, _) if p == "/admin/orphans" || p.starts_with("/admin/orphans/") => {
            orphans::route(req, app)
        }
        ("/admin/status" | "/admin/object" | "/admin/log-level" | "/admin/reload", _) => {
            Response::text(405, "method not allowed")
        }
        _ => Response::text(404, "not found"),
    }
}

/// `GET /admin/object?bucket=B&key=K`: the object's copies and their states.
fn object(req: &Request, app: &App) -> Response {
    let (Some(bucket), Some(key)) = (req.param("bucket"), req.param("key")) else {
        return Response::text(400, "expected ?bucket=B&key=K");
    };
    match api::object(app, &bucket, &key) {
        Ok(Some(view)) => Response::json(200, &view),
        Ok(None) => Response::text(404, "no such object in the catalog"),
        Err(e) => Response::text(503, e),
    }
}

/// `GET /admin/log-level`: the tracing filter in effect.
fn log_level() -> Response {
    match crate::logging::current_filter() {
        Some(f) => Response::text(200, f),
        None => Response::text(503, "logging is not initialised"),
    }
}

/// `PUT /admin/log-level` (body: a level or tracing filter); only with admin credentials set.
fn set_log_level(req: &Request, app: &App) -> Response {
    if !app.config().ui.has_credentials() {
        return Response::text(
            403,
            "changing the log level needs ui.admin_key and ui.admin_secret in the config",
        );
    }
    let text = String::from_utf8_lossy(&req.body);
    match crate::logging::set_filter(&text) {
        Ok(f) => Response::text(200, f),
        Err(crate::logging::FilterError::NotInitialized) => {
            Response::text(503, "logging is not initialised")
        }
        Err(e) => Response::text(400, e.to_string()),
    }
}

/// `POST /admin/reload`: re-read the config file.
fn reload(state: &AdminState) -> Response {
    match state.handle.reload_from_file() {
        // Validated whole first: a bad file changes nothing and the error names key and line.
        Ok(()) => Response::text(200, "config reloaded"),
        Err(e) => {
            tracing::warn!(error = %e, "config reload through the admin API refused");
            Response::text(400, e)
        }
    }
}

/// `POST|DELETE|GET /admin/drain?backend=NAME`: start, stop or watch draining a backend.
fn drain(req: &Request, app: &App) -> Response {
    let Some(name) = req.param("backend") else {
        return Response::text(400, "expected ?backend=NAME");
    };
    let Some(b) = app.backend_by_name(&name) else {
        return Response::text(404, "no backend of that name");
    };
    match req.method.as_str() {
        "POST" => {
            app.set_draining(&name, true);
            tracing::info!(backend = name, "drain started");
        }
        "DELETE" => {
            app.set_draining(&name, false);
            tracing::info!(backend = name, "drain stopped");
        }
        _ => {}
    }
    let objects = app
        .placement
        .slots
        .get(b.index)
        .map(|s| s.objects.load(Ordering::Relaxed))
        .unwrap_or(0);
    let draining = app.is_draining(b.index);
    let body = serde_json::json!({
        "backend": name,
        "draining": draining,
        "objects_remaining": objects,
        // Safe to remove from the config once drained and nothing remains on it.
        "drained": draining && objects == 0,
    });
    Response::json(200, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`routes_answer_as_before`] gets, one line per request.
    const EXPECTED_ROUTES: &str = include_str!("testdata/admin_routes.txt");

    /// Admin state over two local backends; `credentials` adds `ui.admin_key`/`admin_secret`
    /// (`admin`/`secret`) and `ui.admin_token` (`tok`). Also returns the config file's path.
    fn state(dir: &std::path::Path, credentials: bool) -> (AdminState, std::path::PathBuf) {
        let ui = if credentials {
            "ui:\n  admin_key: admin\n  admin_secret: secret\n  admin_token: tok\n"
        } else {
            ""
        };
        let yaml = format!(
            "backends:\n  - name: disk-a\n    path: {root}/a\n  - name: disk-b\n    path: {root}/b\n\
             buckets:\n  - name: myapp\n    credentials:\n      - access_key_id: AK\n        \
             secret_access_key: SK\ncatalog:\n  path: {root}/catalog\n{ui}",
            root = dir.display()
        );
        let path = dir.join("config.yaml");
        std::fs::write(&path, &yaml).expect("write config");
        let cfg = crate::config::Config::from_str_named(&yaml, "admin-test").expect("config");
        let app = App::new(cfg, Default::default()).expect("app");
        let st = AdminState {
            handle: AppHandle::new(app),
            sessions: auth::Sessions::default(),
            active: AtomicUsize::new(0),
        };
        (st, path)
    }

    /// `target` is path and query; `auth` the `Authorization` header.
    fn request(method: &str, target: &str, auth: Option<&str>, body: &str) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers: auth
                .map(|a| vec![("authorization".to_owned(), a.to_owned())])
                .unwrap_or_default(),
            body: body.as_bytes().to_vec(),
        }
    }

    /// One request and its answer as a line; the body left out where it varies between runs
    /// (live counters, uptime).
    fn exchange(st: &AdminState, (method, target, auth, body): Case) -> String {
        let resp = route(&request(method, target, auth, body), st);
        let path = target.split('?').next().unwrap_or(target);
        let varies = matches!(path, "/metrics" | "/stats" | "/admin/status") && resp.status == 200;
        let answer = if varies {
            "(varies)".to_owned()
        } else {
            format!("{:?}", String::from_utf8_lossy(&resp.body))
        };
        format!(
            "{method} {target} auth={auth:?} body={body:?} -> {} {} {:?} {answer}\n",
            resp.status, resp.content_type, resp.headers,
        )
    }

    /// Method, path and query, `Authorization`, body.
    type Case = (
        &'static str,
        &'static str,
        Option<&'static str>,
        &'static str,
    );

    const OPEN: &[Case] = &[
        ("GET", "/health", None, ""),
        ("HEAD", "/health", None, ""),
        ("POST", "/health", None, ""),
        ("GET", "/ready", None, ""),
        ("PUT", "/ready", None, ""),
        ("GET", "/metrics", None, ""),
        ("DELETE", "/metrics", None, ""),
        ("GET", "/stats", None, ""),
        ("GET", "/stats?format=json", None, ""),
        ("GET", "/stats?format=hdr&window=never", None, ""),
        ("GET", "/stats?format=xml", None, ""),
        ("POST", "/stats", None, ""),
        ("GET", "/nope", None, ""),
        ("GET", "/ui/app.js", None, ""),
        ("GET", "/admin/status", None, ""),
        ("HEAD", "/admin/status", None, ""),
        ("POST", "/admin/status", None, ""),
        ("GET", "/admin/object", None, ""),
        ("GET", "/admin/object?bucket=myapp", None, ""),
        ("GET", "/admin/object?bucket=myapp&key=k", None, ""),
        ("DELETE", "/admin/object?bucket=myapp&key=k", None, ""),
        ("GET", "/admin/log-level", None, ""),
        ("PUT", "/admin/log-level", None, "debug"),
        ("POST", "/admin/log-level", None, "debug"),
        ("DELETE", "/admin/log-level", None, ""),
        ("POST", "/admin/reload", None, ""),
        ("GET", "/admin/reload", None, ""),
        ("GET", "/admin/drain", None, ""),
        ("GET", "/admin/drain?backend=disk-a", None, ""),
        ("HEAD", "/admin/drain?backend=disk-b", None, ""),
        ("GET", "/admin/drain?backend=zz", None, ""),
        ("POST", "/admin/drain?backend=disk-a", None, ""),
        ("DELETE", "/admin/drain?backend=disk-a", None, ""),
        ("PUT", "/admin/drain?backend=disk-a", None, ""),
        ("GET", "/admin/nope", None, ""),
        ("GET", "/admin", None, ""),
    ];

    const BASIC: Option<&str> = Some("Basic YWRtaW46c2VjcmV0"); // admin:secret
    const BEARER: Option<&str> = Some("Bearer tok");

    const GUARDED: &[Case] = &[
        ("GET", "/health", None, ""),
        ("GET", "/admin/status", None, ""),
        ("GET", "/admin/status", Some("Basic YWRtaW46d3Jvbmc="), ""), // admin:wrong
        ("GET", "/admin/status", Some("Bearer nope"), ""),
        ("GET", "/admin/status", BASIC, ""),
        ("GET", "/admin/nope", None, ""),
        ("GET", "/admin/nope", BEARER, ""),
        ("GET", "/admin/object?bucket=myapp&key=k", BEARER, ""),
        ("GET", "/admin/log-level", BEARER, ""),
        ("PUT", "/admin/log-level", BEARER, "debug"),
        ("PATCH", "/admin/log-level", BEARER, "debug"),
        ("POST", "/admin/reload", None, ""),
        ("POST", "/admin/reload", BEARER, ""),
        ("GET", "/admin/drain?backend=disk-a", BASIC, ""),
        ("POST", "/admin/drain", BASIC, ""),
        ("POST", "/admin/drain?backend=zz", BASIC, ""),
        ("POST", "/admin/drain?backend=disk-a", BASIC, ""),
        ("GET", "/admin/drain?backend=disk-a", BEARER, ""),
        ("DELETE", "/admin/drain?backend=disk-a", BEARER, ""),
        ("PUT", "/admin/drain?backend=disk-a", BEARER, ""),
    ];

    /// Every route's status, content type, headers and body for a fixed list of requests, open
    /// (no admin credentials configured) and guarded, byte for byte.
    #[test]
    fn routes_answer_as_before() {
        let mut got = String::new();
        let dir = tempfile::tempdir().expect("tempdir");
        let (open, _) = state(dir.path(), false);
        got.push_str("# no admin credentials configured\n");
        for case in OPEN {
            got.push_str(&exchange(&open, *case));
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (guarded, config_path) = state(dir.path(), true);
        got.push_str("# ui.admin_key, ui.admin_secret and ui.admin_token configured\n");
        for case in GUARDED {
            got.push_str(&exchange(&guarded, *case));
        }
        guarded.handle.set_config_path(&config_path);
        got.push_str("# started from a config file\n");
        got.push_str(&exchange(&guarded, ("POST", "/admin/reload", BEARER, "")));
        // After an intended change: rerun with this set to rewrite the expected file.
        if let Some(path) = std::env::var_os("S3O_WRITE_ADMIN_ROUTES") {
            std::fs::write(path, &got).expect("write");
        }
        assert_eq!(got, EXPECTED_ROUTES);
    }
}
