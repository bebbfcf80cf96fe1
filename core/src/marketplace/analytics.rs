//! Partner analytics: for one plugin, installs and uninstalls per day, active tenants, versions
//! in use, error rate and p95 duration from the runtime receipts (uses, not the lifecycle calls
//! the platform makes at install, upgrade and uninstall), downloads. Aggregates only:
//! no tenant is ever named, and a partner asks only about its own plugins (the HTTP layer
//! checks ownership).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::Serialize;

use super::Marketplace;
use super::store::SqlMarketplaceStore;
use crate::db::Scope;
use crate::error::StoreError;

const DAY_MS: i64 = 86_400_000;

/// One day of install events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    /// First installs.
    pub installs: i64,
    /// Uninstalls.
    pub uninstalls: i64,
    /// Upgrades.
    pub upgrades: i64,
    /// Rollbacks (to an older version).
    pub rollbacks: i64,
}

/// Calls of one version over the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionUse {
    /// Version.
    pub version: String,
    /// Tenants that have it installed now.
    pub tenants: i64,
    /// Invocations over the period.
    pub invocations: i64,
    /// Failed invocations (error or trap).
    pub failures: i64,
    /// Failures per invocation.
    pub error_rate: f64,
    /// 95th percentile duration, µs.
    pub p95_us: i64,
}

/// A plugin's analytics over a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analytics {
    /// Plugin.
    pub plugin: String,
    /// Days covered.
    pub days: u32,
    /// Tenants that have it installed now.
    pub active_tenants: i64,
    /// Package fetches over the period: installs, upgrades and rollbacks.
    pub downloads: i64,
    /// Install events per day, oldest first (every day of the period, zeros included).
    pub daily: Vec<Day>,
    /// Versions installed or called, newest first.
    pub versions: Vec<VersionUse>,
    /// Invocations over the period.
    pub invocations: i64,
    /// Failures per invocation over the period.
    pub error_rate: f64,
    /// 95th percentile duration over the period, µs.
    pub p95_us: i64,
}

/// Receipts of one version, summed up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// Invocations.
    pub invocations: i64,
    /// Failures.
    pub failures: i64,
    /// 95th percentile duration, µs.
    pub p95_us: i64,
}

/// Storage queries behind the analytics (platform scope, aggregates only).
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The plugin's install events since `since` (ms): time and kind.
    async fn plugin_events(&self, plugin: &str, since: i64) -> Result<Vec<(i64, String)>, StoreError>;
    /// Tenants per installed version.
    async fn installed_versions(&self, plugin: &str) -> Result<Vec<(String, i64)>, StoreError>;
    /// Receipt statistics since `since`, of one version or (`None`) all.
    async fn call_stats(&self, plugin: &str, version: Option<&str>, since: i64) -> Result<CallStats, StoreError>;
    /// Versions that have receipts since `since`.
    async fn called_versions(&self, plugin: &str, since: i64) -> Result<Vec<String>, StoreError>;
}

/// Puts events into one bucket per day from `from_day` (days since the epoch) for `days` days.
pub fn daily(events: &[(i64, String)], from_day: i64, days: u32) -> Vec<Day> {
    let mut buckets: Vec<Day> = (0..i64::from(days)).map(|d| Day { date: date(from_day + d), ..Day::default() }).collect();
    for (at, kind) in events {
        let Ok(index) = usize::try_from(at.div_euclid(DAY_MS) - from_day) else { continue };
        let Some(day) = buckets.get_mut(index) else { continue };
        match kind.as_str() {
            "installed" => day.installs += 1,
            "uninstalled" => day.uninstalls += 1,
            "upgraded" => day.upgrades += 1,
            "rolled_back" => day.rollbacks += 1,
            _ => {}
        }
    }
    buckets
}

