//! The signing and sending core: every provider request is signed with the backend's credentials
//! and region, opened on the shard's pool and recorded in the backend's health and metrics.

use super::errors::record_client_failure;
use super::{client_error, S3Backend, MAX_BACKEND_XML_BYTES};
use crate::backend::transport::{
    BackendResponse, BodyLen, RequestHeadOut, RequestInFlight, TransportError,
};
use crate::backend::BackendCtx;
use crate::metrics::TRANSPORT_ERROR;
use crate::s3::auth::{sign_request, uri_encode, AmzDate, SignableRequest};
use crate::s3::error::S3Result;

/// SHA-256 of an empty body, the payload hash of requests without one.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// One request to send: what `start` signs and opens.
pub(super) struct Outgoing<'a> {
    pub(super) method: &'a str,
    pub(super) uri: &'a str,
    pub(super) query: &'a [(&'a str, &'a str)],
    /// Headers beyond host/date/payload hash, sent and signed.
    pub(super) extra: &'a [(String, String)],
    pub(super) payload_hash: &'a str,
    pub(super) body: BodyLen,
    pub(super) expect_continue: bool,
}

fn now_unix() -> i64 {
    crate::util::clock::now_secs() as i64
}

impl S3Backend {
    /// Builds and signs a request's headers. `extra` are additional headers to send and sign.
    fn signed_headers(
        &self,
        ctx: &BackendCtx<'_>,
        method: &str,
        uri: &str,
        query: &[(&str, &str)],
        extra: &[(String, String)],
        payload_hash: &str,
    ) -> Vec<(String, String)> {
        let date = AmzDate::from_unix(now_unix())
            .unwrap_or_else(|| AmzDate::from_unix(0).expect("epoch is valid"));
        let mut headers: Vec<(String, String)> = Vec::with_capacity(extra.len() + 4);
        headers.push(("host".into(), self.host_header.clone()));
        headers.push(("x-amz-date".into(), date.as_str().to_owned()));
        headers.push(("x-amz-content-sha256".into(), payload_hash.to_owned()));
        headers.extend(extra.iter().cloned());
        let view: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let req = SignableRequest {
            method,
            canonical_uri: uri,
            query,
            headers: &view,
            payload_hash,
        };
        let auth = {
            let mut cache = ctx.signing.borrow_mut();
            sign_request(&req, &self.credentials, &self.region, &date, &mut cache)
        };
        headers.push(("authorization".into(), auth));
        headers
    }

    fn path_and_query(uri: &str, query: &[(&str, &str)]) -> String {
        let mut s = uri.to_owned();
        for (i, (k, v)) in query.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(&uri_encode(k, false));
            if !v.is_empty() {
                s.push('=');
                s.push_str(&uri_encode(v, false));
            }
        }
        s
    }

    pub(super) async fn start(
        &self,
        ctx: &BackendCtx<'_>,
        out: Outgoing<'_>,
    ) -> S3Result<RequestInFlight> {
        let headers = self.signed_headers(
            ctx,
            out.method,
            out.uri,
            out.query,
            out.extra,
            out.payload_hash,
        );
        let pq = Self::path_and_query(out.uri, out.query);
        let hv: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_bytes()))
            .collect();
        let head = RequestHeadOut {
            method: out.method,
            path_and_query: &pq,
            headers: &hv,
        };
        self.health.count_request();
        let mut req = ctx
            .pool
            .start(&self.target, &head, out.body, out.expect_continue)
            .await
            .map_err(|e| {
                record_client_failure(&self.health, &e);
                client_error(&self.name, &e)
            })?;
        if out.expect_continue {
            match req.wait_for_continue().await {
                Ok(()) => {}
                Err(TransportError::EarlyResponse { response, .. }) => {
                    self.health.answered(response.status);
                    return Err(self.error_from_response(*response).await);
                }
                Err(e) => {
                    record_client_failure(&self.health, &e);
                    return Err(client_error(&self.name, &e));
                }
            }
        }
        Ok(req)
    }

    /// A request with a small or no body, its answer head read (small XML bodies); recorded in
    /// the backend's metrics.
    pub(super) async fn simple(
        &self,
        ctx: &BackendCtx<'_>,
        method: &str,
        uri: &str,
        query: &[(&str, &str)],
        extra: &[(String, String)],
        body: Option<&[u8]>,
    ) -> S3Result<BackendResponse> {
        let started = std::time::Instant::now();
        let r = self
            .simple_unrecorded(ctx, method, uri, query, extra, body)
            .await;
        let status = r.as_ref().map_or(TRANSPORT_ERROR, |resp| resp.status);
        let op = operation_name(method, query, extra);
        crate::metrics::record_backend(&self.name, op, status, started.elapsed());
        r
    }

    async fn simple_unrecorded(
        &self,
        ctx: &BackendCtx<'_>,
        method: &str,
        uri: &str,
        query: &[(&str, &str)],
        extra: &[(String, String)],
        body: Option<&[u8]>,
    ) -> S3Result<BackendResponse> {
        let hash;
        let (payload_hash, len) = match body {
            Some(b) => {
                use sha2::Digest;
                hash = hex::encode(sha2::Sha256::digest(b));
                (hash.as_str(), BodyLen::Length(b.len() as u64))
            }
            None => (EMPTY_SHA256, BodyLen::None),
        };
        let mut req = self
            .start(
                ctx,
                Outgoing {
                    method,
                    uri,
                    query,
                    extra,
                    payload_hash,
                    body: len,
                    expect_continue: false,
                },
            )
            .await?;
        if let Some(b) = body {
            self.health.count_ingress(b.len() as u64);
            req.write_body(b).await.map_err(|e| {
                record_client_failure(&self.health, &e);
                client_error(&self.name, &e)
            })?;
        }
        match req.finish().await {
            Ok(resp) => {
                self.health.answered(resp.status);
                Ok(resp)
            }
            Err(e) => {
                record_client_failure(&self.health, &e);
                Err(client_error(&self.name, &e))
            }
        }
    }

    /// Reads a small XML answer body (at most [`MAX_BACKEND_XML_BYTES`]).
    pub(super) async fn read_xml(&self, resp: BackendResponse) -> S3Result<Vec<u8>> {
        resp.read_to_vec(MAX_BACKEND_XML_BYTES)
            .await
            .map_err(|e| client_error(&self.name, &e))
    }

    /// Records a streaming upload that never got going: no connection, or refused before the
    /// body (`100-continue` answered with an error, which `start` turned into a 503-side error).
    pub(super) fn record_refused(&self, op: &'static str, started: std::time::Instant) {
        crate::metrics::record_backend(&self.name, op, TRANSPORT_ERROR, started.elapsed());
    }
}

