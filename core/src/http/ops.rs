//! The operator console (`/ops`), on the platform host only: operators log in with their own
//! accounts (not tenant users), see the tenants and their plans, review marketplace submissions
//! and watch the platform's health.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, extract::rejection::FormRejection};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use socle_tenants::{Actor, Locale};

use super::extract::Client;
use super::pages::{Brand, Page};
use crate::http::error::ApiError;
use crate::http::extract::LoginForm;
use crate::http::state::AppState;
use crate::i18n;
use crate::identity::operators::{Operator, OperatorSession};
use crate::identity::secrets::{self, constant_time_eq, random_token, token_hash};
use crate::tenancy::TenantContext;

const OPS_COOKIE: &str = "socle_ops";
const OPS_CSRF_COOKIE: &str = "socle_ops_csrf";

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ops", get(tenants))
        .route("/ops/reviews", get(reviews).post(decide))
        .route("/ops/health", get(health))
        .route("/ops/rollouts", get(rollouts))
        .route("/ops/login", get(login_page).post(login_submit))
        .route("/ops/logout", post(logout))
}

fn cookie(state: &AppState, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
    Cookie::build((name, value)).path("/ops").http_only(true).same_site(same_site).secure(state.settings.secure_cookies()).build()
}

fn refuse_on_tenant_host(parts: &Parts) -> Result<(), ApiError> {
    if parts.extensions.get::<TenantContext>().is_some() {
        return Err(ApiError::not_found("route_not_found", "the operator console is only served on the platform host"));
    }
    Ok(())
}

/// A logged-in operator.
pub struct OperatorUser {
    /// The operator.
    pub operator: Operator,
    /// Their session.
    pub session: OperatorSession,
}

impl FromRequestParts<AppState> for OperatorUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        refuse_on_tenant_host(parts).map_err(IntoResponse::into_response)?;
        let jar = CookieJar::from_headers(&parts.headers);
        let to_login = || Redirect::to("/ops/login").into_response();
        let token = jar.get(OPS_COOKIE).map(|c| c.value().to_owned()).ok_or_else(to_login)?;
        let session = state.operators.session(&token_hash(&token)).await.map_err(|e| ApiError::from(e).into_response())?.ok_or_else(to_login)?;
        let operator = state.operators.get(session.operator_id).await.map_err(|e| ApiError::from(e).into_response())?.ok_or_else(to_login)?;
        Ok(Self { operator, session })
    }
}

#[derive(Serialize)]
struct LoginData {
    email: String,
    error: Option<String>,
    user: Option<()>,
}

fn login_csrf(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(OPS_CSRF_COOKIE).map(|c| c.value().to_owned()) {
        Some(token) if token.len() == 43 => (jar, token),
        _ => {
            let token = random_token();
            (jar.add(cookie(state, OPS_CSRF_COOKIE, token.clone(), SameSite::Strict)), token)
        }
    }
}

async fn login_page(State(state): State<AppState>, request: axum::extract::Request) -> Result<Response, ApiError> {
    let (parts, _) = request.into_parts();
    refuse_on_tenant_host(&parts)?;
    let (jar, csrf) = login_csrf(&state, CookieJar::from_headers(&parts.headers));
    let page = Page::new(Locale::Fr, Brand::platform(), csrf, LoginData { email: String::new(), error: None, user: None });
    Ok((jar, state.templates.render("ops/login.html", page)).into_response())
}

