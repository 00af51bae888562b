//! Opening a connection: DNS resolution off the executor, TCP connect (each address in turn,
//! within one overall deadline), TLS handshake when the target asks for it.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use glommio::net::TcpStream;
use glommio::timer::Timer;

use super::conn::{timed, Conn, Stream};
use super::error::{Phase, TransportError};
use super::pool::BackendPool;
use super::target::Target;
use super::tls;

/// A new connection to `target` for `pool` (its limits, its TLS config), counted in its stats.
pub(crate) async fn connect(pool: &BackendPool, target: &Target) -> Result<Conn, TransportError> {
    let limit = pool.limits().connect_timeout;
    let tls_setup = if target.tls {
        let config = match &target.trust {
            Some(own) => own.0.clone(),
            None => pool.tls_config().map_err(TransportError::Tls)?,
        };
        let name = tls::server_name(target.tls_name()).map_err(TransportError::Tls)?;
        Some((config, name))
    } else {
        None
    };
    let mut timer = Timer::new(limit);
    let tcp = tcp_connect(target, &mut timer, limit).await?;
    let stream = if let Some((config, name)) = tls_setup {
        let tls_stream = timed(&mut timer, limit, tls::handshake(config, name, tcp))
            .await
            .map_err(|e| {
                if e.kind() == io::ErrorKind::TimedOut {
                    TransportError::Timeout {
                        phase: Phase::TlsHandshake,
                        body_sent: false,
                    }
                } else {
                    TransportError::Tls(e)
                }
            })?;
        Stream::Tls(Box::new(tls_stream))
    } else {
        Stream::Plain(tcp)
    };
    pool.bump(|s| s.connects += 1);
    Ok(Conn::new(target.clone(), stream, timer))
}

/// Resolves `target` and connects to its addresses in turn, all within `limit`, with
/// TCP_NODELAY on.
async fn tcp_connect(
    target: &Target,
    timer: &mut Timer,
    limit: Duration,
) -> Result<TcpStream, TransportError> {
    let deadline = Instant::now() + limit;
    let connect_error = |e: io::Error| {
        if e.kind() == io::ErrorKind::TimedOut {
            TransportError::Timeout {
                phase: Phase::Connect,
                body_sent: false,
            }
        } else {
            TransportError::Connect(e)
        }
    };
    let addrs = timed(timer, limit, resolve(&target.host, target.port))
        .await
        .map_err(connect_error)?;
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "host resolved to nothing");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last_error = io::Error::from(io::ErrorKind::TimedOut);
            break;
        }
        match TcpStream::connect_timeout(addr, left).await {
            Ok(tcp) => {
                // glommio leaves Nagle on; a request head followed by a small body would wait
                // for an ACK.
                tcp.set_nodelay(true)
                    .map_err(|e| TransportError::Connect(e.into()))?;
                return Ok(tcp);
            }
            Err(e) => last_error = e.into(),
        }
    }
    Err(connect_error(last_error))
}

/// Resolves `host` without blocking the executor: IP literals directly, names on glommio's
/// blocking thread pool (getaddrinfo is synchronous).
async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = host.to_owned();
    glommio::executor()
        .spawn_blocking(move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<Vec<_>>())
        })
        .await
}
