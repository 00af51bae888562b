//! The copy pump: one loop that streams an object from a backend read into a backend write,
//! used by client copies (CopyObject, UploadPartCopy across backends) and by the background
//! plane's replication and rebalancing copies.

use super::{ObjectStream, PutWriter};
use crate::s3::error::{S3Error, S3ErrorCode, S3Result};
use std::future::Future;

/// Buffer of one copy stream: the size backends' reads deliver at a time, so one read fills it.
pub const COPY_BUFFER_BYTES: usize = 64 * 1024;

/// Paces a copy: asked before each buffer is written, it waits as long as the copy must.
pub trait Pacer {
    /// Resolves once `n` more bytes may be written.
    fn take(&self, n: u64) -> impl Future<Output = ()>;
}

/// No pacing: client copies run at the speed the client waits for.
pub struct Unpaced;

impl Pacer for Unpaced {
    async fn take(&self, _n: u64) {}
}

/// Streams `size` bytes from `stream` into `writer`, computing the MD5 when the writer needs it
/// (a local backend).
/// `pacer` paces background copies (replication, rebalancing); client copies pass [`Unpaced`].
pub async fn pump(
    stream: &mut ObjectStream,
    mut writer: PutWriter,
    size: u64,
    pacer: &impl Pacer,
) -> S3Result<String> {
    use md5::Digest;
    let mut md5 = writer.needs_md5().then(md5::Md5::new);
    let mut buf = crate::util::bufpool::take(COPY_BUFFER_BYTES);
    let mut copied = 0u64;
    let result = loop {
        match stream.read(&mut buf).await {
            Ok(0) => break Ok(()),
            Ok(n) => {
                pacer.take(n as u64).await;
                if let Some(h) = md5.as_mut() {
                    h.update(&buf[..n]);
                }
                copied += n as u64;
                if let Err(e) = writer.write(&buf[..n]).await {
                    break Err(e);
                }
            }
            Err(e) => {
                break Err(S3Error::backend(
                    S3ErrorCode::ServiceUnavailable,
                    format!("reading the source failed: {e}"),
                ))
            }
        }
    };
    crate::util::bufpool::give(buf);
    if let Err(e) = result {
        writer.abort().await;
        return Err(e);
    }
    if copied != size {
        writer.abort().await;
        return Err(S3Error::backend(
            S3ErrorCode::ServiceUnavailable,
            "the source ended early",
        ));
    }
    writer.finish(md5.map(|h| h.finalize().into())).await
}
