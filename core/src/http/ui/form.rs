//! Forms of the portal screens: decoded pairs, and the extractor every change on a screen goes
//! through — a logged-in user whose form carries the session's CSRF token.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::shell::{UiUser, check_csrf};
use crate::http::extract::Authenticated;
use crate::http::state::AppState;

/// Decoded `application/x-www-form-urlencoded` pairs (repeated keys kept: multi-select, ids).
#[derive(Debug, Default)]
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    /// Parses a body or a query string.
    pub fn parse(bytes: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).take(5_000).collect())
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }
}

/// A form posted by a logged-in user of a portal screen, its CSRF token checked (the form's
/// `_csrf` field, or the header htmx sends on every request of the page).
pub struct UiForm {
    /// Who posts it.
    pub auth: Authenticated,
    /// Its fields.
    pub form: FormPairs,
    /// The request's headers (htmx or not, where to go back).
    pub headers: HeaderMap,
}

impl FromRequest<AppState> for UiForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let UiUser(auth) = UiUser::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        // Within the server's body limit, like any body extractor.
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state).await.map_err(IntoResponse::into_response)?;
        let form = FormPairs::parse(&bytes);
        check_csrf(&auth, &headers, form.get("_csrf")).map_err(IntoResponse::into_response)?;
        Ok(Self { auth, form, headers })
    }
}
