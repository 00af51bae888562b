//! A PUT (object or part) whose body is streamed to the provider as the client's arrives.

use super::errors::record_client_failure;
use super::request::Outgoing;
use super::{client_error, error_from_response, S3Backend};
use crate::backend::transport::RequestInFlight;
use crate::backend::BackendCtx;
use crate::health::BackendHealth;
use crate::metrics::TRANSPORT_ERROR;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::unquote_etag;
use std::sync::Arc;

/// A PUT (object or part) streaming to an S3 backend.
pub struct S3Upload {
    backend: String,
    req: Option<RequestInFlight>,
    /// For metrics: `PutObject` or `UploadPart`, and when the request was started.
    op: &'static str,
    started: std::time::Instant,
    health: Arc<BackendHealth>,
}

impl S3Backend {
    /// Opens the streamed PUT `out` describes; `op` names it in the metrics (`PutObject` or
    /// `UploadPart`). A refusal before the body is recorded here, the answer by
    /// [`S3Upload::finish`].
    pub(super) async fn begin_upload(
        &self,
        ctx: &BackendCtx<'_>,
        op: &'static str,
        out: Outgoing<'_>,
    ) -> S3Result<S3Upload> {
        let started = std::time::Instant::now();
        let req = self
            .start(ctx, out)
            .await
            .inspect_err(|_| self.record_refused(op, started))?;
        Ok(S3Upload {
            backend: self.name.clone(),
            req: Some(req),
            op,
            started,
            health: self.health.clone(),
        })
    }
}

impl S3Upload {
    pub(crate) async fn write(&mut self, data: &[u8]) -> S3Result<()> {
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

    pub(crate) async fn finish(mut self) -> S3Result<String> {
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

    pub(crate) fn abort(mut self) {
        if let Some(req) = self.req.take() {
            req.abort();
        }
    }
}
