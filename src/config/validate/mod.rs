//! Turns the parsed file ([`RawConfig`]) into the typed [`Config`], checking every value.
//!
//! Each scalar is `${VAR}`-expanded, converted and range-checked here; every problem is collected (not
//! just the first) with the key path it belongs to, so an operator sees all mistakes in one run.
//! `diagnose.rs` attaches file lines to the paths afterwards.
//!
//! One file per group of sections, the same groups as `model/`: `backends.rs`, `buckets.rs`,
//! `replication.rs`, `health.rs`, `server.rs`, each with the `MAX_*` limits it enforces.
//! `scalars.rs` reads single values as a type, `names.rs` checks names and addresses. This file
//! runs the sections in order.

mod backends;
mod buckets;
mod health;
mod names;
mod replication;
mod scalars;
mod server;

use super::env::EnvLookup;
use super::model::Config;
use super::raw::RawConfig;
use buckets::KeySecrets;

pub(crate) use names::bucket_name_problem;

/// One problem found in the file: the key path it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// e.g. `backends[1].quota_bytes`.
    pub(crate) path: String,
    /// e.g. "must not be negative".
    pub(crate) message: String,
}

/// Checks and converts `raw`; all problems at once on failure.
pub(crate) fn validate(raw: &RawConfig, env: EnvLookup<'_>) -> Result<Config, Vec<Problem>> {
    let mut c = Checker {
        env,
        problems: Vec::new(),
    };
    let routing_strategy = c.routing_strategy(raw.routing_strategy.as_ref());
    let backends = c.backends(raw.backends.as_deref());
    let replication = c.replication(
        raw.replication.as_ref(),
        raw.backends.as_ref().map(Vec::len),
    );
    let backend_circuit_breaker = c.circuit_breaker(raw.backend_circuit_breaker.as_ref());
    let rate_limit = c.rate_limit(raw.rate_limit.as_ref());
    let rebalance = c.rebalance(raw.rebalance.as_ref());
    let cleanup_queue = c.cleanup_queue(raw.cleanup_queue.as_ref());
    let mut keys = KeySecrets::new();
    let buckets = c.buckets(
        raw.buckets.as_deref(),
        raw.admin_credentials.is_some(),
        &mut keys,
    );
    let admin_credentials = c.admin_credentials(raw.admin_credentials.as_deref(), &mut keys);
    let server = c.server(raw.server.as_ref());
    let catalog = c.catalog(raw.catalog.as_ref());
    let ui = c.ui(raw.ui.as_ref());
    let logging = c.logging(raw.logging.as_ref());
    c.admin_exposure(&server, &ui);
    if c.problems.is_empty() {
        Ok(Config {
            routing_strategy,
            backends,
            replication,
            backend_circuit_breaker,
            rebalance,
            cleanup_queue,
            rate_limit,
            buckets,
            admin_credentials,
            server,
            catalog,
            ui,
            logging,
        })
    } else {
        Err(c.problems)
    }
}

/// Collects problems while converting.
struct Checker<'e> {
    env: EnvLookup<'e>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }
}
