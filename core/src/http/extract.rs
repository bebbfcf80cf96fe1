//! Request extractors: the tenant, the client, and the authenticated user (by session cookie),
//! each with an explicit rejection. Permission checks stay explicit in handlers
//! (`user.require(Permission::Administrer)`), never hidden in path-matching middleware.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use socle_tenants::{Locale, Permission};
use uuid::Uuid;

use crate::authz::names;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::identity::accounts::ClientInfo;
use crate::identity::secrets::{constant_time_eq, token_hash};
use crate::identity::sessions::Session;
use crate::identity::{User, UserStatus};
use crate::tenancy::TenantContext;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "socle_session";
/// Name of the anonymous CSRF cookie (double-submit, for forms shown before login).
pub const CSRF_COOKIE: &str = "socle_csrf";
/// Header unsafe API calls authenticated by cookie must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The tenant the request is for; 404 on the platform host.
#[derive(Debug, Clone)]
pub struct Tenant(pub TenantContext);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<TenantContext>()
            .cloned()
            .map(Tenant)
            .ok_or_else(|| ApiError::not_found("tenant_not_found", "no tenant answers on this host; open http://<slug>.<base-domain>/ or /t/<slug>/"))
    }
}

/// Where the request came from (for the journal and throttling).
#[derive(Debug, Clone)]
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Client(ClientInfo { ip, user_agent: header("user-agent"), request_id: header("x-request-id") }))
    }
}

/// A logged-in user of the request's tenant, with their session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The tenant.
    pub tenant: TenantContext,
    /// The user.
    pub user: User,
    /// Their session.
    pub session: Session,
    /// The client.
    pub client: ClientInfo,
}

impl Authenticated {
    /// The user's language: their preference, else the tenant's.
    pub fn locale(&self) -> Locale {
        self.user.locale.unwrap_or(self.tenant.tenant.locale)
    }

    /// An actor for the journal.
    pub fn actor(&self) -> socle_tenants::Actor {
        self.client.actor(names::user(self.user.id), self.user.email.clone())
    }

    /// The caller of record operations.
    pub fn caller(&self) -> crate::records::Caller {
        crate::records::Caller {
            tenant: self.tenant.tenant.id,
            actor: self.actor(),
            principal: crate::records::Principal::User { id: self.user.id, user_type: self.user.user_type, account: self.user.account_id },
        }
    }

    /// Fails with 403 unless the user holds `permission`.
    pub async fn require(&self, state: &AppState, permission: Permission) -> Result<(), ApiError> {
        let allowed = state.authz.has_permission(self.tenant.tenant.id, self.user.id, permission.as_str()).await?;
        if allowed {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the permission `{}` ({}), which your roles do not grant",
                permission.as_str(),
                permission.label(self.locale())
            )))
        }
    }

    /// Checks a CSRF token sent with a form or header.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), ApiError> {
        match sent {
            Some(token) if constant_time_eq(token, &self.session.csrf_token) => Ok(()),
            _ => Err(ApiError::forbidden("missing or wrong CSRF token; reload the page and try again").with_code("csrf_failed")),
        }
    }
}

/// Why a session could not authenticate a request.
#[derive(Debug)]
pub enum SessionRejection {
    /// No valid session.
    Missing,
    /// A session exists but its second factor is pending.
    SecondFactorPending,
    /// The database failed.
    Error(ApiError),
}

/// Reads the session cookie and loads the user, whatever the second-factor state.
pub async fn session_user(parts: &mut Parts, state: &AppState) -> Result<(Authenticated, bool), SessionRejection> {
    let Some(tenant) = parts.extensions.get::<TenantContext>().cloned() else { return Err(SessionRejection::Missing) };
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()) else { return Err(SessionRejection::Missing) };
    let session =
        state.sessions.get(tenant.tenant.id, &token_hash(&token)).await.map_err(|e| SessionRejection::Error(e.into()))?.ok_or(SessionRejection::Missing)?;
    let user = state
        .users
        .get(tenant.tenant.id, session.user_id)
        .await
        .map_err(|e| SessionRejection::Error(e.into()))?
        .filter(|u| u.status == UserStatus::Active)
        .ok_or(SessionRejection::Missing)?;
    let Client(client) = Client::from_request_parts(parts, state).await.unwrap_or_else(|e| match e {});
    let verified = session.mfa_verified;
    Ok((Authenticated { tenant, user, session, client }, verified))
}

