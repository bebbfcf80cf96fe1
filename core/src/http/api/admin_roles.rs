//! `/api/v1/admin/roles`: business roles and the permissions they grant. A change applies at
//! once: the tenant's enforcer is dropped here and on every node.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use serde::Deserialize;
use socle_tenants::roles::{UserType, validate_role_key};
use socle_tenants::{Permission, TenantId, ValidationError};

use crate::authz::{RoleDef, Rule, role_permissions};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Api;
use crate::http::json::{Json, response};
use crate::http::state::AppState;
use crate::identity::members::RoleGrants;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/roles", get(list).post(create))
        .route("/roles/{key}", delete(remove))
        .route("/roles/{key}/permissions", put(set_permissions))
        .route_layer(axum::middleware::from_fn(super::admin_messages::localize))
}

fn check_permissions(keys: &[String]) -> Result<(), ValidationError> {
    for key in keys {
        key.parse::<Permission>().map_err(|_| {
            let known: Vec<&str> = Permission::ALL.iter().map(Permission::as_str).collect();
            ValidationError::new("permissions", format!("`{key}` is not a permission; known: {}", known.join(", ")))
        })?;
    }
    Ok(())
}

response!(#[doc = "The tenant's roles."] Roles { roles: Vec<RoleGrants> });

async fn roles_json(state: &AppState, tenant: TenantId) -> ApiResult<Roles> {
    Ok(Roles { roles: state.accounts.roles(tenant).await? })
}

async fn list(Api { state, auth }: Api) -> ApiResult<Json<Roles>> {
    auth.require(&state, Permission::Administrer).await?;
    Ok(Json(roles_json(&state, auth.tenant.tenant.id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    key: String,
    name_fr: String,
    name_en: Option<String>,
    user_types: Vec<UserType>,
    #[serde(default)]
    permissions: Vec<String>,
}

async fn create(Api { state, auth }: Api, Json(body): Json<CreateRequest>) -> ApiResult<Response> {
    auth.require(&state, Permission::Administrer).await?;
    validate_role_key(&body.key)?;
    check_permissions(&body.permissions)?;
    let name_ok = |n: &str| !n.trim().is_empty() && n.chars().count() <= 80;
    if !name_ok(&body.name_fr) || !body.name_en.as_deref().is_none_or(name_ok) {
        return Err(ValidationError::new("name_fr", "role names must be 1 to 80 characters").into());
    }
    let tenant = auth.tenant.tenant.id;
    let role = RoleDef {
        name_en: body.name_en.unwrap_or_else(|| body.name_fr.clone()),
        key: body.key,
        name_fr: body.name_fr,
        user_types: body.user_types,
        builtin: false,
    };
    state.policies.create_role(tenant, &role, &body.permissions, &auth.actor()).await?;
    state.authz.changed(tenant, state.bus.as_ref()).await;
    Ok((StatusCode::CREATED, Json(roles_json(&state, tenant).await?)).into_response())
}

async fn remove(Api { state, auth }: Api, Path(key): Path<String>) -> ApiResult<StatusCode> {
    auth.require(&state, Permission::Administrer).await?;
    let tenant = auth.tenant.tenant.id;
    state.policies.delete_role(tenant, &key, &auth.actor()).await?;
    state.authz.changed(tenant, state.bus.as_ref()).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionsRequest {
    permissions: Vec<String>,
}

async fn set_permissions(Api { state, auth }: Api, Path(key): Path<String>, Json(body): Json<PermissionsRequest>) -> ApiResult<Json<Roles>> {
    auth.require(&state, Permission::Administrer).await?;
    check_permissions(&body.permissions)?;
    let tenant = auth.tenant.tenant.id;
    if !state.policies.roles(tenant).await?.iter().any(|r| r.key == key) {
        return Err(ApiError::not_found("role_not_found", format!("role `{key}` does not exist in this tenant")));
    }
    // An administrator removing "administrer" from their own last admin role would lock the
    // tenant out; refuse it.
    let own_roles = state.authz.user_roles(tenant, auth.user.id).await?;
    if own_roles.contains(&key) && !body.permissions.iter().any(|p| p == Permission::Administrer.as_str()) {
        let rules = state.policies.rules(tenant).await?;
        let keeps_admin = own_roles.iter().filter(|r| **r != key).any(|r| role_permissions(&rules, r).iter().any(|p| p == Permission::Administrer.as_str()));
        if !keeps_admin {
            return Err(ApiError::conflict(
                "would_lock_out",
                "this would remove your own \"administrer\" permission; give it to you through another role first",
            ));
        }
    }
    let rules = state.policies.rules(tenant).await?;
    let current: Vec<Rule> = role_permissions(&rules, &key).iter().map(|p| Rule::role_permission(tenant, &key, p)).collect();
    let wanted: Vec<Rule> = body.permissions.iter().map(|p| Rule::role_permission(tenant, &key, p)).collect();
    let to_revoke: Vec<Rule> = current.iter().filter(|r| !wanted.contains(r)).cloned().collect();
    let to_grant: Vec<Rule> = wanted.iter().filter(|r| !current.contains(r)).cloned().collect();
    let actor = auth.actor();
    state.policies.change(tenant, &to_revoke, &to_grant, &actor).await?;
    state.authz.changed(tenant, state.bus.as_ref()).await;
    Ok(Json(roles_json(&state, tenant).await?))
}
