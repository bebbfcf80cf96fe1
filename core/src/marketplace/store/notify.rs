//! Storage of the notifications tenant administrators read.

use super::sql::SqlMarketplaceStore;
use crate::db::from_row;
use crate::db::{Row, Scope};
use crate::error::StoreError;
use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::TenantId;

/// One notification.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    /// Id.
    pub id: String,
    /// `update_available`, `updated`, `approval_waiting` or `rollback`.
    pub kind: String,
    /// Plugin.
    pub plugin_id: String,
    /// Version concerned.
    pub version: String,
    /// What happened, in words.
    pub message: String,
    /// Creation (ms).
    pub created_at: i64,
    /// When an administrator marked it read (ms).
    pub read_at: Option<i64>,
}

/// Storage of notifications.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Adds a notification to the tenant's list.
    async fn add_notification(&self, tenant: TenantId, notification: &Notification) -> Result<(), StoreError>;
    /// The tenant's notifications, newest first (unread ones only if asked).
    async fn notifications(&self, tenant: TenantId, unread_only: bool, limit: i64) -> Result<Vec<Notification>, StoreError>;
    /// Marks one read; false if the tenant has no such notification.
    async fn mark_read(&self, tenant: TenantId, id: &str, now: i64) -> Result<bool, StoreError>;
    /// Marks every one read; how many were unread.
    async fn mark_all_read(&self, tenant: TenantId, now: i64) -> Result<u64, StoreError>;
}

fn notification(r: &Row) -> Result<Notification, StoreError> {
    Ok(from_row!(r => Notification { id, kind, plugin_id, version, message, created_at, read_at }))
}

#[async_trait]
impl NotificationStore for SqlMarketplaceStore {
    async fn add_notification(&self, tenant: TenantId, n: &Notification) -> Result<(), StoreError> {
        self.db
            .writing(
                Scope::Tenant(tenant),
                "INSERT INTO tenant_notifications (id, tenant_id, kind, plugin_id, version, message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind((&n.id, tenant, &n.kind, &n.plugin_id, &n.version, &n.message, n.created_at))
            .execute()
            .await?;
        Ok(())
    }

    async fn notifications(&self, tenant: TenantId, unread_only: bool, limit: i64) -> Result<Vec<Notification>, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let sql = if unread_only {
            "SELECT * FROM tenant_notifications WHERE tenant_id = $1 AND read_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2"
        } else {
            "SELECT * FROM tenant_notifications WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        };
        let rows = tx.query(sql).bind(tenant).bind(limit).fetch_all(&mut tx).await?;
        tx.commit().await?;
        rows.iter().map(notification).collect()
    }

    async fn mark_read(&self, tenant: TenantId, id: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let found: Option<String> =
            tx.query("SELECT id FROM tenant_notifications WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).scalar(&mut tx).await?;
        tx.query("UPDATE tenant_notifications SET read_at = $1 WHERE tenant_id = $2 AND id = $3 AND read_at IS NULL")
            .bind((now, tenant, id))
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(found.is_some())
    }

    async fn mark_all_read(&self, tenant: TenantId, now: i64) -> Result<u64, StoreError> {
        let done = self
            .db
            .writing(Scope::Tenant(tenant), "UPDATE tenant_notifications SET read_at = $1 WHERE tenant_id = $2 AND read_at IS NULL")
            .bind((now, tenant))
            .execute()
            .await?;
        Ok(done)
    }
}
