//! Saved views: a user's named list settings (filters, search text, sort) for one collection,
//! so a list they use every day is one click away. Private to the user who saved it.

use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::TenantId;
use sqlx::{PgPool, Row as _, SqlitePool};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::db::Scope;
use crate::db::postgres::begin;
use crate::error::StoreError;
use crate::util::parse_uuid;

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

/// Saved views on SQLite.
pub struct SqliteSavedViews {
    pool: SqlitePool,
}

impl SqliteSavedViews {
    /// A store over this pool.
    pub fn new(pool: SqlitePool, _clock: SharedClock) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SavedViewStore for SqliteSavedViews {
    async fn list(&self, tenant: TenantId, user: Uuid, collection: &str) -> Result<Vec<SavedView>, StoreError> {
        let rows = sqlx::query("SELECT * FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND collection = $3 ORDER BY created_at, id")
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(collection)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SavedView {
                    id: parse_uuid(&r.try_get::<String, _>("id")?)?,
                    user_id: parse_uuid(&r.try_get::<String, _>("user_id")?)?,
                    collection: r.try_get("collection")?,
                    name: r.try_get("name")?,
                    query: r.try_get("query")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn save(&self, tenant: TenantId, view: &SavedView) -> Result<(), StoreError> {
        sqlx::query(
            r#"INSERT INTO saved_views (id, tenant_id, user_id, collection, name, query, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant_id, user_id, collection, name) DO UPDATE SET query = excluded.query"#,
        )
        .bind(view.id.to_string())
        .bind(tenant.to_string())
        .bind(view.user_id.to_string())
        .bind(&view.collection)
        .bind(&view.name)
        .bind(&view.query)
        .bind(view.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete(&self, tenant: TenantId, user: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND id = $3")
            .bind(tenant.to_string())
            .bind(user.to_string())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Saved views on PostgreSQL (row-level security scopes every statement to the tenant).
pub struct PgSavedViews {
    pool: PgPool,
}

impl PgSavedViews {
    /// A store over this pool.
    pub fn new(pool: PgPool, _clock: SharedClock) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SavedViewStore for PgSavedViews {
    async fn list(&self, tenant: TenantId, user: Uuid, collection: &str) -> Result<Vec<SavedView>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query("SELECT * FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND collection = $3 ORDER BY created_at, id")
            .bind(tenant.as_uuid())
            .bind(user)
            .bind(collection)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(SavedView {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    collection: r.try_get("collection")?,
                    name: r.try_get("name")?,
                    query: r.try_get("query")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn save(&self, tenant: TenantId, view: &SavedView) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        sqlx::query(
            r#"INSERT INTO saved_views (id, tenant_id, user_id, collection, name, query, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant_id, user_id, collection, name) DO UPDATE SET query = excluded.query"#,
        )
        .bind(view.id)
        .bind(tenant.as_uuid())
        .bind(view.user_id)
        .bind(&view.collection)
        .bind(&view.name)
        .bind(&view.query)
        .bind(view.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete(&self, tenant: TenantId, user: Uuid, id: Uuid) -> Result<bool, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let done = sqlx::query("DELETE FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND id = $3")
            .bind(tenant.as_uuid())
            .bind(user)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
