//! HTTP/1.1 request heads, written: the backend client's side of the codec (the counterpart of
//! [`super::response`]).
//!
//! [`RequestHeadOut`] is the head as the caller built and signed it; [`RequestHeadOut::write`]
//! validates it and appends it, with the `Host`, framing and `Expect` fields, to a buffer the
//! connection owns and reuses. Nothing derived from user input (forwarded metadata, keys in the
//! target) can inject a field or a second request: the method and field names must be tokens,
//! the target visible ASCII, the values free of control bytes, and the framing and connection
//! fields are the writer's alone.

use super::head::BodyKind;
use super::syntax::{format_u64, is_field_value, is_token};
use super::HttpError;

/// An outgoing request head, as the caller built (and signed) it.
#[derive(Clone, Copy, Debug)]
pub struct RequestHeadOut<'a> {
    /// `GET`, `PUT`, ... (a token; case-sensitive as HTTP says).
    pub method: &'a str,
    /// Origin-form request target, already percent-encoded: `/bucket/key?uploads`.
    pub path_and_query: &'a str,
    /// Every field to send, `Host` and `Authorization` included. Must not contain
    /// `Content-Length`, `Transfer-Encoding`, `Expect`, `Connection` or `Upgrade`: the writer
    /// sets the first three from the body framing and the `expect_continue` flag. A missing
    /// `Host` is filled in from the [`Authority`].
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// Where a request goes, for the `Host` field when the caller did not send one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authority<'a> {
    /// DNS name or IP literal (an IPv6 address without brackets).
    pub host: &'a str,
    pub port: u16,
    /// The scheme's port (80 for http, 443 for https), left out of `Host`.
    pub default_port: u16,
}

/// Fields the writer sets itself (framing, `Expect`) or that would change what the connection
/// is (`Connection`, `Upgrade`); a caller passing one has a bug.
const RESERVED_FIELDS: [&str; 5] = [
    "content-length",
    "transfer-encoding",
    "expect",
    "connection",
    "upgrade",
];

/// Errors are the caller's bugs (a 500 if they ever reach a client).
const BAD_METHOD: HttpError = HttpError::new(500, "request method is not a token");
const BAD_TARGET: HttpError =
    HttpError::new(500, "request target must be an encoded origin-form path");
const BAD_NAME: HttpError = HttpError::new(500, "request header name is not a token");
const BAD_VALUE: HttpError = HttpError::new(500, "request header value contains a control byte");
const RESERVED: HttpError = HttpError::new(
    500,
    "framing, Expect and connection headers are the writer's to set",
);
const TOO_LARGE: HttpError = HttpError::new(500, "request head too large");

