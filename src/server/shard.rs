//! Per-shard state and the accept loop. Everything here is owned by one executor thread: no
//! locks on the request path; what other threads need (metrics) is read from atomics owned by
//! this shard or merged at scrape time.

use crate::s3::auth::SigningKeyCache;
use crate::state::{App, AppHandle};
use crate::util::Shutdown;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

pub struct Shard {
    pub id: usize,
    handle: Arc<AppHandle>,
    /// This shard's view of the current state; swapped between requests after a reload. The
    /// extra `Rc` layer is deliberate: requests clone the `Rc` (a plain increment) instead of
    /// the `Arc`, whose shared counter would bounce between cores on every request.
    #[allow(clippy::redundant_allocation)]
    app: RefCell<Rc<Arc<App>>>,
    app_generation: Cell<u64>,
    pub shutdown: Shutdown,
    pub signing_keys: RefCell<SigningKeyCache>,
    request_seq: Cell<u64>,
    request_id_base: u64,
    pub connections: Cell<usize>,
    pub started: Instant,
    /// The `Date` header, formatted at most once a second.
    pub dates: RefCell<crate::http::DateCache>,
    /// This shard's keep-alive connections to S3 backends.
    pub pool: crate::backend::transport::BackendPool,
    /// Requests in progress on this shard (admission control).
    pub gate: crate::health::admission::ShardGate,
}

impl Shard {
    pub fn new(id: usize, handle: Arc<AppHandle>, shutdown: Shutdown) -> Shard {
        let nanos = crate::util::clock::since_epoch().as_nanos() as u64;
        let app = handle.load();
        let pool = crate::backend::transport::BackendPool::new(
            app.client_limits,
            Some(app.backend_tls.clone()),
        );
        crate::health::usage::bind_thread_slot(id);
        Shard {
            id,
            pool,
            gate: crate::health::admission::ShardGate::new(
                app.config().server.max_concurrent_per_shard(),
            ),
            app_generation: Cell::new(handle.generation()),
            app: RefCell::new(Rc::new(app)),
            handle,
            shutdown,
            signing_keys: RefCell::new(SigningKeyCache::new()),
            request_seq: Cell::new(0),
            // Shard id in the top byte keeps ids unique across shards; the start time keeps
            // them unique across restarts.
            request_id_base: ((id as u64) << 56) ^ (nanos & 0x00FF_FFFF_FFFF_FFFF),
            connections: Cell::new(0),
            started: Instant::now(),
            dates: RefCell::new(crate::http::DateCache::new()),
        }
    }

    /// The current state. A non-atomic `Rc` clone per request; the shared handle is consulted
    /// only when its generation moved (a reload).
    #[allow(clippy::redundant_allocation)]
    pub fn app(&self) -> Rc<Arc<App>> {
        let generation = self.handle.generation();
        if generation != self.app_generation.get() {
            self.app_generation.set(generation);
            let app = self.handle.load();
            self.apply_reload(&app);
            *self.app.borrow_mut() = Rc::new(app);
        }
        self.app.borrow().clone()
    }

    /// Applies what a reload changes in this shard's own resources: the admission limit and the
    /// backend pool's timeouts. Requests in flight finish under the old ones.
    fn apply_reload(&self, app: &App) {
        self.gate
            .set_max(app.config().server.max_concurrent_per_shard());
        self.pool.set_limits(app.client_limits);
    }

    /// What backend calls from this shard use.
    pub fn backend_ctx(&self) -> crate::backend::BackendCtx<'_> {
        crate::backend::BackendCtx {
            pool: &self.pool,
            signing: &self.signing_keys,
        }
    }

    /// A fresh request id, 16 upper-case hex digits as S3 uses.
    pub fn next_request_id(&self) -> RequestId {
        let seq = self.request_seq.get().wrapping_add(1);
        self.request_seq.set(seq);
        RequestId::new(
            self.request_id_base
                .wrapping_add(seq.wrapping_mul(0x9E37_79B9)),
        )
    }
}

/// A request id held on the stack (no allocation per request): 16 upper-case hex digits.
#[derive(Clone, Copy)]
pub struct RequestId([u8; 16]);

impl RequestId {
    pub fn new(n: u64) -> RequestId {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = [0u8; 16];
        for (i, b) in out.iter_mut().enumerate() {
            *b = HEX[((n >> (60 - 4 * i)) & 0xF) as usize];
        }
        RequestId(out)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or("0000000000000000")
    }
}

#[cfg(test)]
mod request_id_tests {
    use super::RequestId;

    #[test]
    fn request_id_is_sixteen_upper_hex_digits() {
        assert_eq!(RequestId::new(0).as_str(), "0000000000000000");
        assert_eq!(
            RequestId::new(0x0123_4567_89AB_CDEF).as_str(),
            "0123456789ABCDEF"
        );
        assert_eq!(
            RequestId::new(u64::MAX - 5).as_str(),
            format!("{:016X}", u64::MAX - 5)
        );
    }
}
