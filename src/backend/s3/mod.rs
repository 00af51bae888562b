//! An S3-compatible provider as a backend: requests re-signed with the backend's own credentials
//! and region, sent through the shard's connection pool, bodies streamed both ways.

use super::client::{
    BackendResponse, BodyLen, ClientError, RequestHeadOut, RequestInFlight, Target,
};
use super::ObjectMeta;
use super::{BackendCtx, Integrity, PartInfo};
use crate::config::{BackendConfig, BackendKind as BackendConfigKind};
use crate::health::BackendHealth;
use crate::metrics::TRANSPORT_ERROR;
use crate::s3::auth::{sign_request, uri_encode, AmzDate, Credentials, SignableRequest};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::unquote_etag;
use crate::s3::range::ByteRange;
use crate::s3::xml::{self, EtagAnswer};
use std::sync::Arc;

/// Bodies at least this large are sent with `Expect: 100-continue`, so a backend that refuses
/// (5xx, auth, quota) does so before we consume the client's body and we can still fail over.
/// Smaller bodies go out with the head: a refusal costs little, and a round trip per small PUT
/// would dominate its latency.
pub const EXPECT_CONTINUE_MIN_BYTES: u64 = 1024 * 1024;

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Largest backend XML answer we read into memory (error documents, ListParts pages of 1000
/// parts at ~250 bytes each).
pub const MAX_BACKEND_XML_BYTES: usize = 1024 * 1024;

/// One request to send: what `start` signs and opens.
struct Outgoing<'a> {
    method: &'a str,
    uri: &'a str,
    query: &'a [(&'a str, &'a str)],
    /// Headers beyond host/date/payload hash, sent and signed.
    extra: &'a [(String, String)],
    payload_hash: &'a str,
    body: BodyLen,
    expect_continue: bool,
}

pub struct S3Backend {
    pub name: String,
    target: Target,
    /// `Host` header value (with port when not the default).
    host_header: String,
    /// Path prefix for every request: `{base_path}/{bucket}` (path style) or `{base_path}`.
    path_prefix: String,
    /// The provider-side bucket, for `x-amz-copy-source`.
    bucket: String,
    region: String,
    credentials: Credentials,
    /// Breaker and usage counters: every request's cost and outcome is recorded there.
    health: Arc<BackendHealth>,
}

/// A transport failure: connect errors, TLS failures, timeouts, resets and malformed answers
/// count against the breaker; a misuse of the client is our bug, not the backend's.
fn record_client_failure(health: &BackendHealth, e: &ClientError) {
    match e {
        ClientError::Usage(_) => {}
        ClientError::EarlyResponse { response, .. } => health.answered(response.status),
        _ => health.breaker.record_failure(&e.to_string()),
    }
}

fn now_unix() -> i64 {
    crate::util::clock::now_secs() as i64
}

/// Maps a transport failure to an S3 error on the backend side (503: SDKs retry it).
pub fn client_error(backend: &str, e: &ClientError) -> S3Error {
    S3Error::backend(
        S3ErrorCode::ServiceUnavailable,
        format!("backend {backend}: {e}"),
    )
}

impl S3Backend {
    pub fn from_config(cfg: &BackendConfig, health: Arc<BackendHealth>) -> S3Backend {
        let BackendConfigKind::S3 {
            endpoint,
            region,
            bucket,
            access_key_id,
            secret_access_key,
            path_style,
        } = &cfg.kind
        else {
            unreachable!("from_config is only called for S3 backends")
        };
        let (host, host_header, path_prefix) = if *path_style {
            (
                endpoint.host.clone(),
                endpoint.authority(),
                format!("{}/{}", endpoint.base_path, uri_encode(bucket, false)),
            )
        } else {
            (
                format!("{bucket}.{}", endpoint.host),
                format!("{bucket}.{}", endpoint.authority()),
                endpoint.base_path.clone(),
            )
        };
        let mut target = if endpoint.scheme_https {
            Target::https(host, endpoint.port)
        } else {
            Target::http(host, endpoint.port)
        };
        target.server_name = None;
        S3Backend {
            name: cfg.name.clone(),
            target,
            host_header,
            path_prefix,
            bucket: bucket.clone(),
            region: region.clone(),
            credentials: Credentials::new(
                access_key_id.clone(),
                secret_access_key.expose().to_owned(),
            ),
            health,
        }
    }

