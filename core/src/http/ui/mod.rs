//! The portal's screens for end users and the tenant admin: server-rendered HTML that works
//! without JavaScript, enhanced by htmx (served from `/static`, no CDN) so the list stays in
//! place while panels open, fields save themselves and mass actions run.
//!
//! Every handler authenticates with [`shell::UiUser`], asks the records engine (which applies the
//! caller's permissions) for what to show, and renders a template; fields the user may not read
//! never reach the template, so they cannot reach the HTML.

pub mod admin;
pub mod fields;
pub mod form;
pub mod navigation;
pub mod partners;
pub mod profile;
pub mod records;
pub mod search;
pub mod shell;

use axum::Router;

use crate::http::state::AppState;

/// Routes of the portal screens.
pub fn router() -> Router<AppState> {
    Router::new().merge(records::router()).merge(search::router()).merge(admin::router()).merge(partners::router()).merge(profile::router())
}
