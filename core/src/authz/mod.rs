//! Authorization with casbin: RBAC with domains, the domain being the tenant. Each tenant has its
//! own enforcer holding only its rules, built on first use and cached, so a decision never scans
//! other tenants' rules. A policy change drops the tenant's enforcer on this node at once and on
//! every other node through the bus.
//!
//! Subjects are `user:<uuid>`, `role:<key>` and `plugin:<id>`; objects are permissions
//! (`perm:voir_marge`) or resources (`collection:ticket`); a user holds roles through `g` rules.

mod adapter;
pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use casbin::{CoreApi as _, DefaultModel, Enforcer};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use socle_tenants::roles::{TEMPLATES, UserType};
use socle_tenants::{Actor, Locale, TenantId};
use uuid::Uuid;

pub use adapter::TenantPolicyAdapter;

use crate::bus::{Bus, topics};
use crate::error::StoreError;

/// The casbin model: RBAC with domains; objects may use `keyMatch` wildcards (`collection:*`) and
/// actions `*`.
pub const MODEL: &str = r#"
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && keyMatch(r.obj, p.obj) && (r.act == p.act || p.act == "*")
"#;

/// The action used for permission objects.
pub const USE: &str = "use";

/// The casbin names of subjects and objects: the only place they are spelled. Subjects are
/// users, roles and plugins; objects are permissions, collections and the host capabilities a
/// tenant grants plugins.
pub mod names {
    use uuid::Uuid;

    /// A tenant user.
    pub fn user(id: Uuid) -> String {
        format!("user:{id}")
    }

    /// A business role.
    pub fn role(key: &str) -> String {
        format!("role:{key}")
    }

    /// A plugin, acting with what its tenant granted it.
    pub fn plugin(id: &str) -> String {
        format!("plugin:{id}")
    }

    /// A permission object.
    pub fn permission(key: &str) -> String {
        format!("perm:{key}")
    }

    /// A collection object (`*` for every collection).
    pub fn collection(name: &str) -> String {
        format!("collection:{name}")
    }

    /// A host capability without a target (`kv`, `config`, `events`, `mail`…).
    pub fn capability(kind: &str) -> String {
        format!("cap:{kind}")
    }

    /// Outbound HTTP to one host.
    pub fn http_host(host: &str) -> String {
        format!("cap:http:{host}")
    }

    /// One connector (an operator's or a billing system's API behind the platform).
    pub fn connector(name: &str) -> String {
        format!("cap:connector:{name}")
    }

    /// Reading the files attached to one collection's records.
    pub fn files(collection: &str) -> String {
        format!("cap:files:{collection}")
    }
}

/// One casbin rule of one tenant: `p, sub, dom, obj, act` or `g, user, role, dom`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rule {
    /// `p` (permission) or `g` (role membership).
    pub ptype: String,
    /// The rule's fields, at most six.
    pub values: Vec<String>,
}

impl Rule {
    /// `p, <subject>, <tenant>, <object>, <action>`.
    pub fn allow(tenant: TenantId, subject: &str, object: &str, action: &str) -> Self {
        Self { ptype: "p".into(), values: vec![subject.into(), tenant.to_string(), object.into(), action.into()] }
    }

    /// `p, role:<role>, <tenant>, perm:<permission>, use`.
    pub fn role_permission(tenant: TenantId, role: &str, permission: &str) -> Self {
        Self::allow(tenant, &names::role(role), &names::permission(permission), USE)
    }

    /// `g, <member>, <group>, <tenant>`.
    pub fn member(tenant: TenantId, member: &str, group: &str) -> Self {
        Self { ptype: "g".into(), values: vec![member.into(), group.into(), tenant.to_string()] }
    }

    /// Checks the rule is well formed and belongs to `tenant` (its domain field is the tenant).
    pub fn check(&self, tenant: TenantId) -> Result<(), StoreError> {
        let domain_index = match self.ptype.as_str() {
            "p" if self.values.len() == 4 => 1,
            "g" if self.values.len() == 3 => 2,
            _ => {
                return Err(StoreError::Invalid(socle_tenants::ValidationError::new(
                    "rule",
                    format!("`{}` rules need {} fields", self.ptype, if self.ptype == "g" { 3 } else { 4 }),
                )));
            }
        };
        if self.values[domain_index] != tenant.to_string() {
            return Err(StoreError::Invalid(socle_tenants::ValidationError::new("rule", "a rule's domain must be the tenant it is stored for")));
        }
        if self.values.iter().any(|v| v.is_empty() || v.len() > 200) {
            return Err(StoreError::Invalid(socle_tenants::ValidationError::new("rule", "rule fields must be 1 to 200 characters")));
        }
        Ok(())
    }

    /// The value of field `i`, or empty.
    pub fn value(&self, i: usize) -> &str {
        self.values.get(i).map_or("", String::as_str)
    }
}

