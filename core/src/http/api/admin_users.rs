//! `/api/v1/admin/users`: tenant administrators manage their users and roles. Every lookup takes
//! the administrator's own tenant, so another tenant's user ids are simply not found.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use socle_tenants::roles::UserType;
use socle_tenants::{Locale, Permission};

use crate::error::StoreError;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::parse_id;
use crate::http::extract::{Api, Authenticated};
use crate::http::json::{Json, response};
use crate::http::state::AppState;
use crate::identity::accounts::{self, CreateUser};
use crate::identity::members::Member;
use crate::identity::{User, UserStatus, UserUpdate};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", get(show).patch(update).delete(remove))
        .route("/users/{id}/roles", put(set_roles))
        .route("/users/{id}/password-reset", post(password_reset))
        .route_layer(axum::middleware::from_fn(super::admin_messages::localize))
}

async fn admin(state: &AppState, auth: &Authenticated) -> ApiResult<()> {
    auth.require(state, Permission::Administrer).await
}

async fn find(state: &AppState, auth: &Authenticated, id: &str) -> ApiResult<User> {
    let id = parse_id(id, "user")?;
    state.accounts.find_user(auth.tenant.tenant.id, id).await.map_err(|e| match e {
        StoreError::NotFound(message) => ApiError::not_found("user_not_found", message),
        other => other.into(),
    })
}

async fn with_roles(state: &AppState, user: &User) -> ApiResult<Member> {
    Ok(state.accounts.member(user.clone()).await?)
}

