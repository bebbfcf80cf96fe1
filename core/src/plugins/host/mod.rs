//! The host side of `socle:plugin`: one module per capability, same shape each time (a grant
//! check, then the work). Each capability is registered in the linker with its own narrow view
//! of the invocation: the [`Invocation`] (who calls, what it may still do) and only the platform
//! services it needs — so each can be built and tested without a wasm guest.
//!
//! Guest failures are values (`host-error`), host failures are traps: a plugin that exceeds its
//! host-call budget is stopped, not told.

pub mod clock;
pub mod config;
pub mod connectors;
pub mod events;
pub mod files;
pub mod http;
pub mod kv;
pub mod log;
pub mod mail;
pub mod random;
pub mod records;

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
    pub granted: Arc<Granted>,
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

    /// The plugin as its host calls see it.
    pub fn guest(&self) -> Guest {
        Guest { id: self.id.clone(), version: self.version.clone(), granted: self.granted.clone(), reach: self.reach.clone() }
    }
}

/// The plugin a host call comes from, as every capability sees it.
#[derive(Debug, Clone)]
pub struct Guest {
    /// Plugin id.
    pub id: String,
    /// Version.
    pub version: String,
    /// What the tenant granted it, of what it declared.
    pub granted: Arc<Granted>,
    /// The collections its manifest lets it reach.
    pub reach: Arc<Reach>,
}

impl Guest {
    /// `id@version`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }
}

/// One invocation as its host calls share it: the tenant every call acts in, the calling
/// plugin, and the host-call accounting (calls made against the budget, denials).
#[derive(Debug)]
pub struct Invocation {
    /// The tenant the plugin runs for; every host call acts in it and nowhere else.
    pub tenant: Arc<Tenant>,
    /// The plugin.
    pub guest: Guest,
    /// Host calls made.
    pub host_calls: u32,
    /// Host calls allowed.
    pub host_call_budget: u32,
    /// Host calls refused.
    pub denials: u32,
}

impl Invocation {
    /// An invocation of `guest` in `tenant` allowed `host_call_budget` host calls.
    pub fn new(tenant: Arc<Tenant>, guest: Guest, host_call_budget: u32) -> Self {
        Self { tenant, guest, host_calls: 0, host_call_budget, denials: 0 }
    }

    /// Counts a host call; past the budget, stops the plugin (a trap).
    pub fn charge(&mut self) -> wasmtime::Result<()> {
        self.host_calls += 1;
        if self.host_calls > self.host_call_budget {
            return Err(wasmtime::Error::msg(format!(
                "plugin {} exceeded its budget of {} host calls per invocation (tenant {})",
                self.guest.label(),
                self.host_call_budget,
                self.tenant.slug
            )));
        }
        Ok(())
    }

    /// A denial: counted, logged, returned to the guest as `denied`.
    pub fn deny(&mut self, what: String) -> HostError {
        self.denials += 1;
        tracing::warn!(tenant.id = %self.tenant.id, plugin.id = %self.guest.id, plugin.version = %self.guest.version, what = %what, "plugin call denied");
        HostError::Denied(format!("{what} (plugin {} in tenant {})", self.guest.label(), self.tenant.slug))
    }

    /// Checks a grant (declared and granted) for a host call, counting the call: the denial,
    /// as the guest sees it, when either half is missing.
    pub fn allow(&mut self, kind: &str, target: Option<&str>) -> wasmtime::Result<Result<(), HostError>> {
        self.charge()?;
        Ok(self.guest.granted.check(kind, target).map_err(|missing| self.deny(missing)))
    }

    /// A platform failure, logged; the guest is told to retry.
    pub fn unavailable(&self, err: impl std::fmt::Display) -> HostError {
        tracing::error!(tenant.id = %self.tenant.id, plugin.id = %self.guest.id, error = %err, "a plugin's host call failed");
        HostError::Unavailable("the platform could not complete the call; retry later".into())
    }

    /// A records engine refusal as the guest sees it (a denial is counted as one).
    pub fn record_error(&mut self, err: crate::records::RecordError) -> HostError {
        use crate::records::RecordError;
        match err {
            RecordError::NotFound(m) => HostError::NotFound(m),
            RecordError::Invalid(errors) => HostError::Invalid(errors.into_iter().map(|e| WitFieldError { field: e.field, message: e.message }).collect()),
            RecordError::Denied(m) => self.deny(m),
            e @ RecordError::Conflict { .. } => HostError::Conflict(e.to_string()),
            e @ RecordError::Vetoed { .. } => HostError::Vetoed(e.to_string()),
            RecordError::Store(e) => self.unavailable(e),
        }
    }

    /// The caller of record operations made by the plugin.
    pub fn caller(&self) -> crate::records::Caller {
        crate::records::Caller {
            tenant: self.tenant.id,
            actor: socle_tenants::Actor { subject: names::plugin(&self.guest.id), label: self.guest.label(), ip: None, request_id: None },
            principal: crate::records::Principal::Plugin { id: self.guest.id.clone(), reach: self.guest.reach.clone() },
        }
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
    pub subscriptions: Arc<[events::Subscription]>,
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

/// Registers every host capability in a linker, each with its own view of the invocation.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<PluginState>) -> wasmtime::Result<()> {
    use socle::plugin as wit;
    wit::types::add_to_linker::<PluginState, wasmtime::component::HasSelf<PluginState>>(linker, |state| state)?;
    wit::log::add_to_linker::<PluginState, log::Log>(linker, |s| log::LogHost { inv: &mut s.invocation })?;
    wit::clock::add_to_linker::<PluginState, clock::Clock>(linker, |s| clock::ClockHost { inv: &mut s.invocation, clock: &s.services.clock })?;
    wit::random::add_to_linker::<PluginState, random::Random>(linker, |s| random::RandomHost { inv: &mut s.invocation })?;
    wit::kv::add_to_linker::<PluginState, kv::Kv>(linker, |s| kv::KvHost { inv: &mut s.invocation, store: s.services.store.as_ref() })?;
    wit::config::add_to_linker::<PluginState, config::Config>(linker, |s| config::ConfigHost {
        inv: &mut s.invocation,
        store: s.services.store.as_ref(),
        settings: &s.plugin.manifest.settings,
    })?;
    wit::records::add_to_linker::<PluginState, records::Records>(linker, |s| records::RecordsHost { inv: &mut s.invocation, records: &s.services.records })?;
    wit::files::add_to_linker::<PluginState, files::Files>(linker, |s| files::FilesHost {
        inv: &mut s.invocation,
        records: &s.services.records,
        pending: &s.pending_files,
    })?;
    wit::mail::add_to_linker::<PluginState, mail::Mail>(linker, |s| mail::MailHost { inv: &mut s.invocation, mailer: &s.services.mailer })?;
    wit::events::add_to_linker::<PluginState, events::Events>(linker, |s| events::EventsHost {
        inv: &mut s.invocation,
        jobs: s.services.jobs.as_ref(),
        clock: &s.services.clock,
        subscriptions: &s.subscriptions,
    })?;
    wit::http::add_to_linker::<PluginState, http::Http>(linker, |s| http::HttpHost {
        inv: &mut s.invocation,
        client: &s.services.http,
        allow_private_hosts: &s.services.settings.allow_private_hosts,
    })?;
    wit::connectors::add_to_linker::<PluginState, connectors::Connectors>(linker, |s| connectors::ConnectorsHost {
        inv: &mut s.invocation,
        client: &s.services.http,
        settings: &s.services.settings,
    })?;
    Ok(())
}

impl socle::plugin::types::Host for PluginState {}
