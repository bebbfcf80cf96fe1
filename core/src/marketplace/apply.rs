//! Applying a change to a tenant's plugin set — install, upgrade, rollback, uninstall, or a whole
//! `tenant.toml` — atomically over the resolved set.
//!
//! The change is resolved into a new lockfile first; nothing moves if it does not resolve. Then
//! the operation is journaled with a snapshot of every plugin it will touch (installation,
//! grants), the plugins are removed (dependents first) and installed or upgraded (dependencies
//! first), and the operation is finished in the same transaction that stores the new lockfile and
//! the approval requests. If a step fails, the snapshot is restored; if the process dies
//! mid-way, [`recover`] restores it at the next start. So after any failure or crash the tenant
//! has its old set or its new one, never a mix. (What a plugin's own lifecycle export wrote in
//! its collections before a later step failed stays: that data is the plugin's.)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use socle_marketplace::lockfile::Lockfile;
use socle_marketplace::manifest::{Manifest, Pricing};
use socle_marketplace::resolve::{self, Candidate, Channel, Index, Request, Upgrade};
use socle_tenants::{Actor, PluginWant, Tenant, TenantId};

use super::Marketplace;
use super::store::{Approval, Operation, RetentionChange, VersionRow};
use crate::plugins::install::{InstallError, Snapshot};

/// What the tenant wants, by plugin id (`tenant.toml`'s `[plugins]`).
pub type Wants = BTreeMap<String, PluginWant>;

/// Why a change was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The wants do not resolve; the explanation says why in plain words.
    #[error("{0}")]
    Unresolvable(String),
    /// The request itself is wrong (unknown plugin, nothing to roll back to…).
    #[error("{0}")]
    Invalid(String),
    /// Another operation is running on this tenant.
    #[error("{0}")]
    Busy(String),
    /// A step failed; everything was put back as it was.
    #[error("{0}")]
    RolledBack(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] anyhow::Error),
}

impl From<crate::error::StoreError> for ApplyError {
    fn from(err: crate::error::StoreError) -> Self {
        match err {
            crate::error::StoreError::Conflict(message) => Self::Busy(message),
            other => Self::Platform(other.into()),
        }
    }
}

/// The target of a change.
#[derive(Debug, Clone)]
pub enum Target {
    /// Resolve these wants, keeping locked versions except those `upgrade` frees.
    Resolve {
        /// What the tenant wants after the change.
        wants: Wants,
        /// Which locked versions may move.
        upgrade: Upgrade,
        /// Versions to prefer instead of the tenant's current lockfile (`socle tenant apply`
        /// with a `tenant.lock`).
        locked: Option<Lockfile>,
    },
    /// Exactly this lockfile (a rollback to a previous state).
    Exact {
        /// Wants after.
        wants: Wants,
        /// The lockfile to restore.
        lock: Lockfile,
    },
}

/// A change to apply.
#[derive(Debug, Clone)]
pub struct Change {
    /// `install`, `upgrade`, `uninstall`, `rollback`, `apply`.
    pub kind: &'static str,
    /// What was asked, in words (shown in the journal).
    pub summary: String,
    /// Where to go.
    pub target: Target,
}

/// What happens to one plugin.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Plugin.
    pub plugin: String,
    /// `install`, `upgrade`, `downgrade`, `reinstall` or `remove`.
    pub action: String,
    /// Version before.
    pub from: Option<String>,
    /// Version after.
    pub to: Option<String>,
    /// Capabilities granted by this change.
    pub grants: Vec<String>,
    /// Capabilities new in this version that go to the approval inbox.
    pub needs_approval: Vec<String>,
}

/// A resolved change, before or after it is applied.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The lockfile after.
    pub lock: String,
    /// What moves.
    pub steps: Vec<Step>,
}

impl Marketplace {
    /// Resolves a change without applying it: the plan an administrator approves.
    pub async fn plan(&self, tenant: &Tenant, change: &Change) -> Result<Plan, ApplyError> {
        Ok(self.prepare(tenant, change).await?.plan)
    }
}

