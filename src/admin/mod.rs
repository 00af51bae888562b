//! The control-plane listener (`server.admin_addr`): health and readiness now; metrics, stats,
//! dashboard and the admin API as they land. It runs on its own OS thread with blocking I/O,
//! apart from the shards, so scrapes never compete with client requests on an executor.

use crate::proxy::App;
use crate::server::Shutdown;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Admin requests are small; a head larger than this is refused.
pub const MAX_ADMIN_HEAD_BYTES: usize = 16 * 1024;
/// A stalled admin client is dropped after this long.
pub const ADMIN_IO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct AdminHandle {
    pub addr: SocketAddr,
    thread: std::thread::JoinHandle<()>,
}

impl AdminHandle {
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

pub fn start(app: Arc<App>, shutdown: Shutdown) -> std::io::Result<AdminHandle> {
    let listener = TcpListener::bind(app.config().server.admin_addr)?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(false)?;
    let thread = std::thread::Builder::new()
        .name("admin".into())
        .spawn(move || {
            // Wake the blocking accept on shutdown by connecting to ourselves.
            let sd = shutdown.clone();
            std::thread::spawn(move || {
                futures_lite::future::block_on(sd.wait());
                let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
            });
            for stream in listener.incoming() {
                if shutdown.is_triggered() {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let app = app.clone();
                let _ = std::thread::Builder::new()
                    .name("admin-conn".into())
                    .spawn(move || {
                        let _ = serve_admin(stream, &app);
                    });
            }
        })?;
    tracing::info!(addr = %addr, "admin listener up");
    Ok(AdminHandle { addr, thread })
}

fn serve_admin(mut stream: TcpStream, app: &App) -> std::io::Result<()> {
    stream.set_read_timeout(Some(ADMIN_IO_TIMEOUT))?;
    stream.set_write_timeout(Some(ADMIN_IO_TIMEOUT))?;
    let mut buf = vec![0u8; MAX_ADMIN_HEAD_BYTES];
    let mut filled = 0;
    let path = loop {
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..filled]) {
            Ok(httparse::Status::Complete(_)) => break req.path.unwrap_or("/").to_owned(),
            Ok(httparse::Status::Partial) if filled < buf.len() => continue,
            _ => return respond(&mut stream, 400, "text/plain", b"bad request\n"),
        }
    };
    let (path_only, _query) = path.split_once('?').unwrap_or((path.as_str(), ""));
    match path_only {
        "/health" => respond(&mut stream, 200, "text/plain", b"ok\n"),
        "/ready" => respond(&mut stream, 200, "text/plain", b"ready\n"),
        "/metrics" => {
            let mut out = String::new();
            crate::health::render_metrics(app, &mut out);
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4",
                out.as_bytes(),
            )
        }
        _ => respond(&mut stream, 404, "text/plain", b"not found\n"),
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}
