//! Progressive rollout and the kill switch.
//!
//! A partner starts a rollout of a version: it goes to a growing cohort of tenants
//! (`socle_marketplace::rollout::in_cohort`), and tenants outside it resolve to the previous
//! version. At each step the tenants of the cohort that have the plugin are upgraded (through
//! the atomic apply). A periodic job promotes the rollout step by step while the new version's
//! error rate (from the runtime receipts) stays within a threshold of the previous version's;
//! otherwise it halts it and rolls every tenant on it back. An operator's kill switch yanks a
//! version and rolls every tenant on it back. Tenants are told each time.

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use socle_marketplace::resolve::Upgrade;
use socle_marketplace::rollout::{self as cohort, Gate, Health, Verdict};
use socle_tenants::{Actor, TenantId};

use super::Marketplace;
use super::apply::{Change, Target};
pub use super::store::{Rollout, RolloutStore, VersionRow};
use crate::error::StoreError;
use crate::jobs::{Job, JobFailure, JobHandler};

/// The periodic job judging active rollouts.
pub const TICK_JOB: &str = "marketplace.rollout.tick";

/// Its schedule.
pub const TICK_CRON: &str = "*/10 * * * *";

/// Why a rollout request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    /// Bad request.
    #[error("{0}")]
    Invalid(String),
    /// No such version or rollout.
    #[error("{0}")]
    NotFound(String),
    /// Not in a state that allows it.
    #[error("{0}")]
    Conflict(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] anyhow::Error),
}

impl From<StoreError> for RolloutError {
    fn from(err: StoreError) -> Self {
        Self::Platform(err.into())
    }
}

/// What a rollout request may set.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Steps (default 5, 25, 50, 100).
    pub steps: Option<Vec<u8>>,
    /// Error-rate tolerance in percentage points (default: the setting).
    pub threshold_points: Option<f64>,
    /// Calls before judging (default: the setting).
    pub min_invocations: Option<i64>,
}

impl Marketplace {
    /// Keeps the versions rollouts hold back from `tenant` out of `listed`.
    pub async fn visible_versions(&self, tenant: TenantId, mut listed: Vec<VersionRow>) -> anyhow::Result<Vec<VersionRow>> {
        let rollouts = self.store.rollouts(None).await?;
        listed.retain(|v| !rollouts.iter().any(|r| r.plugin_id == v.plugin_id && r.version == v.version && r.holds_back(tenant)));
        Ok(listed)
    }

