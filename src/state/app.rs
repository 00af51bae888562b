//! State shared by every shard: the active config, the catalog, the backends, placement and the
//! indexes derived from the config. Everything here is `Send + Sync`; what the request path
//! touches per request is read-mostly (maps built at start) or per-backend atomics.

use super::keylock::KeyLocks;
use super::placement::Placement;
use crate::backend::transport::PoolLimits;
use crate::backend::{local::LocalBackend, s3::S3Backend, Backend, BackendKind};
use crate::catalog::Catalog;
use crate::config::{BackendConfigKind, Config, Permissions};
use crate::s3::auth::SecretKey;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

/// One client credential: its secret, what it may do in which configured bucket, and whether
/// it is an admin credential (may create and delete buckets through the S3 API).
pub struct Credential {
    pub secret: SecretKey,
    /// (bucket, permissions) from the config's `buckets[].credentials[]`.
    pub grants: Vec<(String, Permissions)>,
    pub admin: bool,
}

pub struct App {
    config: Config,
    /// access key id → credential.
    pub credentials: HashMap<String, Credential>,
    pub started: SystemTime,
    pub catalog: Catalog,
    pub backends: Vec<Backend>,
    pub placement: Placement,
    pub key_locks: Arc<KeyLocks>,
    /// Wakes the background shard when new durable work (cleanups, copies) was queued.
    pub background: Arc<event_listener::Event>,
    /// Quota reserved by the parts of multipart uploads in progress.
    pub uploads: Arc<super::reservations::UploadReservations>,
    /// Bytes each access key's uploads in flight hold reserved (`server.max_in_flight_bytes_per_key`).
    pub in_flight: Arc<super::inflight::InFlightByKey>,
    /// TLS settings for `https://` backends (webpki roots; ring provider).
    pub backend_tls: Arc<rustls::ClientConfig>,
    /// The client listener's certificate and key (`server.tls`), read again by every reload so
    /// a renewed certificate is served without a restart.
    pub server_tls: Option<Arc<rustls::ServerConfig>>,
    /// Client listener limits.
    pub limits: super::ServerLimits,
    /// Backends being drained (admin API): no new writes, their copies re-created elsewhere and
    /// then removed. Kept across reloads; not across restarts (drain again after one).
    pub draining: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Circuit breakers, usage limits and admission control, shared by all shards.
    pub health: Arc<crate::health::Health>,
    /// Timeouts and pool bounds of every backend pool (`server.backend_timeout`).
    pub client_limits: PoolLimits,
}

/// Why a backend takes no new object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteSkip {
    /// An operator is draining it (admin API): no new object of any kind.
    Draining,
    /// Its breaker is open or it reached a usage limit.
    Health(crate::health::Skip),
}

/// The credential index a config defines.
fn credential_index(config: &Config) -> HashMap<String, Credential> {
    let mut credentials: HashMap<String, Credential> = HashMap::new();
    fn entry<'m>(
        m: &'m mut HashMap<String, Credential>,
        c: &crate::config::CredentialConfig,
    ) -> &'m mut Credential {
        m.entry(c.access_key_id.clone())
            .or_insert_with(|| Credential {
                secret: SecretKey::new(c.secret_access_key.expose().to_owned()),
                grants: Vec::new(),
                admin: false,
            })
    }
    for b in &config.buckets {
        for c in &b.credentials {
            entry(&mut credentials, c)
                .grants
                .push((b.name.clone(), c.permissions));
        }
    }
    for c in &config.admin_credentials {
        entry(&mut credentials, c).admin = true;
    }
    credentials
}

/// The backends a config defines (local directories are created if missing).
fn open_backends(config: &Config, health: &crate::health::Health) -> std::io::Result<Vec<Backend>> {
    let mut backends = Vec::with_capacity(config.backends.len());
    for (index, b) in config.backends.iter().enumerate() {
        let kind = match &b.kind {
            BackendConfigKind::Local { path } => {
                BackendKind::Local(LocalBackend::open(&b.name, path).map_err(|e| {
                    std::io::Error::other(format!(
                        "backends[{index}] ({}): path {}: {e}",
                        b.name,
                        path.display()
                    ))
                })?)
            }
            BackendConfigKind::S3 { ca_file, .. } => {
                let trust = match ca_file {
                    Some(path) => Some(backend_trust(index, &b.name, path)?),
                    None => None,
                };
                BackendKind::S3(Box::new(S3Backend::from_config(
                    b,
                    health.backends[index].clone(),
                    trust,
                )))
            }
        };
        backends.push(Backend {
            name: b.name.clone(),
            index,
            kind,
        });
    }
    Ok(backends)
}

