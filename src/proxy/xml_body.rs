//! Parsing a client's XML request body (DeleteObjects, CompleteMultipartUpload) without stalling
//! the shard: small documents are parsed in place, larger ones on the executor's blocking pool.
//!
//! The reader bounds nesting depth and element count (`s3::xml::MAX_DEPTH`, `MAX_ELEMENTS`) and
//! the handlers bound the document size, so no document costs more than a few milliseconds; but a
//! few milliseconds of one client's parse is a few milliseconds every other connection of the
//! shard waits (`benches/xml_parse.rs`: ~3 ms for 10 000 parts or a 2 MiB hostile body).

use crate::s3::error::S3Result;

/// Documents up to this size are parsed on the shard: at the reader's ~0.6 GB/s worst case that
/// is ~0.1 ms, less than the hand-off to another thread and back would cost in latency. Every
/// real DeleteObjects of short keys and CompleteMultipartUpload of up to ~500 parts fits.
pub const INLINE_PARSE_BYTES: usize = 64 * 1024;

/// `parse(doc)`, on the blocking pool when the document is larger than [`INLINE_PARSE_BYTES`].
pub async fn parse_xml_body<T: Send + 'static>(
    doc: Vec<u8>,
    parse: fn(&[u8]) -> S3Result<T>,
) -> S3Result<T> {
    if doc.len() <= INLINE_PARSE_BYTES {
        return parse(&doc);
    }
    glommio::executor()
        .spawn_blocking(move || parse(&doc))
        .await
}
