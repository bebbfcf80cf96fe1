//! The signed-in user's own page: who they are to the tenant (roles and what they allow), their
//! sign-in security, and the language of the portal (French by default, from the tenant; each user
//! may switch).

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use socle_tenants::{Locale, Permission};

use super::form::UiForm;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::http::ui::shell::{UiUser, page, shell};
use crate::identity::UserUpdate;

pub fn router() -> Router<AppState> {
    Router::new().route("/me/language", post(set_language)).route("/account", get(account))
}

#[derive(Serialize)]
struct PermissionView {
    key: &'static str,
    label: &'static str,
}

#[derive(Serialize)]
struct AccountData {
    account_page: bool,
    email: String,
    user_type: &'static str,
    user_totp: bool,
    roles: Vec<String>,
    permissions: Vec<PermissionView>,
}

/// The user's own account: roles, the rights they give, two-step verification.
async fn account(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    let locale = auth.locale();
    let tenant = auth.tenant.tenant.id;
    let defined = state.policies.roles(tenant).await?;
    let roles = state
        .authz
        .user_roles(tenant, auth.user.id)
        .await?
        .into_iter()
        .map(|key| defined.iter().find(|r| r.key == key).map_or(key.clone(), |r| r.name(locale).to_owned()))
        .collect();
    let mut permissions = Vec::new();
    for permission in Permission::ALL {
        if state.authz.has_permission(tenant, auth.user.id, permission.as_str()).await? {
            permissions.push(PermissionView { key: permission.as_str(), label: permission.label(locale) });
        }
    }
    let data = AccountData {
        account_page: true,
        email: auth.user.email.clone(),
        user_type: auth.user.user_type.label(locale),
        user_totp: auth.user.totp_enabled,
        roles,
        permissions,
    };
    let shell = shell(&state, &auth, "").await?;
    Ok(state.templates.render("account.html", page(&auth, shell, data)))
}

/// Stores the user's language and goes back to the page they were on (same tenant only).
async fn set_language(State(state): State<AppState>, UiForm { auth, form, headers }: UiForm) -> Result<Response, ApiError> {
    let wanted = form.get("lang").unwrap_or("");
    let locale: Locale =
        wanted.parse().map_err(|_| socle_tenants::ValidationError::new("lang", format!("`{wanted}` is not a language of the portal: choose fr or en")))?;
    let user = &auth.user;
    let update = UserUpdate {
        display_name: user.display_name.clone(),
        user_type: user.user_type,
        locale: Some(locale),
        status: user.status,
        account_id: user.account_id,
    };
    state.users.update(auth.tenant.tenant.id, user.id, &update, &auth.actor()).await?;
    // Back where the user was, if that is a page of this tenant's portal; home otherwise.
    let home = auth.tenant.link("/");
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| url::Url::parse(referer).ok())
        .map(|url| match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        })
        .filter(|path| path.starts_with(&home) && !path.starts_with("//"))
        .unwrap_or(home);
    Ok(Redirect::to(&back).into_response())
}
