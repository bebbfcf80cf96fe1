//! What a store can fail with ([`StoreError`]); the HTTP surfaces turn it into their own error
//! type (`http::error`).

use socle_tenants::{TenantError, ValidationError};

use crate::db;

/// What a store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist (in this tenant).
    #[error("{0}")]
    NotFound(String),
    /// The change conflicts with existing data (a duplicate, a stale version).
    #[error("{0}")]
    Conflict(String),
    /// The input is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database cannot be reached; the caller may retry later.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Anything else.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if db::is_unavailable(&err) { Self::Unavailable(err) } else { Self::Database(err) }
    }
}

/// Wraps a database error for the tenant store, whose error type lives in `socle-tenants`.
pub fn tenant_storage(err: sqlx::Error) -> TenantError {
    TenantError::Storage(Box::new(err))
}
