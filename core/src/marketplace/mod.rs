//! The marketplace on the server: publisher accounts (API tokens, signing keys), the publishing
//! pipeline and review queue, each tenant's resolved plugin set applied atomically, the approval
//! inbox, the catalogue with reviews and install numbers, the data uninstalls leave behind,
//! progressive rollouts with their kill switch, partner analytics, pricing and revenue, and
//! notifications to tenant administrators. The domain (package format,
//! signatures, resolution, lockfiles) lives in `socle-marketplace`; this module stores it and
//! drives the plugin runtime.

pub mod analytics;
pub mod apply;
pub mod approvals;
pub mod billing;
pub mod catalogue;
pub mod jobs;
pub mod notify;
pub mod publish;
pub mod publishers;
pub mod retention;
pub mod rollout;
pub mod store;

pub use apply::{ApplyError, Change, Target, Wants};
pub use store::MarketplaceStore;

use std::sync::Arc;

use socle_tenants::TenantStore;

use crate::authz::Authorizer;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::identity::UserStore;
use crate::jobs::JobStore;
use crate::mail::Mailer;
use crate::plugins::PluginRuntime;

/// The marketplace: every operation on publishers, packages, tenants' plugin sets, approvals,
/// the catalogue, retentions, rollouts, billing and notifications is a method of this one value,
/// built once per process over the marketplace's store and the plugin runtime. Installing,
/// upgrading, rolling back and uninstalling plugins all go through [`Marketplace::apply`].
pub struct Marketplace {
    store: Arc<dyn MarketplaceStore>,
    plugins: Arc<PluginRuntime>,
    tenants: Arc<dyn TenantStore>,
    users: Arc<dyn UserStore>,
    authz: Arc<Authorizer>,
    jobs: Arc<dyn JobStore>,
    mailer: Arc<Mailer>,
    settings: Arc<Settings>,
    clock: SharedClock,
}

/// What the marketplace works with.
pub struct MarketplaceParts {
    /// Its storage.
    pub store: Arc<dyn MarketplaceStore>,
    /// The plugin runtime it installs into.
    pub plugins: Arc<PluginRuntime>,
    /// Tenants.
    pub tenants: Arc<dyn TenantStore>,
    /// Users (administrators it notifies).
    pub users: Arc<dyn UserStore>,
    /// Who administers a tenant.
    pub authz: Arc<Authorizer>,
    /// The job queue (retention purges).
    pub jobs: Arc<dyn JobStore>,
    /// Notification mails.
    pub mailer: Arc<Mailer>,
    /// Marketplace settings and links.
    pub settings: Arc<Settings>,
    /// Time.
    pub clock: SharedClock,
}

impl Marketplace {
    /// The marketplace over its parts.
    pub fn new(parts: MarketplaceParts) -> Self {
        let MarketplaceParts { store, plugins, tenants, users, authz, jobs, mailer, settings, clock } = parts;
        Self { store, plugins, tenants, users, authz, jobs, mailer, settings, clock }
    }

    /// Its storage (for reads the surfaces render as they are).
    pub fn store(&self) -> &Arc<dyn MarketplaceStore> {
        &self.store
    }

    /// The plugin runtime it drives.
    pub fn plugins(&self) -> &Arc<PluginRuntime> {
        &self.plugins
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
