use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A tenant's commercial plan. It sets the quotas the platform enforces (users, plugins, and the
/// per-invocation budgets of the plugin runtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// Trial and small teams.
    #[default]
    Starter,
    /// Most tenants.
    Business,
    /// Large tenants and white-label resellers.
    Enterprise,
}

/// Quotas derived from a [`Plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlanLimits {
    /// Maximum active users.
    pub max_users: u32,
    /// Maximum installed plugins.
    pub max_plugins: u32,
    /// Wall-clock deadline of one plugin invocation, in milliseconds.
    pub plugin_deadline_ms: u64,
    /// Linear memory one plugin instance may grow to, in bytes.
    pub plugin_memory_bytes: u64,
    /// Host calls one plugin invocation may make.
    pub plugin_host_calls: u32,
    /// Plugin invocations of the tenant running at once on one node (others wait their turn):
    /// one tenant's plugins can never take every core.
    pub plugin_concurrency: u32,
}

impl Plan {
    /// Every plan, cheapest first.
    pub const ALL: [Plan; 3] = [Plan::Starter, Plan::Business, Plan::Enterprise];

    /// The plan's key as stored and typed on the command line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Starter => "starter",
            Self::Business => "business",
            Self::Enterprise => "enterprise",
        }
    }

    /// The quotas of this plan.
    pub fn limits(&self) -> PlanLimits {
        match self {
            Self::Starter => PlanLimits {
                max_users: 25,
                max_plugins: 10,
                plugin_deadline_ms: 1_000,
                plugin_memory_bytes: 32 << 20,
                plugin_host_calls: 1_000,
                plugin_concurrency: 2,
            },
            Self::Business => PlanLimits {
                max_users: 500,
                max_plugins: 50,
                plugin_deadline_ms: 2_000,
                plugin_memory_bytes: 64 << 20,
                plugin_host_calls: 5_000,
                plugin_concurrency: 4,
            },
            Self::Enterprise => PlanLimits {
                max_users: 100_000,
                max_plugins: 500,
                plugin_deadline_ms: 5_000,
                plugin_memory_bytes: 128 << 20,
                plugin_host_calls: 20_000,
                plugin_concurrency: 8,
            },
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Plan {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ValidationError::new("plan", format!("`{s}` is not a plan; use starter, business or enterprise")))
    }
}
