//! Storage of the marketplace, one part per concern, all served by [`SqlMarketplaceStore`]; the
//! marketplace holds it as one [`MarketplaceStore`]. Only the marketplace's own tables are read
//! here: installs and receipts belong to the plugins' store.

pub mod analytics;
pub mod billing;
pub mod core;
pub mod notify;
pub mod retention;
pub mod rollout;
mod sql;

pub use analytics::AnalyticsStore;
pub use billing::{BillingStore, Entry};
pub use core::{
    Approval, CoreStore, Inserted, Operation, Publisher, PublisherKey, Rating, Retained, RetentionChange, Review, TenantLock, TokenInfo, VersionRow,
};
pub use notify::{Notification, NotificationStore};
pub use retention::{ExportedRecord, PluginData, Purged, Retention, RetentionStore};
pub use rollout::{Rollout, RolloutStore};
pub use sql::SqlMarketplaceStore;

/// Every part of the marketplace's storage.
pub trait MarketplaceStore: CoreStore + RetentionStore + RolloutStore + NotificationStore + AnalyticsStore + BillingStore {}

impl<T: CoreStore + RetentionStore + RolloutStore + NotificationStore + AnalyticsStore + BillingStore> MarketplaceStore for T {}
