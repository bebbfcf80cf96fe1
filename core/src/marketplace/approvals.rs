//! The approval inbox: capabilities a new version asks for beyond what its previous version had.
//! The upgrade does not wait for them — the new code runs with those calls denied — and the
//! tenant administrator grants or refuses them here, reading what each is for.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use socle_marketplace::schema::Label;
use socle_tenants::{Actor, Tenant};

use super::Marketplace;
use super::store::Approval;

/// One requested capability, readable.
#[derive(Debug, Clone, Serialize)]
pub struct Requested {
    /// Grant key.
    pub key: String,
    /// Why the plugin asks.
    pub reason: Label,
    /// Risk, 0–10.
    pub risk: u8,
}

/// An approval request with the policy diff an administrator reads.
#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    /// The request.
    #[serde(flatten)]
    pub approval: Approval,
    /// What approving adds, each capability with its reason.
    pub adds: Vec<Requested>,
}

/// Why a decision failed.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No such pending request in this tenant.
    #[error("{0}")]
    NotFound(String),
    /// The request is for a version no longer installed.
    #[error("{0}")]
    Stale(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] anyhow::Error),
}

impl Marketplace {
    /// The tenant's approval requests with their diffs, newest first.
    pub async fn approval_inbox(&self, tenant: &Tenant) -> anyhow::Result<Vec<Inbox>> {
        let installed = self.plugins.installed(tenant.id).await?;
        let mut items = Vec::new();
        for approval in self.store.approvals(tenant.id).await? {
            let declared = installed.iter().find(|p| p.id == approval.plugin_id).map(|p| crate::plugins::grants::declared(&p.manifest)).unwrap_or_default();
            let adds = approval
                .grants
                .iter()
                .map(|key| match declared.iter().find(|g| &g.key == key) {
                    Some(g) => Requested { key: key.clone(), reason: g.reason.clone(), risk: g.risk },
                    None => Requested { key: key.clone(), reason: Label::Plain(String::new()), risk: 0 },
                })
                .collect();
            items.push(Inbox { approval, adds });
        }
        Ok(items)
    }

    /// Approves (granting what it asks on top of what the plugin holds) or rejects a request.
    pub async fn decide_approval(self: &Arc<Self>, tenant: &Tenant, id: &str, approve: bool, by: &Actor) -> Result<Approval, DecideError> {
        let approval = self
            .store
            .approvals(tenant.id)
            .await
            .map_err(anyhow::Error::from)?
            .into_iter()
            .find(|a| a.id == id && a.status == "pending")
            .ok_or_else(|| DecideError::NotFound(format!("no pending approval request `{id}` in this tenant")))?;
        if approve {
            let plugin = self
                .plugins
                .plugin(tenant.id, &approval.plugin_id)
                .await?
                .filter(|p| p.version == approval.version)
                .ok_or_else(|| DecideError::Stale(format!("{}@{} is no longer installed; this request is stale", approval.plugin_id, approval.version)))?;
            let mut keys: BTreeSet<String> =
                self.plugins.services().granter.states(tenant.id, &plugin.manifest).await?.into_iter().filter(|s| s.granted).map(|s| s.grant.key).collect();
            keys.extend(approval.grants.iter().cloned());
            self.plugins.set_grants(tenant.id, &plugin.manifest, &keys, by).await.map_err(|e| DecideError::Platform(anyhow::anyhow!("{e}")))?;
        }
        let status = if approve { "approved" } else { "rejected" };
        let by_label = format!("{} {}", by.subject, by.label);
        if !self.store.decide_approval(tenant.id, id, status, &by_label).await.map_err(anyhow::Error::from)? {
            return Err(DecideError::NotFound(format!("approval request `{id}` was decided meanwhile")));
        }
        tracing::info!(tenant.id = %tenant.id, plugin.id = %approval.plugin_id, status, "approval request decided");
        Ok(Approval { status: status.into(), ..approval })
    }
}
