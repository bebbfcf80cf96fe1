//! The people of a tenant as its administrators see them: users with their roles, and the
//! tenant's roles with the permissions each grants. Read by the admin console and the JSON API
//! alike.

use serde::Serialize;
use socle_tenants::TenantId;

use super::User;
use super::accounts::Accounts;
use crate::authz::{RoleDef, role_permissions};
use crate::error::StoreError;

/// A user and the business roles they hold.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// The user.
    pub user: User,
    /// Role keys.
    pub roles: Vec<String>,
}

/// A role and the permissions it grants.
#[derive(Debug, Clone, Serialize)]
pub struct RoleGrants {
    /// The role.
    pub role: RoleDef,
    /// Permission keys.
    pub permissions: Vec<String>,
}

impl Accounts {
    /// The user `id` of `tenant` (another tenant's user is not found, like a missing one).
    pub async fn find_user(&self, tenant: TenantId, id: uuid::Uuid) -> Result<User, StoreError> {
        self.users.get(tenant, id).await?.ok_or_else(|| StoreError::NotFound(format!("user `{id}` does not exist in this tenant")))
    }

    /// A user with their roles.
    pub async fn member(&self, user: User) -> Result<Member, StoreError> {
        let roles = self.authz.user_roles(user.tenant_id, user.id).await?;
        Ok(Member { user, roles })
    }

    /// Every user of the tenant with their roles.
    pub async fn members(&self, tenant: TenantId) -> Result<Vec<Member>, StoreError> {
        let users = self.users.list(tenant).await?;
        let mut members = Vec::with_capacity(users.len());
        for user in users {
            members.push(self.member(user).await?);
        }
        Ok(members)
    }

    /// The tenant's roles with their permissions.
    pub async fn roles(&self, tenant: TenantId) -> Result<Vec<RoleGrants>, StoreError> {
        let roles = self.policies.roles(tenant).await?;
        let rules = self.policies.rules(tenant).await?;
        Ok(roles.into_iter().map(|role| RoleGrants { permissions: role_permissions(&rules, &role.key), role }).collect())
    }
}
