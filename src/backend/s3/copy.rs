//! Server-side copies within the backend: CopyObject and UploadPartCopy, whose ETag comes back
//! in an XML body (as CompleteMultipartUpload's does).

use super::S3Backend;
use crate::backend::transport::BackendResponse;
use crate::backend::{BackendCtx, ObjectMeta};
use crate::s3::auth::uri_encode;
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::etag::unquote_etag;
use crate::s3::range::ByteRange;
use crate::s3::xml::{self, EtagAnswer};

impl S3Backend {
    pub(crate) async fn copy_within(
        &self,
        ctx: &BackendCtx<'_>,
        src_key: &str,
        dst_key: &str,
        meta: &ObjectMeta,
    ) -> S3Result<String> {
        let uri = self.object_uri(dst_key);
        let mut extra = vec![
            self.copy_source(src_key),
            ("x-amz-metadata-directive".to_owned(), "REPLACE".to_owned()),
        ];
        Self::meta_headers(meta, &mut extra);
        let resp = self.simple(ctx, "PUT", &uri, &[], &extra, None).await?;
        self.etag_from_xml_answer(resp, "CopyObject").await
    }

    /// UploadPartCopy from another object of this backend.
    pub(crate) async fn upload_part_copy(
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
        let mut extra = vec![self.copy_source(src_key)];
        if let Some(r) = range {
            extra.push((
                "x-amz-copy-source-range".to_owned(),
                format!("bytes={}-{}", r.start, r.end),
            ));
        }
        let resp = self.simple(ctx, "PUT", &uri, &query, &extra, None).await?;
        self.etag_from_xml_answer(resp, "UploadPartCopy").await
    }

    /// The `x-amz-copy-source` header naming `src_key` in the provider-side bucket.
    fn copy_source(&self, src_key: &str) -> (String, String) {
        (
            "x-amz-copy-source".to_owned(),
            format!(
                "/{}/{}",
                uri_encode(&self.bucket, false),
                uri_encode(src_key, true)
            ),
        )
    }

    /// Reads an answer whose ETag is in the XML body (copies, completion); S3 may answer 200
    /// with an `<Error>` document for those.
    pub(super) async fn etag_from_xml_answer(
        &self,
        resp: BackendResponse,
        what: &str,
    ) -> S3Result<String> {
        if resp.status != 200 {
            return Err(self.error_from_response(resp).await);
        }
        let body = self.read_xml(resp).await?;
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
}
