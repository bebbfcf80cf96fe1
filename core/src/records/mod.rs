//! Records: the one engine every business object goes through — a ticket, a telecom line, an
//! intervention, a booking, an invoice. Collections are declared (the schema format of
//! `socle_marketplace::schema`), never coded; every create, update, transition and delete takes
//! the same write path:
//!
//! validate against the schema → authorize the record, each field and the transition (casbin,
//! per tenant) → run filter hooks (which may change or veto the write) → one transaction holding
//! the change, a field-level history entry, an audit entry, the search documents, workflow timers
//! and the outbox jobs (notifications, later plugin action hooks) → after commit, the job queue
//! runs those consumers, at least once.
//!
//! Reads apply the same rules: a field the caller may not read is absent from the result, the
//! history, the search results and exports — not masked.

pub mod access;
pub mod engine;
pub mod hooks;
pub mod jobs;
pub mod query;
pub mod registry;
pub mod saved_views;
pub mod search;
pub mod sql;
pub mod store;
pub mod workflow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use access::{Caller, Principal};
pub use engine::{RecordEngine, RecordRef};
pub use query::{Filter, Op, Query, Sort};

/// A record as the caller may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Stable id.
    pub id: Uuid,
    /// Its collection.
    pub collection: String,
    /// Incremented by every change; the `ETag` of the record.
    pub version: i64,
    /// Workflow state, when the collection has a workflow.
    pub state: Option<String>,
    /// Field values (only those the caller may read).
    pub data: Map<String, Value>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Who created it (`user:<id>`, `plugin:<id>`, `system`).
    pub created_by: String,
    /// Who changed it last.
    pub updated_by: String,
    /// Workflow timers (on single reads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timers: Vec<TimerView>,
}

/// A workflow timer as shown with its record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerView {
    /// Timer name.
    pub name: String,
    /// `running`, `paused`, `fired` or `stopped`.
    pub status: String,
    /// When it fires (running timers), Unix ms.
    pub due_at: Option<i64>,
    /// What was left when paused, ms.
    pub remaining_ms: Option<i64>,
}

/// One field's change in a history entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// Value before (null when set for the first time).
    pub before: Value,
    /// Value after (null when removed).
    pub after: Value,
}

/// A history entry as the caller may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// Position (increasing).
    pub id: i64,
    /// Version the change produced.
    pub version: i64,
    /// Unix ms.
    pub at: i64,
    /// Who.
    pub actor: String,
    /// Human label of who.
    pub actor_label: String,
    /// `create`, `update`, `transition` or `delete`.
    pub op: String,
    /// Transition name, for transitions.
    pub transition: Option<String>,
    /// Field changes the caller may read.
    pub changes: Vec<FieldChange>,
}

/// A link between two records, seen from one of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkView {
    /// Link kind (`tickets`), or the reference field's name for references.
    pub kind: String,
    /// `outgoing` (this record points to the other) or `incoming`.
    pub direction: &'static str,
    /// `link` (explicit) or `reference` (a reference field).
    pub via: &'static str,
    /// The other record.
    pub record_id: Uuid,
    /// Its collection.
    pub collection: String,
    /// Its title.
    pub title: String,
}

/// A search hit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The record.
    pub record_id: Uuid,
    /// Its collection.
    pub collection: String,
    /// Its title.
    pub title: String,
    /// Matching text, with matches between `[` and `]`.
    pub snippet: String,
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    /// The records.
    pub items: Vec<Record>,
    /// Cursor of the next page, if any.
    pub next_cursor: Option<String>,
    /// Total matching records, when asked for.
    pub total: Option<i64>,
}

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field (or `data` for the record as a whole).
    pub field: String,
    /// What to fix.
    pub message: String,
}

/// Why a record operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The collection or record does not exist for this caller.
    #[error("{0}")]
    NotFound(String),
    /// The input does not fit the schema.
    #[error("invalid record: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The caller may not do this.
    #[error("{0}")]
    Denied(String),
    /// The record changed since the caller read it.
    #[error("record {id} is at version {current}, not {expected}: reload it and apply your change again")]
    Conflict {
        /// The record.
        id: Uuid,
        /// Version the caller expected.
        expected: i64,
        /// Version it is at.
        current: i64,
    },
    /// A filter hook refused the write.
    #[error("refused by {hook}: {reason}")]
    Vetoed {
        /// The hook (e.g. `plugin:helpdesk`).
        hook: String,
        /// Its reason, for the user.
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] crate::error::StoreError),
}

impl RecordError {
    /// A single-field validation error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError { field: field.into(), message: message.into() }])
    }
}

impl From<sqlx::Error> for RecordError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(err.into())
    }
}

impl From<anyhow::Error> for RecordError {
    fn from(err: anyhow::Error) -> Self {
        Self::Store(crate::error::StoreError::Other(err))
    }
}