async fn login_submit(
    State(state): State<AppState>,
    Client(client): Client,
    jar: CookieJar,
    request_parts: OpsHost,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let _ = request_parts;
    let Form(form) = form.map_err(|e| ApiError::bad_request("invalid_form", e.body_text()))?;
    if !jar.get(OPS_CSRF_COOKIE).is_some_and(|c| constant_time_eq(c.value(), &form.csrf)) {
        return Err(ApiError::forbidden("the form expired; reload the page").with_code("csrf_failed"));
    }
    let (jar, csrf) = login_csrf(&state, jar);
    let found = state.operators.by_email(&form.email).await?;
    let now = state.now_ms();
    let invalid = |message: String, status: StatusCode| {
        let data = LoginData { email: form.email.clone(), error: Some(message), user: None };
        let mut response = state.templates.render("ops/login.html", Page::new(Locale::Fr, Brand::platform(), csrf.clone(), data));
        *response.status_mut() = status;
        response
    };
    let Some((operator, hash)) = found else {
        secrets::verify_password(&form.password, None).await?;
        return Ok((jar, invalid(i18n::text(Locale::Fr, "login_invalid").into(), StatusCode::UNAUTHORIZED)).into_response());
    };
    if let Some(until) = operator.locked_until.filter(|u| *u > now) {
        let secs = (until - now + 999) / 1000;
        let message = i18n::text(Locale::Fr, "login_throttled").replace("{secs}", &secs.to_string());
        return Ok((jar, invalid(message, StatusCode::TOO_MANY_REQUESTS)).into_response());
    }
    let actor =
        Actor { subject: format!("operator:{}", operator.id), label: operator.email.clone(), ip: client.ip.clone(), request_id: client.request_id.clone() };
    if !secrets::verify_password(&form.password, Some(&hash)).await? {
        state.operators.record_login_failure(operator.id, &actor).await?;
        return Ok((jar, invalid(i18n::text(Locale::Fr, "login_invalid").into(), StatusCode::UNAUTHORIZED)).into_response());
    }
    state.operators.record_login_success(operator.id, &actor).await?;
    let token = random_token();
    state.operators.create_session(operator.id, &token_hash(&token), &random_token()).await?;
    Ok((jar.add(cookie(&state, OPS_COOKIE, token, SameSite::Strict)), Redirect::to("/ops")).into_response())
}

/// Extractor that only succeeds on the platform host.
pub struct OpsHost;

