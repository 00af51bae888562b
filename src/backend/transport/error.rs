//! Errors of the backend client, with the retry-safety facts the proxy layer needs: which phase
//! failed and whether any request body byte was handed to the backend's socket.

use std::fmt;
use std::io;

use super::conn::ReadError;
use super::response::BackendResponse;

/// The part of an exchange an error or timeout belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// DNS resolution and TCP connect.
    Connect,
    /// TLS handshake.
    TlsHandshake,
    /// Writing the request head or body.
    SendRequest,
    /// Waiting for and reading the response head.
    ResponseHead,
    /// Reading the response body.
    ResponseBody,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::TlsHandshake => "TLS handshake",
            Phase::SendRequest => "sending request",
            Phase::ResponseHead => "reading response head",
            Phase::ResponseBody => "reading response body",
        })
    }
}

/// What went wrong talking to a backend.
pub enum TransportError {
    /// DNS resolution or TCP connect failed: nothing was sent.
    Connect(io::Error),
    /// TLS handshake failed (certificate, protocol): nothing of the request was sent.
    Tls(io::Error),
    /// No progress within the phase's time limit.
    Timeout { phase: Phase, body_sent: bool },
    /// The connection failed (reset, EOF, ...).
    Io {
        phase: Phase,
        error: io::Error,
        body_sent: bool,
    },
    /// The backend answered something that is not acceptable HTTP/1.1.
    BadResponse {
        reason: &'static str,
        body_sent: bool,
    },
    /// A response body was larger than the caller's limit (`read_to_vec`).
    BodyTooLarge { limit: usize },
    /// The backend answered before the request body was complete (a final status instead of
    /// `100 Continue`, or a response read after a failed body write). The connection is not reused.
    EarlyResponse {
        response: Box<BackendResponse>,
        body_sent: bool,
    },
    /// The caller broke the contract: a forbidden or malformed header, a body longer or shorter
    /// than its declared length, a head larger than the write buffer. Never the backend's fault.
    Usage(&'static str),
}

impl TransportError {
    /// True when no request body byte reached the backend, so the same request (and body, which
    /// the caller still has) can be sent to another backend. For body-less requests this is
    /// always true; whether the backend may have *executed* it is the caller's call (idempotency).
    pub fn before_body_sent(&self) -> bool {
        match self {
            TransportError::Connect(_) | TransportError::Tls(_) | TransportError::Usage(_) => true,
            TransportError::Timeout { body_sent, .. }
            | TransportError::Io { body_sent, .. }
            | TransportError::BadResponse { body_sent, .. }
            | TransportError::EarlyResponse { body_sent, .. } => !body_sent,
            // Only raised while reading a response, i.e. after the whole request went out.
            TransportError::BodyTooLarge { .. } => false,
        }
    }

    /// True for every timeout variant.
    pub fn is_timeout(&self) -> bool {
        matches!(self, TransportError::Timeout { .. })
    }

    /// The phase this error belongs to, when it has one.
    pub fn phase(&self) -> Option<Phase> {
        match self {
            TransportError::Connect(_) => Some(Phase::Connect),
            TransportError::Tls(_) => Some(Phase::TlsHandshake),
            TransportError::Timeout { phase, .. } | TransportError::Io { phase, .. } => {
                Some(*phase)
            }
            TransportError::BadResponse { .. } | TransportError::EarlyResponse { .. } => {
                Some(Phase::ResponseHead)
            }
            TransportError::BodyTooLarge { .. } => Some(Phase::ResponseBody),
            TransportError::Usage(_) => None,
        }
    }

    /// Maps a failed response-head read of `phase`.
    pub(crate) fn from_read(e: ReadError, phase: Phase, body_sent: bool) -> Self {
        match e {
            ReadError::Io(e) => TransportError::io(phase, e, body_sent),
            ReadError::Eof { .. } => TransportError::Io {
                phase,
                error: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "backend closed the connection before a complete response head",
                ),
                body_sent,
            },
            ReadError::Bad(reason) => TransportError::BadResponse { reason, body_sent },
        }
    }

