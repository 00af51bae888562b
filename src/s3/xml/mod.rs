//! S3's XML: the response writer ([`mod@write`]), the one reader of the XML we receive ([`read`]:
//! entities, character references, CDATA, limits) and the S3 documents parsed with it
//! ([`documents`]: DeleteObjects and CompleteMultipartUpload request bodies, backends' answers).
pub mod documents;
pub mod read;
pub mod write;

pub use documents::{
    fuzz_parse_backend_answers, fuzz_parse_complete_document, fuzz_parse_delete_document,
    parse_complete_multipart_upload, parse_delete_request, parse_error, parse_etag_answer,
    parse_list_objects_v2, parse_list_parts, parse_upload_id, CompletedPart, DeleteRequest,
    ErrorDocument, EtagAnswer, ListObjectsPage, ListPartsPage, ListedObject, ListedPart,
    ObjectToDelete, MAX_DELETE_KEYS, MAX_PART_NUMBER,
};
pub use read::{XmlError, XmlEvent, XmlReader, MAX_DEPTH, MAX_ELEMENTS};
pub use write::{civil_from_unix, error_body, escape_into, iso8601_ms, XmlWriter, S3_NS, XML_DECL};
