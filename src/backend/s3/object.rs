//! Object operations: PutObject (streamed), GetObject, HeadObject, DeleteObject.

use super::request::Outgoing;
use super::{S3Backend, S3Upload, EXPECT_CONTINUE_MIN_BYTES};
use crate::backend::transport::{BackendResponse, BodyLen};
use crate::backend::{BackendCtx, Integrity, ObjectMeta};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::range::ByteRange;

impl S3Backend {
    pub(crate) async fn begin_put(
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
        let out = Outgoing {
            method: "PUT",
            uri: &uri,
            query: &[],
            extra: &extra,
            payload_hash: &payload_hash,
            body: BodyLen::Length(size),
            expect_continue: size >= EXPECT_CONTINUE_MIN_BYTES,
        };
        self.begin_upload(ctx, "PutObject", out).await
    }

    pub(crate) async fn get(
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

    pub(crate) async fn head_size(&self, ctx: &BackendCtx<'_>, backend_key: &str) -> S3Result<u64> {
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

    pub(crate) async fn delete(&self, ctx: &BackendCtx<'_>, backend_key: &str) -> S3Result<()> {
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
}
