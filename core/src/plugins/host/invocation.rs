//! Who a host call comes from and what it may still do: the calling plugin (its grants and
//! reach) and the invocation's accounting, the one piece every capability's view shares.

use std::collections::HashMap;
use std::sync::Arc;

use socle_tenants::Tenant;

use super::socle::plugin::types::{FieldError as WitFieldError, HostError};
use crate::authz::names;
use crate::plugins::grants::Granted;
use crate::records::access::Reach;

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
    /// For an action hook, the job it runs in: a failed job runs again, and what the hook
    /// already did then must not be done twice (its mails are queued once).
    pub replay_key: Option<String>,
    /// Mails queued so far in this invocation, per recipient (the n-th mail to an address is
    /// the same mail when the job runs again).
    pub mails_queued: HashMap<String, u32>,
}

impl Invocation {
    /// An invocation of `guest` in `tenant` allowed `host_call_budget` host calls.
    pub fn new(tenant: Arc<Tenant>, guest: Guest, host_call_budget: u32) -> Self {
        Self { tenant, guest, host_calls: 0, host_call_budget, denials: 0, replay_key: None, mails_queued: HashMap::new() }
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
