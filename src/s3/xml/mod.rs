//! S3's XML: the response writer ([`write`]) and the one reader of the XML we receive ([`read`]:
//! entities, character references, CDATA, limits).
pub mod read;
pub mod write;

pub use read::{XmlError, XmlEvent, XmlReader, MAX_DEPTH, MAX_ELEMENTS};
pub use write::{
    civil_from_unix, error_body, escape_into, iso8601_ms, XmlWriter, S3_NS, XML_DECL,
};
