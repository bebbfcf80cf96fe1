//! What a tenant grants a plugin — both halves of a grant, in one place. A manifest declares
//! capabilities; the tenant administrator grants them one target at a time (each collection,
//! each host, each permission is its own grant), so "read customer accounts" can be granted while
//! "write invoices" is not. Grants are casbin rules with the plugin's subject in the tenant's
//! domain ([`crate::authz::names`] spells them); a plugin's own collections are always its own
//! and need no grant.
//!
//! When a tenant's plugins load, [`Granter::granted`] works out, per plugin, which declared grants
//! the tenant holds ([`Granted`]); a host call is then a lookup in that set.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Serialize;
use socle_marketplace::manifest::{Capability, Manifest};
use socle_marketplace::schema::Label;
use socle_tenants::{Actor, TenantId};

use crate::authz::{Authorizer, PolicyStore, Rule, USE, names};
use crate::bus::Bus;

/// One grantable unit of a declared capability.
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    /// Stable key: `kv`, `records_read:customer_account`, `http:api.example.fr`,
    /// `permissions:voir_marge`.
    pub key: String,
    /// The capability, narrowed to this one target.
    #[serde(flatten)]
    pub capability: Capability,
    /// Why the plugin asks for it.
    pub reason: Label,
    /// Risk score, 0–10.
    pub risk: u8,
}

/// A declared grant and whether the tenant granted it.
#[derive(Debug, Clone, Serialize)]
pub struct GrantState {
    /// The grant.
    #[serde(flatten)]
    pub grant: Grant,
    /// Whether it is granted.
    pub granted: bool,
}

/// The key of a grant: its kind, and its target if it has one.
pub fn key(kind: &str, target: Option<&str>) -> String {
    match target {
        Some(target) => format!("{kind}:{target}"),
        None => kind.to_owned(),
    }
}

/// How messages name a grant: "the `kv` capability", "`http` to `api.example.fr`".
pub fn phrase(kind: &str, target: Option<&str>) -> String {
    match (kind, target) {
        (kind, None) => format!("the `{kind}` capability"),
        ("http", Some(host)) => format!("`http` to `{host}`"),
        ("connectors", Some(name)) => format!("the connector `{name}`"),
        ("permissions", Some(permission)) => format!("the permission `{permission}`"),
        (kind, Some(target)) => format!("`{kind}` on `{target}`"),
    }
}

/// The grantable units of a manifest's declared capabilities.
pub fn declared(manifest: &Manifest) -> Vec<Grant> {
    let mut grants = Vec::new();
    for request in &manifest.capabilities {
        for (target, capability) in request.capability.per_target() {
            let risk = capability.risk();
            grants.push(Grant { key: key(capability.kind(), target.as_deref()), capability, reason: request.reason.clone(), risk });
        }
    }
    grants
}

/// The casbin rules that grant a capability to a plugin in a tenant.
pub fn capability_rules(tenant: TenantId, plugin: &str, capability: &Capability) -> Vec<Rule> {
    let subject = names::plugin(plugin);
    let allow = |object: String, action: &str| Rule::allow(tenant, &subject, &object, action);
    match capability {
        Capability::RecordsRead { collections } => collections.iter().map(|c| allow(names::collection(c), "read")).collect(),
        Capability::RecordsWrite { collections } => {
            collections.iter().flat_map(|c| ["read", "create", "update", "delete"].map(|a| allow(names::collection(c), a))).collect()
        }
        Capability::Http { hosts } => hosts.iter().map(|h| allow(names::http_host(h), USE)).collect(),
        Capability::Permissions { permissions } => permissions.iter().map(|p| allow(names::permission(p), USE)).collect(),
        Capability::Connectors { connectors } => connectors.iter().map(|c| allow(names::connector(c), USE)).collect(),
        Capability::FilesRead { collections } => collections.iter().map(|c| allow(names::files(c), USE)).collect(),
        other => vec![allow(names::capability(other.kind()), USE)],
    }
}

