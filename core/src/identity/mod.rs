//! Identity: tenant users (email unique per tenant, Argon2id passwords, TOTP second factor,
//! lockout after repeated failures, single-use reset tokens), their cookie sessions, and platform
//! operators, who are not tenant users at all.

pub mod accounts;
pub mod members;
pub mod operators;
pub mod secrets;
pub mod sessions;
pub mod totp;
pub mod users;

use async_trait::async_trait;
use serde::Serialize;
use socle_tenants::roles::UserType;
use socle_tenants::{Actor, Locale, TenantId, ValidationError};
use uuid::Uuid;

use crate::crypto::SecretHolder;
use crate::error::StoreError;

/// Whether a user may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    /// May log in.
    Active,
    /// May not log in; sessions are revoked.
    Disabled,
}

impl UserStatus {
    /// The key as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
}

/// A tenant user, without secrets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    /// Stable id.
    pub id: Uuid,
    /// The tenant the user belongs to.
    pub tenant_id: TenantId,
    /// Lowercase email, unique in the tenant.
    pub email: String,
    /// Name shown in the portal.
    pub display_name: String,
    /// Level 1 of the role model.
    pub user_type: UserType,
    /// Preferred language (the tenant's when absent).
    pub locale: Option<Locale>,
    /// Active or disabled.
    pub status: UserStatus,
    /// The customer account (a `customer_account` record) a client user belongs to: client users
    /// only reach that account's records.
    pub account_id: Option<Uuid>,
    /// Whether a second factor is enrolled.
    pub totp_enabled: bool,
    /// Consecutive failed logins.
    pub failed_logins: i32,
    /// Logins are refused until then (Unix ms).
    pub locked_until: Option<i64>,
    /// Last successful login (Unix ms).
    pub last_login_at: Option<i64>,
    /// Creation time (Unix ms).
    pub created_at: i64,
}

/// A user's secrets, read only to check them. Its `Debug` shows only whether each is set.
#[derive(Clone, Default)]
pub struct Credentials {
    /// Argon2id PHC string.
    pub password_hash: Option<String>,
    /// Base32 TOTP secret (enrolled or pending confirmation), in clear: the store seals it.
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |set: bool| if set { "[redacted]" } else { "None" };
        f.debug_struct("Credentials")
            .field("password_hash", &shown(self.password_hash.is_some()))
            .field("totp_secret", &shown(self.totp_secret.is_some()))
            .finish()
    }
}

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Email (normalised to lowercase).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// User type.
    pub user_type: UserType,
    /// Preferred language.
    pub locale: Option<Locale>,
    /// Argon2id hash of the initial password, if any.
    pub password_hash: Option<String>,
}

/// The changeable profile of a user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserUpdate {
    /// Display name.
    pub display_name: String,
    /// User type.
    pub user_type: UserType,
    /// Preferred language.
    pub locale: Option<Locale>,
    /// Active or disabled.
    pub status: UserStatus,
    /// Customer account (client users).
    pub account_id: Option<Uuid>,
}

pub use crate::email::normalize as normalize_email;

/// Checks a display name: 1 to 100 characters, no control characters.
pub fn validate_display_name(name: &str) -> Result<(), ValidationError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 || trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new("display_name", "must be 1 to 100 characters without control characters"));
    }
    Ok(())
}

/// How long logins are refused after `failures` consecutive failures: nothing for the first
/// three, then a delay doubling from one second, then a 15-minute lockout from the tenth.
pub fn lockout_after(failures: i32) -> Option<std::time::Duration> {
    match failures {
        ..=2 => None,
        3..=9 => Some(std::time::Duration::from_secs(1 << (failures - 3))),
        _ => Some(std::time::Duration::from_secs(15 * 60)),
    }
}

/// Storage of users, their credentials and reset tokens. TOTP seeds are stored sealed
/// ([`crate::crypto`]), hence the [`SecretHolder`] half.
#[async_trait]
pub trait UserStore: SecretHolder + Send + Sync {
    /// Creates a user holding `roles`, atomically with their role rules and the journal entry.
    async fn create(&self, tenant: TenantId, new: &NewUser, roles: &[String], by: &Actor) -> Result<User, StoreError>;
    /// The user with this id in this tenant.
    async fn get(&self, tenant: TenantId, id: Uuid) -> Result<Option<User>, StoreError>;
    /// The user with this (normalised) email in this tenant, with credentials.
    async fn by_email(&self, tenant: TenantId, email: &str) -> Result<Option<(User, Credentials)>, StoreError>;
    /// A user's credentials.
    async fn credentials(&self, tenant: TenantId, id: Uuid) -> Result<Credentials, StoreError>;
    /// Every user of the tenant, by email.
    async fn list(&self, tenant: TenantId) -> Result<Vec<User>, StoreError>;
    /// Changes name, type, language and status; disabling revokes sessions.
    async fn update(&self, tenant: TenantId, id: Uuid, update: &UserUpdate, by: &Actor) -> Result<User, StoreError>;
    /// Sets a new password hash, clears the lockout and revokes every session.
    async fn set_password(&self, tenant: TenantId, id: Uuid, password_hash: &str, by: &Actor) -> Result<(), StoreError>;
    /// Records a failed login: increments the counter, sets the lockout, journals it. Returns the
    /// new count.
    async fn record_login_failure(&self, tenant: TenantId, id: Uuid, by: &Actor) -> Result<i32, StoreError>;
    /// Records a successful password check: clears the counter, journals it.
    async fn record_login_success(&self, tenant: TenantId, id: Uuid, by: &Actor) -> Result<(), StoreError>;
    /// Stores a TOTP secret; `enabled` once the user confirmed a code.
    async fn set_totp(&self, tenant: TenantId, id: Uuid, secret: Option<&str>, enabled: bool, by: &Actor) -> Result<(), StoreError>;
    /// Marks TOTP step `step` used; false if it (or a later one) already was (a replayed code).
    async fn use_totp_step(&self, tenant: TenantId, id: Uuid, step: i64) -> Result<bool, StoreError>;
    /// Deletes a user (sessions and rules with it).
    async fn delete(&self, tenant: TenantId, id: Uuid, by: &Actor) -> Result<(), StoreError>;
    /// Stores a reset token (its hash) valid until `expires_at`.
    async fn create_reset(&self, tenant: TenantId, id: Uuid, token_hash: &str, expires_at: i64, by: &Actor) -> Result<(), StoreError>;
    /// Consumes a reset token: returns the user if the token exists, is unused and unexpired, and
    /// marks it used in the same statement (a token works once, even under concurrent use).
    async fn consume_reset(&self, tenant: TenantId, token_hash: &str) -> Result<Option<Uuid>, StoreError>;
}
