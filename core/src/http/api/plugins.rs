//! Plugins over HTTP: their routes (`/api/v1/x/<plugin>/…`), panels (sanitised HTML) and
//! actions on records; and, for tenant administrators, the installed plugins with their health
//! (aggregated receipts), receipts and settings.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts as _, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use serde::Deserialize;
use serde_json::{Map, Value};
use socle_marketplace::schema::normalize_value;
use socle_tenants::Permission;

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Api, ApiUser, Authenticated};
use crate::http::json::{Json, response};
use crate::http::state::AppState;
use crate::plugins::grants::GrantState;
use crate::plugins::host::LoadedPlugin;
use crate::plugins::host::exports::socle::plugin::routes;
use crate::plugins::overview::{InstalledPlugin, PluginDetail};
use crate::plugins::store::Receipt;
use crate::plugins::{Call, Output};

/// Largest body a plugin route receives.
const MAX_ROUTE_BODY: usize = 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/x/{plugin}/panels/{panel}", get(panel))
        .route("/x/{plugin}/actions/{action}", post(action))
        .route("/x/{plugin}", any(route_root))
        .route("/x/{plugin}/{*path}", any(route))
        .merge(
            // The administration routes answer their errors in the asker's language; a plugin's
            // own routes answer what the plugin answers.
            Router::new()
                .route("/admin/plugins", get(list))
                .route("/admin/plugins/{plugin}", get(detail).delete(uninstall))
                .route("/admin/plugins/{plugin}/grants", put(set_grants))
                .route("/admin/plugins/{plugin}/receipts", get(receipts))
                .route("/admin/plugins/{plugin}/settings", put(set_settings))
                .route_layer(axum::middleware::from_fn(super::admin_messages::localize)),
        )
}

async fn installed(state: &AppState, tenant: &socle_tenants::Tenant, id: &str) -> ApiResult<Arc<LoadedPlugin>> {
    Ok(state.plugins.installed_plugin(tenant, id).await?)
}

async fn route_root(state: State<AppState>, Path(plugin): Path<String>, request: Request) -> ApiResult<Response> {
    dispatch(state, plugin, String::new(), request).await
}

async fn route(state: State<AppState>, Path((plugin, path)): Path<(String, String)>, request: Request) -> ApiResult<Response> {
    dispatch(state, plugin, path, request).await
}

/// Passes the request to the plugin. A session is optional (plugins may serve webhooks), but
/// when a session cookie is present, unsafe methods must carry its CSRF token as everywhere.
async fn dispatch(State(state): State<AppState>, plugin_id: String, path: String, request: Request) -> ApiResult<Response> {
    let (mut parts, body) = request.into_parts();
    let tenant = parts
        .extensions
        .get::<crate::tenancy::TenantContext>()
        .cloned()
        .ok_or_else(|| ApiError::not_found("tenant_not_found", "no tenant answers on this host"))?;
    let has_session = parts.headers.get(header::COOKIE).and_then(|c| c.to_str().ok()).is_some_and(|c| c.contains(crate::http::extract::SESSION_COOKIE));
    let user = if has_session { Some(ApiUser::from_request_parts(&mut parts, &state).await?.0) } else { None };
    let plugin = installed(&state, &tenant.tenant, &plugin_id).await?;
    let body = axum::body::to_bytes(body, MAX_ROUTE_BODY)
        .await
        .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "plugin routes take at most 1 MiB"))?;
    let headers = parts
        .headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "cookie" | "authorization" | "x-csrf-token"))
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.to_string(), v.to_owned())))
        .collect();
    let user_subject = user.as_ref().map(|u| format!("user:{}", u.user.id));
    let request = routes::Request {
        method: parts.method.to_string(),
        path: format!("/{path}"),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body: body.to_vec(),
        user: user_subject.clone(),
    };
    let output = state.plugins.call(&tenant.tenant, &plugin, Call::Route(request), user_subject).await?;
    let Output::Route(response) = output else {
        return Err(ApiError::new(StatusCode::BAD_GATEWAY, "plugin_failed", "the plugin's route answered something else"));
    };
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut out = (status, response.body).into_response();
    for (name, value) in response.headers {
        // Plugins cannot set cookies or weaken the page's security headers.
        let lower = name.to_ascii_lowercase();
        if matches!(lower.as_str(), "set-cookie" | "content-security-policy" | "x-frame-options" | "strict-transport-security" | "access-control-allow-origin")
        {
            continue;
        }
        if let (Ok(name), Ok(value)) = (header::HeaderName::from_bytes(lower.as_bytes()), HeaderValue::from_str(&value)) {
            out.headers_mut().insert(name, value);
        }
    }
    out.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    Ok(out)
}

