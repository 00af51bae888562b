//! The admin listener's accept loop and connections: one OS thread per connection, each request
//! read whole by a deadline, and a reserve of connections that only probes may use, so clients
//! trickling requests cannot take `/health` and `/ready` down with them.
//!
//! Connections beyond [`GENERAL_CONNECTIONS`] are *reserve* connections: their request must arrive
//! within [`RESERVE_REQUEST_DEADLINE`] and only `/health`, `/ready` and `/metrics` are answered on
//! them. When the reserve is full too, the oldest reserve connection still reading its request is
//! cut off to make room: a probe sends its request at once and is done long before it would be the
//! oldest, while tricklers push each other out.

use super::http::{self, Response};
use super::{route, throttle, AdminHandle, AdminState};
use std::collections::VecDeque;
use std::net::{Shutdown as SocketShutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A stalled admin client's write is given up after this long.
pub(crate) const ADMIN_IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole request (head and body) must have arrived this long after the connection was
/// accepted. Admin requests are at most a few KiB (`MAX_ADMIN_HEAD_BYTES` + `MAX_ADMIN_BODY_BYTES`);
/// five seconds carries them over any link a dashboard works on, and a client sending a byte now
/// and then is cut off instead of holding its thread.
pub(crate) const ADMIN_REQUEST_DEADLINE: Duration = Duration::from_secs(5);

/// Admin connections served at once (one thread each). A dashboard and a scraper need a handful;
/// the cap keeps a flood of connections from spawning unbounded threads.
pub(crate) const MAX_ADMIN_CONNECTIONS: usize = 64;

/// Connections kept for probes (`/health`, `/ready`, `/metrics`) when the others are all taken:
/// a liveness probe, a readiness probe and a scraper, each with room to retry.
pub(crate) const PROBE_RESERVE: usize = 8;

/// Connections any request may use.
pub(crate) const GENERAL_CONNECTIONS: usize = MAX_ADMIN_CONNECTIONS - PROBE_RESERVE;

/// A reserve connection's request must arrive within this: probes send theirs in one packet.
pub(crate) const RESERVE_REQUEST_DEADLINE: Duration = Duration::from_secs(1);

/// Threads at most, counting reserve connections that were cut off but have not exited yet (they
/// exit as soon as they are scheduled; twice the connections leaves them ample time).
const MAX_ADMIN_THREADS: usize = 2 * MAX_ADMIN_CONNECTIONS;

/// Paths a reserve connection answers.
fn is_probe(path: &str) -> bool {
    matches!(path, "/health" | "/ready" | "/metrics")
}

/// Reserve connections still reading their request, oldest first.
#[derive(Default)]
pub(crate) struct Reserve {
    reading: Mutex<VecDeque<(u64, TcpStream)>>,
    next_id: AtomicU64,
}

impl Reserve {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(u64, TcpStream)>> {
        self.reading.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enter(&self, stream: &TcpStream) -> Option<u64> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let clone = stream.try_clone().ok()?;
        self.lock().push_back((id, clone));
        Some(id)
    }

    /// Takes `id` off the readers; whether it was still there (not evicted).
    fn leave(&self, id: u64) -> bool {
        let mut reading = self.lock();
        let before = reading.len();
        reading.retain(|(i, _)| *i != id);
        reading.len() != before
    }

    /// Cuts off the oldest reserve connection still reading; whether there was one.
    fn evict_oldest(&self) -> bool {
        let Some((_, stream)) = self.lock().pop_front() else {
            return false;
        };
        let _ = stream.shutdown(SocketShutdown::Both);
        true
    }
}

pub(crate) fn start(
    state: Arc<AdminState>,
    listener: TcpListener,
    shutdown: crate::util::Shutdown,
) -> std::io::Result<AdminHandle> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(false)?;
    let token_file = state.token_file();
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
                if let Ok(stream) = stream {
                    accept(&state, stream);
                }
            }
        })?;
    tracing::info!(addr = %addr, "admin listener up");
    Ok(AdminHandle {
        addr,
        token_file,
        thread,
    })
}

