//! The partner console (`/partners`, platform host): a publisher logs in with one of its API
//! tokens, then manages its profile, signing keys and tokens, submits packages and reads each
//! submission's validation report, yanks, unyanks and deprecates. The pages read through the
//! partner API's functions and their forms call that API, like the admin console.
//!
//! The session is the token itself in an HttpOnly, SameSite=Strict cookie; every change also
//! carries a CSRF token that must match a second cookie (double submit).

use axum::Router;
use axum::extract::{Form, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_tenants::Locale;

use crate::http::AppState;
use crate::http::api::partners::{self as api, Partner};
use crate::http::error::ApiError;
use crate::http::extract::CSRF_HEADER;
use crate::http::pages::{Brand, Page};
use crate::identity::secrets::{constant_time_eq, random_token};
use crate::tenancy::TenantContext;

/// The session cookie (the publisher token).
const TOKEN_COOKIE: &str = "socle_partner";
/// The CSRF companion cookie.
const CSRF_COOKIE: &str = "socle_partner_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partners", get(overview))
        .route("/partners/packages", get(packages))
        .route("/partners/analytics/{plugin}", get(analytics))
        .route("/partners/statements", get(statements))
        .route("/partners/login", get(login_page).post(login))
        .route("/partners/logout", post(logout))
}

/// The publisher token of a console session, for the partner API's extractor. Unsafe methods
/// must carry the CSRF header matching the CSRF cookie.
pub fn console_token(parts: &Parts) -> Result<Option<String>, ApiError> {
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(token) = jar.get(TOKEN_COOKIE).map(|c| c.value().to_owned()) else { return Ok(None) };
    let safe = matches!(parts.method, http::Method::GET | http::Method::HEAD);
    if !safe {
        let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        let expected = jar.get(CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
        if expected.is_empty() || !constant_time_eq(sent, &expected) {
            return Err(ApiError::forbidden("missing or wrong CSRF token; reload the page and try again").with_code("csrf_failed"));
        }
    }
    Ok(Some(token))
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
    let me = api::me(State(state.clone()), Partner(publisher.clone())).await.map_err(IntoResponse::into_response)?.0;
    let (jar, csrf) = csrf_of(&state, jar);
    let user = serde_json::json!({ "display_name": publisher.name });
    Ok((jar, render(&state, csrf, ConsoleData { user: Some(user), section: "overview", data: me, error: None }, "partners/overview.html")).into_response())
}

async fn packages(State(state): State<AppState>, jar: CookieJar, tenant: Option<axum::Extension<TenantContext>>) -> Result<Response, Response> {
    platform_only(tenant.as_deref()).map_err(IntoResponse::into_response)?;
    let publisher = session(&state, &jar).await?;
    let versions = api::versions(State(state.clone()), Partner(publisher.clone())).await.map_err(IntoResponse::into_response)?.0;
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
    axum::extract::Query(query): axum::extract::Query<crate::http::api::partner_analytics::AnalyticsQuery>,
) -> Result<Response, Response> {
    platform_only(tenant.as_deref()).map_err(IntoResponse::into_response)?;
    let publisher = session(&state, &jar).await?;
    let mut data = crate::http::api::partner_analytics::show(
        State(state.clone()),
        Partner(publisher.clone()),
        axum::extract::Path(plugin.clone()),
        axum::extract::Query(query),
    )
    .await
    .map_err(IntoResponse::into_response)?
    .0;
    let rollouts = state.marketplace.store().rollouts(Some(&plugin)).await.map_err(|e| ApiError::from(e).into_response())?;
    data["rollouts"] = serde_json::to_value(rollouts).unwrap_or_default();
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
    let (data, error) =
        match crate::http::api::partner_statements::show(State(state.clone()), Partner(publisher.clone()), axum::extract::Path(period.clone())).await {
            Ok(json) => (json.0, None),
            Err(err) => (Value::Null, Some(err.detail)),
        };
    let data = serde_json::json!({ "period": period, "statement": data.get("statement").cloned().unwrap_or(Value::Null) });
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