/// The S3 operation a backend request performs, named as AWS names it (metrics labels).
fn operation_name(
    method: &str,
    query: &[(&str, &str)],
    extra: &[(String, String)],
) -> &'static str {
    let has = |k: &str| query.iter().any(|(q, _)| *q == k);
    let copy = extra.iter().any(|(k, _)| k == "x-amz-copy-source");
    match method {
        "GET" if has("uploadId") => "ListParts",
        "GET" => "GetObject",
        "HEAD" => "HeadObject",
        "PUT" if has("partNumber") && copy => "UploadPartCopy",
        "PUT" if has("partNumber") => "UploadPart",
        "PUT" if copy => "CopyObject",
        "PUT" => "PutObject",
        "POST" if has("uploads") => "CreateMultipartUpload",
        "POST" if has("uploadId") => "CompleteMultipartUpload",
        "DELETE" if has("uploadId") => "AbortMultipartUpload",
        "DELETE" => "DeleteObject",
        _ => "Other",
    }
}

#[cfg(test)]
mod metrics_tests {
    use super::operation_name;

    #[test]
    fn backend_operations_are_named_as_aws_names_them() {
        let copy = vec![("x-amz-copy-source".to_owned(), "/b/k".to_owned())];
        assert_eq!(operation_name("GET", &[], &[]), "GetObject");
        assert_eq!(
            operation_name("GET", &[("uploadId", "u")], &[]),
            "ListParts"
        );
        assert_eq!(operation_name("HEAD", &[], &[]), "HeadObject");
        assert_eq!(operation_name("PUT", &[], &[]), "PutObject");
        assert_eq!(operation_name("PUT", &[], &copy), "CopyObject");
        let part = [("partNumber", "1"), ("uploadId", "u")];
        assert_eq!(operation_name("PUT", &part, &[]), "UploadPart");
        assert_eq!(operation_name("PUT", &part, &copy), "UploadPartCopy");
        assert_eq!(
            operation_name("POST", &[("uploads", "")], &[]),
            "CreateMultipartUpload"
        );
        assert_eq!(
            operation_name("POST", &[("uploadId", "u")], &[]),
            "CompleteMultipartUpload"
        );
        assert_eq!(
            operation_name("DELETE", &[("uploadId", "u")], &[]),
            "AbortMultipartUpload"
        );
        assert_eq!(operation_name("DELETE", &[], &[]), "DeleteObject");
        assert_eq!(operation_name("PATCH", &[], &[]), "Other");
    }
}
