//! Login, second factor, logout and password reset pages of a tenant's portal.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, extract::rejection::FormRejection};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::{Deserialize, Serialize};
use socle_tenants::Locale;

use super::extract::{Authenticated, CSRF_COOKIE, Client, PageUser, PendingUser, SESSION_COOKIE, Tenant, session_user};
use super::pages::{Brand, Page};
use crate::http::error::ApiError;
use crate::http::extract::LoginForm;
use crate::http::state::AppState;
use crate::i18n;
use crate::identity::accounts::{LoginOutcome, SecondFactor};
use crate::identity::secrets::{MAX_PASSWORD_LEN, constant_time_eq, random_token};
use crate::identity::totp;
use crate::tenancy::TenantContext;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", axum::routing::post(logout))
        .route("/login/mfa", get(mfa_page).post(mfa_submit))
        .route("/account/mfa", get(enroll_page).post(enroll_submit))
        .route("/reset-password", get(reset_page).post(reset_submit))
        .route("/forgot-password", get(forgot_page).post(forgot_submit))
}

fn cookie_path(ctx: &TenantContext) -> String {
    if ctx.base_path.is_empty() { "/".into() } else { ctx.base_path.clone() }
}

/// A cookie scoped to the tenant (its host, or its `/t/<slug>` prefix on a shared host).
pub fn tenant_cookie(state: &AppState, ctx: &TenantContext, name: &'static str, value: String, same_site: SameSite) -> Cookie<'static> {
    Cookie::build((name, value)).path(cookie_path(ctx)).http_only(true).same_site(same_site).secure(state.settings.secure_cookies()).build()
}

fn removal(ctx: &TenantContext, name: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::from(name);
    cookie.set_path(cookie_path(ctx));
    cookie.make_removal();
    cookie
}

/// The anonymous CSRF token (double-submit cookie), created if missing.
fn anonymous_csrf(state: &AppState, ctx: &TenantContext, jar: CookieJar) -> (CookieJar, String) {
    match jar.get(CSRF_COOKIE).map(|c| c.value().to_owned()) {
        Some(token) if token.len() == 43 => (jar, token),
        _ => {
            let token = random_token();
            (jar.add(tenant_cookie(state, ctx, CSRF_COOKIE, token.clone(), SameSite::Strict)), token)
        }
    }
}

fn anonymous_csrf_ok(jar: &CookieJar, sent: &str) -> bool {
    jar.get(CSRF_COOKIE).is_some_and(|c| constant_time_eq(c.value(), sent))
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
    /// The page to go back to once logged in.
    next: Option<String>,
    /// `expired`: back from a second-factor step closed after too many wrong codes.
    mfa: Option<String>,
}

fn page_locale(ctx: &TenantContext, query: Option<&LangQuery>) -> Locale {
    query.and_then(|q| q.lang.as_deref()).and_then(|l| l.parse().ok()).unwrap_or(ctx.tenant.locale)
}

#[derive(Serialize)]
struct LoginData<'a> {
    email: &'a str,
    next: Option<String>,
    error: Option<String>,
    notice: Option<&'static str>,
    user: Option<()>,
}

fn render_login(state: &AppState, ctx: &TenantContext, locale: Locale, csrf: String, data: LoginData<'_>) -> Response {
    state.templates.render("login.html", Page::new(locale, Brand::of(ctx), csrf, data))
}

async fn login_page(State(state): State<AppState>, Tenant(ctx): Tenant, Query(q): Query<LangQuery>, jar: CookieJar) -> Response {
    let (jar, csrf) = anonymous_csrf(&state, &ctx, jar);
    let locale = page_locale(&ctx, Some(&q));
    let error = (q.mfa.as_deref() == Some("expired")).then(|| i18n::text(locale, "mfa_expired").to_owned());
    let next = crate::http::extract::portal_return(&ctx.base_path, q.next.as_deref());
    (jar, render_login(&state, &ctx, locale, csrf, LoginData { email: "", next, error, notice: None, user: None })).into_response()
}

