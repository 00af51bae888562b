//! The data-plane server: one glommio executor (shard) per core, each with its own SO_REUSEPORT
//! listener, accepting client connections and running the connection loop ([`conn`]).
//!
//! [`start`] takes a validated config and the shared [`App`](crate::state::App) state and returns a [`ServerHandle`]
//! with the bound addresses (so tests can bind port 0) and a shutdown switch. Shutdown is
//! graceful: shards stop accepting, idle keep-alive connections are closed, in-flight requests
//! finish (bounded by [`GRACEFUL_SHUTDOWN_TIMEOUT`]), then the executors exit.

pub mod accept;
pub mod body;
pub mod conn;
pub mod pace;
pub mod response;
pub mod service;
pub mod shard;
pub mod stream;
pub mod wire;

use crate::state::AppHandle;
pub use crate::util::Shutdown;
use glommio::{LocalExecutorBuilder, Placement};
use service::Service;
use shard::Shard;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

pub use accept::GRACEFUL_SHUTDOWN_TIMEOUT;

/// Upper bound on shards; config validation enforces the same bound.
pub const MAX_SHARDS: usize = 256;

pub use crate::state::ServerLimits;

/// A running server.
pub struct ServerHandle {
    /// The S3 listener's address (the real port when port 0 was asked).
    pub s3_addr: SocketAddr,
    pub shutdown: Shutdown,
    shards: Vec<glommio::ExecutorJoinHandle<()>>,
}

impl ServerHandle {
    /// Waits for every shard to exit (after [`Shutdown::trigger`]).
    pub fn join(self) {
        for s in self.shards {
            if let Err(e) = s.join() {
                tracing::error!(error = %e, "shard exited with an error");
            }
        }
    }
}

/// Number of shards for a `server.shards` value (0 = one per core).
pub fn shard_count(configured: usize) -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let n = if configured == 0 { cores } else { configured };
    n.clamp(1, MAX_SHARDS)
}

/// Starts the shards, each serving the service `make_service` builds on its own thread. Returns
/// once every shard has bound its listener.
pub fn start<S, F>(
    handle: Arc<AppHandle>,
    shutdown: Shutdown,
    make_service: F,
) -> std::io::Result<ServerHandle>
where
    S: Service,
    F: Fn() -> S + Clone + Send + 'static,
{
    let app = handle.load();
    let cfg = app.config();
    let listen = cfg.server.listen_addr;
    let n = shard_count(cfg.server.shards);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let tls = app.server_tls.is_some();
    let mut handles = Vec::with_capacity(n);
    let mut bound: Option<SocketAddr> = None;
    for id in 0..n {
        // Shard 0 binds the configured address; the others bind the address it actually got, so
        // port 0 (tests) gives one port shared by all shards through SO_REUSEPORT.
        let addr = bound.unwrap_or(listen);
        let (ready_tx, ready_rx) = flume::bounded::<std::io::Result<SocketAddr>>(1);
        let placement = if n <= cores {
            Placement::Fixed(id)
        } else {
            Placement::Unbound
        };
        let handle = handle.clone();
        let shutdown = shutdown.clone();
        let make_service = make_service.clone();
        let handle = LocalExecutorBuilder::new(placement)
            .name(&format!("shard-{id}"))
            .spawn(move || async move {
                let listener = match glommio::net::TcpListener::bind(addr) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(std::io::Error::other(e.to_string())));
                        return;
                    }
                };
                let local = listener.local_addr().unwrap_or(addr);
                let _ = ready_tx.send(Ok(local));
                let shard = Rc::new(Shard::new(id, handle, shutdown));
                accept::accept_loop(shard, listener, Rc::new(make_service())).await;
            })
            .map_err(|e| std::io::Error::other(format!("cannot start shard {id}: {e}")))?;
        let got = ready_rx
            .recv()
            .map_err(|_| std::io::Error::other(format!("shard {id} died during start")))??;
        bound.get_or_insert(got);
        handles.push(handle);
    }
    let s3_addr = bound.unwrap_or(listen);
    tracing::info!(addr = %s3_addr, shards = n, tls, "S3 listener up");
    Ok(ServerHandle {
        s3_addr,
        shutdown,
        shards: handles,
    })
}
