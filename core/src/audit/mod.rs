//! The audit journal: append-only, one row per security-relevant event (logins and failures,
//! user, role and policy changes, tenant changes), with actor, tenant, address, time and the state
//! before and after. Stores append their entry in the same transaction as the change they record;
//! nothing, not even the table owner, can update or delete a row.

pub mod postgres;
pub mod sqlite;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use socle_tenants::{Actor, TenantId};

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
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only actions starting with this prefix (`login.`, `user.`).
    pub action_prefix: Option<String>,
    /// Only entries older than this id (cursor for the next page).
    pub before_id: Option<i64>,
    /// Page size (capped at 500).
    pub limit: u32,
}

impl AuditQuery {
    /// The effective page size.
    pub fn page_size(&self) -> i64 {
        i64::from(if self.limit == 0 { 50 } else { self.limit.min(500) })
    }
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
