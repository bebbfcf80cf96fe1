//! `GET /api/v1/me`: who the session belongs to, their roles, permissions and CSRF token.

use axum::Router;
use axum::routing::get;
use socle_tenants::{Permission, Slug, TenantId};

use crate::http::error::ApiResult;
use crate::http::extract::Api;
use crate::http::json::{Json, response};
use crate::http::state::AppState;
use crate::identity::User;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me))
}

response!(
    #[doc = "The session's tenant, as the portal names it."]
    MeTenant { id: TenantId, slug: Slug, name: String }
);

response!(#[doc = "Who the session belongs to: the user, their tenant, roles, permissions and CSRF token."] Me { user: User, tenant: MeTenant, roles: Vec<String>, permissions: Vec<&'static str>, csrf_token: String });

async fn me(Api { state, auth }: Api) -> ApiResult<Json<Me>> {
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
