use async_trait::async_trait;
use serde_json::Value;
use socle_tenants::{Actor, TenantId};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row as _, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::query::{Dialect, ExprKind, QueryPlan, SqlValue};
use super::store::{HistoryRow, IndexSpec, LinkRow, RecordStore, RecordWrite, SearchRow, StoredFile, StoredRecord, TimerRow, WriteOp};
use super::{FieldChange, FieldError, RecordError};
use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::error::StoreError;
use crate::jobs;
use crate::util::parse_uuid;

/// SQLite's SQL: JSON through `json_extract`.
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn field_expr(&self, name: &str, kind: ExprKind) -> String {
        match kind {
            ExprKind::Amount => format!("json_extract(data, '$.{name}.amount')"),
            _ => format!("json_extract(data, '$.{name}')"),
        }
    }

    fn array_contains(&self, name: &str, placeholder: &str) -> String {
        format!("EXISTS (SELECT 1 FROM json_each(data, '$.{name}') WHERE value = {placeholder})")
    }

    fn contains(&self, expr: &str, placeholder: &str) -> String {
        format!("lower({expr}) LIKE '%' || {placeholder} || '%' ESCAPE '\\'")
    }
}

/// Records on SQLite.
pub struct SqliteRecordStore {
    pool: SqlitePool,
    clock: SharedClock,
}

