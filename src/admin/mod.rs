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
//! `/health`, `/ready`, `/metrics` and `/stats` are open (probes and scrapers; `/stats` holds the
//! same latency data as `/metrics`). `/admin/*` always needs admin credentials: the session
//! cookie from the dashboard's login form, HTTP basic auth with `ui.admin_key`/`ui.admin_secret`,
//! or `Bearer <ui.admin_token>`; when the config names none, `Bearer <generated token>` from the
//! file [`token`] writes beside the catalog. Sessions end when the credentials they were opened
//! with change or the dashboard is turned off. Every request but the probes passes [`guard`]
//! (`Host`, methods, `X-Requested-With` and `Origin` on changing requests); failed
//! authentications are delayed and logged ([`throttle`]); [`listener`] keeps probes answering
//! while other connections trickle.

pub(crate) mod api;
pub(crate) mod auth;
pub(crate) mod exposition;
pub(crate) mod guard;
pub(crate) mod health_metrics;
pub(crate) mod http;
pub(crate) mod listener;
pub(crate) mod orphans;
pub(crate) mod prometheus;
pub(crate) mod throttle;
pub(crate) mod token;
pub(crate) mod ui;

use crate::config::Secret;
use crate::metrics;
use crate::state::{App, AppHandle};
use crate::util::Shutdown;
use http::{Request, Response};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct AdminHandle {
    pub(crate) addr: SocketAddr,
    /// Where the generated admin token is, when the config names no admin credentials.
    pub(crate) token_file: Option<PathBuf>,
    thread: std::thread::JoinHandle<()>,
}

impl AdminHandle {
    pub(crate) fn join(self) {
        let _ = self.thread.join();
    }

    /// The generated admin token's file (none when admin credentials are configured).
    pub fn token_file(&self) -> Option<&Path> {
        self.token_file.as_deref()
    }
}

/// What every admin connection shares.
pub(crate) struct AdminState {
    pub(crate) handle: Arc<AppHandle>,
    pub(crate) sessions: auth::Sessions,
    /// The token used while the config names no admin credentials ([`token`]).
    pub(crate) token: token::GeneratedToken,
    pub(crate) throttle: throttle::AuthThrottle,
    /// Connections holding a slot ([`listener`]).
    active: AtomicUsize,
    /// Connection threads alive, evicted ones included.
    threads: AtomicUsize,
    reserve: listener::Reserve,
}

impl AdminState {
    pub(crate) fn new(handle: Arc<AppHandle>) -> AdminState {
        let catalog = handle.load().config().catalog.path.clone();
        AdminState {
            handle,
            sessions: auth::Sessions::default(),
            token: token::GeneratedToken::new(token::path_for(&catalog)),
            throttle: throttle::AuthThrottle::default(),
            active: AtomicUsize::new(0),
            threads: AtomicUsize::new(0),
            reserve: listener::Reserve::default(),
        }
    }

    /// The current state (a reload takes effect at the next admin request).
    pub(crate) fn app(&self) -> Arc<App> {
        self.handle.load()
    }

    /// The generated token, while the config names no admin credentials.
    pub(crate) fn generated_token(&self, app: &App) -> Option<Secret> {
        if app.config().ui.has_any_credentials() {
            None
        } else {
            self.token.get()
        }
    }

    /// The generated token's file, when it is in use.
    fn token_file(&self) -> Option<PathBuf> {
        self.generated_token(&self.app())
            .map(|_| self.token.path().to_owned())
    }
}

pub(crate) fn start(handle: Arc<AppHandle>, shutdown: Shutdown) -> std::io::Result<AdminHandle> {
    let listener = TcpListener::bind(handle.load().config().server.admin_addr)?;
    let state = Arc::new(AdminState::new(handle));
    listener::start(state, listener, shutdown)
}