fn date(day: i64) -> String {
    chrono::DateTime::from_timestamp_millis(day * DAY_MS).map_or_else(|| day.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn rate(stats: CallStats) -> f64 {
    if stats.invocations == 0 { 0.0 } else { stats.failures as f64 / stats.invocations as f64 }
}

impl Marketplace {
    /// The analytics of `plugin` over the last `days` days (today included).
    pub async fn plugin_analytics(&self, plugin: &str, days: u32) -> anyhow::Result<Analytics> {
        let today = self.now_ms().div_euclid(DAY_MS);
        let from_day = today - i64::from(days) + 1;
        let since = from_day * DAY_MS;
        let events = self.store.plugin_events(plugin, since).await?;
        let daily = daily(&events, from_day, days);
        let installed = self.store.installed_versions(plugin).await?;
        let mut names: BTreeMap<semver::Version, String> = BTreeMap::new();
        for version in installed.iter().map(|(v, _)| v.clone()).chain(self.store.called_versions(plugin, since).await?) {
            if let Ok(parsed) = semver::Version::parse(&version) {
                names.insert(parsed, version);
            }
        }
        let mut versions = Vec::new();
        for version in names.into_values().rev() {
            let stats = self.store.call_stats(plugin, Some(&version), since).await?;
            versions.push(VersionUse {
                tenants: installed.iter().find(|(v, _)| *v == version).map_or(0, |(_, n)| *n),
                invocations: stats.invocations,
                failures: stats.failures,
                error_rate: rate(stats),
                p95_us: stats.p95_us,
                version,
            });
        }
        let all = self.store.call_stats(plugin, None, since).await?;
        Ok(Analytics {
            plugin: plugin.into(),
            days,
            active_tenants: installed.iter().map(|(_, n)| n).sum(),
            downloads: daily.iter().map(|d| d.installs + d.upgrades + d.rollbacks).sum(),
            daily,
            versions,
            invocations: all.invocations,
            error_rate: rate(all),
            p95_us: all.p95_us,
        })
    }
}

#[async_trait]
impl AnalyticsStore for SqlMarketplaceStore {
    async fn plugin_events(&self, plugin: &str, since: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let rows = tx
            .query("SELECT at, kind FROM marketplace_events WHERE plugin_id = $1 AND at >= $2 ORDER BY at")
            .bind(plugin)
            .bind(since)
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(|r| Ok((r.get("at")?, r.get("kind")?))).collect()
    }

    async fn installed_versions(&self, plugin: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let rows = tx.query("SELECT version, COUNT(*) AS n FROM plugin_installs WHERE plugin_id = $1 GROUP BY version").bind(plugin).fetch_all(&mut tx).await?;
        tx.commit().await?;
        rows.iter().map(|r| Ok((r.get("version")?, r.get("n")?))).collect()
    }

    async fn called_versions(&self, plugin: &str, since: i64) -> Result<Vec<String>, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let rows = tx
            .query("SELECT DISTINCT version FROM plugin_receipts WHERE plugin_id = $1 AND started_at >= $2 AND kind <> 'lifecycle'")
            .bind(plugin)
            .bind(since)
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(|r| Ok(r.get("version")?)).collect()
    }

    async fn call_stats(&self, plugin: &str, version: Option<&str>, since: i64) -> Result<CallStats, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let filter = "plugin_id = $1 AND started_at >= $2 AND kind <> 'lifecycle' AND ($3 IS NULL OR version = $3)";
        let row = tx
            .query_built(format!(
                "SELECT COUNT(*) AS calls, COALESCE(SUM(CASE WHEN outcome = 'ok' THEN 0 ELSE 1 END), 0) AS failures FROM plugin_receipts WHERE {filter}"
            ))
            .bind(plugin)
            .bind(since)
            .bind(version)
            .fetch_one(&mut tx)
            .await?;
        let invocations: i64 = row.get("calls")?;
        let failures: i64 = row.get("failures")?;
        // Nearest-rank percentile: the value at rank ceil(0.95 n), the same on both backends.
        let p95_us = if invocations == 0 {
            0
        } else {
            let offset = (invocations * 95 + 99) / 100 - 1;
            tx.query_built(format!("SELECT duration_us FROM plugin_receipts WHERE {filter} ORDER BY duration_us LIMIT 1 OFFSET $4"))
                .bind(plugin)
                .bind(since)
                .bind(version)
                .bind(offset)
                .fetch_one(&mut tx)
                .await?
                .at(0)?
        };
        tx.commit().await?;
        Ok(CallStats { invocations, failures, p95_us })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fall_in_their_utc_day_and_every_day_is_there() {
        let day = 20_000; // 2024-10-04
        let events = vec![
            (day * DAY_MS + 5, "installed".to_owned()),
            (day * DAY_MS + DAY_MS - 1, "installed".to_owned()),
            ((day + 2) * DAY_MS, "uninstalled".to_owned()),
            ((day + 2) * DAY_MS + 10, "upgraded".to_owned()),
            ((day + 2) * DAY_MS + 11, "rolled_back".to_owned()),
            ((day - 1) * DAY_MS, "installed".to_owned()),
            ((day + 3) * DAY_MS, "installed".to_owned()),
        ];
        let days = daily(&events, day, 3);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0], Day { date: "2024-10-04".into(), installs: 2, ..Day::default() });
        assert_eq!(days[1], Day { date: "2024-10-05".into(), ..Day::default() });
        assert_eq!(days[2], Day { date: "2024-10-06".into(), installs: 0, uninstalls: 1, upgrades: 1, rollbacks: 1 });
    }
}
