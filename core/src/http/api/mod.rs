//! The JSON API (`/api/v1`): the current user, and the tenant administration endpoints. Session
//! cookie authentication for now (OAuth tokens come with the public API issue); unsafe methods
//! carry the session's CSRF token in `X-CSRF-Token`.

mod admin_roles;
mod admin_tenant;
mod admin_users;
mod marketplace;
mod me;
mod partner_analytics;
mod partner_statements;
mod partners;
mod plugins;
mod records;
mod rollouts;
mod admin_jobs;

use axum::Router;
use uuid::Uuid;

use super::AppState;
use crate::error::ApiError;

/// The header `socle plugin publish` sends the package signature in.
pub fn partners_signature_header() -> &'static str {
    partners::SIGNATURE_HEADER
}

/// Routes under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(me::router())
        .merge(records::router())
        .merge(plugins::router())
        .merge(marketplace::router())
        .merge(partners::router())
        .merge(rollouts::router())
        .merge(partner_analytics::router())
        .merge(partner_statements::router())
        .nest("/admin", admin_users::router().merge(admin_roles::router()).merge(admin_tenant::router()).merge(admin_jobs::router()))
        .fallback(|| async { ApiError::not_found("route_not_found", "no API route matches this path and method") })
}

/// Operator routes of the marketplace (`/ops/marketplace/…`), served next to the console.
pub fn ops_router() -> Router<AppState> {
    rollouts::ops_router()
}

/// Parses an id from a path segment, with the envelope on failure.
pub fn parse_id(raw: &str, what: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("not_found", format!("{what} `{raw}` does not exist")))
}
