//! Storage queries behind partner analytics: install events per plugin (aggregates only).

use super::sql::SqlMarketplaceStore;
use crate::db::Scope;
use crate::error::StoreError;
use async_trait::async_trait;

/// Storage queries behind the analytics (platform scope, aggregates only).
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The plugin's install events since `since` (ms): time and kind.
    async fn plugin_events(&self, plugin: &str, since: i64) -> Result<Vec<(i64, String)>, StoreError>;
}

#[async_trait]
impl AnalyticsStore for SqlMarketplaceStore {
    async fn plugin_events(&self, plugin: &str, since: i64) -> Result<Vec<(i64, String)>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT at, kind FROM marketplace_events WHERE plugin_id = $1 AND at >= $2 ORDER BY at")
            .bind((plugin, since))
            .all_as(|r| Ok((r.get("at")?, r.get("kind")?)))
            .await
    }
}
