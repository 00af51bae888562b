//! The SigV4 canonical request for S3, built from the request as it came off the wire.
//!
//! ```text
//! <METHOD>\n<canonical URI>\n<canonical query>\n<canonical headers>\n<signed headers>\n<payload hash>
//! ```
//!
//! Everything is written into a [`Sink`], so the verifier streams the canonical request straight
//! into SHA-256 without building it in memory; tests use a `Vec<u8>` sink to see the text. Query
//! parameters are sorted on the stack (bounded by [`MAX_QUERY_PARAMS`]), so canonicalisation does
//! not allocate.

use std::cmp::Ordering;

use percent_encoding::percent_decode;
use sha2::{Digest, Sha256};

use crate::s3::error::{S3Error, S3ErrorCode, S3Result};

use super::RequestView;

/// Most query parameters a signed request may carry.
///
/// S3 defines well under 50 distinct query parameters and no SDK sends more than a couple of
/// dozen; this bound lets the verifier sort the parameters in a fixed stack array (4 KiB)
/// instead of allocating, and bounds the sort's work on hostile input.
pub const MAX_QUERY_PARAMS: usize = 128;

/// Something canonical text can be streamed into: a hasher, an HMAC, or a byte buffer.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// RFC 3986 unreserved characters, which AWS URI-encoding leaves alone.
pub(crate) const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Iterator adapter: AWS URI-encoding of a byte stream (`%XX` upper-case for everything but
/// unreserved characters, and `/` when `keep_slash`).
pub(crate) struct Encoded<I> {
    inner: I,
    keep_slash: bool,
    pending: [u8; 2],
    pending_len: u8,
}

impl<I: Iterator<Item = u8>> Encoded<I> {
    pub(crate) fn new(inner: I, keep_slash: bool) -> Self {
        Encoded {
            inner,
            keep_slash,
            pending: [0; 2],
            pending_len: 0,
        }
    }
}

impl<I: Iterator<Item = u8>> Iterator for Encoded<I> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        match self.pending_len {
            2 => {
                self.pending_len = 1;
                return Some(self.pending[0]);
            }
            1 => {
                self.pending_len = 0;
                return Some(self.pending[1]);
            }
            _ => {}
        }
        let b = self.inner.next()?;
        if is_unreserved(b) || (self.keep_slash && b == b'/') {
            Some(b)
        } else {
            self.pending = [
                HEX_UPPER[usize::from(b >> 4)],
                HEX_UPPER[usize::from(b & 0xf)],
            ];
            self.pending_len = 2;
            Some(b'%')
        }
    }
}

/// Streams `bytes` through a small stack buffer so the sink sees a few large writes rather
/// than one per byte.
pub(crate) fn put_stream<S: Sink>(sink: &mut S, bytes: impl Iterator<Item = u8>) {
    /// Big enough that a typical key or query value goes in one write, small enough to sit on
    /// the stack.
    const BATCH: usize = 128;
    let mut buf = [0u8; BATCH];
    let mut len = 0;
    for b in bytes {
        buf[len] = b;
        len += 1;
        if len == BATCH {
            sink.put(&buf);
            len = 0;
        }
    }
    sink.put(&buf[..len]);
}

/// AWS URI-encoding of `input`, e.g. for turning an object key into a canonical path segment
/// (`keep_slash = true`) or a query value (`keep_slash = false`).
pub fn uri_encode(input: &str, keep_slash: bool) -> String {
    let mut out = Vec::with_capacity(input.len() + input.len() / 2);
    put_stream(&mut out, Encoded::new(input.bytes(), keep_slash));
    // Encoded output is pure ASCII.
    String::from_utf8(out).unwrap_or_default()
}

/// Percent-decoding as AWS does it for canonicalisation: `%XX` only, `+` stays `+`, malformed
/// escapes are kept literally.
fn decoded(raw: &str) -> impl Iterator<Item = u8> + '_ {
    percent_decode(raw.as_bytes())
}

/// Which form of the path the canonical URI is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathForm {
    /// Decoded, then AWS URI-encoded with `/` kept: what a correct SDK signs.
    Normalized,
    /// The path exactly as sent, for clients that sign their wire form.
    AsSent,
}

