//! The host side of `socle:plugin`: one module per capability, same shape each time (a grant
//! check, then the work), all reading the invocation's [`PluginState`].
//!
//! Guest failures are values (`host-error`), host failures are traps: a plugin that exceeds its
//! host-call budget is stopped, not told.

mod clock;
mod config;
pub mod connectors;
pub mod events;
pub mod files;
pub mod http;
mod kv;
mod log;
mod mail;
mod random;
mod records;

use std::sync::Arc;
use std::time::Instant;

use socle_marketplace::manifest::Manifest;
use socle_tenants::Tenant;

use super::grants::Granted;
use super::services::Services;
use crate::authz::names;
use crate::records::access::Reach;

wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use socle::plugin::types::{FieldError as WitFieldError, HostError};

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
    pub granted: Granted,
    /// The collections its manifest lets it reach (the records engine checks it).
    pub reach: Arc<Reach>,
    /// Whether the tenant may call it as far as its price goes (free, or its price accepted).
    pub entitled: bool,
}

impl LoadedPlugin {
    /// `id@version`, as errors and logs name it.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.version)
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
    /// What of the platform the plugin reaches.
    pub services: Arc<Services>,
    /// The tenant the plugin runs for; every host call acts in it and nowhere else.
    pub tenant: Arc<Tenant>,
    /// The plugin.
    pub plugin: Arc<LoadedPlugin>,
    /// The tenant's plugins when the invocation started (events reach their action hooks).
    pub neighbours: Arc<Vec<Arc<LoadedPlugin>>>,
    /// Memory bound.
    pub memory: MemoryLimit,
    /// Host calls made.
    pub host_calls: u32,
    /// Host calls allowed.
    pub host_call_budget: u32,
    /// Host calls refused.
    pub denials: u32,
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

impl PluginState {
    /// Counts a host call; past the budget, stops the plugin (a trap).
    pub fn charge(&mut self) -> wasmtime::Result<()> {
        self.host_calls += 1;
        if self.host_calls > self.host_call_budget {
            return Err(wasmtime::Error::msg(format!(
                "plugin {} exceeded its budget of {} host calls per invocation (tenant {})",
                self.plugin.label(),
                self.host_call_budget,
                self.tenant.slug
            )));
        }
        Ok(())
    }

    /// A denial: counted, logged, returned to the guest as `denied`.
    pub fn deny(&mut self, what: String) -> HostError {
        self.denials += 1;
        tracing::warn!(tenant.id = %self.tenant.id, plugin.id = %self.plugin.id, plugin.version = %self.plugin.version, what = %what, "plugin call denied");
        HostError::Denied(format!("{what} (plugin {} in tenant {})", self.plugin.label(), self.tenant.slug))
    }

    /// Checks a grant (declared and granted) for a host call, counting the call: the denial,
    /// as the guest sees it, when either half is missing.
    pub fn allow(&mut self, kind: &str, target: Option<&str>) -> wasmtime::Result<Result<(), HostError>> {
        self.charge()?;
        Ok(self.plugin.granted.check(kind, target).map_err(|missing| self.deny(missing)))
    }

    /// The caller of record operations made by the plugin.
    pub fn caller(&self) -> crate::records::Caller {
        crate::records::Caller {
            tenant: self.tenant.id,
            actor: socle_tenants::Actor { subject: names::plugin(&self.plugin.id), label: self.plugin.label(), ip: None, request_id: None },
            principal: crate::records::Principal::Plugin { id: self.plugin.id.clone(), reach: self.plugin.reach.clone() },
        }
    }
}

/// Registers every host capability in a linker.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<PluginState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<PluginState, wasmtime::component::HasSelf<PluginState>>(linker, |state| state)
}

impl socle::plugin::types::Host for PluginState {}
