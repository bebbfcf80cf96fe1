//! Pricing and revenue: entitlement at call, the monthly charge into an append-only ledger, and
//! each partner's monthly statement (JSON and CSV) with the platform's commission and the
//! reseller's share. The arithmetic is `socle_marketplace::billing`'s; this module stores it.
//!
//! A plugin is free, monthly per tenant, or per use (counted from the runtime receipts). A
//! tenant is entitled to a paid plugin when it accepted its price at install (its `tenant.toml`
//! want says `subscribed`): the resolver checks it at install, [`entitled`] at every call. On the
//! first of each month a job charges the month before: one `subscription` entry per tenant that
//! has a monthly plugin, one `usage` entry per tenant that called a per-use one. Entries are
//! never changed or deleted (the database refuses it); charging a month twice adds nothing.

use std::sync::Arc;

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{Datelike as _, TimeZone as _};
use socle_marketplace::billing::{self, Charge, Statement};
use socle_marketplace::manifest::{Manifest, Pricing};
use socle_tenants::TenantId;

use super::Marketplace;
pub use super::store::{BillingStore, Entry};
use crate::jobs::{Job, JobFailure, JobHandler};

/// The monthly charge job (payload `{"period": "YYYY-MM"}`, default: the previous month).
pub const CHARGE_JOB: &str = "marketplace.billing.charge";

/// Its schedule: the first of each month.
pub const CHARGE_CRON: &str = "5 0 1 * *";

/// Which paid plugins each tenant subscribed to, for the plugin runtime: a plugin is free, or
/// the tenant accepted its price when asking for it (its wants say `subscribed`). A plugin not
/// asked for through the marketplace (a dependency the resolver already checked, a platform
/// install such as the smoke run) is not sold to the tenant: nothing to check.
pub struct Subscriptions {
    store: Arc<dyn super::MarketplaceStore>,
}

