use async_trait::async_trait;
use socle_tenants::TenantId;
use sqlx::{PgConnection, PgPool, Row as _};

use super::{AuditEntry, AuditQuery, AuditRecord, AuditStore};
use crate::clock::SharedClock;
use crate::db::Scope;
use crate::db::postgres::begin;
use crate::error::StoreError;

/// The journal on PostgreSQL. The application role may only insert and select (see the grants in
/// `db::postgres::migrate`).
pub struct PgAuditStore {
    pool: PgPool,
    clock: SharedClock,
}

impl PgAuditStore {
    /// A store over this pool.
    pub fn new(pool: PgPool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

/// Appends `entry` on `conn`, inside the caller's (scoped) transaction.
pub async fn insert(conn: &mut PgConnection, now: i64, entry: &AuditEntry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        r#"INSERT INTO audit_log (tenant_id, at, actor, actor_label, action, target, ip, request_id, before, after)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
    )
    .bind(entry.tenant.map(|t| t.as_uuid()))
    .bind(now)
    .bind(&entry.actor.subject)
    .bind(&entry.actor.label)
    .bind(entry.action)
    .bind(&entry.target)
    .bind(&entry.actor.ip)
    .bind(&entry.actor.request_id)
    .bind(&entry.before)
    .bind(&entry.after)
    .execute(conn)
    .await?;
    Ok(())
}

fn record(row: &sqlx::postgres::PgRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: row.try_get("id")?,
        tenant_id: row.try_get::<Option<uuid::Uuid>, _>("tenant_id")?.map(TenantId::from_uuid),
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        actor_label: row.try_get("actor_label")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        ip: row.try_get("ip")?,
        request_id: row.try_get("request_id")?,
        before: row.try_get("before")?,
        after: row.try_get("after")?,
    })
}

#[async_trait]
impl AuditStore for PgAuditStore {
    async fn append(&self, entry: AuditEntry<'_>) -> Result<(), StoreError> {
        let scope = entry.tenant.map_or(Scope::Platform, Scope::Tenant);
        let mut tx = begin(&self.pool, scope).await?;
        insert(&mut tx, self.clock.now_ms(), &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query(
            r#"SELECT * FROM audit_log
               WHERE tenant_id = $1 AND ($2::text IS NULL OR action LIKE $2 || '%') AND ($3::bigint IS NULL OR id < $3)
               ORDER BY id DESC LIMIT $4"#,
        )
        .bind(tenant.as_uuid())
        .bind(&query.action_prefix)
        .bind(query.before_id)
        .bind(query.page_size())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(record).collect()
    }

    async fn list_platform(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        let rows = sqlx::query(
            r#"SELECT * FROM audit_log
               WHERE tenant_id IS NULL AND ($1::text IS NULL OR action LIKE $1 || '%') AND ($2::bigint IS NULL OR id < $2)
               ORDER BY id DESC LIMIT $3"#,
        )
        .bind(&query.action_prefix)
        .bind(query.before_id)
        .bind(query.page_size())
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(record).collect()
    }
}
