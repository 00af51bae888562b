//! The boundary between the data-plane transport (this module's connection loop) and the
//! application it serves (the S3 API in `proxy`), the way a listener calls its app: the
//! transport reads and limits heads, sheds load, frames bodies and writes responses; the service
//! routes, authenticates and answers. The transport never names the S3 handlers, so the layers
//! stay one-way (`proxy` → `server`).
//!
//! Generic rather than a trait object: one service per process, so the call is monomorphised and
//! costs no allocation per request.

use super::body::{BodyFraming, BodyReader};
use super::response::{error_response, Response};
use super::shard::Shard;
use super::wire::{BodyUse, Conn};
use crate::http::RequestHead;
use crate::s3::error::S3Error;
use crate::s3::payload::BodyVerifier;
use crate::s3::router::Resource;
use crate::state::App;
use std::future::Future;

/// One request whose head is parsed, as the service sees it.
pub struct Request<'a> {
    pub shard: &'a Shard,
    /// The state this request runs on (a reload mid-request does not change it).
    pub app: &'a App,
    pub head: &'a RequestHead,
    pub request_id: &'a str,
}

/// A request body not opened yet: the service decides how its payload is verified.
pub struct PendingBody<'c> {
    conn: &'c mut Conn,
    framing: BodyFraming,
    expect_continue: bool,
}

impl<'c> PendingBody<'c> {
    pub(crate) fn new(conn: &'c mut Conn, framing: BodyFraming, expect_continue: bool) -> Self {
        PendingBody {
            conn,
            framing,
            expect_continue,
        }
    }

    /// The body stream, read through `verifier` (with the decoded length it declares, if any).
    pub fn open(self, verifier: Option<(BodyVerifier, Option<u64>)>) -> BodyReader<'c> {
        BodyReader::new(self.conn, self.framing, self.expect_continue, verifier)
    }
}

/// What the service did with a request.
pub struct Served {
    pub response: Response,
    /// The operation's name for metrics and the access log (`Unknown` when it was not routed).
    pub operation: &'static str,
    /// What the request concerned, for error bodies and the access log.
    pub resource: Resource,
    /// How much of the body was read: decides whether the connection can be reused.
    pub body: BodyUse,
}

impl Served {
    /// A request answered with an error before its body was touched.
    pub fn error(err: &S3Error, resource: String, request_id: &str) -> Served {
        Served {
            response: error_response(err, &resource, request_id),
            operation: "Unknown",
            resource: Resource::Text(resource),
            body: BodyUse::Untouched,
        }
    }
}

/// The application a shard serves.
pub trait Service: 'static {
    /// Answers one request; reads its body, if it needs it, by opening `body`.
    fn serve<'a>(
        &'a self,
        req: Request<'a>,
        body: PendingBody<'a>,
    ) -> impl Future<Output = Served> + 'a;
}
