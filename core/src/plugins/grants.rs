//! What a tenant grants a plugin. A manifest declares capabilities; the tenant administrator
//! grants them one target at a time (each collection, each host, each permission is its own
//! grant), so "read customer accounts" can be granted while "write invoices" is not. Grants are
//! casbin rules with subject `plugin:<id>` in the tenant's domain; a plugin's own collections are
//! always its own and need no grant.

use std::collections::BTreeSet;

use serde::Serialize;
use socle_marketplace::manifest::{Capability, Manifest};
use socle_marketplace::schema::Label;
use socle_tenants::{Actor, Tenant, TenantId};

use super::host::grant_rules;
use crate::app::App;
use crate::authz::Rule;

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

/// The grantable units of a manifest's declared capabilities.
pub fn declared(manifest: &Manifest) -> Vec<Grant> {
    let mut grants = Vec::new();
    for request in &manifest.capabilities {
        let mut push = |key: String, capability: Capability| {
            let risk = capability.risk();
            grants.push(Grant { key, capability, reason: request.reason.clone(), risk });
        };
        for (target, capability) in request.capability.per_target() {
            let key = match target {
                Some(target) => format!("{}:{target}", capability.kind()),
                None => capability.kind().to_owned(),
            };
            push(key, capability);
        }
    }
    grants
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
    let mut rules: Vec<Rule> = if own.is_empty() { Vec::new() } else { grant_rules(tenant, id, &Capability::RecordsWrite { collections: own }) };
    for grant in declared.iter().filter(|g| keys.is_none_or(|k| k.contains(&g.key))) {
        for rule in grant_rules(tenant, id, &grant.capability) {
            if !rules.contains(&rule) {
                rules.push(rule);
            }
        }
    }
    Ok(rules)
}

/// The rules a plugin holds now in a tenant.
pub async fn held(app: &App, tenant: TenantId, plugin: &str) -> anyhow::Result<Vec<Rule>> {
    let subject = format!("plugin:{plugin}");
    Ok(app.policies.rules(tenant).await?.into_iter().filter(|r| r.value(0) == subject).collect())
}

/// The declared grants of an installed plugin and which the tenant granted.
pub async fn states(app: &App, tenant: TenantId, manifest: &Manifest) -> anyhow::Result<Vec<GrantState>> {
    let held = held(app, tenant, &manifest.plugin.id).await?;
    Ok(declared(manifest)
        .into_iter()
        .map(|grant| {
            let granted = grant_rules(tenant, &manifest.plugin.id, &grant.capability).iter().all(|r| held.contains(r));
            GrantState { grant, granted }
        })
        .collect())
}

/// Replaces what the tenant grants an installed plugin with `keys`, in one policy change.
pub async fn set(app: &App, tenant: &Tenant, manifest: &Manifest, keys: &BTreeSet<String>, by: &Actor) -> Result<Vec<GrantState>, SetGrantsError> {
    let wanted = rules(tenant.id, manifest, Some(keys)).map_err(SetGrantsError::Unknown)?;
    let current = held(app, tenant.id, &manifest.plugin.id).await?;
    let revoke: Vec<Rule> = current.iter().filter(|r| !wanted.contains(r)).cloned().collect();
    let grant: Vec<Rule> = wanted.iter().filter(|r| !current.contains(r)).cloned().collect();
    app.policies.change(tenant.id, &revoke, &grant, by).await.map_err(anyhow::Error::from)?;
    app.authz.changed(tenant.id, app.bus.as_ref()).await;
    tracing::info!(tenant.id = %tenant.id, plugin.id = %manifest.plugin.id, granted = keys.len(), "plugin grants changed");
    Ok(states(app, tenant.id, manifest).await?)
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
