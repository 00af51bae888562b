//! State shared by every shard: the active config, the catalog, the backends, placement and the
//! indexes derived from the config. Everything here is `Send + Sync`; what the request path
//! touches per request is read-mostly (maps built at start) or per-backend atomics.

use super::keylock::KeyLocks;
use super::placement::Placement;
use crate::backend::{local::LocalBackend, s3::S3Backend, Backend, BackendKind};
use crate::catalog::Catalog;
use crate::config::{BackendKind as BackendConfigKind, Config};
use crate::s3::auth::SecretKey;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

/// One client credential and the virtual buckets it may use.
pub struct Credential {
    pub secret: SecretKey,
    pub buckets: Vec<String>,
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
    pub background: event_listener::Event,
    /// Quota reserved by the parts of multipart uploads in progress.
    pub uploads: super::multipart::UploadReservations,
    /// TLS settings for `https://` backends (webpki roots; ring provider).
    pub backend_tls: Arc<rustls::ClientConfig>,
    /// Client listener limits.
    pub limits: crate::server::ServerLimits,
    /// Circuit breakers, usage limits and admission control, shared by all shards.
    pub health: Arc<crate::health::Health>,
}

impl App {
    /// Opens the catalog and the backends named by a validated config.
    pub fn new(config: Config, limits: crate::server::ServerLimits) -> std::io::Result<App> {
        let mut credentials: HashMap<String, Credential> = HashMap::new();
        for b in &config.buckets {
            for c in &b.credentials {
                let entry = credentials
                    .entry(c.access_key_id.clone())
                    .or_insert_with(|| Credential {
                        secret: SecretKey::new(c.secret_access_key.expose().to_owned()),
                        buckets: Vec::new(),
                    });
                entry.buckets.push(b.name.clone());
            }
        }
        let catalog = Catalog::open(&config.catalog.path).map_err(|e| {
            std::io::Error::other(format!(
                "catalog.path {}: {e}",
                config.catalog.path.display()
            ))
        })?;
        let health = Arc::new(crate::health::Health::new(&config, &catalog)?);
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
                BackendConfigKind::S3 { .. } => {
                    BackendKind::S3(S3Backend::from_config(b, health.backends[index].clone()))
                }
            };
            backends.push(Backend {
                name: b.name.clone(),
                index,
                kind,
            });
        }
        let placement = Placement::new(
            config.routing_strategy,
            &config
                .backends
                .iter()
                .map(|b| (b.name.clone(), b.quota_bytes))
                .collect::<Vec<_>>(),
        );
        let backend_tls = crate::backend::client::ClientPool::default_tls_config(None)?;
        let usage = catalog
            .all_usage()
            .map_err(|e| std::io::Error::other(format!("catalog: {e}")))?;
        for (name, u) in usage {
            placement.set_usage(&name, u.bytes_used, u.objects);
        }
        Ok(App {
            config,
            credentials,
            started: SystemTime::now(),
            catalog,
            backends,
            placement,
            key_locks: KeyLocks::new(),
            background: event_listener::Event::new(),
            uploads: Default::default(),
            backend_tls,
            limits,
            health,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether `bucket` is a virtual bucket at all.
    pub fn bucket_exists(&self, bucket: &str) -> bool {
        self.config.buckets.iter().any(|b| b.name == bucket)
    }

    /// Whether `access_key` may use `bucket`.
    pub fn may_use(&self, access_key: &str, bucket: &str) -> bool {
        self.credentials
            .get(access_key)
            .is_some_and(|c| c.buckets.iter().any(|b| b == bucket))
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

    /// Whether backend `i` may take new writes (breaker closed, usage limits not reached).
    pub fn writable(&self, i: usize) -> bool {
        self.health.write_skip(i, 0).is_none()
    }

    /// Whether backend `i` may serve reads (breaker closed, usage limits not reached).
    pub fn readable(&self, i: usize) -> bool {
        self.health.read_skip(i, 0).is_none()
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
