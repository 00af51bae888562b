//! Protocol limits of the HTTP/1.1 layer, in both directions.
//!
//! Every bound the parsers, the chunked decoder, the client-facing connection
//! loop and the backend client enforce lives here, with the reason for its
//! value, so that tuning happens in one place and nothing is an unexplained
//! magic number. (The backend client's timeouts and pool sizes are
//! configuration defaults, see `backend::transport::PoolLimits`.)

use std::time::Duration;

/// Largest request head (request line + header fields + the empty line) we
/// accept, in bytes; a larger head is answered with 431.
///
/// S3 documents 8 KiB for the request headers, but real traffic exceeds that:
/// up to 2 KiB of `x-amz-meta-*` user metadata, SigV4 `Authorization` headers
/// listing many signed headers, STS session tokens (`x-amz-security-token`,
/// often 1–4 KiB) and presigned URLs whose query string carries the whole
/// signature plus the token. 64 KiB leaves room for all of these together
/// while bounding the per-connection head buffer (and the parser's scan) to a
/// size that is cheap even with `MAX_CONNECTIONS_PER_SHARD` connections.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Largest number of header fields in a request head; more is answered with 431.
///
/// A busy S3 request carries ~20–40 fields (SigV4, checksums, SSE, ACL
/// grants, conditional headers, metadata). 128 is generous for that, and the
/// parser keeps this many `httparse::Header` slots on the stack (32 bytes
/// each: a name and a value slice, so ~4 KiB), so it must stay modest.
pub const MAX_HEADERS: usize = 128;

/// Longest request target (path + query) we accept, in bytes; longer gets 414.
///
/// An S3 key is at most 1024 bytes of UTF-8, which percent-encoding can
/// triple to ~3 KiB; a presigned URL adds the SigV4 query parameters and
/// possibly a session token of a few KiB. 16 KiB covers that with margin,
/// and is well below `MAX_HEAD_BYTES` so headers still fit beside it.
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// Longest request line (method SP target SP version CRLF) accepted while
/// the head is still incomplete, so an over-long target is answered with 414
/// as soon as it is evident instead of waiting for `MAX_HEAD_BYTES`.
///
/// The target plus room for any sensible method token and " HTTP/1.1\r\n".
pub const MAX_REQUEST_LINE_BYTES: usize = MAX_URI_BYTES + 64;

/// Time allowed to receive a complete request head once its first byte
/// arrived (slowloris defence): a client trickling header bytes holds a
/// connection slot and a head buffer, so it must finish in bounded time.
///
/// Legitimate clients send a head in one or two segments within one RTT;
/// 15 s tolerates very slow or lossy links yet frees the slot quickly.
pub const HEAD_READ_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a keep-alive connection may sit idle between requests before
/// we close it.
///
/// Long enough that SDK connection pools reuse connections across bursts of
/// requests (saving TCP + TLS handshakes), short enough that abandoned
/// connections release their slot within about a minute.
pub const IDLE_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest time we wait without receiving a single body byte while reading
/// a request body (only counted while we are actually waiting on the client,
/// not while we are applying backpressure because a backend is slow).
///
/// A stalled upload otherwise pins a connection, buffers and an upstream
/// request forever; 30 s rides out brief network hiccups and client GC pauses.
pub const BODY_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Maximum simultaneously open client connections on one shard (core);
/// further connections are refused/closed right after accept.
///
/// Each connection can hold a head buffer up to `MAX_HEAD_BYTES` plus body
/// buffers, so 1024 bounds worst-case head memory to 64 MiB per shard while
/// being far more concurrency than one core can usefully drive for S3
/// traffic (throughput is bounded by the backends, not by connection count).
pub const MAX_CONNECTIONS_PER_SHARD: usize = 1024;

/// Maximum number of requests answered in a row on one connection from bytes
/// that were already read ahead (pipelined: sent before the previous answer
/// was written); the last of them is answered with `Connection: close`.
///
/// Responses to pipelined requests must be sent in order, so read-ahead only
/// saves round trips; a small bound keeps a client that pipelines and never
/// reads from making us process the backlog it keeps sending (thousands of
/// requests fit the socket buffers before a write blocks). Nothing is read
/// while a response is being written, so once the client stops reading the
/// write stalls and the write-stall timeout ends the connection. SDKs do not
/// pipeline; a client that does must retry unanswered requests on a new
/// connection after the close (RFC 9112, 9.3.2).
pub const MAX_PIPELINED_REQUESTS: usize = 8;

/// Largest request body (declared Content-Length) of a "small" request, which
/// lives under the whole-request deadline (`server.request_timeout`); chunked
/// and larger bodies are bounded by the upload rate floor instead.
///
/// 64 KiB is the read buffer's size and `MAX_DRAIN_BYTES`: it covers request
/// documents (ACLs, tagging, most DeleteObjects lists) and tiny objects, and
/// at the default rate floor (1 KiB/s) it arrives in about a minute, well
/// inside the default deadline (5 min), so a client the floor accepts is
/// never cut by the deadline for its body alone.
pub const SMALL_REQUEST_BODY_BYTES: u64 = 64 * 1024;

/// Longest chunk-size line (hex size + chunk extensions, without CRLF) in a
/// chunked body, a request's (longer is a 400) or a backend response's.
///
/// The size itself needs at most 16 hex digits; extensions are ignored but
/// must be bounded or a client could stream an endless "line". S3's
/// `aws-chunked` signatures travel inside the body, not as HTTP chunk
/// extensions, so 4 KiB is very generous.
pub const MAX_CHUNK_LINE_BYTES: usize = 4096;

/// Largest trailer section (all trailer fields of a chunked body), in bytes;
/// larger is a 400 (or, from a backend, a bad response).
///
/// Trailers carry a few checksum / signature fields (`x-amz-checksum-*`,
/// `x-amz-trailer-signature`): well under 1 KiB. They are buffered in full
/// until the section ends, so they must be bounded; 8 KiB is ample.
pub const MAX_TRAILER_BYTES: usize = 8 * 1024;

/// Largest number of trailer fields in a chunked body; more is a 400.
///
/// Same reasoning as `MAX_TRAILER_BYTES`: a handful are used in practice and
/// the parser keeps this many header slots on the stack.
pub const MAX_TRAILER_HEADERS: usize = 32;

/// Largest response head (status line + header fields + the empty line) the
/// backend client accepts, in bytes.
///
/// S3 response heads are well under 4 KiB even with the 2 KiB of user
/// metadata S3 allows; 16 KiB leaves room for providers that add many headers
/// of their own, and bounds what a hostile backend makes us buffer. The client
/// reads heads into its per-connection read buffer, which is at least this
/// large.
pub const MAX_RESPONSE_HEAD_BYTES: usize = 16 * 1024;

/// Largest number of header fields in a response head.
///
/// S3 responses carry 10-30; an object with lots of user metadata a few dozen
/// more. The parser keeps this many `httparse::Header` slots on the stack
/// (32 bytes each, ~3 KiB).
pub const MAX_RESPONSE_HEADERS: usize = 96;

/// Interim (1xx) responses the backend client skips before a final one.
///
/// A backend looping on `102 Processing` is bounded by the response-head
/// timeout anyway; this bounds the parsing work. One `100 Continue` is the
/// usual count.
pub const MAX_INTERIM_RESPONSES: usize = 16;
