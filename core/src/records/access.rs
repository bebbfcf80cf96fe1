//! Who is asking, and what they may do: record-level rights through casbin (`collection:<name>`
//! with `read`, `create`, `update`, `delete`), permissions required by collections, fields and
//! transitions, and the account scope of client users.

use std::collections::HashSet;

use socle_marketplace::schema::{CollectionDef, FieldDef, TransitionDef, compute};
use socle_tenants::roles::UserType;
use socle_tenants::{Actor, TenantId};
use uuid::Uuid;

use super::RecordError;
use crate::authz::{Authorizer, names};

/// The permission of the tenant's own people (`equipe`): held by every user who is not a client
/// (staff, technicians, partners, resellers), by plugins and by the platform, never by a client,
/// whatever their roles. Schemas put it on what only the team may set or do: a ticket's level and
/// assignee, its "take charge" transition, an internal view.
pub const STAFF: &str = "equipe";

/// The permission of the tenant's clients (`client`): held by users of type client only, never
/// granted through roles. Workspaces put it on what is made for clients (their home's widgets,
/// their navigation), so the team does not see the client's screens in theirs.
pub const CLIENT: &str = socle_marketplace::workspace::CLIENT_ONLY;

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
    /// A plugin acting with the grants the tenant gave it, within what its manifest declared.
    Plugin {
        /// Plugin id.
        id: String,
        /// The collections its manifest lets it reach (worked out once, when the tenant's
        /// plugins load).
        reach: std::sync::Arc<Reach>,
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
            Principal::User { id, .. } => Some(names::user(*id)),
            Principal::Plugin { id, .. } => Some(names::plugin(id)),
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

/// The collections a plugin's manifest lets it reach: what it declared (`records_read`,
/// `records_write`, `*` for any collection of the tenant's own or of the core), its own
/// collections, and those of the plugins it depends on. The tenant's grants are the other half,
/// checked with casbin by [`Access`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    read: Vec<String>,
    write: Vec<String>,
    owners: Vec<String>,
}

impl Reach {
    /// The reach of a manifest.
    pub fn of(manifest: &socle_marketplace::manifest::Manifest) -> Self {
        use socle_marketplace::manifest::Capability;
        let mut reach = Reach { owners: vec![manifest.plugin.id.clone(), "custom".into()], ..Reach::default() };
        reach.owners.extend(manifest.dependencies.keys().cloned());
        for capability in manifest.effective_capabilities() {
            match capability {
                Capability::RecordsRead { collections } => reach.read.extend(collections.iter().cloned()),
                Capability::RecordsWrite { collections } => reach.write.extend(collections.iter().cloned()),
                _ => {}
            }
        }
        reach
    }

    /// Whether the manifest lets the plugin `action` records of `collection`; the message says
    /// what is missing otherwise.
    pub fn check(&self, collection: &str, action: &str) -> Result<(), String> {
        // Another plugin's collections (`owner.name`) are reached only through a dependency.
        if let Some((owner, _)) = collection.split_once('.')
            && !self.owners.iter().any(|o| o == owner)
        {
            return Err(format!("`{collection}` belongs to the plugin `{owner}`, which this plugin does not depend on"));
        }
        let write = action != "read";
        let listed = |list: &[String]| list.iter().any(|c| c == "*" || c == collection);
        if listed(&self.write) || (!write && listed(&self.read)) {
            return Ok(());
        }
        let kind = if write { "records_write" } else { "records_read" };
        Err(format!("the manifest does not declare `{kind}` on `{collection}`"))
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
    /// [`STAFF`] is not granted through roles: every user who is not a client holds it.
    pub async fn has(&self, permission: &str) -> Result<bool, RecordError> {
        let client = matches!(self.caller.principal, Principal::User { user_type: UserType::Client, .. });
        if permission == STAFF {
            return Ok(!client);
        }
        if permission == CLIENT {
            return Ok(client);
        }
        match self.caller.subject() {
            None => Ok(true),
            Some(subject) => Ok(self.authz.enforce(self.caller.tenant, &subject, &names::permission(permission), crate::authz::USE).await?),
        }
    }

    /// Whether the caller may `action` (`read`, `create`, `update`, `delete`) records of
    /// `collection`, including the collection's own permission requirements.
    pub async fn can(&self, collection: &CollectionDef, action: &str) -> Result<bool, RecordError> {
        let Some(subject) = self.caller.subject() else { return Ok(true) };
        if let Principal::Plugin { reach, .. } = &self.caller.principal
            && reach.check(&collection.name, action).is_err()
        {
            return Ok(false);
        }
        if self.scope(collection) == Scope::Nothing {
            return Ok(false);
        }
        let allowed = self.authz.enforce(self.caller.tenant, &subject, &names::collection(&collection.name), action).await?;
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

    /// Fails with [`RecordError::Denied`] unless [`Self::can`]; a plugin is told what its
    /// manifest lacks.
    pub async fn require(&self, collection: &CollectionDef, action: &str) -> Result<(), RecordError> {
        if let Principal::Plugin { reach, .. } = &self.caller.principal
            && let Err(missing) = reach.check(&collection.name, action)
        {
            return Err(RecordError::Denied(missing));
        }
        if self.can(collection, action).await? { Ok(()) } else { Err(RecordError::Denied(format!("you may not {action} records of {}", collection.name))) }
    }

    /// The fields of `collection` the caller may read.
    ///
    /// A computed field is readable only with every field it is derived from: a margin derived
    /// from a hidden purchase price stays hidden, whatever the margin itself declares.
    pub async fn readable(&self, collection: &CollectionDef) -> Result<HashSet<String>, RecordError> {
        let mut fields = HashSet::new();
        for field in &collection.fields {
            if self.may_read(field).await? {
                fields.insert(field.name.clone());
            }
        }
        let derived_from_hidden: Vec<String> = collection
            .fields
            .iter()
            .filter(|f| f.compute.is_some() && fields.contains(&f.name))
            .filter(|f| compute::inputs_of(collection, f).iter().any(|input| !fields.contains(input)))
            .map(|f| f.name.clone())
            .collect();
        for name in derived_from_hidden {
            fields.remove(&name);
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

    /// Whether the caller may set `field` (reading it too; never a computed field).
    pub async fn may_write(&self, field: &FieldDef) -> Result<bool, RecordError> {
        if field.compute.is_some() || !self.may_read(field).await? {
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
