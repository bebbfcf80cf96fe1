//! Installing a plugin component in a tenant: check it (API version, world, dependencies),
//! install its collections, grant its declared capabilities, record the installation, then call
//! its lifecycle export — undoing everything if that fails. These are the steps of the
//! marketplace's operations, the one door through which plugins are installed, upgraded, rolled
//! back and uninstalled (it resolves versions and applies whole sets atomically on top).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use socle_marketplace::manifest::Manifest;
use socle_tenants::{Actor, Tenant, TenantId};

use super::grants::{GrantState, SetGrantsError};
use super::runtime::{Call, Output, PluginRuntime, check_api_version};
use super::store::Installed;
use crate::authz::Rule;

/// Why an install or uninstall failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The component or manifest is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// A dependency is missing or at the wrong version.
    #[error("{0}")]
    Dependency(String),
    /// The plugin's own install/upgrade/uninstall failed; nothing was changed.
    #[error("{0}")]
    Lifecycle(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] anyhow::Error),
}

impl From<crate::error::StoreError> for InstallError {
    fn from(err: crate::error::StoreError) -> Self {
        Self::Platform(err.into())
    }
}

impl PluginRuntime {
    /// Installs (or upgrades to) `bytes` described by `manifest` in `tenant`, granting the declared
    /// grants in `grants` (`None`: every one the manifest declares).
    pub(crate) async fn install(
        &self,
        tenant: &Arc<Tenant>,
        bytes: &[u8],
        manifest: &Manifest,
        grants: Option<&BTreeSet<String>>,
        by: &Actor,
    ) -> Result<Installed, InstallError> {
        let id = &manifest.plugin.id;
        let label = format!("{id}@{}", manifest.plugin.version);
        manifest.validate().map_err(|e| InstallError::Invalid(format!("{label}: manifest {e}")))?;
        let api = check_api_version(bytes).map_err(|e| InstallError::Invalid(format!("{label}: {e:#}")))?;
        let api_version = semver::Version::parse(&api).map_err(|e| InstallError::Invalid(format!("{label}: API version `{api}`: {e}")))?;
        if !manifest.plugin.api.matches(&api_version) {
            return Err(InstallError::Invalid(format!("{label}: built against socle:plugin@{api}, outside its manifest's api range {}", manifest.plugin.api)));
        }
        let wanted = super::grants::rules(tenant.id, manifest, grants).map_err(|e| InstallError::Invalid(format!("{label}: {e}")))?;
        let sha256 = hex::encode(sha2::Sha256::digest(bytes));
        self.prepare(&sha256, bytes).map_err(|e| InstallError::Invalid(format!("{label}: {e:#}")))?;

        let installs = self.store().installs(tenant.id).await?;
        for (dependency, range) in &manifest.dependencies {
            match installs.iter().find(|i| &i.plugin_id == dependency && i.status == "active") {
                None => return Err(InstallError::Dependency(format!("{label} needs {dependency} {range}, which this tenant has not installed"))),
                Some(i) => {
                    let version = semver::Version::parse(&i.version).map_err(anyhow::Error::from)?;
                    if !range.matches(&version) {
                        return Err(InstallError::Dependency(format!("{label} needs {dependency} {range}; this tenant has {dependency} {version}")));
                    }
                }
            }
        }
        let previous = installs.iter().find(|i| &i.plugin_id == id).cloned();
        // What to put back if the plugin's lifecycle refuses.
        let before = Snapshot { plugin: id.clone(), installed: previous.clone(), rules: self.services().granter.held(tenant.id, id).await? };
        let max_plugins = tenant.plan.limits().max_plugins as usize;
        if previous.is_none() && installs.len() >= max_plugins {
            return Err(InstallError::Invalid(format!(
                "tenant {} already has {} plugins, the most its {} plan allows; uninstall one or change plan",
                tenant.slug,
                installs.len(),
                tenant.plan
            )));
        }
        self.store().put_component(&sha256, bytes).await?;

        // Collections, grants and the installation; undone below if the plugin's lifecycle fails.
        self.put_schema(tenant.id, manifest, by).await.map_err(|e| InstallError::Invalid(format!("{label}: {e:#}")))?;
        self.services().granter.hold(tenant.id, id, &wanted, by).await?;
        let now = self.services().clock.now_ms();
        let installed = Installed {
            plugin_id: id.clone(),
            version: manifest.plugin.version.to_string(),
            sha256: sha256.clone(),
            manifest: serde_json::to_value(manifest).map_err(anyhow::Error::from)?,
            status: "active".into(),
            installed_at: now,
            updated_at: now,
        };
        self.store().put_install(tenant.id, &installed, by).await?;
        self.changed(tenant.id).await;

        let call = match &previous {
            Some(p) if p.version != installed.version => Call::Upgrade(p.version.clone()),
            Some(_) => Call::Upgrade(installed.version.clone()),
            None => Call::Install,
        };
        let failure = match self.plugin(tenant.id, id).await? {
            None => Some("it could not be loaded after install".to_owned()),
            Some(plugin) => match self.call(tenant, &plugin, call, None).await {
                Ok(Output::Done(Ok(()))) => None,
                Ok(Output::Done(Err(reason))) => Some(reason),
                Ok(_) => Some("its lifecycle export answered something else".into()),
                Err(err) => Some(err.message),
            },
        };
        if let Some(reason) = failure {
            self.restore(tenant.id, std::slice::from_ref(&before), by).await?;
            return Err(InstallError::Lifecycle(format!("{label} refused to install in tenant {}: {reason}", tenant.slug)));
        }
        tracing::info!(tenant.id = %tenant.id, plugin.id = %id, plugin.version = %installed.version, "plugin installed");
        Ok(installed)
    }

