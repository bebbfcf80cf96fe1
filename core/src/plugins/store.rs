//! Storage of plugins: components by digest, installations, the plugins' kv and settings, and
//! invocation receipts — on SQLite and PostgreSQL.

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use socle_tenants::{Actor, TenantId};
use sqlx::{PgPool, Row as _, SqlitePool};

use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::db::Scope;
use crate::db::postgres::begin;
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
#[async_trait]
pub trait PluginStore: Send + Sync {
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
    /// A setting: value and whether it is secret.
    async fn setting(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<(Value, bool)>, StoreError>;
    /// Sets a setting (journalled without its value when secret).
    async fn set_setting(&self, tenant: TenantId, plugin: &str, key: &str, value: &Value, secret: bool, by: &Actor) -> Result<(), StoreError>;
    /// Stores receipts (batched by the runtime).
    async fn add_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError>;
    /// Per-plugin aggregates of a tenant's receipts since `since`.
    async fn receipt_summary(&self, tenant: TenantId, since: i64) -> Result<Vec<ReceiptSummary>, StoreError>;
    /// The latest receipts of a plugin in a tenant.
    async fn receipts(&self, tenant: TenantId, plugin: &str, limit: i64) -> Result<Vec<Receipt>, StoreError>;
}

/// Receipts are stored many rows per statement: one round trip to the database (and, on SQLite,
/// one hand-off to its worker thread) per statement was most of the cost of storing them.
/// 13 values a row keeps a statement of 250 rows well under both databases' parameter limits.
const RECEIPT_ROWS_PER_INSERT: usize = 250;
const RECEIPT_INSERT: &str =
    "INSERT INTO plugin_receipts (tenant_id, plugin_id, version, kind, target, started_at, duration_us, epochs, peak_memory, host_calls, denials, outcome, error) ";

/// The values of `chunk` appended to a receipts `INSERT`, the tenant column bound as each
/// backend stores it.
macro_rules! push_receipt_rows {
    ($insert:expr, $chunk:expr, |$r:ident| $tenant:expr) => {
        $insert.push_values($chunk, |mut row, $r| {
            row.push_bind($tenant)
                .push_bind(&$r.plugin_id)
                .push_bind(&$r.version)
                .push_bind(&$r.kind)
                .push_bind(&$r.target)
                .push_bind($r.started_at)
                .push_bind($r.duration_us)
                .push_bind($r.epochs)
                .push_bind($r.peak_memory)
                .push_bind($r.host_calls)
                .push_bind($r.denials)
                .push_bind(&$r.outcome)
                .push_bind(&$r.error);
        })
    };
}

fn summarize(plugin: String, mut durations: Vec<i64>, rows: &[(String, i64, i64, i32, i32)]) -> ReceiptSummary {
    durations.sort_unstable();
    let pick = |q: f64| durations.get(((durations.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
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

macro_rules! receipt_from_row {
    ($r:expr, $tenant:expr) => {
        Receipt {
            tenant: $tenant,
            plugin_id: $r.try_get("plugin_id")?,
            version: $r.try_get("version")?,
            kind: $r.try_get("kind")?,
            target: $r.try_get("target")?,
            started_at: $r.try_get("started_at")?,
            duration_us: $r.try_get("duration_us")?,
            epochs: $r.try_get("epochs")?,
            peak_memory: $r.try_get("peak_memory")?,
            host_calls: $r.try_get("host_calls")?,
            denials: $r.try_get("denials")?,
            outcome: $r.try_get("outcome")?,
            error: $r.try_get("error")?,
        }
    };
}

/// Plugins on SQLite.
pub struct SqlitePluginStore {
    pool: SqlitePool,
    clock: SharedClock,
}

impl SqlitePluginStore {
    /// A store over this pool.
    pub fn new(pool: SqlitePool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

#[async_trait]
impl PluginStore for SqlitePluginStore {
    async fn put_component(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO plugin_components (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(sha256)
            .bind(bytes)
            .bind(bytes.len() as i64)
            .bind(self.clock.now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn component(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT bytes FROM plugin_components WHERE sha256 = $1").bind(sha256).fetch_optional(&self.pool).await?)
    }

    async fn put_install(&self, tenant: TenantId, install: &Installed, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            r#"INSERT INTO plugin_installs (tenant_id, plugin_id, version, sha256, manifest, status, installed_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
               ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,
               manifest = excluded.manifest, status = excluded.status, updated_at = excluded.updated_at"#,
        )
        .bind(tenant.to_string())
        .bind(&install.plugin_id)
        .bind(&install.version)
        .bind(&install.sha256)
        .bind(install.manifest.to_string())
        .bind(&install.status)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry::new(Some(tenant), by, "plugin.installed", format!("plugin:{}", install.plugin_id))
            .after(serde_json::json!({ "version": install.version, "sha256": install.sha256, "status": install.status }));
        audit::sqlite::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_install(&self, tenant: TenantId, plugin: &str, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let removed = sqlx::query("DELETE FROM plugin_installs WHERE tenant_id = $1 AND plugin_id = $2")
            .bind(tenant.to_string())
            .bind(plugin)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if removed {
            audit::sqlite::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "plugin.uninstalled", format!("plugin:{plugin}"))).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn installs(&self, tenant: TenantId) -> Result<Vec<Installed>, StoreError> {
        let rows = sqlx::query("SELECT * FROM plugin_installs WHERE tenant_id = $1 ORDER BY plugin_id").bind(tenant.to_string()).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let manifest: String = r.try_get("manifest")?;
                Ok(Installed {
                    plugin_id: r.try_get("plugin_id")?,
                    version: r.try_get("version")?,
                    sha256: r.try_get("sha256")?,
                    manifest: serde_json::from_str(&manifest).map_err(anyhow::Error::from)?,
                    status: r.try_get("status")?,
                    installed_at: r.try_get("installed_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    async fn kv_get(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind(tenant.to_string())
            .bind(plugin)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn kv_set(&self, tenant: TenantId, plugin: &str, key: &str, value: &[u8], expect: KvExpect<'_>) -> Result<KvWrite, StoreError> {
        // IMMEDIATE: the usage read and the write see the same state.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (bytes, keys): (i64, i64) = sqlx::query_as(KV_USAGE_SQL).bind(tenant.to_string()).bind(plugin).bind(key).fetch_one(&mut *tx).await?;
        if !within_quota(bytes, keys, value) {
            return Ok(KvWrite::OverQuota);
        }
        let mut query = sqlx::query(kv_write_sql(expect)).bind(tenant.to_string()).bind(plugin).bind(key).bind(value).bind(self.clock.now_ms());
        if let KvExpect::Value(expected) = expect {
            query = query.bind(expected);
        }
        let written = query.execute(&mut *tx).await?.rows_affected() == 1;
        tx.commit().await?;
        Ok(if written { KvWrite::Written } else { KvWrite::Mismatch })
    }

    async fn kv_delete(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind(tenant.to_string())
            .bind(plugin)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn kv_keys(&self, tenant: TenantId, plugin: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT key FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND substr(key, 1, length($3)) = $3 ORDER BY key LIMIT 1000")
            .bind(tenant.to_string())
            .bind(plugin)
            .bind(prefix)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn setting(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<(Value, bool)>, StoreError> {
        let row = sqlx::query("SELECT value, secret FROM plugin_settings WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind(tenant.to_string())
            .bind(plugin)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            let value: String = r.try_get("value")?;
            Ok((serde_json::from_str(&value).map_err(anyhow::Error::from)?, r.try_get("secret")?))
        })
        .transpose()
    }

    async fn set_setting(&self, tenant: TenantId, plugin: &str, key: &str, value: &Value, secret: bool, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            r#"INSERT INTO plugin_settings (tenant_id, plugin_id, key, value, secret, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant_id, plugin_id, key) DO UPDATE SET value = excluded.value, secret = excluded.secret, updated_at = excluded.updated_at"#,
        )
        .bind(tenant.to_string())
        .bind(plugin)
        .bind(key)
        .bind(value.to_string())
        .bind(secret)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let shown = if secret { Value::String("••••••".into()) } else { value.clone() };
        let entry = AuditEntry::new(Some(tenant), by, "plugin.setting_changed", format!("plugin:{plugin}")).after(serde_json::json!({ key: shown }));
        audit::sqlite::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in receipts.chunks(RECEIPT_ROWS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(RECEIPT_INSERT);
            push_receipt_rows!(insert, chunk, |r| r.tenant.to_string());
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn receipt_summary(&self, tenant: TenantId, since: i64) -> Result<Vec<ReceiptSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT plugin_id, outcome, duration_us, peak_memory, host_calls, denials FROM plugin_receipts WHERE tenant_id = $1 AND started_at >= $2 ORDER BY plugin_id",
        )
        .bind(tenant.to_string())
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut by_plugin: std::collections::BTreeMap<String, (Vec<i64>, Vec<(String, i64, i64, i32, i32)>)> = Default::default();
        for r in &rows {
            let entry = by_plugin.entry(r.try_get("plugin_id")?).or_default();
            let duration: i64 = r.try_get("duration_us")?;
            entry.0.push(duration);
            entry.1.push((r.try_get("outcome")?, duration, r.try_get("peak_memory")?, r.try_get("host_calls")?, r.try_get("denials")?));
        }
        Ok(by_plugin.into_iter().map(|(plugin, (durations, rows))| summarize(plugin, durations, &rows)).collect())
    }

    async fn receipts(&self, tenant: TenantId, plugin: &str, limit: i64) -> Result<Vec<Receipt>, StoreError> {
        let rows = sqlx::query("SELECT * FROM plugin_receipts WHERE tenant_id = $1 AND plugin_id = $2 ORDER BY id DESC LIMIT $3")
            .bind(tenant.to_string())
            .bind(plugin)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(receipt_from_row!(r, tenant))).collect()
    }
}

/// Plugins on PostgreSQL.
pub struct PgPluginStore {
    pool: PgPool,
    clock: SharedClock,
}

impl PgPluginStore {
    /// A store over this pool.
    pub fn new(pool: PgPool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

#[async_trait]
impl PluginStore for PgPluginStore {
    async fn put_component(&self, sha256: &str, bytes: &[u8]) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO plugin_components (sha256, bytes, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(sha256)
            .bind(bytes)
            .bind(bytes.len() as i64)
            .bind(self.clock.now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn component(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT bytes FROM plugin_components WHERE sha256 = $1").bind(sha256).fetch_optional(&self.pool).await?)
    }

    async fn put_install(&self, tenant: TenantId, install: &Installed, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        sqlx::query(
            r#"INSERT INTO plugin_installs (tenant_id, plugin_id, version, sha256, manifest, status, installed_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
               ON CONFLICT (tenant_id, plugin_id) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,
               manifest = excluded.manifest, status = excluded.status, updated_at = excluded.updated_at"#,
        )
        .bind(tenant.as_uuid())
        .bind(&install.plugin_id)
        .bind(&install.version)
        .bind(&install.sha256)
        .bind(&install.manifest)
        .bind(&install.status)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry::new(Some(tenant), by, "plugin.installed", format!("plugin:{}", install.plugin_id))
            .after(serde_json::json!({ "version": install.version, "sha256": install.sha256, "status": install.status }));
        audit::postgres::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn remove_install(&self, tenant: TenantId, plugin: &str, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let removed = sqlx::query("DELETE FROM plugin_installs WHERE tenant_id = $1 AND plugin_id = $2")
            .bind(tenant.as_uuid())
            .bind(plugin)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if removed {
            audit::postgres::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "plugin.uninstalled", format!("plugin:{plugin}"))).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn installs(&self, tenant: TenantId) -> Result<Vec<Installed>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query("SELECT * FROM plugin_installs WHERE tenant_id = $1 ORDER BY plugin_id").bind(tenant.as_uuid()).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(Installed {
                    plugin_id: r.try_get("plugin_id")?,
                    version: r.try_get("version")?,
                    sha256: r.try_get("sha256")?,
                    manifest: r.try_get("manifest")?,
                    status: r.try_get("status")?,
                    installed_at: r.try_get("installed_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    async fn kv_get(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let value = sqlx::query_scalar("SELECT value FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind(tenant.as_uuid())
            .bind(plugin)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(value)
    }

    async fn kv_set(&self, tenant: TenantId, plugin: &str, key: &str, value: &[u8], expect: KvExpect<'_>) -> Result<KvWrite, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        // The usage read is not locked: concurrent writes may overshoot the quota by their own
        // size, which is bounded; the conditional write itself is one atomic statement.
        let (bytes, keys): (i64, i64) = sqlx::query_as(KV_USAGE_SQL).bind(tenant.as_uuid()).bind(plugin).bind(key).fetch_one(&mut *tx).await?;
        if !within_quota(bytes, keys, value) {
            return Ok(KvWrite::OverQuota);
        }
        let mut query = sqlx::query(kv_write_sql(expect)).bind(tenant.as_uuid()).bind(plugin).bind(key).bind(value).bind(self.clock.now_ms());
        if let KvExpect::Value(expected) = expect {
            query = query.bind(expected);
        }
        let written = query.execute(&mut *tx).await?.rows_affected() == 1;
        tx.commit().await?;
        Ok(if written { KvWrite::Written } else { KvWrite::Mismatch })
    }

    async fn kv_delete(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        sqlx::query("DELETE FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind(tenant.as_uuid())
            .bind(plugin)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn kv_keys(&self, tenant: TenantId, plugin: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let keys = sqlx::query_scalar("SELECT key FROM plugin_kv WHERE tenant_id = $1 AND plugin_id = $2 AND starts_with(key, $3) ORDER BY key LIMIT 1000")
            .bind(tenant.as_uuid())
            .bind(plugin)
            .bind(prefix)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(keys)
    }

    async fn setting(&self, tenant: TenantId, plugin: &str, key: &str) -> Result<Option<(Value, bool)>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let row = sqlx::query("SELECT value, secret FROM plugin_settings WHERE tenant_id = $1 AND plugin_id = $2 AND key = $3")
            .bind(tenant.as_uuid())
            .bind(plugin)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| Ok((r.try_get("value")?, r.try_get("secret")?))).transpose()
    }

    async fn set_setting(&self, tenant: TenantId, plugin: &str, key: &str, value: &Value, secret: bool, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        sqlx::query(
            r#"INSERT INTO plugin_settings (tenant_id, plugin_id, key, value, secret, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant_id, plugin_id, key) DO UPDATE SET value = excluded.value, secret = excluded.secret, updated_at = excluded.updated_at"#,
        )
        .bind(tenant.as_uuid())
        .bind(plugin)
        .bind(key)
        .bind(value)
        .bind(secret)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let shown = if secret { Value::String("••••••".into()) } else { value.clone() };
        let entry = AuditEntry::new(Some(tenant), by, "plugin.setting_changed", format!("plugin:{plugin}")).after(serde_json::json!({ key: shown }));
        audit::postgres::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_receipts(&self, receipts: &[Receipt]) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        for chunk in receipts.chunks(RECEIPT_ROWS_PER_INSERT) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(RECEIPT_INSERT);
            push_receipt_rows!(insert, chunk, |r| r.tenant.as_uuid());
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn receipt_summary(&self, tenant: TenantId, since: i64) -> Result<Vec<ReceiptSummary>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query(
            r#"SELECT plugin_id, count(*) AS invocations, count(*) FILTER (WHERE outcome <> 'ok') AS failures,
                      count(*) FILTER (WHERE outcome = 'trap') AS traps,
                      coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_us), 0) AS p50,
                      coalesce(percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_us), 0) AS p95,
                      coalesce(max(peak_memory), 0) AS peak, coalesce(sum(host_calls), 0)::bigint AS calls,
                      coalesce(sum(denials), 0)::bigint AS denials
               FROM plugin_receipts WHERE tenant_id = $1 AND started_at >= $2 GROUP BY plugin_id ORDER BY plugin_id"#,
        )
        .bind(tenant.as_uuid())
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(ReceiptSummary {
                    plugin_id: r.try_get("plugin_id")?,
                    invocations: r.try_get("invocations")?,
                    failures: r.try_get("failures")?,
                    traps: r.try_get("traps")?,
                    p50_us: r.try_get("p50")?,
                    p95_us: r.try_get("p95")?,
                    peak_memory: r.try_get("peak")?,
                    host_calls: r.try_get("calls")?,
                    denials: r.try_get("denials")?,
                })
            })
            .collect()
    }

    async fn receipts(&self, tenant: TenantId, plugin: &str, limit: i64) -> Result<Vec<Receipt>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query("SELECT * FROM plugin_receipts WHERE tenant_id = $1 AND plugin_id = $2 ORDER BY id DESC LIMIT $3")
            .bind(tenant.as_uuid())
            .bind(plugin)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(|r| Ok(receipt_from_row!(r, tenant))).collect()
    }
}
