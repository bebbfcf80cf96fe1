//! Storage of the billing ledger and of resellers.

use super::sql::SqlMarketplaceStore;
use crate::db::Scope;
use crate::db::from_row;
use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::TenantId;

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Id.
    pub id: String,
    /// `YYYY-MM`.
    pub period: String,
    /// Tenant charged.
    #[serde(skip)]
    pub tenant: TenantId,
    /// Plugin.
    pub plugin_id: String,
    /// Its publisher.
    pub publisher_id: String,
    /// `subscription` or `usage`.
    pub kind: String,
    /// Months or calls.
    pub quantity: i64,
    /// Cents per month, or millicents per call.
    pub unit_price: i64,
    /// Cents.
    pub amount_cents: i64,
    /// ISO 4217.
    pub currency: String,
    /// Reseller whose customer the tenant is.
    pub reseller: Option<String>,
    /// Creation (ms).
    pub created_at: i64,
}

/// Storage of the ledger and of resellers.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Appends an entry; false if the tenant was already charged for this plugin, kind and month.
    async fn append_entry(&self, entry: &Entry) -> Result<bool, StoreError>;
    /// A publisher's entries of a month.
    async fn entries(&self, publisher: &str, period: &str) -> Result<Vec<Entry>, StoreError>;
    /// Makes `tenant` a customer of white-label reseller `reseller` (`None`: direct).
    async fn set_reseller(&self, tenant: TenantId, reseller: Option<&str>) -> Result<(), StoreError>;
    /// The tenant's reseller.
    async fn reseller(&self, tenant: TenantId) -> Result<Option<String>, StoreError>;
}

#[async_trait]
impl BillingStore for SqlMarketplaceStore {
    async fn append_entry(&self, e: &Entry) -> Result<bool, StoreError> {
        let done = self.db.writing(Scope::Tenant(e.tenant),
            "INSERT INTO marketplace_ledger (id, period, tenant_id, plugin_id, publisher_id, kind, quantity, unit_price, amount_cents, currency, reseller, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (period, tenant_id, plugin_id, kind) DO NOTHING",
        )
        .bind((&e.id, &e.period, e.tenant, &e.plugin_id, &e.publisher_id, &e.kind, e.quantity, e.unit_price, e.amount_cents, &e.currency, &e.reseller, e.created_at))
        .execute()
        .await?;
        Ok(done == 1)
    }

    async fn entries(&self, publisher: &str, period: &str) -> Result<Vec<Entry>, StoreError> {
        let rows = self
            .db
            .reading(Scope::Platform, "SELECT * FROM marketplace_ledger WHERE publisher_id = $1 AND period = $2 ORDER BY plugin_id, kind, created_at, id")
            .bind((publisher, period))
            .all()
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(from_row!(r => Entry {
                    id, period, tenant = r.get::<TenantId>("tenant_id")?, plugin_id, publisher_id, kind, quantity, unit_price, amount_cents, currency,
                    reseller, created_at
                }))
            })
            .collect()
    }

    async fn set_reseller(&self, tenant: TenantId, reseller: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        tx.query("DELETE FROM tenant_resellers WHERE tenant_id = $1").bind(tenant).execute(&mut tx).await?;
        if let Some(reseller) = reseller {
            tx.query("INSERT INTO tenant_resellers (tenant_id, reseller, created_at) VALUES ($1, $2, $3)")
                .bind((tenant, reseller, self.clock.now_ms()))
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn reseller(&self, tenant: TenantId) -> Result<Option<String>, StoreError> {
        let reseller = self.db.reading(Scope::Tenant(tenant), "SELECT reseller FROM tenant_resellers WHERE tenant_id = $1").bind(tenant).scalar().await?;
        Ok(reseller)
    }
}
