//! Secrets at rest: what the platform must read back in clear (plugin secret settings, TOTP
//! seeds, and every later secret) is sealed before it is stored and opened when it is read.
//!
//! # Format
//!
//! A sealed value is text, `v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, sealed with
//! ChaCha20-Poly1305 (a random 96-bit nonce per value). The associated data binds the value to its
//! key id, its tenant and its purpose (`totp:<user id>`, `plugin_setting:<plugin>:<key>`): a value
//! copied to another tenant, another user or another setting does not open, nor does one altered
//! by a single bit.
//!
//! # Keys
//!
//! The [`KeyRing`] comes from `secrets.keys` (`SOCLE__SECRETS__KEYS=<id>:<base64 of 32 bytes>,…`):
//! the first key seals, every key opens what it sealed. Rotating is putting a new key first,
//! running `socle secrets rotate` (which re-seals every stored secret with it), then removing the
//! old key once `socle secrets status` shows nothing left under it. Without a key, only a
//! development setup (`server.public_url` on the local machine: the demo, `socle plugin run`, the
//! tests) starts, with a fixed development key that is public and said so in the log; anywhere else
//! the process refuses to start.
//!
//! # Holders
//!
//! Each store that keeps secrets implements [`SecretHolder`] (census and re-sealing per tenant),
//! and `App::secret_holders` lists them: the rotation and status commands go through that list.
//! Values written before sealing existed are read as they are (in clear), counted as such, and
//! sealed on their next write or by the rotation.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Context as _;
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use rand::RngCore as _;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::ExposeSecret as _;
use secrecy::zeroize::Zeroizing;
use serde::Serialize;
use sha2::Digest as _;
use socle_tenants::TenantId;

use crate::config::SecretsSettings;
use crate::error::StoreError;

/// The format version every sealed value starts with.
const VERSION: &str = "v1";
/// Length of a key, in bytes.
const KEY_LEN: usize = 32;
/// Length of the authentication tag ChaCha20-Poly1305 appends.
const TAG_LEN: usize = 16;
/// Id of the development key (and the `secrets.keys` entry naming it).
pub const DEVELOPMENT_KEY_ID: &str = "dev";
/// What the development key is derived from: it is public, by design.
const DEVELOPMENT_KEY_SEED: &[u8] = b"socle development key: public, for local development and tests only";

/// Why a configured key is refused, or a missing one.
pub const MISSING_KEY: &str = "secrets.keys is not set: Socle seals the secrets it stores (plugin secret settings, TOTP seeds) \
with a key from the configuration. Generate one with `socle secrets new-key` and set it in SOCLE__SECRETS__KEYS=<id>:<key> \
(or `[secrets] keys = [\"<id>:<key>\"]` in socle-server.toml). Without a key, only a server whose server.public_url is on \
this machine (localhost) starts, with a public development key.";

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// It is not `v1:<key id>:<base64>`, or too short to hold a nonce and a tag.
    #[error("the sealed value is malformed")]
    Malformed,
    /// It was sealed with a key the ring does not hold.
    #[error("sealed with key `{0}`, which secrets.keys does not hold (put it back in the list to read or rotate it)")]
    UnknownKey(String),
    /// The key refused it: altered, moved to another tenant or purpose, or another key under the
    /// same id.
    #[error("does not open with key `{0}`: altered, copied from another tenant or field, or the key changed under the same id")]
    Rejected(String),
}

/// How a stored value is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage<'a> {
    /// Sealed with the key of this id.
    Sealed(&'a str),
    /// In clear (written before sealing existed).
    Clear,
}

/// How a stored value is kept: sealed (it starts with `v1:<key id>:`) or in clear.
pub fn storage(stored: &str) -> Storage<'_> {
    match split(stored) {
        Some((id, _)) => Storage::Sealed(id),
        None => Storage::Clear,
    }
}

/// The key id and body of a sealed value.
fn split(stored: &str) -> Option<(&str, &str)> {
    let rest = stored.strip_prefix(VERSION)?.strip_prefix(':')?;
    let (id, body) = rest.split_once(':')?;
    valid_key_id(id).then_some((id, body))
}

fn valid_key_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The associated data of a value: its format, key, tenant and purpose.
fn associated_data(key_id: &str, tenant: TenantId, purpose: &str) -> Vec<u8> {
    format!("socle-secret\0{VERSION}\0{key_id}\0{tenant}\0{purpose}").into_bytes()
}

struct RingKey {
    id: String,
    key: LessSafeKey,
}