/// The TLS configuration of a backend with its own `tls.ca_file`: the public web roots plus every
/// certificate in that file. Read when the config is loaded or reloaded, never on a shard.
fn backend_trust(
    index: usize,
    name: &str,
    path: &std::path::Path,
) -> std::io::Result<crate::backend::transport::TlsTrust> {
    let fail = |e: &dyn std::fmt::Display| {
        std::io::Error::other(format!(
            "backends[{index}] ({name}): tls.ca_file {}: {e}",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| fail(&e))?;
    let config = crate::backend::transport::BackendPool::default_tls_config(Some(&pem))
        .map_err(|e| fail(&e))?;
    Ok(crate::backend::transport::TlsTrust(config))
}

/// The listener's TLS configuration from the files `server.tls` names, if it is set.
fn load_server_tls(config: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    match &config.server.tls {
        Some(t) => super::tls::server_config(&t.cert_file, &t.key_file).map(Some),
        None => Ok(None),
    }
}

fn quotas(config: &Config) -> Vec<(String, Option<u64>)> {
    config
        .backends
        .iter()
        .map(|b| (b.name.clone(), b.quota_bytes))
        .collect()
}

impl App {
    /// Opens the catalog and the backends named by a validated config.
    pub fn new(config: Config, limits: super::ServerLimits) -> std::io::Result<App> {
        let credentials = credential_index(&config);
        let catalog = Catalog::open(&config.catalog.path).map_err(|e| {
            std::io::Error::other(format!(
                "catalog.path {}: {e}",
                config.catalog.path.display()
            ))
        })?;
        let health = Arc::new(crate::health::Health::new(&config, &catalog)?);
        let backends = open_backends(&config, &health)?;
        let placement = Placement::new(config.routing_strategy, &quotas(&config));
        let backend_tls = crate::backend::transport::BackendPool::default_tls_config(None)?;
        let server_tls = load_server_tls(&config).map_err(std::io::Error::other)?;
        let usage = catalog
            .all_usage()
            .map_err(|e| std::io::Error::other(format!("catalog: {e}")))?;
        for (name, u) in usage {
            placement.set_usage(&name, u.bytes_used, u.objects);
        }
        let uploads = Arc::new(super::reservations::UploadReservations::default());
        let (parts, bytes) = uploads
            .restore(&catalog, &placement)
            .map_err(|e| std::io::Error::other(format!("catalog: {e}")))?;
        if parts > 0 {
            tracing::info!(
                parts,
                bytes,
                "parts of multipart uploads in progress count against their backend's quota again"
            );
        }
        let app = App {
            credentials,
            started: crate::util::clock::now(),
            catalog,
            backends,
            placement,
            key_locks: KeyLocks::new(),
            background: Arc::new(event_listener::Event::new()),
            uploads,
            in_flight: Default::default(),
            backend_tls,
            server_tls,
            limits: limits.with_config(&config.server),
            draining: Default::default(),
            client_limits: client_limits(&config),
            health,
            config,
        };
        app.report_orphans();
        Ok(app)
    }

    /// The state for a reloaded config: the catalog, locks, queues and usage of backends that
    /// stay are shared with `self`; what the config defines (credentials, backends, quotas,
    /// strategy, replication settings) comes from `config`. Listener settings and the catalog
    /// path need a restart; a reload that changes them is refused.
    pub fn reloaded(&self, config: Config) -> Result<App, String> {
        let old = &self.config;
        let needs_restart = [
            (
                "server.listen_addr",
                old.server.listen_addr != config.server.listen_addr,
            ),
            (
                "server.admin_addr",
                old.server.admin_addr != config.server.admin_addr,
            ),
            ("server.shards", old.server.shards != config.server.shards),
            // Switching between HTTP and HTTPS changes what the listener speaks; a new
            // certificate (same or other files) is read below.
            (
                "server.tls",
                old.server.tls.is_some() != config.server.tls.is_some(),
            ),
            ("server.domain", old.server.domain != config.server.domain),
            ("catalog.path", old.catalog.path != config.catalog.path),
        ];
        if let Some((key, _)) = needs_restart.iter().find(|(_, changed)| *changed) {
            return Err(format!(
                "{key} cannot change on reload; restart the orchestrator to apply it"
            ));
        }
        let server_tls = load_server_tls(&config)?;
        let health = Arc::new(
            self.health
                .reloaded(&config, &self.catalog)
                .map_err(|e| e.to_string())?,
        );
        let backends = open_backends(&config, &health).map_err(|e| e.to_string())?;
        let placement = self
            .placement
            .carry_over(config.routing_strategy, &quotas(&config));
        // Backends new to this process get their usage from the catalog (they may have been
        // configured before).
        let usage = self
            .catalog
            .all_usage()
            .map_err(|e| format!("catalog: {e}"))?;
        for (name, u) in usage {
            if self.placement.index_of(&name).is_none() {
                placement.set_usage(&name, u.bytes_used, u.objects);
            }
        }
        Ok(App {
            credentials: credential_index(&config),
            started: self.started,
            catalog: self.catalog.clone(),
            backends,
            placement,
            key_locks: self.key_locks.clone(),
            background: self.background.clone(),
            uploads: self.uploads.clone(),
            in_flight: self.in_flight.clone(),
            backend_tls: self.backend_tls.clone(),
            server_tls,
            limits: self.limits.with_config(&config.server),
            draining: self.draining.clone(),
            client_limits: client_limits(&config),
            health,
            config,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `bucket` is defined in the config.
    pub fn is_config_bucket(&self, bucket: &str) -> bool {
        self.config.buckets.iter().any(|b| b.name == bucket)
    }

    /// The API-created bucket of that name, if there is one (a catalog read).
    pub fn api_bucket(&self, bucket: &str) -> Option<crate::catalog::BucketRecord> {
        self.catalog.get_bucket(bucket).ok().flatten()
    }

    /// Whether `bucket` is a virtual bucket at all (configured or created through the API).
    pub fn bucket_exists(&self, bucket: &str) -> bool {
        self.is_config_bucket(bucket) || self.api_bucket(bucket).is_some()
    }

    /// What `access_key` may do in `bucket`. A configured bucket is governed by the config alone;
    /// an API-created bucket gives its creator every permission; an orphaned bucket (see
    /// `state::orphans`) gives nobody anything.
    pub fn permissions(&self, access_key: &str, bucket: &str) -> Permissions {
        let Some(cred) = self.credentials.get(access_key) else {
            return Permissions::NONE;
        };
        if self.is_config_bucket(bucket) {
            // A catalog record for a config bucket's name is an API bucket whose name later
            // appeared in the config: orphaned (`orphans`), nobody's. A failed read counts as
            // one, so an error never hands a bucket over.
            if !matches!(self.catalog.get_bucket(bucket), Ok(None)) {
                return Permissions::NONE;
            }
            return cred
                .grants
                .iter()
                .filter(|(b, _)| b == bucket)
                .fold(Permissions::NONE, |acc, (_, p)| acc.union(*p));
        }
        match self.api_bucket(bucket) {
            Some(rec) if rec.owner_access_key == access_key => Permissions::ALL,
            _ => Permissions::NONE,
        }
    }

    /// Whether `access_key` may use `bucket` at all.
    pub fn may_use(&self, access_key: &str, bucket: &str) -> bool {
        !self.permissions(access_key, bucket).is_empty()
    }

    /// The buckets `access_key` may use, with their creation time (ms), sorted by name.
    pub fn visible_buckets(&self, access_key: &str) -> Vec<(String, i64)> {
        let started = crate::util::clock::since_epoch_at(self.started).as_millis() as i64;
        let mut out: Vec<(String, i64)> = Vec::new();
        // Without the records, config buckets that are orphaned could not be told apart.
        let Ok(api) = self.catalog.list_buckets() else {
            return out;
        };
        if let Some(cred) = self.credentials.get(access_key) {
            for (b, p) in &cred.grants {
                let orphaned = api.iter().any(|r| r.name == *b);
                if !p.is_empty() && !orphaned && !out.iter().any(|(n, _)| n == b) {
                    out.push((b.clone(), started));
                }
            }
        }
        for rec in api {
            if rec.owner_access_key == access_key && !self.is_config_bucket(&rec.name) {
                out.push((rec.name, rec.created_ms));
            }
        }
        out.sort();
        out
    }

    pub fn backend_by_name(&self, name: &str) -> Option<&Backend> {
        self.backends.iter().find(|b| b.name == name)
    }

    /// Backend `i`'s circuit-breaker state as the guide exports it: 0 healthy, 1 down, 2 probing.
    pub fn breaker_state(&self, i: usize) -> u8 {
        self.health
            .backends
            .get(i)
            .map_or(0, |b| b.breaker.state() as u8)
    }

    /// Whether backend `i` has been down longer than `replication.unhealthy_threshold` (needs
    /// `backend_circuit_breaker.enabled`): its copies then stop counting toward the factor.
    pub fn long_down(&self, i: usize) -> bool {
        let threshold = self.config.replication.unhealthy_threshold;
        self.health
            .backends
            .get(i)
            .and_then(|b| b.breaker.down_for(std::time::Instant::now()))
            .is_some_and(|d| d >= threshold)
    }

    /// Whether backend `i` is being drained.
    pub fn is_draining(&self, i: usize) -> bool {
        let Some(b) = self.backends.get(i) else {
            return false;
        };
        self.draining
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&b.name)
    }

    /// Starts or stops draining a backend; `false` if no backend has that name.
    pub fn set_draining(&self, name: &str, on: bool) -> bool {
        if self.backend_by_name(name).is_none() {
            return false;
        }
        let mut d = self.draining.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            d.insert(name.to_owned());
        } else {
            d.remove(name);
        }
        drop(d);
        self.wake_background();
        true
    }

    /// Why backend `i` must not take a new object of `bytes`, if it must not: draining, breaker
    /// open, or a usage limit reached. Every write path asks this one question (PutObject,
    /// CopyObject, multipart uploads, replication and rebalancing copies).
    pub fn write_skip(&self, i: usize, bytes: u64) -> Option<WriteSkip> {
        if self.is_draining(i) {
            return Some(WriteSkip::Draining);
        }
        self.health.write_skip(i, bytes).map(WriteSkip::Health)
    }

    /// Whether backend `i` may take new writes (see [`App::write_skip`]).
    pub fn writable(&self, i: usize) -> bool {
        self.write_skip(i, 0).is_none()
    }

    /// Whether backend `i` may serve reads (breaker closed, usage limits not reached).
    pub fn readable(&self, i: usize) -> bool {
        self.health.read_skip(i, 0).is_none()
    }

    /// Counts `size` bytes against `access_key`'s uploads in flight until the charge is dropped;
    /// `None` when that would pass `server.max_in_flight_bytes_per_key`.
    pub fn charge_in_flight(
        &self,
        access_key: &str,
        size: u64,
    ) -> Option<super::inflight::InFlightCharge> {
        self.in_flight.charge(
            access_key,
            size,
            self.config.server.max_in_flight_bytes_per_key,
        )
    }

    /// Replication intents to queue with each new object: one per copy beyond the first.
    pub fn replication_intents(&self) -> u32 {
        let extra = self.config.replication.factor.saturating_sub(1);
        (extra as u32).min(crate::catalog::MAX_REPLICATE_INTENTS)
    }

    pub fn wake_background(&self) {
        self.background.notify(usize::MAX);
    }

    /// Whether any backend is a local directory (whose ETag we compute ourselves).
    pub fn has_local_backends(&self) -> bool {
        self.backends.iter().any(|b| b.is_local())
    }
}

/// The current [`App`], swappable by a config reload. Shards check [`AppHandle::generation`] (a
/// rarely written atomic, so reading it is uncontended) before each request and take the new
/// state only when it changed; requests in flight finish on the state they started with.
pub struct AppHandle {
    current: arc_swap::ArcSwap<App>,
    generation: std::sync::atomic::AtomicU64,
    /// The file the config came from, for reloads through the admin API.
    config_path: std::sync::Mutex<Option<std::path::PathBuf>>,
}

impl AppHandle {
    pub fn new(app: App) -> Arc<AppHandle> {
        Arc::new(AppHandle {
            current: arc_swap::ArcSwap::from_pointee(app),
            generation: std::sync::atomic::AtomicU64::new(0),
            config_path: std::sync::Mutex::new(None),
        })
    }

    /// Remembers the config file (the CLI sets it; in-process tests need not).
    pub fn set_config_path(&self, path: &std::path::Path) {
        *self.config_path.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.to_owned());
    }

    /// Reloads from the remembered config file: the admin API's reload. The file must
    /// validate whole, or nothing changes; the error names the key and line.
    pub fn reload_from_file(&self) -> Result<(), String> {
        let path = self
            .config_path
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or("this instance was not started from a config file")?;
        let cfg = Config::load(&path).map_err(|e| e.to_string())?;
        self.reload(cfg)
    }

    pub fn load(&self) -> Arc<App> {
        self.current.load_full()
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Validates and swaps in a new config. On error nothing changes.
    pub fn reload(&self, config: Config) -> Result<(), String> {
        let next = self.load().reloaded(config)?;
        self.current.store(Arc::new(next));
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let app = self.load();
        app.wake_background();
        tracing::info!(
            backends = app.backends.len(),
            buckets = app.config().buckets.len(),
            factor = app.config().replication.factor,
            "config reloaded"
        );
        // Buckets the new config no longer owns (or that it now names over an API bucket).
        app.report_orphans();
        Ok(())
    }
}

/// The backend client limits for a config: `server.backend_timeout` bounds the wait for a response
/// head and every stalled read or write, and caps the connect timeout, so a hung backend (accepts
/// connections, never answers) fails over within about one `backend_timeout`.
fn client_limits(cfg: &Config) -> PoolLimits {
    let t = cfg.server.backend_timeout;
    let d = PoolLimits::default();
    PoolLimits {
        connect_timeout: d.connect_timeout.min(t),
        response_head_timeout: t,
        io_timeout: t,
        expect_continue_timeout: d.expect_continue_timeout.min(t),
        ..d
    }
}
