//! Native multipart uploads at the provider: CreateMultipartUpload, UploadPart (streamed),
//! CompleteMultipartUpload, AbortMultipartUpload and ListParts. UploadPartCopy is in `copy`.

use super::request::Outgoing;
use super::{S3Backend, S3Upload, EXPECT_CONTINUE_MIN_BYTES};
use crate::backend::transport::BodyLen;
use crate::backend::{BackendCtx, Integrity, ObjectMeta, PartInfo};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::unquote_etag;
use crate::s3::xml;

impl S3Backend {
    pub(crate) async fn create_multipart(
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
        let body = self.read_xml(resp).await?;
        xml::parse_upload_id(&body).map_err(|e| {
            S3Error::backend(
                S3ErrorCode::InternalError,
                format!("backend answered CreateMultipartUpload without an UploadId: {e}"),
            )
        })
    }

    pub(crate) async fn begin_part(
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
        let out = Outgoing {
            method: "PUT",
            uri: &uri,
            query: &query,
            extra: &extra,
            payload_hash: &payload_hash,
            body: BodyLen::Length(size),
            expect_continue: size >= EXPECT_CONTINUE_MIN_BYTES,
        };
        self.begin_upload(ctx, "UploadPart", out).await
    }

    pub(crate) async fn complete_multipart(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> S3Result<String> {
        let uri = self.object_uri(backend_key);
        let doc = complete_document(parts);
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

    pub(crate) async fn abort_multipart(
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
    pub(crate) async fn list_parts(
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
        let body = self.read_xml(resp).await?;
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

/// The CompleteMultipartUpload request body: the parts in the given order, ETags quoted.
fn complete_document(parts: &[(u32, String)]) -> String {
    let mut doc = String::with_capacity(64 + parts.len() * 80);
    doc.push_str("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        doc.push_str("<Part><PartNumber>");
        doc.push_str(&n.to_string());
        doc.push_str("</PartNumber><ETag>\"");
        xml::escape_into(&mut doc, unquote_etag(etag));
        doc.push_str("\"</ETag></Part>");
    }
    doc.push_str("</CompleteMultipartUpload>");
    doc
}