    fn rollout_gate(&self, rollout: &Rollout) -> Gate {
        Gate {
            threshold_points: rollout.threshold_bp as f64 / 100.0,
            min_invocations: u64::try_from(rollout.min_invocations).unwrap_or(0),
            min_step_ms: i64::try_from(self.settings.marketplace.rollout_step_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
        }
    }

    /// Starts a rollout of `plugin@version` (the caller checked the publisher owns it) at its first
    /// step, and upgrades the first cohort.
    pub async fn start_rollout(self: &Arc<Self>, plugin: &str, version: &str, options: StartOptions) -> Result<Rollout, RolloutError> {
        let row = self.store.version(plugin, version).await?.ok_or_else(|| RolloutError::NotFound(format!("{plugin}@{version} was never submitted")))?;
        if row.yanked.is_some() || row.status == "rejected" {
            return Err(RolloutError::Conflict(format!("{plugin}@{version} is yanked or rejected: it cannot be rolled out")));
        }
        let target = semver::Version::parse(version).map_err(|e| RolloutError::Invalid(format!("{plugin}@{version}: {e}")))?;
        let previous = self
            .store
            .versions(plugin)
            .await?
            .into_iter()
            .filter(|v| v.status == "listed" && v.yanked.is_none())
            .filter_map(|v| semver::Version::parse(&v.version).ok())
            .filter(|v| *v < target)
            .max()
            .ok_or_else(|| RolloutError::Conflict(format!("{plugin} has no listed version before {version} to roll out from; list {version} normally")))?;
        let steps = options.steps.unwrap_or_else(|| cohort::DEFAULT_STEPS.to_vec());
        cohort::validate_steps(&steps).map_err(|e| RolloutError::Invalid(format!("steps: {e}")))?;
        let threshold = options.threshold_points.unwrap_or(self.settings.marketplace.rollout_threshold_points);
        if !(0.0..=100.0).contains(&threshold) {
            return Err(RolloutError::Invalid("threshold_points: give 0 to 100 percentage points".into()));
        }
        let min_invocations = options.min_invocations.unwrap_or(i64::try_from(self.settings.marketplace.rollout_min_invocations).unwrap_or(i64::MAX));
        if min_invocations < 1 {
            return Err(RolloutError::Invalid("min_invocations: at least 1 call is needed to judge a version".into()));
        }
        let now = self.now_ms();
        let rollout = Rollout {
            plugin_id: plugin.into(),
            version: version.into(),
            previous: Some(previous.to_string()),
            percent: steps[0],
            steps,
            state: "active".into(),
            threshold_bp: (threshold * 100.0).round() as i64,
            min_invocations,
            started_at: now,
            step_at: now,
            updated_at: now,
            note: None,
        };
        if !self.store.insert_rollout(&rollout).await? {
            return Err(RolloutError::Conflict(format!(
                "{plugin} already has a rollout in progress, or {version} had one; pause or finish it (GET …/rollout shows it)"
            )));
        }
        tracing::info!(plugin.id = %plugin, plugin.version = %version, percent = rollout.percent, "rollout started");
        self.release_version(&rollout).await;
        Ok(rollout)
    }

    /// The rollout of `plugin@version`.
    pub async fn rollout(&self, plugin: &str, version: &str) -> Result<Rollout, RolloutError> {
        self.store
            .rollouts(Some(plugin))
            .await?
            .into_iter()
            .find(|r| r.version == version)
            .ok_or_else(|| RolloutError::NotFound(format!("{plugin}@{version} has no rollout")))
    }

    /// Pauses (`true`) or resumes an active rollout: paused, it stays at its step.
    pub async fn pause_rollout(&self, plugin: &str, version: &str, paused: bool) -> Result<Rollout, RolloutError> {
        let mut rollout = self.rollout(plugin, version).await?;
        let (from, to) = if paused { ("active", "paused") } else { ("paused", "active") };
        if rollout.state != from {
            return Err(RolloutError::Conflict(format!("the rollout of {} is {}, not {from}", rollout.label(), rollout.state)));
        }
        rollout.state = to.into();
        rollout.updated_at = self.now_ms();
        rollout.note = paused.then(|| "paused by the publisher".to_owned());
        self.store.update_rollout(&rollout).await?;
        Ok(rollout)
    }

    /// Goes to the next step now, unless the health gate says the version is unhealthy.
    pub async fn advance_rollout(self: &Arc<Self>, plugin: &str, version: &str) -> Result<Rollout, RolloutError> {
        let rollout = self.rollout(plugin, version).await?;
        if rollout.state != "active" && rollout.state != "paused" {
            return Err(RolloutError::Conflict(format!("the rollout of {} is {}: it cannot advance", rollout.label(), rollout.state)));
        }
        let (new, previous) = self.rollout_health(&rollout).await?;
        let mut gate = self.rollout_gate(&rollout);
        // The publisher takes the responsibility for time and volume, never for errors.
        gate.min_step_ms = 0;
        let verdict = match cohort::evaluate(&rollout.steps, rollout.percent, 0, new, previous, &gate) {
            Verdict::Wait(_) => Verdict::Promote(rollout.steps.iter().copied().find(|s| *s > rollout.percent).unwrap_or(100)),
            other => other,
        };
        let mut rollout = rollout;
        rollout.state = "active".into();
        self.apply_verdict(rollout, verdict).await
    }

    async fn rollout_health(&self, rollout: &Rollout) -> Result<(Health, Health), StoreError> {
        let health = |stats: crate::plugins::store::CallStats| Health {
            invocations: u64::try_from(stats.invocations).unwrap_or(0),
            failures: u64::try_from(stats.failures).unwrap_or(0),
        };
        let receipts = self.plugins.store();
        let new = health(receipts.call_stats(&rollout.plugin_id, Some(&rollout.version), rollout.started_at).await?);
        let previous = match &rollout.previous {
            // The previous version over the week before the rollout and since.
            Some(previous) => health(receipts.call_stats(&rollout.plugin_id, Some(previous), rollout.started_at - 7 * 86_400_000).await?),
            None => Health::default(),
        };
        Ok((new, previous))
    }

    /// Judges every active rollout once: promote, wait, complete, or halt and roll back.
    pub async fn tick_rollouts(self: &Arc<Self>) -> anyhow::Result<Vec<Rollout>> {
        let mut changed = Vec::new();
        for rollout in self.store.rollouts(None).await?.into_iter().filter(|r| r.state == "active") {
            let (new, previous) = self.rollout_health(&rollout).await?;
            let verdict = cohort::evaluate(&rollout.steps, rollout.percent, self.now_ms() - rollout.step_at, new, previous, &self.rollout_gate(&rollout));
            if let Verdict::Wait(why) = &verdict {
                tracing::debug!(plugin.id = %rollout.plugin_id, plugin.version = %rollout.version, why = %why, "rollout waits");
                continue;
            }
            changed.push(self.apply_verdict(rollout, verdict).await.map_err(|e| anyhow::anyhow!("{e}"))?);
        }
        Ok(changed)
    }

    async fn apply_verdict(self: &Arc<Self>, mut rollout: Rollout, verdict: Verdict) -> Result<Rollout, RolloutError> {
        let now = self.now_ms();
        rollout.updated_at = now;
        match verdict {
            Verdict::Wait(_) => {}
            Verdict::Promote(percent) => {
                rollout.percent = percent;
                rollout.step_at = now;
                rollout.note = None;
                if percent >= 100 {
                    rollout.state = "completed".into();
                }
                self.store.update_rollout(&rollout).await?;
                tracing::info!(plugin.id = %rollout.plugin_id, plugin.version = %rollout.version, percent, "rollout promoted");
                self.release_version(&rollout).await;
            }
            Verdict::Complete => {
                rollout.state = "completed".into();
                self.store.update_rollout(&rollout).await?;
            }
            Verdict::Halt(why) => {
                rollout.state = "halted".into();
                rollout.note = Some(why.clone());
                self.store.update_rollout(&rollout).await?;
                tracing::warn!(plugin.id = %rollout.plugin_id, plugin.version = %rollout.version, why = %why, "rollout halted");
                self.roll_back_everyone(&rollout.plugin_id, &rollout.version, &format!("its health check failed: {why}")).await?;
            }
        }
        Ok(rollout)
    }

    /// Upgrades the cohort's tenants that have the plugin at an older version (best effort: a
    /// tenant whose set does not resolve keeps its version and is logged).
    async fn release_version(self: &Arc<Self>, rollout: &Rollout) {
        let Ok(target) = semver::Version::parse(&rollout.version) else { return };
        let installs = match self.plugins.store().installs_of(&rollout.plugin_id).await {
            Ok(installs) => installs,
            Err(err) => {
                tracing::warn!(plugin.id = %rollout.plugin_id, error = %err, "rollout release skipped");
                return;
            }
        };
        for (tenant, version) in installs {
            let older = semver::Version::parse(&version).is_ok_and(|v| v < target);
            if !older || rollout.holds_back(tenant) {
                continue;
            }
            let summary = format!("rollout of {}: upgrade {} {version} → {}", rollout.label(), rollout.plugin_id, rollout.version);
            match self.change_plugin(tenant, &rollout.plugin_id, "upgrade", summary).await {
                Ok(Some(to)) if to == rollout.version => {
                    self.notify(
                        tenant,
                        "updated",
                        &rollout.plugin_id,
                        &rollout.version,
                        format!("{} a été mis à jour de {version} vers {to}.", rollout.plugin_id),
                    )
                    .await;
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(tenant.id = %tenant, plugin.id = %rollout.plugin_id, error = %err, "rollout upgrade not applied"),
            }
        }
    }

    /// Moves `plugin` in `tenant` to the best version this tenant may have now (the held-back
    /// version excluded), atomically over its set; the version it ended at.
    async fn change_plugin(self: &Arc<Self>, tenant_id: TenantId, plugin: &str, kind: &'static str, summary: String) -> anyhow::Result<Option<String>> {
        let Some(tenant) = self.tenants.get(tenant_id).await? else { return Ok(None) };
        let (wants, lock) = self.current_lock(tenant_id).await?;
        if lock.get(plugin).is_none() {
            // Installed outside the marketplace: not ours to move.
            return Ok(None);
        }
        let change = Change { kind, summary, target: Target::Resolve { wants, upgrade: Upgrade::Only([plugin.to_owned()].into()), locked: None } };
        self.apply(&Arc::new(tenant), &change, &Actor::system("marketplace rollout")).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(self.plugins.store().installs(tenant_id).await?.into_iter().find(|i| i.plugin_id == plugin).map(|i| i.version))
    }
}

/// What rolling every tenant off a version did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RollbackReport {
    /// Tenants rolled back (slug or id), with the version they went to.
    pub rolled_back: Vec<(String, String)>,
    /// Tenants that could not be (why).
    pub failed: Vec<(String, String)>,
}

impl Marketplace {
    /// Rolls every tenant on `plugin@version` back to the best version it may have (the previous
    /// one), each atomically, and tells its administrators.
    pub async fn roll_back_everyone(self: &Arc<Self>, plugin: &str, version: &str, why: &str) -> Result<RollbackReport, RolloutError> {
        let mut report = RollbackReport::default();
        for (tenant, installed) in self.plugins.store().installs_of(plugin).await? {
            if installed != version {
                continue;
            }
            let name = self
                .tenants
                .get(tenant)
                .await
                .map_err(|e| RolloutError::Platform(anyhow::anyhow!("{e}")))?
                .map_or_else(|| tenant.to_string(), |t| t.slug.to_string());
            let summary = format!("roll back {plugin} {version}: {why}");
            match self.change_plugin(tenant, plugin, "rollback", summary).await {
                Ok(Some(to)) if to != version => {
                    self.notify(
                        tenant,
                        "rollback",
                        plugin,
                        version,
                        format!("{plugin} {version} a été retiré ({why}) ; votre espace est revenu à {plugin} {to}."),
                    )
                    .await;
                    report.rolled_back.push((name, to));
                }
                Ok(_) => report.failed.push((name, format!("no other version of {plugin} resolves for this tenant"))),
                Err(err) => {
                    tracing::warn!(tenant.id = %tenant, plugin.id = %plugin, error = %err, "rollback not applied");
                    report.failed.push((name, err.to_string()));
                }
            }
        }
        Ok(report)
    }