fn is_unsafe(parts: &Parts) -> bool {
    !matches!(parts.method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS)
}

/// A logged-in user for JSON API routes: 401 without a session; unsafe methods must carry the
/// session's CSRF token in `X-CSRF-Token`.
#[derive(Debug, Clone)]
pub struct ApiUser(pub Authenticated);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match session_user(parts, state).await {
            Ok((auth, true)) => {
                if is_unsafe(parts) {
                    auth.check_csrf(parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))?;
                }
                Ok(ApiUser(auth))
            }
            Ok((_, false)) | Err(SessionRejection::Missing) | Err(SessionRejection::SecondFactorPending) => Err(ApiError::unauthenticated()),
            Err(SessionRejection::Error(e)) => Err(e),
        }
    }
}

/// A JSON API request of a logged-in user, with the platform: what most JSON handlers take
/// (the checks of [`ApiUser`]).
pub struct Api {
    /// The platform.
    pub state: AppState,
    /// Who asks.
    pub auth: Authenticated,
}

impl FromRequestParts<AppState> for Api {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ApiUser(auth) = ApiUser::from_request_parts(parts, state).await?;
        Ok(Self { state: state.clone(), auth })
    }
}

/// A logged-in user for pages: redirects to the login page (or the second-factor page) instead
/// of failing. Forms check the CSRF token themselves (it arrives in the body).
#[derive(Debug, Clone)]
pub struct PageUser(pub Authenticated);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let base = parts.extensions.get::<TenantContext>().map(|t| t.base_path.clone()).unwrap_or_default();
        match session_user(parts, state).await {
            Ok((auth, true)) => Ok(PageUser(auth)),
            Ok((_, false)) | Err(SessionRejection::SecondFactorPending) => Err(Redirect::to(&format!("{base}/login/mfa")).into_response()),
            Err(SessionRejection::Missing) => {
                // Back to the page asked for once logged in (a record opened from a mail).
                // The router sees the path within the tenant (its `/t/<slug>` prefix removed).
                let asked = format!("{base}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
                let login = match portal_return(&base, Some(&asked)).filter(|p| p.as_str() != format!("{base}/")) {
                    Some(next) => format!("{base}/login?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()),
                    None => format!("{base}/login"),
                };
                Err(Redirect::to(&login).into_response())
            }
            Err(SessionRejection::Error(e)) => Err(e.into_response()),
        }
    }
}

/// A session whose second factor is pending (the `/login/mfa` and forced enrollment pages).
#[derive(Debug, Clone)]
pub struct PendingUser(pub Authenticated);

impl FromRequestParts<AppState> for PendingUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let base = parts.extensions.get::<TenantContext>().map(|t| t.base_path.clone()).unwrap_or_default();
        match session_user(parts, state).await {
            Ok((auth, false)) => Ok(PendingUser(auth)),
            Ok((_, true)) => Err(Redirect::to(&format!("{base}/")).into_response()),
            Err(SessionRejection::Error(e)) => Err(e.into_response()),
            Err(_) => Err(Redirect::to(&format!("{base}/login")).into_response()),
        }
    }
}

/// Parses an id from a path segment, with the envelope on failure.
pub fn parse_id(raw: &str, what: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("not_found", format!("{what} `{raw}` does not exist")))
}

/// The login form of the portal and of the operator console (the CSRF token is the anonymous
/// double-submit one of the login page).
#[derive(Debug, serde::Deserialize)]
pub struct LoginForm {
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// The login page's CSRF token.
    #[serde(rename = "_csrf", default)]
    pub csrf: String,
    /// The portal page the person was going to (a link in a mail) before they had to log in.
    #[serde(default)]
    pub next: Option<String>,
}

/// `next` if it is a page of the portal at `base` (`/t/acme` or empty), else `None`: only a path
/// of this tenant's portal, never another host, another tenant's prefix or a scheme.
pub fn portal_return(base: &str, next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let rest = next.strip_prefix(base)?;
    let safe = rest.starts_with('/')
        && !rest.starts_with("//")
        && next.len() <= 2000
        && !next.contains(['\\', '\r', '\n'])
        && !rest.starts_with("/login")
        && !rest.starts_with("/logout")
        && (base.is_empty() || !rest.starts_with("/t/"));
    safe.then(|| next.to_owned())
}