#[derive(Debug, Deserialize)]
struct PanelParams {
    record: Option<String>,
}

/// A panel as a sanitised HTML fragment: no scripts, no event handlers, no `javascript:` links,
/// no styles; the portal themes it. A link to a record of the portal is written
/// `/c/<collection>/<id>` and becomes that record's address on the tenant's portal (`portal`
/// turns a portal path into the tenant's link); other relative links are dropped.
pub fn sanitize_panel(html: &str, portal: impl Fn(&str) -> String + Send + Sync + 'static) -> String {
    // Spelled out so the closure is general over the URL's lifetime, as ammonia asks.
    fn general<F: for<'u> Fn(&'u str) -> Option<std::borrow::Cow<'u, str>>>(f: F) -> F {
        f
    }
    let rewrite = general(move |url: &str| {
        let path = url.strip_prefix("/c/")?;
        let safe = !path.is_empty() && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b'?' | b'=' | b'&'));
        safe.then(|| std::borrow::Cow::Owned(portal(url)))
    });
    ammonia::Builder::default()
        .add_generic_attributes(["class"])
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(HashSet::from(["https", "http", "mailto", "tel"]))
        .url_relative(ammonia::UrlRelative::Custom(Box::new(rewrite)))
        .clean(html)
        .to_string()
}

async fn panel(Api { state, auth }: Api, Path((plugin_id, panel)): Path<(String, String)>, Query(params): Query<PanelParams>) -> ApiResult<Response> {
    let html = state.plugins.render_panel(&auth.tenant.tenant, &auth.caller(), &plugin_id, &panel, params.record.as_deref()).await?;
    // Times the plugin wrote as `{{time:…}}` / `{{date:…}}` read in the tenant's local time and the
    // reader's language (a panel holding a malformed one is shown as written).
    let zone = crate::mail::local_time::TimeZone::of(&auth.tenant.tenant);
    let html = crate::mail::local_time::expand(&html, zone, auth.locale()).unwrap_or(html);
    let tenant = auth.tenant.clone();
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], sanitize_panel(&html, move |path| tenant.link(path))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionRequest {
    ids: Vec<String>,
    #[serde(default)]
    params: Map<String, Value>,
}

response!(
    #[doc = "What a plugin action answered."]
    ActionResponse { result: Value }
);

/// Runs a plugin action on records the user may update.
async fn action(
    Api { state, auth }: Api,
    Path((plugin_id, action)): Path<(String, String)>,
    Json(body): Json<ActionRequest>,
) -> ApiResult<Json<ActionResponse>> {
    let result = state.plugins.run_action(&auth.tenant.tenant, &auth.caller(), &plugin_id, &action, body.ids, &body.params).await?;
    Ok(Json(ActionResponse { result }))
}

async fn admin(state: &AppState, auth: &Authenticated) -> ApiResult<()> {
    auth.require(state, Permission::Administrer).await
}

