//! Platform operators: the people running Socle itself (the `/ops` console). They are not users
//! of any tenant, log in on the platform host only, and every login is journalled without a tenant.

use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::Actor;
use sqlx::{PgPool, Row as _, SqlitePool};
use uuid::Uuid;

use super::{lockout_after, normalize_email, validate_display_name};
use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::db::postgres::begin;
use crate::db::{Scope, is_unique_violation};
use crate::error::StoreError;
use crate::util::parse_uuid;

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
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("an operator with the email {email} already exists"))
        } else {
            e.into()
        }
    }
}

fn locked_until(failures: i32, now: i64) -> Option<i64> {
    lockout_after(failures).map(|d| now + i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Operators on SQLite.
pub struct SqliteOperatorStore {
    pool: SqlitePool,
    clock: SharedClock,
}

impl SqliteOperatorStore {
    /// A store over this pool.
    pub fn new(pool: SqlitePool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

fn sqlite_operator(row: &sqlx::sqlite::SqliteRow) -> Result<Operator, StoreError> {
    Ok(Operator {
        id: parse_uuid(&row.try_get::<String, _>("id")?)?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: row.try_get("locked_until")?,
    })
}

#[async_trait]
impl OperatorStore for SqliteOperatorStore {
    async fn create(&self, email: &str, display_name: &str, password_hash: &str, by: &Actor) -> Result<Operator, StoreError> {
        let email = validate(email, display_name)?;
        let now = self.clock.now_ms();
        let id = Uuid::now_v7();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "INSERT INTO operators (id, email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(id.to_string())
        .bind(&email)
        .bind(display_name.trim())
        .bind(password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(duplicate(&email))?;
        audit::sqlite::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.created", email.clone())).await?;
        tx.commit().await?;
        sqlite_operator(&row)
    }

    async fn by_email(&self, email: &str) -> Result<Option<(Operator, String)>, StoreError> {
        let Ok(email) = normalize_email(email) else { return Ok(None) };
        let row = sqlx::query("SELECT * FROM operators WHERE email = $1").bind(&email).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((sqlite_operator(&r)?, r.try_get("password_hash")?))).transpose()
    }

    async fn get(&self, id: Uuid) -> Result<Option<Operator>, StoreError> {
        let row = sqlx::query("SELECT * FROM operators WHERE id = $1").bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(sqlite_operator).transpose()
    }

    async fn record_login_failure(&self, id: Uuid, by: &Actor) -> Result<i32, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let failures: i32 = sqlx::query_scalar("UPDATE operators SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE operators SET locked_until = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(locked_until(failures, now))
            .execute(&mut *tx)
            .await?;
        audit::sqlite::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.login_failed", format!("operator:{id}"))).await?;
        tx.commit().await?;
        Ok(failures)
    }

    async fn record_login_success(&self, id: Uuid, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
        audit::sqlite::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.login_succeeded", format!("operator:{id}"))).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, id: Uuid, id_hash: &str, csrf_token: &str) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        sqlx::query("INSERT INTO operator_sessions (id_hash, operator_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id_hash)
            .bind(id.to_string())
            .bind(csrf_token)
            .bind(now)
            .bind(now + SESSION_MS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<OperatorSession>, StoreError> {
        let row = sqlx::query("SELECT operator_id, csrf_token FROM operator_sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(self.clock.now_ms())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(OperatorSession { operator_id: parse_uuid(&r.try_get::<String, _>("operator_id")?)?, csrf_token: r.try_get("csrf_token")? })
        })
        .transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM operator_sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }
}

/// Operators on PostgreSQL (platform tables; journal entries in the platform scope).
pub struct PgOperatorStore {
    pool: PgPool,
    clock: SharedClock,
}

impl PgOperatorStore {
    /// A store over this pool.
    pub fn new(pool: PgPool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

fn pg_operator(row: &sqlx::postgres::PgRow) -> Result<Operator, StoreError> {
    Ok(Operator {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: row.try_get("locked_until")?,
    })
}

#[async_trait]
impl OperatorStore for PgOperatorStore {
    async fn create(&self, email: &str, display_name: &str, password_hash: &str, by: &Actor) -> Result<Operator, StoreError> {
        let email = validate(email, display_name)?;
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        let row = sqlx::query(
            "INSERT INTO operators (id, email, display_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(Uuid::now_v7())
        .bind(&email)
        .bind(display_name.trim())
        .bind(password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(duplicate(&email))?;
        audit::postgres::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.created", email.clone())).await?;
        tx.commit().await?;
        pg_operator(&row)
    }

    async fn by_email(&self, email: &str) -> Result<Option<(Operator, String)>, StoreError> {
        let Ok(email) = normalize_email(email) else { return Ok(None) };
        let row = sqlx::query("SELECT * FROM operators WHERE email = $1").bind(&email).fetch_optional(&self.pool).await?;
        row.map(|r| Ok((pg_operator(&r)?, r.try_get("password_hash")?))).transpose()
    }

    async fn get(&self, id: Uuid) -> Result<Option<Operator>, StoreError> {
        let row = sqlx::query("SELECT * FROM operators WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(pg_operator).transpose()
    }

    async fn record_login_failure(&self, id: Uuid, by: &Actor) -> Result<i32, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        let failures: i32 = sqlx::query_scalar("UPDATE operators SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE operators SET locked_until = $2 WHERE id = $1")
            .bind(id)
            .bind(locked_until(failures, now))
            .execute(&mut *tx)
            .await?;
        audit::postgres::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.login_failed", format!("operator:{id}"))).await?;
        tx.commit().await?;
        Ok(failures)
    }

    async fn record_login_success(&self, id: Uuid, by: &Actor) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        sqlx::query("UPDATE operators SET failed_logins = 0, locked_until = NULL WHERE id = $1").bind(id).execute(&mut *tx).await?;
        audit::postgres::insert(&mut tx, now, &AuditEntry::new(None, by, "operator.login_succeeded", format!("operator:{id}"))).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_session(&self, id: Uuid, id_hash: &str, csrf_token: &str) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        sqlx::query("INSERT INTO operator_sessions (id_hash, operator_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id_hash)
            .bind(id)
            .bind(csrf_token)
            .bind(now)
            .bind(now + SESSION_MS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<OperatorSession>, StoreError> {
        let row = sqlx::query("SELECT operator_id, csrf_token FROM operator_sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(id_hash)
            .bind(self.clock.now_ms())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok(OperatorSession { operator_id: r.try_get("operator_id")?, csrf_token: r.try_get("csrf_token")? })).transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM operator_sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }
}
