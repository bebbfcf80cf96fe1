//! `/api/v1/admin/tenant` (settings and branding) and `/api/v1/admin/audit` (the journal).

use axum::Router;
use axum::body::Bytes;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use serde::Deserialize;
use socle_tenants::{AssetKind, Locale, Permission, TenantPatch, ThemeTokens};

use crate::audit::{self, AuditPage, AuditQuery};
use crate::http::error::ApiResult;
use crate::http::extract::Api;
use crate::http::json::{Json, response};
use crate::http::state::AppState;
use crate::tenancy::branding::validate_image;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenant", get(show).patch(update))
        .route("/tenant/logo", put(|a, b| upload(a, b, AssetKind::Logo)))
        .route("/tenant/favicon", put(|a, b| upload(a, b, AssetKind::Favicon)))
        .route("/audit", get(audit))
        .route_layer(axum::middleware::from_fn(super::admin_messages::localize))
}

response!(
    #[doc = "The tenant's settings, with its theme as CSS variables and the brand colours that fall short of WCAG AA contrast (accepted, but worth changing: links then show a darker shade)."]
    TenantSettings<'a> { tenant: &'a socle_tenants::Tenant, css_variables: String, contrast_warnings: Vec<socle_tenants::ContrastWarning> }
);

fn tenant_json(tenant: &socle_tenants::Tenant) -> Json<TenantSettings<'_>> {
    Json(TenantSettings { tenant, css_variables: tenant.theme.css_variables(), contrast_warnings: tenant.theme.contrast_warnings() })
}

async fn show(Api { state, auth }: Api) -> ApiResult<Response> {
    auth.require(&state, Permission::Administrer).await?;
    Ok(tenant_json(&auth.tenant.tenant).into_response())
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

async fn update(Api { state, auth }: Api, Json(body): Json<UpdateRequest>) -> ApiResult<Response> {
    auth.require(&state, Permission::Administrer).await?;
    let patch = TenantPatch { name: body.name, plan: None, locale: body.locale, theme: body.theme, require_mfa_for_admins: body.require_mfa_for_admins };
    let tenant = state.tenants.update(auth.tenant.tenant.id, &patch, &auth.actor()).await?;
    state.resolver.changed(tenant.id, state.bus.as_ref()).await;
    Ok(tenant_json(&tenant).into_response())
}

response!(#[doc = "A stored logo or favicon."] Asset { kind: AssetKind, content_type: &'static str, sha256: String, bytes: usize });

async fn upload(Api { state, auth }: Api, body: Bytes, kind: AssetKind) -> ApiResult<Json<Asset>> {
    auth.require(&state, Permission::Administrer).await?;
    let content_type = validate_image(kind, &body)?;
    let tenant = auth.tenant.tenant.id;
    let sha256 = state.tenants.put_asset(tenant, kind, content_type, &body, &auth.actor()).await?;
    state.resolver.changed(tenant, state.bus.as_ref()).await;
    Ok(Json(Asset { kind, content_type, sha256, bytes: body.len() }))
}

async fn audit(Api { state, auth }: Api, Query(query): Query<AuditQuery>) -> ApiResult<Json<AuditPage>> {
    auth.require(&state, Permission::Administrer).await?;
    Ok(Json(audit::page(state.audit.as_ref(), auth.tenant.tenant.id, &query).await?))
}
