//! Filter hooks: code that runs inside the write path, before the transaction, in priority
//! order, and may change the record or veto the write (the user sees the reason). Rust
//! implementations now; plugin filter hooks plug in through the same trait.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Caller;
use super::store::WriteOp;

/// A write about to happen.
#[derive(Debug, Clone)]
pub struct PendingWrite {
    /// Create, update or delete (transitions are updates with `transition` set).
    pub op: WriteOp,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: Uuid,
    /// Data before (updates, deletes).
    pub before: Option<Map<String, Value>>,
    /// Data after; hooks may change it (the result is validated again).
    pub data: Map<String, Value>,
    /// Transition being fired.
    pub transition: Option<String>,
    /// Files the write attaches (new values of its file fields): uploaded, not yet attached.
    pub files: Vec<Uuid>,
}

/// A hook's refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veto {
    /// Shown to the user.
    pub reason: String,
    /// Who refused, when the hook speaks for someone else (a plugin).
    pub by: Option<String>,
}

impl Veto {
    /// A refusal for `reason`.
    pub fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), by: None }
    }
}

/// A committed change, as action subscribers see it.
#[derive(Debug, Clone)]
pub struct ChangeEvent<'a> {
    /// Collection.
    pub collection: &'a str,
    /// Record.
    pub record_id: Uuid,
    /// Version after the change.
    pub version: i64,
    /// What happened: `record.created|updated|deleted|transitioned`, then workflow events.
    pub events: &'a [String],
    /// Fields changed.
    pub changed: &'a [String],
    /// Transition fired, if any.
    pub transition: Option<&'a str>,
    /// The workflow state after the change (what a hook running later must report, not the
    /// state the record has reached by then).
    pub state: Option<&'a str>,
}

/// Turns committed changes into outbox jobs (plugin action hooks); called inside the write path
/// so the jobs commit with the change.
#[async_trait]
pub trait ActionSubscribers: Send + Sync {
    /// The jobs for this change.
    async fn jobs(&self, caller: &Caller, change: &ChangeEvent<'_>, now: i64) -> Vec<crate::jobs::NewJob>;
}

/// A filter hook.
#[async_trait]
pub trait FilterHook: Send + Sync {
    /// Name shown in vetoes and receipts (`plugin:helpdesk`, `core:…`).
    fn name(&self) -> String;
    /// Lower runs first.
    fn priority(&self) -> i32 {
        0
    }
    /// Whether the hook wants writes of this collection in this tenant.
    fn applies(&self, caller: &Caller, collection: &str) -> bool;
    /// Inspects and possibly changes the write; `Err` vetoes it.
    async fn before_write(&self, caller: &Caller, write: &mut PendingWrite) -> Result<(), Veto>;
}

/// The registered hooks.
#[derive(Default, Clone)]
pub struct HookRegistry {
    hooks: Arc<std::sync::RwLock<Vec<Arc<dyn FilterHook>>>>,
    subscribers: Arc<std::sync::RwLock<Vec<Arc<dyn ActionSubscribers>>>>,
}

impl HookRegistry {
    /// Adds a hook.
    pub fn register(&self, hook: Arc<dyn FilterHook>) {
        if let Ok(mut hooks) = self.hooks.write() {
            hooks.push(hook);
            hooks.sort_by_key(|h| h.priority());
        }
    }

    /// Adds an action subscriber.
    pub fn subscribe(&self, subscriber: Arc<dyn ActionSubscribers>) {
        if let Ok(mut subscribers) = self.subscribers.write() {
            subscribers.push(subscriber);
        }
    }

    /// The action subscribers.
    pub fn subscribers(&self) -> Vec<Arc<dyn ActionSubscribers>> {
        self.subscribers.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Hooks that apply, in priority order.
    pub fn applicable(&self, caller: &Caller, collection: &str) -> Vec<Arc<dyn FilterHook>> {
        self.hooks.read().map(|hooks| hooks.iter().filter(|h| h.applies(caller, collection)).cloned().collect()).unwrap_or_default()
    }
}
