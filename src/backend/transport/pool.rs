//! The per-shard connection pool: idle keep-alive connections keyed by endpoint (host, port,
//! TLS and TLS server name), bounded per target and in total, least recently used evicted first.
//!
//! A connection is only ever reused when it comes back from a response that was read to its end
//! with keep-alive allowed. On checkout it must be younger than `idle_timeout` and show neither
//! EOF nor unsolicited bytes; the most recently returned connection is tried first (it is the
//! likeliest to be alive, and it lets the older ones age out).
//!
//! Opening a connection is in `dial.rs`, starting a request on one ([`BackendPool::start`]) in
//! `request.rs`, next to the request it creates: the pool only keeps connections.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rustls::ClientConfig;

use super::conn::Conn;
use super::target::{PoolLimits, Target};
use super::tls;

/// Counters of one pool, for metrics. Monotonic except `idle_now`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// New connections established (TCP connect, plus handshake for TLS).
    pub connects: u64,
    /// Requests that went out on a pooled connection.
    pub reuses: u64,
    /// Requests transparently resent on a fresh connection because the reused one was dead.
    pub stale_retries: u64,
    /// Idle connections dropped on checkout because the backend had closed them.
    pub idle_closed: u64,
    /// Idle connections dropped because they were older than `idle_timeout`.
    pub idle_expired: u64,
    /// Idle connections dropped to respect `max_idle_per_target` / `max_idle_total`.
    pub idle_overflow: u64,
    /// Idle connections currently held.
    pub idle_now: usize,
}

/// Idle connections of one endpoint, oldest first.
struct Slot {
    target: Target,
    conns: VecDeque<Conn>,
}

struct PoolInner {
    /// Replaced by a reload (`server.backend_timeout`); read at each use.
    limits: Cell<PoolLimits>,
    tls: RefCell<Option<Arc<ClientConfig>>>,
    /// Few distinct backends per shard, so a linear scan beats hashing an owned key.
    slots: RefCell<Vec<Slot>>,
    stats: Cell<PoolStats>,
}

/// One shard's HTTP/1.1 client. Cheap to clone (an `Rc`); not `Send`.
#[derive(Clone)]
pub struct BackendPool {
    inner: Rc<PoolInner>,
}

impl BackendPool {
    /// A pool with `limits`. `tls` is used for every TLS target; `None` means webpki roots only,
    /// built on first use.
    pub fn new(limits: PoolLimits, tls: Option<Arc<ClientConfig>>) -> Self {
        BackendPool {
            inner: Rc::new(PoolInner {
                limits: Cell::new(limits),
                tls: RefCell::new(tls),
                slots: RefCell::new(Vec::new()),
                stats: Cell::new(PoolStats::default()),
            }),
        }
    }

    /// A rustls client config with the webpki roots plus every certificate in `extra_ca_pem`
    /// (a self-hosted backend's CA, or a test certificate); ring provider, ALPN `http/1.1`.
    pub fn default_tls_config(extra_ca_pem: Option<&[u8]>) -> Result<Arc<ClientConfig>, io::Error> {
        tls::client_config(extra_ca_pem)
    }

    pub fn limits(&self) -> PoolLimits {
        self.inner.limits.get()
    }

    /// Applies reloaded limits: new connections and the next wait of every request use them.
    pub fn set_limits(&self, limits: PoolLimits) {
        self.inner.limits.set(limits);
    }

    pub fn stats(&self) -> PoolStats {
        let mut s = self.inner.stats.get();
        s.idle_now = self
            .inner
            .slots
            .borrow()
            .iter()
            .map(|s| s.conns.len())
            .sum();
        s
    }

    /// Closes idle connections: all of them, or those of one target (e.g. after its circuit
    /// breaker opened, or a config reload changed it).
    pub fn close_idle(&self, target: Option<&Target>) {
        let mut slots = self.inner.slots.borrow_mut();
        for slot in slots.iter_mut() {
            if target.is_none_or(|t| slot.target.same_endpoint(t)) {
                slot.conns.clear();
            }
        }
    }

