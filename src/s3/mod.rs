//! The S3 protocol: routing, authentication, payload decoding, errors, XML, ETags and ranges.
pub mod auth;
pub mod error;
pub mod etag;
pub mod payload;
pub mod range;
pub mod router;
pub mod xml;