/// The rules a plugin holds with `keys` granted (`None`: every declared grant), its own
/// collections included.
pub fn rules(tenant: TenantId, manifest: &Manifest, keys: Option<&BTreeSet<String>>) -> Result<Vec<Rule>, String> {
    let declared = declared(manifest);
    if let Some(keys) = keys
        && let Some(unknown) = keys.iter().find(|k| !declared.iter().any(|g| &g.key == *k))
    {
        let known: Vec<&str> = declared.iter().map(|g| g.key.as_str()).collect();
        return Err(format!(
            "{}@{} does not declare `{unknown}`; its grants are: {}",
            manifest.plugin.id,
            manifest.plugin.version,
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        ));
    }
    let id = &manifest.plugin.id;
    let own: Vec<String> = manifest.collections.iter().map(|c| c.name.clone()).collect();
    let mut rules: Vec<Rule> = if own.is_empty() { Vec::new() } else { capability_rules(tenant, id, &Capability::RecordsWrite { collections: own }) };
    for grant in declared.iter().filter(|g| keys.is_none_or(|k| k.contains(&g.key))) {
        for rule in capability_rules(tenant, id, &grant.capability) {
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    Ok(rules)
}

/// What one plugin may use in one tenant: the grants its manifest declares and, of those, the
/// ones the tenant granted.
#[derive(Debug, Clone, Default)]
pub struct Granted {
    /// Declared grant keys → granted.
    grants: HashMap<String, bool>,
}

impl Granted {
    /// Whether the grant `key(kind, target)` may be used; the message says which half is missing.
    pub fn check(&self, kind: &str, target: Option<&str>) -> Result<(), String> {
        match self.grants.get(&key(kind, target)) {
            Some(true) => Ok(()),
            Some(false) => Err(format!("the tenant has not granted {}", phrase(kind, target))),
            None => Err(format!("the manifest does not declare {}", phrase(kind, target))),
        }
    }

    /// Whether the manifest declares any grant of `kind`.
    pub fn declares_kind(&self, kind: &str) -> bool {
        self.grants.keys().any(|k| k == kind || k.strip_prefix(kind).is_some_and(|rest| rest.starts_with(':')))
    }
}

impl From<&[GrantState]> for Granted {
    fn from(states: &[GrantState]) -> Self {
        Self { grants: states.iter().map(|s| (s.grant.key.clone(), s.granted)).collect() }
    }
}

/// Reads and changes what tenants grant plugins.
#[derive(Clone)]
pub struct Granter {
    policies: Arc<dyn PolicyStore>,
    authz: Arc<Authorizer>,
    bus: Arc<dyn Bus>,
}

/// Why grants could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum SetGrantsError {
    /// A key the manifest does not declare.
    #[error("{0}")]
    Unknown(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] anyhow::Error),
}

impl Granter {
    /// A granter over the tenants' rules.
    pub fn new(policies: Arc<dyn PolicyStore>, authz: Arc<Authorizer>, bus: Arc<dyn Bus>) -> Self {
        Self { policies, authz, bus }
    }

    /// The rules a plugin holds now in a tenant.
    pub async fn held(&self, tenant: TenantId, plugin: &str) -> anyhow::Result<Vec<Rule>> {
        let subject = names::plugin(plugin);
        Ok(self.policies.rules(tenant).await?.into_iter().filter(|r| r.value(0) == subject).collect())
    }

    /// The declared grants of a plugin and which the tenant granted.
    pub async fn states(&self, tenant: TenantId, manifest: &Manifest) -> anyhow::Result<Vec<GrantState>> {
        let held = self.held(tenant, &manifest.plugin.id).await?;
        Ok(declared(manifest)
            .into_iter()
            .map(|grant| {
                let granted = capability_rules(tenant, &manifest.plugin.id, &grant.capability).iter().all(|r| held.contains(r));
                GrantState { grant, granted }
            })
            .collect())
    }

    /// What a plugin may use in a tenant (worked out when the tenant's plugins load).
    pub async fn granted(&self, tenant: TenantId, manifest: &Manifest) -> anyhow::Result<Granted> {
        Ok(Granted::from(self.states(tenant, manifest).await?.as_slice()))
    }