struct Prepared {
    plan: Plan,
    from_wants: Wants,
    from_lock: Lockfile,
    to_wants: Wants,
    to_lock: Lockfile,
    rows: BTreeMap<String, VersionRow>,
}

impl Marketplace {
    async fn prepare(&self, tenant: &Tenant, change: &Change) -> Result<Prepared, ApplyError> {
        let (from_wants, from_lock) = self.current_lock(tenant.id).await?;
        // Versions a rollout keeps from this tenant are not candidates (the previous one is).
        let listed = self.visible_versions(tenant.id, self.store.listed().await?).await?;

        let (to_wants, to_lock) = match &change.target {
            Target::Exact { wants, lock } => (wants.clone(), lock.clone()),
            Target::Resolve { wants, upgrade, locked } => {
                for id in wants.keys() {
                    if !listed.iter().any(|v| &v.plugin_id == id) {
                        return Err(ApplyError::Invalid(format!("no plugin `{id}` is listed in the marketplace")));
                    }
                }
                let index = Index::new(listed.iter().filter_map(candidate).collect());
                let request = Request {
                    host_api: crate::plugins::runtime::host_api_versions(),
                    wanted: wants.iter().map(|(id, want)| (id.clone(), want.version.clone())).collect(),
                    locked: locked.as_ref().unwrap_or(&from_lock).versions(),
                    upgrade: upgrade.clone(),
                    beta: wants.iter().filter(|(_, w)| w.beta).map(|(id, _)| id.clone()).collect(),
                    entitlements: wants.iter().filter(|(_, w)| w.subscribed).map(|(id, _)| id.clone()).collect(),
                    pins: wants
                        .iter()
                        .filter_map(|(id, w)| w.pin.as_ref().map(|p| (id.clone(), resolve::Pin { version: p.version.clone(), reason: p.reason.clone() })))
                        .collect(),
                };
                let resolution = resolve::resolve(&index, &request).map_err(|e| ApplyError::Unresolvable(format!("tenant {}: {e}", tenant.slug)))?;
                (wants.clone(), Lockfile::from_resolution(&resolution))
            }
        };

        // Every locked version must exist (any status: a rollback may return to a version since
        // delisted) and match its digest.
        let mut rows = BTreeMap::new();
        for locked in &to_lock.plugins {
            let row = match listed.iter().find(|v| v.plugin_id == locked.id && v.version == locked.version.to_string()) {
                Some(row) => row.clone(),
                None => self
                    .store
                    .version(&locked.id, &locked.version.to_string())
                    .await?
                    .ok_or_else(|| ApplyError::Invalid(format!("{}@{} is not in the marketplace", locked.id, locked.version)))?,
            };
            if row.digest != locked.digest {
                return Err(ApplyError::Invalid(format!(
                    "{}@{}: the lockfile says {} but the marketplace has {}",
                    locked.id, locked.version, locked.digest, row.digest
                )));
            }
            rows.insert(locked.id.clone(), row);
        }

        let installs = self.plugins.store().installs(tenant.id).await?;
        let mut steps = Vec::new();
        // Dependents are removed before what they depend on.
        for locked in order_dependencies_first(&from_lock).into_iter().rev().filter(|p| to_lock.get(&p.id).is_none()) {
            if installs.iter().any(|i| i.plugin_id == locked.id) {
                steps.push(Step {
                    plugin: locked.id.clone(),
                    action: "remove".into(),
                    from: Some(locked.version.to_string()),
                    to: None,
                    grants: vec![],
                    needs_approval: vec![],
                });
            }
        }
        for locked in order_dependencies_first(&to_lock) {
            let row = &rows[&locked.id];
            let installed = installs.iter().find(|i| i.plugin_id == locked.id);
            if installed.is_some_and(|i| i.sha256 == row.component_sha256 && i.version == row.version) {
                continue;
            }
            let manifest = Manifest::parse(&row.manifest).map_err(|e| anyhow::anyhow!("{}@{}: stored manifest: {e}", row.plugin_id, row.version))?;
            let declared: BTreeSet<String> = crate::plugins::grants::declared(&manifest).into_iter().map(|g| g.key).collect();
            let (grants, needs_approval) = match installed {
                None => {
                    let wanted = to_wants.get(&locked.id).and_then(|w| w.grants.clone());
                    if let Some(unknown) = wanted.as_ref().and_then(|w| w.difference(&declared).next()) {
                        return Err(ApplyError::Invalid(format!("{}: `{unknown}` is not a capability its manifest declares", locked.id)));
                    }
                    (wanted.unwrap_or_else(|| declared.clone()), BTreeSet::new())
                }
                Some(i) => {
                    let old: Manifest = serde_json::from_value(i.manifest.clone()).map_err(anyhow::Error::from)?;
                    let old_declared: BTreeSet<String> = crate::plugins::grants::declared(&old).into_iter().map(|g| g.key).collect();
                    let held: BTreeSet<String> =
                        self.plugins.services().granter.states(tenant.id, &old).await?.into_iter().filter(|s| s.granted).map(|s| s.grant.key).collect();
                    let keep: BTreeSet<String> = held.intersection(&declared).cloned().collect();
                    let new: BTreeSet<String> = declared.difference(&old_declared).cloned().collect();
                    (keep, new)
                }
            };
            let from = installed.map(|i| i.version.clone());
            let action = match from.as_deref().map(semver::Version::parse) {
                None => "install",
                Some(Ok(old)) if old < locked.version => "upgrade",
                Some(Ok(old)) if old > locked.version => "downgrade",
                Some(_) => "reinstall",
            };
            steps.push(Step {
                plugin: locked.id.clone(),
                action: action.into(),
                from,
                to: Some(locked.version.to_string()),
                grants: grants.into_iter().collect(),
                needs_approval: needs_approval.into_iter().collect(),
            });
        }
        Ok(Prepared { plan: Plan { lock: to_lock.to_toml(), steps }, from_wants, from_lock, to_wants, to_lock, rows })
    }

