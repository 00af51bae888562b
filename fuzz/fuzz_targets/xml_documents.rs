//! The XML documents read through `s3::xml` (the one reader, `s3::xml::read`): the request
//! parsers (DeleteObjects, CompleteMultipartUpload) and the backend-answer parsers (Error,
//! UploadId, ETag results, ListParts, ListObjectsV2). None may panic on arbitrary bytes; beyond
//! that:
//! - the request parsers enforce their caps and part order, and what `XmlWriter` writes parses back
//!   unchanged (see `fuzz_parse_delete_document`, `fuzz_parse_complete_document`);
//! - the answer parsers read back exactly what `XmlWriter` wrote, control characters and
//!   carriage returns included (see `fuzz_parse_backend_answers`).
#![no_main]

use s3_orchestrator::s3::xml::{
    fuzz_parse_backend_answers, fuzz_parse_complete_document, fuzz_parse_delete_document,
};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fuzz_parse_delete_document(data);
    fuzz_parse_complete_document(data);
    fuzz_parse_backend_answers(data);
});
