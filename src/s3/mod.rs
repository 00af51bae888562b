//! The S3 protocol: routing, authentication, payload decoding, errors and XML.
pub mod auth;
pub mod error;
pub mod payload;
pub mod router;
pub mod xml;
