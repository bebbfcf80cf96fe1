//! What the marketplace tells a tenant's administrators — an update applied or available, an
//! approval waiting, a rollback — stored per tenant (listed and marked read in the portal) and
//! mailed to each administrator.

use socle_tenants::{Permission, TenantId};

use super::Marketplace;
pub use super::store::{Notification, NotificationStore};

impl Marketplace {
    /// Tells each tenant that has `plugin` at an older version, and may have `version` (no rollout
    /// holds it back from it), that `version` is available.
    pub async fn notify_update_available(&self, plugin: &str, version: &str) {
        let Ok(target) = semver::Version::parse(version) else { return };
        let (rollouts, installs) = match (self.store.rollouts(Some(plugin)).await, self.plugins.store().installs_of(plugin).await) {
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
