//! Saved views: a user's named list settings (filters, search text, sort) for one collection,
//! so a list they use every day is one click away. Private to the user who saved it.

use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::TenantId;
use uuid::Uuid;

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
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let rows = tx
            .query("SELECT * FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND collection = $3 ORDER BY created_at, id")
            .bind(tenant)
            .bind(user)
            .bind(collection)
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(SavedView {
                    id: r.get("id")?,
                    user_id: r.get("user_id")?,
                    collection: r.get("collection")?,
                    name: r.get("name")?,
                    query: r.get("query")?,
                    created_at: r.get("created_at")?,
                })
            })
            .collect()
    }

    async fn save(&self, tenant: TenantId, view: &SavedView) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        tx.query(
            r#"INSERT INTO saved_views (id, tenant_id, user_id, collection, name, query, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant_id, user_id, collection, name) DO UPDATE SET query = excluded.query"#,
        )
        .bind(view.id)
        .bind(tenant)
        .bind(view.user_id)
        .bind(&view.collection)
        .bind(&view.name)
        .bind(&view.query)
        .bind(view.created_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete(&self, tenant: TenantId, user: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let done =
            tx.query("DELETE FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND id = $3").bind(tenant).bind(user).bind(id).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(done == 1)
    }
}
