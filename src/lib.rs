//! # S3 Orchestrator
//!
//! One S3 endpoint in front of several S3-compatible providers. Clients speak plain S3 to it; it
//! routes each write to a backend (`spread` or `pack`), honours quotas, keeps
//! `replication.factor` copies, fails reads over to replicas and reports all of it.
//!
//! # Layout
//! - [`http`]: the HTTP/1.1 wire protocol, sans-IO: request heads, chunked bodies, response heads,
//!   limits. Knows nothing of S3.
//! - [`s3`]: the S3 protocol: [`s3::router`] (operation table, path- and virtual-hosted-style),
//!   [`s3::auth`] (SigV4: header, presigned, chunk signatures, signing), [`s3::payload`]
//!   (aws-chunked decoding and body checksums), [`s3::error`] and [`s3::xml`]. Knows nothing of
//!   backends.
//! - [`server`]: glommio shards (one executor per core, SO_REUSEPORT listener each), the connection
//!   loop and the verified request body stream.
//! - [`proxy`]: the orchestration layer: authentication and authorization, handlers named after
//!   the AWS operations, placement.
//! - [`backend`]: the per-shard HTTP client towards S3 providers, and local-directory backends.
//! - [`catalog`]: the fjall store of placement metadata.
//! - [`metrics`]: per-shard counters and latency histograms, merged at scrape time
//!   (`/metrics`, `/stats`), process-wide replication counters, recent failovers.
//! - [`admin`]: the control-plane listener: metrics, stats, admin API, dashboard.
//! - [`config`]: the YAML config, validated with errors naming key and line.
//! - [`health`]: circuit breakers, monthly usage limits, admission control and the prober thread.
//!
//! # Request lifecycle
//! socket → [`server::conn`] reads a head into a reused buffer → [`http::RequestHead`] parses it →
//! [`proxy::prepare`] routes, verifies SigV4 and checks the credential's buckets →
//! `100 Continue` if asked → [`proxy::dispatch`] runs the handler, reading the body through
//! [`server::body::BodyReader`] (verified bytes, final byte withheld until the payload checks
//! out) → the response is written, keep-alive continues with the next pipelined head.
//!
//! # Threading model
//! Thread-per-core: each shard is a glommio `LocalExecutor` pinned to a core, sharing nothing on
//! the hot path (its own connections, buffers, signing-key cache). Blocking work (catalog fsyncs,
//! the admin listener) runs on dedicated threads and is awaited through channels.

pub mod admin;
pub mod backend;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod health;
pub mod http;
pub mod import;
pub mod logging;
pub mod metrics;
pub mod proxy;
pub mod replication;
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
