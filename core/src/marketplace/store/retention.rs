//! Storage of retentions: what uninstalls leave behind, kept, restored or purged.

use super::sql::SqlMarketplaceStore;
use crate::db::from_row;
use crate::db::{Row, Scope};
use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use socle_tenants::TenantId;

/// A retention as the tenant's administrators see it.
#[derive(Debug, Clone, Serialize)]
pub struct Retention {
    /// Id.
    pub id: String,
    /// Plugin uninstalled.
    pub plugin_id: String,
    /// Its version then.
    pub version: String,
    /// Its collections.
    pub collections: Vec<String>,
    /// Records exported.
    pub records: i64,
    /// Kv keys exported.
    pub kv_keys: i64,
    /// `kept` (downloadable, purged at `purge_at`), `restored` (reinstalled) or `purged`.
    pub status: String,
    /// Uninstall time (ms).
    pub created_at: i64,
    /// Purge time (ms).
    pub purge_at: i64,
    /// When it was restored or purged (ms).
    pub closed_at: Option<i64>,
}

/// One record of a plugin's collection.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedRecord {
    /// Record id.
    pub id: String,
    /// Collection.
    pub collection: String,
    /// Version.
    pub version: i64,
    /// Workflow state.
    pub state: Option<String>,
    /// Its data (JSON text).
    pub data: String,
    /// Creation (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// A plugin's data in a tenant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginData {
    /// Records of its collections.
    pub records: Vec<ExportedRecord>,
    /// Its kv entries.
    pub kv: Vec<(String, Vec<u8>)>,
    /// Its non-secret settings (JSON text).
    pub settings: Vec<(String, String)>,
}

/// What purging one retention did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purged {
    /// The data and its export are deleted.
    Purged,
    /// The plugin is installed again: the data is its own, nothing deleted.
    Restored,
    /// Not due, already closed, or not this tenant's.
    Nothing,
}

/// Storage of retentions (the insert is in [`super::MarketplaceStore::finish_operation`]).
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// The plugin's data in the tenant: records of `collections`, kv, non-secret settings.
    async fn plugin_data(&self, tenant: TenantId, plugin: &str, collections: &[String]) -> Result<PluginData, StoreError>;
    /// The tenant's retentions, newest first.
    async fn retentions(&self, tenant: TenantId) -> Result<Vec<Retention>, StoreError>;
    /// One of the tenant's retentions with its export (`None` once purged).
    async fn retention_export(&self, tenant: TenantId, id: &str) -> Result<Option<(Retention, Option<String>)>, StoreError>;
    /// Kept retentions of every tenant due at `now`.
    async fn due_retentions(&self, now: i64) -> Result<Vec<(TenantId, String)>, StoreError>;
    /// Deletes a due kept retention's data and export, in one transaction.
    async fn purge_retention(&self, tenant: TenantId, id: &str, now: i64) -> Result<Purged, StoreError>;
}

fn retention(r: &Row) -> Result<Retention, StoreError> {
    Ok(from_row!(r => Retention {
        id, plugin_id, version, collections = serde_json::from_str(&r.get::<String>("collections")?).map_err(anyhow::Error::from)?, records, kv_keys, status,
        created_at, purge_at, closed_at
    }))
}

const RETENTION_COLUMNS: &str = "id, plugin_id, version, collections, records, kv_keys, status, created_at, purge_at, closed_at";

#[async_trait]
impl RetentionStore for SqlMarketplaceStore {
    async fn plugin_data(&self, tenant: TenantId, plugin: &str, collections: &[String]) -> Result<PluginData, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let mut data = PluginData::default();
        for collection in collections {
            for r in crate::records::sql::collection_records(&mut tx, tenant, collection).await? {
                data.records.push(ExportedRecord {
                    id: r.id.to_string(),
                    collection: r.collection,
                    version: r.version,
                    state: r.state,
                    data: Value::Object(r.data).to_string(),
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                });
            }
        }
        (data.kv, data.settings) = crate::plugins::store::plugin_data(&mut tx, tenant, plugin).await?;
        tx.commit().await?;
        Ok(data)
    }

    async fn retentions(&self, tenant: TenantId) -> Result<Vec<Retention>, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let rows = tx
            .query_built(format!("SELECT {RETENTION_COLUMNS} FROM plugin_retentions WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(tenant)
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(retention).collect()
    }

    async fn retention_export(&self, tenant: TenantId, id: &str) -> Result<Option<(Retention, Option<String>)>, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let row = tx
            .query_built(format!("SELECT {RETENTION_COLUMNS}, export FROM plugin_retentions WHERE tenant_id = $1 AND id = $2"))
            .bind((tenant, id))
            .fetch_optional(&mut tx)
            .await?;
        tx.commit().await?;
        row.map(|r| Ok((retention(&r)?, r.get("export")?))).transpose()
    }

    async fn due_retentions(&self, now: i64) -> Result<Vec<(TenantId, String)>, StoreError> {
        let rows = self
            .db
            .reading(Scope::Platform, "SELECT tenant_id, id FROM plugin_retentions WHERE status = 'kept' AND purge_at <= $1 ORDER BY purge_at")
            .bind(now)
            .all()
            .await?;
        rows.into_iter().map(|r| Ok((r.get::<TenantId>("tenant_id")?, r.get("id")?))).collect()
    }

    async fn purge_retention(&self, tenant: TenantId, id: &str, now: i64) -> Result<Purged, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        // Closing the row first: a reinstall finishing at the same time waits on it, or
        // finds it closed.
        let row = tx
            .query("SELECT plugin_id, collections FROM plugin_retentions WHERE id = $1 AND tenant_id = $2 AND status = 'kept' AND purge_at <= $3")
            .bind((id, tenant, now))
            .fetch_optional(&mut tx)
            .await?;
        let Some(row) = row else { return Ok(Purged::Nothing) };
        let closed = tx
            .query("UPDATE plugin_retentions SET status = 'purged', export = NULL, closed_at = $1 WHERE id = $2 AND tenant_id = $3 AND status = 'kept'")
            .bind((now, id, tenant))
            .execute(&mut tx)
            .await?;
        if closed == 0 {
            return Ok(Purged::Nothing);
        }
        let plugin: String = row.get("plugin_id")?;
        let collections: Vec<String> = serde_json::from_str(&row.get::<String>("collections")?).map_err(anyhow::Error::from)?;
        if crate::plugins::store::is_installed(&mut tx, tenant, &plugin).await? {
            // Installed again without the marketplace: the data is in use.
            tx.query("UPDATE plugin_retentions SET status = 'restored' WHERE id = $1 AND tenant_id = $2").bind(id).bind(tenant).execute(&mut tx).await?;
            tx.commit().await?;
            return Ok(Purged::Restored);
        }
        crate::plugins::store::delete_plugin_data(&mut tx, tenant, &plugin).await?;
        for collection in &collections {
            // A collection someone else defines since then is not this plugin's any more.
            crate::records::sql::purge_collection(&mut tx, tenant, collection).await?;
        }
        tx.commit().await?;
        tracing::info!(tenant.id = %tenant, plugin.id = %plugin, retention = %id, "uninstalled plugin's data purged");
        Ok(Purged::Purged)
    }
}
