//! Storage of records: one trait, a SQLite and a PostgreSQL implementation. A write is one call
//! ([`RecordStore::commit`]) carrying everything that must happen in the same transaction.

use async_trait::async_trait;
use serde_json::{Map, Value};
use socle_tenants::{Actor, TenantId};
use uuid::Uuid;

use super::query::{Dialect, QueryPlan};
use super::{FieldChange, HistoryEntry, RecordError};
use crate::audit::AuditEntry;
use crate::error::StoreError;
use crate::jobs::NewJob;

/// A record as stored (every field).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Id.
    pub id: Uuid,
    /// Collection.
    pub collection: String,
    /// Version.
    pub version: i64,
    /// Workflow state.
    pub state: Option<String>,
    /// Every field.
    pub data: Map<String, Value>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Creator.
    pub created_by: String,
    /// Last changer.
    pub updated_by: String,
}

/// What a write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOp {
    /// Insert.
    Create,
    /// Replace data (and state).
    Update,
    /// Remove.
    Delete,
}

impl WriteOp {
    /// `create`, `update` or `delete`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
        }
    }
}

/// A search document: the searchable text of a record readable with `permission` (empty: by
/// anyone who can read the record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDoc {
    /// Permission key(s) needed, comma-separated; empty for none.
    pub permission: String,
    /// The text.
    pub body: String,
}

/// A workflow timer's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRow {
    /// Timer name.
    pub name: String,
    /// `running`, `paused`, `fired` or `stopped`.
    pub status: String,
    /// When it fires, while running.
    pub due_at: Option<i64>,
    /// What is left, while paused.
    pub remaining_ms: Option<i64>,
    /// When it first started.
    pub started_at: i64,
}

/// A reference that must point at an existing record of `collection` in the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceCheck {
    /// Field holding it.
    pub field: String,
    /// Target record.
    pub id: Uuid,
    /// Target collection.
    pub collection: String,
}

/// Everything one write does, in one transaction.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    /// Insert, update or delete.
    pub op: WriteOp,
    /// The record after the write (the deleted record for deletes).
    pub record: StoredRecord,
    /// Updates and deletes apply only if the stored version is this one.
    pub expected_version: Option<i64>,
    /// The history entry.
    pub changes: Vec<FieldChange>,
    /// Transition name, for transitions.
    pub transition: Option<String>,
    /// Who (history and journal).
    pub actor: Actor,
    /// References that must exist.
    pub references: Vec<ReferenceCheck>,
    /// Uploaded files the record takes: (file id, field).
    pub files: Vec<(Uuid, String)>,
    /// Replacement search documents (ignored for deletes).
    pub search_docs: Vec<SearchDoc>,
    /// Timer rows to write.
    pub timers: Vec<TimerRow>,
    /// Outbox jobs.
    pub jobs: Vec<NewJob>,
    /// Unique index names → field, to report violations by field.
    pub unique_indexes: Vec<(String, String)>,
}

/// The event a write announces (to plugins' action hooks) and the action it is journaled as.
pub fn event_name(op: WriteOp, transition: Option<&str>) -> &'static str {
    match (op, transition) {
        (_, Some(_)) => "record.transitioned",
        (WriteOp::Create, _) => "record.created",
        (WriteOp::Update, _) => "record.updated",
        (WriteOp::Delete, _) => "record.deleted",
    }
}

impl RecordWrite {
    /// The write's journal entry: its event, the record, and the names of the fields changed
    /// (not their values, which stay behind field permissions, in the record's history).
    pub fn audit_entry(&self, tenant: TenantId) -> AuditEntry<'_> {
        let r = &self.record;
        AuditEntry::new(Some(tenant), &self.actor, event_name(self.op, self.transition.as_deref()), format!("record:{}:{}", r.collection, r.id)).after(
            serde_json::json!({ "version": r.version, "transition": self.transition, "fields": self.changes.iter().map(|c| &c.field).collect::<Vec<_>>() }),
        )
    }
}

/// An explicit link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRow {
    /// From.
    pub from_id: Uuid,
    /// To.
    pub to_id: Uuid,
    /// Kind.
    pub kind: String,
}