    /// Replaces what the tenant grants an installed plugin with `keys`, in one policy change.
    /// The plugin runtime drops its view of the tenant's plugins afterwards.
    pub async fn set(&self, tenant: TenantId, manifest: &Manifest, keys: &BTreeSet<String>, by: &Actor) -> Result<Vec<GrantState>, SetGrantsError> {
        let wanted = rules(tenant, manifest, Some(keys)).map_err(SetGrantsError::Unknown)?;
        self.hold(tenant, &manifest.plugin.id, &wanted, by).await?;
        tracing::info!(tenant.id = %tenant, plugin.id = %manifest.plugin.id, granted = keys.len(), "plugin grants changed");
        Ok(self.states(tenant, manifest).await?)
    }

    /// Makes `rules` exactly what the plugin holds in the tenant (installs, restores, uninstalls
    /// with no rules), in one policy change.
    pub async fn hold(&self, tenant: TenantId, plugin: &str, rules: &[Rule], by: &Actor) -> anyhow::Result<()> {
        let current = self.held(tenant, plugin).await?;
        let revoke: Vec<Rule> = current.iter().filter(|r| !rules.contains(r)).cloned().collect();
        let grant: Vec<Rule> = rules.iter().filter(|r| !current.contains(r)).cloned().collect();
        if revoke.is_empty() && grant.is_empty() {
            return Ok(());
        }
        self.policies.change(tenant, &revoke, &grant, by).await?;
        self.authz.changed(tenant, self.bus.as_ref()).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        socle_marketplace::manifest::Manifest::parse(
            r#"
data_classes = ["business"]

[plugin]
id = "demo"
version = "1.0.0"
publisher = "acme"
name = "Démo"
description = "Une extension qui demande un peu de tout."
api = "^1.0"

[[capabilities]]
capability = "kv"
reason = "Compter"

[[capabilities]]
capability = "http"
hosts = ["api.example.fr", "files.example.fr"]
reason = "Interroger les API"

[[capabilities]]
capability = "records_read"
collections = ["customer_account"]
reason = "Lire les comptes"
"#,
        )
        .unwrap()
    }

    #[test]
    fn each_target_is_its_own_grant_and_a_check_names_the_missing_half() {
        let keys: Vec<String> = declared(&manifest()).into_iter().map(|g| g.key).collect();
        assert_eq!(keys, ["kv", "http:api.example.fr", "http:files.example.fr", "records_read:customer_account"]);
        let states: Vec<GrantState> =
            declared(&manifest()).into_iter().map(|grant| GrantState { granted: grant.key != "http:files.example.fr", grant }).collect();
        let granted = Granted::from(states.as_slice());
        assert_eq!(granted.check("kv", None), Ok(()));
        assert_eq!(granted.check("http", Some("api.example.fr")), Ok(()));
        assert_eq!(granted.check("http", Some("files.example.fr")), Err("the tenant has not granted `http` to `files.example.fr`".into()));
        assert_eq!(granted.check("http", Some("evil.example")), Err("the manifest does not declare `http` to `evil.example`".into()));
        assert_eq!(granted.check("mail", None), Err("the manifest does not declare the `mail` capability".into()));
        assert!(granted.declares_kind("http") && !granted.declares_kind("files_read"));
    }

    #[test]
    fn rules_are_the_declared_grants_asked_for_and_unknown_keys_are_refused() {
        let tenant = TenantId::new();
        let only_kv: BTreeSet<String> = ["kv".to_owned()].into();
        let rules = rules(tenant, &manifest(), Some(&only_kv)).unwrap();
        assert_eq!(rules, vec![Rule::allow(tenant, "plugin:demo", "cap:kv", USE)]);
        let unknown: BTreeSet<String> = ["mail".to_owned()].into();
        let refused = super::rules(tenant, &manifest(), Some(&unknown)).unwrap_err();
        assert!(refused.contains("does not declare `mail`") && refused.contains("kv, http:api.example.fr"), "{refused}");
        let all = super::rules(tenant, &manifest(), None).unwrap();
        assert!(all.contains(&Rule::allow(tenant, "plugin:demo", "collection:customer_account", "read")));
        assert!(all.contains(&Rule::allow(tenant, "plugin:demo", "cap:http:files.example.fr", USE)));
    }
}
