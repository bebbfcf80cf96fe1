//! The installed plugins as a tenant administrator sees them: each with its health over the last
//! day, and one in detail (what it declares, what the tenant granted, its settings with secrets
//! only saying whether they are set). Read by the admin console and the JSON API alike.

use serde::Serialize;
use serde_json::Value;
use socle_marketplace::manifest::{DataClass, HookDef, PanelDef};
use socle_marketplace::schema::{FieldType, Label};
use socle_tenants::Tenant;

use super::PluginRuntime;
use super::grants::GrantState;
use super::store::ReceiptSummary;
use super::uses::UseError;

/// Health is summed over this window.
const HEALTH_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// An installed plugin in the list.
#[derive(Debug, Clone, Serialize)]
pub struct InstalledPlugin {
    /// Plugin id.
    pub plugin: String,
    /// Installed version.
    pub version: String,
    /// `active` or `disabled`.
    pub status: String,
    /// Digest of its component.
    pub sha256: String,
    /// Displayed name (from its manifest).
    pub name: Value,
    /// Installation time (ms).
    pub installed_at: i64,
    /// Its receipts over the last day, if it ran.
    pub health: Option<ReceiptSummary>,
}

/// An action, as the detail lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionSummary {
    /// Name.
    pub name: String,
    /// Button label.
    pub label: Label,
    /// The collection it runs on.
    pub collection: String,
    /// Whether it runs on several records at once.
    pub mass: bool,
}

/// A setting and its value (a secret's value is never shown: only whether it is set).
#[derive(Debug, Clone, Serialize)]
pub struct SettingValue {
    /// Key.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Label.
    pub label: Label,
    /// Stored as a secret.
    pub secret: bool,
    /// The value (the default when unset; null for secrets).
    pub value: Value,
    /// Whether the tenant set it.
    pub set: bool,
}

/// One installed plugin in detail.
#[derive(Debug, Clone, Serialize)]
pub struct PluginDetail {
    /// Plugin id.
    pub plugin: String,
    /// Installed version.
    pub version: String,
    /// Digest of its component.
    pub sha256: String,
    /// Displayed name.
    pub name: Label,
    /// What it does.
    pub description: Label,
    /// Publisher.
    pub publisher: String,
    /// Collections it brings.
    pub collections: Vec<String>,
    /// Hooks it registers.
    pub hooks: Vec<HookDef>,
    /// Actions it offers.
    pub actions: Vec<ActionSummary>,
    /// Panels it shows.
    pub panels: Vec<PanelDef>,
    /// Classes of data it handles.
    pub data_classes: Vec<DataClass>,
    /// Its grants and whether the tenant gave each.
    pub grants: Vec<GrantState>,
    /// Its settings.
    pub settings: Vec<SettingValue>,
    /// Its receipts over the last day, if it ran.
    pub health: Option<ReceiptSummary>,
}

impl PluginRuntime {
    async fn health(&self, tenant: &Tenant) -> anyhow::Result<Vec<ReceiptSummary>> {
        self.flush_receipts().await;
        Ok(self.store().receipt_summary(tenant.id, self.services().clock.now_ms() - HEALTH_WINDOW_MS).await?)
    }

    /// The tenant's installed plugins with their health.
    pub async fn installed_plugins(&self, tenant: &Tenant) -> anyhow::Result<Vec<InstalledPlugin>> {
        let health = self.health(tenant).await?;
        let installs = self.store().installs(tenant.id).await?;
        Ok(installs
            .into_iter()
            .map(|i| InstalledPlugin {
                health: health.iter().find(|s| s.plugin_id == i.plugin_id).cloned(),
                name: i.manifest["plugin"]["name"].clone(),
                plugin: i.plugin_id,
                version: i.version,
                status: i.status,
                sha256: i.sha256,
                installed_at: i.installed_at,
            })
            .collect())
    }

    /// One installed plugin in detail.
    pub async fn plugin_detail(&self, tenant: &Tenant, id: &str) -> Result<PluginDetail, UseError> {
        let plugin = self.installed_plugin(tenant, id).await?;
        let grants = self.services().granter.states(tenant.id, &plugin.manifest).await?;
        let mut settings = Vec::new();
        for setting in &plugin.manifest.settings {
            let stored = match self.store().setting(tenant.id, id, &setting.field.name).await {
                Ok(stored) => stored,
                // A secret is never shown: one that no longer opens (its key was removed too
                // early) still leaves the page, and its form, to the administrator who re-enters it.
                Err(err) if setting.secret => {
                    tracing::warn!(tenant.id = %tenant.id, plugin.id = %id, setting = %setting.field.name, error = %err, "a secret setting does not open");
                    Some((Value::Null, true))
                }
                Err(err) => return Err(anyhow::Error::from(err).into()),
            };
            let value = match (&stored, setting.secret) {
                (_, true) => Value::Null,
                (Some((value, _)), false) => value.clone(),
                (None, false) => setting.field.default.clone().unwrap_or(Value::Null),
            };
            settings.push(SettingValue {
                name: setting.field.name.clone(),
                field_type: setting.field.field_type,
                label: setting.field.label.clone(),
                secret: setting.secret,
                value,
                set: stored.is_some(),
            });
        }
        let health = self.health(tenant).await?.into_iter().find(|s| s.plugin_id == id);
        let m = &plugin.manifest;
        Ok(PluginDetail {
            plugin: plugin.id.clone(),
            version: plugin.version.clone(),
            sha256: plugin.sha256.clone(),
            name: m.plugin.name.clone(),
            description: m.plugin.description.clone(),
            publisher: m.plugin.publisher.clone(),
            collections: m.collections.iter().map(|c| c.name.clone()).collect(),
            hooks: m.hooks.clone(),
            actions: m
                .actions
                .iter()
                .map(|a| ActionSummary { name: a.name.clone(), label: a.label.clone(), collection: a.collection.clone(), mass: a.mass })
                .collect(),
            panels: m.panels.clone(),
            data_classes: m.data_classes.clone(),
            grants,
            settings,
            health,
        })
    }
}
