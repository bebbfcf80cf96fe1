//! What a wasmtime store carries through one invocation, and the plugin it runs.

use std::sync::Arc;
use std::time::Instant;

use socle_marketplace::manifest::Manifest;

use super::PluginPre;
use super::events::Subscription;
use super::invocation::{Guest, Invocation};
use crate::plugins::grants::Granted;
use crate::plugins::services::Services;
use crate::records::access::Reach;

/// A plugin loaded for invocations: its manifest and its pre-instantiated component.
pub struct LoadedPlugin {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Digest of the component.
    pub sha256: String,
    /// Manifest.
    pub manifest: Manifest,
    /// The component, linked and ready to instantiate.
    pub pre: PluginPre<PluginState>,
    /// What the tenant granted it, of what it declared (worked out when the tenant's plugins
    /// load; dropped with them when grants change).
    pub granted: Arc<Granted>,
    /// The collections its manifest lets it reach (the records engine checks it).
    pub reach: Arc<Reach>,
    /// Whether the tenant may call it as far as its price goes (free, or its price accepted).
    pub entitled: bool,
    /// The action hooks of every plugin of the tenant, which the events it emits reach (worked
    /// out once when the tenant's plugins load).
    pub subscriptions: Arc<[Subscription]>,
}

impl LoadedPlugin {
    /// `id@version`, as errors and logs name it.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    /// The plugin as its host calls see it.
    pub fn guest(&self) -> Guest {
        Guest { id: self.id.clone(), version: self.version.clone(), granted: self.granted.clone(), reach: self.reach.clone() }
    }
}

/// Linear memory bounds of one invocation, with the peak it reached.
#[derive(Debug)]
pub struct MemoryLimit {
    /// Largest linear memory allowed, bytes.
    pub limit: usize,
    /// Largest reached, bytes.
    pub peak: usize,
}

impl wasmtime::ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            // Growth fails inside the guest (allocation failure), the host goes on.
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// What a store carries through one invocation.
pub struct PluginState {
    /// Who calls and what it may still do; lent to each capability's view.
    pub invocation: Invocation,
    /// What of the platform the plugin reaches (each capability's view takes its part).
    pub services: Arc<Services>,
    /// The plugin.
    pub plugin: Arc<LoadedPlugin>,
    /// The action hooks of the tenant's plugins when the invocation started (emitted events
    /// reach them).
    pub subscriptions: Arc<[Subscription]>,
    /// Memory bound.
    pub memory: MemoryLimit,
    /// When the invocation must end.
    pub deadline: Instant,
    /// Epoch ticks elapsed.
    pub epochs: u64,
    /// The user on whose behalf a route runs, if any.
    pub user: Option<String>,
    /// Files the write being filtered attaches (filter hooks only).
    pub pending_files: Vec<PendingFile>,
}

/// A file a write attaches, readable by the filter hooks checking that write.
#[derive(Debug, Clone)]
pub struct PendingFile {
    /// File id.
    pub id: uuid::Uuid,
    /// The collection of the record being written.
    pub collection: String,
    /// Who is writing: only their own uploads are handed to plugins.
    pub uploader: String,
}

impl super::socle::plugin::types::Host for PluginState {}
