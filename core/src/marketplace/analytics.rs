//! Partner analytics: for one plugin, installs and uninstalls per day, active tenants, versions
//! in use, error rate and p95 duration from the runtime receipts (uses, not the lifecycle calls
//! the platform makes at install, upgrade and uninstall), downloads. Aggregates only:
//! no tenant is ever named, and a partner asks only about its own plugins (the HTTP layer
//! checks ownership).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Marketplace;
pub use super::store::AnalyticsStore;

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

/// The period of analytics asked for: 30 days unless said, 1 to 366.
pub fn period_days(days: Option<u32>) -> Result<u32, socle_tenants::ValidationError> {
    let days = days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(socle_tenants::ValidationError::new("days", "give a period of 1 to 366 days"));
    }
    Ok(days)
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

fn rate(stats: crate::plugins::store::CallStats) -> f64 {
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
        let installed = self.plugins.store().installed_versions(plugin).await?;
        let mut names: BTreeMap<semver::Version, String> = BTreeMap::new();
        for version in installed.iter().map(|(v, _)| v.clone()).chain(self.plugins.store().called_versions(plugin, since).await?) {
            if let Ok(parsed) = semver::Version::parse(&version) {
                names.insert(parsed, version);
            }
        }
        let mut versions = Vec::new();
        for version in names.into_values().rev() {
            let stats = self.plugins.store().call_stats(plugin, Some(&version), since).await?;
            versions.push(VersionUse {
                tenants: installed.iter().find(|(v, _)| *v == version).map_or(0, |(_, n)| *n),
                invocations: stats.invocations,
                failures: stats.failures,
                error_rate: rate(stats),
                p95_us: stats.p95_us,
                version,
            });
        }
        let all = self.plugins.store().call_stats(plugin, None, since).await?;
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
