//! Errors of catalog operations, the same for every store implementation.

use std::sync::Arc;

/// Errors of catalog operations. Small and cloneable: one storage failure is
/// reported to every request of a failed group commit.
#[derive(Debug, Clone)]
pub enum CatalogError {
    /// The storage engine failed (I/O, or poisoned after an earlier failure). The engine's own
    /// error is kept, as an opaque source, for logs.
    Storage(Arc<dyn std::error::Error + Send + Sync>),
    /// The store is gone (catalog shut down, or its writer failed).
    Closed,
    /// A stored record could not be decoded.
    Corrupt(&'static str),
    /// An argument exceeds a limit (e.g. a key longer than `MAX_OBJECT_KEY_LEN`).
    InvalidInput(&'static str),
}

impl CatalogError {
    /// A storage failure caused by `source`.
    pub(crate) fn storage(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        CatalogError::Storage(Arc::new(source))
    }
}

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogError::Storage(e) => write!(f, "catalog storage error: {e}"),
            CatalogError::Closed => f.write_str("catalog is closed"),
            CatalogError::Corrupt(what) => write!(f, "corrupt catalog record: {what}"),
            CatalogError::InvalidInput(what) => write!(f, "invalid catalog input: {what}"),
        }
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CatalogError::Storage(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// Result of catalog operations.
pub type Result<T> = std::result::Result<T, CatalogError>;
