//! The backend transport: the per-shard HTTP/1.1 connections used to talk to S3 backends.
//!
//! This is the transport; the HTTP/1.1 bytes are [`crate::http`]'s, the same codec the
//! client-facing server uses: [`crate::http::RequestHeadOut::write`] writes request heads,
//! [`crate::http::ChunkHeader`] frames chunked uploads, [`crate::http::ParsedResponseHead`] parses
//! response heads and [`crate::http::ChunkedDecoder`] chunked response bodies.
//!
//! # Layout
//! Each module imports only ones listed before it, so the graph is a DAG:
//! - [`target`]: [`Target`], [`PoolLimits`], [`BodyLen`]: what the caller hands in.
//! - [`tls`]: rustls client configuration (ring is the only crypto provider) and the handshake.
//! - [`conn`]: one connection (plain TCP or TLS) with its fixed, reused buffers, timed I/O and
//!   the parsed response head.
//! - [`pool`]: [`BackendPool`], one per shard (glommio executor): a bounded LRU of idle keep-alive
//!   connections keyed by (host, port, TLS identity), and the pool's stats.
//! - [`response`]: [`BackendResponse`], a response's status, headers and body state; a fully
//!   read keep-alive response hands its connection back to the pool when dropped.
//! - [`error`]: [`TransportError`], which records the phase that failed and whether any request body
//!   byte reached the backend (so the caller knows whether failing over to another backend is
//!   safe). An early answer carries its [`BackendResponse`], hence the order.
//! - [`body`]: reading a response body (`Content-Length`, chunked, read-until-close).
//! - `dial`: DNS, TCP connect and TLS handshake for a new connection.
//! - [`request`]: [`BackendPool::start`] and [`RequestInFlight`], a request whose head is on its
//!   way; streams the request body (`Content-Length` or chunked framing), handles
//!   `Expect: 100-continue`, and reads the response head.
//!
//! # Request lifecycle
//! ```text
//! pool.start(target, head, body_len, expect)   checkout idle conn (checked for EOF/age) or connect
//!   ├─ write_body(data) *                       head goes out with the first body bytes
//!   ├─ finish()  ──▶ BackendResponse            body terminator, response head (1xx skipped)
//!   │     └─ read_body(buf) * / read_to_vec / discard ── drop: conn back to the pool if reusable
//!   └─ abort()                                  close without completing the body
//! ```
//! A reused connection that turns out to be closed by the backend (EOF/reset while writing the head
//! or before any response byte) is replaced by a fresh connection once, transparently, provided no
//! request body byte was sent (pingora's "ReusedOnly" retry). Nothing is retried after body bytes
//! went out.
//!
//! # Threading
//! Everything here is `!Send` and lives on one glommio executor (`Rc`, `RefCell`, `Cell`); shards
//! share nothing. The client knows nothing of SigV4 or S3: the caller passes fully signed headers.

pub mod body;
pub mod conn;
mod dial;
pub mod error;
pub mod pool;
pub mod request;
pub mod response;
pub mod target;
pub mod tls;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod test_server;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use crate::http::RequestHeadOut;
pub use error::TransportError;
pub use pool::BackendPool;
pub use request::RequestInFlight;
pub use response::BackendResponse;
pub use target::{BodyLen, PoolLimits, Target, TlsTrust};
