//! The audit journal: append-only, one row per security-relevant event (logins and failures,
//! user, role and policy changes, tenant changes), with actor, tenant, address, time and the state
//! before and after. Stores append their entry in the same transaction as the change they record;
//! nothing, not even the table owner, can update or delete a row.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_tenants::{Actor, TenantId};
use sqlx::types::Json;

use crate::clock::SharedClock;
use crate::db::from_row;
use crate::db::{Db, Row, Scope, Tx};
use crate::error::StoreError;

/// An event to append.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// The tenant concerned; `None` for platform events (operator logins).
    pub tenant: Option<TenantId>,
    /// Who did it.
    pub actor: &'a Actor,
    /// Dotted verb, e.g. `user.created`, `login.failed`, `policy.granted`.
    pub action: &'a str,
    /// What it was done to, e.g. `user:<id>` or an email.
    pub target: String,
    /// State before the change.
    pub before: Option<Value>,
    /// State after the change.
    pub after: Option<Value>,
}

impl<'a> AuditEntry<'a> {
    /// An entry with no before/after state.
    pub fn new(tenant: Option<TenantId>, actor: &'a Actor, action: &'a str, target: impl Into<String>) -> Self {
        Self { tenant, actor, action, target: target.into(), before: None, after: None }
    }

    /// Adds the state before the change.
    pub fn before(mut self, value: impl Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    /// Adds the state after the change.
    pub fn after(mut self, value: impl Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Position in the journal (increasing).
    pub id: i64,
    /// The tenant concerned.
    pub tenant_id: Option<TenantId>,
    /// Unix milliseconds.
    pub at: i64,
    /// Subject (`user:<id>`, `operator:<id>`, `cli`, `system`).
    pub actor: String,
    /// Human label of the actor.
    pub actor_label: String,
    /// Dotted verb.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Client address.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// State before.
    pub before: Option<Value>,
    /// State after.
    pub after: Option<Value>,
}

/// Filters for reading the journal, newest first.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    /// Only actions starting with this prefix (`login.`, `user.`); `?action=` in URLs.
    #[serde(rename = "action")]
    pub action_prefix: Option<String>,
    /// Only entries older than this id (cursor for the next page); `?before=` in URLs.
    #[serde(rename = "before")]
    pub before_id: Option<i64>,
    /// Page size (capped at 500; 0 means 50).
    #[serde(default)]
    pub limit: u32,
}

impl AuditQuery {
    /// The effective page size.
    pub fn page_size(&self) -> i64 {
        i64::from(if self.limit == 0 { 50 } else { self.limit.min(500) })
    }
}

/// One page of the journal, newest first, and where the next one starts.
#[derive(Debug, Clone, Serialize)]
pub struct AuditPage {
    /// Entries.
    pub entries: Vec<AuditRecord>,
    /// Pass as `before` for the next page; `None` on the last one.
    pub next_before: Option<i64>,
}

/// A page of the tenant's journal.
pub async fn page(store: &dyn AuditStore, tenant: TenantId, query: &AuditQuery) -> Result<AuditPage, StoreError> {
    let entries = store.list(tenant, query).await?;
    let next_before = entries.last().filter(|_| entries.len() as i64 == query.page_size()).map(|e| e.id);
    Ok(AuditPage { entries, next_before })
}

/// Reading and appending the journal.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry on its own (events that change nothing else, such as a failed login).
    async fn append(&self, entry: AuditEntry<'_>) -> Result<(), StoreError>;
    /// One tenant's entries, newest first.
    async fn list(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// Platform entries (no tenant), newest first.
    async fn list_platform(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}

/// Appends `entry` inside the caller's transaction (the change it records commits with it).
pub async fn insert(tx: &mut Tx, now: i64, entry: &AuditEntry<'_>) -> Result<(), sqlx::Error> {
    tx.query(
        r#"INSERT INTO audit_log (tenant_id, at, actor, actor_label, action, target, ip, request_id, before, after)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
    )
    .bind((
        entry.tenant,
        now,
        &entry.actor.subject,
        &entry.actor.label,
        entry.action,
        &entry.target,
        entry.actor.ip.as_deref(),
        entry.actor.request_id.as_deref(),
        entry.before.as_ref().map(Json),
        entry.after.as_ref().map(Json),
    ))
    .execute(tx)
    .await?;
    Ok(())
}

fn record(row: &Row) -> Result<AuditRecord, StoreError> {
    Ok(from_row!(row => AuditRecord {
        id, tenant_id, at, actor, actor_label, action, target, ip, request_id, before = row.get::<Option<Json<Value>>>("before")?.map(|j| j.0),
        after = row.get::<Option<Json<Value>>>("after")?.map(|j| j.0)
    }))
}

/// The journal in the database. On PostgreSQL the application role may only insert and select
/// (see the grants in `db::postgres::migrate`); SQLite's triggers refuse updates and deletes.
pub struct SqlAuditStore {
    db: Db,
    clock: SharedClock,
}

impl SqlAuditStore {
    /// A store over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

#[async_trait]
impl AuditStore for SqlAuditStore {
    async fn append(&self, entry: AuditEntry<'_>) -> Result<(), StoreError> {
        let mut tx = self.db.write(entry.tenant.map_or(Scope::Platform, Scope::Tenant)).await?;
        insert(&mut tx, self.clock.now_ms(), &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.db
            .reading(
                Scope::Tenant(tenant),
                r#"SELECT * FROM audit_log
                   WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR action LIKE $2 || '%') AND (CAST($3 AS BIGINT) IS NULL OR id < $3)
                   ORDER BY id DESC LIMIT $4"#,
            )
            .bind((tenant, query.action_prefix.as_deref(), query.before_id, query.page_size()))
            .all_as(record)
            .await
    }

    async fn list_platform(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.db
            .reading(
                Scope::Platform,
                r#"SELECT * FROM audit_log
                   WHERE tenant_id IS NULL AND (CAST($1 AS TEXT) IS NULL OR action LIKE $1 || '%') AND (CAST($2 AS BIGINT) IS NULL OR id < $2)
                   ORDER BY id DESC LIMIT $3"#,
            )
            .bind((query.action_prefix.as_deref(), query.before_id, query.page_size()))
            .all_as(record)
            .await
    }
}
