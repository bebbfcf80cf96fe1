//! One HTTP error type: [`ApiError`] out of every handler, one JSON envelope with a stable machine
//! code per error, and the conversions from the domain's errors. Internal causes are logged, never
//! returned.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use socle_tenants::{TenantError, ValidationError};

use crate::db;
use crate::error::StoreError;

/// One error of the JSON envelope.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct Envelope<'a> {
    errors: Vec<ErrorBody<'a>>,
}

/// An HTTP error: a status, a stable machine code and a detail saying what to fix. Internal causes
/// are logged, never returned.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code, e.g. `tenant_not_found`.
    pub code: Cow<'static, str>,
    /// Human explanation.
    pub detail: String,
    /// The input field at fault, for validation errors.
    pub field: Option<String>,
    /// Seconds before retrying (429, 503).
    pub retry_after: Option<u64>,
    /// Further field errors reported with the first (validation of several fields).
    pub more: Vec<(String, String)>,
}

impl ApiError {
    /// An error with this status, code and detail.
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Self {
        Self { status, code: code.into(), detail: detail.into(), field: None, retry_after: None, more: Vec::new() }
    }

    /// 404.
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// 400 for a request that cannot be understood.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401: log in first.
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in to continue")
    }

    /// 403 for a missing permission.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 409.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 429 with `Retry-After`.
    pub fn too_many(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self { retry_after: Some(retry_after_secs.max(1)), ..Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", detail) }
    }

    /// 503 with `Retry-After`: the database (or Redis) is unreachable.
    pub fn unavailable() -> Self {
        Self { retry_after: Some(5), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", "a backing service is unavailable; retry shortly") }
    }

    /// The same error with another machine code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code.into();
        self
    }

    /// 500; the cause is logged with the request id, the client learns nothing of it.
    pub fn internal(err: &anyhow::Error) -> Self {
        tracing::error!(error = format!("{err:#}"), "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "something went wrong on our side; it has been logged")
    }
}

impl ApiError {
    /// 404 for a plugin the marketplace does not list.
    pub fn not_listed(plugin: &str) -> Self {
        Self::not_found("plugin_not_found", format!("no plugin `{plugin}` is listed in the marketplace"))
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        Self { field: Some(err.field.clone()), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", err.to_string()) }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(detail) => Self::not_found("not_found", detail),
            StoreError::Conflict(detail) => Self::conflict("conflict", detail),
            StoreError::Invalid(v) => v.into(),
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::unavailable()
            }
            StoreError::Database(e) => Self::internal(&anyhow::Error::new(e)),
            StoreError::Other(e) => Self::internal(&e),
        }
    }
}

impl From<TenantError> for ApiError {
    fn from(err: TenantError) -> Self {
        match err {
            TenantError::NotFound(slug) => Self::not_found("tenant_not_found", format!("tenant `{slug}` does not exist")),
            TenantError::SlugTaken(_) | TenantError::DomainTaken(_) => Self::conflict("conflict", err.to_string()),
            TenantError::Invalid(v) => v.into(),
            TenantError::Storage(source) => match source.downcast::<sqlx::Error>() {
                Ok(e) => StoreError::from(*e).into(),
                Err(other) => Self::internal(&anyhow::anyhow!(other)),
            },
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        if let Some(e) = err.downcast_ref::<sqlx::Error>().filter(|e| db::is_unavailable(e)) {
            tracing::warn!(error = %e, "database unavailable");
            return Self::unavailable();
        }
        Self::internal(&err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut errors = vec![ErrorBody { code: &self.code, detail: &self.detail, field: self.field.as_deref() }];
        errors.extend(self.more.iter().map(|(field, detail)| ErrorBody { code: &self.code, detail, field: Some(field) }));
        let body = Envelope { errors };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<crate::records::RecordError> for ApiError {
    fn from(err: crate::records::RecordError) -> Self {
        use crate::records::RecordError;
        match err {
            RecordError::NotFound(detail) => Self::not_found("not_found", detail),
            RecordError::Denied(detail) => Self::forbidden(detail),
            RecordError::Invalid(errors) => {
                let mut iter = errors.into_iter().map(|e| (e.field.clone(), format!("{}: {}", e.field, e.message)));
                let (field, detail) = iter.next().unwrap_or_else(|| ("data".into(), "invalid record".into()));
                Self { field: Some(field), more: iter.collect(), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail) }
            }
            e @ RecordError::Conflict { .. } => Self::conflict("version_conflict", e.to_string()),
            e @ RecordError::Vetoed { .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "vetoed", e.to_string()),
            RecordError::Store(e) => e.into(),
        }
    }
}

/// Result of an HTTP handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<crate::plugins::uses::UseError> for ApiError {
    fn from(err: crate::plugins::uses::UseError) -> Self {
        use crate::plugins::uses::UseError;
        match err {
            UseError::NotFound { what, message } => Self::not_found(
                match what {
                    "action" => "action_not_found",
                    "panel" => "panel_not_found",
                    _ => "plugin_not_found",
                },
                message,
            ),
            UseError::Invalid(invalid) => invalid.into(),
            UseError::Forbidden(message) => Self::forbidden(message),
            UseError::Records(err) => err.into(),
            UseError::Refused { plugin, reason } => {
                tracing::info!(plugin = %plugin, reason = %reason, "a plugin refused");
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "plugin_refused", reason)
            }
            UseError::Failed(err) => err.into(),
            UseError::Unexpected(message) => Self::new(StatusCode::BAD_GATEWAY, "plugin_failed", message),
            UseError::Platform(err) => err.into(),
        }
    }
}

/// A plugin that could not run: busy (try again later) or failed.
impl From<crate::plugins::PluginError> for ApiError {
    fn from(err: crate::plugins::PluginError) -> Self {
        if err.busy {
            return Self::new(StatusCode::TOO_MANY_REQUESTS, "plugin_busy", err.to_string());
        }
        Self::new(StatusCode::BAD_GATEWAY, "plugin_failed", err.to_string())
    }
}
