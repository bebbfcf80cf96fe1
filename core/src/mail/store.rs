//! The mail outbox and tenant template overrides, on each backend.

use async_trait::async_trait;
use socle_tenants::{Locale, TenantId};
use sqlx::{PgPool, Row as _, SqlitePool};
use uuid::Uuid;

use super::{Mail, RenderedMail, TemplateText};
use crate::clock::SharedClock;
use crate::db::Scope;
use crate::db::postgres::begin;
use crate::error::StoreError;
use crate::jobs::NewJob;
use crate::util::parse_uuid;

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

macro_rules! mail_from_row {
    ($row:expr, $id:expr) => {
        Mail {
            id: $id,
            recipient: $row.try_get("recipient")?,
            sender: $row.try_get("sender")?,
            subject: $row.try_get("subject")?,
            template: $row.try_get("template")?,
            status: $row.try_get("status")?,
            attempts: $row.try_get("attempts")?,
            last_error: $row.try_get("last_error")?,
            created_at: $row.try_get("created_at")?,
            sent_at: $row.try_get("sent_at")?,
            html: $row.try_get("html")?,
            text: $row.try_get("text")?,
        }
    };
}

/// Mails on SQLite.
pub struct SqliteMailStore {
    pool: SqlitePool,
    clock: SharedClock,
}

