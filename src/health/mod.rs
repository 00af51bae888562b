//! Backend health and client protection: circuit breakers ([`breaker`]), monthly usage limits
//! ([`usage`]) and admission control ([`admission`]). The health thread that sends half-open
//! probes and flushes usage to the catalog runs in the background plane (`replication::prober`);
//! the Prometheus lines are rendered by the control plane (`admin::prometheus`).
//!
//! [`Health`] is shared by every shard (`Arc`, atomics inside); each S3 backend holds its own
//! [`BackendHealth`] and records there what its requests cost and how they ended, so the hooks in
//! the backend client code are one call each. The request path asks [`Health::read_skip`] and
//! [`Health::write_skip`] which backends to leave out.

pub mod admission;
pub mod breaker;

pub mod usage;

use crate::catalog::Catalog;
use crate::config::Config;
use breaker::Breaker;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use usage::{Counter, Usage};

/// One backend's breaker and usage counters.
pub struct BackendHealth {
    pub name: String,
    pub breaker: Breaker,
    pub usage: Usage,
}

impl BackendHealth {
    /// One request is being sent (counts against `api_request_limit`).
    pub fn count_request(&self) {
        self.usage.add(Counter::ApiRequests, 1);
    }

    pub fn count_egress(&self, bytes: u64) {
        self.usage.add(Counter::EgressBytes, bytes);
    }

    pub fn count_ingress(&self, bytes: u64) {
        self.usage.add(Counter::IngressBytes, bytes);
    }

    /// The backend answered with `status`: 5xx is a failure, anything else (404 and other 4xx
    /// included) shows the backend is alive.
    pub fn answered(&self, status: u16) {
        if status >= 500 {
            self.breaker
                .record_failure(&format!("backend answered {status}"));
        } else {
            self.breaker.record_success();
        }
    }
}

/// Why a backend is left out of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Its breaker is open or half-open.
    Down,
    /// It reached a monthly usage limit.
    OverLimit,
}

impl Skip {
    pub fn reason(self) -> &'static str {
        match self {
            Skip::Down => "circuit breaker open",
            Skip::OverLimit => "usage limit reached",
        }
    }
}

pub struct Health {
    /// Indexed like `App::backends`.
    pub backends: Vec<Arc<BackendHealth>>,
    /// Requests shed by admission control.
    pub shed: AtomicU64,
    /// Requests refused by the per-credential rate limit.
    pub rate_limited: AtomicU64,
    rate: Option<admission::RateLimiter>,
}

impl Health {
    /// Builds the state for a validated config, resuming this month's usage from the catalog.
    pub fn new(cfg: &Config, catalog: &Catalog) -> std::io::Result<Health> {
        let epoch = Instant::now();
        let month = usage::month_of(crate::util::clock::now());
        let shards = cfg.server.shard_count();
        let mut backends = Vec::with_capacity(cfg.backends.len());
        for b in &cfg.backends {
            let stored = catalog
                .monthly_usage(&b.name, month)
                .map_err(|e| std::io::Error::other(format!("catalog: {e}")))?;
            backends.push(Arc::new(BackendHealth {
                name: b.name.clone(),
                breaker: Breaker::new(&b.name, cfg.backend_circuit_breaker, epoch),
                usage: Usage::new(b.usage_limits, shards, month, stored),
            }));
        }
        let keys = cfg
            .buckets
            .iter()
            .flat_map(|b| b.credentials.iter().map(|c| c.access_key_id.as_str()));
        Ok(Health {
            backends,
            shed: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            rate: admission::RateLimiter::new(&cfg.rate_limit, keys),
        })
    }

    /// The state for a reloaded config: backends that stay keep their breaker state and usage
    /// counters (by name) under the reloaded breaker settings and usage limits; process-wide
    /// counters carry on; new backends start fresh.
    pub fn reloaded(&self, cfg: &Config, catalog: &Catalog) -> std::io::Result<Health> {
        let mut next = Health::new(cfg, catalog)?;
        for (b, b_cfg) in next.backends.iter_mut().zip(&cfg.backends) {
            if let Some(old) = self.backends.iter().find(|o| o.name == b.name) {
                // Same counters and breaker state, the reloaded settings.
                old.breaker.set_config(cfg.backend_circuit_breaker);
                old.usage.set_limits(b_cfg.usage_limits);
                *b = old.clone();
            }
        }
        for (new, old) in [
            (&next.shed, &self.shed),
            (&next.rate_limited, &self.rate_limited),
        ] {
            new.store(old.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        Ok(next)
    }

    /// Why backend `i` must not serve a read of `bytes`, if it must not.
    pub fn read_skip(&self, i: usize, bytes: u64) -> Option<Skip> {
        self.skip(i, |usage| usage.can_read(bytes))
    }

    /// Why backend `i` must not take a write of `bytes`, if it must not.
    pub fn write_skip(&self, i: usize, bytes: u64) -> Option<Skip> {
        self.skip(i, |usage| usage.can_write(bytes))
    }

    /// `Down` while the breaker holds traffic back, else `OverLimit` unless `within_limit`.
    fn skip(&self, i: usize, within_limit: impl FnOnce(&Usage) -> bool) -> Option<Skip> {
        let b = self.backends.get(i)?;
        if !b.breaker.allows_traffic() {
            Some(Skip::Down)
        } else if !within_limit(&b.usage) {
            Some(Skip::OverLimit)
        } else {
            None
        }
    }

    /// Takes a token of `access_key`'s rate limit; false means refuse with `SlowDown`.
    pub fn admit_credential(&self, access_key: &str) -> bool {
        match &self.rate {
            None => true,
            Some(r) => {
                let ok = r.allow(access_key, Instant::now());
                if !ok {
                    self.rate_limited.fetch_add(1, Ordering::Relaxed);
                }
                ok
            }
        }
    }

    pub fn count_shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }
}
