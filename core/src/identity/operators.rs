//! Platform operators: the people running Socle itself (the `/ops` console). They are not users
//! of any tenant, log in on the platform host only, and every login is journalled without a tenant.

use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::Actor;
use uuid::Uuid;

use super::{lockout_after, normalize_email, validate_display_name};
use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::db::from_row;
use crate::db::{Db, Row, Scope, is_unique_violation};
use crate::error::StoreError;

/// Operator sessions end after this long.
pub const SESSION_MS: i64 = 8 * 3600 * 1000;

/// A platform operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    /// Stable id.
    pub id: Uuid,
    /// Lowercase email, unique on the platform.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// Consecutive failed logins.
    pub failed_logins: i32,
    /// Logins refused until then (Unix ms).
    pub locked_until: Option<i64>,
}

/// A live operator session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSession {
    /// The operator.
    pub operator_id: Uuid,
    /// CSRF token.
    pub csrf_token: String,
}

/// Storage of operators and their sessions.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// Creates an operator.
    async fn create(&self, email: &str, display_name: &str, password_hash: &str, by: &Actor) -> Result<Operator, StoreError>;
    /// The operator with this email, with their password hash.
    async fn by_email(&self, email: &str) -> Result<Option<(Operator, String)>, StoreError>;
    /// The operator with this id.
    async fn get(&self, id: Uuid) -> Result<Option<Operator>, StoreError>;
    /// Records a failed login and returns the new count.
    async fn record_login_failure(&self, id: Uuid, by: &Actor) -> Result<i32, StoreError>;
    /// Records a successful login.
    async fn record_login_success(&self, id: Uuid, by: &Actor) -> Result<(), StoreError>;
    /// Starts a session.
    async fn create_session(&self, id: Uuid, id_hash: &str, csrf_token: &str) -> Result<(), StoreError>;
    /// The live session with this hash.
    async fn session(&self, id_hash: &str) -> Result<Option<OperatorSession>, StoreError>;
    /// Ends a session.
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
}

fn validate(email: &str, display_name: &str) -> Result<String, StoreError> {
    validate_display_name(display_name)?;
    Ok(normalize_email(email)?)
}

fn duplicate(email: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| {
        if is_unique_violation(&e) { StoreError::Conflict(format!("an operator with the email {email} already exists")) } else { e.into() }
    }
}

fn locked_until(failures: i32, now: i64) -> Option<i64> {
    lockout_after(failures).map(|d| now + i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Operators in the database (platform data: no tenant scope).
pub struct SqlOperatorStore {
    db: Db,
    clock: SharedClock,
}

impl SqlOperatorStore {
    /// A store over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

fn operator(row: &Row) -> Result<Operator, StoreError> {
    Ok(from_row!(row => Operator { id, email, display_name, failed_logins, locked_until }))
}

#[async_trait]
impl OperatorStore for SqlOperatorStore {
    async fn create(&self, email: &str, display_name: &str, password_hash: &str, by: &Actor) -> Result<Operator, StoreError> {
        let email = validate(email, display_name)?;
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Platform).await?;
        let row = tx
            .query("INSERT INTO operators (id, email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *")
            .bind((Uuid::now_v7(), &email, display_name.trim(), password_hash, now))
            .fetch_one(&mut tx)
            .await
            .map_err(duplicate(&email))?;
        audit::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.created", email.clone())).await?;
        tx.commit().await?;
        operator(&row)
    }

    async fn by_email(&self, email: &str) -> Result<Option<(Operator, String)>, StoreError> {
        let Ok(email) = normalize_email(email) else { return Ok(None) };
        let row = self.db.reading(Scope::Platform, "SELECT * FROM operators WHERE email = $1").bind(&email).optional().await?;
        row.map(|r| Ok((operator(&r)?, r.get("password_hash")?))).transpose()
    }

    async fn get(&self, id: Uuid) -> Result<Option<Operator>, StoreError> {
        let row = self.db.reading(Scope::Platform, "SELECT * FROM operators WHERE id = $1").bind(id).optional().await?;
        row.as_ref().map(operator).transpose()
    }

    async fn record_login_failure(&self, id: Uuid, by: &Actor) -> Result<i32, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Platform).await?;
        let failures: i32 = tx
            .query("UPDATE operators SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
            .bind(id)
            .scalar(&mut tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("operator {id} does not exist")))?;
        tx.query("UPDATE operators SET locked_until = $2 WHERE id = $1").bind(id).bind(locked_until(failures, now)).execute(&mut tx).await?;
        audit::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.login_failed", format!("operator:{id}"))).await?;
        tx.commit().await?;
        Ok(failures)
    }

    async fn record_login_success(&self, id: Uuid, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Platform).await?;
        tx.query("UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(id).execute(&mut tx).await?;
        audit::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.login_succeeded", format!("operator:{id}"))).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, id: Uuid, id_hash: &str, csrf_token: &str) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        self.db
            .writing(Scope::Platform, "INSERT INTO operator_sessions (id_hash, operator_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind((id_hash, id, csrf_token, now, now + SESSION_MS))
            .execute()
            .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<OperatorSession>, StoreError> {
        let row = self
            .db
            .reading(Scope::Platform, "SELECT operator_id, csrf_token FROM operator_sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind((id_hash, self.clock.now_ms()))
            .optional()
            .await?;
        row.map(|r| Ok(OperatorSession { operator_id: r.get("operator_id")?, csrf_token: r.get("csrf_token")? })).transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.db.writing(Scope::Platform, "DELETE FROM operator_sessions WHERE id_hash = $1").bind(id_hash).execute().await?;
        Ok(())
    }
}