impl RequestHeadOut<'_> {
    /// Validates the head and appends it to `out`: the request line, `Host` (from `authority`
    /// unless the caller sent one), the caller's fields in order, the framing field for `body`,
    /// `Expect: 100-continue` if `expect_continue` and the body is not empty, and the empty
    /// line. Returns the bytes written. A head that could exceed `max_len` bytes is refused, so
    /// a buffer sized for it never grows; on any error nothing is written.
    pub fn write(
        &self,
        out: &mut Vec<u8>,
        authority: Authority<'_>,
        body: BodyKind,
        expect_continue: bool,
        max_len: usize,
    ) -> Result<usize, HttpError> {
        let expect = expect_continue && !body.is_empty();
        let has_host = self.validate()?;
        if self.size_bound(authority, has_host, body, expect) > max_len {
            return Err(TOO_LARGE);
        }
        let start = out.len();
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.path_and_query.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !has_host {
            out.extend_from_slice(b"Host: ");
            push_authority(out, authority);
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in self.headers {
            push_field(out, name.as_bytes(), value);
        }
        match body {
            BodyKind::None => {}
            BodyKind::Length(n) => {
                let mut digits = [0u8; 20];
                push_field(out, b"Content-Length", format_u64(n, &mut digits));
            }
            BodyKind::Chunked => push_field(out, b"Transfer-Encoding", b"chunked"),
        }
        if expect {
            push_field(out, b"Expect", b"100-continue");
        }
        out.extend_from_slice(b"\r\n");
        Ok(out.len() - start)
    }

    /// Refuses anything that would let a value break out of its line; returns whether the
    /// caller sent `Host`.
    fn validate(&self) -> Result<bool, HttpError> {
        if !is_token(self.method.as_bytes()) {
            return Err(BAD_METHOD);
        }
        let target = self.path_and_query.as_bytes();
        if target.first() != Some(&b'/') || !target.iter().all(|&b| (0x21..0x7f).contains(&b)) {
            return Err(BAD_TARGET);
        }
        let mut has_host = false;
        for (name, value) in self.headers {
            if !is_token(name.as_bytes()) {
                return Err(BAD_NAME);
            }
            if !is_field_value(value) {
                return Err(BAD_VALUE);
            }
            if RESERVED_FIELDS.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                return Err(RESERVED);
            }
            has_host |= name.eq_ignore_ascii_case("host");
        }
        Ok(has_host)
    }

    /// An upper bound of the encoded size (exact but for the digits of `Content-Length` and
    /// the port).
    fn size_bound(
        &self,
        authority: Authority<'_>,
        has_host: bool,
        body: BodyKind,
        expect: bool,
    ) -> usize {
        let mut size = self.method.len() + 1 + self.path_and_query.len() + " HTTP/1.1\r\n".len();
        for (name, value) in self.headers {
            size += name.len() + 2 + value.len() + 2;
        }
        if !has_host {
            // "Host: " + "[" host "]" + ":65535" + CRLF
            size += 6 + 1 + authority.host.len() + 1 + 6 + 2;
        }
        size += match body {
            BodyKind::None => 0,
            BodyKind::Length(_) => "Content-Length: ".len() + 20 + 2,
            BodyKind::Chunked => "Transfer-Encoding: chunked\r\n".len(),
        };
        if expect {
            size += "Expect: 100-continue\r\n".len();
        }
        size + 2
    }
}

