use async_trait::async_trait;
use serde_json::{Map, Value};
use socle_tenants::{Actor, TenantId};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row as _};
use uuid::Uuid;

use super::query::{Dialect, ExprKind, QueryPlan, SqlValue};
use super::store::{HistoryRow, IndexSpec, LinkRow, RecordStore, RecordWrite, SearchRow, StoredFile, StoredRecord, TimerRow, WriteOp};
use super::{FieldChange, FieldError, RecordError};
use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::error::StoreError;
use crate::jobs;
use crate::db::Scope;
use crate::db::postgres::begin;

/// PostgreSQL's SQL: `jsonb` operators, with casts for numbers and booleans (the same
/// expressions as the indexes, so the indexes apply).
pub struct PgDialect;

impl Dialect for PgDialect {
    fn field_expr(&self, name: &str, kind: ExprKind) -> String {
        match kind {
            // The LEAKPROOF accessors of the field_accessors migration: with plain `->>` row-level
            // security would keep these conditions off the indexes.
            ExprKind::Text => format!("socle_text(data, '{name}')"),
            ExprKind::Number => format!("socle_number(data, '{name}')"),
            ExprKind::Bool => format!("socle_bool(data, '{name}')"),
            ExprKind::Amount => format!("socle_amount(data, '{name}')"),
        }
    }

    fn array_contains(&self, name: &str, placeholder: &str) -> String {
        format!("(data->'{name}') @> jsonb_build_array({placeholder})")
    }

    fn contains(&self, expr: &str, placeholder: &str) -> String {
        format!("{expr} ILIKE '%' || {placeholder} || '%' ESCAPE '\\'")
    }

    fn id_param(&self, placeholder: &str) -> String {
        format!("{placeholder}::uuid")
    }
}

/// Records on PostgreSQL, every transaction scoped to its tenant by row-level security.
pub struct PgRecordStore {
    pool: PgPool,
    owner_url: secrecy::SecretString,
    clock: SharedClock,
}

impl PgRecordStore {
    /// A store over this pool; `owner_url` connects as the tables' owner, for index DDL.
    pub fn new(pool: PgPool, owner_url: secrecy::SecretString, clock: SharedClock) -> Self {
        Self { pool, owner_url, clock }
    }
}

fn record(row: &PgRow) -> Result<StoredRecord, StoreError> {
    let data: Json<Map<String, Value>> = row.try_get("data")?;
    Ok(StoredRecord {
        id: row.try_get("id")?,
        collection: row.try_get("collection")?,
        version: row.try_get("version")?,
        state: row.try_get("state")?,
        data: data.0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        created_by: row.try_get("created_by")?,
        updated_by: row.try_get("updated_by")?,
    })
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    values: &'q [SqlValue],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    for value in values {
        query = match value {
            SqlValue::Text(s) => query.bind(s.as_str()),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Float(f) => query.bind(*f),
            SqlValue::Bool(b) => query.bind(*b),
        };
    }
    query
}

fn unique_violation(write: &RecordWrite, err: &sqlx::Error) -> Option<RecordError> {
    let db = err.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    let message = db.message();
    let (_, field) = write.unique_indexes.iter().find(|(index, _)| message.contains(index.as_str()))?;
    Some(RecordError::Invalid(vec![FieldError {
        field: field.clone(),
        message: "another record already has this value".into(),
    }]))
}

async fn check_version(conn: &mut PgConnection, tenant: TenantId, write: &RecordWrite) -> RecordError {
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM records WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_uuid())
        .bind(write.record.id)
        .fetch_optional(conn)
        .await
        .ok()
        .flatten();
    match current {
        Some(current) => RecordError::Conflict { id: write.record.id, expected: write.expected_version.unwrap_or(0), current },
        None => RecordError::NotFound(format!("record {} does not exist in this tenant", write.record.id)),
    }
}

#[async_trait]
impl RecordStore for PgRecordStore {
    fn dialect(&self) -> &dyn Dialect {
        &PgDialect
    }

    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredRecord>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let row = sqlx::query("SELECT * FROM records WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        row.as_ref().map(record).transpose()
    }

    async fn get_many(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<StoredRecord>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query("SELECT * FROM records WHERE tenant_id = $1 AND id = ANY($2)")
            .bind(tenant.as_uuid())
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
        rows.iter().map(record).collect()
    }