impl RingKey {
    fn new(id: &str, bytes: &[u8]) -> anyhow::Result<Self> {
        anyhow::ensure!(valid_key_id(id), "key id `{id}` must be 1 to 64 letters, digits, `-`, `_` or `.`");
        anyhow::ensure!(bytes.len() == KEY_LEN, "key `{id}` must be {KEY_LEN} bytes (base64 of 32 random bytes), not {}", bytes.len());
        let key = UnboundKey::new(&CHACHA20_POLY1305, bytes).map_err(|_| anyhow::anyhow!("key `{id}` is not a ChaCha20-Poly1305 key"))?;
        Ok(Self { id: id.to_owned(), key: LessSafeKey::new(key) })
    }
}

/// The keys secrets are sealed with: the first seals, each opens what it sealed.
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ids only: the keys themselves never reach a log line.
        f.debug_struct("KeyRing").field("keys", &self.ids().collect::<Vec<_>>()).finish()
    }
}

/// The development key's bytes.
fn development_key() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(sha2::Sha256::digest(DEVELOPMENT_KEY_SEED).to_vec())
}

impl KeyRing {
    /// The ring of `secrets.keys`. Without keys, the development key when `development` (logged
    /// as a warning), otherwise an error saying how to set one. The development key may follow
    /// real keys (entry `dev`, to rotate a development database away from it) but is the current
    /// key only in development.
    pub fn from_settings(settings: &SecretsSettings, development: bool) -> anyhow::Result<Self> {
        if settings.keys.is_empty() {
            anyhow::ensure!(development, MISSING_KEY);
            tracing::warn!(
                key.id = DEVELOPMENT_KEY_ID,
                "secrets.keys is not set: stored secrets are sealed with the public development key (development only; \
                 generate a key with `socle secrets new-key` and set SOCLE__SECRETS__KEYS)"
            );
            return Ok(Self::development());
        }
        let mut keys: Vec<RingKey> = Vec::with_capacity(settings.keys.len());
        for (n, entry) in settings.keys.iter().enumerate() {
            let key = parse_entry(entry.expose_secret()).with_context(|| format!("secrets.keys, entry {}", n + 1))?;
            anyhow::ensure!(!keys.iter().any(|k| k.id == key.id), "secrets.keys names key `{}` twice", key.id);
            keys.push(key);
        }
        anyhow::ensure!(
            development || keys[0].id != DEVELOPMENT_KEY_ID,
            "the development key cannot seal secrets outside development: put a key of your own first in secrets.keys"
        );
        Ok(Self { keys })
    }

    /// A ring of these keys (id, 32 bytes), the first current.
    pub fn new<'a>(keys: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> anyhow::Result<Self> {
        let keys = keys.into_iter().map(|(id, bytes)| RingKey::new(id, bytes)).collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!keys.is_empty(), "a key ring needs at least one key");
        Ok(Self { keys })
    }

    /// The ring holding only the public development key.
    pub fn development() -> Self {
        let key = RingKey::new(DEVELOPMENT_KEY_ID, &development_key()).expect("the development key is 32 bytes");
        Self { keys: vec![key] }
    }

    /// The id of the key that seals.
    pub fn current(&self) -> &str {
        &self.keys[0].id
    }

    /// The ids of the ring's keys, current first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// Seals `clear` for `tenant` and `purpose` with the current key.
    pub fn seal(&self, tenant: TenantId, purpose: &str, clear: &[u8]) -> String {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // Encrypted in place: once sealed, the buffer holds only ciphertext.
        let mut body = clear.to_vec();
        let tag = key
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(associated_data(&key.id, tenant, purpose)), &mut body)
            .expect("a secret is far below ChaCha20-Poly1305's length limit");
        let mut sealed = Vec::with_capacity(NONCE_LEN + body.len() + TAG_LEN);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&body);
        sealed.extend_from_slice(tag.as_ref());
        format!("{VERSION}:{}:{}", key.id, URL_SAFE_NO_PAD.encode(&sealed))
    }

    /// Opens a value sealed for `tenant` and `purpose`.
    pub fn open(&self, tenant: TenantId, purpose: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        let (id, body) = split(sealed).ok_or(OpenError::Malformed)?;
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let mut bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(body).map_err(|_| OpenError::Malformed)?);
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let nonce = Nonce::try_assume_unique_for_key(&bytes[..NONCE_LEN]).map_err(|_| OpenError::Malformed)?;
        let clear_len = key
            .key
            .open_in_place(nonce, Aad::from(associated_data(id, tenant, purpose)), &mut bytes[NONCE_LEN..])
            .map_err(|_| OpenError::Rejected(id.to_owned()))?
            .len();
        let mut clear = Zeroizing::new(Vec::with_capacity(clear_len));
        clear.extend_from_slice(&bytes[NONCE_LEN..NONCE_LEN + clear_len]);
        Ok(clear)
    }

    /// Seals text.
    pub fn seal_str(&self, tenant: TenantId, purpose: &str, clear: &str) -> String {
        self.seal(tenant, purpose, clear.as_bytes())
    }

    /// The clear text of a stored value: opened if sealed, as it is if stored in clear before
    /// sealing existed.
    pub fn reveal(&self, tenant: TenantId, purpose: &str, stored: &str) -> Result<String, OpenError> {
        match storage(stored) {
            Storage::Clear => Ok(stored.to_owned()),
            Storage::Sealed(_) => String::from_utf8(self.open(tenant, purpose, stored)?.to_vec()).map_err(|_| OpenError::Malformed),
        }
    }

    /// Whether a stored value should be sealed again: it is in clear or under another key than
    /// the current one.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        storage(stored) != Storage::Sealed(self.current())
    }
}