/// Answers one request: probes at once; everything else after [`guard`]'s checks (`Host`,
/// documented methods, cross-site requests), `/admin/*` only with admin credentials.
pub(crate) fn route(req: &Request, state: &AdminState) -> Response {
    let app = &state.app();
    let allow = guard::allowed_methods(&req.path);
    if let Some(Err(refused)) = allow.map(|a| guard::check_method(&req.method, a)) {
        return refused;
    }
    match req.path.as_str() {
        "/health" => return Response::text(200, "ok"),
        "/ready" => return Response::text(200, "ready"),
        "/metrics" => {
            let snap = metrics::snapshot(false);
            let text = prometheus::render(app, &snap);
            return Response::new(200, exposition::CONTENT_TYPE, text);
        }
        _ => {}
    }
    if let Err(refused) = guard::check(req, app.config().server.admin_addr) {
        return refused;
    }
    match req.path.as_str() {
        "/stats" => stats(req),
        "/ui" | "/ui/" | "/ui/login" | "/ui/logout" | "/ui/app.js" | "/ui/login.js"
        | "/ui/style.css" => ui::route(req, state),
        p if p.starts_with("/admin/") => {
            let ui_cfg = &app.config().ui;
            let generated = state.generated_token(app);
            if !auth::authorized(req, ui_cfg, &state.sessions, generated.as_ref()) {
                let why = if req.header("authorization").is_some() {
                    "wrong credentials"
                } else if auth::session_token(req).is_some() {
                    "session not valid (expired, or the credentials changed)"
                } else {
                    "no credentials"
                };
                return Response::text(401, "admin credentials required")
                    .with_header("WWW-Authenticate", "Basic realm=\"s3-orchestrator admin\"")
                    .auth_failed(why);
            }
            admin(req, state)
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
        ("/admin/log-level", "PUT") => set_log_level(req),
        ("/admin/reload", "POST") => reload(state),
        ("/admin/drain", "GET" | "HEAD" | "POST" | "DELETE") => drain(req, app),
        (p, _) if p == "/admin/orphans" || p.starts_with("/admin/orphans/") => {
            orphans::route(req, app)
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

/// `PUT /admin/log-level` (body: a level or tracing filter).
fn set_log_level(req: &Request) -> Response {
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
        (AdminState::new(AppHandle::new(app)), path)
    }

    /// `target` is path and query; `auth` the `Authorization` header. Sent as the CLI and the
    /// dashboard send it: `Host` the listener's address, `X-Requested-With` on every request.
    fn request(method: &str, target: &str, auth: Option<&str>, body: &str) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers = vec![
            ("host".to_owned(), "127.0.0.1:9001".to_owned()),
            ("x-requested-with".to_owned(), "s3-orchestrator".to_owned()),
        ];
        headers.extend(auth.map(|a| ("authorization".to_owned(), a.to_owned())));
        Request {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
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

    /// Without configured credentials the admin API takes only the generated token, which is
    /// written beside the catalog (mode 0600) and reused by the next instance on that catalog.
    #[test]
    fn generated_token_opens_the_admin_api() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (st, _) = state(dir.path(), false);
        let file = dir.path().join("catalog.admin-token");
        let none = route(&request("GET", "/admin/status", None, ""), &st);
        assert_eq!(none.status, 401);
        assert_eq!(none.auth_failure, Some("no credentials"));
        let token = std::fs::read_to_string(&file).expect("token file");
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let bearer = format!("Bearer {}", token.trim());
        let ok = route(&request("GET", "/admin/status", Some(&bearer), ""), &st);
        assert_eq!(ok.status, 200);
        let reload = route(&request("POST", "/admin/reload", Some(&bearer), ""), &st);
        assert_eq!(
            reload.status, 400,
            "authorised; just not started from a file"
        );
        // The same token after a restart.
        let again = AdminState::new(st.handle.clone());
        assert_eq!(
            again
                .generated_token(&again.app())
                .map(|t| t.expose().to_owned()),
            Some(token.trim().to_owned())
        );
        // Without X-Requested-With a changing request is refused even with the token.
        let mut bare = request("POST", "/admin/reload", Some(&bearer), "");
        bare.headers.retain(|(n, _)| n != "x-requested-with");
        assert_eq!(route(&bare, &st).status, 403);
        // A foreign Host is refused before anything else.
        let mut rebound = request("GET", "/admin/status", Some(&bearer), "");
        rebound.headers[0].1 = "attacker.example:9001".into();
        assert_eq!(route(&rebound, &st).status, 421);
    }
}
