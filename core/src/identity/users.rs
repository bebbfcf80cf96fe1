use std::sync::Arc;

use async_trait::async_trait;
use socle_tenants::{Actor, Locale, TenantId};
use uuid::Uuid;

use super::{Credentials, NewUser, User, UserStatus, UserStore, UserUpdate, lockout_after, normalize_email, validate_display_name};
use crate::audit::{self, AuditEntry};
use crate::authz::{self, Rule, names};
use crate::clock::SharedClock;
use crate::crypto::{self, Census, KeyRing, SecretHolder};
use crate::db::from_row;
use crate::db::{Db, Row, Scope, Tx, is_unique_violation};
use crate::error::StoreError;

/// Users in the database (on PostgreSQL, every transaction is scoped to the tenant by row-level
/// security). TOTP seeds are sealed with `keys`.
pub struct SqlUserStore {
    db: Db,
    clock: SharedClock,
    keys: Arc<KeyRing>,
}

impl SqlUserStore {
    /// A store over this pool, sealing seeds with `keys`.
    pub fn new(db: Db, clock: SharedClock, keys: Arc<KeyRing>) -> Self {
        Self { db, clock, keys }
    }

    /// A user's credentials, the TOTP seed opened.
    fn open_credentials(&self, tenant: TenantId, row: &Row) -> Result<Credentials, StoreError> {
        let id: Uuid = row.get("id")?;
        let totp_secret = row
            .get::<Option<String>>("totp_secret")?
            .map(|stored| {
                self.keys.reveal(tenant, &totp_purpose(id), &stored).map_err(|e| crypto::unreadable(format_args!("the TOTP seed of user {id}"), tenant, e))
            })
            .transpose()?;
        Ok(Credentials { password_hash: row.get("password_hash")?, totp_secret })
    }
}

/// What a TOTP seed is sealed for: its user (a seed copied to another user's row does not open).
fn totp_purpose(user: Uuid) -> String {
    format!("totp:{user}")
}

fn invalid(what: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Other(anyhow::anyhow!("corrupt {what} in the users table: {err}"))
}

fn user(row: &Row) -> Result<User, StoreError> {
    let status: String = row.get("status")?;
    Ok(from_row!(row => User {
        id, tenant_id, email, display_name, user_type = row.get::<String>("user_type")?.parse().map_err(|e| invalid("user type", e))?,
        locale = row.get::<Option<String>>("locale")?.map(|l| l.parse::<Locale>()).transpose().map_err(|e| invalid("locale", e))?,
        status = if status == "disabled" { UserStatus::Disabled } else { UserStatus::Active }, account_id,
        totp_enabled = row.get::<Option<i64>>("totp_enabled_at")?.is_some(), failed_logins, locked_until, last_login_at, created_at
    }))
}

