//! The composed platform: settings, database, stores, authorization, cache and bus, templates.
//! Built once per process (or per test) and shared by HTTP handlers, the CLI and workers.

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
use crate::db::{Db, DbOptions};
use crate::http::pages::Templates;
use crate::identity::operators::{OperatorStore, SqlOperatorStore};
use crate::identity::sessions::{SessionStore, SqlSessionStore};
use crate::identity::{self, UserStore};
use crate::jobs::JobStore;
use crate::mail::{MailStore, SqlMailStore, sender::Sender};
use crate::records::RecordEngine;
use crate::records::store::RecordStore;
use crate::tenancy::{self, TenantResolver};

/// Everything a node shares between requests.
pub struct App {
    /// Configuration.
    pub settings: Settings,
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
    /// Page templates.
    pub templates: Templates,
    /// Records: collections, the write path, queries, search.
    pub records: Arc<RecordEngine>,
    /// The job queue.
    pub jobs: Arc<dyn JobStore>,
    /// The mail outbox.
    pub mails: Arc<dyn MailStore>,
    /// How mails leave.
    pub mail_sender: Sender,
    /// The plugin runtime.
    pub plugins: Arc<crate::plugins::PluginRuntime>,
    /// Publishers, packages, tenants' lockfiles, approvals, reviews.
    pub marketplace: Arc<dyn crate::marketplace::MarketplaceStore>,
    /// Users' saved list views.
    pub saved_views: Arc<dyn crate::records::saved_views::SavedViewStore>,
    listeners: Vec<tokio::task::JoinHandle<()>>,
    listener_handles: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
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
    /// Connects to the database (migrating it) and to Redis if configured, and wires the stores.
    pub async fn build(settings: Settings, options: BuildOptions) -> anyhow::Result<Arc<Self>> {
        let db = Db::connect(&DbOptions {
            url: settings.database.url.clone(),
            max_connections: settings.database.max_connections,
            acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_secs),
            app_role: settings.database.app_role.clone(),
        })
        .await?;
        db.migrate().await?;
        let clock = options.clock.clone();

        let tenants: Arc<dyn TenantStore> = Arc::new(tenancy::store::SqlTenantStore::new(db.clone(), clock.clone()));
        let users: Arc<dyn UserStore> = Arc::new(identity::users::SqlUserStore::new(db.clone(), clock.clone()));
        let sessions: Arc<dyn SessionStore> = Arc::new(SqlSessionStore::new(db.clone(), clock.clone()));
        let policies: Arc<dyn PolicyStore> = Arc::new(authz::store::SqlPolicyStore::new(db.clone(), clock.clone()));
        let audit: Arc<dyn AuditStore> = Arc::new(audit::SqlAuditStore::new(db.clone(), clock.clone()));
        let operators: Arc<dyn OperatorStore> = Arc::new(SqlOperatorStore::new(db.clone(), clock.clone()));
        let record_store: Arc<dyn RecordStore> = Arc::new(crate::records::sql::SqlRecordStore::new(db.clone(), clock.clone()));
        let jobs: Arc<dyn JobStore> = Arc::new(crate::jobs::store::SqlJobStore::new(db.clone(), clock.clone()));
        let mails: Arc<dyn MailStore> = Arc::new(SqlMailStore::new(db.clone(), clock.clone()));
        let mail_sender = Sender::from_settings(&settings.mail)?;
        let plugin_store: Arc<dyn crate::plugins::store::PluginStore> = Arc::new(crate::plugins::store::SqlPluginStore::new(db.clone(), clock.clone()));
        let marketplace: Arc<dyn crate::marketplace::MarketplaceStore> =
            Arc::new(crate::marketplace::store::SqlMarketplaceStore::new(db.clone(), clock.clone()));
        let saved_views: Arc<dyn crate::records::saved_views::SavedViewStore> = Arc::new(crate::records::saved_views::SqlSavedViews::new(db.clone()));
        let plugin_parts = crate::plugins::runtime::RuntimeParts::new(plugin_store, &settings.plugins)?;
        let (bus, cache): (Arc<dyn Bus>, Arc<dyn Cache>) = match &settings.redis.url {
            Some(url) => (
                Arc::new(RedisBus::connect(url.expose_secret(), &settings.redis.prefix).await?),
                Arc::new(RedisCache::connect(url.expose_secret(), &settings.redis.prefix).await?),
            ),
            None => (Arc::new(DbBus::start(db.clone()).await?), Arc::new(MemoryCache::new(100_000))),
        };

