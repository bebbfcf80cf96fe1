//! The JSON API (`/api/v1`): the current user, and the tenant administration endpoints. Session
//! cookie authentication for now (OAuth tokens come with the public API issue); unsafe methods
//! carry the session's CSRF token in `X-CSRF-Token`.

mod admin_jobs;
pub(crate) mod admin_messages;
pub(crate) mod admin_roles;
pub(crate) mod admin_tenant;
pub(crate) mod admin_users;
pub(crate) mod marketplace;
mod me;
pub(crate) mod partner_analytics;
pub(crate) mod partner_statements;
pub(crate) mod partners;
pub(crate) mod plugins;
pub(crate) mod records;
pub(crate) mod rollouts;

use axum::Router;

use crate::http::error::ApiError;
use crate::http::state::AppState;

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
