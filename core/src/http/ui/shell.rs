//! What every portal screen shares: the logged-in user extractor, CSRF checks, the shell around
//! pages (user, navigation) and fragments for htmx.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use socle_tenants::Permission;

use crate::http::error::ApiError;
use crate::http::extract::{Authenticated, CSRF_HEADER, PageUser, SessionRejection, session_user};
use crate::http::pages::{Brand, Page};
use crate::http::state::AppState;
pub use crate::http::ui::navigation::NavItem;
use crate::http::ui::navigation::{NavGroup, navigation};

/// Whether the request comes from htmx (it wants a fragment, not a page).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// A logged-in user of a portal screen. A full page without a session redirects to the login
/// page; an htmx request gets `HX-Redirect` so the whole page goes there instead of a fragment.
#[derive(Debug, Clone)]
pub struct UiUser(pub Authenticated);

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_htmx(&parts.headers) {
            return PageUser::from_request_parts(parts, state).await.map(|PageUser(auth)| UiUser(auth));
        }
        match session_user(parts, state).await {
            Ok((auth, true)) => Ok(UiUser(auth)),
            Err(SessionRejection::Error(e)) => Err(e.into_response()),
            _ => {
                let base = parts.extensions.get::<crate::tenancy::TenantContext>().map(|t| t.base_path.clone()).unwrap_or_default();
                let target = HeaderValue::from_str(&format!("{base}/login")).unwrap_or(HeaderValue::from_static("/login"));
                Err((StatusCode::UNAUTHORIZED, [("hx-redirect", target)]).into_response())
            }
        }
    }
}

/// Checks the CSRF token of a change: htmx sends it as a header (set once on `<body>`), a plain
/// form as its `_csrf` field.
pub fn check_csrf(auth: &Authenticated, headers: &HeaderMap, form_token: Option<&str>) -> Result<(), ApiError> {
    let header = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    auth.check_csrf(header.or(form_token))
}

/// What every portal page shows around its content: who is logged in and where they can go.
#[derive(Debug, Clone, Serialize)]
pub struct Shell {
    /// The user (name shown, logout form).
    pub user: ShellUser,
    /// Where the user can go, in groups (see [`super::navigation`]).
    pub nav: Vec<NavGroup>,
    /// Whether to show the admin console's link.
    pub is_admin: bool,
    /// The global search text, kept in the box.
    pub search_text: String,
}

/// The user as the shell shows them.
#[derive(Debug, Clone, Serialize)]
pub struct ShellUser {
    /// Name.
    pub display_name: String,
    /// Email.
    pub email: String,
}

/// A portal page: the shell plus the page's own data.
#[derive(Debug, Serialize)]
pub struct ShellPage<T: Serialize> {
    /// Shell.
    pub shell: Shell,
    /// Same as `shell.user` (the base layout shows the logout form when `user` is set).
    pub user: ShellUser,
    /// Page data.
    #[serde(flatten)]
    pub data: T,
}

/// Builds the shell for `auth`, marking `current` (a collection name or `admin`) in the menu.
pub async fn shell(state: &AppState, auth: &Authenticated, current: &str) -> Result<Shell, ApiError> {
    let nav = navigation(state, auth, current).await?;
    let is_admin = state.authz.has_permission(auth.tenant.tenant.id, auth.user.id, Permission::Administrer.as_str()).await?;
    let user = ShellUser { display_name: auth.user.display_name.clone(), email: auth.user.email.clone() };
    Ok(Shell { user, nav, is_admin, search_text: String::new() })
}

impl Shell {
    /// Marks the navigation's entry for the plugin view `key` as the current page (instead of
    /// its collection's entry), when the navigation has one.
    pub fn mark_view(&mut self, key: &str) {
        let items = || self.nav.iter().flat_map(|g| g.items.iter());
        if key.is_empty() || !items().any(|i| i.view.as_deref() == Some(key)) {
            return;
        }
        for item in self.nav.iter_mut().flat_map(|g| g.items.iter_mut()) {
            item.current = item.view.as_deref() == Some(key);
        }
    }
}

/// A page for `auth` with `shell` around `data`.
pub fn page<T: Serialize>(auth: &Authenticated, shell: Shell, data: T) -> Page<ShellPage<T>> {
    let user = shell.user.clone();
    Page::new(auth.locale(), Brand::of(&auth.tenant), auth.session.csrf_token.clone(), ShellPage { shell, user, data })
}

/// A fragment (no shell): what htmx swaps into the page.
pub fn fragment<T: Serialize>(auth: &Authenticated, data: T) -> Page<T> {
    Page::new(auth.locale(), Brand::of(&auth.tenant), auth.session.csrf_token.clone(), data)
}

/// Adds `HX-Trigger: <event>` so the page refreshes what listens to it (the list after a change).
pub fn trigger(mut response: Response, event: &'static str) -> Response {
    response.headers_mut().insert("hx-trigger", HeaderValue::from_static(event));
    response
}
