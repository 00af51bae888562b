//! Shared state, below the planes: the [`App`] every shard, the background plane and the control
//! plane read (config-derived indexes, catalog, backends, health), swappable by a reload through
//! [`AppHandle`]; placement and quota reservations ([`placement`], [`reservations`], per access key
//! [`inflight`]); the per-key write locks ([`keylock`]); the client listener's limits ([`limits`])
//! and certificate ([`tls`]); buckets whose data has no owner and the operator's decisions about
//! them ([`orphans`]).
//!
//! Nothing here runs a loop or owns a thread: the planes (`server`, `replication`, `admin`) call
//! into it.

pub mod app;
pub mod inflight;
pub mod keylock;
pub mod limits;
pub mod orphans;
pub mod placement;
pub mod reservations;
pub mod tls;

pub use app::{App, AppHandle, Credential, WriteSkip};
pub use limits::ServerLimits;