    /// Installs (or upgrades to) a component that is not in the catalogue — a plugin a developer
    /// built (`socle plugin install|run|test`), a test fixture — granting `grants` (`None`: all it
    /// declares). Undone if its lifecycle refuses; not journaled like [`Marketplace::apply`]'s
    /// operations, and outside the tenant's lockfile.
    pub async fn install_component(
        &self,
        tenant: &Arc<Tenant>,
        component: &[u8],
        manifest: &Manifest,
        grants: Option<&BTreeSet<String>>,
        by: &Actor,
    ) -> Result<crate::plugins::store::Installed, InstallError> {
        self.plugins.install(tenant, component, manifest, grants, by).await
    }

    /// Uninstalls a plugin installed outside the catalogue (see [`Marketplace::install_component`]);
    /// one the tenant asked the marketplace for is uninstalled with [`Marketplace::apply`].
    pub async fn uninstall_component(&self, tenant: &Arc<Tenant>, plugin: &str, by: &Actor) -> Result<(), InstallError> {
        self.plugins.uninstall(tenant, plugin, by).await
    }

    /// Applies a change; returns the finished operation and its plan.
    pub async fn apply(self: &Arc<Self>, tenant: &Arc<Tenant>, change: &Change, by: &Actor) -> Result<(Operation, Plan), ApplyError> {
        let prepared = self.prepare(tenant, change).await?;
        let mut snapshot = Vec::new();
        for step in &prepared.plan.steps {
            snapshot.push(self.plugins.snapshot(tenant.id, &step.plugin).await?);
        }
        // The data of each plugin removed, exported before its uninstall runs; stored with the
        // operation's end, so a rolled-back operation keeps none.
        let mut retention = RetentionChange::default();
        for step in &prepared.plan.steps {
            match step.action.as_str() {
                "remove" => retention.kept.extend(
                    self.export_plugin_data(tenant, &step.plugin)
                        .await
                        .map_err(|e| anyhow::anyhow!("exporting the data of {} in tenant {}: {e:#}", step.plugin, tenant.slug))?,
                ),
                "install" => retention.restored.push(step.plugin.clone()),
                _ => {}
            }
        }
        let now = self.now_ms();
        let mut operation = Operation {
            id: uuid::Uuid::now_v7().to_string(),
            kind: change.kind.into(),
            summary: change.summary.clone(),
            state: "applying".into(),
            from_wants: serde_json::to_string(&prepared.from_wants).map_err(anyhow::Error::from)?,
            from_lock: prepared.from_lock.to_toml(),
            to_wants: serde_json::to_string(&prepared.to_wants).map_err(anyhow::Error::from)?,
            to_lock: prepared.to_lock.to_toml(),
            snapshot: serde_json::to_string(&snapshot).map_err(anyhow::Error::from)?,
            error: None,
            actor: format!("{} {}", by.subject, by.label),
            started_at: now,
            finished_at: None,
        };
        self.store.start_operation(tenant.id, &operation).await?;
        failpoint("marketplace.apply.journaled");

        let mut approvals = Vec::new();
        let beat = self.heartbeat(tenant.id, &operation.id);
        let outcome = self.run_steps(tenant, &prepared, by).await;
        beat.abort();
        if let Err(reason) = outcome {
            self.plugins.restore(tenant.id, &snapshot, by).await?;
            self.store.finish_operation(tenant.id, &operation.id, "rolled_back", Some(&reason), &[], &RetentionChange::default()).await?;
            // What each plugin may use was worked out while the steps ran; the lock moved back.
            self.plugins.changed(tenant.id).await;
            tracing::warn!(tenant.id = %tenant.id, operation = %operation.id, error = %reason, "plugin operation rolled back");
            return Err(ApplyError::RolledBack(format!("{} in tenant {} was rolled back: {reason}", change.summary, tenant.slug)));
        }
        for step in prepared.plan.steps.iter().filter(|s| !s.needs_approval.is_empty()) {
            approvals.push(Approval {
                id: uuid::Uuid::now_v7().to_string(),
                plugin_id: step.plugin.clone(),
                version: step.to.clone().unwrap_or_default(),
                grants: step.needs_approval.clone(),
                status: "pending".into(),
                created_at: self.now_ms(),
                decided_by: None,
                decided_at: None,
            });
        }
        failpoint("marketplace.apply.before_commit");
        self.store.finish_operation(tenant.id, &operation.id, "done", None, &approvals, &retention).await?;
        failpoint("marketplace.apply.committed");
        // The tenant's plugins were loaded while the steps ran, against the old wants: what each
        // may use (its subscription) is worked out again from the new ones.
        self.plugins.changed(tenant.id).await;
        self.schedule_purges(tenant.id, &retention.kept).await;
        for approval in &approvals {
            let message = format!(
                "{}@{} demande de nouvelles autorisations : {}. Elle fonctionne sans elles en attendant votre décision.",
                approval.plugin_id,
                approval.version,
                approval.grants.join(", ")
            );
            self.notify(tenant.id, "approval_waiting", &approval.plugin_id, &approval.version, message).await;
        }
        for step in &prepared.plan.steps {
            let kind = match step.action.as_str() {
                "install" => "installed",
                "remove" => "uninstalled",
                "downgrade" => "rolled_back",
                _ => "upgraded",
            };
            let version = step.to.clone().or_else(|| step.from.clone()).unwrap_or_default();
            if let Err(err) = self.store.record_event(tenant.id, &step.plugin, &version, kind).await {
                tracing::warn!(error = %err, "install event not recorded");
            }
        }
        operation.state = "done".into();
        operation.finished_at = Some(self.now_ms());
        tracing::info!(tenant.id = %tenant.id, operation = %operation.id, steps = prepared.plan.steps.len(), "plugin operation applied");
        Ok((operation, prepared.plan))
    }

