//! What people do with accounts, over the stores: create users with roles that fit their type,
//! log in (with lockout, address throttling and the second factor), reset passwords.

use std::time::Duration;

use socle_tenants::roles::UserType;
use socle_tenants::{Actor, Locale, Permission, Tenant, TenantId, ValidationError};
use uuid::Uuid;

use std::sync::Arc;

use super::secrets::{self, random_token, token_hash};
use super::sessions::{NewSession, Session, SessionStore};
use super::{NewUser, User, UserStatus, UserStore, totp};
use crate::audit::AuditStore;
use crate::authz::{Authorizer, PolicyStore};
use crate::bus::Bus;
use crate::cache::Cache;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::error::StoreError;
use crate::mail::Mailer;

/// Password reset links work this long.
pub const RESET_TTL: Duration = Duration::from_secs(3600);
/// How long an invitation's link to choose a first password stays valid.
pub const INVITE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Failed logins from one address to one tenant within this window…
const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// …beyond this count are refused until the window ends.
const ADDRESS_MAX_FAILURES: i64 = 30;
/// Password checks of one e-mail address (known or not) in one tenant within this window…
const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// …at most this many, however fast they arrive: each attempt is counted before its password is
/// checked, so concurrent guesses cannot slip past the count.
const ACCOUNT_MAX_ATTEMPTS: i64 = 10;
/// How long failures in a row are remembered (the delay they set grows with their number).
const FAILURES_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// A request to create a user.
#[derive(Debug, Clone)]
pub struct CreateUser {
    /// Email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// User type.
    pub user_type: UserType,
    /// Business roles (keys).
    pub roles: Vec<String>,
    /// Initial password; `None` generates one.
    pub password: Option<String>,
    /// Preferred language.
    pub locale: Option<Locale>,
}

/// Accounts: users with their roles, logins, sessions, the second factor and password resets,
/// over the identity stores.
pub struct Accounts {
    /// Users.
    pub users: Arc<dyn UserStore>,
    /// Sessions.
    pub sessions: Arc<dyn SessionStore>,
    /// Roles and rules.
    pub policies: Arc<dyn PolicyStore>,
    /// Per-tenant enforcers (told when roles change).
    pub authz: Arc<Authorizer>,
    /// Where role changes are announced.
    pub bus: Arc<dyn Bus>,
    /// Login throttling counters.
    pub cache: Arc<dyn Cache>,
    /// The journal (failed logins of unknown addresses).
    pub audit: Arc<dyn AuditStore>,
    /// Reset mails.
    pub mailer: Arc<Mailer>,
    /// Links in mails.
    pub settings: Arc<Settings>,
    /// Time.
    pub clock: SharedClock,
}

/// How a login attempt ended.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in; set this token as the session cookie.
    LoggedIn {
        /// Cookie value.
        token: String,
    },
    /// Password accepted; the second factor is pending on this (limited) session.
    SecondFactorRequired {
        /// Cookie value of the pending session.
        token: String,
    },
    /// Password accepted; the tenant requires a second factor the user must enroll first.
    EnrollmentRequired {
        /// Cookie value of the pending session.
        token: String,
    },
    /// Wrong email or password (never says which).
    Invalid,
    /// Too many failures: retry after this many seconds.
    Throttled {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
}

/// Wrong codes one pending session may send before it is closed.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// What checking a second-factor code gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    /// Right: set this token as the session cookie.
    Verified {
        /// Cookie value.
        token: String,
    },
    /// Wrong (or already used); this many tries are left on the pending session.
    Invalid {
        /// Tries left.
        attempts_left: i64,
    },
    /// The account is locked by failed logins: retry after this many seconds.
    Locked {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The pending session is over (too many wrong codes, or the account is gone or disabled):
    /// log in again with the password.
    Expired,
}

/// Where the request came from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Client address.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
}

impl ClientInfo {
    /// An actor for the journal, acting as `subject`.
    pub fn actor(&self, subject: String, label: String) -> Actor {
        Actor { subject, label, ip: self.ip.clone(), request_id: self.request_id.clone() }
    }
}

