//! The marketplace on the server: publisher accounts (API tokens, signing keys), the publishing
//! pipeline and review queue, each tenant's resolved plugin set applied atomically, the approval
//! inbox, the catalogue with reviews and install numbers, the data uninstalls leave behind,
//! progressive rollouts with their kill switch, partner analytics, pricing and revenue, and
//! notifications to tenant administrators. The domain (package format,
//! signatures, resolution, lockfiles) lives in `socle-marketplace`; this module stores it and
//! drives the plugin runtime.

pub mod analytics;
pub mod apply;
pub mod approvals;
pub mod billing;
pub mod catalogue;
pub mod notify;
pub mod publish;
pub mod publishers;
pub mod retention;
pub mod rollout;
pub mod store;

pub use apply::{ApplyError, Change, Target, Wants};
pub use store::MarketplaceStore;
