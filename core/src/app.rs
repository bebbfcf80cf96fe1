//! The composition root: settings, database, stores and the domain services, wired once per
//! process (or per test) and shared by the HTTP surfaces, the CLI and the job worker. Nothing
//! below depends on it; it depends on everything.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use socle_tenants::TenantStore;

use crate::audit::{self, AuditStore};
use crate::authz::{self, Authorizer, PolicyStore};
use crate::bus::{Bus, DbBus, RedisBus};
use crate::cache::{Cache, MemoryCache, RedisCache};
use crate::clock::{SharedClock, SystemClock};
use crate::config::Settings;
use crate::crypto::{KeyRing, SecretHolder};
use crate::db::{Db, DbOptions};
use crate::identity::accounts::Accounts;
use crate::identity::operators::{OperatorStore, SqlOperatorStore};
use crate::identity::sessions::{SessionStore, SqlSessionStore};
use crate::identity::{self, UserStore};
use crate::jobs::{JobRegistry, JobStore, Worker};
use crate::mail::sender::Sender;
use crate::mail::{Mailer, SqlMailStore};
use crate::marketplace::{Marketplace, MarketplaceParts};
use crate::plugins::grants::Granter;
use crate::plugins::hooks::{PluginActions, PluginFilters};
use crate::plugins::{PluginRuntime, Services};
use crate::records::RecordEngine;
use crate::records::jobs::Notifications;
use crate::records::saved_views::{SavedViewStore, SqlSavedViews};
use crate::tenancy::{self, TenantResolver};

/// Everything a node shares between requests.
pub struct App {
    /// Configuration.
    pub settings: Arc<Settings>,
    /// The database.
    pub db: Db,
    /// Time (moved by tests).
    pub clock: SharedClock,
    /// Tenants.
    pub tenants: Arc<dyn TenantStore>,
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Roles and rules.
    pub policies: Arc<dyn PolicyStore>,
    /// The audit journal.
    pub audit: Arc<dyn AuditStore>,
    /// Platform operators.
    pub operators: Arc<dyn OperatorStore>,
    /// Per-tenant enforcers.
    pub authz: Arc<Authorizer>,
    /// Host → tenant.
    pub resolver: Arc<TenantResolver>,
    /// Cross-node messages.
    pub bus: Arc<dyn Bus>,
    /// Cross-node counters.
    pub cache: Arc<dyn Cache>,
    /// Users, logins, sessions, the second factor, password resets.
    pub accounts: Arc<Accounts>,
    /// Records: collections, the write path, queries, search.
    pub records: Arc<RecordEngine>,
    /// Users' saved list views.
    pub saved_views: Arc<dyn SavedViewStore>,
    /// The job queue.
    pub jobs: Arc<dyn JobStore>,
    /// Every job kind and its handler, as the modules registered them.
    pub job_registry: Arc<JobRegistry>,
    /// Mails in the tenants' brands, and their outbox.
    pub mailer: Arc<Mailer>,
    /// The plugin runtime.
    pub plugins: Arc<PluginRuntime>,
    /// Publishers, packages, tenants' plugin sets, approvals, rollouts, billing.
    pub marketplace: Arc<Marketplace>,
    /// Scheduled backups and their journal.
    pub backups: Arc<crate::backup::Backups>,
    /// The keys stored secrets are sealed with.
    pub secrets: Arc<KeyRing>,
    listeners: Vec<tokio::task::JoinHandle<()>>,
}

/// Options only tests and tools change.
#[derive(Clone)]
pub struct BuildOptions {
    /// Clock to use.
    pub clock: SharedClock,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { clock: Arc::new(SystemClock) }
    }
}

impl App {
    /// Connects to the database (migrating it) and to Redis if configured, and wires the stores
    /// and services, lowest layer first.
    pub async fn build(settings: Settings, options: BuildOptions) -> anyhow::Result<Arc<Self>> {
        let settings = Arc::new(settings);
        // Before anything connects: without a key, a production node refuses to start.
        let secrets = Arc::new(KeyRing::from_settings(&settings.secrets, settings.is_development())?);
        let db = Db::connect(&DbOptions {
            url: settings.database.url.clone(),
            max_connections: settings.database.max_connections,
            acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_secs),
            app_role: settings.database.app_role.clone(),
        })
        .await?;
        db.migrate().await?;
        let clock = options.clock.clone();
        let (bus, cache): (Arc<dyn Bus>, Arc<dyn Cache>) = match &settings.redis.url {
            Some(url) => (
                Arc::new(RedisBus::connect(url.expose_secret(), &settings.redis.prefix).await?),
                Arc::new(RedisCache::connect(url.expose_secret(), &settings.redis.prefix).await?),
            ),
            None => (Arc::new(DbBus::start(db.clone()).await?), Arc::new(MemoryCache::new(100_000))),
        };