impl Accounts {
    /// Checks that every role exists in the tenant and allows the user type.
    pub async fn check_roles(&self, tenant: TenantId, user_type: UserType, roles: &[String]) -> Result<(), StoreError> {
        let defined = self.policies.roles(tenant).await?;
        for key in roles {
            let Some(role) = defined.iter().find(|r| &r.key == key) else {
                let known: Vec<&str> = defined.iter().map(|r| r.key.as_str()).collect();
                return Err(ValidationError::new("roles", format!("unknown role `{key}`; this tenant has {}", known.join(", "))).into());
            };
            if !role.user_types.contains(&user_type) {
                return Err(ValidationError::new(
                    "roles",
                    format!(
                        "the role `{key}` cannot be given to a `{user_type}` user (allowed: {})",
                        role.user_types.iter().map(UserType::as_str).collect::<Vec<_>>().join(", ")
                    ),
                )
                .into());
            }
        }
        Ok(())
    }

    /// Creates a user; returns the generated password when none was given (shown once, never stored).
    pub async fn create_user(&self, tenant: TenantId, request: CreateUser, by: &Actor) -> Result<(User, Option<String>), StoreError> {
        self.check_roles(tenant, request.user_type, &request.roles).await?;
        let (password, generated) = match request.password {
            Some(p) => (p, None),
            None => {
                let p = secrets::random_password();
                (p.clone(), Some(p))
            }
        };
        secrets::validate_new_password(&password)?;
        let hash = secrets::hash_password(&password).await?;
        let new = NewUser {
            email: request.email,
            display_name: request.display_name,
            user_type: request.user_type,
            locale: request.locale,
            password_hash: Some(hash),
        };
        let user = self.users.create(tenant, &new, &request.roles, by).await?;
        self.authz.changed(tenant, self.bus.as_ref()).await;
        Ok((user, generated))
    }

    /// Replaces a user's roles after checking they fit the user's type.
    pub async fn set_user_roles(&self, tenant: TenantId, user: &User, roles: &[String], by: &Actor) -> Result<(), StoreError> {
        self.check_roles(tenant, user.user_type, roles).await?;
        self.policies.set_user_roles(tenant, user.id, roles, by).await?;
        self.authz.changed(tenant, self.bus.as_ref()).await;
        Ok(())
    }