/// A raw search match.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRow {
    /// Record.
    pub record_id: Uuid,
    /// Collection.
    pub collection: String,
    /// Permission the matching document needs.
    pub permission: String,
    /// Matching text.
    pub snippet: String,
}

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Id.
    pub id: Uuid,
    /// Original name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// Hex sha256.
    pub sha256: String,
    /// Uploader.
    pub created_by: String,
    /// The record whose field took it, once attached.
    pub record_id: Option<Uuid>,
    /// That field.
    pub field: Option<String>,
}

impl StoredFile {
    /// The value a file field holds for this file (what the API's upload answers).
    pub fn field_value(&self) -> Value {
        serde_json::json!({ "id": self.id, "name": self.name, "content_type": self.content_type, "size": self.size })
    }
}

/// An index a collection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// Index name.
    pub name: String,
    /// Collection (partial index predicate).
    pub collection: String,
    /// Field expression, in the backend's dialect.
    pub expr: String,
    /// Unique per tenant.
    pub unique: bool,
}

/// Storage of records.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// The SQL dialect of queries.
    fn dialect(&self) -> &dyn Dialect;
    /// One record.
    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredRecord>, StoreError>;
    /// Several records (missing ones are skipped).
    async fn get_many(&self, tenant: TenantId, ids: &[Uuid]) -> Result<Vec<StoredRecord>, StoreError>;
    /// A page of a query, and the total when asked.
    async fn query(&self, tenant: TenantId, plan: &QueryPlan) -> Result<(Vec<StoredRecord>, Option<i64>), StoreError>;
    /// Applies a write and everything with it in one transaction.
    async fn commit(&self, tenant: TenantId, write: &RecordWrite) -> Result<StoredRecord, RecordError>;
    /// History of a record, newest first.
    async fn history(&self, tenant: TenantId, record: Uuid, before: Option<i64>, limit: i64) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Adds a link (journalled); false if it existed.
    async fn add_link(&self, tenant: TenantId, link: &LinkRow, by: &Actor) -> Result<bool, StoreError>;
    /// Removes a link (journalled); false if it did not exist.
    async fn remove_link(&self, tenant: TenantId, link: &LinkRow, by: &Actor) -> Result<bool, StoreError>;
    /// Explicit links from or to a record.
    async fn links(&self, tenant: TenantId, record: Uuid) -> Result<Vec<LinkRow>, StoreError>;
    /// Records of `collection` whose reference field `field` points at `target`.
    async fn referencing(&self, tenant: TenantId, collection: &str, field: &str, target: Uuid, limit: i64) -> Result<Vec<StoredRecord>, StoreError>;
    /// Replaces the search documents of a batch of records (id, collection, documents) in one
    /// transaction: rebuilding the index after its rules changed.
    async fn reindex(&self, tenant: TenantId, batch: &[(Uuid, String, Vec<SearchDoc>)]) -> Result<(), StoreError>;
    /// Full-text matches of `terms` (already split words), best first.
    async fn search(&self, tenant: TenantId, terms: &[String], limit: i64) -> Result<Vec<SearchRow>, StoreError>;
    /// The timers of a record.
    async fn timers(&self, tenant: TenantId, record: Uuid) -> Result<Vec<TimerRow>, StoreError>;
    /// Creates an index if missing.
    async fn ensure_index(&self, index: &IndexSpec) -> Result<(), StoreError>;
    /// Stores an uploaded file.
    async fn put_file(&self, tenant: TenantId, file: &StoredFile, bytes: &[u8]) -> Result<(), StoreError>;
    /// A file's metadata.
    async fn file(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredFile>, StoreError>;
    /// A file's bytes.
    async fn file_bytes(&self, tenant: TenantId, id: Uuid) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes, in every tenant, the files uploaded before `before` (ms) that no record took
    /// (abandoned uploads, writes refused after their files were stored); returns how many.
    async fn purge_unattached_files(&self, before: i64) -> Result<u64, StoreError>;
    /// Schema fragments the tenant installed (custom collections, plugins' collections):
    /// `(source, schema as JSON)`.
    async fn tenant_schemas(&self, tenant: TenantId) -> Result<Vec<(String, Value)>, StoreError>;
    /// Installs or replaces a schema fragment (journalled).
    async fn put_tenant_schema(&self, tenant: TenantId, source: &str, schema: &Value, by: &Actor) -> Result<(), StoreError>;
    /// Removes a schema fragment (journalled; the records stay).
    async fn delete_tenant_schema(&self, tenant: TenantId, source: &str, by: &Actor) -> Result<bool, StoreError>;
}
