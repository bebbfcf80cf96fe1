//! What an uninstall leaves behind: the plugin's data in the tenant, exported and kept for a
//! grace period, then purged.
//!
//! At uninstall (a marketplace operation removing a plugin) the plugin's records (its own
//! collections), kv and settings (without secrets) are exported as NDJSON, and the export is
//! stored in the same transaction that finishes the operation, with the date after which it is
//! purged (`marketplace.retention_days`). The data stays where it was, out of sight: the plugin
//! and its collections are gone. A reinstall before the purge finds it again (the retention is
//! `restored`); at the purge date a durable job deletes the data and the export (`purged`). An
//! hourly schedule purges whatever a lost job missed.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Value, json};
use socle_tenants::TenantId;

use super::Marketplace;
use super::store::SqlMarketplaceStore;
use crate::db::{Row, Scope};
use crate::error::StoreError;
use crate::jobs::{Job, JobFailure, JobHandler, NewJob};

/// The job that purges retained data: with `{"retention_id": …}` one retention (enqueued at its
/// purge date), without it every retention due (the hourly schedule).
pub const PURGE_JOB: &str = "marketplace.retention.purge";

/// Cron of the sweep purging retentions whose job was lost.
pub const SWEEP_CRON: &str = "41 * * * *";

/// A retention to store when an uninstall finishes.
#[derive(Debug, Clone)]
pub struct Retained {
    /// Id.
    pub id: String,
    /// Plugin uninstalled.
    pub plugin_id: String,
    /// Its version then.
    pub version: String,
    /// The collections it defined (whose records are its data).
    pub collections: Vec<String>,
    /// The NDJSON export.
    pub export: String,
    /// Records exported.
    pub records: i64,
    /// Kv keys exported.
    pub kv_keys: i64,
    /// Creation (ms).
    pub created_at: i64,
    /// When the data is purged (ms).
    pub purge_at: i64,
}

/// What a finished operation does to retentions, in its transaction.
#[derive(Debug, Clone, Default)]
pub struct RetentionChange {
    /// Data of plugins this operation removed.
    pub kept: Vec<Retained>,
    /// Plugins this operation installed again: their kept data is theirs again.
    pub restored: Vec<String>,
}

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

