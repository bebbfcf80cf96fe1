//! Storage of plugins: components by digest, installations, the plugins' kv and settings, and
//! invocation receipts.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use socle_tenants::{Actor, TenantId};
use sqlx::types::Json;

use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::crypto::{self, Census, KeyRing, SecretHolder};
use crate::db::from_row;
use crate::db::{Backend, Db, Row, Scope, Tx};
use crate::error::StoreError;

/// Total size of a plugin's kv values in one tenant.
pub const KV_QUOTA_BYTES: i64 = 64 << 20;
/// Keys of a plugin's kv in one tenant.
pub const KV_QUOTA_KEYS: i64 = 100_000;

/// The condition of a kv write.
#[derive(Debug, Clone, Copy)]
pub enum KvExpect<'a> {
    /// Whatever the key holds.
    Any,
    /// Only if the key is absent.
    Absent,
    /// Only if the key holds exactly this.
    Value(&'a [u8]),
}

/// What a kv write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvWrite {
    /// Stored.
    Written,
    /// Not stored: the key did not hold what was expected.
    Mismatch,
    /// Not stored: it would take the plugin past its quota in the tenant.
    OverQuota,
}

/// The conditional write statement of `expect` (placeholders: tenant, plugin, key, value, time,
/// expected value).
fn kv_write_sql(expect: KvExpect<'_>) -> &'static str {
    match expect {
        KvExpect::Any => {
            "INSERT INTO plugin_kv (tenant_id, plugin_id, key, value, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, plugin_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
        }
        KvExpect::Absent => {
            "INSERT INTO plugin_kv (tenant_id, plugin_id, key, value, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (tenant_id, plugin_id, key) DO NOTHING"
        }
        KvExpect::Value(_) => "UPDATE plugin_kv SET value = $4, updated_at = $5 WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3 AND value = $6",
    }
}

/// Whether writing `value` under `key` keeps the plugin within its quota, given the usage of
/// its other keys.
fn within_quota(other_bytes: i64, other_keys: i64, value: &[u8]) -> bool {
    other_keys < KV_QUOTA_KEYS && other_bytes + value.len() as i64 <= KV_QUOTA_BYTES
}

const KV_USAGE_SQL: &str = "SELECT coalesce(sum(length(value)), 0), count(*) FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND key <> $3";

/// A plugin installed in a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Installed {
    /// Plugin id.
    pub plugin_id: String,
    /// Installed version.
    pub version: String,
    /// Digest of its component.
    pub sha256: String,
    /// Its manifest (JSON).
    pub manifest: Value,
    /// `active` or `disabled`.
    pub status: String,
    /// Unix ms.
    pub installed_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

/// What one invocation cost and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receipt {
    /// Tenant.
    pub tenant: TenantId,
    /// Plugin.
    pub plugin_id: String,
    /// Version.
    pub version: String,
    /// `filter`, `action`, `route`, `panel`, `run_action`, `lifecycle`.
    pub kind: String,
    /// Hook, route, action or panel name.
    pub target: String,
    /// Unix ms.
    pub started_at: i64,
    /// Wall time.
    pub duration_us: i64,
    /// Epoch ticks (10 ms each) the guest ran for.
    pub epochs: i64,
    /// Largest linear memory reached, bytes.
    pub peak_memory: i64,
    /// Host calls made.
    pub host_calls: i32,
    /// Host calls refused (capability not declared or not granted).
    pub denials: i32,
    /// `ok`, `error` (the guest returned an error) or `trap` (it was stopped).
    pub outcome: String,
    /// The error or trap.
    pub error: Option<String>,
}

/// Receipts of one plugin in one tenant, aggregated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiptSummary {
    /// Plugin.
    pub plugin_id: String,
    /// Invocations.
    pub invocations: i64,
    /// Ended in `error` or `trap`.
    pub failures: i64,
    /// Traps (deadline, memory, budget, crash).
    pub traps: i64,
    /// Median duration, µs.
    pub p50_us: i64,
    /// 95th percentile duration, µs.
    pub p95_us: i64,
    /// Largest memory, bytes.
    pub peak_memory: i64,
    /// Host calls.
    pub host_calls: i64,
    /// Refused host calls.
    pub denials: i64,
}

