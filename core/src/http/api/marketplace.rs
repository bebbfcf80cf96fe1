//! The marketplace for tenant administrators: the catalogue and listing pages, the plan of an
//! install before it happens, install / upgrade / rollback / uninstall of the resolved set, the
//! lockfile and operation journal, the approval inbox, reviews, and the data uninstalled plugins
//! left (kept for a grace period, downloadable as NDJSON).

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use socle_marketplace::resolve::Upgrade;
use socle_tenants::{Permission, PluginWant};

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Api, Authenticated};
use crate::http::json::{Json, response};
use crate::http::state::AppState;
use crate::marketplace::apply::Plan;
use crate::marketplace::apply::{self, ApplyError, Change, Target};
use crate::marketplace::approvals::Inbox;
use crate::marketplace::catalogue::{self, Listing, Summary};
use crate::marketplace::store::{Approval, Notification, Operation, Retention};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/marketplace/catalogue", get(search))
        .route("/admin/marketplace/plugins/{plugin}", get(listing))
        .route("/admin/marketplace/plugins/{plugin}/assets/{*path}", get(asset))
        .route("/admin/marketplace/plugins/{plugin}/reviews", post(review))
        .route("/admin/marketplace/plan", post(plan))
        .route("/admin/marketplace/install", post(install))
        .route("/admin/marketplace/upgrade", post(upgrade))
        .route("/admin/marketplace/uninstall", post(uninstall))
        .route("/admin/marketplace/rollback", post(rollback))
        .route("/admin/marketplace/lock", get(lock))
        .route("/admin/marketplace/operations", get(operations))
        .route("/admin/marketplace/retained", get(retained))
        .route("/admin/marketplace/retained/{id}/export", get(retained_export))
        .route("/admin/approvals", get(approvals))
        .route("/admin/notifications", get(notifications))
        .route("/admin/notifications/read", post(read_all))
        .route("/admin/notifications/{id}/read", post(read))
        .route("/admin/approvals/{id}/approve", post(approve))
        .route("/admin/approvals/{id}/reject", post(reject))
        .route_layer(axum::middleware::from_fn(super::admin_messages::localize))
}

async fn admin(state: &AppState, auth: &Authenticated) -> ApiResult<()> {
    auth.require(state, Permission::Administrer).await
}

fn applied(err: ApplyError) -> ApiError {
    match err {
        ApplyError::Unresolvable(message) => ApiError::new(StatusCode::CONFLICT, "unresolvable", message),
        ApplyError::Invalid(message) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_change", message),
        ApplyError::Busy(message) => ApiError::new(StatusCode::CONFLICT, "operation_in_progress", message),
        ApplyError::RolledBack(message) => ApiError::new(StatusCode::CONFLICT, "rolled_back", message),
        ApplyError::Platform(err) => err.into(),
    }
}

response!(#[doc = "Plugins of the catalogue."] Plugins { plugins: Vec<Summary> });

async fn search(Api { state, auth }: Api, Query(query): Query<catalogue::Query>) -> ApiResult<Json<Plugins>> {
    admin(&state, &auth).await?;
    query.check()?;
    Ok(Json(Plugins { plugins: state.marketplace.search_catalogue(&query).await? }))
}

async fn listing(Api { state, auth }: Api, Path(plugin): Path<String>) -> ApiResult<Json<Listing>> {
    admin(&state, &auth).await?;
    let listing = state.marketplace.listing(&plugin, Some(&auth.tenant.tenant)).await?.ok_or_else(|| ApiError::not_listed(&plugin))?;
    Ok(Json(listing))
}

async fn asset(Api { state, auth }: Api, Path((plugin, path)): Path<(String, String)>) -> ApiResult<Response> {
    admin(&state, &auth).await?;
    let (bytes, content_type) = state
        .marketplace
        .listing_asset(&plugin, &path)
        .await?
        .ok_or_else(|| ApiError::not_found("asset_not_found", format!("plugin `{plugin}` has no asset `{path}`")))?;
    // Partner content: an SVG must never run script on our origin.
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; sandbox"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        bytes,
    )
        .into_response())
}