/// The NDJSON export: a header line, then one line per record, kv entry and setting. Kv values
/// are bytes: base64, plus the text when they are UTF-8.
pub fn export_ndjson(tenant: &str, plugin: &str, version: &str, exported_at: i64, collections: &[String], data: &PluginData) -> String {
    let mut lines = vec![json!({
        "type": "export", "tenant": tenant, "plugin": plugin, "version": version, "exported_at": exported_at,
        "collections": collections, "records": data.records.len(), "kv_keys": data.kv.len(),
    })];
    for r in &data.records {
        let parsed: Value = serde_json::from_str(&r.data).unwrap_or_else(|_| Value::String(r.data.clone()));
        lines.push(json!({
            "type": "record", "collection": r.collection, "id": r.id, "version": r.version, "state": r.state,
            "data": parsed, "created_at": r.created_at, "updated_at": r.updated_at,
        }));
    }
    for (key, value) in &data.kv {
        let mut line = json!({ "type": "kv", "key": key, "value_base64": base64::engine::general_purpose::STANDARD.encode(value) });
        if let Ok(text) = std::str::from_utf8(value) {
            line["value_text"] = json!(text);
        }
        lines.push(line);
    }
    for (key, value) in &data.settings {
        lines.push(json!({ "type": "setting", "key": key, "value": serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.clone())) }));
    }
    let mut out = String::new();
    for line in lines {
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

impl Marketplace {
    /// Exports `plugin`'s data in `tenant` before an uninstall removes it.
    pub async fn export_plugin_data(&self, tenant: &socle_tenants::Tenant, plugin: &str) -> anyhow::Result<Option<Retained>> {
        let Some(installed) = self.plugins.store().installs(tenant.id).await?.into_iter().find(|i| i.plugin_id == plugin) else { return Ok(None) };
        let manifest: socle_marketplace::manifest::Manifest = serde_json::from_value(installed.manifest.clone())?;
        let collections: Vec<String> = manifest.collections.iter().map(|c| c.name.clone()).collect();
        let data = self.store.plugin_data(tenant.id, plugin, &collections).await?;
        let now = self.now_ms();
        let days = i64::try_from(self.settings.marketplace.retention_days).unwrap_or(i64::MAX / 86_400_000);
        Ok(Some(Retained {
            id: uuid::Uuid::now_v7().to_string(),
            plugin_id: plugin.to_owned(),
            version: installed.version.clone(),
            export: export_ndjson(tenant.slug.as_str(), plugin, &installed.version, now, &collections, &data),
            records: i64::try_from(data.records.len()).unwrap_or(i64::MAX),
            kv_keys: i64::try_from(data.kv.len()).unwrap_or(i64::MAX),
            collections,
            created_at: now,
            purge_at: now.saturating_add(days.saturating_mul(86_400_000)),
        }))
    }

    /// Enqueues the purge of each kept retention at its date (after the operation committed; the
    /// hourly sweep catches one lost to a crash in between).
    pub async fn schedule_purges(&self, tenant: TenantId, kept: &[Retained]) {
        for r in kept {
            let job = NewJob::new(Some(tenant), PURGE_JOB, json!({ "retention_id": r.id }), self.now_ms()).at(r.purge_at).dedupe(format!("retention:{}", r.id));
            if let Err(err) = self.jobs.enqueue(&job).await {
                tracing::warn!(tenant.id = %tenant, plugin.id = %r.plugin_id, error = %err, "retention purge not enqueued; the hourly sweep will purge it");
            }
        }
    }
}

/// Purges one retention (the job's tenant) or every one due.
pub(crate) struct PurgeRetained(pub(crate) Arc<Marketplace>);

#[async_trait]
impl JobHandler for PurgeRetained {
    async fn run(&self, job: &Job) -> Result<(), JobFailure> {
        let now = self.0.now_ms();
        let due = match (job.tenant_id, job.payload.get("retention_id").and_then(Value::as_str)) {
            (Some(tenant), Some(id)) => vec![(tenant, id.to_owned())],
            _ => self.0.store.due_retentions(now).await?,
        };
        for (tenant, id) in due {
            let outcome = self.0.store.purge_retention(tenant, &id, now).await?;
            tracing::info!(tenant.id = %tenant, retention = %id, outcome = ?outcome, "retained plugin data");
        }
        Ok(())
    }
}

fn retention(r: &Row) -> Result<Retention, StoreError> {
    Ok(Retention {
        id: r.get::<String>("id")?,
        plugin_id: r.get::<String>("plugin_id")?,
        version: r.get::<String>("version")?,
        collections: serde_json::from_str(&r.get::<String>("collections")?).map_err(anyhow::Error::from)?,
        records: r.get::<i64>("records")?,
        kv_keys: r.get::<i64>("kv_keys")?,
        status: r.get::<String>("status")?,
        created_at: r.get::<i64>("created_at")?,
        purge_at: r.get::<i64>("purge_at")?,
        closed_at: r.get::<Option<i64>>("closed_at")?,
    })
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
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut tx)
            .await?;
        tx.commit().await?;
        row.map(|r| Ok((retention(&r)?, r.get("export")?))).transpose()
    }

    async fn due_retentions(&self, now: i64) -> Result<Vec<(TenantId, String)>, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let rows = tx
            .query("SELECT tenant_id, id FROM plugin_retentions WHERE status = 'kept' AND purge_at <= $1 ORDER BY purge_at")
            .bind(now)
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        rows.into_iter().map(|r| Ok((r.get::<TenantId>("tenant_id")?, r.get("id")?))).collect()
    }

    async fn purge_retention(&self, tenant: TenantId, id: &str, now: i64) -> Result<Purged, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        // Closing the row first: a reinstall finishing at the same time waits on it, or
        // finds it closed.
        let row = tx
            .query("SELECT plugin_id, collections FROM plugin_retentions WHERE id = $1 AND tenant_id = $2 AND status = 'kept' AND purge_at <= $3")
            .bind(id)
            .bind(tenant)
            .bind(now)
            .fetch_optional(&mut tx)
            .await?;
        let Some(row) = row else { return Ok(Purged::Nothing) };
        let closed = tx
            .query("UPDATE plugin_retentions SET status = 'purged', export = NULL, closed_at = $1 WHERE id = $2 AND tenant_id = $3 AND status = 'kept'")
            .bind(now)
            .bind(id)
            .bind(tenant)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_has_a_header_then_one_line_per_record_kv_and_setting() {
        let data = PluginData {
            records: vec![ExportedRecord {
                id: "r1".into(),
                collection: "good.note".into(),
                version: 2,
                state: None,
                data: r#"{"title":"Note"}"#.into(),
                created_at: 1,
                updated_at: 2,
            }],
            kv: vec![("installed".into(), b"yes".to_vec()), ("raw".into(), vec![0xff, 0x00])],
            settings: vec![("greeting".into(), r#""Salut""#.into())],
        };
        let text = export_ndjson("acme", "good", "1.0.0", 42, &["good.note".into()], &data);
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0]["type"], "export");
        assert_eq!(lines[0]["tenant"], "acme");
        assert_eq!(lines[0]["records"], 1);
        assert_eq!(lines[1]["data"]["title"], "Note");
        assert_eq!(lines[2]["value_text"], "yes");
        assert_eq!(lines[3]["value_base64"], "/wA=");
        assert!(lines[3].get("value_text").is_none(), "bytes that are not UTF-8 have no text");
        assert_eq!(lines[4]["value"], "Salut");
        assert!(text.ends_with('\n'));
    }
}