    /// A half-open probe (HEAD on the provider bucket): any answer below 500 means the backend is
    /// serving again.
    pub async fn probe(&self, ctx: &BackendCtx<'_>) -> Result<(), String> {
        let uri = if self.path_prefix.is_empty() {
            "/".to_owned()
        } else {
            self.path_prefix.clone()
        };
        match self.simple(ctx, "HEAD", &uri, &[], &[], None).await {
            Ok(resp) if resp.status < 500 => {
                resp.discard().await;
                Ok(())
            }
            Ok(resp) => Err(format!("probe answered {}", resp.status)),
            Err(e) => Err(e.message.to_string()),
        }
    }

    fn object_uri(&self, backend_key: &str) -> String {
        format!("{}/{}", self.path_prefix, uri_encode(backend_key, true))
    }

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

    async fn start(&self, ctx: &BackendCtx<'_>, out: Outgoing<'_>) -> S3Result<RequestInFlight> {
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
                Err(ClientError::EarlyResponse { response, .. }) => {
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
    async fn simple(
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

    /// Records a streaming upload that never got going: no connection, or refused before the
    /// body (`100-continue` answered with an error, which `start` turned into a 503-side error).
    fn record_refused(&self, op: &'static str, started: std::time::Instant) {
        crate::metrics::record_backend(&self.name, op, TRANSPORT_ERROR, started.elapsed());
    }

    /// Turns a non-success answer into an error, keeping codes that are the client's fault.
    pub async fn error_from_response(&self, resp: BackendResponse) -> S3Error {
        error_from_response(&self.name, resp).await
    }

    fn meta_headers(meta: &ObjectMeta, out: &mut Vec<(String, String)>) {
        let std = [
            ("content-type", &meta.content_type),
            ("cache-control", &meta.cache_control),
            ("content-disposition", &meta.content_disposition),
            ("content-encoding", &meta.content_encoding),
            ("content-language", &meta.content_language),
            ("expires", &meta.expires),
        ];
        for (name, v) in std {
            if let Some(v) = v {
                out.push((name.to_owned(), v.clone()));
            }
        }
        for (k, v) in &meta.user_metadata {
            out.push((format!("x-amz-meta-{k}"), v.clone()));
        }
    }

    fn integrity_headers(integrity: &Integrity, out: &mut Vec<(String, String)>) -> String {
        if let Some(md5) = &integrity.content_md5 {
            out.push(("content-md5".into(), md5.clone()));
        }
        if let Some((name, value)) = &integrity.checksum {
            out.push((name.clone(), value.clone()));
        }
        integrity
            .sha256_hex
            .clone()
            .unwrap_or_else(|| UNSIGNED_PAYLOAD.to_owned())
    }

    pub async fn begin_put(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        size: u64,
        meta: &ObjectMeta,
        integrity: &Integrity,
    ) -> S3Result<S3Upload> {
        let uri = self.object_uri(backend_key);
        let mut extra = Vec::new();
        Self::meta_headers(meta, &mut extra);
        let payload_hash = Self::integrity_headers(integrity, &mut extra);
        let expect = size >= EXPECT_CONTINUE_MIN_BYTES;
        let started = std::time::Instant::now();
        let req = self
            .start(
                ctx,
                Outgoing {
                    method: "PUT",
                    uri: &uri,
                    query: &[],
                    extra: &extra,
                    payload_hash: &payload_hash,
                    body: BodyLen::Length(size),
                    expect_continue: expect,
                },
            )
            .await
            .inspect_err(|_| self.record_refused("PutObject", started))?;
        Ok(S3Upload {
            backend: self.name.clone(),
            req: Some(req),
            op: "PutObject",
            started,
            health: self.health.clone(),
        })
    }

    pub async fn get(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        range: Option<ByteRange>,
        size: u64,
    ) -> S3Result<BackendResponse> {
        let uri = self.object_uri(backend_key);
        let mut extra = Vec::new();
        if let Some(r) = range {
            extra.push(("range".to_owned(), format!("bytes={}-{}", r.start, r.end)));
        }
        let resp = self.simple(ctx, "GET", &uri, &[], &extra, None).await?;
        let expected_len = match range {
            Some(r) => r.end - r.start + 1,
            None => size,
        };
        // rclone serve s3 answers a Range GET with 200 plus Content-Range and the partial body:
        // such a 200 is a partial answer like 206, checked the same way below.
        let partial = resp.status == 206
            || (range.is_some() && resp.status == 200 && resp.header("content-range").is_some());
        let ok_status = if range.is_some() {
            partial || (resp.status == 200 && expected_len == size)
        } else {
            resp.status == 200
        };
        if !ok_status {
            return Err(self.error_from_response(resp).await);
        }
        // The stored copy must be the version the catalog describes (a crashed overwrite can
        // leave other bytes under the same key): check the total size.
        let total = match resp.header("content-range") {
            Some(cr) => cr
                .rsplit_once('/')
                .and_then(|(_, t)| t.trim().parse::<u64>().ok()),
            None => resp.content_length(),
        };
        if total != Some(size) || (!partial && resp.content_length() != Some(expected_len)) {
            resp.discard().await;
            return Err(S3Error::backend(
                S3ErrorCode::InternalError,
                format!(
                    "backend {} holds a copy of another size than the catalog records",
                    self.name
                ),
            ));
        }
        if partial && resp.content_length() != Some(expected_len) {
            resp.discard().await;
            return Err(S3Error::backend(
                S3ErrorCode::InternalError,
                "backend answered another range",
            ));
        }
        // Egress is counted as the body is handed out: the provider bills what it sends.
        self.health.count_egress(expected_len);
        Ok(resp)
    }

    pub async fn head_size(&self, ctx: &BackendCtx<'_>, backend_key: &str) -> S3Result<u64> {
        let uri = self.object_uri(backend_key);
        let resp = self.simple(ctx, "HEAD", &uri, &[], &[], None).await?;
        if resp.status != 200 {
            return Err(self.error_from_response(resp).await);
        }
        // A HEAD response has no body, so its framing length is 0: the object's size is the
        // Content-Length header itself.
        let n = resp
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                S3Error::backend(S3ErrorCode::InternalError, "HEAD without Content-Length")
            })?;
        resp.discard().await;
        Ok(n)
    }

    pub async fn delete(&self, ctx: &BackendCtx<'_>, backend_key: &str) -> S3Result<()> {
        let uri = self.object_uri(backend_key);
        let resp = self.simple(ctx, "DELETE", &uri, &[], &[], None).await?;
        match resp.status {
            200 | 204 | 404 => {
                resp.discard().await;
                Ok(())
            }
            _ => Err(self.error_from_response(resp).await),
        }
    }

    pub async fn copy_within(
        &self,
        ctx: &BackendCtx<'_>,
        src_key: &str,
        dst_key: &str,
        meta: &ObjectMeta,
    ) -> S3Result<String> {
        let uri = self.object_uri(dst_key);
        let mut extra = vec![
            (
                "x-amz-copy-source".to_owned(),
                format!(
                    "/{}/{}",
                    uri_encode(&self.bucket, false),
                    uri_encode(src_key, true)
                ),
            ),
            ("x-amz-metadata-directive".to_owned(), "REPLACE".to_owned()),
        ];
        Self::meta_headers(meta, &mut extra);
        let resp = self.simple(ctx, "PUT", &uri, &[], &extra, None).await?;
        self.etag_from_xml_answer(resp, "CopyObject").await
    }

    /// Reads an answer whose ETag is in the XML body (copies, completion); S3 may answer 200
    /// with an `<Error>` document for those.
    async fn etag_from_xml_answer(&self, resp: BackendResponse, what: &str) -> S3Result<String> {
        if resp.status != 200 {
            return Err(self.error_from_response(resp).await);
        }
        let body = resp
            .read_to_vec(MAX_BACKEND_XML_BYTES)
            .await
            .map_err(|e| client_error(&self.name, &e))?;
        match xml::parse_etag_answer(&body) {
            Ok(EtagAnswer::Etag(etag)) => Ok(unquote_etag(&etag).to_owned()),
            Ok(EtagAnswer::Error(e)) => Err(S3Error::backend(
                S3ErrorCode::ServiceUnavailable,
                format!("backend {} failed {what}: {}", self.name, e.code),
            )),
            Err(e) => Err(S3Error::backend(
                S3ErrorCode::InternalError,
                format!("backend {} answered {what} without an ETag: {e}", self.name),
            )),
        }
    }

    pub async fn create_multipart(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        meta: &ObjectMeta,
    ) -> S3Result<String> {
        let uri = self.object_uri(backend_key);
        let mut extra = Vec::new();
        Self::meta_headers(meta, &mut extra);
        let resp = self
            .simple(ctx, "POST", &uri, &[("uploads", "")], &extra, None)
            .await?;
        if resp.status != 200 {
            return Err(self.error_from_response(resp).await);
        }
        let body = resp
            .read_to_vec(MAX_BACKEND_XML_BYTES)
            .await
            .map_err(|e| client_error(&self.name, &e))?;
        xml::parse_upload_id(&body).map_err(|e| {
            S3Error::backend(
                S3ErrorCode::InternalError,
                format!("backend answered CreateMultipartUpload without an UploadId: {e}"),
            )
        })
    }

    pub async fn begin_part(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        upload_id: &str,
        part_number: u32,
        size: u64,
        integrity: &Integrity,
    ) -> S3Result<S3Upload> {
        let uri = self.object_uri(backend_key);
        let pn = part_number.to_string();
        let query = [("partNumber", pn.as_str()), ("uploadId", upload_id)];
        let mut extra = Vec::new();
        let payload_hash = Self::integrity_headers(integrity, &mut extra);
        let expect = size >= EXPECT_CONTINUE_MIN_BYTES;
        let started = std::time::Instant::now();
        let req = self
            .start(
                ctx,
                Outgoing {
                    method: "PUT",
                    uri: &uri,
                    query: &query,
                    extra: &extra,
                    payload_hash: &payload_hash,
                    body: BodyLen::Length(size),
                    expect_continue: expect,
                },
            )
            .await
            .inspect_err(|_| self.record_refused("UploadPart", started))?;
        Ok(S3Upload {
            backend: self.name.clone(),
            req: Some(req),
            op: "UploadPart",
            started,
            health: self.health.clone(),
        })
    }

    /// UploadPartCopy from another object of this backend.
    pub async fn upload_part_copy(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        upload_id: &str,
        part_number: u32,
        src_key: &str,
        range: Option<ByteRange>,
    ) -> S3Result<String> {
        let uri = self.object_uri(backend_key);
        let pn = part_number.to_string();
        let query = [("partNumber", pn.as_str()), ("uploadId", upload_id)];
        let mut extra = vec![(
            "x-amz-copy-source".to_owned(),
            format!(
                "/{}/{}",
                uri_encode(&self.bucket, false),
                uri_encode(src_key, true)
            ),
        )];
        if let Some(r) = range {
            extra.push((
                "x-amz-copy-source-range".to_owned(),
                format!("bytes={}-{}", r.start, r.end),
            ));
        }
        let resp = self.simple(ctx, "PUT", &uri, &query, &extra, None).await?;
        self.etag_from_xml_answer(resp, "UploadPartCopy").await
    }

    pub async fn complete_multipart(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> S3Result<String> {
        let uri = self.object_uri(backend_key);
        let mut doc = String::with_capacity(64 + parts.len() * 80);
        doc.push_str("<CompleteMultipartUpload>");
        for (n, etag) in parts {
            doc.push_str("<Part><PartNumber>");
            doc.push_str(&n.to_string());
            doc.push_str("</PartNumber><ETag>\"");
            crate::s3::xml::escape_into(&mut doc, unquote_etag(etag));
            doc.push_str("\"</ETag></Part>");
        }
        doc.push_str("</CompleteMultipartUpload>");
        let extra = vec![("content-type".to_owned(), "application/xml".to_owned())];
        let resp = self
            .simple(
                ctx,
                "POST",
                &uri,
                &[("uploadId", upload_id)],
                &extra,
                Some(doc.as_bytes()),
            )
            .await?;
        self.etag_from_xml_answer(resp, "CompleteMultipartUpload")
            .await
    }

    pub async fn abort_multipart(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        upload_id: &str,
    ) -> S3Result<()> {
        let uri = self.object_uri(backend_key);
        let resp = self
            .simple(ctx, "DELETE", &uri, &[("uploadId", upload_id)], &[], None)
            .await?;
        match resp.status {
            200 | 204 | 404 => {
                resp.discard().await;
                Ok(())
            }
            _ => Err(self.error_from_response(resp).await),
        }
    }

    /// One page of the backend's ListParts.
    pub async fn list_parts(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        upload_id: &str,
        marker: u32,
        max: u32,
    ) -> S3Result<(Vec<PartInfo>, bool, u32)> {
        let uri = self.object_uri(backend_key);
        let m = marker.to_string();
        let mx = max.to_string();
        let mut query = vec![("uploadId", upload_id), ("max-parts", mx.as_str())];
        if marker > 0 {
            query.push(("part-number-marker", m.as_str()));
        }
        let resp = self.simple(ctx, "GET", &uri, &query, &[], None).await?;
        if resp.status != 200 {
            return Err(self.error_from_response(resp).await);
        }
        let body = resp
            .read_to_vec(MAX_BACKEND_XML_BYTES)
            .await
            .map_err(|e| client_error(&self.name, &e))?;
        let page = xml::parse_list_parts(&body).map_err(|e| {
            S3Error::backend(
                S3ErrorCode::InternalError,
                format!("backend {} answered ListParts with {e}", self.name),
            )
        })?;
        let parts: Vec<PartInfo> = page
            .parts
            .into_iter()
            .filter_map(|p| {
                Some(PartInfo {
                    part_number: p.part_number?,
                    etag: unquote_etag(&p.etag).to_owned(),
                    size: p.size?,
                    last_modified: p.last_modified,
                })
            })
            .collect();
        let next = page.next_part_number_marker.unwrap_or(0);
        Ok((parts, page.is_truncated, next))
    }
}

/// Turns a backend's non-success answer into an error. Codes that mean the client's data was
/// wrong (a forwarded digest did not match) are passed through as the client's fault; the rest
/// are the backend's (503, so SDKs retry and the breaker can steer them elsewhere).
pub async fn error_from_response(backend: &str, resp: BackendResponse) -> S3Error {
    let status = resp.status;
    let body = resp
        .read_to_vec(MAX_BACKEND_XML_BYTES)
        .await
        .unwrap_or_default();
    let xml::ErrorDocument { code, message } = xml::parse_error(&body).unwrap_or_default();
    let client_fault = match code.as_str() {
        "BadDigest" => Some(S3ErrorCode::BadDigest),
        "InvalidDigest" => Some(S3ErrorCode::InvalidDigest),
        "XAmzContentSHA256Mismatch" => Some(S3ErrorCode::XAmzContentSHA256Mismatch),
        "NoSuchUpload" => Some(S3ErrorCode::NoSuchUpload),
        "InvalidPart" => Some(S3ErrorCode::InvalidPart),
        "InvalidPartOrder" => Some(S3ErrorCode::InvalidPartOrder),
        "EntityTooSmall" => Some(S3ErrorCode::EntityTooSmall),
        "InvalidRange" => Some(S3ErrorCode::InvalidRange),
        _ => None,
    };
    let detail = format!("backend {backend} answered {status} {code}: {message}");
    match client_fault {
        Some(c) => S3Error::client(c, detail),
        None if status == 404 || code == "NoSuchKey" => {
            S3Error::backend(S3ErrorCode::NoSuchKey, detail)
        }
        None => S3Error::backend(S3ErrorCode::ServiceUnavailable, detail),
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

/// A PUT (object or part) streaming to an S3 backend.
pub struct S3Upload {
    backend: String,
    req: Option<RequestInFlight>,
    /// For metrics: `PutObject` or `UploadPart`, and when the request was started.
    op: &'static str,
    started: std::time::Instant,
    health: Arc<BackendHealth>,
}

impl S3Upload {
    pub async fn write(&mut self, data: &[u8]) -> S3Result<()> {
        let req = self
            .req
            .as_mut()
            .ok_or_else(|| S3Error::internal("write after finish"))?;
        self.health.count_ingress(data.len() as u64);
        req.write_body(data).await.map_err(|e| {
            record_client_failure(&self.health, &e);
            client_error(&self.backend, &e)
        })
    }

    pub async fn finish(mut self) -> S3Result<String> {
        let req = self
            .req
            .take()
            .ok_or_else(|| S3Error::internal("finish twice"))?;
        let resp = req.finish().await;
        let status = resp.as_ref().map_or(TRANSPORT_ERROR, |r| r.status);
        crate::metrics::record_backend(&self.backend, self.op, status, self.started.elapsed());
        let resp = resp.map_err(|e| {
            record_client_failure(&self.health, &e);
            client_error(&self.backend, &e)
        })?;
        self.health.answered(resp.status);
        if resp.status != 200 {
            return Err(error_from_response(&self.backend, resp).await);
        }
        let etag = resp.header("etag").map(|e| unquote_etag(e).to_owned());
        resp.discard().await;
        etag.ok_or_else(|| {
            S3Error::backend(
                S3ErrorCode::InternalError,
                format!("backend {} answered without an ETag", self.backend),
            )
        })
    }

    pub fn abort(mut self) {
        if let Some(req) = self.req.take() {
            req.abort();
        }
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