impl<S: Send + Sync> FromRequestParts<S> for OpsHost {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        refuse_on_tenant_host(parts).map(|()| OpsHost)
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn logout(State(state): State<AppState>, op: OperatorUser, jar: CookieJar, Form(form): Form<CsrfForm>) -> Result<Response, ApiError> {
    if !constant_time_eq(&form.csrf, &op.session.csrf_token) {
        return Err(ApiError::forbidden("missing or wrong CSRF token").with_code("csrf_failed"));
    }
    if let Some(token) = jar.get(OPS_COOKIE).map(|c| c.value().to_owned()) {
        state.operators.delete_session(&token_hash(&token)).await?;
    }
    let mut removal = Cookie::from(OPS_COOKIE);
    removal.set_path("/ops");
    removal.make_removal();
    Ok((jar.add(removal), Redirect::to("/ops/login")).into_response())
}

#[derive(Serialize)]
struct TenantRow {
    slug: String,
    name: String,
    plan: String,
    active: bool,
    url: String,
}

#[derive(Serialize)]
struct TenantsData {
    tenants: Vec<TenantRow>,
}

async fn tenants(State(state): State<AppState>, op: OperatorUser) -> Result<Response, ApiError> {
    let tenants = state
        .tenants
        .list()
        .await?
        .into_iter()
        .map(|t| TenantRow {
            active: t.is_active(),
            url: state.settings.tenant_url(t.slug.as_str()),
            slug: t.slug.to_string(),
            name: t.name,
            plan: t.plan.to_string(),
        })
        .collect();
    Ok(state.templates.render("ops/tenants.html", ops_page(&op, "tenants", TenantsData { tenants })))
}

fn ops_page<T: Serialize>(op: &OperatorUser, section: &'static str, data: T) -> Page<OpsData<T>> {
    let mut brand = Brand::platform();
    brand.base = "/ops".into();
    let user = serde_json::json!({ "display_name": op.operator.display_name });
    Page::new(Locale::Fr, brand, op.session.csrf_token.clone(), OpsData { user, section, data })
}

#[derive(Serialize)]
struct OpsData<T: Serialize> {
    user: serde_json::Value,
    section: &'static str,
    data: T,
}

/// The marketplace's review queue: each version waiting with its validation report.
async fn reviews(State(state): State<AppState>, op: OperatorUser) -> Result<Response, ApiError> {
    let queue = state.marketplace.store().review_queue().await?;
    Ok(state.templates.render("ops/reviews.html", ops_page(&op, "reviews", serde_json::json!({ "queue": queue }))))
}

#[derive(Deserialize)]
struct DecideForm {
    plugin: String,
    version: String,
    decision: String,
    #[serde(default)]
    note: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

/// Approves (lists) or rejects a version in review; a rejection needs a reason the partner sees.
async fn decide(State(state): State<AppState>, op: OperatorUser, form: Result<Form<DecideForm>, FormRejection>) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(|e| ApiError::bad_request("invalid_form", e.body_text()))?;
    if !constant_time_eq(&form.csrf, &op.session.csrf_token) {
        return Err(ApiError::forbidden("the form expired; reload the page").with_code("csrf_failed"));
    }
    let status = match form.decision.as_str() {
        "approve" => "listed",
        "reject" if form.note.trim().len() >= 3 => "rejected",
        "reject" => return Err(socle_tenants::ValidationError::new("note", "say why the version is rejected: the partner reads it").into()),
        other => return Err(ApiError::bad_request("invalid_decision", format!("`{other}` is not a decision (approve or reject)"))),
    };
    let note: String = form.note.trim().chars().take(2000).collect();
    if !state.marketplace.store().decide(&form.plugin, &form.version, status, &note, &op.operator.email).await? {
        return Err(ApiError::conflict("not_in_review", format!("{}@{} is not waiting for review", form.plugin, form.version)));
    }
    tracing::info!(plugin.id = %form.plugin, plugin.version = %form.version, decision = status, operator = %op.operator.email, "review decided");
    Ok(Redirect::to("/ops/reviews").into_response())
}

/// Platform health: readiness of the database and bus, tenants, and plugin failures over the
/// last 24 hours across tenants.
async fn health(State(state): State<AppState>, op: OperatorUser) -> Result<Response, ApiError> {
    let status = |ok: bool| if ok { "ok" } else { "unavailable" };
    let database = status(state.db.ping().await.is_ok());
    let bus = status(state.bus.ready().await.is_ok());
    let tenants = state.tenants.list().await?;
    let since = state.now_ms() - 24 * 3600 * 1000;
    state.plugins.flush_receipts().await;
    let mut plugins = Vec::new();
    for tenant in &tenants {
        for summary in state.plugins.store().receipt_summary(tenant.id, since).await? {
            plugins.push(serde_json::json!({ "tenant": tenant.slug.as_str(), "summary": summary }));
        }
    }
    let data = serde_json::json!({
        "backend": state.db.backend().as_str(),
        "database": database,
        "bus": bus,
        "tenants": tenants.len(),
        "active_tenants": tenants.iter().filter(|t| t.is_active()).count(),
        "plugins": plugins,
        "queue": state.marketplace.store().review_queue().await?.len(),
        "backups": state.backups.status().await?,
    });
    Ok(state.templates.render("ops/health.html", ops_page(&op, "health", data)))
}

/// Rollouts in progress everywhere, and the kill switch (which calls `POST /ops/marketplace/kill`).
async fn rollouts(State(state): State<AppState>, op: OperatorUser) -> Result<Response, ApiError> {
    let rollouts = state.marketplace.store().rollouts(None).await?;
    Ok(state.templates.render("ops/rollouts.html", ops_page(&op, "rollouts", serde_json::json!({ "rollouts": rollouts }))))
}