fn push_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// `host[:port]` for a `Host` field (RFC 9110 §7.2), an IPv6 literal in brackets, the port left
/// out when it is the scheme's default.
fn push_authority(out: &mut Vec<u8>, a: Authority<'_>) {
    let v6 = a.host.contains(':');
    if v6 {
        out.push(b'[');
    }
    out.extend_from_slice(a.host.as_bytes());
    if v6 {
        out.push(b']');
    }
    if a.port != a.default_port {
        out.push(b':');
        let mut digits = [0u8; 20];
        out.extend_from_slice(format_u64(u64::from(a.port), &mut digits));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::http::{ParseStatus, RequestHead};

    const LOCAL: Authority<'static> = Authority {
        host: "10.0.0.1",
        port: 9000,
        default_port: 80,
    };

    fn written(head: &RequestHeadOut<'_>, body: BodyKind, expect: bool) -> Vec<u8> {
        let mut out = b"kept".to_vec();
        let n = head.write(&mut out, LOCAL, body, expect, 1 << 20).unwrap();
        assert_eq!(n, out.len() - 4);
        assert!(out.starts_with(b"kept"));
        out.split_off(4)
    }

    #[test]
    fn writes_a_head_our_own_parser_accepts() {
        let head = RequestHeadOut {
            method: "PUT",
            path_and_query: "/b/k%20x?partNumber=1",
            headers: &[("x-amz-meta-a", b"v\xc3\xa9"), ("Authorization", b"AWS4 x")],
        };
        let out = written(&head, BodyKind::Length(5), true);
        assert_eq!(
            out,
            b"PUT /b/k%20x?partNumber=1 HTTP/1.1\r\nHost: 10.0.0.1:9000\r\n\
              x-amz-meta-a: v\xc3\xa9\r\nAuthorization: AWS4 x\r\nContent-Length: 5\r\n\
              Expect: 100-continue\r\n\r\n"
        );
        let mut parsed = RequestHead::new();
        assert_eq!(
            parsed.parse(&out),
            Ok(ParseStatus::Complete {
                head_len: out.len()
            })
        );
        assert_eq!(parsed.body_kind(), BodyKind::Length(5));
        assert!(parsed.expects_continue());

        let chunked = written(&head, BodyKind::Chunked, false);
        assert!(chunked.ends_with(b"Transfer-Encoding: chunked\r\n\r\n"));
        // Expect is only sent with a body.
        for body in [BodyKind::None, BodyKind::Length(0)] {
            let out = written(&head, body, true);
            assert!(!out.windows(6).any(|w| w == b"Expect"), "{body:?}");
        }
        let empty = written(&head, BodyKind::Length(0), false);
        assert!(empty.ends_with(b"Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn caller_host_is_kept() {
        let head = RequestHeadOut {
            method: "GET",
            path_and_query: "/",
            headers: &[("host", b"s3.example")],
        };
        assert_eq!(
            written(&head, BodyKind::None, false),
            b"GET / HTTP/1.1\r\nhost: s3.example\r\n\r\n"
        );
    }

    #[test]
    fn host_from_authority() {
        let host = |host, port, default_port| {
            let mut out = Vec::new();
            push_authority(
                &mut out,
                Authority {
                    host,
                    port,
                    default_port,
                },
            );
            String::from_utf8(out).unwrap()
        };
        assert_eq!(host("s3.local", 80, 80), "s3.local");
        assert_eq!(host("s3.local", 8443, 443), "s3.local:8443");
        assert_eq!(host("::1", 9000, 80), "[::1]:9000");
        assert_eq!(host("::1", 443, 443), "[::1]");
    }

    #[test]
    fn injection_and_reserved_fields_are_refused() {
        let bad = |method, path, headers: &[(&str, &[u8])]| {
            let mut out = Vec::new();
            let r = RequestHeadOut {
                method,
                path_and_query: path,
                headers,
            }
            .write(&mut out, LOCAL, BodyKind::None, false, 1 << 20);
            assert!(r.is_err() || !out.is_empty());
            if r.is_err() {
                assert!(out.is_empty(), "wrote despite the error");
            }
            r.err().map(|e| (e.status, e.reason))
        };
        assert_eq!(bad("GE T", "/", &[]), Some((500, BAD_METHOD.reason)));
        assert_eq!(bad("", "/", &[]), Some((500, BAD_METHOD.reason)));
        for path in ["/a b", "http://x/", "/\r\n", "", "/\u{e9}"] {
            assert_eq!(
                bad("GET", path, &[]),
                Some((500, BAD_TARGET.reason)),
                "{path:?}"
            );
        }
        assert_eq!(
            bad("GET", "/", &[("x-a", b"1\r\nx-b: 2")]),
            Some((500, BAD_VALUE.reason))
        );
        assert_eq!(
            bad("GET", "/", &[("x-a", b"\x00")]),
            Some((500, BAD_VALUE.reason))
        );
        assert_eq!(
            bad("GET", "/", &[("x a", b"1")]),
            Some((500, BAD_NAME.reason))
        );
        assert_eq!(bad("GET", "/", &[("", b"1")]), Some((500, BAD_NAME.reason)));
        for name in [
            "Content-Length",
            "transfer-encoding",
            "Connection",
            "expect",
            "Upgrade",
        ] {
            assert_eq!(
                bad("GET", "/", &[(name, b"1")]),
                Some((500, RESERVED.reason)),
                "{name}"
            );
        }
        assert_eq!(bad("GET", "/", &[("Host", b"h")]), None);
    }

    #[test]
    fn size_limit_is_checked_before_writing() {
        let value = vec![b'v'; 100];
        let head = RequestHeadOut {
            method: "GET",
            path_and_query: "/",
            headers: &[("x-big", &value)],
        };
        let mut out = Vec::new();
        let n = head
            .write(&mut out, LOCAL, BodyKind::Length(u64::MAX), true, 1 << 20)
            .unwrap();
        let bound = head.size_bound(LOCAL, false, BodyKind::Length(u64::MAX), true);
        // The bound holds even for the longest Content-Length and port.
        assert!(n <= bound, "{n} > {bound}");
        let mut out = Vec::new();
        assert_eq!(
            head.write(&mut out, LOCAL, BodyKind::None, false, 50),
            Err(TOO_LARGE)
        );
        assert!(out.is_empty());
    }
}
