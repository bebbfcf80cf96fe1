//! Records in the database: one implementation for SQLite and PostgreSQL. The engines differ in
//! how a field is read out of `data` (see [`SqliteDialect`] and [`PgDialect`]), in full-text
//! search (FTS5 against `tsvector`) and in how an index is built; the rest is the same SQL.

use async_trait::async_trait;
use serde_json::{Map, Value};
use socle_tenants::{Actor, TenantId};
use sqlx::types::Json;
use uuid::Uuid;

use super::HistoryEntry;
use super::query::{Dialect, ExprKind, PgDialect, QueryPlan, SqlValue, SqliteDialect};
use super::store::{IndexSpec, LinkRow, RecordStore, RecordWrite, SearchDoc, SearchRow, StoredFile, StoredRecord, TimerRow, WriteOp};
use super::{FieldChange, FieldError, RecordError};
use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::db::from_row;
use crate::db::{Backend, Db, IdList, Query, Row, Scope, Tx};
use crate::error::StoreError;
use crate::jobs;

/// Records in the database (on PostgreSQL, every transaction is scoped to its tenant by
/// row-level security).
pub struct SqlRecordStore {
    db: Db,
    clock: SharedClock,
}

impl SqlRecordStore {
    /// A store over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

fn dialect(backend: Backend) -> &'static dyn Dialect {
    match backend {
        Backend::Sqlite => &SqliteDialect,
        Backend::Postgres => &PgDialect,
    }
}

fn record(row: &Row) -> Result<StoredRecord, StoreError> {
    let data: Json<Map<String, Value>> = row.get("data")?;
    Ok(from_row!(row => StoredRecord { id, collection, version, state, data = data.0, created_at, updated_at, created_by, updated_by }))
}

fn bind_all(mut query: Query, values: &[SqlValue]) -> Query {
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
    Some(RecordError::Invalid(vec![FieldError { field: field.clone(), message: "another record already has this value".into() }]))
}

