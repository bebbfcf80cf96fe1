//! `GET /api/v1/me`: who the session belongs to, their roles, permissions and CSRF token.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use socle_tenants::Permission;

use crate::http::error::ApiResult;
use crate::http::extract::ApiUser;
use crate::http::json::Json;
use crate::http::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me))
}

async fn me(State(state): State<AppState>, ApiUser(auth): ApiUser) -> ApiResult<Json<Value>> {
    let tenant = auth.tenant.tenant.id;
    let roles = state.authz.user_roles(tenant, auth.user.id).await?;
    let mut permissions = Vec::new();
    for permission in Permission::ALL {
        if state.authz.has_permission(tenant, auth.user.id, permission.as_str()).await? {
            permissions.push(permission.as_str());
        }
    }
    Ok(Json(json!({
        "user": auth.user,
        "tenant": { "id": tenant, "slug": auth.tenant.tenant.slug, "name": auth.tenant.tenant.name },
        "roles": roles,
        "permissions": permissions,
        "csrf_token": auth.session.csrf_token,
    })))
}