    /// Maps an I/O error of `phase`, turning `TimedOut` (raised by our timers) into `Timeout`.
    pub(crate) fn io(phase: Phase, error: io::Error, body_sent: bool) -> Self {
        if error.kind() == io::ErrorKind::TimedOut {
            TransportError::Timeout { phase, body_sent }
        } else {
            TransportError::Io {
                phase,
                error,
                body_sent,
            }
        }
    }
}

impl fmt::Debug for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Connect(e) => f.debug_tuple("Connect").field(e).finish(),
            TransportError::Tls(e) => f.debug_tuple("Tls").field(e).finish(),
            TransportError::Timeout { phase, body_sent } => f
                .debug_struct("Timeout")
                .field("phase", phase)
                .field("body_sent", body_sent)
                .finish(),
            TransportError::Io {
                phase,
                error,
                body_sent,
            } => f
                .debug_struct("Io")
                .field("phase", phase)
                .field("error", error)
                .field("body_sent", body_sent)
                .finish(),
            TransportError::BadResponse { reason, body_sent } => f
                .debug_struct("BadResponse")
                .field("reason", reason)
                .field("body_sent", body_sent)
                .finish(),
            TransportError::BodyTooLarge { limit } => f
                .debug_struct("BodyTooLarge")
                .field("limit", limit)
                .finish(),
            TransportError::EarlyResponse {
                response,
                body_sent,
            } => f
                .debug_struct("EarlyResponse")
                .field("status", &response.status)
                .field("body_sent", body_sent)
                .finish(),
            TransportError::Usage(m) => f.debug_tuple("Usage").field(m).finish(),
        }
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::Connect(e) => write!(f, "backend connect failed: {e}"),
            TransportError::Tls(e) => write!(f, "backend TLS handshake failed: {e}"),
            TransportError::Timeout { phase, .. } => write!(f, "backend timed out while {phase}"),
            TransportError::Io { phase, error, .. } => {
                write!(f, "backend connection failed while {phase}: {error}")
            }
            TransportError::BadResponse { reason, .. } => {
                write!(f, "backend sent a bad response: {reason}")
            }
            TransportError::BodyTooLarge { limit } => {
                write!(f, "backend response body exceeds {limit} bytes")
            }
            TransportError::EarlyResponse { response, .. } => write!(
                f,
                "backend answered {} before the request body was complete",
                response.status
            ),
            TransportError::Usage(m) => write!(f, "backend client misuse: {m}"),
        }
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TransportError::Connect(e)
            | TransportError::Tls(e)
            | TransportError::Io { error: e, .. } => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timed_out_io_becomes_timeout() {
        let e = TransportError::io(
            Phase::ResponseBody,
            io::Error::from(io::ErrorKind::TimedOut),
            true,
        );
        assert!(e.is_timeout());
        assert_eq!(e.phase(), Some(Phase::ResponseBody));
        assert!(!e.before_body_sent());
        let e = TransportError::io(
            Phase::SendRequest,
            io::Error::from(io::ErrorKind::ConnectionReset),
            false,
        );
        assert!(!e.is_timeout());
        assert!(e.before_body_sent());
    }

    #[test]
    fn connect_and_usage_are_before_body() {
        assert!(
            TransportError::Connect(io::Error::from(io::ErrorKind::ConnectionRefused))
                .before_body_sent()
        );
        assert!(TransportError::Usage("x").before_body_sent());
        assert!(!TransportError::BodyTooLarge { limit: 1 }.before_body_sent());
        let shown = TransportError::Timeout {
            phase: Phase::ResponseHead,
            body_sent: false,
        }
        .to_string();
        assert_eq!(shown, "backend timed out while reading response head");
    }
}
