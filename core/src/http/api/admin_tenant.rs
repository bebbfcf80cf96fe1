//! `/api/v1/admin/tenant` (settings and branding) and `/api/v1/admin/audit` (the journal).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};
use socle_tenants::{AssetKind, Locale, Permission, TenantPatch, ThemeTokens};

use crate::audit::AuditQuery;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiUser, Authenticated};
use crate::http::json::Json;
use crate::tenancy::branding::validate_image;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenant", get(show).patch(update))
        .route("/tenant/logo", put(|s, u, b| upload(s, u, b, AssetKind::Logo)))
        .route("/tenant/favicon", put(|s, u, b| upload(s, u, b, AssetKind::Favicon)))
        .route("/audit", get(audit))
}

fn tenant_json(tenant: &socle_tenants::Tenant) -> Value {
    json!({ "tenant": tenant, "css_variables": tenant.theme.css_variables() })
}

pub(crate) async fn show(State(state): State<AppState>, ApiUser(auth): ApiUser) -> ApiResult<Json<Value>> {
    auth.require(&state, Permission::Administrer).await?;
    Ok(Json(tenant_json(&auth.tenant.tenant)))
}

/// What a tenant administrator may change (the plan and domains are the operator's).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    name: Option<String>,
    locale: Option<Locale>,
    theme: Option<ThemeTokens>,
    require_mfa_for_admins: Option<bool>,
}

async fn update(State(state): State<AppState>, ApiUser(auth): ApiUser, Json(body): Json<UpdateRequest>) -> ApiResult<Json<Value>> {
    auth.require(&state, Permission::Administrer).await?;
    let patch = TenantPatch { name: body.name, plan: None, locale: body.locale, theme: body.theme, require_mfa_for_admins: body.require_mfa_for_admins };
    let tenant = state.tenants.update(auth.tenant.tenant.id, &patch, &auth.actor()).await?;
    state.resolver.changed(tenant.id, state.bus.as_ref()).await;
    Ok(Json(tenant_json(&tenant)))
}

async fn upload(State(state): State<AppState>, ApiUser(auth): ApiUser, body: Bytes, kind: AssetKind) -> ApiResult<Json<Value>> {
    auth.require(&state, Permission::Administrer).await?;
    let content_type = validate_image(kind, &body)?;
    let tenant = auth.tenant.tenant.id;
    let sha256 = state.tenants.put_asset(tenant, kind, content_type, &body, &auth.actor()).await?;
    state.resolver.changed(tenant, state.bus.as_ref()).await;
    Ok(Json(json!({ "kind": kind, "content_type": content_type, "sha256": sha256, "bytes": body.len() })))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditParams {
    pub(crate) action: Option<String>,
    pub(crate) before: Option<i64>,
    pub(crate) limit: Option<u32>,
}

pub(crate) async fn audit(State(state): State<AppState>, ApiUser(auth): ApiUser, Query(params): Query<AuditParams>) -> ApiResult<Json<Value>> {
    require_audit(&state, &auth).await?;
    let query = AuditQuery { action_prefix: params.action, before_id: params.before, limit: params.limit.unwrap_or(50) };
    let entries = state.audit.list(auth.tenant.tenant.id, &query).await?;
    let next = entries.last().filter(|_| entries.len() as i64 == query.page_size()).map(|e| e.id);
    Ok(Json(json!({ "entries": entries, "next_before": next })))
}

async fn require_audit(state: &AppState, auth: &Authenticated) -> ApiResult<()> {
    auth.require(state, Permission::Administrer).await
}
