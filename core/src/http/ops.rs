//! The operator console (`/ops`), on the platform host only: operators log in with their own
//! accounts (not tenant users) and see the tenants. (Plans, the review queue and the kill switch
//! come with the consoles issue.)

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, extract::rejection::FormRejection};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use socle_tenants::{Actor, Locale};

use super::AppState;
use super::extract::Client;
use super::pages::{Brand, Page};
use crate::error::ApiError;
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
        let session = state
            .operators
            .session(&token_hash(&token))
            .await
            .map_err(|e| ApiError::from(e).into_response())?
            .ok_or_else(to_login)?;
        let operator = state
            .operators
            .get(session.operator_id)
            .await
            .map_err(|e| ApiError::from(e).into_response())?
            .ok_or_else(to_login)?;
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

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
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
    let actor = Actor { subject: format!("operator:{}", operator.id), label: operator.email.clone(), ip: client.ip.clone(), request_id: client.request_id.clone() };
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
    user: serde_json::Value,
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
    let user = serde_json::json!({ "display_name": op.operator.display_name });
    let mut brand = Brand::platform();
    brand.base = "/ops".into();
    let page = Page::new(Locale::Fr, brand, op.session.csrf_token.clone(), TenantsData { tenants, user });
    Ok(state.templates.render("ops/tenants.html", page))
}