/// True when re-encoding could change the path, i.e. the [`PathForm::AsSent`] fallback could
/// give a different canonical URI.
pub(crate) fn path_may_differ_when_normalized(raw_path: &str) -> bool {
    raw_path.bytes().any(|b| !(is_unreserved(b) || b == b'/'))
}

fn write_canonical_uri<S: Sink>(sink: &mut S, raw_path: &str, form: PathForm) {
    if raw_path.is_empty() {
        sink.put(b"/");
        return;
    }
    match form {
        PathForm::Normalized => put_stream(sink, Encoded::new(decoded(raw_path), true)),
        PathForm::AsSent => sink.put(raw_path.as_bytes()),
    }
}

/// `name=value` pieces of a raw query string, empty pieces skipped, `name` alone giving an empty
/// value.
pub(crate) fn split_query(raw_query: &str) -> impl Iterator<Item = (&str, &str)> {
    raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Order of two raw parameters in the canonical query: by encoded name, then encoded value.
fn cmp_raw_params(a: &(&str, &str), b: &(&str, &str)) -> Ordering {
    Encoded::new(decoded(a.0), false)
        .cmp(Encoded::new(decoded(b.0), false))
        .then_with(|| Encoded::new(decoded(a.1), false).cmp(Encoded::new(decoded(b.1), false)))
}

/// The presigned signature parameter, which is left out of its own canonical query.
const SIGNATURE_PARAM: &str = "X-Amz-Signature";

fn write_canonical_query<S: Sink>(
    sink: &mut S,
    raw_query: &str,
    exclude_signature: bool,
) -> S3Result<()> {
    let mut params: [(&str, &str); MAX_QUERY_PARAMS] = [("", ""); MAX_QUERY_PARAMS];
    let mut count = 0;
    for (name, value) in split_query(raw_query) {
        if exclude_signature && decoded(name).eq(SIGNATURE_PARAM.bytes()) {
            continue;
        }
        let Some(slot) = params.get_mut(count) else {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Too many query parameters in a signed request.",
            ));
        };
        *slot = (name, value);
        count += 1;
    }
    let params = &mut params[..count];
    params.sort_unstable_by(cmp_raw_params);
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            sink.put(b"&");
        }
        put_stream(sink, Encoded::new(decoded(name), false));
        sink.put(b"=");
        put_stream(sink, Encoded::new(decoded(value), false));
    }
    Ok(())
}

const fn is_header_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A header value in canonical form: surrounding whitespace trimmed, inner runs of spaces or
/// tabs collapsed to one space.
pub(crate) fn write_header_value<S: Sink>(sink: &mut S, value: &[u8]) {
    let start = value
        .iter()
        .position(|b| !is_header_space(*b))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|b| !is_header_space(*b))
        .map_or(start, |p| p + 1);
    let value = &value[start..end];
    let mut run_start = 0;
    let mut i = 0;
    while i < value.len() {
        if is_header_space(value[i]) {
            sink.put(&value[run_start..i]);
            sink.put(b" ");
            while i < value.len() && is_header_space(value[i]) {
                i += 1;
            }
            run_start = i;
        } else {
            i += 1;
        }
    }
    sink.put(&value[run_start..]);
}

/// Canonical header lines for the names in `signed_headers`, in that order, each request header
/// of that name (any case) contributing its value, joined by `,`.
fn write_signed_headers<S: Sink>(
    sink: &mut S,
    headers: &[(&str, &[u8])],
    signed_headers: &str,
) -> S3Result<()> {
    for name in signed_headers.split(';') {
        sink.put(name.as_bytes());
        sink.put(b":");
        let mut found = false;
        for (_, value) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
            if found {
                sink.put(b",");
            }
            write_header_value(sink, value);
            found = true;
        }
        if !found {
            return Err(S3Error::with_message(
                S3ErrorCode::SignatureDoesNotMatch,
                "A header named in SignedHeaders is not present in the request.",
            ));
        }
        sink.put(b"\n");
    }
    Ok(())
}

