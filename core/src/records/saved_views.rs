//! Saved views: a user's named list settings (filters, search text, sort) for one collection,
//! so a list they use every day is one click away. Private to the user who saved it.

use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::TenantId;
use uuid::Uuid;

use crate::db::from_row;
use crate::db::{Db, Scope};
use crate::error::StoreError;

/// Views a user keeps per collection at most.
pub const MAX_PER_COLLECTION: usize = 30;

/// A saved view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedView {
    /// Id.
    pub id: Uuid,
    /// Its owner.
    pub user_id: Uuid,
    /// The collection it lists.
    pub collection: String,
    /// Its name, as the user typed it.
    pub name: String,
    /// The list's URL parameters (`q=…&f.status=…&sort=…`).
    pub query: String,
    /// Creation time (ms).
    pub created_at: i64,
}

/// Storage of saved views.
#[async_trait]
pub trait SavedViewStore: Send + Sync {
    /// A user's views of a collection, oldest first.
    async fn list(&self, tenant: TenantId, user: Uuid, collection: &str) -> Result<Vec<SavedView>, StoreError>;
    /// Saves a view (a view of the same name is replaced).
    async fn save(&self, tenant: TenantId, view: &SavedView) -> Result<(), StoreError>;
    /// Deletes one of the user's views; false if they have no such view.
    async fn delete(&self, tenant: TenantId, user: Uuid, id: Uuid) -> Result<bool, StoreError>;
}

/// Saved views in the database.
pub struct SqlSavedViews {
    db: Db,
}

impl SqlSavedViews {
    /// A store over `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SavedViewStore for SqlSavedViews {
    async fn list(&self, tenant: TenantId, user: Uuid, collection: &str) -> Result<Vec<SavedView>, StoreError> {
        self.db
            .reading(Scope::Tenant(tenant), "SELECT * FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND collection = $3 ORDER BY created_at, id")
            .bind((tenant, user, collection))
            .all_as(|r| Ok(from_row!(r => SavedView { id, user_id, collection, name, query, created_at })))
            .await
    }

    async fn save(&self, tenant: TenantId, view: &SavedView) -> Result<(), StoreError> {
        self.db
            .writing(
                Scope::Tenant(tenant),
                r#"INSERT INTO saved_views (id, tenant_id, user_id, collection, name, query, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant_id, user_id, collection, name) DO UPDATE SET query = excluded.query"#,
            )
            .bind((view.id, tenant, view.user_id, &view.collection, &view.name, &view.query, view.created_at))
            .execute()
            .await?;
        Ok(())
    }

    async fn delete(&self, tenant: TenantId, user: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let done = self
            .db
            .writing(Scope::Tenant(tenant), "DELETE FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND id = $3")
            .bind((tenant, user, id))
            .execute()
            .await?;
        Ok(done == 1)
    }
}
