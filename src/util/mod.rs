//! Small shared utilities.
pub mod bufpool;