    async fn query(&self, tenant: TenantId, plan: &QueryPlan) -> Result<(Vec<StoredRecord>, Option<i64>), StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        // The collection is inlined (it is a checked identifier) so partial indexes apply.
        let base = format!("FROM records WHERE tenant_id = $1 AND collection = '{}'", plan.collection);
        let (conditions, values) = plan.where_sql(&PgDialect, 2, true);
        let sql = format!("SELECT * {base}{conditions}{} LIMIT {}", plan.order_sql(&PgDialect), plan.limit);
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_uuid()), &values).fetch_all(&mut *tx).await?;
        let total = if plan.count {
            let (conditions, values) = plan.where_sql(&PgDialect, 2, false);
            let sql = format!("SELECT count(*) {base}{conditions}");
            let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_uuid()), &values).fetch_one(&mut *tx).await?;
            Some(row.try_get::<i64, _>(0)?)
        } else {
            None
        };
        Ok((rows.iter().map(record).collect::<Result<_, _>>()?, total))
    }

    async fn commit(&self, tenant: TenantId, write: &RecordWrite) -> Result<StoredRecord, RecordError> {
        let now = self.clock.now_ms();
        let r = &write.record;
        let t = tenant.as_uuid();
        let id = r.id;
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let data = Json(&r.data);
        match write.op {
            WriteOp::Create => {
                let inserted = sqlx::query(
                    r#"INSERT INTO records (id, tenant_id, collection, version, state, data, created_at, updated_at, created_by, updated_by)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
                )
                .bind(id)
                .bind(t)
                .bind(&r.collection)
                .bind(r.version)
                .bind(&r.state)
                .bind(data)
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(&r.created_by)
                .bind(&r.updated_by)
                .execute(&mut *tx)
                .await;
                if let Err(err) = inserted {
                    return Err(unique_violation(write, &err).unwrap_or_else(|| err.into()));
                }
            }
            WriteOp::Update => {
                let updated = sqlx::query(
                    r#"UPDATE records SET version = $3, state = $4, data = $5, updated_at = $6, updated_by = $7
                       WHERE tenant_id = $1 AND id = $2 AND version = $8"#,
                )
                .bind(t)
                .bind(id)
                .bind(r.version)
                .bind(&r.state)
                .bind(data)
                .bind(r.updated_at)
                .bind(&r.updated_by)
                .bind(write.expected_version)
                .execute(&mut *tx)
                .await;
                match updated {
                    Err(err) => return Err(unique_violation(write, &err).unwrap_or_else(|| err.into())),
                    Ok(done) if done.rows_affected() == 0 => return Err(check_version(&mut tx, tenant, write).await),
                    Ok(_) => {}
                }
            }
            WriteOp::Delete => {
                let deleted = sqlx::query("DELETE FROM records WHERE tenant_id = $1 AND id = $2 AND version = $3")
                    .bind(t)
                    .bind(id)
                    .bind(write.expected_version)
                    .execute(&mut *tx)
                    .await?;
                if deleted.rows_affected() == 0 {
                    return Err(check_version(&mut tx, tenant, write).await);
                }
            }
        }
        let mut missing = Vec::new();
        for reference in &write.references {
            let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM records WHERE tenant_id = $1 AND id = $2 AND collection = $3")
                .bind(t)
                .bind(reference.id)
                .bind(&reference.collection)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                missing.push(FieldError { field: reference.field.clone(), message: format!("no {} record {} in this tenant", reference.collection, reference.id) });
            }
        }
        for (file, field) in &write.files {
            let attached = sqlx::query(
                "UPDATE files SET record_id = $3, field = $4 WHERE tenant_id = $1 AND id = $2 AND (record_id IS NULL OR (record_id = $3 AND field = $4))",
            )
            .bind(t)
            .bind(*file)
            .bind(id)
            .bind(field)
            .execute(&mut *tx)
            .await?;
            if attached.rows_affected() == 0 {
                missing.push(FieldError { field: field.clone(), message: format!("file {file} was not uploaded to this tenant, or belongs to another record") });
            }
        }
        if !missing.is_empty() {
            return Err(RecordError::Invalid(missing));
        }
        sqlx::query(
            r#"INSERT INTO record_history (tenant_id, record_id, collection, version, at, actor, actor_label, op, transition, changes)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        )
        .bind(t)
        .bind(id)
        .bind(&r.collection)
        .bind(r.version)
        .bind(now)
        .bind(&write.actor.subject)
        .bind(&write.actor.label)
        .bind(if write.transition.is_some() { "transition" } else { write.op.as_str() })
        .bind(&write.transition)
        .bind(Json(&write.changes))
        .execute(&mut *tx)
        .await?;
        let action = match (write.op, &write.transition) {
            (_, Some(_)) => "record.transitioned",
            (WriteOp::Create, _) => "record.created",
            (WriteOp::Update, _) => "record.updated",
            (WriteOp::Delete, _) => "record.deleted",
        };
        // The journal names the fields changed, not their values (values stay behind field
        // permissions, in the record's history).
        let entry = AuditEntry::new(Some(tenant), &write.actor, action, format!("record:{}:{}", r.collection, r.id)).after(serde_json::json!({
            "version": r.version, "transition": write.transition, "fields": write.changes.iter().map(|c| &c.field).collect::<Vec<_>>()
        }));
        audit::postgres::insert(&mut tx, now, &entry).await?;
        if write.op != WriteOp::Delete {
            sqlx::query("DELETE FROM search_docs WHERE tenant_id = $1 AND record_id = $2").bind(t).bind(id).execute(&mut *tx).await?;
            for doc in &write.search_docs {
                sqlx::query(
                    "INSERT INTO search_docs (tenant_id, record_id, collection, permission, body, tsv) VALUES ($1, $2, $3, $4, $5, to_tsvector('socle_french', $5))",
                )
                    .bind(t)
                    .bind(id)
                    .bind(&r.collection)
                    .bind(&doc.permission)
                    .bind(&doc.body)
                    .execute(&mut *tx)
                    .await?;
            }
            for timer in &write.timers {
                sqlx::query(
                    r#"INSERT INTO record_timers (tenant_id, record_id, name, status, due_at, remaining_ms, started_at, updated_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                       ON CONFLICT (tenant_id, record_id, name) DO UPDATE SET status = excluded.status, due_at = excluded.due_at,
                       remaining_ms = excluded.remaining_ms, started_at = excluded.started_at, updated_at = excluded.updated_at"#,
                )
                .bind(t)
                .bind(id)
                .bind(&timer.name)
                .bind(&timer.status)
                .bind(timer.due_at)
                .bind(timer.remaining_ms)
                .bind(timer.started_at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        for job in &write.jobs {
            jobs::postgres::enqueue(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(r.clone())
    }

    async fn history(&self, tenant: TenantId, id: Uuid, before: Option<i64>, limit: i64) -> Result<Vec<HistoryRow>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query(
            "SELECT * FROM record_history WHERE tenant_id = $1 AND record_id = $2 AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(before)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|row| {
                let changes: Json<Vec<FieldChange>> = row.try_get("changes")?;
                Ok(HistoryRow {
                    id: row.try_get("id")?,
                    version: row.try_get("version")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    actor_label: row.try_get("actor_label")?,
                    op: row.try_get("op")?,
                    transition: row.try_get("transition")?,
                    changes: changes.0,
                })
            })
            .collect()
    }

    async fn add_link(&self, tenant: TenantId, link: &LinkRow, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let added = sqlx::query(
            "INSERT INTO record_links (tenant_id, from_id, to_id, kind, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(tenant.as_uuid())
        .bind(link.from_id)
        .bind(link.to_id)
        .bind(&link.kind)
        .bind(now)
        .bind(&by.subject)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if added {
            let entry = AuditEntry::new(Some(tenant), by, "record.linked", format!("record:{}", link.from_id))
                .after(serde_json::json!({ "to": link.to_id, "kind": link.kind }));
            audit::postgres::insert(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn remove_link(&self, tenant: TenantId, link: &LinkRow, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let removed = sqlx::query("DELETE FROM record_links WHERE tenant_id = $1 AND from_id = $2 AND to_id = $3 AND kind = $4")
            .bind(tenant.as_uuid())
            .bind(link.from_id)
            .bind(link.to_id)
            .bind(&link.kind)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if removed {
            let entry = AuditEntry::new(Some(tenant), by, "record.unlinked", format!("record:{}", link.from_id))
                .before(serde_json::json!({ "to": link.to_id, "kind": link.kind }));
            audit::postgres::insert(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn links(&self, tenant: TenantId, id: Uuid) -> Result<Vec<LinkRow>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query("SELECT from_id, to_id, kind FROM record_links WHERE tenant_id = $1 AND (from_id = $2 OR to_id = $2) LIMIT 1000")
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(LinkRow {
                    from_id: r.try_get("from_id")?,
                    to_id: r.try_get("to_id")?,
                    kind: r.try_get("kind")?,
                })
            })
            .collect()
    }

    async fn referencing(&self, tenant: TenantId, collection: &str, field: &str, target: Uuid, limit: i64) -> Result<Vec<StoredRecord>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let expr = PgDialect.field_expr(field, ExprKind::Text);
        let sql = format!("SELECT * FROM records WHERE tenant_id = $1 AND collection = '{collection}' AND {expr} = $2 ORDER BY id DESC LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.as_uuid()).bind(target.to_string()).bind(limit).fetch_all(&mut *tx).await?;
        rows.iter().map(record).collect()
    }

    async fn search(&self, tenant: TenantId, terms: &[String], limit: i64) -> Result<Vec<SearchRow>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        // Terms are letters and digits only (see `search::terms`): each becomes a prefix match.
        let query = terms.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ");
        let rows = sqlx::query(
            r#"SELECT record_id, collection, permission,
                      ts_headline('socle_french', body, q, 'StartSel=[, StopSel=], MaxFragments=1, MaxWords=14, MinWords=4') AS snippet
               FROM search_docs, to_tsquery('socle_french', $2) q
               WHERE tenant_id = $1 AND tsv @@ q ORDER BY ts_rank(tsv, q) DESC LIMIT $3"#,
        )
        .bind(tenant.as_uuid())
        .bind(query)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SearchRow {
                    record_id: r.try_get("record_id")?,
                    collection: r.try_get("collection")?,
                    permission: r.try_get("permission")?,
                    snippet: r.try_get("snippet")?,
                })
            })
            .collect()
    }

    async fn timers(&self, tenant: TenantId, id: Uuid) -> Result<Vec<TimerRow>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query("SELECT * FROM record_timers WHERE tenant_id = $1 AND record_id = $2 ORDER BY name")
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TimerRow {
                    name: r.try_get("name")?,
                    status: r.try_get("status")?,
                    due_at: r.try_get("due_at")?,
                    remaining_ms: r.try_get("remaining_ms")?,
                    started_at: r.try_get("started_at")?,
                })
            })
            .collect()
    }

    async fn ensure_index(&self, index: &IndexSpec) -> Result<(), StoreError> {
        use secrecy::ExposeSecret as _;
        use sqlx::Connection as _;
        // Only the tables' owner may create indexes; CONCURRENTLY keeps writes flowing while a
        // new collection's index is built over the shared records table.
        let unique = if index.unique { "UNIQUE " } else { "" };
        let sql = format!(
            "CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {} ON records (tenant_id, {}{}) WHERE collection = '{}'",
            index.name,
            index.expr,
            // Unique per tenant: the id would make every entry distinct. Otherwise the id orders
            // ties, as queries do.
            if index.unique { "" } else { ", id" },
            index.collection
        );
        let mut conn = sqlx::PgConnection::connect(self.owner_url.expose_secret()).await?;
        let created = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
        let result = match created {
            Ok(_) => Ok(()),
            Err(e) if crate::db::is_unique_violation(&e) => {
                // A failed concurrent build leaves an invalid index behind: remove it.
                let drop = format!("DROP INDEX CONCURRENTLY IF EXISTS {}", index.name);
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await;
                Err(StoreError::Conflict(format!("existing {} records share values, so `{}` cannot be unique", index.collection, index.expr)))
            }
            Err(e) => Err(e.into()),
        };
        conn.close().await.ok();
        result
    }

    async fn put_file(&self, tenant: TenantId, file: &StoredFile, bytes: &[u8]) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        sqlx::query(
            "INSERT INTO files (id, tenant_id, name, content_type, size, sha256, bytes, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(file.id)
        .bind(tenant.as_uuid())
        .bind(&file.name)
        .bind(&file.content_type)
        .bind(file.size)
        .bind(&file.sha256)
        .bind(bytes)
        .bind(self.clock.now_ms())
        .bind(&file.created_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn file(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredFile>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let row = sqlx::query("SELECT id, name, content_type, size, sha256, created_by, record_id, field FROM files WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        row.map(|r| {
            Ok(StoredFile {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                created_by: r.try_get("created_by")?,
                record_id: r.try_get("record_id")?,
                field: r.try_get("field")?,
            })
        })
        .transpose()
    }

    async fn file_bytes(&self, tenant: TenantId, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        Ok(sqlx::query_scalar("SELECT bytes FROM files WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?)
    }

    async fn purge_unattached_files(&self, before: i64) -> Result<u64, StoreError> {
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        let result = sqlx::query("DELETE FROM files WHERE record_id IS NULL AND created_at < $1").bind(before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(result.rows_affected())
    }

    async fn tenant_schemas(&self, tenant: TenantId) -> Result<Vec<(String, Value)>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query("SELECT name, definition FROM tenant_collections WHERE tenant_id = $1 ORDER BY updated_at, name")
            .bind(tenant.as_uuid())
            .fetch_all(&mut *tx)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((r.try_get("name")?, r.try_get("definition")?))
            })
            .collect()
    }

    async fn put_tenant_schema(&self, tenant: TenantId, source: &str, schema: &Value, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        sqlx::query(
            r#"INSERT INTO tenant_collections (tenant_id, name, definition, source, updated_at) VALUES ($1, $2, $3, $2, $4)
               ON CONFLICT (tenant_id, name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at"#,
        )
        .bind(tenant.as_uuid())
        .bind(source)
        .bind(schema)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry::new(Some(tenant), by, "schema.installed", source.to_owned()).after(schema);
        audit::postgres::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_tenant_schema(&self, tenant: TenantId, source: &str, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let removed = sqlx::query("DELETE FROM tenant_collections WHERE tenant_id = $1 AND name = $2")
            .bind(tenant.as_uuid())
            .bind(source)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if removed {
            audit::postgres::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "schema.removed", source.to_owned())).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }
}