async fn check_version(tx: &mut Tx, tenant: TenantId, write: &RecordWrite) -> RecordError {
    let current: Option<i64> =
        tx.query("SELECT version FROM records WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(write.record.id).scalar(tx).await.ok().flatten();
    match current {
        Some(current) => RecordError::Conflict { id: write.record.id, expected: write.expected_version.unwrap_or(0), current },
        None => RecordError::NotFound(format!("record {} does not exist in this tenant", write.record.id)),
    }
}

/// Every record of `collection` in the tenant, oldest first, inside the caller's transaction
/// (the marketplace exports an uninstalled plugin's collections this way).
pub async fn collection_records(tx: &mut Tx, tenant: TenantId, collection: &str) -> Result<Vec<StoredRecord>, StoreError> {
    let rows =
        tx.query("SELECT * FROM records WHERE tenant_id = $1 AND collection = $2 ORDER BY created_at, id").bind(tenant).bind(collection).fetch_all(tx).await?;
    rows.iter().map(record).collect()
}

/// Deletes every record of `collection` in the tenant with everything hanging off them (files,
/// search documents, timers, links, history), inside the caller's transaction — unless a schema
/// the tenant has installed defines the collection again; returns whether it deleted.
pub async fn purge_collection(tx: &mut Tx, tenant: TenantId, collection: &str) -> Result<bool, StoreError> {
    let taken = tx.query("SELECT name FROM tenant_collections WHERE tenant_id = $1 AND name = $2").bind(tenant).bind(collection).fetch_optional(tx).await?;
    if taken.is_some() {
        return Ok(false);
    }
    // Record ids of the collection, as a subquery bound to `$1` (tenant) and `$2` (collection).
    const IDS: &str = "SELECT id FROM records WHERE tenant_id = $1 AND collection = $2";
    for statement in [
        format!("DELETE FROM files WHERE tenant_id = $1 AND record_id IN ({IDS})"),
        format!("DELETE FROM search_docs WHERE tenant_id = $1 AND record_id IN ({IDS})"),
        format!("DELETE FROM record_timers WHERE tenant_id = $1 AND record_id IN ({IDS})"),
        format!("DELETE FROM record_links WHERE tenant_id = $1 AND (from_id IN ({IDS}) OR to_id IN ({IDS}))"),
        "DELETE FROM record_history WHERE tenant_id = $1 AND collection = $2".to_owned(),
        "DELETE FROM records WHERE tenant_id = $1 AND collection = $2".to_owned(),
    ] {
        tx.query_built(statement).bind(tenant).bind(collection).execute(tx).await?;
    }
    Ok(true)
}

/// Replaces the search documents of one record, inside the caller's transaction. SQLite's FTS5
/// table follows `search_docs` through triggers, matching on a per-tenant key; PostgreSQL keeps a
/// French `tsvector` beside the text.
async fn replace_search_docs(tx: &mut Tx, tenant: TenantId, id: Uuid, collection: &str, docs: &[SearchDoc]) -> Result<(), StoreError> {
    let t = tenant.as_uuid();
    tx.query("DELETE FROM search_docs WHERE tenant_id = $1 AND record_id = $2").bind(t).bind(id).execute(tx).await?;
    let tenant_key = format!("t{}", t.simple());
    for doc in docs {
        let insert = match tx.backend() {
            Backend::Sqlite => tx.query("INSERT INTO search_docs (tenant_id, record_id, collection, permission, body, tenant_key) VALUES ($1, $2, $3, $4, $5, $6)"),
            Backend::Postgres => tx.query(
                "INSERT INTO search_docs (tenant_id, record_id, collection, permission, body, tsv) VALUES ($1, $2, $3, $4, $5, to_tsvector('socle_french', $5))",
            ),
        };
        let insert = insert.bind(t).bind(id).bind(collection).bind(&doc.permission).bind(&doc.body);
        let insert = if tx.backend() == Backend::Sqlite { insert.bind(&tenant_key) } else { insert };
        insert.execute(tx).await?;
    }
    Ok(())
}

#[async_trait]
impl RecordStore for SqlRecordStore {
    async fn reindex(&self, tenant: TenantId, batch: &[(Uuid, String, Vec<SearchDoc>)]) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        for (id, collection, docs) in batch {
            replace_search_docs(&mut tx, tenant, *id, collection, docs).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    fn dialect(&self) -> &dyn Dialect {
        dialect(self.db.backend())
    }

    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredRecord>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let row = tx.query("SELECT * FROM records WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).fetch_optional(&mut tx).await?;
        row.as_ref().map(record).transpose()
    }

    async fn get_many(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<StoredRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let rows = tx
            .query(tx.pick(
                "SELECT * FROM records WHERE tenant_id = $1 AND id IN (SELECT value FROM json_each($2))",
                "SELECT * FROM records WHERE tenant_id = $1 AND id = ANY($2)",
            ))
            .bind((tenant, IdList(ids)))
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(record).collect()
    }

    async fn query(&self, tenant: TenantId, plan: &QueryPlan) -> Result<(Vec<StoredRecord>, Option<i64>), StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        // The collection is inlined (it is a checked identifier) so partial indexes apply.
        let base = format!("FROM records WHERE tenant_id = $1 AND collection = '{}'", plan.collection);
        let dialect = dialect(tx.backend());
        let (conditions, values) = plan.where_sql(dialect, 2, true);
        let sql = format!("SELECT * {base}{conditions}{} LIMIT {}", plan.order_sql(dialect), plan.limit);
        let rows = bind_all(tx.query_built(sql).bind(tenant), &values).fetch_all(&mut tx).await?;
        let total = if plan.count {
            let (conditions, values) = plan.where_sql(dialect, 2, false);
            let sql = format!("SELECT count(*) {base}{conditions}");
            let row = bind_all(tx.query_built(sql).bind(tenant), &values).fetch_one(&mut tx).await?;
            Some(row.at::<i64>(0)?)
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
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let data = Json(&r.data);
        match write.op {
            WriteOp::Create => {
                let inserted = tx
                    .query(
                        r#"INSERT INTO records (id, tenant_id, collection, version, state, data, created_at, updated_at, created_by, updated_by)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
                    )
                    .bind((id, t, &r.collection, r.version, &r.state, data, r.created_at, r.updated_at, &r.created_by, &r.updated_by))
                    .execute(&mut tx)
                    .await;
                if let Err(err) = inserted {
                    return Err(unique_violation(write, &err).unwrap_or_else(|| err.into()));
                }
            }
            WriteOp::Update => {
                let updated = tx
                    .query(
                        r#"UPDATE records SET version = $3, state = $4, data = $5, updated_at = $6, updated_by = $7
                       WHERE tenant_id = $1 AND id = $2 AND version = $8"#,
                    )
                    .bind((t, id, r.version, &r.state, data, r.updated_at, &r.updated_by, write.expected_version))
                    .execute(&mut tx)
                    .await;
                match updated {
                    Err(err) => return Err(unique_violation(write, &err).unwrap_or_else(|| err.into())),
                    Ok(0) => return Err(check_version(&mut tx, tenant, write).await),
                    Ok(_) => {}
                }
            }
            WriteOp::Delete => {
                let deleted = tx
                    .query("DELETE FROM records WHERE tenant_id = $1 AND id = $2 AND version = $3")
                    .bind((t, id, write.expected_version))
                    .execute(&mut tx)
                    .await?;
                if deleted == 0 {
                    return Err(check_version(&mut tx, tenant, write).await);
                }
            }
        }
        let mut missing = Vec::new();
        for reference in &write.references {
            let exists = tx
                .query("SELECT 1 FROM records WHERE tenant_id = $1 AND id = $2 AND collection = $3")
                .bind((t, reference.id, &reference.collection))
                .fetch_optional(&mut tx)
                .await?;
            if exists.is_none() {
                missing.push(FieldError {
                    field: reference.field.clone(),
                    message: format!("no {} record {} in this tenant", reference.collection, reference.id),
                });
            }
        }
        for (file, field) in &write.files {
            let attached = tx
                .query(
                    "UPDATE files SET record_id = $3, field = $4 WHERE tenant_id = $1 AND id = $2 AND (record_id IS NULL OR (record_id = $3 AND field = $4))",
                )
                .bind((t, *file, id, field))
                .execute(&mut tx)
                .await?;
            if attached == 0 {
                missing
                    .push(FieldError { field: field.clone(), message: format!("file {file} was not uploaded to this tenant, or belongs to another record") });
            }
        }
        if !missing.is_empty() {
            return Err(RecordError::Invalid(missing));
        }
        tx.query(
            r#"INSERT INTO record_history (tenant_id, record_id, collection, version, at, actor, actor_label, op, transition, changes)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"#,
        )
        .bind((
            t,
            id,
            &r.collection,
            r.version,
            now,
            &write.actor.subject,
            &write.actor.label,
            if write.transition.is_some() { "transition" } else { write.op.as_str() },
            &write.transition,
            Json(&write.changes),
        ))
        .execute(&mut tx)
        .await?;
        audit::insert(&mut tx, now, &write.audit_entry(tenant)).await?;
        if write.op != WriteOp::Delete {
            replace_search_docs(&mut tx, tenant, id, &r.collection, &write.search_docs).await?;
            for timer in &write.timers {
                tx.query(
                    r#"INSERT INTO record_timers (tenant_id, record_id, name, status, due_at, remaining_ms, started_at, updated_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                       ON CONFLICT (tenant_id, record_id, name) DO UPDATE SET status = excluded.status, due_at = excluded.due_at,
                       remaining_ms = excluded.remaining_ms, started_at = excluded.started_at, updated_at = excluded.updated_at"#,
                )
                .bind((t, id, &timer.name, &timer.status, timer.due_at, timer.remaining_ms, timer.started_at, now))
                .execute(&mut tx)
                .await?;
            }
        }
        for job in &write.jobs {
            jobs::store::enqueue(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(r.clone())
    }

    async fn history(&self, tenant: TenantId, id: Uuid, before: Option<i64>, limit: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let rows = tx
            .query("SELECT * FROM record_history WHERE tenant_id = $1 AND record_id = $2 AND (CAST($3 AS BIGINT) IS NULL OR id < $3) ORDER BY id DESC LIMIT $4")
            .bind((tenant, id, before, limit))
            .fetch_all(&mut tx)
            .await?;
        rows.iter()
            .map(|row| {
                let changes: Json<Vec<FieldChange>> = row.get("changes")?;
                Ok(from_row!(row => HistoryEntry { id, version, at, actor, actor_label, op, transition, changes = changes.0 }))
            })
            .collect()
    }

    async fn add_link(&self, tenant: TenantId, link: &LinkRow, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let added = tx
            .query("INSERT INTO record_links (tenant_id, from_id, to_id, kind, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
            .bind((tenant, link.from_id, link.to_id, &link.kind, now, &by.subject))
            .execute(&mut tx)
            .await?
            == 1;
        if added {
            let entry = AuditEntry::new(Some(tenant), by, "record.linked", format!("record:{}", link.from_id))
                .after(serde_json::json!({ "to": link.to_id, "kind": link.kind }));
            audit::insert(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn remove_link(&self, tenant: TenantId, link: &LinkRow, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let removed = tx
            .query("DELETE FROM record_links WHERE tenant_id = $1 AND from_id = $2 AND to_id = $3 AND kind = $4")
            .bind((tenant, link.from_id, link.to_id, &link.kind))
            .execute(&mut tx)
            .await?
            == 1;
        if removed {
            let entry = AuditEntry::new(Some(tenant), by, "record.unlinked", format!("record:{}", link.from_id))
                .before(serde_json::json!({ "to": link.to_id, "kind": link.kind }));
            audit::insert(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn links(&self, tenant: TenantId, id: Uuid) -> Result<Vec<LinkRow>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let rows = tx
            .query("SELECT from_id, to_id, kind FROM record_links WHERE tenant_id = $1 AND (from_id = $2 OR to_id = $2) LIMIT 1000")
            .bind((tenant, id))
            .fetch_all(&mut tx)
            .await?;
        rows.iter().map(|r| Ok(LinkRow { from_id: r.get("from_id")?, to_id: r.get("to_id")?, kind: r.get("kind")? })).collect()
    }

    async fn referencing(&self, tenant: TenantId, collection: &str, field: &str, target: Uuid, limit: i64) -> Result<Vec<StoredRecord>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let expr = dialect(tx.backend()).field_expr(field, ExprKind::Text);
        let sql = format!("SELECT * FROM records WHERE tenant_id = $1 AND collection = '{collection}' AND {expr} = $2 ORDER BY id DESC LIMIT $3");
        let rows = tx.query_built(sql).bind(tenant).bind(target.to_string()).bind(limit).fetch_all(&mut tx).await?;
        rows.iter().map(record).collect()
    }

    async fn search(&self, tenant: TenantId, terms: &[String], limit: i64) -> Result<Vec<SearchRow>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        // Terms are letters and digits only (see `search::terms`), so they can be written into a
        // match expression: each becomes a prefix match.
        let query = match tx.backend() {
            Backend::Sqlite => {
                let words: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
                tx.query(
                    r#"SELECT d.record_id, d.collection, d.permission, snippet(search_fts, 1, '[', ']', '…', 12) AS snippet
                       FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid
                       WHERE d.tenant_id = $1 AND search_fts MATCH $2 ORDER BY bm25(search_fts) LIMIT $3"#,
                )
                .bind((tenant, format!("tenant_key : t{} AND body : ({})", tenant.as_uuid().simple(), words.join(" AND "))))
            }
            Backend::Postgres => tx
                .query(
                    r#"SELECT record_id, collection, permission,
                              ts_headline('socle_french', body, q, 'StartSel=[, StopSel=], MaxFragments=1, MaxWords=14, MinWords=4') AS snippet
                       FROM search_docs, to_tsquery('socle_french', $2) q
                       WHERE tenant_id = $1 AND tsv @@ q ORDER BY ts_rank(tsv, q) DESC LIMIT $3"#,
                )
                .bind(tenant)
                .bind(terms.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ")),
        };
        let rows = query.bind(limit).fetch_all(&mut tx).await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(SearchRow { record_id: r.get("record_id")?, collection: r.get("collection")?, permission: r.get("permission")?, snippet: r.get("snippet")? })
            })
            .collect()
    }

    async fn timers(&self, tenant: TenantId, id: Uuid) -> Result<Vec<TimerRow>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let rows =
            tx.query("SELECT * FROM record_timers WHERE tenant_id = $1 AND record_id = $2 ORDER BY name").bind(tenant).bind(id).fetch_all(&mut tx).await?;
        rows.iter().map(|r| Ok(from_row!(r => TimerRow { name, status, due_at, remaining_ms, started_at }))).collect()
    }

    async fn ensure_index(&self, index: &IndexSpec) -> Result<(), StoreError> {
        let unique = if index.unique { "UNIQUE " } else { "" };
        // On PostgreSQL, CONCURRENTLY keeps writes flowing while a new collection's index is
        // built over the shared records table.
        let concurrently = if self.db.backend() == Backend::Postgres { "CONCURRENTLY " } else { "" };
        let sql = format!(
            "CREATE {unique}INDEX {concurrently}IF NOT EXISTS {} ON records (tenant_id, {}{}) WHERE collection = '{}'",
            index.name,
            index.expr,
            // Unique per tenant: the id would make every entry distinct. Otherwise the id orders
            // ties, as queries do.
            if index.unique { "" } else { ", id" },
            index.collection
        );
        match self.db.run_as_owner(sql).await {
            Ok(()) => Ok(()),
            Err(e) if crate::db::is_unique_violation(&e) => {
                if self.db.backend() == Backend::Postgres {
                    // A failed concurrent build leaves an invalid index behind: remove it.
                    let _ = self.db.run_as_owner(format!("DROP INDEX CONCURRENTLY IF EXISTS {}", index.name)).await;
                }
                Err(StoreError::Conflict(format!("existing {} records share values, so `{}` cannot be unique", index.collection, index.expr)))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn put_file(&self, tenant: TenantId, file: &StoredFile, bytes: &[u8]) -> Result<(), StoreError> {
        self.db.writing(Scope::Tenant(tenant),
            "INSERT INTO files (id, tenant_id, name, content_type, size, sha256, bytes, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind((file.id, tenant, &file.name, &file.content_type, file.size, &file.sha256, bytes, self.clock.now_ms(), &file.created_by))
        .execute()
        .await?;
        Ok(())
    }

    async fn file(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredFile>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let row = tx
            .query("SELECT id, name, content_type, size, sha256, created_by, record_id, field FROM files WHERE tenant_id = $1 AND id = $2")
            .bind((tenant, id))
            .fetch_optional(&mut tx)
            .await?;
        row.map(|r| Ok(from_row!(r => StoredFile { id, name, content_type, size, sha256, created_by, record_id, field }))).transpose()
    }

    async fn file_bytes(&self, tenant: TenantId, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        let bytes = self.db.reading(Scope::Tenant(tenant), "SELECT bytes FROM files WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).scalar().await?;
        Ok(bytes)
    }

    async fn purge_unattached_files(&self, before: i64) -> Result<u64, StoreError> {
        let result = self.db.writing(Scope::Platform, "DELETE FROM files WHERE record_id IS NULL AND created_at < $1").bind(before).execute().await?;
        Ok(result)
    }

    async fn tenant_schemas(&self, tenant: TenantId) -> Result<Vec<(String, Value)>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let rows =
            tx.query("SELECT name, definition FROM tenant_collections WHERE tenant_id = $1 ORDER BY updated_at, name").bind(tenant).fetch_all(&mut tx).await?;
        rows.iter().map(|r| Ok((r.get("name")?, r.get::<Json<Value>>("definition")?.0))).collect()
    }

    async fn put_tenant_schema(&self, tenant: TenantId, source: &str, schema: &Value, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        tx.query(
            r#"INSERT INTO tenant_collections (tenant_id, name, definition, source, updated_at) VALUES ($1, $2, $3, $2, $4)
               ON CONFLICT (tenant_id, name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at"#,
        )
        .bind((tenant, source, Json(schema), now))
        .execute(&mut tx)
        .await?;
        let entry = AuditEntry::new(Some(tenant), by, "schema.installed", source.to_owned()).after(schema);
        audit::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_tenant_schema(&self, tenant: TenantId, source: &str, by: &Actor) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let removed = tx.query("DELETE FROM tenant_collections WHERE tenant_id = $1 AND name = $2").bind(tenant).bind(source).execute(&mut tx).await? == 1;
        if removed {
            audit::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "schema.removed", source.to_owned())).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }
}
