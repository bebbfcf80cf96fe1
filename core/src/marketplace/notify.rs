//! What the marketplace tells a tenant's administrators — an update applied or available, an
//! approval waiting, a rollback — stored per tenant (listed and marked read in the portal) and
//! mailed to each administrator.

use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::{Permission, TenantId};

use super::Marketplace;
use super::store::SqlMarketplaceStore;
use crate::db::{Row, Scope};
use crate::error::StoreError;

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

impl Marketplace {
    /// Tells each tenant that has `plugin` at an older version, and may have `version` (no rollout
    /// holds it back from it), that `version` is available.
    pub async fn notify_update_available(&self, plugin: &str, version: &str) {
        let Ok(target) = semver::Version::parse(version) else { return };
        let (rollouts, installs) = match (self.store.rollouts(Some(plugin)).await, self.store.installs_of(plugin).await) {
            (Ok(rollouts), Ok(installs)) => (rollouts, installs),
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!(plugin.id = %plugin, error = %err, "update notifications not sent");
                return;
            }
        };
        for (tenant, installed) in installs {
            let older = semver::Version::parse(&installed).is_ok_and(|v| v < target);
            if older && !rollouts.iter().any(|r| r.version == version && r.holds_back(tenant)) {
                self.notify(tenant, "update_available", plugin, version, format!("{plugin} {version} est disponible ; vous avez {installed}.")).await;
            }
        }
    }

    /// Stores a notification for `tenant` and mails it to its administrators. Never fails the
    /// change it reports: a failure is logged.
    pub async fn notify(&self, tenant: TenantId, kind: &str, plugin: &str, version: &str, message: String) {
        if let Err(err) = self.try_notify(tenant, kind, plugin, version, message).await {
            tracing::warn!(tenant.id = %tenant, plugin.id = %plugin, error = format!("{err:#}"), "marketplace notification not delivered");
        }
    }

    async fn try_notify(&self, tenant_id: TenantId, kind: &str, plugin: &str, version: &str, message: String) -> anyhow::Result<()> {
        let notification = Notification {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.into(),
            plugin_id: plugin.into(),
            version: version.into(),
            message,
            created_at: self.now_ms(),
            read_at: None,
        };
        self.store.add_notification(tenant_id, &notification).await?;
        let Some(tenant) = self.tenants.get(tenant_id).await? else { return Ok(()) };
        let subject = match kind {
            "update_available" => format!("Mise à jour disponible : {plugin} {version}"),
            "updated" => format!("Extension mise à jour : {plugin} {version}"),
            "approval_waiting" => format!("Autorisation en attente : {plugin} {version}"),
            _ => format!("Extension revenue en arrière : {plugin}"),
        };
        let vars = serde_json::json!({ "subject": subject, "message": notification.message });
        for email in self.administrators(tenant_id).await? {
            let dedupe = format!("marketplace:{}:{email}", notification.id);
            let request = crate::mail::MailRequest {
                recipient: &email,
                template: "notification",
                locale: tenant.locale,
                vars: &vars,
                record_id: None,
                dedupe: Some(&dedupe),
            };
            self.mailer.queue(&tenant, request).await?;
        }
        Ok(())
    }

    /// Addresses of the tenant's active users who may administer it.
    async fn administrators(&self, tenant: TenantId) -> anyhow::Result<Vec<String>> {
        let mut emails = Vec::new();
        for user in self.users.list(tenant).await? {
            if user.status == crate::identity::UserStatus::Active && self.authz.has_permission(tenant, user.id, Permission::Administrer.as_str()).await? {
                emails.push(user.email);
            }
        }
        Ok(emails)
    }
}

fn notification(r: &Row) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: r.get::<String>("id")?,
        kind: r.get::<String>("kind")?,
        plugin_id: r.get::<String>("plugin_id")?,
        version: r.get::<String>("version")?,
        message: r.get::<String>("message")?,
        created_at: r.get::<i64>("created_at")?,
        read_at: r.get::<Option<i64>>("read_at")?,
    })
}

#[async_trait]
impl NotificationStore for SqlMarketplaceStore {
    async fn add_notification(&self, tenant: TenantId, n: &Notification) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        tx.query("INSERT INTO tenant_notifications (id, tenant_id, kind, plugin_id, version, message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&n.id)
            .bind(tenant)
            .bind(&n.kind)
            .bind(&n.plugin_id)
            .bind(&n.version)
            .bind(&n.message)
            .bind(n.created_at)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
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
            .bind(now)
            .bind(tenant)
            .bind(id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(found.is_some())
    }

    async fn mark_all_read(&self, tenant: TenantId, now: i64) -> Result<u64, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let done =
            tx.query("UPDATE tenant_notifications SET read_at = $1 WHERE tenant_id = $2 AND read_at IS NULL").bind(now).bind(tenant).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(done)
    }
}