/// What the canonical request of an incoming request is built from.
#[derive(Debug, Clone, Copy)]
pub struct CanonicalInput<'r> {
    pub request: &'r RequestView<'r>,
    /// `host;range;x-amz-date` exactly as the client listed it.
    pub signed_headers: &'r str,
    /// The payload hash line: hex SHA-256, `UNSIGNED-PAYLOAD` or a `STREAMING-…` value.
    pub payload_hash: &'r str,
    pub path: PathForm,
    /// Leave `X-Amz-Signature` out of the query (presigned requests).
    pub exclude_signature_param: bool,
}

pub(crate) fn write_canonical_request<S: Sink>(
    sink: &mut S,
    input: &CanonicalInput<'_>,
) -> S3Result<()> {
    let req = input.request;
    sink.put(req.method.as_bytes());
    sink.put(b"\n");
    write_canonical_uri(sink, req.raw_path, input.path);
    sink.put(b"\n");
    write_canonical_query(sink, req.raw_query, input.exclude_signature_param)?;
    sink.put(b"\n");
    write_signed_headers(sink, req.headers, input.signed_headers)?;
    sink.put(b"\n");
    sink.put(input.signed_headers.as_bytes());
    sink.put(b"\n");
    sink.put(input.payload_hash.as_bytes());
    Ok(())
}