/// A business role of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDef {
    /// Key used in rules.
    pub key: String,
    /// French name.
    pub name_fr: String,
    /// English name.
    pub name_en: String,
    /// User types allowed to hold it.
    pub user_types: Vec<UserType>,
    /// Whether it came from the templates (it can be changed, not deleted).
    pub builtin: bool,
}

impl RoleDef {
    /// The name in `locale`.
    pub fn name(&self, locale: Locale) -> &str {
        match locale {
            Locale::Fr => &self.name_fr,
            Locale::En => &self.name_en,
        }
    }
}

/// The permissions (keys) role `key` grants, read from the tenant's rules.
pub fn role_permissions(rules: &[Rule], key: &str) -> Vec<String> {
    let role = names::role(key);
    rules.iter().filter(|r| r.ptype == "p" && r.value(0) == role).filter_map(|r| r.value(2).strip_prefix("perm:").map(str::to_owned)).collect()
}

/// The roles every new tenant gets.
pub fn template_roles() -> Vec<RoleDef> {
    TEMPLATES
        .iter()
        .map(|t| RoleDef { key: t.key.into(), name_fr: t.name_fr.into(), name_en: t.name_en.into(), user_types: t.user_types.to_vec(), builtin: true })
        .collect()
}

/// The permission and record rules every new tenant gets.
pub fn template_rules(tenant: TenantId) -> Vec<Rule> {
    let permissions = TEMPLATES.iter().flat_map(|t| t.permissions.iter().map(move |p| Rule::role_permission(tenant, t.key, p.as_str())));
    let records = TEMPLATES.iter().flat_map(|t| t.records.iter().map(move |action| Rule::allow(tenant, &names::role(t.key), &names::collection("*"), action)));
    permissions.chain(records).collect()
}

/// Storage of roles and rules.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// Every rule of the tenant.
    async fn rules(&self, tenant: TenantId) -> Result<Vec<Rule>, StoreError>;
    /// Removes `revoke` and adds `grant` in one transaction (existing rules are skipped); returns
    /// how many rules were removed and added.
    async fn change(&self, tenant: TenantId, revoke: &[Rule], grant: &[Rule], by: &Actor) -> Result<(usize, usize), StoreError>;
    /// Adds rules (existing ones are skipped); returns how many were new.
    async fn grant(&self, tenant: TenantId, rules: &[Rule], by: &Actor) -> Result<usize, StoreError> {
        Ok(self.change(tenant, &[], rules, by).await?.1)
    }
    /// Removes rules; returns how many existed.
    async fn revoke(&self, tenant: TenantId, rules: &[Rule], by: &Actor) -> Result<usize, StoreError> {
        Ok(self.change(tenant, rules, &[], by).await?.0)
    }
    /// Removes the rules of `ptype` whose fields from `field_index` on equal `values` (empty values
    /// match anything); returns how many were removed.
    async fn revoke_matching(&self, tenant: TenantId, ptype: &str, field_index: usize, values: &[String], by: &Actor) -> Result<usize, StoreError>;
    /// The tenant's roles.
    async fn roles(&self, tenant: TenantId) -> Result<Vec<RoleDef>, StoreError>;
    /// Creates a role with its permissions.
    async fn create_role(&self, tenant: TenantId, role: &RoleDef, permissions: &[String], by: &Actor) -> Result<(), StoreError>;
    /// Deletes a non-builtin role, its permissions and its memberships.
    async fn delete_role(&self, tenant: TenantId, key: &str, by: &Actor) -> Result<(), StoreError>;
    /// Replaces a user's roles.
    async fn set_user_roles(&self, tenant: TenantId, user: Uuid, roles: &[String], by: &Actor) -> Result<(), StoreError>;
}

/// A tenant's enforcer and its decision cache, tagged with the policy generation it was built at.
struct TenantEnforcer {
    enforcer: Enforcer,
    decisions: moka::sync::Cache<(String, String, String), bool>,
    generation: u64,
}

/// Decides, per tenant, whether a subject may do an action on an object.
pub struct Authorizer {
    store: Arc<dyn PolicyStore>,
    enforcers: moka::future::Cache<TenantId, Arc<TenantEnforcer>>,
    // Bumped on every change; an enforcer built before the bump is stale even if it was inserted
    // after the invalidation (a load racing with a change).
    generations: DashMap<TenantId, Arc<AtomicU64>>,
}

impl Authorizer {
    /// An authorizer reading rules from `store`.
    pub fn new(store: Arc<dyn PolicyStore>) -> Self {
        Self {
            store,
            enforcers: moka::future::Cache::builder().max_capacity(20_000).time_to_idle(Duration::from_secs(3600)).build(),
            generations: DashMap::new(),
        }
    }

    fn generation(&self, tenant: TenantId) -> Arc<AtomicU64> {
        self.generations.entry(tenant).or_default().clone()
    }