response!(#[doc = "The tenant's users."] Members { users: Vec<Member> });

async fn list(Api { state, auth }: Api) -> ApiResult<Json<Members>> {
    admin(&state, &auth).await?;
    Ok(Json(Members { users: state.accounts.members(auth.tenant.tenant.id).await? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    email: String,
    display_name: String,
    user_type: UserType,
    #[serde(default)]
    roles: Vec<String>,
    /// A first password. Without one, the person is invited by mail to choose theirs (unless
    /// `invite` is false: then one is generated and answered, once).
    password: Option<String>,
    locale: Option<Locale>,
    /// The customer account (record id) a client user belongs to: required for clients.
    account: Option<uuid::Uuid>,
    /// Mail the invitation (default: when no password is given).
    invite: Option<bool>,
}

async fn create(Api { state, auth }: Api, Json(body): Json<CreateRequest>) -> ApiResult<Response> {
    admin(&state, &auth).await?;
    let tenant = &auth.tenant.tenant;
    // Checked before anything is created: roles that fit the type, a client's account.
    state.accounts.check_roles(tenant.id, body.user_type, &body.roles).await?;
    let account = match (body.user_type, body.account) {
        (UserType::Client, None) => {
            return Err(socle_tenants::ValidationError::new("account", "choose the customer account this client belongs to").into());
        }
        (UserType::Client, Some(account)) => Some(check_account(&state, tenant.id, account).await?),
        (_, Some(_)) => return Err(socle_tenants::ValidationError::new("account", "only client users belong to a customer account").into()),
        (_, None) => None,
    };
    let invite = body.invite.unwrap_or(body.password.is_none());
    let request = CreateUser {
        email: body.email,
        display_name: body.display_name,
        user_type: body.user_type,
        roles: body.roles,
        password: body.password,
        locale: body.locale,
    };
    let (mut user, generated) = state.accounts.create_user(tenant.id, request, &auth.actor()).await?;
    if account.is_some() {
        let update =
            UserUpdate { display_name: user.display_name.clone(), user_type: user.user_type, locale: user.locale, status: user.status, account_id: account };
        user = state.users.update(tenant.id, user.id, &update, &auth.actor()).await?;
    }
    if invite {
        state.accounts.invite(tenant, &user, &auth.user.display_name, &auth.actor()).await?;
    }
    let member = with_roles(&state, &user).await?;
    let generated_password = if invite { None } else { generated };
    Ok((StatusCode::CREATED, Json(Created { member, invited: invite, generated_password })).into_response())
}

response!(#[doc = "A new user: invited by mail, or with the password generated for them shown this once."] Created { #[serde(flatten)] member: Member, #[doc = "An invitation to choose a password was mailed."] invited: bool, #[serde(skip_serializing_if = "Option::is_none")] generated_password: Option<String> });

async fn show(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<Json<Member>> {
    admin(&state, &auth).await?;
    let user = find(&state, &auth, &id).await?;
    Ok(Json(with_roles(&state, &user).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    display_name: Option<String>,
    user_type: Option<UserType>,
    locale: Option<Option<Locale>>,
    status: Option<String>,
    /// The customer account (record id) of a client user; null detaches.
    account: Option<Option<uuid::Uuid>>,
}

async fn update(Api { state, auth }: Api, Path(id): Path<String>, Json(body): Json<UpdateRequest>) -> ApiResult<Json<Member>> {
    admin(&state, &auth).await?;
    let user = find(&state, &auth, &id).await?;
    let status = match body.status.as_deref() {
        None => user.status,
        Some("active") => UserStatus::Active,
        Some("disabled") => UserStatus::Disabled,
        Some(other) => {
            return Err(socle_tenants::ValidationError::new("status", format!("`{other}` is not a status; use active or disabled")).into());
        }
    };
    if status == UserStatus::Disabled && user.id == auth.user.id {
        return Err(ApiError::conflict("cannot_disable_self", "you cannot disable your own account"));
    }
    let user_type = body.user_type.unwrap_or(user.user_type);
    let tenant = auth.tenant.tenant.id;
    if user_type != user.user_type {
        let roles = state.authz.user_roles(tenant, user.id).await?;
        state.accounts.check_roles(tenant, user_type, &roles).await?;
    }
    let updated = state
        .users
        .update(
            tenant,
            user.id,
            &UserUpdate {
                display_name: body.display_name.unwrap_or_else(|| user.display_name.clone()),
                user_type,
                locale: body.locale.unwrap_or(user.locale),
                status,
                account_id: match body.account {
                    None => user.account_id,
                    Some(None) => None,
                    Some(Some(account)) => Some(check_account(&state, tenant, account).await?),
                },
            },
            &auth.actor(),
        )
        .await?;
    Ok(Json(with_roles(&state, &updated).await?))
}

/// The account must be a customer account record of this tenant.
async fn check_account(state: &AppState, tenant: socle_tenants::TenantId, account: uuid::Uuid) -> ApiResult<uuid::Uuid> {
    if state.records.exists(tenant, "customer_account", account).await? {
        Ok(account)
    } else {
        Err(socle_tenants::ValidationError::new("account", format!("{account} is not a customer account of this tenant")).into())
    }
}

async fn remove(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin(&state, &auth).await?;
    let user = find(&state, &auth, &id).await?;
    if user.id == auth.user.id {
        return Err(ApiError::conflict("cannot_delete_self", "you cannot delete your own account"));
    }
    let tenant = auth.tenant.tenant.id;
    state.users.delete(tenant, user.id, &auth.actor()).await?;
    state.authz.changed(tenant, state.bus.as_ref()).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesRequest {
    roles: Vec<String>,
}

async fn set_roles(Api { state, auth }: Api, Path(id): Path<String>, Json(body): Json<RolesRequest>) -> ApiResult<Json<Member>> {
    admin(&state, &auth).await?;
    let user = find(&state, &auth, &id).await?;
    state.accounts.set_user_roles(auth.tenant.tenant.id, &user, &body.roles, &auth.actor()).await?;
    Ok(Json(with_roles(&state, &user).await?))
}

response!(
    #[doc = "A password reset link to hand to the user."]
    ResetLink { reset_link: String, expires_in_secs: u64 }
);

async fn password_reset(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<Json<ResetLink>> {
    admin(&state, &auth).await?;
    let user = find(&state, &auth, &id).await?;
    let link = state.accounts.start_password_reset(&auth.tenant.tenant, &user, &auth.actor()).await?;
    Ok(Json(ResetLink { reset_link: link, expires_in_secs: accounts::RESET_TTL.as_secs() }))
}