/// The canonical request as text (tests and diagnostics).
pub fn canonical_request(input: &CanonicalInput<'_>) -> S3Result<String> {
    let mut out = Vec::with_capacity(512);
    write_canonical_request(&mut out, input)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// SHA-256 of the canonical request, streamed without building the text.
pub fn canonical_request_sha256(input: &CanonicalInput<'_>) -> S3Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    write_canonical_request(&mut hasher, input)?;
    Ok(hasher.finalize().into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text<F: FnOnce(&mut Vec<u8>)>(f: F) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn uri_encoding_rules() {
        assert_eq!(uri_encode("AZaz09-._~", false), "AZaz09-._~");
        assert_eq!(uri_encode("a b+c/d~é", false), "a%20b%2Bc%2Fd~%C3%A9");
        assert_eq!(uri_encode("a b+c/d~é", true), "a%20b%2Bc/d~%C3%A9");
        assert_eq!(uri_encode("test$file.text", true), "test%24file.text");
        assert_eq!(
            uri_encode("*'()!=&?#%", false),
            "%2A%27%28%29%21%3D%26%3F%23%25"
        );
        assert_eq!(uri_encode("", true), "");
        let long: String = "é".repeat(200);
        assert_eq!(uri_encode(&long, true), "%C3%A9".repeat(200));
    }

    #[test]
    fn canonical_uri_normalised_and_as_sent() {
        let n = |p: &str| text(|v| write_canonical_uri(v, p, PathForm::Normalized));
        let s = |p: &str| text(|v| write_canonical_uri(v, p, PathForm::AsSent));
        assert_eq!(n(""), "/");
        assert_eq!(s(""), "/");
        assert_eq!(n("/test.txt"), "/test.txt");
        assert_eq!(n("/test$file.text"), "/test%24file.text");
        assert_eq!(n("/test%24file.text"), "/test%24file.text");
        // Lower-case escapes and needless escapes are normalised; no double encoding.
        assert_eq!(n("/a%2fb%7e%41"), "/a/b~A");
        assert_eq!(n("/a%20b"), "/a%20b");
        assert_eq!(n("/a+b"), "/a%2Bb");
        // No dot-segment normalisation, no slash merging.
        assert_eq!(n("/a/../b//c/."), "/a/../b//c/.");
        // Malformed escapes stay literal (and the % itself is then encoded).
        assert_eq!(n("/a%zz%4"), "/a%25zz%254");
        assert_eq!(s("/a%2fb"), "/a%2fb");
        assert!(path_may_differ_when_normalized("/a%2fb"));
        assert!(path_may_differ_when_normalized("/a+b"));
        assert!(!path_may_differ_when_normalized("/a/b-c_d.e~f"));
    }

    #[test]
    fn canonical_query_sorting_and_encoding() {
        let q = |raw: &str, ex: bool| text(|v| write_canonical_query(v, raw, ex).unwrap());
        assert_eq!(q("", false), "");
        assert_eq!(q("lifecycle", false), "lifecycle=");
        assert_eq!(q("prefix=J&max-keys=2", false), "max-keys=2&prefix=J");
        assert_eq!(q("b=2&a=x%2Fy&a=1", false), "a=1&a=x%2Fy&b=2");
        assert_eq!(q("a=x/y", false), "a=x%2Fy");
        assert_eq!(q("k=a+b&k=a%20b", false), "k=a%20b&k=a%2Bb");
        assert_eq!(q("&&x=1&&", false), "x=1");
        assert_eq!(q("uploads&prefix=", false), "prefix=&uploads=");
        assert_eq!(q("k=%e2%82%ac", false), "k=%E2%82%AC");
        assert_eq!(q("k=a=b", false), "k=a%3Db");
        // Upper-case sorts before lower-case (byte order), after encoding.
        assert_eq!(q("a=1&B=2&_=3&~=4", false), "B=2&_=3&a=1&~=4");
        assert_eq!(q("X-Amz-Signature=abc&X-Amz-Date=1", true), "X-Amz-Date=1");
        assert_eq!(
            q("X-Amz-Signature=abc&X-Amz-Date=1", false),
            "X-Amz-Date=1&X-Amz-Signature=abc"
        );
    }

    #[test]
    fn too_many_query_params_is_an_error_not_a_panic() {
        let ok: Vec<String> = (0..MAX_QUERY_PARAMS).map(|i| format!("p{i}=v")).collect();
        let mut sink = Vec::new();
        assert!(write_canonical_query(&mut sink, &ok.join("&"), false).is_ok());
        let too_many: Vec<String> = (0..=MAX_QUERY_PARAMS).map(|i| format!("p{i}=v")).collect();
        let err = write_canonical_query(&mut sink, &too_many.join("&"), false).unwrap_err();
        assert_eq!(err.code, S3ErrorCode::InvalidArgument);
    }

    #[test]
    fn header_value_trimming() {
        let h = |v: &[u8]| text(|s| write_header_value(s, v));
        assert_eq!(h(b"plain"), "plain");
        assert_eq!(h(b"  a   b \t c  "), "a b c");
        assert_eq!(h(b"\t\t"), "");
        assert_eq!(h(b""), "");
        assert_eq!(h(b"a\t\tb"), "a b");
        assert_eq!(h(b"\"a  b\""), "\"a b\"");
    }

    #[test]
    fn signed_headers_join_duplicates_in_order_any_case() {
        let headers: &[(&str, &[u8])] = &[
            ("Host", b"h"),
            ("X-B", b"  a   b "),
            ("x-b", b"c"),
            ("X-Unsigned", b"zzz"),
        ];
        let out = text(|v| write_signed_headers(v, headers, "host;x-b").unwrap());
        assert_eq!(out, "host:h\nx-b:a b,c\n");
        let mut v = Vec::new();
        let err = write_signed_headers(&mut v, headers, "host;x-missing").unwrap_err();
        assert_eq!(err.code, S3ErrorCode::SignatureDoesNotMatch);
    }

    #[test]
    fn hash_equals_hash_of_text() {
        let headers: &[(&str, &[u8])] = &[("host", b"h")];
        let req = RequestView {
            method: "GET",
            raw_path: "/a%20b",
            raw_query: "z=1&a",
            headers,
        };
        let input = CanonicalInput {
            request: &req,
            signed_headers: "host",
            payload_hash: "UNSIGNED-PAYLOAD",
            path: PathForm::Normalized,
            exclude_signature_param: false,
        };
        let t = canonical_request(&input).unwrap();
        assert_eq!(t, "GET\n/a%20b\na=&z=1\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
        let h: [u8; 32] = Sha256::digest(t.as_bytes()).into();
        assert_eq!(canonical_request_sha256(&input).unwrap(), h);
    }
}