    async fn run_steps(self: &Arc<Self>, tenant: &Arc<Tenant>, prepared: &Prepared, by: &Actor) -> Result<(), String> {
        let mut done = 0;
        for step in prepared.plan.steps.iter().filter(|s| s.action == "remove") {
            self.plugins.uninstall(tenant, &step.plugin, by).await.map_err(|e| format!("removing {}: {e}", step.plugin))?;
            done += 1;
            if done == 1 {
                failpoint("marketplace.apply.first_step");
            }
        }
        for step in prepared.plan.steps.iter().filter(|s| s.action != "remove") {
            let row = &prepared.rows[&step.plugin];
            let manifest = Manifest::parse(&row.manifest).map_err(|e| format!("{}: {e}", step.plugin))?;
            let bytes = self
                .plugins
                .store()
                .component(&row.component_sha256)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the component of {}@{} is missing", row.plugin_id, row.version))?;
            let grants: BTreeSet<String> = step.grants.iter().cloned().collect();
            self.plugins.install(tenant, &bytes, &manifest, Some(&grants), by).await.map_err(|e| e.to_string())?;
            done += 1;
            if done == 1 {
                failpoint("marketplace.apply.first_step");
            }
        }
        Ok(())
    }

    /// Beats the operation's heartbeat while it is applied, so other nodes know it is alive.
    fn heartbeat(self: &Arc<Self>, tenant: TenantId, id: &str) -> tokio::task::JoinHandle<()> {
        let market = Arc::downgrade(self);
        let id = id.to_owned();
        tokio::spawn(async move {
            loop {
                let Some(market) = market.upgrade() else { return };
                let every = Duration::from_millis((market.settings.marketplace.operation_lease_secs * 1000 / 3).max(100));
                if let Err(err) = market.store.heartbeat(tenant, &id).await {
                    tracing::warn!(error = %err, "plugin operation heartbeat failed");
                }
                drop(market);
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Rolls back every operation whose node stopped beating its heartbeat: at start, before
    /// serving, then periodically (see [`Marketplace::watch_interrupted`]).
    pub async fn recover(&self) -> anyhow::Result<usize> {
        let lease = i64::try_from(self.settings.marketplace.operation_lease_secs * 1000).unwrap_or(i64::MAX);
        let interrupted = self.store.interrupted(self.now_ms().saturating_sub(lease)).await?;
        let count = interrupted.len();
        for (tenant_id, operation) in interrupted {
            if self.tenants.get(tenant_id).await?.is_none() {
                continue;
            }
            let snapshot: Vec<Snapshot> = serde_json::from_str(&operation.snapshot)?;
            self.plugins.restore(tenant_id, &snapshot, &Actor::system("marketplace recovery")).await?;
            self.store
                .finish_operation(
                    tenant_id,
                    &operation.id,
                    "rolled_back",
                    Some("interrupted: the server stopped while applying it; the previous state was restored"),
                    &[],
                    &RetentionChange::default(),
                )
                .await?;
            tracing::warn!(tenant.id = %tenant_id, operation = %operation.id, "interrupted plugin operation rolled back");
        }
        Ok(count)
    }
}

impl Marketplace {
    /// Recovers interrupted operations every lease period (a crash shortly before this node
    /// started leaves an operation whose lease has not yet run out). Ends with the marketplace.
    pub fn watch_interrupted(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let market = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let every = match market.upgrade() {
                    Some(market) => {
                        if let Err(err) = market.recover().await {
                            tracing::warn!(error = format!("{err:#}"), "recovering interrupted plugin operations failed");
                        }
                        Duration::from_secs(market.settings.marketplace.operation_lease_secs.max(1))
                    }
                    None => return,
                };
                tokio::time::sleep(every).await;
            }
        })
    }
}

/// The plugins of a lockfile, each after its dependencies.
pub fn order_dependencies_first(lock: &Lockfile) -> Vec<&socle_marketplace::lockfile::LockedPlugin> {
    let mut ordered: Vec<&socle_marketplace::lockfile::LockedPlugin> = Vec::new();
    let mut placed = BTreeSet::new();
    while ordered.len() < lock.plugins.len() {
        let before = ordered.len();
        for plugin in &lock.plugins {
            if !placed.contains(&plugin.id) && plugin.dependencies.iter().all(|d| placed.contains(d) || lock.get(d).is_none()) {
                placed.insert(plugin.id.clone());
                ordered.push(plugin);
            }
        }
        if ordered.len() == before {
            // A cycle: the rest in name order (install checks dependencies and will say which).
            ordered.extend(lock.plugins.iter().filter(|p| !placed.contains(&p.id)));
            break;
        }
    }
    ordered
}

/// A listed version as a resolver candidate.
fn candidate(row: &VersionRow) -> Option<Candidate> {
    let manifest = Manifest::parse(&row.manifest).ok()?;
    Some(Candidate {
        id: row.plugin_id.clone(),
        version: manifest.plugin.version.clone(),
        api: manifest.plugin.api.clone(),
        dependencies: manifest.dependencies.clone(),
        digest: row.digest.clone(),
        yanked: row.yanked.is_some(),
        channel: if row.channel == "beta" { Channel::Beta } else { Channel::Stable },
        paid: !matches!(manifest.pricing, Pricing::Free),
    })
}

impl Marketplace {
    /// The tenant's wants and lockfile now (empty for a tenant that never used the marketplace).
    pub async fn current_lock(&self, tenant: TenantId) -> anyhow::Result<(Wants, Lockfile)> {
        let Some(stored) = self.store.tenant_lock(tenant).await? else { return Ok((Wants::new(), Lockfile::default())) };
        let lock = Lockfile::parse(&stored.lock).map_err(|e| anyhow::anyhow!("tenant {tenant}: stored lockfile: {e}"))?;
        Ok((serde_json::from_str(&stored.wants)?, lock))
    }