    /// The TLS config for every TLS target: the one given to [`new`](Self::new), else the
    /// webpki roots, built on first use.
    pub(crate) fn tls_config(&self) -> Result<Arc<ClientConfig>, io::Error> {
        if let Some(c) = self.inner.tls.borrow().as_ref() {
            return Ok(c.clone());
        }
        let c = tls::client_config(None)?;
        *self.inner.tls.borrow_mut() = Some(c.clone());
        Ok(c)
    }

    /// The most recently returned live connection to `target`, if any.
    pub(crate) async fn checkout(&self, target: &Target) -> Option<Conn> {
        let idle_timeout = self.inner.limits.get().idle_timeout;
        loop {
            let mut conn = {
                let mut slots = self.inner.slots.borrow_mut();
                let slot = slots.iter_mut().find(|s| s.target.same_endpoint(target))?;
                let conn = slot.conns.pop_back()?;
                if conn.idle_since.elapsed() >= idle_timeout {
                    // Newest is too old, so all are.
                    let n = 1 + slot.conns.len() as u64;
                    slot.conns.clear();
                    drop(slots);
                    self.bump(|s| s.idle_expired += n);
                    return None;
                }
                conn
            };
            // The RefCell borrow ends before the (immediate) probe.
            if conn.idle_probe().await {
                conn.reused = true;
                self.bump(|s| s.reuses += 1);
                return Some(conn);
            }
            self.bump(|s| s.idle_closed += 1);
        }
    }

    /// Returns a connection whose last response was complete and allowed keep-alive.
    pub(crate) fn checkin(&self, mut conn: Conn) {
        let limits = self.inner.limits.get();
        if limits.max_idle_per_target == 0 || limits.max_idle_total == 0 {
            return;
        }
        let now = Instant::now();
        conn.idle_since = now;
        let mut overflow = 0u64;
        let mut expired = 0u64;
        {
            let mut slots = self.inner.slots.borrow_mut();
            let i = match slots
                .iter()
                .position(|s| s.target.same_endpoint(&conn.target))
            {
                Some(i) => i,
                None => {
                    slots.push(Slot {
                        target: conn.target.clone(),
                        conns: VecDeque::new(),
                    });
                    slots.len() - 1
                }
            };
            let slot = &mut slots[i];
            // Sweep this target's expired connections (oldest are in front).
            while slot
                .conns
                .front()
                .is_some_and(|c| now.duration_since(c.idle_since) >= limits.idle_timeout)
            {
                slot.conns.pop_front();
                expired += 1;
            }
            slot.conns.push_back(conn);
            if slot.conns.len() > limits.max_idle_per_target {
                slot.conns.pop_front();
                overflow += 1;
            }
            let mut total: usize = slots.iter().map(|s| s.conns.len()).sum();
            while total > limits.max_idle_total {
                // Evict the least recently used connection over all targets.
                let oldest = slots
                    .iter_mut()
                    .filter(|s| !s.conns.is_empty())
                    .min_by_key(|s| s.conns.front().map(|c| c.idle_since));
                match oldest {
                    Some(s) => {
                        s.conns.pop_front();
                        overflow += 1;
                        total -= 1;
                    }
                    None => break,
                }
            }
        }
        self.bump(|s| {
            s.idle_overflow += overflow;
            s.idle_expired += expired;
        });
    }

    pub(crate) fn bump(&self, f: impl FnOnce(&mut PoolStats)) {
        let mut s = self.inner.stats.get();
        f(&mut s);
        self.inner.stats.set(s);
    }
}

impl std::fmt::Debug for BackendPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendPool")
            .field("limits", &self.inner.limits.get())
            .field("stats", &self.stats())
            .finish()
    }
}