    async fn enforcer(&self, tenant: TenantId) -> anyhow::Result<Arc<TenantEnforcer>> {
        let generation = self.generation(tenant);
        loop {
            let current = generation.load(Ordering::SeqCst);
            let store = self.store.clone();
            let entry = self
                .enforcers
                .try_get_with(tenant, async move { build_enforcer(store, tenant, current).await.map(Arc::new) })
                .await
                .map_err(|e| anyhow::anyhow!("failed to load the policies of tenant {tenant}: {e:#}"))?;
            if entry.generation == generation.load(Ordering::SeqCst) {
                return Ok(entry);
            }
            self.enforcers.invalidate(&tenant).await;
        }
    }

    /// Whether `subject` may do `action` on `object` in `tenant`, answered from the tenant's
    /// decision cache when possible.
    pub async fn enforce(&self, tenant: TenantId, subject: &str, object: &str, action: &str) -> anyhow::Result<bool> {
        let entry = self.enforcer(tenant).await?;
        let key = (subject.to_owned(), object.to_owned(), action.to_owned());
        if let Some(decision) = entry.decisions.get(&key) {
            return Ok(decision);
        }
        let decision = entry
            .enforcer
            .enforce((subject, tenant.to_string().as_str(), object, action))
            .with_context(|| format!("casbin failed to decide for tenant {tenant}"))?;
        entry.decisions.insert(key, decision);
        Ok(decision)
    }

    /// The same decision, always evaluated by casbin (benchmarks compare it with [`Self::enforce`]).
    pub async fn enforce_uncached(&self, tenant: TenantId, subject: &str, object: &str, action: &str) -> anyhow::Result<bool> {
        let entry = self.enforcer(tenant).await?;
        entry.enforcer.enforce((subject, tenant.to_string().as_str(), object, action)).with_context(|| format!("casbin failed to decide for tenant {tenant}"))
    }

    /// Whether user `user` holds `permission` (a key such as `voir_marge`) in `tenant`.
    pub async fn has_permission(&self, tenant: TenantId, user: Uuid, permission: &str) -> anyhow::Result<bool> {
        self.enforce(tenant, &names::user(user), &names::permission(permission), USE).await
    }

    /// The roles (keys) `user` holds in `tenant`.
    pub async fn user_roles(&self, tenant: TenantId, user: Uuid) -> anyhow::Result<Vec<String>> {
        let entry = self.enforcer(tenant).await?;
        let subject = names::user(user);
        let domain = tenant.to_string();
        let roles = casbin::RbacApi::get_roles_for_user(&entry.enforcer, &subject, Some(&domain));
        Ok(roles.into_iter().filter_map(|r| r.strip_prefix("role:").map(str::to_owned)).collect())
    }

    /// Drops this node's enforcer for `tenant` (the next decision reloads its rules).
    pub fn invalidate_local(&self, tenant: TenantId) {
        self.generation(tenant).fetch_add(1, Ordering::SeqCst);
        self.enforcers.invalidate_entries_if(move |t, _| *t == tenant).ok();
    }

    /// Call after changing a tenant's rules: drops the enforcer here and on every node.
    pub async fn changed(&self, tenant: TenantId, bus: &dyn Bus) {
        self.invalidate_local(tenant);
        if let Err(err) = bus.publish(topics::AUTHZ_CHANGED, &tenant.to_string()).await {
            // Other nodes still rebuild when their cached enforcer goes idle; log loudly.
            tracing::error!(tenant.id = %tenant, error = format!("{err:#}"), "failed to broadcast a policy change");
        }
    }

    /// Listens to the bus and drops enforcers other nodes changed.
    pub fn listen(self: &Arc<Self>, bus: &dyn Bus) -> tokio::task::JoinHandle<()> {
        crate::bus::invalidate_on(bus, topics::AUTHZ_CHANGED, self)
    }
}

async fn build_enforcer(store: Arc<dyn PolicyStore>, tenant: TenantId, generation: u64) -> anyhow::Result<TenantEnforcer> {
    let model = DefaultModel::from_str(MODEL).await.context("the casbin model is invalid")?;
    let enforcer =
        Enforcer::new(model, TenantPolicyAdapter::new(store, tenant)).await.with_context(|| format!("failed to build the enforcer of tenant {tenant}"))?;
    Ok(TenantEnforcer { enforcer, decisions: moka::sync::Cache::new(10_000), generation })
}

#[async_trait]
impl crate::bus::TenantCache for Authorizer {
    async fn invalidate_tenant(&self, tenant: TenantId) {
        self.invalidate_local(tenant);
    }

    async fn invalidate_everything(&self) {
        for entry in self.generations.iter() {
            entry.value().fetch_add(1, Ordering::SeqCst);
        }
        self.enforcers.invalidate_all();
    }
}