    /// Checks a password login and opens a session.
    ///
    /// Throttling answers the same for an address that has an account and one that has none (no
    /// enumeration): per e-mail address, every attempt is counted before its password is checked
    /// (at most [`ACCOUNT_MAX_ATTEMPTS`] checks per window, however many arrive at once, from
    /// however many addresses), and failures delay the next try on the same schedule
    /// ([`super::lockout_after`]); per client address, failures are limited too. The account's own
    /// lockout is also recorded on the user, for the administrator and the second factor.
    pub async fn login(&self, tenant: &Tenant, email: &str, password: &str, client: &ClientInfo) -> Result<LoginOutcome, StoreError> {
        let address_key = format!("login-failures:{}:{}", tenant.id, client.ip.as_deref().unwrap_or("unknown"));
        let failures = self.cache.get(&address_key).await?.and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
        if failures >= ADDRESS_MAX_FAILURES {
            return Ok(LoginOutcome::Throttled { retry_after_secs: ADDRESS_WINDOW.as_secs() });
        }
        let now = self.clock.now_ms();
        let account = token_hash(&email.trim().to_lowercase());
        let lock_key = format!("login-lock:{}:{account}", tenant.id);
        if let Some(until) = self.cache.get(&lock_key).await?.and_then(|v| v.parse::<i64>().ok()).filter(|&until| until > now) {
            return Ok(LoginOutcome::Throttled { retry_after_secs: u64::try_from((until - now + 999) / 1000).unwrap_or(1) });
        }
        // Fixed windows of the platform's clock (the one lockouts are measured on).
        let window_ms = i64::try_from(ACCOUNT_WINDOW.as_millis()).unwrap_or(i64::MAX);
        let attempts_key = format!("login-attempts:{}:{account}:{}", tenant.id, now / window_ms);
        let attempt = self.cache.incr(&attempts_key, ACCOUNT_WINDOW * 2).await?;
        if attempt > ACCOUNT_MAX_ATTEMPTS {
            let left = window_ms - now % window_ms;
            return Ok(LoginOutcome::Throttled { retry_after_secs: u64::try_from((left + 999) / 1000).unwrap_or(1) });
        }
        // Failures in a row (a day at most): the delay before the next try grows with them.
        let failures_key = format!("login-failures-in-a-row:{}:{account}", tenant.id);
        let (address, lock, failures) = (&address_key, &lock_key, &failures_key);
        let failed = |_attempt: i64| async move {
            self.cache.incr(address, ADDRESS_WINDOW).await?;
            let in_a_row = self.cache.incr(failures, FAILURES_MEMORY).await?;
            if let Some(delay) = super::lockout_after(i32::try_from(in_a_row).unwrap_or(i32::MAX)) {
                let until = now + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
                self.cache.set(lock, &until.to_string(), delay + Duration::from_secs(1)).await?;
            }
            Ok::<_, StoreError>(LoginOutcome::Invalid)
        };
        let anonymous = client.actor("anonymous".into(), email.chars().take(254).collect());
        let found = self.users.by_email(tenant.id, email).await?;
        let Some((user, credentials)) = found else {
            secrets::verify_password(password, None).await?;
            let target: String = email.trim().chars().take(254).collect();
            self.audit.append(crate::audit::AuditEntry::new(Some(tenant.id), &anonymous, "login.failed", target)).await?;
            return failed(attempt).await;
        };
        let actor = client.actor(crate::authz::names::user(user.id), user.email.clone());
        let valid = secrets::verify_password(password, credentials.password_hash.as_deref()).await?;
        // A locked account (wrong second-factor codes lock it too) refuses even the right
        // password, with the same answer as any failure.
        let locked = user.locked_until.is_some_and(|until| until > now);
        if !valid || locked || user.status == UserStatus::Disabled {
            if !locked {
                self.users.record_login_failure(tenant.id, user.id, &actor).await?;
            }
            return failed(attempt).await;
        }
        for key in [&attempts_key, &lock_key, &failures_key] {
            self.cache.delete(key).await?;
        }
        // With a second factor, the password alone is not a login: failures are cleared (and the
        // login journaled) only once the code is right, so wrong codes add up across attempts.
        if !user.totp_enabled {
            self.users.record_login_success(tenant.id, user.id, &actor).await?;
        }
        let must_enroll =
            !user.totp_enabled && tenant.require_mfa_for_admins && self.authz.has_permission(tenant.id, user.id, Permission::Administrer.as_str()).await?;
        let (token, _) = self.open_session(tenant.id, user.id, !user.totp_enabled && !must_enroll, client).await?;
        Ok(if user.totp_enabled {
            LoginOutcome::SecondFactorRequired { token }
        } else if must_enroll {
            LoginOutcome::EnrollmentRequired { token }
        } else {
            LoginOutcome::LoggedIn { token }
        })
    }

    /// Opens a session and returns its cookie token.
    pub async fn open_session(&self, tenant: TenantId, user: Uuid, mfa_verified: bool, client: &ClientInfo) -> Result<(String, Session), StoreError> {
        let token = random_token();
        let session = self
            .sessions
            .create(
                tenant,
                &NewSession {
                    id_hash: token_hash(&token),
                    user_id: user,
                    csrf_token: random_token(),
                    mfa_verified,
                    ip: client.ip.clone(),
                    user_agent: client.user_agent.as_deref().map(|ua| ua.chars().take(256).collect()),
                },
            )
            .await?;
        Ok((token, session))
    }

    /// Checks a TOTP code for a user (once per code) and, on success, replaces the pending session
    /// with a full one (a new token: the pre-authentication token cannot be reused).
    ///
    /// A code is never checked for an account that is locked or disabled. Each wrong code counts
    /// as a failed login of the account (the same lockout and growing delay as passwords), and a
    /// pending session takes at most [`MAX_CODE_ATTEMPTS`] wrong codes: then it is closed and the
    /// password must be given again.
    pub async fn verify_second_factor(&self, tenant: TenantId, pending: &Session, code: &str, client: &ClientInfo) -> Result<SecondFactor, StoreError> {
        let Some(user) = self.users.get(tenant, pending.user_id).await? else { return Ok(SecondFactor::Expired) };
        let now = self.clock.now_ms();
        if let Some(until) = user.locked_until.filter(|&until| until > now) {
            return Ok(SecondFactor::Locked { retry_after_secs: u64::try_from((until - now + 999) / 1000).unwrap_or(1) });
        }
        if user.status == UserStatus::Disabled {
            self.sessions.delete(tenant, &pending.id_hash).await?;
            return Ok(SecondFactor::Expired);
        }
        let credentials = self.users.credentials(tenant, pending.user_id).await?;
        let Some(secret) = credentials.totp_secret else { return Ok(SecondFactor::Expired) };
        let actor = client.actor(crate::authz::names::user(user.id), user.email.clone());
        let step = totp::matching_step(&secret, code, now);
        let accepted = match step {
            Some(step) => self.users.use_totp_step(tenant, pending.user_id, step).await?,
            None => false,
        };
        if !accepted {
            self.users.record_login_failure(tenant, user.id, &actor).await?;
            let attempts = self.cache.incr(&format!("code-attempts:{}", pending.id_hash), ADDRESS_WINDOW).await?;
            if attempts >= MAX_CODE_ATTEMPTS {
                self.sessions.delete(tenant, &pending.id_hash).await?;
                return Ok(SecondFactor::Expired);
            }
            return Ok(SecondFactor::Invalid { attempts_left: MAX_CODE_ATTEMPTS - attempts });
        }
        self.users.record_login_success(tenant, user.id, &actor).await?;
        self.sessions.delete(tenant, &pending.id_hash).await?;
        let (token, _) = self.open_session(tenant, pending.user_id, true, client).await?;
        Ok(SecondFactor::Verified { token })
    }

