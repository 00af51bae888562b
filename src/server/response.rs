//! Handler results and the one place errors become S3 XML responses.

use crate::s3::error::{S3Error, Side};
use crate::s3::xml;
use std::borrow::Cow;

/// A streamed response body (GetObject).
pub use crate::backend::ObjectStream;

pub struct Response {
    pub status: u16,
    /// Static names and values (`Accept-Ranges: bytes`) cost no allocation.
    pub headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    pub body: ResponseBody,
}

// Not boxed: a response is built once per request and moved a couple of times, cheaper than a
// heap allocation per GET.
#[allow(clippy::large_enum_variant)]
pub enum ResponseBody {
    Empty,
    Full(Vec<u8>),
    /// No body bytes, but announce this Content-Length (HEAD, 304).
    HeadOnly(u64),
    /// A body streamed from a backend, of exactly this many bytes.
    Stream(ObjectStream, u64),
}

impl Response {
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: ResponseBody::Empty,
        }
    }

    pub fn xml(status: u16, body: String) -> Self {
        let mut r = Response::new(status);
        r.header("Content-Type", "application/xml");
        r.body = ResponseBody::Full(body.into_bytes());
        r
    }

    pub fn header(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> &mut Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The Content-Length to announce. Every response has one: bodies are either in memory or
    /// streamed from a backend copy of known size, so responses are never chunked.
    pub fn content_length(&self) -> u64 {
        match &self.body {
            ResponseBody::Empty => 0,
            ResponseBody::Full(b) => b.len() as u64,
            ResponseBody::HeadOnly(n) => *n,
            ResponseBody::Stream(_, n) => *n,
        }
    }
}

/// Renders an error as S3 does, logging it at a level that depends on which side failed. The
/// client sees the code, the client-facing message and the request id; the detail (backend
/// names, paths, provider answers) is only logged, under the same request id.
pub fn error_response(err: &S3Error, resource: &str, request_id: &str) -> Response {
    match err.side {
        Side::Client => {
            tracing::debug!(
                request_id,
                code = err.code.as_str(),
                message = err.log_text(),
                resource,
                "client error"
            )
        }
        Side::Backend => {
            tracing::warn!(
                request_id,
                code = err.code.as_str(),
                message = err.log_text(),
                resource,
                "backend error"
            )
        }
        Side::Internal => {
            tracing::error!(
                request_id,
                code = err.code.as_str(),
                message = err.log_text(),
                resource,
                "internal error"
            )
        }
    }
    let status = err.status();
    let mut r = if status == 304 {
        Response::new(304)
    } else {
        Response::xml(
            status,
            xml::error_body(err.code.as_str(), &err.message, resource, request_id),
        )
    };
    if status == 503 {
        r.header("Retry-After", "1");
    }
    r
}