async fn login_submit(
    State(state): State<AppState>,
    Tenant(ctx): Tenant,
    Client(client): Client,
    jar: CookieJar,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(|e| ApiError::bad_request("invalid_form", e.body_text()))?;
    if !anonymous_csrf_ok(&jar, &form.csrf) {
        return Err(ApiError::forbidden("the form expired; reload the login page and try again").with_code("csrf_failed"));
    }
    let locale = ctx.tenant.locale;
    let (jar, csrf) = anonymous_csrf(&state, &ctx, jar);
    if form.email.len() > 254 || form.password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "email or password too long"));
    }
    let outcome = state.accounts.login(&ctx.tenant, &form.email, &form.password, &client).await?;
    let session = |token: String| tenant_cookie(&state, &ctx, SESSION_COOKIE, token, SameSite::Lax);
    Ok(match outcome {
        LoginOutcome::LoggedIn { token } => {
            let to = crate::http::extract::portal_return(&ctx.base_path, form.next.as_deref()).unwrap_or_else(|| ctx.link("/"));
            (jar.add(session(token)), Redirect::to(&to)).into_response()
        }
        LoginOutcome::SecondFactorRequired { token } => (jar.add(session(token)), Redirect::to(&ctx.link("/login/mfa"))).into_response(),
        LoginOutcome::EnrollmentRequired { token } => (jar.add(session(token)), Redirect::to(&ctx.link("/account/mfa"))).into_response(),
        LoginOutcome::Invalid => {
            let next = crate::http::extract::portal_return(&ctx.base_path, form.next.as_deref());
            let data = LoginData { email: &form.email, next, error: Some(i18n::text(locale, "login_invalid").into()), notice: None, user: None };
            let mut response = render_login(&state, &ctx, locale, csrf, data);
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            (jar, response).into_response()
        }
        LoginOutcome::Throttled { retry_after_secs } => {
            let message = i18n::text(locale, "login_throttled").replace("{secs}", &retry_after_secs.to_string());
            let next = crate::http::extract::portal_return(&ctx.base_path, form.next.as_deref());
            let data = LoginData { email: &form.email, next, error: Some(message), notice: None, user: None };
            let mut response = render_login(&state, &ctx, locale, csrf, data);
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response.headers_mut().insert(header::RETRY_AFTER, retry_after_secs.into());
            (jar, response).into_response()
        }
    })
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn logout(State(state): State<AppState>, PageUser(auth): PageUser, jar: CookieJar, Form(form): Form<CsrfForm>) -> Result<Response, ApiError> {
    auth.check_csrf(Some(&form.csrf))?;
    state.sessions.delete(auth.tenant.tenant.id, &auth.session.id_hash).await?;
    let login = auth.tenant.link("/login");
    Ok((jar.add(removal(&auth.tenant, SESSION_COOKIE)), Redirect::to(&login)).into_response())
}

#[derive(Serialize)]
struct MfaData {
    enroll: bool,
    required: bool,
    error: Option<String>,
    secret: Option<String>,
    otpauth_uri: Option<String>,
    action: String,
    user: Option<()>,
}

fn render_mfa(state: &AppState, auth: &Authenticated, data: MfaData) -> Response {
    let page = Page::new(auth.locale(), Brand::of(&auth.tenant), auth.session.csrf_token.clone(), data);
    state.templates.render("mfa.html", page)
}