/// Storage of plugins.
/// Receipts of one plugin (one version or all) summed up across tenants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Invocations.
    pub invocations: i64,
    /// Failures.
    pub failures: i64,
    /// 95th percentile duration (nearest rank), µs.
    pub p95_us: i64,
}

/// The value at nearest rank `ceil(q n)` of sorted `values` (0 when empty): what PostgreSQL's
/// `percentile_disc` returns, so both backends agree.
pub fn nearest_rank(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Storage of plugins. Secret settings are stored sealed ([`crate::crypto`]), hence the
/// [`SecretHolder`] half.
#[async_trait]
pub trait PluginStore: SecretHolder + Send + Sync {
    /// Stores a component under its digest (no-op if present).
    async fn put_component(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// A component's bytes.
    async fn component(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Installs or replaces a plugin in a tenant (journalled).
    async fn put_install(&self, tenant: TenantId, install: &Installed, by: &Actor) -> Result<(), StoreError>;
    /// Removes an installation (journalled); false if absent.
    async fn remove_install(&self, tenant: TenantId, plugin: &str, by: &Actor) -> Result<bool, StoreError>;
    /// The tenant's installed plugins.
    async fn installs(&self, tenant: TenantId) -> Result<Vec<Installed>, StoreError>;
    /// A kv value.
    async fn kv_get(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Sets a kv value if the key holds what `expect` says, within the plugin's quota.
    async fn kv_set(&self, tenant: TenantId, plugin: &str, key: &str, value: &[u8], expect: KvExpect<'_>) -> Result<KvWrite, StoreError>;
    /// Removes a kv value.
    async fn kv_delete(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<(), StoreError>;
    /// Keys with a prefix (at most 1000).
    async fn kv_keys(&self, tenant: TenantId, plugin: &str, prefix: &str) -> Result<Vec<String>, StoreError>;
    /// A setting: value (a secret one opened) and whether it is secret.
    async fn setting(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<(Value, bool)>, StoreError>;
    /// Sets a setting (a secret one sealed, and journalled without its value).
    async fn set_setting(&self, tenant: TenantId, plugin: &str, key: &str, value: &Value, secret: bool, by: &Actor) -> Result<(), StoreError>;
    /// Stores receipts (batched by the runtime).
    async fn add_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError>;
    /// Per-plugin aggregates of a tenant's receipts since `since`.
    async fn receipt_summary(&self, tenant: TenantId, since: i64) -> Result<Vec<ReceiptSummary>, StoreError>;
    /// The latest receipts of a plugin in a tenant.
    async fn receipts(&self, tenant: TenantId, plugin: &str, limit: i64) -> Result<Vec<Receipt>, StoreError>;

    // Across tenants (platform scope, for the marketplace: rollouts, billing, partner analytics).

    /// Every tenant that has the plugin installed, with its version.
    async fn installs_of(&self, plugin: &str) -> Result<Vec<(TenantId, String)>, StoreError>;
    /// Tenants that have each plugin installed now.
    async fn install_counts(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError>;
    /// Tenants per installed version of the plugin.
    async fn installed_versions(&self, plugin: &str) -> Result<Vec<(String, i64)>, StoreError>;
    /// Versions of the plugin that have use receipts since `since` (ms).
    async fn called_versions(&self, plugin: &str, since: i64) -> Result<Vec<String>, StoreError>;
    /// Use receipts (lifecycle calls excluded) since `since`, of one version or (`None`) all.
    async fn call_stats(&self, plugin: &str, version: Option<&str>, since: i64) -> Result<CallStats, StoreError>;
    /// Use receipts per tenant and version between `from` and `to` (ms).
    async fn calls_by_tenant(&self, plugin: &str, from: i64, to: i64) -> Result<Vec<(TenantId, String, i64)>, StoreError>;
}

/// Receipts are stored many rows per statement: one round trip to the database (and, on SQLite,
/// one hand-off to its worker thread) per statement was most of the cost of storing them.
/// 13 values a row keeps a statement of 250 rows well under both databases' parameter limits.
const RECEIPT_ROWS_PER_INSERT: usize = 250;
const RECEIPT_COLUMNS: usize = 13;
const RECEIPT_INSERT: &str = "INSERT INTO plugin_receipts (tenant_id, plugin_id, version, kind, target, started_at, duration_us, epochs, peak_memory, host_calls, denials, outcome, error) VALUES ";

/// The statement inserting `rows` receipts at once. SQLite gets anonymous `?` placeholders:
/// numbered ones (`$n`) are named parameters to it, and binding each one looks its name up in a
/// list as long as the statement (3,250 values: quadratic, and it was most of the CPU the
/// receipt writer took from the calls it records).
fn receipt_insert_sql(rows: usize, backend: Backend) -> String {
    let mut sql = String::with_capacity(RECEIPT_INSERT.len() + rows * 80);
    sql.push_str(RECEIPT_INSERT);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..RECEIPT_COLUMNS {
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", row * RECEIPT_COLUMNS + column + 1)),
            }
        }
        sql.push(')');
    }
    sql
}

fn summarize(plugin: String, mut durations: Vec<i64>, rows: &[(String, i64, i64, i32, i32)]) -> ReceiptSummary {
    durations.sort_unstable();
    let pick = |q: f64| nearest_rank(&durations, q);
    ReceiptSummary {
        plugin_id: plugin,
        invocations: rows.len() as i64,
        failures: rows.iter().filter(|r| r.0 != "ok").count() as i64,
        traps: rows.iter().filter(|r| r.0 == "trap").count() as i64,
        p50_us: pick(0.5),
        p95_us: pick(0.95),
        peak_memory: rows.iter().map(|r| r.2).max().unwrap_or(0),
        host_calls: rows.iter().map(|r| i64::from(r.3)).sum(),
        denials: rows.iter().map(|r| i64::from(r.4)).sum(),
    }
}

fn receipt(r: &Row, tenant: TenantId) -> Result<Receipt, StoreError> {
    Ok(from_row!(r => Receipt {
        tenant = tenant, plugin_id, version, kind, target, started_at, duration_us, epochs, peak_memory, host_calls, denials, outcome, error
    }))
}

/// A plugin's kv entries and non-secret settings (JSON text) in a tenant, inside the caller's
/// transaction (the marketplace exports an uninstalled plugin's data this way).
pub async fn plugin_data(tx: &mut Tx, tenant: TenantId, plugin: &str) -> Result<(Vec<(String, Vec<u8>)>, Vec<(String, String)>), StoreError> {
    let rows =
        tx.query("SELECT key, value FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 ORDER BY key").bind(tenant).bind(plugin).fetch_all(tx).await?;
    let kv = rows.iter().map(|r| Ok((r.get("key")?, r.get("value")?))).collect::<Result<_, StoreError>>()?;
    let rows = tx
        .query("SELECT key, value FROM plugin_settings WHERE tenant_id = $1 AND plugin_id = $2 AND secret = $3 ORDER BY key")
        .bind((tenant, plugin, false))
        .fetch_all(tx)
        .await?;
    let settings = rows.iter().map(|r| Ok((r.get("key")?, r.get::<Json<Value>>("value")?.0.to_string()))).collect::<Result<_, StoreError>>()?;
    Ok((kv, settings))
}

/// Deletes a plugin's kv entries and settings in a tenant, inside the caller's transaction.
pub async fn delete_plugin_data(tx: &mut Tx, tenant: TenantId, plugin: &str) -> Result<(), StoreError> {
    tx.query("DELETE FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2").bind(tenant).bind(plugin).execute(tx).await?;
    tx.query("DELETE FROM plugin_settings WHERE tenant_id = $1 AND plugin_id = $2").bind(tenant).bind(plugin).execute(tx).await?;
    Ok(())
}

/// Whether the plugin is installed in the tenant, inside the caller's transaction.
pub async fn is_installed(tx: &mut Tx, tenant: TenantId, plugin: &str) -> Result<bool, StoreError> {
    let row = tx.query("SELECT plugin_id FROM plugin_installs WHERE tenant_id = $1 AND plugin_id = $2").bind(tenant).bind(plugin).fetch_optional(tx).await?;
    Ok(row.is_some())
}

/// Plugins in the database; secret settings sealed with `keys`.
pub struct SqlPluginStore {
    db: Db,
    clock: SharedClock,
    keys: Arc<KeyRing>,
}

/// What a secret setting is sealed for: its plugin and key (a value copied to another setting
/// does not open).
fn setting_purpose(plugin: &str, key: &str) -> String {
    format!("plugin_setting:{plugin}:{key}")
}

impl SqlPluginStore {
    /// A store over `db`, sealing secret settings with `keys`.
    pub fn new(db: Db, clock: SharedClock, keys: Arc<KeyRing>) -> Self {
        Self { db, clock, keys }
    }

    /// A secret setting as stored: the JSON text of its value, sealed, as a JSON string.
    fn seal_setting(&self, tenant: TenantId, plugin: &str, key: &str, value: &Value) -> Value {
        Value::String(self.keys.seal(tenant, &setting_purpose(plugin, key), value.to_string().as_bytes()))
    }

    /// The value of a stored secret setting: opened when sealed, as it is when written in clear
    /// before sealing existed.
    fn open_setting(&self, tenant: TenantId, plugin: &str, key: &str, stored: Value) -> Result<Value, StoreError> {
        let Value::String(text) = &stored else { return Ok(stored) };
        if crypto::storage(text) == crypto::Storage::Clear {
            return Ok(stored);
        }
        let what = || format!("the secret setting {plugin}.{key}");
        let clear = self.keys.open(tenant, &setting_purpose(plugin, key), text).map_err(|e| crypto::unreadable(what(), tenant, e))?;
        serde_json::from_slice(&clear).map_err(|_| crypto::unreadable(what(), tenant, crypto::OpenError::Malformed))
    }
}

/// How a stored secret setting is kept, for a census.
fn count_setting(census: &mut Census, stored: &Value) {
    match stored {
        Value::String(text) => census.count(text),
        _ => census.clear += 1,
    }
}

#[async_trait]
impl PluginStore for SqlPluginStore {
    async fn put_component(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.db
            .writing(Scope::Platform, "INSERT INTO plugin_components (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind((sha256, bytes, bytes.len() as i64, self.clock.now_ms()))
            .execute()
            .await?;
        Ok(())
    }

    async fn component(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let bytes = self.db.reading(Scope::Platform, "SELECT bytes FROM plugin_components WHERE sha256 = $1").bind(sha256).scalar().await?;
        Ok(bytes)
    }

    async fn put_install(&self, tenant: TenantId, install: &Installed, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        tx.query(
            r#"INSERT INTO plugin_installs (tenant_id, plugin_id, version, sha256, manifest, status, installed_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
               ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,
               manifest = excluded.manifest, status = excluded.status, updated_at = excluded.updated_at"#,
        )
        .bind((tenant, &install.plugin_id, &install.version, &install.sha256, Json(&install.manifest), &install.status, now))
        .execute(&mut tx)
        .await?;
        let entry = AuditEntry::new(Some(tenant), by, "plugin.installed", format!("plugin:{}", install.plugin_id))
            .after(serde_json::json!({ "version": install.version, "sha256": install.sha256, "status": install.status }));
        audit::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_install(&self, tenant: TenantId, plugin: &str, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let removed = tx.query("DELETE FROM plugin_installs WHERE tenant_id = $1 AND plugin_id = $2").bind(tenant).bind(plugin).execute(&mut tx).await? == 1;
        if removed {
            audit::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "plugin.uninstalled", format!("plugin:{plugin}"))).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn installs(&self, tenant: TenantId) -> Result<Vec<Installed>, StoreError> {
        let rows = self.db.reading(Scope::Tenant(tenant), "SELECT * FROM plugin_installs WHERE tenant_id = $1 ORDER BY plugin_id").bind(tenant).all().await?;
        rows.iter()
            .map(|r| {
                Ok(from_row!(r => Installed { plugin_id, version, sha256, manifest = r.get::<Json<Value>>("manifest")?.0, status, installed_at, updated_at }))
            })
            .collect()
    }

    async fn kv_get(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self
            .db
            .reading(Scope::Tenant(tenant), "SELECT value FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind((tenant, plugin, key))
            .scalar()
            .await?;
        Ok(value)
    }

    async fn kv_set(&self, tenant: TenantId, plugin: &str, key: &str, value: &[u8], expect: KvExpect<'_>) -> Result<KvWrite, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        // On SQLite the write transaction makes the usage read and the write see the same state.
        // On PostgreSQL the usage read is not locked: concurrent writes may overshoot the quota
        // by their own size, which is bounded; the conditional write itself is one statement.
        let usage = tx.query(KV_USAGE_SQL).bind(tenant).bind(plugin).bind(key).fetch_one(&mut tx).await?;
        if !within_quota(usage.at(0)?, usage.at(1)?, value) {
            return Ok(KvWrite::OverQuota);
        }
        let mut query = tx.query(kv_write_sql(expect)).bind(tenant).bind(plugin).bind(key).bind(value).bind(self.clock.now_ms());
        if let KvExpect::Value(expected) = expect {
            query = query.bind(expected);
        }
        let written = query.execute(&mut tx).await? == 1;
        tx.commit().await?;
        Ok(if written { KvWrite::Written } else { KvWrite::Mismatch })
    }

    async fn kv_delete(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<(), StoreError> {
        self.db
            .writing(Scope::Tenant(tenant), "DELETE FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind((tenant, plugin, key))
            .execute()
            .await?;
        Ok(())
    }

    async fn kv_keys(&self, tenant: TenantId, plugin: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let rows = self
            .db
            .reading(
                Scope::Tenant(tenant),
                "SELECT key FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND substr(key, 1, length($3)) = $3 ORDER BY key LIMIT 1000",
            )
            .bind((tenant, plugin, prefix))
            .all()
            .await?;
        Ok(rows.iter().map(|r| r.at(0)).collect::<Result<_, _>>()?)
    }

    async fn setting(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<(Value, bool)>, StoreError> {
        let row = self
            .db
            .reading(Scope::Tenant(tenant), "SELECT value, secret FROM plugin_settings WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind((tenant, plugin, key))
            .optional()
            .await?;
        let Some(row) = row else { return Ok(None) };
        let (stored, secret): (Value, bool) = (row.get::<Json<Value>>("value")?.0, row.get("secret")?);
        Ok(Some(if secret { (self.open_setting(tenant, plugin, key, stored)?, true) } else { (stored, false) }))
    }

    async fn set_setting(&self, tenant: TenantId, plugin: &str, key: &str, value: &Value, secret: bool, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let stored = if secret { self.seal_setting(tenant, plugin, key, value) } else { value.clone() };
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        tx.query(
            r#"INSERT INTO plugin_settings (tenant_id, plugin_id, key, value, secret, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant_id, plugin_id, key) DO UPDATE SET value = excluded.value, secret = excluded.secret, updated_at = excluded.updated_at"#,
        )
        .bind((tenant, plugin, key, Json(&stored), secret, now))
        .execute(&mut tx)
        .await?;
        let shown = if secret { Value::String("••••••".into()) } else { value.clone() };
        let entry = AuditEntry::new(Some(tenant), by, "plugin.setting_changed", format!("plugin:{plugin}")).after(serde_json::json!({ key: shown }));
        audit::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        for chunk in receipts.chunks(RECEIPT_ROWS_PER_INSERT) {
            let mut insert = tx.query_built(receipt_insert_sql(chunk.len(), tx.backend()));
            for r in chunk {
                insert = insert
                    .bind((
                        r.tenant,
                        &r.plugin_id,
                        &r.version,
                        &r.kind,
                        &r.target,
                        r.started_at,
                        r.duration_us,
                        r.epochs,
                        r.peak_memory,
                        r.host_calls,
                        r.denials,
                        &r.outcome,
                    ))
                    .bind(r.error.as_deref());
            }
            insert.execute(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn receipt_summary(&self, tenant: TenantId, since: i64) -> Result<Vec<ReceiptSummary>, StoreError> {
        if self.db.backend() == Backend::Postgres {
            // PostgreSQL aggregates in place; SQLite has no percentile, so its rows are summed here.
            let rows = self
                .db
                .reading(
                    Scope::Tenant(tenant),
                    r#"SELECT plugin_id, count(*) AS invocations, count(*) FILTER (WHERE outcome <> 'ok') AS failures,
                              count(*) FILTER (WHERE outcome = 'trap') AS traps,
                              coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_us), 0) AS p50,
                              coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_us), 0) AS p95,
                              coalesce(max(peak_memory), 0) AS peak, coalesce(sum(host_calls), 0)::bigint AS calls,
                              coalesce(sum(denials), 0)::bigint AS denials
                       FROM plugin_receipts WHERE tenant_id = $1 AND started_at >= $2 GROUP BY plugin_id ORDER BY plugin_id"#,
                )
                .bind((tenant, since))
                .all()
                .await?;
            return rows
                .iter()
                .map(|r| {
                    Ok(from_row!(r => ReceiptSummary {
                        plugin_id, invocations, failures, traps, p50_us = r.get("p50")?, p95_us = r.get("p95")?, peak_memory = r.get("peak")?,
                        host_calls = r.get("calls")?, denials
                    }))
                })
                .collect();
        }
        let rows = self
            .db
            .reading(
                Scope::Tenant(tenant),
                "SELECT plugin_id, outcome, duration_us, peak_memory, host_calls, denials FROM plugin_receipts WHERE tenant_id = $1 AND started_at >= $2 ORDER BY plugin_id",
            )
            .bind((tenant, since))
            .all()
            .await?;
        let mut by_plugin: std::collections::BTreeMap<String, (Vec<i64>, Vec<(String, i64, i64, i32, i32)>)> = Default::default();
        for r in &rows {
            let entry = by_plugin.entry(r.get("plugin_id")?).or_default();
            let duration: i64 = r.get("duration_us")?;
            entry.0.push(duration);
            entry.1.push((r.get("outcome")?, duration, r.get("peak_memory")?, r.get("host_calls")?, r.get("denials")?));
        }
        Ok(by_plugin.into_iter().map(|(plugin, (durations, rows))| summarize(plugin, durations, &rows)).collect())
    }

    async fn receipts(&self, tenant: TenantId, plugin: &str, limit: i64) -> Result<Vec<Receipt>, StoreError> {
        self.db
            .reading(Scope::Tenant(tenant), "SELECT * FROM plugin_receipts WHERE tenant_id = $1 AND plugin_id = $2 ORDER BY id DESC LIMIT $3")
            .bind((tenant, plugin, limit))
            .all_as(|r| receipt(r, tenant))
            .await
    }

    async fn installs_of(&self, plugin: &str) -> Result<Vec<(TenantId, String)>, StoreError> {
        let rows = self
            .db
            .reading(Scope::Platform, "SELECT tenant_id, version FROM plugin_installs WHERE plugin_id = $1 ORDER BY tenant_id")
            .bind(plugin)
            .all()
            .await?;
        rows.into_iter().map(|r| Ok((r.get::<TenantId>("tenant_id")?, r.get("version")?))).collect()
    }

    async fn install_counts(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT plugin_id, COUNT(*) AS n FROM plugin_installs GROUP BY plugin_id")
            .all_as(|r| Ok((r.get("plugin_id")?, r.get("n")?)))
            .await
    }

    async fn installed_versions(&self, plugin: &str) -> Result<Vec<(String, i64)>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT version, COUNT(*) AS n FROM plugin_installs WHERE plugin_id = $1 GROUP BY version")
            .bind(plugin)
            .all_as(|r| Ok((r.get("version")?, r.get("n")?)))
            .await
    }

    async fn called_versions(&self, plugin: &str, since: i64) -> Result<Vec<String>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT DISTINCT version FROM plugin_receipts WHERE plugin_id = $1 AND started_at >= $2 AND kind <> 'lifecycle'")
            .bind((plugin, since))
            .all_as(|r| Ok(r.get("version")?))
            .await
    }

    // Uses only: the install and upgrade calls a rollout itself makes are not traffic (counting
    // them made its health gate depend on when their receipts happened to be stored).
    async fn call_stats(&self, plugin: &str, version: Option<&str>, since: i64) -> Result<CallStats, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let filter = "plugin_id = $1 AND started_at >= $2 AND kind <> 'lifecycle' AND ($3 IS NULL OR version = $3)";
        let row = tx
            .query_built(format!(
                "SELECT COUNT(*) AS calls, COALESCE(SUM(CASE WHEN outcome = 'ok' THEN 0 ELSE 1 END), 0) AS failures FROM plugin_receipts WHERE {filter}"
            ))
            .bind((plugin, since, version))
            .fetch_one(&mut tx)
            .await?;
        let invocations: i64 = row.get("calls")?;
        let failures: i64 = row.get("failures")?;
        // Nearest rank, read in SQL: the value at rank ceil(0.95 n).
        let p95_us = if invocations == 0 {
            0
        } else {
            let offset = (invocations * 95 + 99) / 100 - 1;
            tx.query_built(format!("SELECT duration_us FROM plugin_receipts WHERE {filter} ORDER BY duration_us LIMIT 1 OFFSET $4"))
                .bind((plugin, since, version, offset))
                .fetch_one(&mut tx)
                .await?
                .at(0)?
        };
        tx.commit().await?;
        Ok(CallStats { invocations, failures, p95_us })
    }

    async fn calls_by_tenant(&self, plugin: &str, from: i64, to: i64) -> Result<Vec<(TenantId, String, i64)>, StoreError> {
        let rows = self
            .db
            .reading(
                Scope::Platform,
                "SELECT tenant_id, version, COUNT(*) AS calls FROM plugin_receipts
                 WHERE plugin_id = $1 AND started_at >= $2 AND started_at < $3 AND kind <> 'lifecycle' GROUP BY tenant_id, version",
            )
            .bind((plugin, from, to))
            .all()
            .await?;
        rows.into_iter().map(|r| Ok((r.get::<TenantId>("tenant_id")?, r.get("version")?, r.get("calls")?))).collect()
    }
}

#[async_trait]
impl SecretHolder for SqlPluginStore {
    fn secret_kind(&self) -> &'static str {
        "plugin_secret_settings"
    }

    async fn secret_census(&self, tenant: TenantId) -> Result<Census, StoreError> {
        let rows =
            self.db.reading(Scope::Tenant(tenant), "SELECT value FROM plugin_settings WHERE tenant_id = $1 AND secret = $2").bind((tenant, true)).all().await?;
        let mut census = Census::default();
        for row in rows {
            count_setting(&mut census, &row.at::<Json<Value>>(0)?.0);
        }
        Ok(census)
    }

    async fn reseal_secrets(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        // Locked until commit on PostgreSQL (SQLite's write transaction holds the database): a
        // setting changed meanwhile waits instead of being overwritten with its old value.
        let select = tx.pick(
            "SELECT plugin_id, key, value FROM plugin_settings WHERE tenant_id = $1 AND secret = $2",
            "SELECT plugin_id, key, value FROM plugin_settings WHERE tenant_id = $1 AND secret = $2 FOR UPDATE",
        );
        let rows = tx.query(select).bind((tenant, true)).fetch_all(&mut tx).await?;
        let mut resealed = 0;
        for row in rows {
            let (plugin, key, stored): (String, String, Value) = (row.get("plugin_id")?, row.get("key")?, row.get::<Json<Value>>("value")?.0);
            if matches!(&stored, Value::String(text) if !self.keys.needs_reseal(text)) {
                continue;
            }
            let value = self.open_setting(tenant, &plugin, &key, stored)?;
            let sealed = self.seal_setting(tenant, &plugin, &key, &value);
            tx.query("UPDATE plugin_settings SET value = $4 WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
                .bind((tenant, &plugin, &key, Json(&sealed)))
                .execute(&mut tx)
                .await?;
            resealed += 1;
        }
        tx.commit().await?;
        Ok(resealed)
    }
}