impl SqliteRecordStore {
    /// A store over this pool.
    pub fn new(pool: SqlitePool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

fn record(row: &SqliteRow) -> Result<StoredRecord, StoreError> {
    let data: String = row.try_get("data")?;
    Ok(StoredRecord {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        collection: row.try_get("collection")?,
        version: row.try_get("version")?,
        state: row.try_get("state")?,
        data: serde_json::from_str(&data).map_err(anyhow::Error::from)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        created_by: row.try_get("created_by")?,
        updated_by: row.try_get("updated_by")?,
    })
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    values: &'q [SqlValue],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
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

async fn check_version(conn: &mut SqliteConnection, tenant: TenantId, write: &RecordWrite) -> RecordError {
    let current: Option<i64> = sqlx::query_scalar("SELECT version FROM records WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.to_string())
        .bind(write.record.id.to_string())
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
impl RecordStore for SqliteRecordStore {
    fn dialect(&self) -> &dyn Dialect {
        &SqliteDialect
    }

    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM records WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    async fn get_many(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<StoredRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(&ids.iter().map(Uuid::to_string).collect::<Vec<_>>()).map_err(anyhow::Error::from)?;
        let rows = sqlx::query("SELECT * FROM records WHERE tenant_id = $1 AND id IN (SELECT value FROM json_each($2))")
            .bind(tenant.to_string())
            .bind(list)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(record).collect()
    }

    async fn query(&self, tenant: TenantId, plan: &QueryPlan) -> Result<(Vec<StoredRecord>, Option<i64>), StoreError> {
        // The collection is inlined (it is a checked identifier) so partial indexes apply.
        let base = format!("FROM records WHERE tenant_id = $1 AND collection = '{}'", plan.collection);
        let (conditions, values) = plan.where_sql(&SqliteDialect, 2, true);
        let sql = format!("SELECT * {base}{conditions}{} LIMIT {}", plan.order_sql(&SqliteDialect), plan.limit);
        let rows = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string()), &values).fetch_all(&self.pool).await?;
        let total = if plan.count {
            let (conditions, values) = plan.where_sql(&SqliteDialect, 2, false);
            let sql = format!("SELECT count(*) {base}{conditions}");
            let row = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string()), &values).fetch_one(&self.pool).await?;
            Some(row.try_get::<i64, _>(0)?)
        } else {
            None
        };
        Ok((rows.iter().map(record).collect::<Result<_, _>>()?, total))
    }

    async fn commit(&self, tenant: TenantId, write: &RecordWrite) -> Result<StoredRecord, RecordError> {
        let now = self.clock.now_ms();
        let r = &write.record;
        let t = tenant.to_string();
        let id = r.id.to_string();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let data = Value::Object(r.data.clone()).to_string();
        match write.op {
            WriteOp::Create => {
                let inserted = sqlx::query(
                    r#"INSERT INTO records (id, tenant_id, collection, version, state, data, created_at, updated_at, created_by, updated_by)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
                )
                .bind(&id)
                .bind(&t)
                .bind(&r.collection)
                .bind(r.version)
                .bind(&r.state)
                .bind(&data)
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
                .bind(&t)
                .bind(&id)
                .bind(r.version)
                .bind(&r.state)
                .bind(&data)
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
                    .bind(&t)
                    .bind(&id)
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
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM records WHERE tenant_id = $1 AND id = $2 AND collection = $3")
                .bind(&t)
                .bind(reference.id.to_string())
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
            .bind(&t)
            .bind(file.to_string())
            .bind(&id)
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
        .bind(&t)
        .bind(&id)
        .bind(&r.collection)
        .bind(r.version)
        .bind(now)
        .bind(&write.actor.subject)
        .bind(&write.actor.label)
        .bind(if write.transition.is_some() { "transition" } else { write.op.as_str() })
        .bind(&write.transition)
        .bind(serde_json::to_string(&write.changes).map_err(anyhow::Error::from)?)
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
        audit::sqlite::insert(&mut tx, now, &entry).await?;
        if write.op != WriteOp::Delete {
            sqlx::query("DELETE FROM search_docs WHERE tenant_id = $1 AND record_id = $2").bind(&t).bind(&id).execute(&mut *tx).await?;
            let tenant_key = format!("t{}", tenant.as_uuid().simple());
            for doc in &write.search_docs {
                sqlx::query("INSERT INTO search_docs (tenant_id, record_id, collection, permission, tenant_key, body) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&t)
                    .bind(&id)
                    .bind(&r.collection)
                    .bind(&doc.permission)
                    .bind(&tenant_key)
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
                .bind(&t)
                .bind(&id)
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
            jobs::sqlite::enqueue(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(r.clone())
    }

    async fn history(&self, tenant: TenantId, id: Uuid, before: Option<i64>, limit: i64) -> Result<Vec<HistoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM record_history WHERE tenant_id = $1 AND record_id = $2 AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
        )
        .bind(tenant.to_string())
        .bind(id.to_string())
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let changes: String = row.try_get("changes")?;
                Ok(HistoryRow {
                    id: row.try_get("id")?,
                    version: row.try_get("version")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    actor_label: row.try_get("actor_label")?,
                    op: row.try_get("op")?,
                    transition: row.try_get("transition")?,
                    changes: serde_json::from_str::<Vec<FieldChange>>(&changes).map_err(anyhow::Error::from)?,
                })
            })
            .collect()
    }

    async fn add_link(&self, tenant: TenantId, link: &LinkRow, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let added = sqlx::query(
            "INSERT INTO record_links (tenant_id, from_id, to_id, kind, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(tenant.to_string())
        .bind(link.from_id.to_string())
        .bind(link.to_id.to_string())
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
            audit::sqlite::insert(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn remove_link(&self, tenant: TenantId, link: &LinkRow, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let removed = sqlx::query("DELETE FROM record_links WHERE tenant_id = $1 AND from_id = $2 AND to_id = $3 AND kind = $4")
            .bind(tenant.to_string())
            .bind(link.from_id.to_string())
            .bind(link.to_id.to_string())
            .bind(&link.kind)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if removed {
            let entry = AuditEntry::new(Some(tenant), by, "record.unlinked", format!("record:{}", link.from_id))
                .before(serde_json::json!({ "to": link.to_id, "kind": link.kind }));
            audit::sqlite::insert(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn links(&self, tenant: TenantId, id: Uuid) -> Result<Vec<LinkRow>, StoreError> {
        let rows = sqlx::query("SELECT from_id, to_id, kind FROM record_links WHERE tenant_id = $1 AND (from_id = $2 OR to_id = $2) LIMIT 1000")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(LinkRow {
                    from_id: parse_uuid(&r.try_get::<String, _>("from_id")?)?,
                    to_id: parse_uuid(&r.try_get::<String, _>("to_id")?)?,
                    kind: r.try_get("kind")?,
                })
            })
            .collect()
    }

    async fn referencing(&self, tenant: TenantId, collection: &str, field: &str, target: Uuid, limit: i64) -> Result<Vec<StoredRecord>, StoreError> {
        let expr = SqliteDialect.field_expr(field, ExprKind::Text);
        let sql = format!("SELECT * FROM records WHERE tenant_id = $1 AND collection = '{collection}' AND {expr} = $2 ORDER BY id DESC LIMIT $3");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string()).bind(target.to_string()).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(record).collect()
    }

    async fn search(&self, tenant: TenantId, terms: &[String], limit: i64) -> Result<Vec<SearchRow>, StoreError> {
        // Terms are letters and digits only (see `search::terms`), quoted and prefix-matched.
        let words: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
        let expr = format!("tenant_key : t{} AND body : ({})", tenant.as_uuid().simple(), words.join(" AND "));
        let rows = sqlx::query(
            r#"SELECT d.record_id, d.collection, d.permission, snippet(search_fts, 1, '[', ']', '…', 12) AS snippet
               FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid
               WHERE search_fts MATCH $1 AND d.tenant_id = $2 ORDER BY bm25(search_fts) LIMIT $3"#,
        )
        .bind(expr)
        .bind(tenant.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SearchRow {
                    record_id: parse_uuid(&r.try_get::<String, _>("record_id")?)?,
                    collection: r.try_get("collection")?,
                    permission: r.try_get("permission")?,
                    snippet: r.try_get("snippet")?,
                })
            })
            .collect()
    }

    async fn timers(&self, tenant: TenantId, id: Uuid) -> Result<Vec<TimerRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM record_timers WHERE tenant_id = $1 AND record_id = $2 ORDER BY name")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_all(&self.pool)
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
        let unique = if index.unique { "UNIQUE " } else { "" };
        let sql = format!(
            "CREATE {unique}INDEX IF NOT EXISTS {} ON records (tenant_id, {}{}) WHERE collection = '{}'",
            index.name,
            index.expr,
            // Unique per tenant: the id would make every entry distinct. Otherwise the id orders
            // ties, as queries do.
            if index.unique { "" } else { ", id" },
            index.collection
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&self.pool).await.map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                StoreError::Conflict(format!("existing {} records share values, so `{}` cannot be unique", index.collection, index.expr))
            } else {
                e.into()
            }
        })?;
        Ok(())
    }

