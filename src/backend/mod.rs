//! Backends: S3 providers reached through the per-shard HTTP transport ([`transport`], [`s3`]) and
//! local directories ([`local`]). [`Backend`] gives the orchestration layer one set of
//! operations over both; everything it streams goes through fixed buffers, never whole objects.

pub mod local;
pub mod meta;
pub mod naming;
pub mod pump;
pub mod s3;
pub mod transport;

pub use meta::ObjectMeta;
pub use naming::backend_key;

use crate::catalog::ObjectRecord;
use crate::http::RequestHead;
use crate::s3::auth::{PayloadSigning, SigningKeyCache, VerifiedRequest};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use crate::s3::range::ByteRange;
use std::cell::RefCell;

/// Per-thread resources a backend call needs (each shard and the background shard own one).
pub struct BackendCtx<'a> {
    pub pool: &'a transport::BackendPool,
    pub signing: &'a RefCell<SigningKeyCache>,
}

/// What the client sent to prove its body's integrity, passed on so the backend checks what it
/// stores: the signed SHA-256 becomes the backend request's payload hash, and `Content-MD5` /
/// `x-amz-checksum-*` headers are forwarded.
#[derive(Debug, Clone, Default)]
pub struct Integrity {
    pub sha256_hex: Option<String>,
    pub content_md5: Option<String>,
    pub checksum: Option<(String, String)>,
}

impl Integrity {
    pub fn from_request(head: &RequestHead, auth: &VerifiedRequest) -> Integrity {
        let sha256_hex = match auth.payload {
            PayloadSigning::Sha256(h) => Some(hex::encode(h)),
            _ => None,
        };
        let mut checksum = None;
        for (name, value) in head.headers() {
            let lower = name.to_ascii_lowercase();
            if crate::s3::payload::ChecksumAlgorithm::from_header_name(&lower).is_some() {
                if let Ok(v) = std::str::from_utf8(value) {
                    checksum = Some((lower, v.trim().to_owned()));
                }
            }
        }
        Integrity {
            sha256_hex,
            content_md5: head.header_str("content-md5").map(|s| s.trim().to_owned()),
            checksum,
        }
    }
}

pub enum BackendKind {
    S3(Box<s3::S3Backend>),
    Local(local::LocalBackend),
}

pub struct Backend {
    pub name: String,
    pub index: usize,
    pub kind: BackendKind,
}

/// An upload in progress to one backend.
pub enum PutWriter {
    S3(s3::S3Upload),
    Local(local::LocalWrite),
}

impl PutWriter {
    /// Whether [`PutWriter::finish`] needs the body's MD5: a local backend makes its ETag from it;
    /// an S3 backend computes its own.
    pub fn needs_md5(&self) -> bool {
        matches!(self, PutWriter::Local(_))
    }

    pub async fn write(&mut self, data: &[u8]) -> S3Result<()> {
        match self {
            PutWriter::S3(u) => u.write(data).await,
            PutWriter::Local(w) => w.write(data).await,
        }
    }

    /// Completes the upload; returns the stored copy's ETag (unquoted). `md5` is the verified
    /// body's MD5 when it was computed (the local backend's ETag).
    pub async fn finish(self, md5: Option<[u8; 16]>) -> S3Result<String> {
        match self {
            PutWriter::S3(u) => u.finish().await,
            PutWriter::Local(mut w) => {
                let md5 =
                    md5.ok_or_else(|| S3Error::internal("local upload finished without its MD5"))?;
                let (backend, op, started) = (std::mem::take(&mut w.backend), w.op, w.started);
                let r = w.commit(Some(md5)).await;
                record_local(&backend, op, started, &r);
                r?;
                Ok(hex::encode(md5))
            }
        }
    }

    /// Abandons the upload so nothing partial is ever committed.
    pub async fn abort(self) {
        match self {
            PutWriter::S3(u) => u.abort(),
            PutWriter::Local(w) => w.abort().await,
        }
    }
}

/// A response body streamed to the client (GetObject).
pub enum ObjectStream {
    Remote(transport::BackendResponse),
    Local(glommio::io::StreamReader),
}

impl ObjectStream {
    pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use futures_lite::AsyncReadExt;
        match self {
            ObjectStream::Remote(r) => r
                .read_body(buf)
                .await
                .map_err(|e| std::io::Error::other(e.to_string())),
            ObjectStream::Local(r) => r.read(buf).await,
        }
    }
}

/// One part of a multipart upload as a backend lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
    pub last_modified: Option<String>,
}

impl Backend {
    pub async fn begin_put(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        size: u64,
        meta: &ObjectMeta,
        integrity: &Integrity,
    ) -> S3Result<PutWriter> {
        match &self.kind {
            BackendKind::S3(b) => Ok(PutWriter::S3(
                b.begin_put(ctx, backend_key, size, meta, integrity).await?,
            )),
            BackendKind::Local(l) => Ok(PutWriter::Local(l.begin_write(backend_key).await?)),
        }
    }

    /// Opens the copy at `backend_key` for reading; checks that the stored copy has the size the
    /// catalog records, so a copy that a crashed overwrite left behind is never served.
    pub async fn get(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        range: Option<ByteRange>,
        rec: &ObjectRecord,
    ) -> S3Result<ObjectStream> {
        match &self.kind {
            BackendKind::S3(b) => Ok(ObjectStream::Remote(
                b.get(ctx, backend_key, range, rec.size).await?,
            )),
            BackendKind::Local(l) => {
                let started = std::time::Instant::now();
                let r = Self::open_local(l, backend_key, range, rec).await;
                record_local(&self.name, "GetObject", started, &r);
                r
            }
        }
    }