    /// Installs the collections (and fields added to others) of `manifest` in the tenant, or
    /// removes the plugin's schema when it declares none.
    async fn put_schema(&self, tenant: TenantId, manifest: &Manifest, by: &Actor) -> anyhow::Result<()> {
        let source = format!("plugin:{}", manifest.plugin.id);
        let schema = manifest.schema();
        let registry = &self.services().records.registry;
        if schema.collections.is_empty() && schema.extensions.is_empty() {
            registry.uninstall(tenant, &source, by).await?;
        } else {
            registry.install(tenant, &source, &schema, by).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(())
    }

    /// Replaces what the tenant grants an installed plugin with `keys` (see [`super::grants::Granter::set`]); the
    /// plugin's next invocation on this node sees the change (other nodes hear it on the bus).
    pub async fn set_grants(&self, tenant: TenantId, manifest: &Manifest, keys: &BTreeSet<String>, by: &Actor) -> Result<Vec<GrantState>, SetGrantsError> {
        let states = self.services().granter.set(tenant, manifest, keys, by).await?;
        self.invalidate(tenant).await;
        Ok(states)
    }

    /// A plugin's state now in a tenant.
    pub(crate) async fn snapshot(&self, tenant: TenantId, plugin: &str) -> anyhow::Result<Snapshot> {
        let installed = self.store().installs(tenant).await?.into_iter().find(|i| i.plugin_id == plugin);
        Ok(Snapshot { plugin: plugin.to_owned(), installed, rules: self.services().granter.held(tenant, plugin).await? })
    }

    /// Puts every snapshotted plugin back as it was (in reverse order): installation, collections,
    /// grants. Idempotent, so a recovery may run it again after a crash during a restore.
    pub(crate) async fn restore(&self, tenant: TenantId, snapshot: &[Snapshot], by: &Actor) -> anyhow::Result<()> {
        for entry in snapshot.iter().rev() {
            match &entry.installed {
                Some(installed) => {
                    self.store().put_install(tenant, installed, by).await?;
                    let manifest: Manifest = serde_json::from_value(installed.manifest.clone())?;
                    self.put_schema(tenant, &manifest, by).await?;
                }
                None => {
                    self.store().remove_install(tenant, &entry.plugin, by).await?;
                    self.services().records.registry.uninstall(tenant, &format!("plugin:{}", entry.plugin), by).await?;
                }
            }
            self.services().granter.hold(tenant, &entry.plugin, &entry.rules, by).await?;
        }
        self.changed(tenant).await;
        Ok(())
    }

    /// Uninstalls a plugin: its lifecycle export, then its grants, collections (records are kept)
    /// and installation.
    pub(crate) async fn uninstall(&self, tenant: &Arc<Tenant>, id: &str, by: &Actor) -> Result<(), InstallError> {
        let Some(plugin) = self.plugin(tenant.id, id).await? else {
            return Err(InstallError::Invalid(format!("plugin {id} is not installed in tenant {}", tenant.slug)));
        };
        let dependents: Vec<String> =
            self.installed(tenant.id).await?.iter().filter(|p| p.manifest.dependencies.contains_key(id)).map(|p| p.id.clone()).collect();
        if !dependents.is_empty() {
            return Err(InstallError::Dependency(format!("{} depends on {id}: uninstall it first", dependents.join(", "))));
        }
        match self.call(tenant, &plugin, Call::Uninstall, None).await {
            Ok(Output::Done(Ok(()))) => {}
            Ok(Output::Done(Err(reason))) => return Err(InstallError::Lifecycle(format!("{} refused to uninstall: {reason}", plugin.label()))),
            Ok(_) => return Err(InstallError::Lifecycle(format!("{} answered its uninstall with something else", plugin.label()))),
            // A plugin that cannot even run its uninstall must still be removable.
            Err(err) => tracing::warn!(tenant.id = %tenant.id, plugin.id = %id, error = %err, "uninstall export failed; removing anyway"),
        }
        self.services().granter.hold(tenant.id, id, &[], by).await?;
        self.services().records.registry.uninstall(tenant.id, &format!("plugin:{id}"), by).await?;
        self.store().remove_install(tenant.id, id, by).await?;
        self.changed(tenant.id).await;
        Ok(())
    }
}

/// What one plugin looks like in a tenant — installation and grant rules — enough to put it
/// back exactly: after a refused lifecycle, a failed marketplace step, or a crash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    /// Plugin id.
    pub plugin: String,
    /// Its installation, if it was installed.
    pub installed: Option<Installed>,
    /// The grant rules it held.
    pub rules: Vec<Rule>,
}
