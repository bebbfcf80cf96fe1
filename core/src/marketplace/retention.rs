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
use serde_json::{Value, json};
use socle_tenants::TenantId;

use super::Marketplace;
pub use super::store::{ExportedRecord, PluginData, Purged, Retained, Retention, RetentionChange, RetentionStore};
use crate::jobs::{Job, JobFailure, JobHandler, NewJob};

/// The job that purges retained data: with `{"retention_id": …}` one retention (enqueued at its
/// purge date), without it every retention due (the hourly schedule).
pub const PURGE_JOB: &str = "marketplace.retention.purge";

/// Cron of the sweep purging retentions whose job was lost.
pub const SWEEP_CRON: &str = "41 * * * *";

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
