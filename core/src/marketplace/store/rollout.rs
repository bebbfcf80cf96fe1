//! Storage of rollouts: one row per version being rolled out, with its cohorts and state.

use super::sql::SqlMarketplaceStore;
use crate::db::{Row, Scope};
use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use socle_marketplace::rollout::{self as cohort};
use socle_tenants::TenantId;

/// A rollout of one version.
#[derive(Debug, Clone, Serialize)]
pub struct Rollout {
    /// Plugin.
    pub plugin_id: String,
    /// The version rolled out.
    pub version: String,
    /// The version it replaces (what tenants outside the cohort get).
    pub previous: Option<String>,
    /// Promotion steps, in percent of tenants.
    pub steps: Vec<u8>,
    /// Tenants that get it now, in percent.
    pub percent: u8,
    /// `active`, `paused`, `completed`, `halted` (health gate) or `killed` (operator).
    pub state: String,
    /// How many percentage points above the previous version's error rate are tolerated, in
    /// hundredths.
    pub threshold_bp: i64,
    /// Calls needed before judging the version.
    pub min_invocations: i64,
    /// Start (ms).
    pub started_at: i64,
    /// Last step (ms).
    pub step_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Why it was halted, killed or paused.
    pub note: Option<String>,
}

impl Rollout {
    /// Whether this rollout keeps its version from `tenant`.
    pub fn holds_back(&self, tenant: TenantId) -> bool {
        match self.state.as_str() {
            "active" | "paused" => !cohort::in_cohort(&tenant.to_string(), &self.plugin_id, self.percent),
            "halted" | "killed" => true,
            _ => false,
        }
    }

    pub fn label(&self) -> String {
        format!("{}@{}", self.plugin_id, self.version)
    }
}

/// Storage of rollouts.
#[async_trait]
pub trait RolloutStore: Send + Sync {
    /// Inserts a rollout; false if the plugin has one active or paused, or this version had one.
    async fn insert_rollout(&self, rollout: &Rollout) -> Result<bool, StoreError>;
    /// Rollouts (of one plugin, or all), newest first.
    async fn rollouts(&self, plugin: Option<&str>) -> Result<Vec<Rollout>, StoreError>;
    /// Updates a rollout's step, state and note.
    async fn update_rollout(&self, rollout: &Rollout) -> Result<(), StoreError>;
}

fn rollout_row(r: &Row) -> Result<Rollout, StoreError> {
    let steps: Vec<u8> = serde_json::from_str(&r.get::<String>("steps")?).map_err(anyhow::Error::from)?;
    Ok(Rollout {
        plugin_id: r.get::<String>("plugin_id")?,
        version: r.get::<String>("version")?,
        previous: r.get::<Option<String>>("previous")?,
        steps,
        percent: u8::try_from(r.get::<i64>("percent")?).unwrap_or(0),
        state: r.get::<String>("state")?,
        threshold_bp: r.get::<i64>("threshold_bp")?,
        min_invocations: r.get::<i64>("min_invocations")?,
        started_at: r.get::<i64>("started_at")?,
        step_at: r.get::<i64>("step_at")?,
        updated_at: r.get::<i64>("updated_at")?,
        note: r.get::<Option<String>>("note")?,
    })
}

#[async_trait]
impl RolloutStore for SqlMarketplaceStore {
    async fn insert_rollout(&self, r: &Rollout) -> Result<bool, StoreError> {
        // The primary key (one rollout per version) and the unique index on running rollouts
        // (one per plugin) decide between concurrent inserts: the losers do nothing.
        let inserted = self.db.writing(Scope::Platform,
                "INSERT INTO plugin_rollouts (plugin_id, version, previous, steps, percent, state, threshold_bp, min_invocations, started_at, step_at, updated_at, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
            )
        .bind((&r.plugin_id, &r.version, &r.previous, serde_json::to_string(&r.steps).map_err(anyhow::Error::from)?, i64::from(r.percent), &r.state, r.threshold_bp, r.min_invocations, r.started_at, r.step_at, r.updated_at, &r.note))
        .execute()
            .await?;
        Ok(inserted > 0)
    }

    async fn rollouts(&self, plugin: Option<&str>) -> Result<Vec<Rollout>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT * FROM plugin_rollouts WHERE $1 IS NULL OR plugin_id = $1 ORDER BY started_at DESC, version DESC")
            .bind(plugin)
            .all_as(rollout_row)
            .await
    }

    async fn update_rollout(&self, r: &Rollout) -> Result<(), StoreError> {
        self.db
            .writing(
                Scope::Platform,
                "UPDATE plugin_rollouts SET percent = $1, state = $2, step_at = $3, updated_at = $4, note = $5 WHERE plugin_id = $6 AND version = $7",
            )
            .bind((i64::from(r.percent), &r.state, r.step_at, r.updated_at, &r.note, &r.plugin_id, &r.version))
            .execute()
            .await?;
        Ok(())
    }
}