        // Platform services: tenants, the journal, rules, jobs, mail, identity.
        let tenants: Arc<dyn TenantStore> = Arc::new(tenancy::store::SqlTenantStore::new(db.clone(), clock.clone()));
        let audit: Arc<dyn AuditStore> = Arc::new(audit::SqlAuditStore::new(db.clone(), clock.clone()));
        let policies: Arc<dyn PolicyStore> = Arc::new(authz::store::SqlPolicyStore::new(db.clone(), clock.clone()));
        let authz = Arc::new(Authorizer::new(policies.clone()));
        let jobs: Arc<dyn JobStore> = Arc::new(crate::jobs::store::SqlJobStore::new(db.clone(), clock.clone()));
        let mail_store = Arc::new(SqlMailStore::new(db.clone(), clock.clone()));
        let mailer = Arc::new(Mailer::new(mail_store, Sender::from_settings(&settings.mail)?, settings.clone(), clock.clone()));
        let users: Arc<dyn UserStore> = Arc::new(identity::users::SqlUserStore::new(db.clone(), clock.clone(), secrets.clone()));
        let sessions: Arc<dyn SessionStore> = Arc::new(SqlSessionStore::new(db.clone(), clock.clone()));
        let operators: Arc<dyn OperatorStore> = Arc::new(SqlOperatorStore::new(db.clone(), clock.clone()));
        let accounts = Arc::new(Accounts {
            users: users.clone(),
            sessions: sessions.clone(),
            policies: policies.clone(),
            authz: authz.clone(),
            bus: bus.clone(),
            cache: cache.clone(),
            audit: audit.clone(),
            mailer: mailer.clone(),
            settings: settings.clone(),
            clock: clock.clone(),
        });

        // Records.
        let record_store = Arc::new(crate::records::sql::SqlRecordStore::new(db.clone(), clock.clone()));
        let records = Arc::new(RecordEngine::new(record_store, authz.clone(), clock.clone(), bus.clone()));
        let saved_views: Arc<dyn SavedViewStore> = Arc::new(SqlSavedViews::new(db.clone()));

        // Plugins, then the marketplace that installs them.
        let market_store = Arc::new(crate::marketplace::store::SqlMarketplaceStore::new(db.clone(), clock.clone()));
        let services = Arc::new(Services {
            records: records.clone(),
            store: Arc::new(crate::plugins::store::SqlPluginStore::new(db.clone(), clock.clone(), secrets.clone())),
            authz: authz.clone(),
            granter: Granter::new(policies.clone(), authz.clone(), bus.clone()),
            mailer: mailer.clone(),
            jobs: jobs.clone(),
            bus: bus.clone(),
            tenants: tenants.clone(),
            clock: clock.clone(),
            settings: settings.plugins.clone(),
            http: crate::plugins::host::http::client(&settings.plugins.allow_private_hosts)?,
        });
        let entitlements = Arc::new(crate::marketplace::billing::Subscriptions::new(market_store.clone()));
        let plugins = Arc::new(PluginRuntime::new(services, entitlements)?);
        // Plugins take part in every write: filters inside it, action hooks through the outbox.
        records.hooks.register(Arc::new(PluginFilters { runtime: Arc::downgrade(&plugins) }));
        records.hooks.subscribe(Arc::new(PluginActions { runtime: Arc::downgrade(&plugins) }));
        let marketplace = Arc::new(Marketplace::new(MarketplaceParts {
            store: market_store,
            plugins: plugins.clone(),
            tenants: tenants.clone(),
            users: users.clone(),
            authz: authz.clone(),
            jobs: jobs.clone(),
            mailer: mailer.clone(),
            settings: settings.clone(),
            clock: clock.clone(),
        }));

        // Each module registers its own jobs.
        let mut registry = JobRegistry::default();
        registry.register(crate::jobs::jobs(&jobs, &clock))?;
        registry.register(crate::mail::jobs(&mailer))?;
        let notifications = Notifications { tenants: tenants.clone(), users: users.clone(), mailer: mailer.clone() };
        registry.register(crate::records::jobs::jobs(&records, notifications))?;
        registry.register(crate::plugins::hooks::jobs(&plugins))?;
        registry.register(marketplace.jobs())?;
        let backups = Arc::new(crate::backup::Backups::new(db.clone(), settings.clone(), clock.clone()));
        registry.register(crate::backup::jobs(&backups))?;
        registry.schedule(jobs.as_ref(), clock.now_ms()).await?;

        let resolver = Arc::new(TenantResolver::new(tenants.clone(), &settings.server.base_domain));
        let mut listeners = vec![authz.listen(bus.as_ref()), resolver.listen(bus.as_ref()), records.registry.listen(bus.as_ref())];
        listeners.extend(plugins.listen(bus.as_ref()));
        // A plugin operation a crash interrupted goes back to its previous state before anything
        // serves or runs (and later, once the lease of one interrupted just before runs out).
        marketplace.recover().await.context("failed to roll back interrupted plugin operations")?;
        listeners.push(marketplace.watch_interrupted());

        Ok(Arc::new(Self {
            settings,
            db,
            clock,
            tenants,
            users,
            sessions,
            policies,
            audit,
            operators,
            authz,
            resolver,
            bus,
            cache,
            accounts,
            records,
            saved_views,
            jobs,
            job_registry: Arc::new(registry),
            mailer,
            plugins,
            marketplace,
            backups,
            secrets,
            listeners,
        }))
    }

    /// A job worker running every registered job kind.
    pub fn worker(&self) -> Worker {
        Worker::new(self.jobs.clone(), self.clock.clone(), self.job_registry.clone())
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Every store that keeps sealed secrets: `socle secrets status|rotate` go through them. A
    /// store that starts keeping a new kind of secret is added here.
    pub fn secret_holders(&self) -> Vec<&dyn SecretHolder> {
        vec![self.users.as_ref(), self.plugins.store().as_ref()]
    }
}

impl Drop for App {
    fn drop(&mut self) {
        // The listeners only hold weak references; they end with the app.
        for listener in &self.listeners {
            listener.abort();
        }
    }
}