    async fn put_file(&self, tenant: TenantId, file: &StoredFile, bytes: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO files (id, tenant_id, name, content_type, size, sha256, bytes, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(file.id.to_string())
        .bind(tenant.to_string())
        .bind(&file.name)
        .bind(&file.content_type)
        .bind(file.size)
        .bind(&file.sha256)
        .bind(bytes)
        .bind(self.clock.now_ms())
        .bind(&file.created_by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn file(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredFile>, StoreError> {
        let row = sqlx::query("SELECT id, name, content_type, size, sha256, created_by, record_id, field FROM files WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(StoredFile {
                id: parse_uuid(&r.try_get::<String, _>("id")?)?,
                name: r.try_get("name")?,
                content_type: r.try_get("content_type")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
                created_by: r.try_get("created_by")?,
                record_id: crate::util::parse_uuid_opt(r.try_get("record_id")?)?,
                field: r.try_get("field")?,
            })
        })
        .transpose()
    }

    async fn file_bytes(&self, tenant: TenantId, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT bytes FROM files WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn purge_unattached_files(&self, before: i64) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM files WHERE record_id IS NULL AND created_at < $1").bind(before).execute(&self.pool).await?;
        Ok(result.rows_affected())
    }

    async fn tenant_schemas(&self, tenant: TenantId) -> Result<Vec<(String, Value)>, StoreError> {
        let rows = sqlx::query("SELECT name, definition FROM tenant_collections WHERE tenant_id = $1 ORDER BY updated_at, name")
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("definition")?;
                Ok((r.try_get("name")?, serde_json::from_str(&text).map_err(anyhow::Error::from)?))
            })
            .collect()
    }

    async fn put_tenant_schema(&self, tenant: TenantId, source: &str, schema: &Value, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            r#"INSERT INTO tenant_collections (tenant_id, name, definition, source, updated_at) VALUES ($1, $2, $3, $2, $4)
               ON CONFLICT (tenant_id, name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at"#,
        )
        .bind(tenant.to_string())
        .bind(source)
        .bind(schema.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let entry = AuditEntry::new(Some(tenant), by, "schema.installed", source.to_owned()).after(schema);
        audit::sqlite::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_tenant_schema(&self, tenant: TenantId, source: &str, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let removed = sqlx::query("DELETE FROM tenant_collections WHERE tenant_id = $1 AND name = $2")
            .bind(tenant.to_string())
            .bind(source)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if removed {
            audit::sqlite::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "schema.removed", source.to_owned())).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }
}
