use std::fmt;

use serde::Serialize;

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What to fix.
    pub message: String,
}

/// Why a host call failed.
///
/// ```
/// let err = socle_sdk::Error::Denied("records.write on helpdesk.ticket".into());
/// assert_eq!(err.to_string(), "denied: records.write on helpdesk.ticket");
/// assert!(!err.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The record, collection or key does not exist for this tenant.
    NotFound(String),
    /// The input does not fit the schema.
    Invalid(Vec<FieldError>),
    /// The record changed since it was read.
    Conflict(String),
    /// The capability was not declared in the manifest or not granted by the tenant.
    Denied(String),
    /// A filter hook refused the write.
    Vetoed(String),
    /// Something outside the plugin failed; retrying may help.
    Unavailable(String),
}

impl Error {
    /// Whether the same call may succeed later (conflicts and unavailability).
    ///
    /// ```
    /// assert!(socle_sdk::Error::Unavailable("timeout".into()).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Conflict(_) | Error::Unavailable(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound(m) => write!(f, "not found: {m}"),
            Error::Invalid(errors) => {
                let parts: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
                write!(f, "invalid: {}", parts.join("; "))
            }
            Error::Conflict(m) => write!(f, "conflict: {m}"),
            Error::Denied(m) => write!(f, "denied: {m}"),
            Error::Vetoed(m) => write!(f, "vetoed: {m}"),
            Error::Unavailable(m) => write!(f, "unavailable: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::bindings::socle::plugin::types::HostError> for Error {
    fn from(err: crate::bindings::socle::plugin::types::HostError) -> Self {
        use crate::bindings::socle::plugin::types::HostError as H;
        match err {
            H::NotFound(m) => Error::NotFound(m),
            H::Invalid(errors) => Error::Invalid(errors.into_iter().map(|e| FieldError { field: e.field, message: e.message }).collect()),
            H::Conflict(m) => Error::Conflict(m),
            H::Denied(m) => Error::Denied(m),
            H::Vetoed(m) => Error::Vetoed(m),
            H::Unavailable(m) => Error::Unavailable(m),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::Invalid(vec![FieldError { field: "data".into(), message: err.to_string() }])
    }
}