response!(#[doc = "The installed plugins."] PluginList { plugins: Vec<InstalledPlugin> });

/// Installed plugins with their health over the last 24 hours.
async fn list(Api { state, auth }: Api) -> ApiResult<Json<PluginList>> {
    admin(&state, &auth).await?;
    Ok(Json(PluginList { plugins: state.plugins.installed_plugins(&auth.tenant.tenant).await? }))
}

/// One installed plugin: what it declares, what the tenant granted, its settings (secrets only
/// say whether they are set) and its health.
async fn detail(Api { state, auth }: Api, Path(plugin_id): Path<String>) -> ApiResult<Json<PluginDetail>> {
    admin(&state, &auth).await?;
    Ok(Json(state.plugins.plugin_detail(&auth.tenant.tenant, &plugin_id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantsRequest {
    granted: std::collections::BTreeSet<String>,
}

response!(#[doc = "A plugin's declared grants and which of them the tenant granted."] Grants { grants: Vec<GrantState> });

/// Replaces what the tenant grants a plugin (keys from the plugin's `grants`).
async fn set_grants(Api { state, auth }: Api, Path(plugin_id): Path<String>, Json(body): Json<GrantsRequest>) -> ApiResult<Json<Grants>> {
    admin(&state, &auth).await?;
    let plugin = installed(&state, &auth.tenant.tenant, &plugin_id).await?;
    match state.plugins.set_grants(auth.tenant.tenant.id, &plugin.manifest, &body.granted, &auth.actor()).await {
        Ok(grants) => Ok(Json(Grants { grants })),
        Err(crate::plugins::grants::SetGrantsError::Unknown(message)) => Err(socle_tenants::ValidationError::new("granted", message).into()),
        Err(crate::plugins::grants::SetGrantsError::Platform(err)) => Err(err.into()),
    }
}

/// Uninstalls a plugin; its records stay, out of reach until it is installed again.
async fn uninstall(Api { state, auth }: Api, Path(plugin_id): Path<String>) -> ApiResult<StatusCode> {
    admin(&state, &auth).await?;
    installed(&state, &auth.tenant.tenant, &plugin_id).await?;
    // Installed from the marketplace: uninstall through the tenant's lockfile, so the lock and
    // the installations never disagree.
    let wants = state.marketplace.wants(auth.tenant.tenant.id).await?;
    if let Some(change) = crate::marketplace::apply::uninstall_change(wants, &plugin_id) {
        return match state.marketplace.apply(&auth.tenant.tenant, &change, &auth.actor()).await {
            Ok(_) => Ok(StatusCode::NO_CONTENT),
            Err(crate::marketplace::ApplyError::Platform(err)) => Err(err.into()),
            Err(err) => Err(ApiError::new(StatusCode::CONFLICT, "uninstall_refused", err.to_string())),
        };
    }
    match state.marketplace.uninstall_component(&auth.tenant.tenant, &plugin_id, &auth.actor()).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(crate::plugins::install::InstallError::Platform(err)) => Err(err.into()),
        Err(err) => Err(ApiError::new(StatusCode::CONFLICT, "uninstall_refused", err.to_string())),
    }
}

response!(#[doc = "A plugin's latest receipts in this tenant, newest first."] Receipts { receipts: Vec<Receipt> });

async fn receipts(Api { state, auth }: Api, Path(plugin): Path<String>) -> ApiResult<Json<Receipts>> {
    admin(&state, &auth).await?;
    installed(&state, &auth.tenant.tenant, &plugin).await?;
    state.plugins.flush_receipts().await;
    let receipts = state.plugins.store().receipts(auth.tenant.tenant.id, &plugin, 200).await?;
    Ok(Json(Receipts { receipts }))
}

response!(#[doc = "The settings just stored, secrets masked."] Settings { settings: Map<String, Value> });

/// Sets settings, checked against the plugin's settings schema; secrets are never echoed.
async fn set_settings(Api { state, auth }: Api, Path(plugin_id): Path<String>, body: Bytes) -> ApiResult<Json<Settings>> {
    admin(&state, &auth).await?;
    let values: BTreeMap<String, Value> =
        serde_json::from_slice(&body).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", e.to_string()))?;
    let plugin = installed(&state, &auth.tenant.tenant, &plugin_id).await?;
    let mut checked = Vec::new();
    for (key, value) in values {
        let setting = plugin
            .manifest
            .settings
            .iter()
            .find(|s| s.field.name == key)
            .ok_or_else(|| socle_tenants::ValidationError::new(key.clone(), format!("{} has no setting `{key}`", plugin.label())))?;
        let normalized = normalize_value(&setting.field, &value).map_err(|m| socle_tenants::ValidationError::new(key.clone(), m))?;
        checked.push((key, normalized, setting.secret));
    }
    let actor = auth.actor();
    for (key, value, secret) in &checked {
        state.plugins.store().set_setting(auth.tenant.tenant.id, &plugin_id, key, value, *secret, &actor).await?;
    }
    let settings = checked.into_iter().map(|(k, v, secret)| (k, if secret { Value::String("••••••".into()) } else { v })).collect();
    Ok(Json(Settings { settings }))
}