    /// The tenant's current wants.
    pub async fn wants(&self, tenant: TenantId) -> anyhow::Result<Wants> {
        Ok(self.current_lock(tenant).await?.0)
    }
}

/// Uninstalling `plugin` (and whatever only it needed), if the tenant asked for it.
pub fn uninstall_change(mut wants: Wants, plugin: &str) -> Option<Change> {
    wants.remove(plugin)?;
    Some(Change { kind: "uninstall", summary: format!("uninstall {plugin}"), target: Target::Resolve { wants, upgrade: Upgrade::None, locked: None } })
}

impl Marketplace {
    /// Going back to the state before the tenant's last applied operation.
    pub async fn rollback_change(&self, tenant: TenantId) -> Result<Change, ApplyError> {
        let last = self
            .store
            .operations(tenant, 50)
            .await?
            .into_iter()
            .find(|op| op.state == "done")
            .ok_or_else(|| ApplyError::Invalid("this tenant has no applied plugin operation to roll back".into()))?;
        let lock = Lockfile::parse(&last.from_lock).map_err(|e| anyhow::anyhow!("operation {}: stored lockfile: {e}", last.id))?;
        let wants: Wants = serde_json::from_str(&last.from_wants).map_err(anyhow::Error::from)?;
        Ok(Change { kind: "rollback", summary: format!("roll back «{}»", last.summary), target: Target::Exact { wants, lock } })
    }