/// What to install.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallRequest {
    plugin: String,
    /// Semver range (default: any).
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    beta: bool,
    /// Grant keys the administrator approves (default: every declared capability, as listed on
    /// the listing page and in the plan).
    #[serde(default)]
    grants: Option<BTreeSet<String>>,
    /// For a paid plugin: the administrator accepts its price.
    #[serde(default)]
    accept_price: bool,
}

fn install_change(wants: &mut apply::Wants, body: &InstallRequest) -> ApiResult<Change> {
    let version = match &body.version {
        None => semver::VersionReq::STAR,
        Some(raw) => raw.parse().map_err(|e| socle_tenants::ValidationError::new("version", format!("`{raw}` is not a semver range: {e}")))?,
    };
    let want = PluginWant { version, beta: body.beta, pin: None, grants: body.grants.clone(), subscribed: body.accept_price };
    wants.insert(body.plugin.clone(), want);
    Ok(Change {
        kind: "install",
        summary: format!("install {} {}", body.plugin, body.version.as_deref().unwrap_or("*")),
        target: Target::Resolve { wants: wants.clone(), upgrade: Upgrade::Only([body.plugin.clone()].into()), locked: None },
    })
}

/// What installing would do (plugins added, versions, capabilities), without doing it.
async fn plan(Api { state, auth }: Api, Json(body): Json<InstallRequest>) -> ApiResult<Json<Plan>> {
    admin(&state, &auth).await?;
    let mut wants = state.marketplace.wants(auth.tenant.tenant.id).await?;
    let change = install_change(&mut wants, &body)?;
    let plan = state.marketplace.plan(&auth.tenant.tenant, &change).await.map_err(applied)?;
    Ok(Json(plan))
}

