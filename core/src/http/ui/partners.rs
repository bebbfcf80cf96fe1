//! The partner console (`/partners`, platform host): a publisher logs in with one of its API
//! tokens, then manages its profile, signing keys and tokens, submits packages and reads each
//! submission's validation report, yanks, unyanks and deprecates. The pages read through the
//! marketplace's publisher functions, as the partner API does, and their forms call that API.
//!
//! The session is the token itself in an HttpOnly, SameSite=Strict cookie; every change also
//! carries a CSRF token that must match a second cookie (double submit).

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_tenants::Locale;

use crate::http::error::ApiError;
use crate::http::extract::CSRF_HEADER;
use crate::http::pages::{Brand, Page};
use crate::http::partner::{CSRF_COOKIE, TOKEN_COOKIE};
use crate::http::state::AppState;
use crate::identity::secrets::{constant_time_eq, random_token};
use crate::marketplace::{analytics, billing};
use crate::tenancy::TenantContext;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partners", get(overview))
        .route("/partners/packages", get(packages))
        .route("/partners/analytics/{plugin}", get(analytics))
        .route("/partners/statements", get(statements))
        .route("/partners/login", get(login_page).post(login))
        .route("/partners/logout", post(logout))
}

fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value)).path("/").http_only(true).same_site(SameSite::Strict).secure(state.settings.secure_cookies()).build()
}

fn platform_only(headers_tenant: Option<&TenantContext>) -> Result<(), ApiError> {
    match headers_tenant {
        Some(_) => Err(ApiError::not_found("route_not_found", "the partner console is only served on the platform host")),
        None => Ok(()),
    }
}

fn csrf_of(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(CSRF_COOKIE).map(|c| c.value().to_owned()) {
        Some(token) if token.len() >= 32 => (jar, token),
        _ => {
            let token = random_token();
            (jar.add(cookie(state, CSRF_COOKIE, token.clone())), token)
        }
    }
}

#[derive(Debug, Serialize)]
struct ConsoleData {
    user: Option<Value>,
    section: &'static str,
    data: Value,
    error: Option<String>,
}

fn brand() -> Brand {
    let mut brand = Brand::platform();
    brand.name = "Socle Partenaires".into();
    brand.base = "/partners".into();
    brand.home_url = "/partners".into();
    brand
}

fn render(state: &AppState, csrf: String, data: ConsoleData, template: &str) -> Response {
    state.templates.render(template, Page::new(Locale::Fr, brand(), csrf, data))
}

/// The logged-in publisher, or a redirect to the login page.
async fn session(state: &AppState, jar: &CookieJar) -> Result<crate::marketplace::store::Publisher, Response> {
    let to_login = || Redirect::to("/partners/login").into_response();
    let token = jar.get(TOKEN_COOKIE).map(|c| c.value().to_owned()).ok_or_else(to_login)?;
    match state.marketplace.authenticate_publisher(&token).await {
        Ok(Some(publisher)) => Ok(publisher),
        Ok(None) => Err(to_login()),
        Err(err) => Err(ApiError::from(anyhow::anyhow!("{err}")).into_response()),
    }
}

async fn overview(State(state): State<AppState>, jar: CookieJar, tenant: Option<axum::Extension<TenantContext>>) -> Result<Response, Response> {
    platform_only(tenant.as_deref()).map_err(IntoResponse::into_response)?;
    let publisher = session(&state, &jar).await?;
    let me = state.marketplace.publisher_account(&publisher).await.map_err(|e| ApiError::from(e).into_response())?;
    let me = serde_json::to_value(me).map_err(|e| ApiError::from(anyhow::Error::from(e)).into_response())?;
    let (jar, csrf) = csrf_of(&state, jar);
    let user = serde_json::json!({ "display_name": publisher.name });
    Ok((jar, render(&state, csrf, ConsoleData { user: Some(user), section: "overview", data: me, error: None }, "partners/overview.html")).into_response())
}

async fn packages(State(state): State<AppState>, jar: CookieJar, tenant: Option<axum::Extension<TenantContext>>) -> Result<Response, Response> {
    platform_only(tenant.as_deref()).map_err(IntoResponse::into_response)?;
    let publisher = session(&state, &jar).await?;
    let versions = state.marketplace.published_versions(&publisher).await.map_err(|e| ApiError::from(e).into_response())?;
    let versions = serde_json::json!({ "versions": versions });
    let (jar, csrf) = csrf_of(&state, jar);
    let user = serde_json::json!({ "display_name": publisher.name });
    Ok((jar, render(&state, csrf, ConsoleData { user: Some(user), section: "packages", data: versions, error: None }, "partners/packages.html"))
        .into_response())
}

async fn analytics(
    State(state): State<AppState>,
    jar: CookieJar,
    tenant: Option<axum::Extension<TenantContext>>,
    axum::extract::Path(plugin): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<DaysQuery>,
) -> Result<Response, Response> {
    platform_only(tenant.as_deref()).map_err(IntoResponse::into_response)?;
    let publisher = session(&state, &jar).await?;
    let failed = |e: ApiError| e.into_response();
    if !state.marketplace.publishes(&publisher, &plugin).await.map_err(|e| failed(e.into()))? {
        return Err(failed(ApiError::not_found("plugin_not_found", format!("publisher {} has no plugin `{plugin}`", publisher.id))));
    }
    let days = analytics::period_days(query.days).map_err(|e| failed(e.into()))?;
    let analytics = state.marketplace.plugin_analytics(&plugin, days).await.map_err(|e| failed(e.into()))?;
    let rollouts = state.marketplace.store().rollouts(Some(&plugin)).await.map_err(|e| failed(e.into()))?;
    let mut data = serde_json::json!({ "analytics": analytics, "rollouts": rollouts });
    data["chart"] = chart(&data["analytics"]["daily"]);
    let (jar, csrf) = csrf_of(&state, jar);
    let user = serde_json::json!({ "display_name": publisher.name });
    Ok((jar, render(&state, csrf, ConsoleData { user: Some(user), section: "packages", data, error: None }, "partners/analytics.html")).into_response())
}

