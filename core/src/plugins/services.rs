//! What of the platform the plugin runtime reaches: a narrow handle built before the runtime and
//! shared by every invocation, instead of the whole platform.

use std::sync::Arc;

use socle_tenants::TenantStore;

use super::grants::Granter;
use super::store::PluginStore;
use crate::authz::Authorizer;
use crate::bus::Bus;
use crate::clock::SharedClock;
use crate::config::PluginSettings;
use crate::jobs::JobStore;
use crate::mail::Mailer;
use crate::records::RecordEngine;

/// The platform services plugins act through.
pub struct Services {
    /// Records (every records call of a plugin goes through the engine, as the plugin).
    pub records: Arc<RecordEngine>,
    /// Components, installations, kv, settings, receipts.
    pub store: Arc<dyn PluginStore>,
    /// Per-tenant enforcers (records rights of plugins).
    pub authz: Arc<Authorizer>,
    /// Both halves of a plugin's grants.
    pub granter: Granter,
    /// Mails in the tenant's brand.
    pub mailer: Arc<Mailer>,
    /// The outbox (action hooks, events).
    pub jobs: Arc<dyn JobStore>,
    /// Cross-node invalidations.
    pub bus: Arc<dyn Bus>,
    /// Tenants (their plans bound each invocation).
    pub tenants: Arc<dyn TenantStore>,
    /// Time.
    pub clock: SharedClock,
    /// Connectors, private hosts, the compiled-component cache, concurrency.
    pub settings: PluginSettings,
    /// The guarded client outbound requests go through.
    pub http: reqwest::Client,
}
