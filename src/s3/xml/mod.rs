//! S3's XML: the response writer ([`write`]).
pub mod write;

pub use write::{
    civil_from_unix, error_body, escape_into, iso8601_ms, XmlWriter, S3_NS, XML_DECL,
};