    /// Creates a reset token for a user and returns the link to send them.
    pub async fn start_password_reset(&self, tenant: &Tenant, user: &User, by: &Actor) -> Result<String, StoreError> {
        self.password_link(tenant, user, RESET_TTL, by).await
    }

    /// Mails a new user the invitation to choose their password (a one-time link valid for
    /// [`INVITE_TTL`]), in their language and the tenant's brand; `by_name` says who invited them.
    pub async fn invite(&self, tenant: &Tenant, user: &User, by_name: &str, by: &Actor) -> Result<(), StoreError> {
        let link = self.password_link(tenant, user, INVITE_TTL, by).await?;
        let locale = user.locale.unwrap_or(tenant.locale);
        let vars = serde_json::json!({ "name": user.display_name, "link": link, "email": user.email, "by": by_name });
        let request = crate::mail::MailRequest { recipient: &user.email, template: "invitation", locale, vars: &vars, record_id: None, dedupe: None };
        self.mailer.queue(tenant, request).await?;
        Ok(())
    }

    async fn password_link(&self, tenant: &Tenant, user: &User, ttl: Duration, by: &Actor) -> Result<String, StoreError> {
        let token = random_token();
        let expires_at = self.clock.now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        self.users.create_reset(tenant.id, user.id, &token_hash(&token), expires_at, by).await?;
        Ok(format!("{}/reset-password?token={token}", self.settings.tenant_url(tenant.slug.as_str())))
    }

    /// Sends a reset link to `email` if it belongs to an active user of the tenant. Says nothing
    /// either way (the caller answers the same), and mails at most 5 links per address per hour.
    pub async fn mail_password_reset(&self, tenant: &Tenant, email: &str, client: &ClientInfo) -> Result<(), StoreError> {
        let Some((user, _)) = self.users.by_email(tenant.id, email).await? else { return Ok(()) };
        if user.status != UserStatus::Active {
            return Ok(());
        }
        let sent = self.cache.incr(&format!("reset-mails:{}:{}", tenant.id, user.id), Duration::from_secs(3600)).await?;
        if sent > 5 {
            return Ok(());
        }
        let actor = client.actor("anonymous".into(), user.email.clone());
        let link = self.start_password_reset(tenant, &user, &actor).await?;
        let locale = user.locale.unwrap_or(tenant.locale);
        let vars = serde_json::json!({ "name": user.display_name, "link": link });
        let request = crate::mail::MailRequest { recipient: &user.email, template: "password_reset", locale, vars: &vars, record_id: None, dedupe: None };
        self.mailer.queue(tenant, request).await?;
        Ok(())
    }

    /// Uses a reset token to set a new password; false if the token is unknown, used or expired.
    pub async fn finish_password_reset(&self, tenant: TenantId, token: &str, new_password: &str, client: &ClientInfo) -> Result<bool, StoreError> {
        secrets::validate_new_password(new_password)?;
        let hash = secrets::hash_password(new_password).await?;
        let Some(user) = self.users.consume_reset(tenant, &token_hash(token)).await? else { return Ok(false) };
        let actor = client.actor(crate::authz::names::user(user), "password reset link".into());
        self.users.set_password(tenant, user, &hash, &actor).await?;
        Ok(true)
    }
}
