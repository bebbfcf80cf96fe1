//! The mail outbox and tenant template overrides.

use async_trait::async_trait;
use socle_tenants::{Locale, TenantId};
use uuid::Uuid;

use super::{Mail, RenderedMail, TemplateText};
use crate::clock::SharedClock;
use crate::db::from_row;
use crate::db::{Db, Row, Scope};
use crate::error::StoreError;
use crate::jobs::NewJob;

/// Storage of mails.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// Stores a rendered mail and its send job in one transaction (nothing if the id exists).
    async fn queue(&self, tenant: TenantId, mail: &RenderedMail, job: &NewJob) -> Result<(), StoreError>;
    /// One mail.
    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Mail>, StoreError>;
    /// Marks a mail sent.
    async fn mark_sent(&self, tenant: TenantId, id: Uuid) -> Result<(), StoreError>;
    /// Records a failed attempt; `last` marks it failed for good.
    async fn mark_failed(&self, tenant: TenantId, id: Uuid, error: &str, last: bool) -> Result<(), StoreError>;
    /// The tenant's latest mails.
    async fn list(&self, tenant: TenantId, limit: i64) -> Result<Vec<Mail>, StoreError>;
    /// The tenant's override of a template.
    async fn template_override(&self, tenant: TenantId, key: &str, locale: Locale) -> Result<Option<TemplateText>, StoreError>;
    /// Sets (or with `None`, removes) the tenant's override of a template.
    async fn set_template_override(&self, tenant: TenantId, key: &str, locale: Locale, text: Option<&TemplateText>) -> Result<(), StoreError>;
}

fn mail(row: &Row) -> Result<Mail, StoreError> {
    Ok(from_row!(row => Mail { id, recipient, sender, subject, template, status, attempts, last_error, created_at, sent_at, html, text }))
}

/// Mails in the database.
pub struct SqlMailStore {
    db: Db,
    clock: SharedClock,
}

impl SqlMailStore {
    /// A store over this pool.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

#[async_trait]
impl MailStore for SqlMailStore {
    async fn queue(&self, tenant: TenantId, mail: &RenderedMail, job: &NewJob) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let inserted = tx
            .query(
                r#"INSERT INTO mails (id, tenant_id, recipient, sender, subject, template, locale, html, text, status, record_id, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11) ON CONFLICT (id) DO NOTHING"#,
            )
            .bind((
                mail.id,
                tenant,
                &mail.recipient,
                &mail.sender,
                &mail.subject,
                &mail.template,
                mail.locale.as_str(),
                &mail.html,
                &mail.text,
                mail.record_id,
                now,
            ))
            .execute(&mut tx)
            .await?;
        if inserted == 1 {
            crate::jobs::store::enqueue(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Mail>, StoreError> {
        let row = self.db.reading(Scope::Tenant(tenant), "SELECT * FROM mails WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).optional().await?;
        row.as_ref().map(mail).transpose()
    }

    async fn mark_sent(&self, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
        self.db
            .writing(
                Scope::Tenant(tenant),
                "UPDATE mails SET status = 'sent', sent_at = $3, attempts = attempts + 1, last_error = NULL WHERE tenant_id = $1 AND id = $2",
            )
            .bind((tenant, id, self.clock.now_ms()))
            .execute()
            .await?;
        Ok(())
    }

    async fn mark_failed(&self, tenant: TenantId, id: Uuid, error: &str, last: bool) -> Result<(), StoreError> {
        self.db
            .writing(Scope::Tenant(tenant), "UPDATE mails SET status = $3, attempts = attempts + 1, last_error = $4 WHERE tenant_id = $1 AND id = $2")
            .bind((tenant, id, if last { "failed" } else { "queued" }, error.chars().take(1000).collect::<String>()))
            .execute()
            .await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, limit: i64) -> Result<Vec<Mail>, StoreError> {
        self.db
            .reading(Scope::Tenant(tenant), "SELECT * FROM mails WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
            .bind((tenant, limit))
            .all_as(mail)
            .await
    }

    async fn template_override(&self, tenant: TenantId, key: &str, locale: Locale) -> Result<Option<TemplateText>, StoreError> {
        let row = self
            .db
            .reading(Scope::Tenant(tenant), "SELECT subject, html, text FROM mail_templates WHERE tenant_id = $1 AND key = $2 AND locale = $3")
            .bind((tenant, key, locale.as_str()))
            .optional()
            .await?;
        row.map(|r| Ok(TemplateText { subject: r.get("subject")?, html: r.get("html")?, text: r.get("text")? })).transpose()
    }

    async fn set_template_override(&self, tenant: TenantId, key: &str, locale: Locale, text: Option<&TemplateText>) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        match text {
            Some(t) => {
                tx.query(
                    r#"INSERT INTO mail_templates (tenant_id, key, locale, subject, html, text, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                       ON CONFLICT (tenant_id, key, locale) DO UPDATE SET subject = excluded.subject, html = excluded.html,
                       text = excluded.text, updated_at = excluded.updated_at"#,
                )
                .bind((tenant, key, locale.as_str(), &t.subject, &t.html, &t.text, self.clock.now_ms()))
                .execute(&mut tx)
                .await?;
            }
            None => {
                tx.query("DELETE FROM mail_templates WHERE tenant_id = $1 AND key = $2 AND locale = $3")
                    .bind((tenant, key, locale.as_str()))
                    .execute(&mut tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