impl SqliteMailStore {
    /// A store over this pool.
    pub fn new(pool: SqlitePool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

#[async_trait]
impl MailStore for SqliteMailStore {
    async fn queue(&self, tenant: TenantId, mail: &RenderedMail, job: &NewJob) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let inserted = sqlx::query(
            r#"INSERT INTO mails (id, tenant_id, recipient, sender, subject, template, locale, html, text, status, record_id, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11) ON CONFLICT (id) DO NOTHING"#,
        )
        .bind(mail.id.to_string())
        .bind(tenant.to_string())
        .bind(&mail.recipient)
        .bind(&mail.sender)
        .bind(&mail.subject)
        .bind(&mail.template)
        .bind(mail.locale.as_str())
        .bind(&mail.html)
        .bind(&mail.text)
        .bind(mail.record_id.map(|r| r.to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            crate::jobs::sqlite::enqueue(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Mail>, StoreError> {
        let row = sqlx::query("SELECT * FROM mails WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(mail_from_row!(r, parse_uuid(&r.try_get::<String, _>("id")?)?))).transpose()
    }

    async fn mark_sent(&self, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
        sqlx::query("UPDATE mails SET status = 'sent', sent_at = $3, attempts = attempts + 1, last_error = NULL WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(self.clock.now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_failed(&self, tenant: TenantId, id: Uuid, error: &str, last: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE mails SET status = $3, attempts = attempts + 1, last_error = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .bind(if last { "failed" } else { "queued" })
            .bind(error.chars().take(1000).collect::<String>())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, limit: i64) -> Result<Vec<Mail>, StoreError> {
        let rows = sqlx::query("SELECT * FROM mails WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
            .bind(tenant.to_string())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(mail_from_row!(r, parse_uuid(&r.try_get::<String, _>("id")?)?))).collect()
    }

    async fn template_override(&self, tenant: TenantId, key: &str, locale: Locale) -> Result<Option<TemplateText>, StoreError> {
        let row = sqlx::query("SELECT subject, html, text FROM mail_templates WHERE tenant_id = $1 AND key = $2 AND locale = $3")
            .bind(tenant.to_string())
            .bind(key)
            .bind(locale.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(TemplateText { subject: r.try_get("subject")?, html: r.try_get("html")?, text: r.try_get("text")? })).transpose()
    }

    async fn set_template_override(&self, tenant: TenantId, key: &str, locale: Locale, text: Option<&TemplateText>) -> Result<(), StoreError> {
        match text {
            Some(t) => {
                sqlx::query(
                    r#"INSERT INTO mail_templates (tenant_id, key, locale, subject, html, text, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                       ON CONFLICT (tenant_id, key, locale) DO UPDATE SET subject = excluded.subject, html = excluded.html,
                       text = excluded.text, updated_at = excluded.updated_at"#,
                )
                .bind(tenant.to_string())
                .bind(key)
                .bind(locale.as_str())
                .bind(&t.subject)
                .bind(&t.html)
                .bind(&t.text)
                .bind(self.clock.now_ms())
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM mail_templates WHERE tenant_id = $1 AND key = $2 AND locale = $3")
                    .bind(tenant.to_string())
                    .bind(key)
                    .bind(locale.as_str())
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Mails on PostgreSQL.
pub struct PgMailStore {
    pool: PgPool,
    clock: SharedClock,
}

impl PgMailStore {
    /// A store over this pool.
    pub fn new(pool: PgPool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

#[async_trait]
impl MailStore for PgMailStore {
    async fn queue(&self, tenant: TenantId, mail: &RenderedMail, job: &NewJob) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let inserted = sqlx::query(
            r#"INSERT INTO mails (id, tenant_id, recipient, sender, subject, template, locale, html, text, status, record_id, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', $10, $11) ON CONFLICT (id) DO NOTHING"#,
        )
        .bind(mail.id)
        .bind(tenant.as_uuid())
        .bind(&mail.recipient)
        .bind(&mail.sender)
        .bind(&mail.subject)
        .bind(&mail.template)
        .bind(mail.locale.as_str())
        .bind(&mail.html)
        .bind(&mail.text)
        .bind(mail.record_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            crate::jobs::postgres::enqueue(&mut tx, job, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<Mail>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let row = sqlx::query("SELECT * FROM mails WHERE tenant_id = $1 AND id = $2").bind(tenant.as_uuid()).bind(id).fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        row.map(|r| Ok(mail_from_row!(r, r.try_get::<Uuid, _>("id")?))).transpose()
    }

    async fn mark_sent(&self, tenant: TenantId, id: Uuid) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        sqlx::query("UPDATE mails SET status = 'sent', sent_at = $3, attempts = attempts + 1, last_error = NULL WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id)
            .bind(self.clock.now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mark_failed(&self, tenant: TenantId, id: Uuid, error: &str, last: bool) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        sqlx::query("UPDATE mails SET status = $3, attempts = attempts + 1, last_error = $4 WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_uuid())
            .bind(id)
            .bind(if last { "failed" } else { "queued" })
            .bind(error.chars().take(1000).collect::<String>())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, limit: i64) -> Result<Vec<Mail>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query("SELECT * FROM mails WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2")
            .bind(tenant.as_uuid())
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(|r| Ok(mail_from_row!(r, r.try_get::<Uuid, _>("id")?))).collect()
    }

    async fn template_override(&self, tenant: TenantId, key: &str, locale: Locale) -> Result<Option<TemplateText>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let row = sqlx::query("SELECT subject, html, text FROM mail_templates WHERE tenant_id = $1 AND key = $2 AND locale = $3")
            .bind(tenant.as_uuid())
            .bind(key)
            .bind(locale.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| Ok(TemplateText { subject: r.try_get("subject")?, html: r.try_get("html")?, text: r.try_get("text")? })).transpose()
    }

    async fn set_template_override(&self, tenant: TenantId, key: &str, locale: Locale, text: Option<&TemplateText>) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        match text {
            Some(t) => {
                sqlx::query(
                    r#"INSERT INTO mail_templates (tenant_id, key, locale, subject, html, text, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                       ON CONFLICT (tenant_id, key, locale) DO UPDATE SET subject = excluded.subject, html = excluded.html,
                       text = excluded.text, updated_at = excluded.updated_at"#,
                )
                .bind(tenant.as_uuid())
                .bind(key)
                .bind(locale.as_str())
                .bind(&t.subject)
                .bind(&t.html)
                .bind(&t.text)
                .bind(self.clock.now_ms())
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM mail_templates WHERE tenant_id = $1 AND key = $2 AND locale = $3")
                    .bind(tenant.as_uuid())
                    .bind(key)
                    .bind(locale.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