response!(#[doc = "An applied change: the journal's operation and what it did."] Applied { operation: Operation, plan: Plan, #[doc = "For an uninstall: the data the removed plugins left, kept for a grace period."] #[serde(skip_serializing_if = "Option::is_none")] retained: Option<Vec<Retention>> });

async fn install(Api { state, auth }: Api, Json(body): Json<InstallRequest>) -> ApiResult<(StatusCode, Json<Applied>)> {
    admin(&state, &auth).await?;
    let mut wants = state.marketplace.wants(auth.tenant.tenant.id).await?;
    let change = install_change(&mut wants, &body)?;
    let (operation, plan) = state.marketplace.apply(&auth.tenant.tenant, &change, &auth.actor()).await.map_err(applied)?;
    Ok((StatusCode::CREATED, Json(Applied { operation, plan, retained: None })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpgradeRequest {
    /// Plugins to upgrade (default: all).
    #[serde(default)]
    plugins: Option<BTreeSet<String>>,
}

async fn upgrade(Api { state, auth }: Api, Json(body): Json<UpgradeRequest>) -> ApiResult<Json<Applied>> {
    admin(&state, &auth).await?;
    let wants = state.marketplace.wants(auth.tenant.tenant.id).await?;
    let (summary, upgrade) = match body.plugins {
        None => ("upgrade all".to_owned(), Upgrade::All),
        Some(plugins) => (format!("upgrade {}", plugins.iter().cloned().collect::<Vec<_>>().join(", ")), Upgrade::Only(plugins)),
    };
    let change = Change { kind: "upgrade", summary, target: Target::Resolve { wants, upgrade, locked: None } };
    let (operation, plan) = state.marketplace.apply(&auth.tenant.tenant, &change, &auth.actor()).await.map_err(applied)?;
    Ok(Json(Applied { operation, plan, retained: None }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UninstallRequest {
    plugin: String,
}

async fn uninstall(Api { state, auth }: Api, Json(body): Json<UninstallRequest>) -> ApiResult<Json<Applied>> {
    admin(&state, &auth).await?;
    let wants = state.marketplace.wants(auth.tenant.tenant.id).await?;
    let change = apply::uninstall_change(wants, &body.plugin).ok_or_else(|| {
        ApiError::not_found("plugin_not_installed", format!("plugin `{}` was not installed from the marketplace in this tenant", body.plugin))
    })?;
    let (operation, plan) = state.marketplace.apply(&auth.tenant.tenant, &change, &auth.actor()).await.map_err(applied)?;
    // What the removed plugins left: exported, downloadable until purged.
    let removed: BTreeSet<&str> = plan.steps.iter().filter(|s| s.action == "remove").map(|s| s.plugin.as_str()).collect();
    let retained: Vec<_> = state
        .marketplace
        .store()
        .retentions(auth.tenant.tenant.id)
        .await?
        .into_iter()
        .filter(|r| r.status == "kept" && removed.contains(r.plugin_id.as_str()))
        .collect();
    Ok(Json(Applied { operation, plan, retained: Some(retained) }))
}

response!(#[doc = "The data uninstalled plugins left in this tenant: kept, restored or purged. What uninstalled plugins left."] Retained { retained: Vec<Retention> });

async fn retained(Api { state, auth }: Api) -> ApiResult<Json<Retained>> {
    admin(&state, &auth).await?;
    Ok(Json(Retained { retained: state.marketplace.store().retentions(auth.tenant.tenant.id).await? }))
}

/// Downloads the NDJSON export of an uninstalled plugin's data, until it is purged.
async fn retained_export(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<Response> {
    admin(&state, &auth).await?;
    let tenant = &auth.tenant.tenant;
    let (retention, export) = state
        .marketplace
        .store()
        .retention_export(tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("export_not_found", format!("tenant {} has no export `{id}` of an uninstalled plugin's data", tenant.slug)))?;
    let export = export.ok_or_else(|| {
        ApiError::new(
            StatusCode::GONE,
            "export_purged",
            format!("the data of plugin {} in tenant {} was purged after its grace period; its export went with it", retention.plugin_id, tenant.slug),
        )
    })?;
    let filename = format!("{}-{}-{}.ndjson", tenant.slug, retention.plugin_id, retention.version);
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        export,
    )
        .into_response())
}

/// Back to the state before the last applied operation.
async fn rollback(Api { state, auth }: Api) -> ApiResult<Json<Applied>> {
    admin(&state, &auth).await?;
    let change = state.marketplace.rollback_change(auth.tenant.tenant.id).await.map_err(applied)?;
    let (operation, plan) = state.marketplace.apply(&auth.tenant.tenant, &change, &auth.actor()).await.map_err(applied)?;
    Ok(Json(Applied { operation, plan, retained: None }))
}

response!(
    #[doc = "What the tenant asked for and the lockfile it resolved to (TOML)."]
    Lock { wants: apply::Wants, lock: String }
);

async fn lock(Api { state, auth }: Api) -> ApiResult<Json<Lock>> {
    admin(&state, &auth).await?;
    let (wants, lock) = state.marketplace.current_lock(auth.tenant.tenant.id).await?;
    Ok(Json(Lock { wants, lock: lock.to_toml() }))
}

response!(#[doc = "The operation journal, newest first."] Operations { operations: Vec<Operation> });

async fn operations(Api { state, auth }: Api) -> ApiResult<Json<Operations>> {
    admin(&state, &auth).await?;
    Ok(Json(Operations { operations: state.marketplace.store().operations(auth.tenant.tenant.id, 100).await? }))
}

response!(#[doc = "The approval inbox."] Approvals { approvals: Vec<Inbox> });

async fn approvals(Api { state, auth }: Api) -> ApiResult<Json<Approvals>> {
    admin(&state, &auth).await?;
    Ok(Json(Approvals { approvals: state.marketplace.approval_inbox(&auth.tenant.tenant).await? }))
}

response!(
    #[doc = "A decided approval request."]
    Decided { approval: Approval }
);

async fn decide(state: &AppState, auth: &Authenticated, id: &str, approve: bool) -> ApiResult<Json<Decided>> {
    admin(state, auth).await?;
    match state.marketplace.decide_approval(&auth.tenant.tenant, id, approve, &auth.actor()).await {
        Ok(approval) => Ok(Json(Decided { approval })),
        Err(crate::marketplace::approvals::DecideError::NotFound(message)) => Err(ApiError::not_found("approval_not_found", message)),
        Err(crate::marketplace::approvals::DecideError::Stale(message)) => Err(ApiError::conflict("approval_stale", message)),
        Err(crate::marketplace::approvals::DecideError::Platform(err)) => Err(err.into()),
    }
}

async fn approve(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<Json<Decided>> {
    decide(&state, &auth, &id, true).await
}

async fn reject(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<Json<Decided>> {
    decide(&state, &auth, &id, false).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewRequest {
    stars: i64,
    title: String,
    body: String,
}

/// A review, from a tenant that installed the plugin; one per tenant (a new one replaces it).
async fn review(Api { state, auth }: Api, Path(plugin): Path<String>, Json(body): Json<ReviewRequest>) -> ApiResult<StatusCode> {
    admin(&state, &auth).await?;
    if !(1..=5).contains(&body.stars) {
        return Err(socle_tenants::ValidationError::new("stars", "give 1 to 5 stars").into());
    }
    if body.title.trim().is_empty() || body.title.len() > 120 {
        return Err(socle_tenants::ValidationError::new("title", "a title has 1 to 120 characters").into());
    }
    if body.body.len() > 5000 {
        return Err(socle_tenants::ValidationError::new("body", "a review has at most 5000 characters").into());
    }
    let tenant = auth.tenant.tenant.id;
    if !state.marketplace.store().ever_installed(tenant, &plugin).await? {
        return Err(ApiError::forbidden(format!("only tenants that installed `{plugin}` from the marketplace may review it")));
    }
    let now = state.now_ms();
    let previous = state.marketplace.store().reviews(&plugin).await?.into_iter().find(|r| r.tenant == tenant);
    state
        .marketplace
        .store()
        .put_review(&crate::marketplace::store::Review {
            plugin_id: plugin,
            tenant,
            stars: body.stars,
            title: body.title.trim().into(),
            body: body.body,
            reply: None,
            created_at: previous.map_or(now, |r| r.created_at),
            updated_at: now,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationsQuery {
    #[serde(default)]
    unread: bool,
}

response!(#[doc = "What the marketplace told this tenant's administrators: updates, approvals waiting, rollbacks; newest first. Notifications, and how many are unread."] Notifications { notifications: Vec<Notification>, unread: usize });

async fn notifications(Api { state, auth }: Api, Query(query): Query<NotificationsQuery>) -> ApiResult<Json<Notifications>> {
    admin(&state, &auth).await?;
    let tenant = auth.tenant.tenant.id;
    let unread = state.marketplace.store().notifications(tenant, true, 1000).await?.len();
    Ok(Json(Notifications { notifications: state.marketplace.store().notifications(tenant, query.unread, 200).await?, unread }))
}

async fn read(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin(&state, &auth).await?;
    let tenant = &auth.tenant.tenant;
    if !state.marketplace.store().mark_read(tenant.id, &id, state.now_ms()).await? {
        return Err(ApiError::not_found("notification_not_found", format!("tenant {} has no notification `{id}`", tenant.slug)));
    }
    Ok(StatusCode::NO_CONTENT)
}

response!(
    #[doc = "How many notifications were marked read."]
    Marked { marked: u64 }
);

async fn read_all(Api { state, auth }: Api) -> ApiResult<Json<Marked>> {
    admin(&state, &auth).await?;
    Ok(Json(Marked { marked: state.marketplace.store().mark_all_read(auth.tenant.tenant.id, state.now_ms()).await? }))
}