/// One `secrets.keys` entry: `<id>:<base64 of 32 bytes>`, or `dev` for the development key.
fn parse_entry(entry: &str) -> anyhow::Result<RingKey> {
    let entry = entry.trim();
    if entry == DEVELOPMENT_KEY_ID {
        return RingKey::new(DEVELOPMENT_KEY_ID, &development_key());
    }
    let Some((id, key)) = entry.split_once(':') else {
        anyhow::bail!("a key is written `<id>:<base64 of 32 random bytes>` (`socle secrets new-key` prints one)");
    };
    anyhow::ensure!(id != DEVELOPMENT_KEY_ID, "the id `{DEVELOPMENT_KEY_ID}` is reserved for the development key");
    // Standard or URL-safe alphabet, padded or not: whatever `openssl rand -base64 32` or a
    // secret manager gives.
    let normalized: String = key
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| {
            if c == '-' {
                '+'
            } else if c == '_' {
                '/'
            } else {
                c
            }
        })
        .collect();
    let bytes = Zeroizing::new(STANDARD_NO_PAD.decode(normalized).map_err(|_| anyhow::anyhow!("key `{id}` is not base64"))?);
    RingKey::new(id, &bytes)
}

/// A new `secrets.keys` entry: `<id>:<base64 of 32 random bytes>`.
pub fn new_key_entry(id: &str) -> anyhow::Result<String> {
    anyhow::ensure!(valid_key_id(id) && id != DEVELOPMENT_KEY_ID, "key id `{id}` must be 1 to 64 letters, digits, `-`, `_` or `.` (and not `dev`)");
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    rand::rng().fill_bytes(bytes.as_mut());
    Ok(format!("{id}:{}", base64::engine::general_purpose::STANDARD.encode(bytes.as_ref())))
}

/// How a holder's secrets are stored: how many under each key id, how many in clear.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Census {
    /// Sealed values per key id.
    pub sealed: BTreeMap<String, u64>,
    /// Values still in clear.
    pub clear: u64,
}

impl Census {
    /// Counts one stored value.
    pub fn count(&mut self, stored: &str) {
        match storage(stored) {
            Storage::Sealed(id) => *self.sealed.entry(id.to_owned()).or_default() += 1,
            Storage::Clear => self.clear += 1,
        }
    }

    /// Adds another census (another tenant's).
    pub fn merge(&mut self, other: &Census) {
        for (id, n) in &other.sealed {
            *self.sealed.entry(id.clone()).or_default() += n;
        }
        self.clear += other.clear;
    }

    /// Every value counted.
    pub fn total(&self) -> u64 {
        self.sealed.values().sum::<u64>() + self.clear
    }

    /// Values in clear or under another key than `current`.
    pub fn outdated(&self, current: &str) -> u64 {
        self.total() - self.sealed.get(current).copied().unwrap_or(0)
    }
}

