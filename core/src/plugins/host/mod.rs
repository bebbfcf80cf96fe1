//! The host side of `socle:plugin`: one module per capability, same shape each time (a grant
//! check, then the work), all reading the invocation's [`PluginState`].
//!
//! Guest failures are values (`host-error`), host failures are traps: a plugin that exceeds its
//! host-call budget is stopped, not told.

mod clock;
mod config;
pub mod connectors;
mod events;
pub mod files;
pub mod http;
mod kv;
mod log;
mod mail;
mod random;
mod records;

use std::sync::Arc;
use std::time::Instant;

use socle_marketplace::manifest::{Capability, Manifest};
use socle_tenants::Tenant;

use crate::app::App;
use crate::authz::subject;

wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use http::client as http_client;
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
    /// The platform.
    pub app: Arc<App>,
    /// The tenant the plugin runs for; every host call acts in it and nowhere else.
    pub tenant: Arc<Tenant>,
    /// The plugin.
    pub plugin: Arc<LoadedPlugin>,
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

    /// Whether the manifest declared a capability matching `predicate`.
    pub fn declared(&self, predicate: impl Fn(&Capability) -> bool) -> bool {
        self.plugin.manifest.effective_capabilities().iter().any(predicate)
    }

    /// Whether the tenant granted `object`/`action` to the plugin (casbin, subject `plugin:<id>`).
    pub async fn granted(&self, object: &str, action: &str) -> wasmtime::Result<bool> {
        let subject = format!("plugin:{}", self.plugin.id);
        self.app.authz.enforce(self.tenant.id, &subject, object, action).await.map_err(|e| wasmtime::Error::msg(format!("{e:#}")))
    }

    /// Checks a simple capability (`kv`, `config`, `events`, `mail`): declared and granted.
    pub async fn require(&mut self, capability: &Capability, object: &str) -> wasmtime::Result<Result<(), HostError>> {
        self.charge()?;
        let declared = self.declared(|c| c == capability);
        if !declared {
            return Ok(Err(self.deny(format!("the manifest does not declare the `{}` capability", capability.kind()))));
        }
        if !self.granted(object, crate::authz::USE).await? {
            return Ok(Err(self.deny(format!("the tenant has not granted the `{}` capability", capability.kind()))));
        }
        Ok(Ok(()))
    }

    /// The caller of record operations made by the plugin.
    pub fn caller(&self) -> crate::records::Caller {
        crate::records::Caller {
            tenant: self.tenant.id,
            actor: socle_tenants::Actor { subject: format!("plugin:{}", self.plugin.id), label: self.plugin.label(), ip: None, request_id: None },
            principal: crate::records::Principal::Plugin { id: self.plugin.id.clone() },
        }
    }
}

/// Objects of the capabilities in casbin rules.
pub fn capability_object(kind: &str) -> String {
    format!("cap:{kind}")
}

/// The casbin rules that grant a capability to a plugin in a tenant.
pub fn grant_rules(tenant: socle_tenants::TenantId, plugin: &str, capability: &Capability) -> Vec<crate::authz::Rule> {
    let subject = format!("plugin:{plugin}");
    let allow = |object: String, action: &str| crate::authz::Rule::allow(tenant, &subject, &object, action);
    match capability {
        Capability::RecordsRead { collections } => collections.iter().map(|c| allow(subject::collection(c), "read")).collect(),
        Capability::RecordsWrite { collections } => {
            collections.iter().flat_map(|c| ["read", "create", "update", "delete"].map(|a| allow(subject::collection(c), a))).collect()
        }
        Capability::Http { hosts } => hosts.iter().map(|h| allow(capability_object(&format!("http:{h}")), crate::authz::USE)).collect(),
        Capability::Permissions { permissions } => permissions.iter().map(|p| allow(subject::permission(p), crate::authz::USE)).collect(),
        Capability::Connectors { connectors } => connectors.iter().map(|c| allow(connectors::object(c), crate::authz::USE)).collect(),
        Capability::FilesRead { collections } => collections.iter().map(|c| allow(files::object(c), crate::authz::USE)).collect(),
        other => vec![allow(capability_object(other.kind()), crate::authz::USE)],
    }
}

/// Registers every host capability in a linker.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<PluginState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<PluginState, wasmtime::component::HasSelf<PluginState>>(linker, |state| state)
}

impl socle::plugin::types::Host for PluginState {}