        let authz = Arc::new(Authorizer::new(policies.clone()));
        let records = Arc::new(RecordEngine::new(record_store, authz.clone(), clock.clone(), bus.clone()));
        jobs.upsert_schedule(&crate::jobs::Schedule {
            name: "maintenance.purge".into(),
            cron: "17 3 * * *".into(),
            kind: crate::jobs_registry::PURGE_JOB.into(),
            payload: serde_json::json!({}),
            next_run_at: crate::jobs::next_cron("17 3 * * *", clock.now_ms())?,
        })
        .await?;
        jobs.upsert_schedule(&crate::jobs::Schedule {
            name: crate::marketplace::retention::PURGE_JOB.into(),
            cron: crate::marketplace::retention::SWEEP_CRON.into(),
            kind: crate::marketplace::retention::PURGE_JOB.into(),
            payload: serde_json::json!({}),
            next_run_at: crate::jobs::next_cron(crate::marketplace::retention::SWEEP_CRON, clock.now_ms())?,
        })
        .await?;
        jobs.upsert_schedule(&crate::jobs::Schedule {
            name: crate::marketplace::rollout::TICK_JOB.into(),
            cron: crate::marketplace::rollout::TICK_CRON.into(),
            kind: crate::marketplace::rollout::TICK_JOB.into(),
            payload: serde_json::json!({}),
            next_run_at: crate::jobs::next_cron(crate::marketplace::rollout::TICK_CRON, clock.now_ms())?,
        })
        .await?;
        jobs.upsert_schedule(&crate::jobs::Schedule {
            name: crate::marketplace::billing::CHARGE_JOB.into(),
            cron: crate::marketplace::billing::CHARGE_CRON.into(),
            kind: crate::marketplace::billing::CHARGE_JOB.into(),
            payload: serde_json::json!({}),
            next_run_at: crate::jobs::next_cron(crate::marketplace::billing::CHARGE_CRON, clock.now_ms())?,
        })
        .await?;
        let resolver = Arc::new(TenantResolver::new(tenants.clone(), &settings.server.base_domain));
        let mut listeners = vec![authz.listen(bus.as_ref()), resolver.listen(bus.as_ref()), records.registry.listen(bus.as_ref())];
        let templates = Templates::new().context("failed to load the page templates")?;
        // Installed before the first request so every request is counted.
        crate::http::health::prometheus();

        let app = Arc::new_cyclic(|weak: &std::sync::Weak<App>| Self {
            plugins: Arc::new(plugin_parts.into_runtime(weak.clone())),
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
            templates,
            records,
            jobs,
            mails,
            mail_sender,
            marketplace,
            saved_views,
            listeners: Vec::new(),
            listener_handles: std::sync::Mutex::new(Vec::new()),
        });
        listeners.push(app.plugins.listen(app.bus.as_ref()));
        // Plugins take part in every write: filters inside it, action hooks through the outbox.
        app.records.hooks.register(Arc::new(crate::plugins::hooks::PluginFilters { app: Arc::downgrade(&app) }));
        app.records.hooks.subscribe(Arc::new(crate::plugins::hooks::PluginActions { app: Arc::downgrade(&app) }));
        // A plugin operation a crash interrupted goes back to its previous state before anything
        // serves or runs (and later, once the lease of one interrupted just before runs out).
        crate::marketplace::apply::recover(&app).await.context("failed to roll back interrupted plugin operations")?;
        listeners.push(crate::marketplace::apply::watch_interrupted(Arc::downgrade(&app)));
        let app = Self::with_listeners(app, listeners);
        Ok(app)
    }

    fn with_listeners(app: Arc<Self>, listeners: Vec<tokio::task::JoinHandle<()>>) -> Arc<Self> {
        // The listeners only hold weak references; the app aborts them when dropped.
        *app.listener_handles.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = listeners;
        app
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
        if let Ok(handles) = self.listener_handles.lock() {
            for listener in handles.iter() {
                listener.abort();
            }
        }
    }
}
