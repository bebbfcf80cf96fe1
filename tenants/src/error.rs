use thiserror::Error;

/// One field that failed validation, with a message saying how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field (dotted path for nested values, e.g. `theme.primary`).
    pub field: String,
    /// What is wrong and what is expected, in plain words.
    pub message: String,
}

impl ValidationError {
    /// Builds a validation error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Errors from tenant stores.
#[derive(Debug, Error)]
pub enum TenantError {
    /// No tenant has this slug or id.
    #[error("tenant `{0}` does not exist")]
    NotFound(String),
    /// The slug is already used by another tenant.
    #[error("the slug `{0}` is already taken")]
    SlugTaken(String),
    /// The domain is already attached to a tenant.
    #[error("the domain `{0}` is already attached to a tenant")]
    DomainTaken(String),
    /// The input was invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The storage backend failed (connection lost, database down…).
    #[error("tenant storage failed: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}
