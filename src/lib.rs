//! # S3 Orchestrator
//!
//! One S3 endpoint in front of several S3-compatible providers. Clients speak plain S3 to it; it
//! routes each write to a backend (`spread` or `pack`), honours quotas, keeps
//! `replication.factor` copies, fails reads over to replicas and reports all of it.
//!
//! # Layout
//! The layers, lowest first (docs/ARCHITECTURE.md has the diagram; `tests/layering.rs` checks
//! that every import runs down it):
//! - [`util`]: the shutdown switch, the wall clock, the buffer pool.
//! - [`http`] (the HTTP/1.1 codec, both directions, sans-IO), [`catalog`] (the placement
//!   metadata behind a narrow interface; fjall underneath), [`config`] (YAML, validated with
//!   errors naming key and line).
//! - [`s3`] (routing, SigV4, payload decoding and checksums, the error table, XML, ranges,
//!   ETags), [`logging`], [`metrics`] (per-shard counters and histograms, merged at scrape time),
//!   [`health`] (circuit breakers, usage limits, admission control).
//! - [`backend`]: S3 providers (re-signed requests) and local disks, the backend HTTP transport,
//!   the copy pump.
//! - [`state`]: the [`state::App`] every plane reads, swapped by a reload; placement, quota
//!   reservations, per-key write locks.
//! - The planes: [`server`] (data plane: shards, connection loop, verified body stream, the
//!   [`server::service::Service`] trait), [`replication`] (background plane: copies, scan,
//!   cleanup, throttle, the health thread), [`admin`] (control plane: metrics, stats, admin API,
//!   dashboard).
//! - [`proxy`]: the S3 API the data plane serves, one file per operation family; [`import`]:
//!   adopting a provider's objects offline.
//! - [`cli`]: the subcommands.
//!
//! # Request lifecycle
//! socket → [`server::conn`] reads a head into a reused buffer → [`http::RequestHead`] parses it →
//! the admission gate → [`server::service::Service::serve`], i.e. [`proxy::S3Api`]:
//! [`proxy::prepare`] routes, verifies SigV4 and checks the credential's buckets →
//! [`proxy::dispatch`] runs the handler, reading the body through [`server::body::BodyReader`]
//! (`100 Continue` on first read; verified bytes, final byte withheld until the payload checks
//! out) → [`server::conn`] writes the response, keep-alive continues with the next pipelined head.
//!
//! # Threading model
//! Thread-per-core: each shard is a glommio `LocalExecutor` pinned to a core, sharing nothing on
//! the hot path (its own connections, buffers, signing-key cache, backend pool). The background
//! shard and the health thread are executors of their own; blocking work (catalog fsyncs, the
//! admin listener) runs on dedicated threads and is awaited through channels.

pub(crate) mod admin;
pub(crate) mod backend;
pub mod catalog;
pub mod cli;
pub mod config;
pub(crate) mod health;
pub mod http;
pub mod import;
pub(crate) mod logging;
pub(crate) mod metrics;
pub(crate) mod proxy;
pub(crate) mod replication;
pub mod s3;
pub mod server;
pub mod state;
pub mod util;

use std::sync::Arc;

/// A running orchestrator: the S3 shards and the admin listener.
pub struct Running {
    /// The current state; [`Running::reload`] swaps it.
    pub handle: Arc<state::AppHandle>,
    pub server: server::ServerHandle,
    pub admin: admin::AdminHandle,
    pub background: replication::BackgroundHandle,
    pub health: replication::prober::HealthHandle,
    pub shutdown: util::Shutdown,
}

impl Running {
    pub fn s3_addr(&self) -> std::net::SocketAddr {
        self.server.s3_addr
    }
    pub fn admin_addr(&self) -> std::net::SocketAddr {
        self.admin.addr
    }
    /// Applies a new config (validated; on error nothing changes).
    pub fn reload(&self, cfg: config::Config) -> Result<(), String> {
        self.handle.reload(cfg)
    }

    /// Waits until shutdown completes.
    pub fn join(self) {
        self.server.join();
        self.background.join();
        self.health.join();
        self.admin.join();
    }
}

/// Starts everything for a validated config (the testable entry point: bind port 0 in tests).
pub fn run(cfg: config::Config) -> std::io::Result<Running> {
    run_with_limits(cfg, server::ServerLimits::default())
}

/// [`run`] with other client-listener limits (tests use short timeouts).
pub fn run_with_limits(
    cfg: config::Config,
    limits: server::ServerLimits,
) -> std::io::Result<Running> {
    let handle = state::AppHandle::new(state::App::new(cfg, limits)?);
    let shutdown = util::Shutdown::default();
    let server = server::start(handle.clone(), shutdown.clone(), || proxy::S3Api)?;
    let background = replication::start(handle.clone(), shutdown.clone())?;
    let health = replication::prober::start(handle.clone(), shutdown.clone())?;
    let admin = admin::start(handle.clone(), shutdown.clone())?;
    Ok(Running {
        handle,
        server,
        admin,
        background,
        health,
        shutdown,
    })
}
