//! Cookie sessions of tenant users. The cookie holds a random token; the database holds its
//! sha256, the tenant, the user, a CSRF token and whether the second factor was passed. A session
//! presented on another tenant's host is not found (every lookup takes the tenant).

use async_trait::async_trait;
use socle_tenants::TenantId;
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::db::from_row;
use crate::db::{Db, Row, Scope};
use crate::error::StoreError;

/// Idle sessions end after this long.
pub const IDLE_TIMEOUT_MS: i64 = 12 * 3600 * 1000;
/// Sessions end after this long whatever the activity.
pub const ABSOLUTE_TIMEOUT_MS: i64 = 14 * 24 * 3600 * 1000;

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// sha256 of the cookie token.
    pub id_hash: String,
    /// Tenant.
    pub tenant_id: TenantId,
    /// User.
    pub user_id: Uuid,
    /// Token forms and unsafe API calls must echo.
    pub csrf_token: String,
    /// False while the second factor is pending (or must be enrolled).
    pub mfa_verified: bool,
    /// Creation (Unix ms).
    pub created_at: i64,
    /// Last activity (Unix ms).
    pub last_seen_at: i64,
    /// End (Unix ms); extended by activity up to the absolute timeout.
    pub expires_at: i64,
}

/// What a new session records.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// sha256 of the cookie token.
    pub id_hash: String,
    /// User.
    pub user_id: Uuid,
    /// CSRF token.
    pub csrf_token: String,
    /// Whether the second factor was passed (or is not needed).
    pub mfa_verified: bool,
    /// Client address.
    pub ip: Option<String>,
    /// Client user agent (truncated).
    pub user_agent: Option<String>,
}

/// Storage of sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Starts a session.
    async fn create(&self, tenant: TenantId, new: &NewSession) -> Result<Session, StoreError>;
    /// The live (unexpired) session with this hash in this tenant; extends its expiry when more
    /// than a minute passed since the last activity.
    async fn get(&self, tenant: TenantId, id_hash: &str) -> Result<Option<Session>, StoreError>;
    /// Ends a session.
    async fn delete(&self, tenant: TenantId, id_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of a user.
    async fn delete_for_user(&self, tenant: TenantId, user: Uuid) -> Result<u64, StoreError>;
}

fn expiry(created_at: i64, now: i64) -> i64 {
    (now + IDLE_TIMEOUT_MS).min(created_at + ABSOLUTE_TIMEOUT_MS)
}

/// Sessions in the database.
pub struct SqlSessionStore {
    db: Db,
    clock: SharedClock,
}

impl SqlSessionStore {
    /// A store over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

fn session(row: &Row) -> Result<Session, StoreError> {
    Ok(from_row!(row => Session { id_hash, tenant_id, user_id, csrf_token, mfa_verified, created_at, last_seen_at, expires_at }))
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, tenant: TenantId, new: &NewSession) -> Result<Session, StoreError> {
        let now = self.clock.now_ms();
        let row = self
            .db
            .writing(
                Scope::Tenant(tenant),
                r#"INSERT INTO sessions (id_hash, tenant_id, user_id, csrf_token, mfa_verified, created_at, last_seen_at, expires_at, ip, user_agent)
                   VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING *"#,
            )
            .bind((&new.id_hash, tenant, new.user_id, &new.csrf_token, new.mfa_verified, now, expiry(now, now), new.ip.as_deref(), new.user_agent.as_deref()))
            .one()
            .await?;
        session(&row)
    }

    async fn get(&self, tenant: TenantId, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let now = self.clock.now_ms();
        // Every authenticated request comes here: a read, with a small write once a minute.
        let mut tx = self.db.read(Scope::Tenant(tenant)).await?;
        let row = tx
            .query("SELECT * FROM sessions WHERE tenant_id = $1 AND id_hash = $2 AND expires_at > $3")
            .bind((tenant, id_hash, now))
            .fetch_optional(&mut tx)
            .await?;
        let Some(mut session) = row.as_ref().map(session).transpose()? else { return Ok(None) };
        if now - session.last_seen_at > 60_000 {
            session.last_seen_at = now;
            session.expires_at = expiry(session.created_at, now);
            tx.query("UPDATE sessions SET last_seen_at = $3, expires_at = $4 WHERE tenant_id = $1 AND id_hash = $2")
                .bind((tenant, id_hash, session.last_seen_at, session.expires_at))
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(session))
    }

    async fn delete(&self, tenant: TenantId, id_hash: &str) -> Result<(), StoreError> {
        self.db.writing(Scope::Tenant(tenant), "DELETE FROM sessions WHERE tenant_id = $1 AND id_hash = $2").bind(tenant).bind(id_hash).execute().await?;
        Ok(())
    }

    async fn delete_for_user(&self, tenant: TenantId, user: Uuid) -> Result<u64, StoreError> {
        let removed =
            self.db.writing(Scope::Tenant(tenant), "DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2").bind(tenant).bind(user).execute().await?;
        Ok(removed)
    }
}
