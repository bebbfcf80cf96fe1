//! The marketplace's tables in the database: one store value implementing every marketplace
//! storage trait.

use crate::clock::SharedClock;
use crate::db::Db;

/// The marketplace in the database (tenant tables under row-level security on PostgreSQL).
pub struct SqlMarketplaceStore {
    pub(super) db: Db,
    pub(super) clock: SharedClock,
}

impl SqlMarketplaceStore {
    /// A store over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}
