//! Who a partner request comes from: a publisher, by its API token sent as a bearer token (the
//! partner API) or held in the partner console's session cookie (then every change also carries
//! the console's CSRF token, double submit). Shared by the partner API and the console.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum_extra::extract::CookieJar;

use crate::http::error::ApiError;
use crate::http::extract::CSRF_HEADER;
use crate::http::state::AppState;
use crate::identity::secrets::constant_time_eq;
use crate::marketplace::publishers::PublisherError;
use crate::marketplace::store::Publisher;
use crate::tenancy::TenantContext;

/// The console's session cookie (the publisher token).
pub const TOKEN_COOKIE: &str = "socle_partner";
/// The console's CSRF companion cookie.
pub const CSRF_COOKIE: &str = "socle_partner_csrf";

/// The publisher behind the request's bearer token.
pub struct Partner(pub Publisher);

impl FromRequestParts<AppState> for Partner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.extensions.get::<TenantContext>().is_some() {
            return Err(ApiError::not_found("route_not_found", "the partner API is only served on the platform host"));
        }
        let bearer = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::to_owned);
        let token = match bearer {
            Some(token) => token,
            // The partner console's session: the token in an HttpOnly cookie; changes must also
            // carry the console's CSRF token (double submit), like the portal's forms.
            None => console_token(parts)?.ok_or_else(|| {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "send your publisher token as `Authorization: Bearer socle_pub_…`")
            })?,
        };
        match state.marketplace.authenticate_publisher(&token).await {
            Ok(Some(publisher)) => Ok(Partner(publisher)),
            Ok(None) => {
                Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", "this publisher token is unknown, revoked, or its publisher is suspended"))
            }
            Err(err) => Err(failed(err)),
        }
    }
}

/// A partner API request, with the platform: what most partner handlers take.
pub struct PartnerCall {
    /// The platform.
    pub state: AppState,
    /// The publisher behind the token.
    pub publisher: Publisher,
}

impl FromRequestParts<AppState> for PartnerCall {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Partner(publisher) = Partner::from_request_parts(parts, state).await?;
        Ok(Self { state: state.clone(), publisher })
    }
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

/// The answer to a failed publisher operation.
pub fn failed(err: PublisherError) -> ApiError {
    match err {
        PublisherError::Invalid(message) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message),
        PublisherError::NotFound(message) => ApiError::not_found("not_found", message),
        PublisherError::Platform(err) => err.into(),
    }
}