impl Subscriptions {
    /// Subscriptions read from the tenants' stored wants.
    pub fn new(store: Arc<dyn super::MarketplaceStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl crate::plugins::Entitlements for Subscriptions {
    async fn entitled(&self, tenant: TenantId, plugins: &[(&str, &Pricing)]) -> anyhow::Result<std::collections::HashSet<String>> {
        let mut entitled: std::collections::HashSet<String> =
            plugins.iter().filter(|(_, pricing)| matches!(pricing, Pricing::Free)).map(|(id, _)| (*id).to_owned()).collect();
        if entitled.len() == plugins.len() {
            return Ok(entitled);
        }
        let wants: super::Wants = match self.store.tenant_lock(tenant).await? {
            Some(stored) => serde_json::from_str(&stored.wants)?,
            None => super::Wants::new(),
        };
        for (id, _) in plugins {
            if wants.get(*id).is_none_or(|w| w.subscribed) {
                entitled.insert((*id).to_owned());
            }
        }
        Ok(entitled)
    }
}

impl Marketplace {
    /// Whether `tenant` may call `plugin` as far as its price goes (see [`Subscriptions`]).
    pub async fn entitled(&self, tenant: TenantId, plugin: &str, pricing: &Pricing) -> anyhow::Result<bool> {
        use crate::plugins::Entitlements as _;
        Ok(Subscriptions::new(self.store.clone()).entitled(tenant, &[(plugin, pricing)]).await?.contains(plugin))
    }
}

/// A statement period: `YYYY-MM`, or what to fix.
pub fn check_period(period: &str) -> Result<(), socle_tenants::ValidationError> {
    match month_bounds(period) {
        Some(_) => Ok(()),
        None => Err(socle_tenants::ValidationError::new("period", format!("`{period}` is not a month: write YYYY-MM, e.g. 2026-11"))),
    }
}

/// `YYYY-MM` → its first and last-plus-one millisecond (UTC).
pub fn month_bounds(period: &str) -> Option<(i64, i64)> {
    let (year, month) = period.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let (year, month): (i32, u32) = (year.parse().ok()?, month.parse().ok()?);
    let start = chrono::Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()?;
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    let end = chrono::Utc.with_ymd_and_hms(next_year, next_month, 1, 0, 0, 0).single()?;
    Some((start.timestamp_millis(), end.timestamp_millis()))
}

/// The month containing `now` (ms), as `YYYY-MM`.
pub fn month_of(now: i64) -> String {
    let date = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
    format!("{:04}-{:02}", date.year(), date.month())
}

/// The month before the one containing `now` (ms), as `YYYY-MM`.
pub fn previous_month(now: i64) -> String {
    let date = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
    let (year, month) = if date.month() == 1 { (date.year() - 1, 12) } else { (date.year(), date.month() - 1) };
    format!("{year:04}-{month:02}")
}

impl Marketplace {
    /// Charges `period`: monthly plugins to the entitled tenants that have them installed now, per-use
    /// plugins to the tenants that called them during the month. Idempotent; returns the entries
    /// added.
    pub async fn charge_month(&self, period: &str) -> anyhow::Result<Vec<Entry>> {
        let (from, to) = month_bounds(period).ok_or_else(|| anyhow::anyhow!("`{period}` is not a month: write YYYY-MM"))?;
        let mut latest: BTreeMap<String, (semver::Version, super::store::VersionRow)> = BTreeMap::new();
        for row in self.store.listed().await? {
            let Ok(version) = semver::Version::parse(&row.version) else { continue };
            if latest.get(&row.plugin_id).is_none_or(|(v, _)| *v < version) {
                latest.insert(row.plugin_id.clone(), (version, row));
            }
        }
        let mut added = Vec::new();
        for (plugin, (_, row)) in latest {
            let Ok(manifest) = Manifest::parse(&row.manifest) else { continue };
            let mut charges: Vec<(TenantId, &'static str, i64, i64, i64, String)> = Vec::new();
            match &manifest.pricing {
                Pricing::Free => continue,
                Pricing::Monthly { cents, currency } => {
                    let cents = i64::try_from(*cents)?;
                    for (tenant, _) in self.plugins.store().installs_of(&plugin).await? {
                        if !self.entitled(tenant, &plugin, &manifest.pricing).await? {
                            continue;
                        }
                        charges.push((tenant, "subscription", 1, cents, cents, currency.clone()));
                    }
                }
                Pricing::PerUse { millicents, currency } => {
                    let mut per_tenant: BTreeMap<TenantId, i64> = BTreeMap::new();
                    for (tenant, _, calls) in self.plugins.store().calls_by_tenant(&plugin, from, to).await? {
                        *per_tenant.entry(tenant).or_default() += calls;
                    }
                    for (tenant, calls) in per_tenant {
                        let amount = billing::usage_cents(u64::try_from(calls)?, *millicents);
                        charges.push((tenant, "usage", calls, i64::try_from(*millicents)?, i64::try_from(amount)?, currency.clone()));
                    }
                }
            }
            for (tenant, kind, quantity, unit_price, amount_cents, currency) in charges {
                let entry = Entry {
                    id: uuid::Uuid::now_v7().to_string(),
                    period: period.into(),
                    tenant,
                    plugin_id: plugin.clone(),
                    publisher_id: row.publisher_id.clone(),
                    kind: kind.into(),
                    quantity,
                    unit_price,
                    amount_cents,
                    currency,
                    reseller: self.store.reseller(tenant).await?,
                    created_at: self.now_ms(),
                };
                if self.store.append_entry(&entry).await? {
                    added.push(entry);
                }
            }
        }
        tracing::info!(period, entries = added.len(), "marketplace month charged");
        Ok(added)
    }

    /// A publisher's statement of `period` (one currency per statement: the first entry's).
    pub async fn statement(&self, publisher: &str, period: &str) -> anyhow::Result<Statement> {
        month_bounds(period).ok_or_else(|| anyhow::anyhow!("`{period}` is not a month: write YYYY-MM"))?;
        let entries = self.store.entries(publisher, period).await?;
        let currency = entries.first().map_or_else(|| "EUR".to_owned(), |e| e.currency.clone());
        let charges = entries
            .into_iter()
            .map(|e| Charge {
                plugin: e.plugin_id,
                kind: e.kind,
                quantity: u64::try_from(e.quantity).unwrap_or(0),
                gross: u64::try_from(e.amount_cents).unwrap_or(0),
                reseller: e.reseller,
            })
            .collect();
        let market = &self.settings.marketplace;
        billing::validate_tiers(&market.commission_tiers).map_err(|e| anyhow::anyhow!("marketplace.commission_tiers: {e}"))?;
        Ok(billing::statement(period, publisher, &currency, charges, &market.commission_tiers, market.reseller_share_bp))
    }
}

/// Runs [`charge`].
pub(crate) struct ChargeMonth(pub(crate) Arc<Marketplace>);

#[async_trait]
impl JobHandler for ChargeMonth {
    async fn run(&self, job: &Job) -> Result<(), JobFailure> {
        let period = job.payload.get("period").and_then(serde_json::Value::as_str).map_or_else(|| previous_month(self.0.now_ms()), str::to_owned);
        self.0.charge_month(&period).await.map_err(|e| JobFailure::Retry(format!("{e:#}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_have_bounds_and_a_previous_one() {
        let (from, to) = month_bounds("2026-02").unwrap();
        assert_eq!(to - from, 28 * 86_400_000);
        assert_eq!(month_bounds("2026-12").unwrap().1, month_bounds("2027-01").unwrap().0);
        assert!(month_bounds("2026-13").is_none());
        assert!(month_bounds("26-01").is_none());
        assert!(month_bounds("2026-1").is_none());
        assert_eq!(previous_month(month_bounds("2027-01").unwrap().0 + 5), "2026-12");
        assert_eq!(previous_month(month_bounds("2026-11").unwrap().0), "2026-10");
    }
}
