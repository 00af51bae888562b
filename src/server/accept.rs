//! The accept loop of a shard: TLS handshake with a deadline, the connection limit, one task per
//! connection running the connection loop; graceful drain on shutdown.

use super::conn;
use super::service::Service;
use super::shard::Shard;
use super::stream::ClientStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How long in-flight requests may run after shutdown was asked before the shard exits anyway.
/// Long enough for a typical multi-MiB transfer to finish, short enough for service managers'
/// default stop timeouts (systemd: 90 s).
pub const GRACEFUL_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for a TLS handshake; a client that stalls in it is dropped.
pub const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Accepts until shutdown, then waits (bounded) for in-flight connections.
pub async fn accept_loop<S: Service>(
    shard: Rc<Shard>,
    listener: glommio::net::TcpListener,
    service: Rc<S>,
) {
    loop {
        let accepted = futures_lite::future::or(async { Some(listener.accept().await) }, async {
            shard.shutdown.wait().await;
            None
        })
        .await;
        let stream = match accepted {
            None => break,
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                // EMFILE and friends: log and keep serving the connections we have.
                tracing::warn!(shard = shard.id, error = %e, "accept failed");
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // Past the limit new connections are closed at once, so a flood cannot grow memory without
        // bound (each connection holds a read buffer).
        if shard.connections.get() >= shard.app().limits.max_connections_per_shard {
            tracing::warn!(
                shard = shard.id,
                "connection limit reached, closing new connection"
            );
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().ok();
        shard.connections.set(shard.connections.get() + 1);
        let sh = shard.clone();
        let service = service.clone();
        glommio::spawn_local(async move {
            // The certificate of the state current at accept time: a reload that renewed it
            // applies from the next connection on.
            let tls = sh.app().server_tls.clone();
            let client = match tls {
                None => Some(ClientStream::Plain(stream)),
                Some(config) => {
                    let acceptor = futures_rustls::TlsAcceptor::from(config);
                    let hs = futures_lite::future::or(
                        async { acceptor.accept(stream).await.ok() },
                        async {
                            glommio::timer::sleep(TLS_HANDSHAKE_TIMEOUT).await;
                            None
                        },
                    )
                    .await;
                    hs.map(|s| ClientStream::Tls(Box::new(s)))
                }
            };
            if let Some(client) = client {
                conn::serve(client, sh.clone(), peer, &*service).await;
            }
            sh.connections.set(sh.connections.get() - 1);
        })
        .detach();
    }
    drop(listener);
    let deadline = Instant::now() + GRACEFUL_SHUTDOWN_TIMEOUT;
    while shard.connections.get() > 0 && Instant::now() < deadline {
        glommio::timer::sleep(std::time::Duration::from_millis(20)).await;
    }
    tracing::info!(
        shard = shard.id,
        open = shard.connections.get(),
        "shard stopped"
    );
}
