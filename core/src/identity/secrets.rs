//! Passwords (Argon2id), opaque tokens (stored as their sha256, never in clear) and constant-time
//! comparisons.

use anyhow::Context as _;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use socle_tenants::ValidationError;
use subtle::ConstantTimeEq as _;

/// Longest password accepted: Argon2 on megabytes of input would be a cheap denial of service.
pub const MAX_PASSWORD_LEN: usize = 256;
/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Checks a new password against the policy.
pub fn validate_new_password(password: &str) -> Result<(), ValidationError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(ValidationError::new("password", format!("must be at least {MIN_PASSWORD_LEN} characters long")));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ValidationError::new("password", format!("must be at most {MAX_PASSWORD_LEN} bytes long")));
    }
    if password.chars().all(|c| c == password.chars().next().unwrap_or(' ')) {
        return Err(ValidationError::new("password", "must not be one repeated character"));
    }
    Ok(())
}

/// Hashes a password with Argon2id on the blocking pool (it takes tens of milliseconds by design).
pub async fn hash_password(password: &str) -> anyhow::Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        argon2::Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("failed to hash a password: {e}"))
    })
    .await
    .context("the password hashing task failed")?
}

/// Verifies a password against a stored PHC string on the blocking pool. A missing hash (an
/// account without password, or an unknown email) still costs one hash computation, so response
/// times do not reveal which accounts exist.
pub async fn verify_password(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    if password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    let password = password.to_owned();
    let stored = stored.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let argon2 = argon2::Argon2::default();
        match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(hash)) => Ok(argon2.verify_password(password.as_bytes(), &hash).is_ok()),
            Some(Err(e)) => Err(anyhow::anyhow!("a stored password hash is malformed: {e}")),
            None => {
                let _ = argon2.hash_password(password.as_bytes());
                Ok(false)
            }
        }
    })
    .await
    .context("the password verification task failed")?
}

/// A random token of 32 bytes, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random password for accounts created without one (shown once).
pub fn random_password() -> String {
    let mut bytes = [0u8; 15];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The sha256 of a token, hex: what the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time string equality (CSRF tokens).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_and_wrong_ones_do_not() {
        let hash = hash_password("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!verify_password("wrong horse battery", Some(&hash)).await.unwrap());
        assert!(!verify_password("anything", None).await.unwrap());
        assert!(!verify_password(&"x".repeat(10_000), Some(&hash)).await.unwrap());
    }

    #[test]
    fn tokens_are_unique_and_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(validate_new_password("short").is_err());
        assert!(validate_new_password("aaaaaaaaaaaa").is_err());
        assert!(validate_new_password(&"ab".repeat(200)).is_err());
        assert!(validate_new_password("a fine passphrase").is_ok());
    }
}