/// Bars of daily installs (up) and uninstalls (down), as SVG coordinates: drawn on the server,
/// no chart library, readable without JavaScript.
fn chart(daily: &Value) -> Value {
    let days = daily.as_array().cloned().unwrap_or_default();
    let max = days.iter().flat_map(|d| [d["installs"].as_i64().unwrap_or(0), d["uninstalls"].as_i64().unwrap_or(0)]).max().unwrap_or(0).max(1);
    let width = 8.0;
    let bars: Vec<Value> = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let installs = d["installs"].as_i64().unwrap_or(0);
            let uninstalls = d["uninstalls"].as_i64().unwrap_or(0);
            let up = 50.0 * installs as f64 / max as f64;
            let down = 50.0 * uninstalls as f64 / max as f64;
            serde_json::json!({ "x": i as f64 * (width + 2.0), "up_y": 55.0 - up, "up_h": up, "down_h": down, "date": d["date"], "installs": installs, "uninstalls": uninstalls })
        })
        .collect();
    serde_json::json!({ "bars": bars, "width": (days.len().max(1) as f64) * (width + 2.0), "max": max })
}

#[derive(Deserialize)]
struct DaysQuery {
    #[serde(default)]
    days: Option<u32>,
}

#[derive(Deserialize)]
struct PeriodQuery {
    period: Option<String>,
}

async fn statements(
    State(state): State<AppState>,
    jar: CookieJar,
    tenant: Option<axum::Extension<TenantContext>>,
    axum::extract::Query(query): axum::extract::Query<PeriodQuery>,
) -> Result<Response, Response> {
    platform_only(tenant.as_deref()).map_err(IntoResponse::into_response)?;
    let publisher = session(&state, &jar).await?;
    // Default: the last complete month.
    let period = query.period.filter(|p| !p.is_empty()).unwrap_or_else(|| {
        let now = time::OffsetDateTime::from_unix_timestamp(state.now_ms() / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let (year, month) = if u8::from(now.month()) == 1 { (now.year() - 1, 12) } else { (now.year(), u8::from(now.month()) - 1) };
        format!("{year:04}-{month:02}")
    });
    let (statement, error) = match billing::check_period(&period) {
        Ok(()) => (Some(state.marketplace.statement(&publisher.id, &period).await.map_err(|e| ApiError::from(e).into_response())?), None),
        Err(_) => (None, Some(format!("« {period} » n'est pas un mois : écrivez AAAA-MM, par exemple 2026-11."))),
    };
    let data = serde_json::json!({ "period": period, "statement": statement });
    let (jar, csrf) = csrf_of(&state, jar);
    let user = serde_json::json!({ "display_name": publisher.name });
    Ok((jar, render(&state, csrf, ConsoleData { user: Some(user), section: "statements", data, error }, "partners/statements.html")).into_response())
}

async fn login_page(State(state): State<AppState>, jar: CookieJar, tenant: Option<axum::Extension<TenantContext>>) -> Result<Response, ApiError> {
    platform_only(tenant.as_deref())?;
    let (jar, csrf) = csrf_of(&state, jar);
    Ok((jar, render(&state, csrf, ConsoleData { user: None, section: "login", data: Value::Null, error: None }, "partners/login.html")).into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    tenant: Option<axum::Extension<TenantContext>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    platform_only(tenant.as_deref())?;
    if !jar.get(CSRF_COOKIE).is_some_and(|c| constant_time_eq(c.value(), &form.csrf)) {
        return Err(ApiError::forbidden("the form expired; reload the page").with_code("csrf_failed"));
    }
    let token = form.token.trim().to_owned();
    let known = token.len() <= 200 && state.marketplace.authenticate_publisher(&token).await.map_err(|e| anyhow::anyhow!("{e}"))?.is_some();
    if !known {
        let (jar, csrf) = csrf_of(&state, jar);
        let data = ConsoleData { user: None, section: "login", data: Value::Null, error: Some("Jeton inconnu, révoqué, ou éditeur suspendu.".into()) };
        let mut response = render(&state, csrf, data, "partners/login.html");
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok((jar, response).into_response());
    }
    // A fresh CSRF token per session.
    let jar = jar.add(cookie(&state, TOKEN_COOKIE, token)).add(cookie(&state, CSRF_COOKIE, random_token()));
    Ok((jar, Redirect::to("/partners")).into_response())
}

async fn logout(jar: CookieJar, headers: HeaderMap, Form(form): Form<std::collections::HashMap<String, String>>) -> Result<Response, ApiError> {
    let expected = jar.get(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    let sent = form.get("_csrf").map(String::as_str).or_else(|| headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())).unwrap_or("");
    if expected.is_empty() || !constant_time_eq(sent, &expected) {
        return Err(ApiError::forbidden("the form expired; reload the page").with_code("csrf_failed"));
    }
    let mut gone = Cookie::build((TOKEN_COOKIE, "")).path("/").build();
    gone.make_removal();
    Ok((jar.add(gone), Redirect::to("/partners/login")).into_response())
}
