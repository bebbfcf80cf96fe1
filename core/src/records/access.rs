//! Who is asking, and what they may do: record-level rights through casbin (`collection:<name>`
//! with `read`, `create`, `update`, `delete`), permissions required by collections, fields and
//! transitions, and the account scope of client users.

use std::collections::HashSet;

use socle_marketplace::schema::{CollectionDef, FieldDef, TransitionDef};
use socle_tenants::roles::UserType;
use socle_tenants::{Actor, TenantId};
use uuid::Uuid;

use super::RecordError;
use crate::authz::{Authorizer, subject};

/// The identity behind a record operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A tenant user.
    User {
        /// User id.
        id: Uuid,
        /// Level 1 of the role model.
        user_type: UserType,
        /// The customer account a client user belongs to.
        account: Option<Uuid>,
    },
    /// A plugin acting with the grants the tenant gave it.
    Plugin {
        /// Plugin id.
        id: String,
    },
    /// The platform itself (timers, jobs): every right.
    System,
}

/// A caller: tenant, identity, and how the journal names them.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant acted on.
    pub tenant: TenantId,
    /// Who (history, journal).
    pub actor: Actor,
    /// Identity for rights.
    pub principal: Principal,
}

impl Caller {
    /// The platform acting for `tenant` (`what` names the mechanism in the journal).
    pub fn system(tenant: TenantId, what: &str) -> Self {
        Self { tenant, actor: Actor::system(what), principal: Principal::System }
    }

    /// The casbin subject, if rights apply.
    pub fn subject(&self) -> Option<String> {
        match &self.principal {
            Principal::User { id, .. } => Some(subject::user(*id)),
            Principal::Plugin { id } => Some(format!("plugin:{id}")),
            Principal::System => None,
        }
    }

    /// The user id, for users.
    pub fn user_id(&self) -> Option<Uuid> {
        match &self.principal {
            Principal::User { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// The account restriction of a caller on a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record of the tenant.
    All,
    /// Only records whose `field` is `account` (`id` for the account collection itself).
    Account {
        /// The scope field.
        field: String,
        /// The account.
        account: Uuid,
    },
    /// None (a client user on a collection without a scope field).
    Nothing,
}

/// Rights of one caller, evaluated through the tenant's enforcer (and its decision cache).
pub struct Access<'a> {
    authz: &'a Authorizer,
    caller: &'a Caller,
}

impl<'a> Access<'a> {
    /// Rights of `caller`.
    pub fn new(authz: &'a Authorizer, caller: &'a Caller) -> Self {
        Self { authz, caller }
    }

    /// Whether the caller holds `permission`.
    pub async fn has(&self, permission: &str) -> Result<bool, RecordError> {
        match self.caller.subject() {
            None => Ok(true),
            Some(subject) => Ok(self.authz.enforce(self.caller.tenant, &subject, &subject::permission(permission), crate::authz::USE).await?),
        }
    }

    /// Whether the caller may `action` (`read`, `create`, `update`, `delete`) records of
    /// `collection`, including the collection's own permission requirements.
    pub async fn can(&self, collection: &CollectionDef, action: &str) -> Result<bool, RecordError> {
        let Some(subject) = self.caller.subject() else { return Ok(true) };
        if self.scope(collection) == Scope::Nothing {
            return Ok(false);
        }
        let allowed = self.authz.enforce(self.caller.tenant, &subject, &subject::collection(&collection.name), action).await?;
        if !allowed {
            return Ok(false);
        }
        let required = if action == "read" { &collection.read_permission } else { &collection.write_permission };
        match required {
            Some(p) => self.has(p).await,
            None if action != "read" => match &collection.read_permission {
                Some(p) => self.has(p).await,
                None => Ok(true),
            },
            None => Ok(true),
        }
    }

    /// Fails with [`RecordError::Denied`] unless [`Self::can`].
    pub async fn require(&self, collection: &CollectionDef, action: &str) -> Result<(), RecordError> {
        if self.can(collection, action).await? { Ok(()) } else { Err(RecordError::Denied(format!("you may not {action} records of {}", collection.name))) }
    }

    /// The fields of `collection` the caller may read.
    pub async fn readable(&self, collection: &CollectionDef) -> Result<HashSet<String>, RecordError> {
        let mut fields = HashSet::new();
        for field in &collection.fields {
            if self.may_read(field).await? {
                fields.insert(field.name.clone());
            }
        }
        Ok(fields)
    }

    /// Whether the caller may read `field`.
    pub async fn may_read(&self, field: &FieldDef) -> Result<bool, RecordError> {
        match &field.read_permission {
            Some(p) => self.has(p).await,
            None => Ok(true),
        }
    }

    /// Whether the caller may set `field` (reading it too).
    pub async fn may_write(&self, field: &FieldDef) -> Result<bool, RecordError> {
        if !self.may_read(field).await? {
            return Ok(false);
        }
        match &field.write_permission {
            Some(p) => self.has(p).await,
            None => Ok(true),
        }
    }

    /// Whether the caller may fire `transition`.
    pub async fn may_fire(&self, transition: &TransitionDef) -> Result<bool, RecordError> {
        match &transition.permission {
            Some(p) => self.has(p).await,
            None => Ok(true),
        }
    }

    /// The caller's account scope on `collection`.
    pub fn scope(&self, collection: &CollectionDef) -> Scope {
        match &self.caller.principal {
            Principal::User { user_type: UserType::Client, account, .. } => match (&collection.scope_field, account) {
                (Some(field), Some(account)) => Scope::Account { field: field.clone(), account: *account },
                _ => Scope::Nothing,
            },
            _ => Scope::All,
        }
    }

    /// Whether a record's data falls in the caller's scope.
    pub fn in_scope(&self, collection: &CollectionDef, id: Uuid, data: &serde_json::Map<String, serde_json::Value>) -> bool {
        match self.scope(collection) {
            Scope::All => true,
            Scope::Nothing => false,
            Scope::Account { field, account } if field == "id" => id == account,
            Scope::Account { field, account } => data.get(&field).and_then(|v| v.as_str()) == Some(account.to_string().as_str()),
        }
    }
}
