use async_trait::async_trait;
use socle_tenants::TenantId;
use sqlx::{Row as _, SqliteConnection, SqlitePool};

use super::{AuditEntry, AuditQuery, AuditRecord, AuditStore};
use crate::clock::SharedClock;
use crate::error::StoreError;
use crate::util::{opt_json_text, parse_uuid_opt};

/// The journal on SQLite.
pub struct SqliteAuditStore {
    pool: SqlitePool,
    clock: SharedClock,
}

impl SqliteAuditStore {
    /// A store over this pool.
    pub fn new(pool: SqlitePool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

/// Appends `entry` on `conn`, inside the caller's transaction.
pub async fn insert(conn: &mut SqliteConnection, now: i64, entry: &AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        r#"INSERT INTO audit_log (tenant_id, at, actor, actor_label, action, target, ip, request_id, before, after)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
    )
    .bind(entry.tenant.map(|t| t.to_string()))
    .bind(now)
    .bind(&entry.actor.subject)
    .bind(&entry.actor.label)
    .bind(entry.action)
    .bind(&entry.target)
    .bind(&entry.actor.ip)
    .bind(&entry.actor.request_id)
    .bind(opt_json_text(&entry.before))
    .bind(opt_json_text(&entry.after))
    .execute(conn)
    .await?;
    Ok(())
}

fn record(row: &sqlx::sqlite::SqliteRow) -> Result<AuditRecord, StoreError> {
    let json = |col: &str| -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = row.try_get(col)?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    };
    Ok(AuditRecord {
        id: row.try_get("id")?,
        tenant_id: parse_uuid_opt(row.try_get("tenant_id")?)?.map(TenantId::from_uuid),
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        actor_label: row.try_get("actor_label")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        ip: row.try_get("ip")?,
        request_id: row.try_get("request_id")?,
        before: json("before")?,
        after: json("after")?,
    })
}

#[async_trait]
impl AuditStore for SqliteAuditStore {
    async fn append(&self, entry: AuditEntry<'_>) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert(&mut conn, self.clock.now_ms(), &entry).await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            r#"SELECT * FROM audit_log
               WHERE tenant_id = $1 AND ($2 IS NULL OR action LIKE $2 || '%') AND ($3 IS NULL OR id < $3)
               ORDER BY id DESC LIMIT $4"#,
        )
        .bind(tenant.to_string())
        .bind(&query.action_prefix)
        .bind(query.before_id)
        .bind(query.page_size())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }

    async fn list_platform(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            r#"SELECT * FROM audit_log
               WHERE tenant_id IS NULL AND ($1 IS NULL OR action LIKE $1 || '%') AND ($2 IS NULL OR id < $2)
               ORDER BY id DESC LIMIT $3"#,
        )
        .bind(&query.action_prefix)
        .bind(query.before_id)
        .bind(query.page_size())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record).collect()
    }
}