async fn mfa_page(State(state): State<AppState>, PendingUser(auth): PendingUser) -> Response {
    if !auth.user.totp_enabled {
        return Redirect::to(&auth.tenant.link("/account/mfa")).into_response();
    }
    let action = auth.tenant.link("/login/mfa");
    render_mfa(&state, &auth, MfaData { enroll: false, required: false, error: None, secret: None, otpauth_uri: None, action, user: None })
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    code: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn mfa_submit(State(state): State<AppState>, PendingUser(auth): PendingUser, jar: CookieJar, Form(form): Form<CodeForm>) -> Result<Response, ApiError> {
    auth.check_csrf(Some(&form.csrf))?;
    let tenant = auth.tenant.tenant.id;
    let locale = auth.locale();
    let (status, error, retry_after) = match state.accounts.verify_second_factor(tenant, &auth.session, &form.code, &auth.client).await? {
        SecondFactor::Verified { token } => {
            let cookie = tenant_cookie(&state, &auth.tenant, SESSION_COOKIE, token, SameSite::Lax);
            return Ok((jar.add(cookie), Redirect::to(&auth.tenant.link("/"))).into_response());
        }
        // The pending session is closed: back to the password.
        SecondFactor::Expired => return Ok(Redirect::to(&auth.tenant.link("/login?mfa=expired")).into_response()),
        SecondFactor::Invalid { attempts_left } => {
            let error = format!(
                "{} {}",
                i18n::text(locale, "mfa_invalid"),
                i18n::text(locale, "mfa_attempts_left").replace("{n}", &i18n::count(locale, "tries", attempts_left).unwrap_or_default())
            );
            (StatusCode::UNAUTHORIZED, error, None)
        }
        SecondFactor::Locked { retry_after_secs } => {
            let minutes = i18n::count(locale, "minutes", i64::try_from(retry_after_secs.div_ceil(60)).unwrap_or(i64::MAX)).unwrap_or_default();
            (StatusCode::TOO_MANY_REQUESTS, i18n::text(locale, "account_locked").replace("{n}", &minutes), Some(retry_after_secs))
        }
    };
    let action = auth.tenant.link("/login/mfa");
    let mut response =
        render_mfa(&state, &auth, MfaData { enroll: false, required: false, error: Some(error), secret: None, otpauth_uri: None, action, user: None });
    *response.status_mut() = status;
    if let Some(secs) = retry_after {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
    }
    Ok(response)
}

/// Enrollment is open to a logged-in user (voluntary) and to a pending session whose tenant
/// requires a second factor (forced, before anything else).
async fn enrolling_user(parts: &mut Parts, state: &AppState) -> Result<Authenticated, Response> {
    match session_user(parts, state).await {
        Ok((auth, _)) if !auth.user.totp_enabled => Ok(auth),
        Ok((auth, _)) => Err(Redirect::to(&auth.tenant.link("/")).into_response()),
        Err(super::extract::SessionRejection::Error(e)) => Err(e.into_response()),
        Err(_) => {
            let base = parts.extensions.get::<TenantContext>().map(|t| t.base_path.clone()).unwrap_or_default();
            Err(Redirect::to(&format!("{base}/login")).into_response())
        }
    }
}

async fn enroll_page(State(state): State<AppState>, request: axum::extract::Request) -> Result<Response, ApiError> {
    let (mut parts, _) = request.into_parts();
    let auth = match enrolling_user(&mut parts, &state).await {
        Ok(auth) => auth,
        Err(response) => return Ok(response),
    };
    let tenant = auth.tenant.tenant.id;
    // Keep a pending secret across reloads so the app the user already scanned stays valid.
    let secret = match state.users.credentials(tenant, auth.user.id).await?.totp_secret {
        Some(secret) => secret,
        None => {
            let secret = totp::new_secret();
            state.users.set_totp(tenant, auth.user.id, Some(&secret), false, &auth.actor()).await?;
            secret
        }
    };
    let uri = totp::provisioning_uri(&secret, &auth.tenant.tenant.name, &auth.user.email);
    let data = MfaData {
        enroll: true,
        required: !auth.session.mfa_verified,
        error: None,
        secret: Some(secret),
        otpauth_uri: Some(uri),
        action: auth.tenant.link("/account/mfa"),
        user: None,
    };
    Ok(render_mfa(&state, &auth, data))
}

async fn enroll_submit(State(state): State<AppState>, request: axum::extract::Request) -> Result<Response, ApiError> {
    let (mut parts, body) = request.into_parts();
    let auth = match enrolling_user(&mut parts, &state).await {
        Ok(auth) => auth,
        Err(response) => return Ok(response),
    };
    let jar = CookieJar::from_headers(&parts.headers);
    let request = axum::extract::Request::from_parts(parts, body);
    let Form(form) = <Form<CodeForm> as axum::extract::FromRequest<AppState>>::from_request(request, &state)
        .await
        .map_err(|e: FormRejection| ApiError::bad_request("invalid_form", e.body_text()))?;
    auth.check_csrf(Some(&form.csrf))?;
    let tenant = auth.tenant.tenant.id;
    let secret = state.users.credentials(tenant, auth.user.id).await?.totp_secret;
    let step = secret.as_deref().and_then(|s| totp::matching_step(s, &form.code, state.now_ms()));
    let accepted = match (step, &secret) {
        (Some(step), Some(secret)) => {
            state.users.set_totp(tenant, auth.user.id, Some(secret), true, &auth.actor()).await?;
            state.users.use_totp_step(tenant, auth.user.id, step).await?
        }
        _ => false,
    };
    if !accepted {
        let data = MfaData {
            enroll: true,
            required: !auth.session.mfa_verified,
            error: Some(i18n::text(auth.locale(), "mfa_invalid").to_owned()),
            otpauth_uri: secret.as_deref().map(|s| totp::provisioning_uri(s, &auth.tenant.tenant.name, &auth.user.email)),
            secret,
            action: auth.tenant.link("/account/mfa"),
            user: None,
        };
        let mut response = render_mfa(&state, &auth, data);
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    // A new session either way: the second factor is a privilege change.
    state.sessions.delete(tenant, &auth.session.id_hash).await?;
    let (token, _) = state.accounts.open_session(tenant, auth.user.id, true, &auth.client).await?;
    let cookie = tenant_cookie(&state, &auth.tenant, SESSION_COOKIE, token, SameSite::Lax);
    Ok((jar.add(cookie), Redirect::to(&auth.tenant.link("/"))).into_response())
}

#[derive(Debug, Deserialize)]
struct ResetQuery {
    token: Option<String>,
}

#[derive(Serialize)]
struct ResetData {
    token: Option<String>,
    error: Option<String>,
    user: Option<()>,
}

async fn reset_page(State(state): State<AppState>, Tenant(ctx): Tenant, Query(q): Query<ResetQuery>, jar: CookieJar) -> Response {
    let (jar, csrf) = anonymous_csrf(&state, &ctx, jar);
    let locale = ctx.tenant.locale;
    let token = q.token.filter(|t| t.len() == 43);
    let error = token.is_none().then(|| i18n::text(locale, "reset_invalid").to_owned());
    (jar, state.templates.render("reset.html", Page::new(locale, Brand::of(&ctx), csrf, ResetData { token, error, user: None }))).into_response()
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    token: String,
    password: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn reset_submit(
    State(state): State<AppState>,
    Tenant(ctx): Tenant,
    Client(client): Client,
    jar: CookieJar,
    form: Result<Form<ResetForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(|e| ApiError::bad_request("invalid_form", e.body_text()))?;
    if !anonymous_csrf_ok(&jar, &form.csrf) {
        return Err(ApiError::forbidden("the form expired; reload the page and try again").with_code("csrf_failed"));
    }
    let locale = ctx.tenant.locale;
    let (jar, csrf) = anonymous_csrf(&state, &ctx, jar);
    let render_error = |message: String, token: Option<String>| {
        let page = Page::new(locale, Brand::of(&ctx), csrf.clone(), ResetData { token, error: Some(message), user: None });
        let mut response = state.templates.render("reset.html", page);
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        response
    };
    match state.accounts.finish_password_reset(ctx.tenant.id, &form.token, &form.password, &client).await {
        Ok(true) => {
            let data = LoginData { email: "", next: None, error: None, notice: Some(i18n::text(locale, "reset_done")), user: None };
            Ok((jar, render_login(&state, &ctx, locale, csrf, data)).into_response())
        }
        Ok(false) => Ok((jar, render_error(i18n::text(locale, "reset_invalid").into(), None)).into_response()),
        Err(crate::error::StoreError::Invalid(v)) => Ok((jar, render_error(v.message, Some(form.token))).into_response()),
        Err(e) => Err(e.into()),
    }
}

#[derive(Serialize)]
struct ForgotData {
    sent: bool,
    user: Option<()>,
}

async fn forgot_page(State(state): State<AppState>, Tenant(ctx): Tenant, Query(q): Query<LangQuery>, jar: CookieJar) -> Response {
    let (jar, csrf) = anonymous_csrf(&state, &ctx, jar);
    let locale = page_locale(&ctx, Some(&q));
    (jar, state.templates.render("forgot.html", Page::new(locale, Brand::of(&ctx), csrf, ForgotData { sent: false, user: None }))).into_response()
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    email: String,
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

async fn forgot_submit(
    State(state): State<AppState>,
    Tenant(ctx): Tenant,
    Client(client): Client,
    jar: CookieJar,
    form: Result<Form<ForgotForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form) = form.map_err(|e| ApiError::bad_request("invalid_form", e.body_text()))?;
    if !anonymous_csrf_ok(&jar, &form.csrf) {
        return Err(ApiError::forbidden("the form expired; reload the page and try again").with_code("csrf_failed"));
    }
    if form.email.len() <= 254 {
        state.accounts.mail_password_reset(&ctx.tenant, &form.email, &client).await?;
    }
    let (jar, csrf) = anonymous_csrf(&state, &ctx, jar);
    let page = Page::new(ctx.tenant.locale, Brand::of(&ctx), csrf, ForgotData { sent: true, user: None });
    Ok((jar, state.templates.render("forgot.html", page)).into_response())
}
