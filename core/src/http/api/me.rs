//! `GET /api/v1/me`: who the session belongs to, their roles, permissions and CSRF token.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use socle_tenants::{Permission, Slug, TenantId};

use crate::http::error::ApiResult;
use crate::http::extract::ApiUser;
use crate::http::json::Json;
use crate::http::state::AppState;
use crate::identity::User;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me))
}

/// The session's tenant, as the portal names it.
#[derive(Debug, Serialize)]
struct MeTenant {
    id: TenantId,
    slug: Slug,
    name: String,
}

/// Who the session belongs to: the user, their tenant, roles, permissions and CSRF token.
#[derive(Debug, Serialize)]
struct Me {
    user: User,
    tenant: MeTenant,
    roles: Vec<String>,
    permissions: Vec<&'static str>,
    csrf_token: String,
}

async fn me(State(state): State<AppState>, ApiUser(auth): ApiUser) -> ApiResult<Json<Me>> {
    let tenant = auth.tenant.tenant.id;
    let roles = state.authz.user_roles(tenant, auth.user.id).await?;
    let mut permissions = Vec::new();
    for permission in Permission::ALL {
        if state.authz.has_permission(tenant, auth.user.id, permission.as_str()).await? {
            permissions.push(permission.as_str());
        }
    }
    Ok(Json(Me {
        tenant: MeTenant { id: tenant, slug: auth.tenant.tenant.slug.clone(), name: auth.tenant.tenant.name.clone() },
        user: auth.user,
        roles,
        permissions,
        csrf_token: auth.session.csrf_token,
    }))
}
