//! Small shared utilities, the bottom layer: every other module may use them.
pub mod bufpool;
pub mod clock;
pub mod shutdown;

pub use shutdown::Shutdown;
