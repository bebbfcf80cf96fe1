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
}

/// A hook's refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veto {
    /// Shown to the user.
    pub reason: String,
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
}

impl HookRegistry {
    /// Adds a hook.
    pub fn register(&self, hook: Arc<dyn FilterHook>) {
        if let Ok(mut hooks) = self.hooks.write() {
            hooks.push(hook);
            hooks.sort_by_key(|h| h.priority());
        }
    }

    /// Hooks that apply, in priority order.
    pub fn applicable(&self, caller: &Caller, collection: &str) -> Vec<Arc<dyn FilterHook>> {
        self.hooks.read().map(|hooks| hooks.iter().filter(|h| h.applies(caller, collection)).cloned().collect()).unwrap_or_default()
    }
}
