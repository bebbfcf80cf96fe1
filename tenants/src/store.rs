use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{DomainName, NewTenant, Slug, Tenant, TenantError, TenantId, TenantPatch, TenantStatus};

/// Which branding image an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetKind {
    /// Shown in the portal header, login page and mails.
    Logo,
    /// The browser tab icon.
    Favicon,
}

impl AssetKind {
    /// The key as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Logo => "logo",
            Self::Favicon => "favicon",
        }
    }
}

/// A branding image as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAsset {
    /// MIME type, one of the accepted image types.
    pub content_type: String,
    /// Hex sha256 of the bytes.
    pub sha256: String,
    /// The image.
    pub bytes: Vec<u8>,
}

/// Who made a change and from where; stores write it into the audit journal in the same
/// transaction as the change itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `user:<uuid>`, `operator:<uuid>`, `cli`, `system` or `plugin:<id>`.
    pub subject: String,
    /// A human label (an email, a command) for the journal.
    pub label: String,
    /// Client address, when the change came over HTTP.
    pub ip: Option<String>,
    /// Request id, when the change came over HTTP.
    pub request_id: Option<String>,
}

impl Actor {
    /// The command-line operator (`socle …` on the server).
    pub fn cli(command: &str) -> Self {
        Self { subject: "cli".into(), label: command.into(), ip: None, request_id: None }
    }

    /// The platform itself (jobs, demo seeding).
    pub fn system(what: &str) -> Self {
        Self { subject: "system".into(), label: what.into(), ip: None, request_id: None }
    }
}

/// Storage of tenants. Tenants are the platform's registry: they are not tenant-owned rows, so
/// lookups by slug or domain work before any tenant is known (that is how a request finds its
/// tenant). Every change is journalled with its [`Actor`] in the same transaction.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant. Fails with [`TenantError::SlugTaken`] if the slug exists.
    async fn create(&self, new: NewTenant, by: &Actor) -> Result<Tenant, TenantError>;
    /// The tenant with this id.
    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, TenantError>;
    /// The tenant with this slug.
    async fn by_slug(&self, slug: &Slug) -> Result<Option<Tenant>, TenantError>;
    /// The tenant a custom domain points to.
    async fn by_domain(&self, domain: &DomainName) -> Result<Option<Tenant>, TenantError>;
    /// Every tenant, ordered by slug.
    async fn list(&self) -> Result<Vec<Tenant>, TenantError>;
    /// Applies a validated patch and returns the new state.
    async fn update(&self, id: TenantId, patch: &TenantPatch, by: &Actor) -> Result<Tenant, TenantError>;
    /// Suspends or reactivates.
    async fn set_status(&self, id: TenantId, status: TenantStatus, by: &Actor) -> Result<Tenant, TenantError>;
    /// Deletes the tenant and every row it owns (the audit journal keeps its history).
    async fn delete(&self, id: TenantId, by: &Actor) -> Result<(), TenantError>;
    /// Attaches a custom domain.
    async fn add_domain(&self, id: TenantId, domain: &DomainName, by: &Actor) -> Result<(), TenantError>;
    /// Detaches a custom domain.
    async fn remove_domain(&self, id: TenantId, domain: &DomainName, by: &Actor) -> Result<(), TenantError>;
    /// Stores a branding image (already validated) and returns its sha256.
    async fn put_asset(&self, id: TenantId, kind: AssetKind, content_type: &str, bytes: &[u8], by: &Actor) -> Result<String, TenantError>;
    /// The current branding image of this kind.
    async fn asset(&self, id: TenantId, kind: AssetKind) -> Result<Option<StoredAsset>, TenantError>;
}