async fn fetch(tx: &mut Tx, tenant: TenantId, id: Uuid) -> Result<Option<Row>, StoreError> {
    Ok(tx.query("SELECT * FROM users WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).fetch_optional(tx).await?)
}

async fn fetch_existing(tx: &mut Tx, tenant: TenantId, id: Uuid) -> Result<User, StoreError> {
    match fetch(tx, tenant, id).await? {
        Some(row) => user(&row),
        None => Err(StoreError::NotFound(format!("user {id} does not exist in tenant {tenant}"))),
    }
}

#[async_trait]
impl UserStore for SqlUserStore {
    async fn create(&self, tenant: TenantId, new: &NewUser, roles: &[String], by: &Actor) -> Result<User, StoreError> {
        let email = normalize_email(&new.email)?;
        validate_display_name(&new.display_name)?;
        let id = Uuid::now_v7();
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        tx.query(
            r#"INSERT INTO users (id, tenant_id, email, display_name, user_type, locale, password_hash, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"#,
        )
        .bind((id, tenant, &email, new.display_name.trim(), new.user_type.as_str(), new.locale.map(|l| l.as_str()), &new.password_hash, now))
        .execute(&mut tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) { StoreError::Conflict(format!("a user with the email {email} already exists in this tenant")) } else { e.into() }
        })?;
        let rules: Vec<Rule> = roles.iter().map(|r| Rule::member(tenant, &names::user(id), &names::role(r))).collect();
        authz::store::insert_rules(&mut tx, tenant, &rules).await?;
        let created = fetch_existing(&mut tx, tenant, id).await?;
        let entry = AuditEntry::new(Some(tenant), by, "user.created", names::user(id)).after(serde_json::json!({ "user": &created, "roles": roles }));
        audit::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<User>, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let found = fetch(&mut tx, tenant, id).await?.as_ref().map(user).transpose()?;
        tx.commit().await?;
        Ok(found)
    }

    async fn by_email(&self, tenant: TenantId, email: &str) -> Result<Option<(User, Credentials)>, StoreError> {
        let Ok(email) = normalize_email(email) else { return Ok(None) };
        let row =
            self.db.reading(Scope::Tenant(tenant), "SELECT * FROM users WHERE tenant_id = $1 AND email = $2").bind(tenant).bind(&email).optional().await?;
        row.map(|r| Ok((user(&r)?, self.open_credentials(tenant, &r)?))).transpose()
    }

    async fn credentials(&self, tenant: TenantId, id: Uuid) -> Result<Credentials, StoreError> {
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let row = fetch(&mut tx, tenant, id).await?;
        tx.commit().await?;
        row.as_ref().map(|r| self.open_credentials(tenant, r)).transpose()?.ok_or_else(|| StoreError::NotFound(format!("user {id} does not exist")))
    }

    async fn list(&self, tenant: TenantId) -> Result<Vec<User>, StoreError> {
        self.db.reading(Scope::Tenant(tenant), "SELECT * FROM users WHERE tenant_id = $1 ORDER BY email").bind(tenant).all_as(user).await
    }

    async fn update(&self, tenant: TenantId, id: Uuid, update: &UserUpdate, by: &Actor) -> Result<User, StoreError> {
        let UserUpdate { display_name, user_type, locale, status, account_id } = update;
        let (user_type, locale, status) = (*user_type, *locale, *status);
        validate_display_name(display_name)?;
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let before = fetch_existing(&mut tx, tenant, id).await?;
        tx.query(
            r#"UPDATE users SET display_name = $3, user_type = $4, locale = $5, status = $6, updated_at = $7, account_id = $8
               WHERE tenant_id = $1 AND id = $2"#,
        )
        .bind((tenant, id, display_name.trim(), user_type.as_str(), locale.map(|l| l.as_str()), status.as_str(), now, *account_id))
        .execute(&mut tx)
        .await?;
        if status == UserStatus::Disabled {
            tx.query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2").bind(tenant).bind(id).execute(&mut tx).await?;
        }
        let after = fetch_existing(&mut tx, tenant, id).await?;
        let entry = AuditEntry::new(Some(tenant), by, "user.updated", names::user(id)).before(&before).after(&after);
        audit::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn set_password(&self, tenant: TenantId, id: Uuid, password_hash: &str, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        fetch_existing(&mut tx, tenant, id).await?;
        tx.query(
            r#"UPDATE users SET password_hash = $3, failed_logins = 0, locked_until = NULL, updated_at = $4
               WHERE tenant_id = $1 AND id = $2"#,
        )
        .bind((tenant, id, password_hash, now))
        .execute(&mut tx)
        .await?;
        tx.query("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2").bind(tenant).bind(id).execute(&mut tx).await?;
        audit::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "user.password_changed", names::user(id))).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_login_failure(&self, tenant: TenantId, id: Uuid, by: &Actor) -> Result<i32, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let before = fetch_existing(&mut tx, tenant, id).await?;
        let failures = before.failed_logins.saturating_add(1);
        let locked_until = lockout_after(failures).map(|d| now + i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        tx.query("UPDATE users SET failed_logins = $3, locked_until = $4 WHERE tenant_id = $1 AND id = $2")
            .bind((tenant, id, failures, locked_until))
            .execute(&mut tx)
            .await?;
        let entry = AuditEntry::new(Some(tenant), by, "login.failed", before.email.clone())
            .after(serde_json::json!({ "failed_logins": failures, "locked_until": locked_until }));
        audit::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(failures)
    }

    async fn record_login_success(&self, tenant: TenantId, id: Uuid, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let user = fetch_existing(&mut tx, tenant, id).await?;
        tx.query("UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = $3 WHERE tenant_id = $1 AND id = $2")
            .bind((tenant, id, now))
            .execute(&mut tx)
            .await?;
        audit::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "login.succeeded", user.email)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_totp(&self, tenant: TenantId, id: Uuid, secret: Option<&str>, enabled: bool, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        fetch_existing(&mut tx, tenant, id).await?;
        let sealed = secret.map(|s| self.keys.seal_str(tenant, &totp_purpose(id), s));
        tx.query(
            r#"UPDATE users SET totp_secret = $3, totp_enabled_at = $4, totp_last_step = NULL, updated_at = $5
               WHERE tenant_id = $1 AND id = $2"#,
        )
        .bind((tenant, id, sealed.as_deref(), enabled.then_some(now), now))
        .execute(&mut tx)
        .await?;
        if enabled || secret.is_none() {
            let action = if enabled { "user.mfa_enabled" } else { "user.mfa_disabled" };
            audit::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, action, names::user(id))).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn use_totp_step(&self, tenant: TenantId, id: Uuid, step: i64) -> Result<bool, StoreError> {
        let result = self
            .db
            .writing(
                Scope::Tenant(tenant),
                r#"UPDATE users SET totp_last_step = $3
               WHERE tenant_id = $1 AND id = $2 AND (totp_last_step IS NULL OR totp_last_step < $3)"#,
            )
            .bind((tenant, id, step))
            .execute()
            .await?;
        Ok(result == 1)
    }

    async fn delete(&self, tenant: TenantId, id: Uuid, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let before = fetch_existing(&mut tx, tenant, id).await?;
        authz::store::delete_groupings(&mut tx, tenant, &names::user(id)).await?;
        tx.query("DELETE FROM users WHERE tenant_id = $1 AND id = $2").bind(tenant).bind(id).execute(&mut tx).await?;
        audit::insert(&mut tx, now, &AuditEntry::new(Some(tenant), by, "user.deleted", names::user(id)).before(&before)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_reset(&self, tenant: TenantId, id: Uuid, token_hash: &str, expires_at: i64, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let user = fetch_existing(&mut tx, tenant, id).await?;
        tx.query("INSERT INTO password_resets (token_hash, tenant_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind((token_hash, tenant, id, now, expires_at))
            .execute(&mut tx)
            .await?;
        let entry = AuditEntry::new(Some(tenant), by, "user.password_reset_requested", user.email).after(serde_json::json!({ "expires_at": expires_at }));
        audit::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consume_reset(&self, tenant: TenantId, token_hash: &str) -> Result<Option<Uuid>, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let user: Option<Uuid> = tx
            .query(
                r#"UPDATE password_resets SET used_at = $3
               WHERE tenant_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3
               RETURNING user_id"#,
            )
            .bind((tenant, token_hash, now))
            .scalar(&mut tx)
            .await?;
        // One link used closes every other link still out for the same person (an older reset
        // mail, the invitation): none of them may set the password again.
        if let Some(user) = user {
            tx.query("UPDATE password_resets SET used_at = $3 WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
                .bind((tenant, user, now))
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(user)
    }
}

#[async_trait]
impl SecretHolder for SqlUserStore {
    fn secret_kind(&self) -> &'static str {
        "totp_seeds"
    }

    async fn secret_census(&self, tenant: TenantId) -> Result<Census, StoreError> {
        let rows =
            self.db.reading(Scope::Tenant(tenant), "SELECT totp_secret FROM users WHERE tenant_id = $1 AND totp_secret IS NOT NULL").bind(tenant).all().await?;
        let mut census = Census::default();
        for row in rows {
            census.count(&row.at::<String>(0)?);
        }
        Ok(census)
    }

    async fn reseal_secrets(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        // Locked until commit on PostgreSQL (SQLite's write transaction holds the database): an
        // enrolment meanwhile waits instead of being overwritten with the old seed.
        let select = tx.pick(
            "SELECT id, totp_secret FROM users WHERE tenant_id = $1 AND totp_secret IS NOT NULL",
            "SELECT id, totp_secret FROM users WHERE tenant_id = $1 AND totp_secret IS NOT NULL FOR UPDATE",
        );
        let rows = tx.query(select).bind(tenant).fetch_all(&mut tx).await?;
        let mut resealed = 0;
        for row in rows {
            let (id, stored): (Uuid, String) = (row.get("id")?, row.get("totp_secret")?);
            if !self.keys.needs_reseal(&stored) {
                continue;
            }
            let purpose = totp_purpose(id);
            let clear = self.keys.reveal(tenant, &purpose, &stored).map_err(|e| crypto::unreadable(format_args!("the TOTP seed of user {id}"), tenant, e))?;
            let sealed = self.keys.seal_str(tenant, &purpose, &clear);
            tx.query("UPDATE users SET totp_secret = $3 WHERE tenant_id = $1 AND id = $2").bind((tenant, id, sealed)).execute(&mut tx).await?;
            resealed += 1;
        }
        tx.commit().await?;
        Ok(resealed)
    }
}