    async fn open_local(
        l: &local::LocalBackend,
        backend_key: &str,
        range: Option<ByteRange>,
        rec: &ObjectRecord,
    ) -> S3Result<ObjectStream> {
        match l.size_of(backend_key).await? {
            Some(n) if n == rec.size => {}
            Some(_) => {
                return Err(S3Error::backend(
                    S3ErrorCode::InternalError,
                    "local copy has the wrong size",
                ))
            }
            None => {
                return Err(S3Error::backend(
                    S3ErrorCode::NoSuchKey,
                    "local copy missing",
                ))
            }
        }
        let (start, end) = match range {
            Some(r) => (r.start, r.end + 1),
            None => (0, rec.size),
        };
        Ok(ObjectStream::Local(l.read(backend_key, start, end).await?))
    }

    pub async fn delete(&self, ctx: &BackendCtx<'_>, backend_key: &str) -> S3Result<()> {
        match &self.kind {
            BackendKind::S3(b) => b.delete(ctx, backend_key).await,
            BackendKind::Local(l) => {
                let started = std::time::Instant::now();
                let r = l.delete(backend_key).await;
                record_local(&self.name, "DeleteObject", started, &r);
                r
            }
        }
    }

    /// Server-side copy within this backend; returns the new copy's ETag.
    pub async fn copy_within(
        &self,
        ctx: &BackendCtx<'_>,
        src_key: &str,
        dst_key: &str,
        meta: &ObjectMeta,
    ) -> S3Result<String> {
        match &self.kind {
            BackendKind::S3(b) => b.copy_within(ctx, src_key, dst_key, meta).await,
            BackendKind::Local(l) => {
                let started = std::time::Instant::now();
                let r = l.copy(src_key, dst_key).await;
                record_local(&self.name, "CopyObject", started, &r);
                Ok(hex::encode(r?))
            }
        }
    }

    /// Starts a native multipart upload; returns the backend's upload id.
    pub async fn create_multipart(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        meta: &ObjectMeta,
        our_upload_id: &str,
    ) -> S3Result<String> {
        match &self.kind {
            BackendKind::S3(b) => b.create_multipart(ctx, backend_key, meta).await,
            BackendKind::Local(l) => {
                l.create_multipart(our_upload_id).await?;
                Ok(our_upload_id.to_owned())
            }
        }
    }

    pub async fn begin_part(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        backend_upload_id: &str,
        part_number: u32,
        size: u64,
        integrity: &Integrity,
    ) -> S3Result<PutWriter> {
        match &self.kind {
            BackendKind::S3(b) => Ok(PutWriter::S3(
                b.begin_part(
                    ctx,
                    backend_key,
                    backend_upload_id,
                    part_number,
                    size,
                    integrity,
                )
                .await?,
            )),
            BackendKind::Local(l) => Ok(PutWriter::Local(
                l.begin_part(backend_upload_id, part_number).await?,
            )),
        }
    }

    /// Completes the upload from the listed parts; returns (ETag, object size).
    pub async fn complete_multipart(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        backend_upload_id: &str,
        parts: &[(u32, String)],
    ) -> S3Result<(String, u64)> {
        match &self.kind {
            BackendKind::S3(b) => {
                let etag = b
                    .complete_multipart(ctx, backend_key, backend_upload_id, parts)
                    .await?;
                let size = b.head_size(ctx, backend_key).await?;
                Ok((etag, size))
            }
            BackendKind::Local(l) => {
                let started = std::time::Instant::now();
                let r = l
                    .complete_multipart(backend_upload_id, parts, backend_key)
                    .await;
                record_local(&self.name, "CompleteMultipartUpload", started, &r);
                let size = r?;
                Ok((local_multipart_etag(parts)?, size))
            }
        }
    }

    pub async fn abort_multipart(
        &self,
        ctx: &BackendCtx<'_>,
        backend_key: &str,
        backend_upload_id: &str,
    ) -> S3Result<()> {
        match &self.kind {
            BackendKind::S3(b) => b.abort_multipart(ctx, backend_key, backend_upload_id).await,
            BackendKind::Local(l) => l.abort_multipart(backend_upload_id).await,
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self.kind, BackendKind::Local(_))
    }
}

/// Records a local-directory operation: 200 on success, else the error's status (503 for I/O
/// failures, which count against the backend's health).
fn record_local<T>(backend: &str, op: &'static str, started: std::time::Instant, r: &S3Result<T>) {
    let status = r.as_ref().map_or_else(|e| e.status(), |_| 200);
    crate::metrics::record_backend(backend, op, status, started.elapsed());
}

/// S3's multipart ETag: MD5 of the concatenated binary part MD5s, then `-<part count>`.
pub fn local_multipart_etag(parts: &[(u32, String)]) -> S3Result<String> {
    use md5::Digest;
    let mut h = md5::Md5::new();
    for (_, etag) in parts {
        let raw = hex::decode(crate::s3::etag::unquote_etag(etag))
            .map_err(|_| S3Error::new(S3ErrorCode::InvalidPart))?;
        h.update(&raw);
    }
    Ok(format!("{}-{}", hex::encode(h.finalize()), parts.len()))
}