    /// Resolves `wants` against the listed versions, with nothing locked: what a fresh tenant
    /// asking for them would get (the smoke run installs a plugin's dependencies this way).
    pub async fn resolve_fresh(&self, wanted: BTreeMap<String, semver::VersionReq>) -> Result<Lockfile, ApplyError> {
        let listed = self.store.listed().await?;
        let index = Index::new(listed.iter().filter_map(candidate).collect());
        let request = Request { host_api: crate::plugins::runtime::host_api_versions(), wanted, ..Request::default() };
        let resolution = resolve::resolve(&index, &request).map_err(|e| ApplyError::Unresolvable(e.to_string()))?;
        Ok(Lockfile::from_resolution(&resolution))
    }
}

/// Kills the process at a named point when `SOCLE_FAILPOINT` names it: how the crash tests
/// stop a real server mid-operation, exactly like `kill -9` at that step. With
/// `SOCLE_FAILPOINT_ACTION=pause` the process says so on stderr and waits there instead, for the
/// test to send the real `SIGKILL`. Debug builds only.
fn failpoint(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("SOCLE_FAILPOINT").is_ok_and(|v| v == name) {
        if std::env::var("SOCLE_FAILPOINT_ACTION").is_ok_and(|v| v == "pause") {
            eprintln!("failpoint {name}: paused");
            loop {
                std::thread::park();
            }
        }
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