    /// The operator's kill switch: yanks `plugin@version` (no new resolution picks it), holds it
    /// back from every tenant, and rolls every tenant on it back, telling them.
    pub async fn kill(self: &Arc<Self>, plugin: &str, version: &str, reason: &str) -> Result<RollbackReport, RolloutError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 500 {
            return Err(RolloutError::Invalid("reason: say in 1 to 500 characters why the version is withdrawn (tenants read it)".into()));
        }
        if !self.store.set_yanked(plugin, version, Some(&format!("withdrawn by the platform: {reason}"))).await? {
            return Err(RolloutError::NotFound(format!("{plugin}@{version} is not in the marketplace")));
        }
        let now = self.now_ms();
        let rollout = match self.rollout(plugin, version).await {
            Ok(mut r) => {
                r.state = "killed".into();
                r.note = Some(reason.into());
                r.updated_at = now;
                self.store.update_rollout(&r).await?;
                r
            }
            Err(_) => {
                let r = Rollout {
                    plugin_id: plugin.into(),
                    version: version.into(),
                    previous: None,
                    steps: vec![100],
                    percent: 0,
                    state: "killed".into(),
                    threshold_bp: 0,
                    min_invocations: 1,
                    started_at: now,
                    step_at: now,
                    updated_at: now,
                    note: Some(reason.into()),
                };
                if !self.store.insert_rollout(&r).await? {
                    // A rollout of another version is active: the kill stands by the yank alone.
                    tracing::warn!(plugin.id = %plugin, plugin.version = %version, "kill switch: no rollout row stored");
                }
                r
            }
        };
        tracing::warn!(plugin.id = %plugin, plugin.version = %version, reason = %reason, "kill switch");
        self.roll_back_everyone(&rollout.plugin_id, &rollout.version, reason).await
    }
}

/// Runs [`tick`].
pub(crate) struct Tick(pub(crate) Arc<Marketplace>);

#[async_trait]
impl JobHandler for Tick {
    async fn run(&self, _job: &Job) -> Result<(), JobFailure> {
        self.0.tick_rollouts().await.map_err(|e| JobFailure::Retry(format!("{e:#}")))?;
        Ok(())
    }
}
