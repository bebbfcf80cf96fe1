//! Publisher accounts: created by an operator, they publish with API tokens (only a hash is
//! stored) and sign with ed25519 keys they generate themselves (the server never sees a secret
//! key). Adding a key makes it current and retires the previous one; revoking marks a key
//! compromised.

use serde::Serialize;
use socle_marketplace::signing::PublicKey;

use super::Marketplace;
use super::catalogue::InstallStats;
use super::store::{Publisher, PublisherKey, TokenInfo};
use crate::identity::secrets::{random_token, token_hash};

/// Prefix of publisher tokens, so a leaked one is recognisable (and greppable by scanners).
pub const TOKEN_PREFIX: &str = "socle_pub_";

/// Why a publisher operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    /// Bad input; the message says what to fix.
    #[error("{0}")]
    Invalid(String),
    /// The thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] anyhow::Error),
}

impl From<crate::error::StoreError> for PublisherError {
    fn from(err: crate::error::StoreError) -> Self {
        match err {
            crate::error::StoreError::Conflict(message) => Self::Invalid(message),
            other => Self::Platform(other.into()),
        }
    }
}

impl Marketplace {
    /// Creates a publisher and its first API token (returned once, never stored in clear).
    pub async fn create_publisher(&self, id: &str, name: &str, email: &str) -> Result<(Publisher, String), PublisherError> {
        let id_ok = (2..=40).contains(&id.len())
            && id.as_bytes()[0].is_ascii_lowercase()
            && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(PublisherError::Invalid(format!("`{id}` is not a publisher id: 2 to 40 lowercase letters, digits and `-`, starting with a letter")));
        }
        if name.trim().is_empty() || name.len() > 120 {
            return Err(PublisherError::Invalid("the publisher name must have 1 to 120 characters".into()));
        }
        if !email.contains('@') || email.len() > 254 {
            return Err(PublisherError::Invalid(format!("`{email}` is not an email address")));
        }
        let publisher = Publisher { id: id.into(), name: name.trim().into(), email: email.into(), status: "active".into(), created_at: self.now_ms() };
        if !self.store.create_publisher(&publisher).await? {
            return Err(PublisherError::Invalid(format!("publisher `{id}` already exists")));
        }
        let token = self.add_publisher_token(id, "default").await?;
        Ok((publisher, token))
    }

    /// Issues a new API token for a publisher; returns it in clear, once.
    pub async fn add_publisher_token(&self, publisher: &str, name: &str) -> Result<String, PublisherError> {
        if name.trim().is_empty() || name.len() > 80 {
            return Err(PublisherError::Invalid("a token name must have 1 to 80 characters".into()));
        }
        let token = format!("{TOKEN_PREFIX}{}", random_token());
        self.store.add_token(publisher, &uuid::Uuid::now_v7().to_string(), name.trim(), &token_hash(&token)).await?;
        Ok(token)
    }

    /// The publisher a bearer token belongs to.
    pub async fn authenticate_publisher(&self, token: &str) -> Result<Option<Publisher>, PublisherError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        Ok(self.store.publisher_by_token(&token_hash(token)).await?)
    }

    /// Registers a public key (`ed25519:<base64>`) as the publisher's current signing key.
    pub async fn add_publisher_key(&self, publisher: &str, public_key: &str) -> Result<PublisherKey, PublisherError> {
        let key: PublicKey = public_key
            .trim()
            .parse()
            .map_err(|e| PublisherError::Invalid(format!("not a public key: {e}; use the `public_key` printed by `socle plugin keygen`")))?;
        self.store.add_key(publisher, &key.key_id(), &key.to_string()).await?;
        let keys = self.store.keys(publisher).await?;
        keys.into_iter().find(|k| k.key_id == key.key_id()).ok_or_else(|| PublisherError::Platform(anyhow::anyhow!("the key vanished after insert")))
    }

    /// Revokes a key.
    pub async fn revoke_publisher_key(&self, publisher: &str, key_id: &str) -> Result<(), PublisherError> {
        if !self.store.revoke_key(publisher, key_id).await? {
            return Err(PublisherError::NotFound(format!("publisher {publisher} has no key {key_id} to revoke")));
        }
        Ok(())
    }
}

/// What a publisher sees of its account: itself, its signing keys and its tokens (never a
/// token's secret).
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// The publisher.
    pub publisher: Publisher,
    /// Signing keys, current and retired.
    pub keys: Vec<PublisherKey>,
    /// API tokens.
    pub tokens: Vec<TokenInfo>,
}

/// One of the publisher's versions as its console and API show it.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedVersion {
    /// Plugin id.
    pub plugin: String,
    /// Version.
    pub version: String,
    /// Archive digest.
    pub digest: String,
    /// `stable` or `beta`.
    pub channel: String,
    /// `in_review`, `listed`, `rejected`…
    pub status: String,
    /// Risk score of the validation.
    pub risk: i64,
    /// The validation report.
    pub report: serde_json::Value,
    /// The reviewer's note.
    pub review_note: Option<String>,
    /// Why it was yanked, if it was.
    pub yanked: Option<String>,
    /// Why the plugin is deprecated, if it is.
    pub deprecated: Option<String>,
    /// Submission time (ms).
    pub submitted_at: i64,
    /// The plugin's install numbers.
    pub installs: InstallStats,
}

impl Marketplace {
    /// The publisher's account.
    pub async fn publisher_account(&self, publisher: &Publisher) -> anyhow::Result<Account> {
        let keys = self.store.keys(&publisher.id).await?;
        let tokens = self.store.tokens(&publisher.id).await?;
        Ok(Account { publisher: publisher.clone(), keys, tokens })
    }

    /// Every version the publisher submitted, newest first.
    pub async fn published_versions(&self, publisher: &Publisher) -> anyhow::Result<Vec<PublishedVersion>> {
        let versions = self.store.publisher_versions(&publisher.id).await?;
        let stats = self.install_stats().await?;
        Ok(versions
            .into_iter()
            .map(|v| PublishedVersion {
                installs: stats.get(&v.plugin_id).copied().unwrap_or_default(),
                plugin: v.plugin_id,
                version: v.version,
                digest: v.digest,
                channel: v.channel,
                status: v.status,
                risk: v.risk,
                report: v.report,
                review_note: v.review_note,
                yanked: v.yanked,
                deprecated: v.deprecated,
                submitted_at: v.submitted_at,
            })
            .collect())
    }

    /// Whether `plugin` is the publisher's (another publisher's plugin and a missing one look
    /// the same to it).
    pub async fn publishes(&self, publisher: &Publisher, plugin: &str) -> anyhow::Result<bool> {
        let versions = self.store.versions(plugin).await?;
        Ok(versions.first().is_some_and(|v| v.publisher_id == publisher.id))
    }
}
