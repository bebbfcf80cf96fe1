//! The tenant admin console (`/admin`): branding with a live preview, users and roles, the
//! permission matrix, the marketplace (catalogue, listing, install / upgrade / rollback /
//! uninstall), the approval inbox, installed plugins with their settings and health, the journal.
//!
//! Pages read through the same domain functions as the JSON API (so what the console shows is
//! what the API answers) after the same permission check, and their forms submit to that API:
//! one code path per operation, with its validation and its error messages.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use socle_tenants::{Permission, UserType};

use super::shell::{UiUser, page, shell};
use crate::audit::{self, AuditQuery};
use crate::http::error::ApiError;
use crate::http::extract::{Authenticated, Tenant};
use crate::http::state::AppState;
use crate::marketplace::catalogue;
use crate::records;

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

/// Every console page is for administrators only, checked before anything is read.
async fn admin(state: &AppState, auth: &Authenticated) -> Result<(), ApiError> {
    auth.require(state, Permission::Administrer).await
}

async fn render(state: &AppState, auth: &Authenticated, section: &'static str, template: &str, data: Value) -> Result<Response, ApiError> {
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

fn json<T: Serialize>(value: T) -> Result<Value, ApiError> {
    Ok(serde_json::to_value(value).map_err(anyhow::Error::from)?)
}

async fn branding(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let fonts: Vec<Value> = socle_tenants::FontFamily::ALL.iter().map(|f| json!({ "key": f.as_str(), "stack": f.css_stack() })).collect();
    render(&state, &auth, "branding", "admin/branding.html", json!({ "tenant": auth.tenant.tenant, "fonts": fonts })).await
}

async fn users(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let tenant = auth.tenant.tenant.id;
    let (users, roles) = (state.accounts.members(tenant).await?, state.accounts.roles(tenant).await?);
    let locale = auth.locale();
    let types: Vec<Value> = UserType::ALL.iter().map(|t| json!({ "key": t.as_str(), "label": t.label(locale) })).collect();
    // The customer accounts a new client user can belong to (by name).
    let query = records::Query { sort: Some(records::Sort { field: "name".into(), desc: false }), limit: Some(500), ..records::Query::default() };
    let accounts: Vec<Value> = match state.records.query(&auth.caller(), "customer_account", &query).await {
        Ok(page) => page.items.iter().map(|r| json!({ "id": r.id, "name": r.data.get("name").and_then(Value::as_str).unwrap_or_default() })).collect(),
        Err(_) => Vec::new(),
    };
    let account_names: std::collections::HashMap<String, String> =
        accounts.iter().filter_map(|a| Some((a["id"].as_str()?.to_owned(), a["name"].as_str()?.to_owned()))).collect();
    let users: Vec<Value> = users
        .into_iter()
        .map(|m| {
            let account = m.user.account_id.map(|a| account_names.get(&a.to_string()).cloned().unwrap_or_default());
            json!({ "user": m.user, "roles": m.roles, "type_label": m.user.user_type.label(locale), "account": account })
        })
        .collect();
    render(&state, &auth, "users", "admin/users.html", json!({ "users": users, "roles": roles, "types": types, "accounts": accounts })).await
}

async fn roles(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let roles = state.accounts.roles(auth.tenant.tenant.id).await?;
    let lang = auth.locale();
    let permissions: Vec<Value> = Permission::ALL.iter().map(|p| json!({ "key": p.as_str(), "label": p.label(lang) })).collect();
    render(&state, &auth, "roles", "admin/roles.html", json!({ "roles": roles, "permissions": permissions })).await
}

async fn catalogue_page(State(state): State<AppState>, UiUser(auth): UiUser, Query(query): Query<catalogue::Query>) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    query.check()?;
    let echo = json!({ "q": query.q, "category": query.category, "price": query.price, "sort": query.sort, "min_rating": query.min_rating, "vertical": query.vertical });
    let plugins = state.marketplace.search_catalogue(&query).await?;
    let installed = state.plugins.installed_plugins(&auth.tenant.tenant).await?;
    render(&state, &auth, "marketplace", "admin/catalogue.html", json!({ "plugins": plugins, "query": echo, "installed": installed })).await
}

async fn listing(State(state): State<AppState>, UiUser(auth): UiUser, Path(plugin): Path<String>) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let listing = state.marketplace.listing(&plugin, Some(&auth.tenant.tenant)).await?.ok_or_else(|| ApiError::not_listed(&plugin))?;
    let installed = state.plugins.installed_plugins(&auth.tenant.tenant).await?.into_iter().find(|p| p.plugin == plugin);
    render(&state, &auth, "marketplace", "admin/listing.html", json!({ "listing": listing, "installed": installed })).await
}

async fn installed(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let tenant = &auth.tenant.tenant;
    let installed = state.plugins.installed_plugins(tenant).await?;
    let operations = state.marketplace.store().operations(tenant.id, 100).await?;
    let (_, lock) = state.marketplace.current_lock(tenant.id).await?;
    render(&state, &auth, "plugins", "admin/plugins.html", json!({ "plugins": installed, "operations": operations, "lock": lock.to_toml() })).await
}

async fn plugin(State(state): State<AppState>, UiUser(auth): UiUser, Path(plugin): Path<String>) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let detail = state.plugins.plugin_detail(&auth.tenant.tenant, &plugin).await?;
    render(&state, &auth, "plugins", "admin/plugin.html", json!({ "plugin": detail })).await
}

async fn approvals(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let approvals = state.marketplace.approval_inbox(&auth.tenant.tenant).await?;
    render(&state, &auth, "approvals", "admin/approvals.html", json!({ "approvals": approvals })).await
}

/// Updates, rollbacks and approvals waiting, newest first (also sent by mail).
async fn notifications(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let list = state.marketplace.store().notifications(auth.tenant.tenant.id, false, 200).await?;
    render(&state, &auth, "notifications", "admin/notifications.html", json!({ "notifications": list })).await
}

async fn audit(State(state): State<AppState>, UiUser(auth): UiUser, Query(query): Query<AuditQuery>) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let journal = audit::page(state.audit.as_ref(), auth.tenant.tenant.id, &query).await?;
    render(&state, &auth, "audit", "admin/audit.html", json(journal)?).await
}