/// Gives a connection its thread: general, reserve, reserve after cutting off the oldest reading
/// one (which gives its slot up at once), or none (dropped).
fn accept(state: &Arc<AdminState>, stream: TcpStream) {
    if state.threads.load(Ordering::Acquire) >= MAX_ADMIN_THREADS {
        return;
    }
    let active = state.active.fetch_add(1, Ordering::AcqRel);
    let reserve = active >= GENERAL_CONNECTIONS;
    // Full: the oldest reserve reader's slot becomes this connection's, else no room.
    if active >= MAX_ADMIN_CONNECTIONS {
        state.active.fetch_sub(1, Ordering::AcqRel);
        if !state.reserve.evict_oldest() {
            return;
        }
    }
    // Registered here, not in the new thread: the next connection may need to evict it before
    // that thread has run.
    let entry = if reserve {
        state.reserve.enter(&stream)
    } else {
        None
    };
    state.threads.fetch_add(1, Ordering::AcqRel);
    let st = state.clone();
    let spawned = std::thread::Builder::new()
        .name("admin-conn".into())
        .spawn(move || {
            if serve(stream, &st, reserve, entry) {
                st.active.fetch_sub(1, Ordering::AcqRel);
            }
            st.threads.fetch_sub(1, Ordering::AcqRel);
        });
    if spawned.is_err() {
        if entry.is_none_or(|id| state.reserve.leave(id)) {
            state.active.fetch_sub(1, Ordering::AcqRel);
        }
        state.threads.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves one connection; `entry` is its place among the reserve's readers. Whether it still
/// held its slot at the end (false when it was evicted: the evicting side took the slot over).
fn serve(mut stream: TcpStream, state: &AdminState, reserve: bool, entry: Option<u64>) -> bool {
    let _ = stream.set_write_timeout(Some(ADMIN_IO_TIMEOUT));
    let Ok(peer) = stream.peer_addr() else {
        return entry.is_none_or(|id| state.reserve.leave(id));
    };
    let deadline = Instant::now()
        + if reserve {
            RESERVE_REQUEST_DEADLINE
        } else {
            ADMIN_REQUEST_DEADLINE
        };
    let read = http::read_request(&mut stream, deadline);
    if !entry.is_none_or(|id| state.reserve.leave(id)) {
        return false; // evicted: nothing more to say to it
    }
    let _ = respond(&mut stream, read, state, reserve, peer);
    true
}

fn respond(
    stream: &mut TcpStream,
    read: Result<http::Request, http::ReadError>,
    state: &AdminState,
    reserve: bool,
    peer: SocketAddr,
) -> std::io::Result<()> {
    let req = match read {
        Ok(r) => r,
        Err(http::ReadError::Closed) | Err(http::ReadError::Io) => return Ok(()),
        Err(http::ReadError::Refused(e)) => {
            return http::write_response(stream, &Response::text(e.status, e.reason), false)
        }
    };
    let resp = if reserve && !is_probe(&req.path) {
        Response::text(503, "the admin listener is busy; retry").with_header("Retry-After", "1")
    } else {
        answer(&req, state, peer)
    };
    http::write_response(stream, &resp, req.method == "HEAD")
}

/// Routes the request; one that checks credentials holds an auth slot meanwhile and, when it
/// fails, for [`throttle::AUTH_FAILURE_DELAY`] more (see [`throttle`]).
fn answer(req: &http::Request, state: &AdminState, peer: SocketAddr) -> Response {
    let checks_credentials = req.path.starts_with("/admin/") || req.path == "/ui/login";
    if !checks_credentials {
        return route(req, state);
    }
    let Some(_slot) = state.throttle.take(peer.ip()) else {
        return Response::text(429, "too many admin requests failing authentication; retry")
            .with_header("Retry-After", "1");
    };
    let resp = route(req, state);
    if let Some(why) = resp.auth_failure {
        state
            .throttle
            .log_failure(peer.ip(), &req.method, &req.path, why);
        std::thread::sleep(throttle::AUTH_FAILURE_DELAY);
    }
    resp
}
