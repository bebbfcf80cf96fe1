//! The tenant admin console (`/admin`): branding with a live preview, users and roles, the
//! permission matrix, the marketplace (catalogue, listing, install / upgrade / rollback /
//! uninstall), the approval inbox, installed plugins with their settings and health, the journal.
//!
//! Pages read through the same functions as the JSON API (so what the console shows is what the
//! API answers, permission checks included) and their forms submit to that API: one code path
//! per operation, with its validation and its error messages.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use socle_tenants::Permission;

use super::{UiUser, page, shell};
use crate::http::AppState;
use crate::http::api::{admin_roles, admin_tenant, admin_users, marketplace, plugins};
use crate::http::error::ApiError;
use crate::http::extract::{ApiUser, Authenticated, Tenant};
use crate::marketplace::catalogue;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|Tenant(t): Tenant| async move { Redirect::to(&t.link("/admin/marketplace")) }))
        .route("/admin/branding", get(branding))
        .route("/admin/users", get(users))
        .route("/admin/roles", get(roles))
        .route("/admin/marketplace", get(catalogue_page))
        .route("/admin/marketplace/{plugin}", get(listing))
        .route("/admin/plugins", get(installed))
        .route("/admin/plugins/{plugin}", get(plugin))
        .route("/admin/approvals", get(approvals))
        .route("/admin/audit", get(audit))
        .route("/admin/notifications", get(notifications))
}

/// A console page: its section (for the menu) and what it shows.
#[derive(Debug, Serialize)]
struct AdminPage {
    section: &'static str,
    sections: Vec<Section>,
    data: Value,
}

#[derive(Debug, Serialize)]
struct Section {
    key: &'static str,
    label: &'static str,
    href: String,
    badge: usize,
}

const SECTIONS: &[&str] = &["notifications", "marketplace", "plugins", "approvals", "branding", "users", "roles", "audit"];

async fn render(state: &AppState, auth: &Authenticated, section: &'static str, template: &str, data: Value) -> Result<Response, ApiError> {
    auth.require(state, Permission::Administrer).await?;
    let pending = state.marketplace.approval_inbox(&auth.tenant.tenant).await?.len();
    let unread = state.marketplace.store().notifications(auth.tenant.tenant.id, true, 1000).await?.len();
    let sections = SECTIONS
        .iter()
        .map(|key| Section {
            key,
            label: crate::i18n::text(auth.locale(), &format!("admin_{key}")),
            href: auth.tenant.link(&format!("/admin/{key}")),
            badge: match *key {
                "approvals" => pending,
                "notifications" => unread,
                _ => 0,
            },
        })
        .collect();
    let shell = shell(state, auth, "admin").await?;
    Ok(state.templates.render(template, page(auth, shell, AdminPage { section, sections, data })))
}

fn api(auth: &Authenticated) -> ApiUser {
    ApiUser(auth.clone())
}

async fn branding(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    let tenant = admin_tenant::show(State(state.clone()), api(&auth)).await?.0;
    let fonts: Vec<Value> = socle_tenants::FontFamily::ALL.iter().map(|f| json!({ "key": f.as_str(), "stack": f.css_stack() })).collect();
    render(&state, &auth, "branding", "admin/branding.html", json!({ "tenant": tenant["tenant"], "fonts": fonts })).await
}

async fn users(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    let users = admin_users::list(State(state.clone()), api(&auth)).await?.0;
    let roles = admin_roles::list(State(state.clone()), api(&auth)).await?.0;
    render(&state, &auth, "users", "admin/users.html", json!({ "users": users["users"], "roles": roles["roles"] })).await
}

async fn roles(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    let roles = admin_roles::list(State(state.clone()), api(&auth)).await?.0;
    let lang = auth.locale();
    let permissions: Vec<Value> = Permission::ALL.iter().map(|p| json!({ "key": p.as_str(), "label": p.label(lang) })).collect();
    render(&state, &auth, "roles", "admin/roles.html", json!({ "roles": roles["roles"], "permissions": permissions })).await
}

async fn catalogue_page(State(state): State<AppState>, UiUser(auth): UiUser, Query(query): Query<catalogue::Query>) -> Result<Response, ApiError> {
    let echo = json!({ "q": query.q, "category": query.category, "price": query.price, "sort": query.sort, "min_rating": query.min_rating, "vertical": query.vertical });
    let plugins = marketplace::search(State(state.clone()), api(&auth), Query(query)).await?.0;
    let installed = plugins::list(State(state.clone()), api(&auth)).await?.0;
    render(&state, &auth, "marketplace", "admin/catalogue.html", json!({ "plugins": plugins["plugins"], "query": echo, "installed": installed["plugins"] }))
        .await
}

async fn listing(State(state): State<AppState>, UiUser(auth): UiUser, Path(plugin): Path<String>) -> Result<Response, ApiError> {
    let listing = marketplace::listing(State(state.clone()), api(&auth), Path(plugin.clone())).await?.0;
    let installed = plugins::list(State(state.clone()), api(&auth)).await?.0;
    let current = installed["plugins"].as_array().and_then(|all| all.iter().find(|p| p["plugin"] == plugin.as_str()).cloned());
    render(&state, &auth, "marketplace", "admin/listing.html", json!({ "listing": listing, "installed": current })).await
}

async fn installed(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    let installed = plugins::list(State(state.clone()), api(&auth)).await?.0;
    let operations = marketplace::operations(State(state.clone()), api(&auth)).await?.0;
    let lock = marketplace::lock(State(state.clone()), api(&auth)).await?.0;
    render(
        &state,
        &auth,
        "plugins",
        "admin/plugins.html",
        json!({ "plugins": installed["plugins"], "operations": operations["operations"], "lock": lock["lock"] }),
    )
    .await
}

async fn plugin(State(state): State<AppState>, UiUser(auth): UiUser, Path(plugin): Path<String>) -> Result<Response, ApiError> {
    let detail = plugins::detail(State(state.clone()), api(&auth), Path(plugin)).await?.0;
    render(&state, &auth, "plugins", "admin/plugin.html", json!({ "plugin": detail })).await
}

async fn approvals(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    let inbox = marketplace::approvals(State(state.clone()), api(&auth)).await?.0;
    render(&state, &auth, "approvals", "admin/approvals.html", inbox).await
}

/// Updates, rollbacks and approvals waiting, newest first (also sent by mail).
async fn notifications(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    auth.require(&state, Permission::Administrer).await?;
    let list = state.marketplace.store().notifications(auth.tenant.tenant.id, false, 200).await?;
    render(&state, &auth, "notifications", "admin/notifications.html", json!({ "notifications": list })).await
}

async fn audit(State(state): State<AppState>, UiUser(auth): UiUser, Query(params): Query<admin_tenant::AuditParams>) -> Result<Response, ApiError> {
    let journal = admin_tenant::audit(State(state.clone()), api(&auth), Query(params)).await?.0;
    render(&state, &auth, "audit", "admin/audit.html", journal).await
}