/// A store that keeps sealed secrets. Each new kind of stored secret implements it and is listed
/// in `App::secret_holders`, so `socle secrets status|rotate` cover it.
#[async_trait]
pub trait SecretHolder: Send + Sync {
    /// What its secrets are, in reports: `totp_seeds`, `plugin_secret_settings`.
    fn secret_kind(&self) -> &'static str;
    /// How the tenant's secrets of this kind are stored.
    async fn secret_census(&self, tenant: TenantId) -> Result<Census, StoreError>;
    /// Seals again with the current key, in one transaction, each of the tenant's secrets of this
    /// kind that is in clear or under another key; returns how many. Running it again changes
    /// nothing.
    async fn reseal_secrets(&self, tenant: TenantId) -> Result<u64, StoreError>;
}

/// The error of a secret that does not open, naming where it is (never its value).
pub fn unreadable(what: impl fmt::Display, tenant: TenantId, err: OpenError) -> StoreError {
    StoreError::Other(anyhow::anyhow!("{what} in tenant {tenant} cannot be read: {err}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::from_u128(1))
    }

    fn other_tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::from_u128(2))
    }

    fn ring(entries: &[&str]) -> KeyRing {
        let settings = SecretsSettings { keys: entries.iter().map(|e| secrecy::SecretString::from(*e)).collect() };
        KeyRing::from_settings(&settings, false).unwrap()
    }

    fn k1() -> String {
        format!("k1:{}", base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
    }

    fn k2() -> String {
        format!("k2:{}", base64::engine::general_purpose::STANDARD.encode([9u8; 32]))
    }

    #[test]
    fn a_sealed_value_opens_for_its_tenant_and_purpose_and_names_its_key() {
        let ring = ring(&[&k1()]);
        let sealed = ring.seal_str(tenant(), "totp:u1", "JBSWY3DPEHPK3PXP");
        assert!(sealed.starts_with("v1:k1:"), "{sealed}");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(storage(&sealed), Storage::Sealed("k1"));
        assert_eq!(ring.open(tenant(), "totp:u1", &sealed).unwrap().as_slice(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(ring.reveal(tenant(), "totp:u1", &sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        assert_ne!(sealed, ring.seal_str(tenant(), "totp:u1", "JBSWY3DPEHPK3PXP"), "a fresh nonce each time");
    }

    #[test]
    fn another_tenant_or_purpose_does_not_open_it() {
        let ring = ring(&[&k1()]);
        let sealed = ring.seal_str(tenant(), "plugin_setting:p:token", "s3cr3t");
        assert_eq!(ring.open(other_tenant(), "plugin_setting:p:token", &sealed), Err(OpenError::Rejected("k1".into())));
        assert_eq!(ring.open(tenant(), "plugin_setting:p:other", &sealed), Err(OpenError::Rejected("k1".into())));
        assert_eq!(ring.open(tenant(), "totp:u1", &sealed), Err(OpenError::Rejected("k1".into())));
    }

    #[test]
    fn a_wrong_or_missing_key_does_not_open_it() {
        let sealed = ring(&[&k1()]).seal_str(tenant(), "x", "s3cr3t");
        assert_eq!(ring(&[&k2()]).open(tenant(), "x", &sealed), Err(OpenError::UnknownKey("k1".into())));
        // Another key under the same id.
        let impostor = format!("k1:{}", base64::engine::general_purpose::STANDARD.encode([8u8; 32]));
        assert_eq!(ring(&[&impostor]).open(tenant(), "x", &sealed), Err(OpenError::Rejected("k1".into())));
        // Relabelled as sealed with another key of the ring.
        let relabelled = sealed.replacen("v1:k1:", "v1:k2:", 1);
        assert_eq!(ring(&[&k2(), &k1()]).open(tenant(), "x", &relabelled), Err(OpenError::Rejected("k2".into())));
    }

    #[test]
    fn a_tampered_value_fails_cleanly() {
        let ring = ring(&[&k1()]);
        let sealed = ring.seal_str(tenant(), "x", "s3cr3t");
        let body = sealed.strip_prefix("v1:k1:").unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        for position in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[position] ^= 1;
            let tampered = format!("v1:k1:{}", URL_SAFE_NO_PAD.encode(&bytes));
            assert_eq!(ring.open(tenant(), "x", &tampered), Err(OpenError::Rejected("k1".into())), "byte {position}");
            bytes[position] ^= 1;
        }
        let truncated = format!("v1:k1:{}", URL_SAFE_NO_PAD.encode(&bytes[..NONCE_LEN + TAG_LEN - 1]));
        assert_eq!(ring.open(tenant(), "x", &truncated), Err(OpenError::Malformed));
        assert_eq!(ring.open(tenant(), "x", "v1:k1:not base64!"), Err(OpenError::Malformed));
        assert_eq!(ring.open(tenant(), "x", "JBSWY3DPEHPK3PXP"), Err(OpenError::Malformed));
        let shortened = format!("v1:k1:{}", URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]));
        assert_eq!(ring.open(tenant(), "x", &shortened), Err(OpenError::Rejected("k1".into())));
        assert_eq!(ring.open(tenant(), "x", &sealed[..sealed.len() - 1]), Err(OpenError::Malformed), "not canonical base64 any more");
    }

    #[test]
    fn older_keys_open_and_only_the_first_seals() {
        let old = ring(&[&k1()]).seal_str(tenant(), "x", "ancien");
        let rotated = ring(&[&k2(), &k1()]);
        assert_eq!(rotated.current(), "k2");
        assert_eq!(rotated.ids().collect::<Vec<_>>(), ["k2", "k1"]);
        assert_eq!(rotated.reveal(tenant(), "x", &old).unwrap(), "ancien");
        assert!(rotated.needs_reseal(&old));
        let new = rotated.seal_str(tenant(), "x", "ancien");
        assert!(new.starts_with("v1:k2:") && !rotated.needs_reseal(&new));
        assert!(rotated.needs_reseal("JBSWY3DPEHPK3PXP"), "a clear value is sealed by a rotation");
        assert_eq!(rotated.reveal(tenant(), "x", "JBSWY3DPEHPK3PXP").unwrap(), "JBSWY3DPEHPK3PXP", "values from before sealing still read");
    }

    #[test]
    fn keys_are_checked_when_the_ring_is_built() {
        let settings = |entries: &[&str]| SecretsSettings { keys: entries.iter().map(|e| secrecy::SecretString::from(*e)).collect() };
        let refused = |entries: &[&str], development: bool| KeyRing::from_settings(&settings(entries), development).unwrap_err().to_string();
        let missing = refused(&[], false);
        assert!(
            missing.contains("secrets.keys is not set") && missing.contains("SOCLE__SECRETS__KEYS") && missing.contains("socle secrets new-key"),
            "{missing}"
        );
        assert_eq!(KeyRing::from_settings(&settings(&[]), true).unwrap().current(), DEVELOPMENT_KEY_ID);
        assert!(format!("{:#}", KeyRing::from_settings(&settings(&["k1:c2hvcnQ="]), false).unwrap_err()).contains("32 bytes"));
        assert!(format!("{:#}", KeyRing::from_settings(&settings(&["nocolon"]), false).unwrap_err()).contains("<id>:<base64"));
        assert!(format!("{:#}", KeyRing::from_settings(&settings(&["k 1:AAAA"]), false).unwrap_err()).contains("key id"));
        assert!(refused(&[&k1(), &k1()], false).contains("twice"));
        assert!(refused(&["dev", &k1()], false).contains("development key cannot seal"));
        assert_eq!(KeyRing::from_settings(&settings(&[&k1(), "dev"]), false).unwrap().ids().collect::<Vec<_>>(), ["k1", "dev"]);
        // URL-safe and unpadded keys are accepted as well.
        let url_safe = format!("k3:{}", URL_SAFE_NO_PAD.encode([0xfbu8; 32]));
        assert_eq!(ring(&[&url_safe]).current(), "k3");
        let generated = new_key_entry("2026-12").unwrap();
        assert_eq!(ring(&[&generated]).current(), "2026-12");
        assert!(new_key_entry("dev").is_err() && new_key_entry("a:b").is_err());
    }

    #[test]
    fn the_ring_never_prints_its_keys() {
        let entry = k1();
        let printed = format!("{:?}", ring(&[&entry]));
        assert_eq!(printed, "KeyRing { keys: [\"k1\"] }");
        let settings = SecretsSettings { keys: vec![secrecy::SecretString::from(entry.clone())] };
        assert!(!format!("{settings:?}").contains(entry.split_once(':').unwrap().1));
    }

    #[test]
    fn a_census_counts_keys_and_clear_values() {
        let ring = ring(&[&k1()]);
        let mut census = Census::default();
        census.count(&ring.seal_str(tenant(), "x", "a"));
        census.count(&ring.seal_str(tenant(), "x", "b"));
        census.count("JBSWY3DPEHPK3PXP");
        let mut total = Census::default();
        total.merge(&census);
        total.merge(&census);
        assert_eq!(total.sealed, BTreeMap::from([("k1".to_owned(), 4)]));
        assert_eq!((total.clear, total.total(), total.outdated("k1"), total.outdated("k2")), (2, 6, 2, 6));
    }
}
