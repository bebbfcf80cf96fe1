//! Storage of the marketplace: publishers (tokens, keys), packages and versions, tenants'
//! lockfiles with the operation journal, the approval inbox, reviews and install events. The
//! marketplace tables hold only text, integers and bytes, so their SQL is the same on both
//! databases.

use super::sql::SqlMarketplaceStore;
use crate::db::from_row;
use crate::db::{Row, Scope, Tx};
use crate::error::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use socle_tenants::TenantId;

/// A retention to store when an uninstall finishes.
#[derive(Debug, Clone)]
pub struct Retained {
    /// Id.
    pub id: String,
    /// Plugin uninstalled.
    pub plugin_id: String,
    /// Its version then.
    pub version: String,
    /// The collections it defined (whose records are its data).
    pub collections: Vec<String>,
    /// The NDJSON export.
    pub export: String,
    /// Records exported.
    pub records: i64,
    /// Kv keys exported.
    pub kv_keys: i64,
    /// Creation (ms).
    pub created_at: i64,
    /// When the data is purged (ms).
    pub purge_at: i64,
}

/// What a finished operation does to retentions, in its transaction.
#[derive(Debug, Clone, Default)]
pub struct RetentionChange {
    /// Data of plugins this operation removed.
    pub kept: Vec<Retained>,
    /// Plugins this operation installed again: their kept data is theirs again.
    pub restored: Vec<String>,
}

/// A partner account that owns plugin ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    /// Slug, the `publisher` of its manifests.
    pub id: String,
    /// Displayed name.
    pub name: String,
    /// Contact address.
    pub email: String,
    /// `active` or `suspended`.
    pub status: String,
    /// Creation time (ms).
    pub created_at: i64,
}

/// A publisher's API token, without its secret.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    /// Token id.
    pub id: String,
    /// What it is for.
    pub name: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last use (ms).
    pub last_used_at: Option<i64>,
    /// Revocation time (ms).
    pub revoked_at: Option<i64>,
}

/// A publisher's signing key.
#[derive(Debug, Clone, Serialize)]
pub struct PublisherKey {
    /// `ed25519:<hex>` fingerprint.
    pub key_id: String,
    /// `ed25519:<base64>`.
    pub public_key: String,
    /// `current`, `retired` or `revoked`.
    pub status: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// When it was retired or revoked (ms).
    pub changed_at: Option<i64>,
}

/// A submitted version of a package.
#[derive(Debug, Clone, Serialize)]
pub struct VersionRow {
    /// Plugin id.
    pub plugin_id: String,
    /// Exact version.
    pub version: String,
    /// Publisher owning the plugin id.
    pub publisher_id: String,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    /// sha256 (hex) of the component.
    pub component_sha256: String,
    /// The manifest text.
    pub manifest: String,
    /// README.
    pub readme: Option<String>,
    /// CHANGELOG.
    pub changelog: Option<String>,
    /// The detached signature (JSON).
    pub signature: String,
    /// Key that signed it.
    pub key_id: String,
    /// `stable` or `beta`.
    pub channel: String,
    /// `in_review`, `listed` or `rejected`.
    pub status: String,
    /// Risk score of its capabilities (0–100).
    pub risk: i64,
    /// The validation report (JSON).
    pub report: serde_json::Value,
    /// The reviewer's reason.
    pub review_note: Option<String>,
    /// Reviewer.
    pub reviewed_by: Option<String>,
    /// Review time (ms).
    pub reviewed_at: Option<i64>,
    /// Why it was yanked, when it is.
    pub yanked: Option<String>,
    /// Why the whole plugin is deprecated, when it is.
    pub deprecated: Option<String>,
    /// Submission time (ms).
    pub submitted_at: i64,
}

/// What inserting a version did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored, in review.
    Stored,
    /// This version already exists: versions are immutable.
    VersionExists,
    /// The plugin id belongs to another publisher.
    OwnedBy(String),
}

/// A tenant's requested plugins and the lockfile they resolved to.
#[derive(Debug, Clone, Default)]
pub struct TenantLock {
    /// Requested plugins (JSON of [`super::Wants`]).
    pub wants: String,
    /// `tenant.lock` text.
    pub lock: String,
}

/// One entry of the operation journal.
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    /// Id.
    pub id: String,
    /// `install`, `upgrade`, `rollback`, `uninstall`, `apply`.
    pub kind: String,
    /// What was asked, in words.
    pub summary: String,
    /// `applying`, `done` or `rolled_back`.
    pub state: String,
    /// Requests before.
    pub from_wants: String,
    /// Lockfile before.
    pub from_lock: String,
    /// Requests after.
    pub to_wants: String,
    /// Lockfile after.
    pub to_lock: String,
    /// What the affected plugins looked like before (JSON), to restore after a failure.
    #[serde(skip)]
    pub snapshot: String,
    /// Why it was rolled back.
    pub error: Option<String>,
    /// Who asked.
    pub actor: String,
    /// Start (ms).
    pub started_at: i64,
    /// End (ms).
    pub finished_at: Option<i64>,
}

/// Capabilities waiting in a tenant's approval inbox.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    /// Id.
    pub id: String,
    /// Plugin.
    pub plugin_id: String,
    /// The version that asks.
    pub version: String,
    /// Grant keys asked for.
    pub grants: Vec<String>,
    /// `pending`, `approved`, `rejected` or `superseded`.
    pub status: String,
    /// Creation time (ms).
    pub created_at: i64,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When (ms).
    pub decided_at: Option<i64>,
}

/// A tenant's review of a plugin.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// Plugin.
    pub plugin_id: String,
    /// Reviewing tenant (not shown publicly).
    #[serde(skip)]
    pub tenant: TenantId,
    /// 1 to 5.
    pub stars: i64,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// The publisher's reply.
    pub reply: Option<String>,
    /// Creation (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// Reviews of a plugin, summed up.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rating {
    /// Average stars.
    pub average: f64,
    /// Number of reviews.
    pub count: usize,
}

/// Storage of publishers, packages, tenants' plugin operations, approvals, reviews and events.
#[async_trait]
pub trait CoreStore: Send + Sync {
    /// Creates a publisher; false if the id is taken.
    async fn create_publisher(&self, publisher: &Publisher) -> Result<bool, StoreError>;
    /// A publisher by id.
    async fn publisher(&self, id: &str) -> Result<Option<Publisher>, StoreError>;
    /// Stores a token's hash.
    async fn add_token(&self, publisher: &str, id: &str, name: &str, hash: &str) -> Result<(), StoreError>;
    /// The active publisher owning a live token, noting its use.
    async fn publisher_by_token(&self, hash: &str) -> Result<Option<Publisher>, StoreError>;
    /// Revokes a token; false if the publisher has no such live token.
    async fn revoke_token(&self, publisher: &str, id: &str) -> Result<bool, StoreError>;
    /// A publisher's tokens.
    async fn tokens(&self, publisher: &str) -> Result<Vec<TokenInfo>, StoreError>;
    /// Makes a key the publisher's current one, retiring the previous current key.
    async fn add_key(&self, publisher: &str, key_id: &str, public_key: &str) -> Result<(), StoreError>;
    /// Marks a key revoked; false if the publisher has no such key.
    async fn revoke_key(&self, publisher: &str, key_id: &str) -> Result<bool, StoreError>;
    /// A publisher's keys, newest first.
    async fn keys(&self, publisher: &str) -> Result<Vec<PublisherKey>, StoreError>;

    /// Stores a submitted version with its archive and component, claiming the plugin id for
    /// the publisher if it is new — all in one transaction.
    async fn insert_version(&self, row: &VersionRow, archive: &[u8]) -> Result<Inserted, StoreError>;
    /// One version.
    async fn version(&self, plugin: &str, version: &str) -> Result<Option<VersionRow>, StoreError>;
    /// Every version of a plugin (any status).
    async fn versions(&self, plugin: &str) -> Result<Vec<VersionRow>, StoreError>;
    /// Every listed version of every plugin: the resolver's index and the catalogue.
    async fn listed(&self) -> Result<Vec<VersionRow>, StoreError>;
    /// Versions waiting for review, oldest first.
    async fn review_queue(&self) -> Result<Vec<VersionRow>, StoreError>;
    /// A publisher's versions, newest first.
    async fn publisher_versions(&self, publisher: &str) -> Result<Vec<VersionRow>, StoreError>;
    /// Records a review decision on a version in review; false if it is not in review.
    async fn decide(&self, plugin: &str, version: &str, status: &str, note: &str, by: &str) -> Result<bool, StoreError>;
    /// Yanks (`Some(message)`) or unyanks (`None`) a version; false if it does not exist.
    async fn set_yanked(&self, plugin: &str, version: &str, message: Option<&str>) -> Result<bool, StoreError>;
    /// Deprecates (`Some(message)`) or undeprecates a plugin; false if it does not exist.
    async fn set_deprecated(&self, plugin: &str, message: Option<&str>) -> Result<bool, StoreError>;
    /// An archive by digest.
    async fn archive(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// A tenant's requests and lockfile.
    async fn tenant_lock(&self, tenant: TenantId) -> Result<Option<TenantLock>, StoreError>;
    /// Journals an operation before anything moves.
    async fn start_operation(&self, tenant: TenantId, op: &Operation) -> Result<(), StoreError>;
    /// Ends an operation; `done` also stores its target requests and lockfile, in the same
    /// transaction, so the tenant's lock and the journal never disagree.
    /// `approvals` are added to the inbox in that transaction too, and so are the data
    /// retentions of plugins it removed (or restored).
    async fn finish_operation(
        &self,
        tenant: TenantId,
        id: &str,
        state: &str,
        error: Option<&str>,
        approvals: &[Approval],
        retention: &RetentionChange,
    ) -> Result<(), StoreError>;
    /// The tenant's latest operations, newest first.
    async fn operations(&self, tenant: TenantId, limit: i64) -> Result<Vec<Operation>, StoreError>;
    /// Notes that the node applying an operation is alive.
    async fn heartbeat(&self, tenant: TenantId, id: &str) -> Result<(), StoreError>;
    /// Operations of every tenant still `applying` whose heartbeat stopped before `stale_before`
    /// (ms): interrupted by a crash.
    async fn interrupted(&self, stale_before: i64) -> Result<Vec<(TenantId, Operation)>, StoreError>;
    /// Adds an approval request, superseding the plugin's earlier pending ones.
    async fn add_approval(&self, tenant: TenantId, approval: &Approval) -> Result<(), StoreError>;
    /// The tenant's approval requests, newest first.
    async fn approvals(&self, tenant: TenantId) -> Result<Vec<Approval>, StoreError>;
    /// Decides a pending request; false if it is not pending.
    async fn decide_approval(&self, tenant: TenantId, id: &str, status: &str, by: &str) -> Result<bool, StoreError>;

    /// Creates or replaces the tenant's review of a plugin.
    async fn put_review(&self, review: &Review) -> Result<(), StoreError>;
    /// A plugin's reviews, newest first.
    async fn reviews(&self, plugin: &str) -> Result<Vec<Review>, StoreError>;
    /// Average stars and review count per plugin.
    async fn ratings(&self) -> Result<std::collections::BTreeMap<String, Rating>, StoreError>;
    /// The publisher's reply to a review; false if there is no such review.
    async fn reply(&self, plugin: &str, review_created_at: i64, reply: &str) -> Result<bool, StoreError>;
    /// Notes an install event.
    async fn record_event(&self, tenant: TenantId, plugin: &str, version: &str, kind: &str) -> Result<(), StoreError>;
    /// Tenants that ever installed each plugin.
    async fn install_totals(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError>;
    /// Whether the tenant ever installed the plugin (who may review it).
    async fn ever_installed(&self, tenant: TenantId, plugin: &str) -> Result<bool, StoreError>;
}

fn version_row(r: &Row) -> Result<VersionRow, StoreError> {
    let report: String = r.get::<String>("report")?;
    Ok(from_row!(r => VersionRow {
        plugin_id, version, publisher_id, digest, component_sha256, manifest, readme, changelog, signature, key_id, channel, status, risk,
        report = serde_json::from_str(&report).map_err(anyhow::Error::from)?, review_note, reviewed_by, reviewed_at, yanked, deprecated, submitted_at
    }))
}

fn operation(r: &Row) -> Result<Operation, StoreError> {
    Ok(from_row!(r => Operation { id, kind, summary, state, from_wants, from_lock, to_wants, to_lock, snapshot, error, actor, started_at, finished_at }))
}

fn approval(r: &Row) -> Result<Approval, StoreError> {
    let grants: String = r.get::<String>("grants")?;
    Ok(from_row!(r => Approval {
        id, plugin_id, version, grants = serde_json::from_str(&grants).map_err(anyhow::Error::from)?, status, created_at, decided_by, decided_at
    }))
}

/// A query of versions with their package's publisher and deprecation: `versions!("WHERE …")`.
macro_rules! versions {
    ($rest:literal) => {
        concat!("SELECT v.*, p.publisher_id, p.deprecated FROM package_versions v JOIN packages p ON p.plugin_id = v.plugin_id ", $rest)
    };
}

/// Supersedes the plugin's pending requests and adds `a`, inside the caller's transaction.
async fn insert_approval(tx: &mut Tx, tenant: TenantId, a: &Approval) -> Result<(), StoreError> {
    tx.query("UPDATE plugin_approvals SET status = 'superseded', decided_at = $1 WHERE tenant_id = $2 AND plugin_id = $3 AND status = 'pending'")
        .bind((a.created_at, tenant, &a.plugin_id))
        .execute(tx)
        .await?;
    tx.query("INSERT INTO plugin_approvals (id, tenant_id, plugin_id, version, grants, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind((&a.id, tenant, &a.plugin_id, &a.version, serde_json::to_string(&a.grants).map_err(anyhow::Error::from)?, &a.status, a.created_at))
        .execute(tx)
        .await?;
    Ok(())
}

#[async_trait]
impl CoreStore for SqlMarketplaceStore {
    async fn create_publisher(&self, p: &Publisher) -> Result<bool, StoreError> {
        let done = self
            .db
            .writing(Scope::Platform, "INSERT INTO publishers (id, name, email, status, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
            .bind((&p.id, &p.name, &p.email, &p.status, p.created_at))
            .execute()
            .await?
            == 1;
        Ok(done)
    }

    async fn publisher(&self, id: &str) -> Result<Option<Publisher>, StoreError> {
        let row = self.db.reading(Scope::Platform, "SELECT * FROM publishers WHERE id = $1").bind(id).optional().await?;
        row.map(|r| publisher_row(&r)).transpose()
    }

    async fn add_token(&self, publisher: &str, id: &str, name: &str, hash: &str) -> Result<(), StoreError> {
        self.db
            .writing(Scope::Platform, "INSERT INTO publisher_tokens (id, publisher_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind((id, publisher, name, hash, self.clock.now_ms()))
            .execute()
            .await?;
        Ok(())
    }

    async fn publisher_by_token(&self, hash: &str) -> Result<Option<Publisher>, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let row = tx
            .query(
                "SELECT p.* FROM publisher_tokens t JOIN publishers p ON p.id = t.publisher_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND p.status = 'active'",
            )
            .bind(hash)
            .fetch_optional(&mut tx)
            .await?;
        if row.is_some() {
            tx.query("UPDATE publisher_tokens SET last_used_at = $1 WHERE token_hash = $2").bind(self.clock.now_ms()).bind(hash).execute(&mut tx).await?;
        }
        tx.commit().await?;
        row.map(|r| publisher_row(&r)).transpose()
    }

    async fn revoke_token(&self, publisher: &str, id: &str) -> Result<bool, StoreError> {
        let done = self
            .db
            .writing(Scope::Platform, "UPDATE publisher_tokens SET revoked_at = $1 WHERE publisher_id = $2 AND id = $3 AND revoked_at IS NULL")
            .bind((self.clock.now_ms(), publisher, id))
            .execute()
            .await?
            == 1;
        Ok(done)
    }

    async fn tokens(&self, publisher: &str) -> Result<Vec<TokenInfo>, StoreError> {
        let rows =
            self.db.reading(Scope::Platform, "SELECT * FROM publisher_tokens WHERE publisher_id = $1 ORDER BY created_at DESC").bind(publisher).all().await?;
        rows.iter().map(|r| Ok(from_row!(r => TokenInfo { id, name, created_at, last_used_at, revoked_at }))).collect()
    }

    async fn add_key(&self, publisher: &str, key_id: &str, public_key: &str) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Platform).await?;
        let known: Option<String> = tx.query("SELECT status FROM publisher_keys WHERE key_id = $1").bind(key_id).scalar(&mut tx).await?;
        if known.is_some() {
            return Err(StoreError::Conflict(format!("key {key_id} was already registered; generate a new key to rotate")));
        }
        tx.query("UPDATE publisher_keys SET status = 'retired', changed_at = $1 WHERE publisher_id = $2 AND status = 'current'")
            .bind((now, publisher))
            .execute(&mut tx)
            .await?;
        tx.query("INSERT INTO publisher_keys (key_id, publisher_id, public_key, status, created_at) VALUES ($1, $2, $3, 'current', $4)")
            .bind((key_id, publisher, public_key, now))
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_key(&self, publisher: &str, key_id: &str) -> Result<bool, StoreError> {
        let done = self
            .db
            .writing(
                Scope::Platform,
                "UPDATE publisher_keys SET status = 'revoked', changed_at = $1 WHERE publisher_id = $2 AND key_id = $3 AND status <> 'revoked'",
            )
            .bind((self.clock.now_ms(), publisher, key_id))
            .execute()
            .await?
            == 1;
        Ok(done)
    }

    async fn keys(&self, publisher: &str) -> Result<Vec<PublisherKey>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT * FROM publisher_keys WHERE publisher_id = $1 ORDER BY created_at DESC, key_id")
            .bind(publisher)
            .all_as(|r| Ok(from_row!(r => PublisherKey { key_id, public_key, status, created_at, changed_at })))
            .await
    }

    async fn insert_version(&self, row: &VersionRow, archive: &[u8]) -> Result<Inserted, StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Platform).await?;
        let owner: Option<String> = tx.query("SELECT publisher_id FROM packages WHERE plugin_id = $1").bind(&row.plugin_id).scalar(&mut tx).await?;
        match owner {
            Some(owner) if owner != row.publisher_id => return Ok(Inserted::OwnedBy(owner)),
            Some(_) => {}
            None => {
                // Two first submissions at once: the primary key gives the id to one of them.
                let claimed = tx
                    .query("INSERT INTO packages (plugin_id, publisher_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind((&row.plugin_id, &row.publisher_id, now))
                    .execute(&mut tx)
                    .await?;
                if claimed == 0 {
                    let owner: Option<String> = tx.query("SELECT publisher_id FROM packages WHERE plugin_id = $1").bind(&row.plugin_id).scalar(&mut tx).await?;
                    if let Some(owner) = owner.filter(|owner| *owner != row.publisher_id) {
                        return Ok(Inserted::OwnedBy(owner));
                    }
                }
            }
        }
        let exists: Option<String> =
            tx.query("SELECT version FROM package_versions WHERE plugin_id = $1 AND version = $2").bind((&row.plugin_id, &row.version)).scalar(&mut tx).await?;
        if exists.is_some() {
            return Ok(Inserted::VersionExists);
        }
        tx.query("INSERT INTO package_archives (digest, bytes, size, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind((&row.digest, archive, archive.len() as i64, now))
            .execute(&mut tx)
            .await?;
        tx.query(
            "INSERT INTO package_versions (plugin_id, version, digest, component_sha256, manifest, readme, changelog, signature, key_id,
                 channel, status, risk, report, review_note, reviewed_by, reviewed_at, submitted_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind((
            &row.plugin_id,
            &row.version,
            &row.digest,
            &row.component_sha256,
            &row.manifest,
            &row.readme,
            &row.changelog,
            &row.signature,
            &row.key_id,
            &row.channel,
            &row.status,
            row.risk,
            row.report.to_string(),
            &row.review_note,
            &row.reviewed_by,
            row.reviewed_at,
        ))
        .bind(row.submitted_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(Inserted::Stored)
    }

    async fn version(&self, plugin: &str, version: &str) -> Result<Option<VersionRow>, StoreError> {
        self.db
            .reading(Scope::Platform, versions!("WHERE v.plugin_id = $1 AND v.version = $2"))
            .bind((plugin, version))
            .optional()
            .await?
            .map(|r| version_row(&r))
            .transpose()
    }

    async fn versions(&self, plugin: &str) -> Result<Vec<VersionRow>, StoreError> {
        self.db.reading(Scope::Platform, versions!("WHERE v.plugin_id = $1 ORDER BY v.submitted_at DESC")).bind(plugin).all_as(version_row).await
    }

    async fn listed(&self) -> Result<Vec<VersionRow>, StoreError> {
        self.db.reading(Scope::Platform, versions!("WHERE v.status = 'listed' ORDER BY v.plugin_id, v.submitted_at")).all_as(version_row).await
    }

    async fn review_queue(&self) -> Result<Vec<VersionRow>, StoreError> {
        self.db.reading(Scope::Platform, versions!("WHERE v.status = 'in_review' ORDER BY v.submitted_at")).all_as(version_row).await
    }

    async fn publisher_versions(&self, publisher: &str) -> Result<Vec<VersionRow>, StoreError> {
        self.db.reading(Scope::Platform, versions!("WHERE p.publisher_id = $1 ORDER BY v.submitted_at DESC")).bind(publisher).all_as(version_row).await
    }

    async fn decide(&self, plugin: &str, version: &str, status: &str, note: &str, by: &str) -> Result<bool, StoreError> {
        let done = self
            .db
            .writing(
                Scope::Platform,
                "UPDATE package_versions SET status = $1, review_note = $2, reviewed_by = $3, reviewed_at = $4
             WHERE plugin_id = $5 AND version = $6 AND status = 'in_review'",
            )
            .bind((status, note, by, self.clock.now_ms(), plugin, version))
            .execute()
            .await?
            == 1;
        Ok(done)
    }

    async fn set_yanked(&self, plugin: &str, version: &str, message: Option<&str>) -> Result<bool, StoreError> {
        let done = self
            .db
            .writing(Scope::Platform, "UPDATE package_versions SET yanked = $1 WHERE plugin_id = $2 AND version = $3")
            .bind((message, plugin, version))
            .execute()
            .await?
            == 1;
        Ok(done)
    }

    async fn set_deprecated(&self, plugin: &str, message: Option<&str>) -> Result<bool, StoreError> {
        let done =
            self.db.writing(Scope::Platform, "UPDATE packages SET deprecated = $1 WHERE plugin_id = $2").bind(message).bind(plugin).execute().await? == 1;
        Ok(done)
    }

    async fn archive(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let bytes = self.db.reading(Scope::Platform, "SELECT bytes FROM package_archives WHERE digest = $1").bind(digest).scalar().await?;
        Ok(bytes)
    }

    async fn tenant_lock(&self, tenant: TenantId) -> Result<Option<TenantLock>, StoreError> {
        let row = self.db.reading(Scope::Tenant(tenant), "SELECT wants, lock FROM tenant_locks WHERE tenant_id = $1").bind(tenant).optional().await?;
        row.map(|r| Ok(TenantLock { wants: r.get::<String>("wants")?, lock: r.get::<String>("lock")? })).transpose()
    }

    async fn start_operation(&self, tenant: TenantId, op: &Operation) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        // The unique index on applying operations decides between concurrent starts: the
        // insert that loses does nothing.
        let started = tx
            .query(
                "INSERT INTO plugin_operations (id, tenant_id, kind, summary, state, from_wants, from_lock, to_wants, to_lock, snapshot, actor, started_at, heartbeat_at)
             VALUES ($1, $2, $3, $4, 'applying', $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT DO NOTHING",
            )
        .bind((&op.id, tenant, &op.kind, &op.summary, &op.from_wants, &op.from_lock, &op.to_wants, &op.to_lock, &op.snapshot, &op.actor, op.started_at))
        .execute(&mut tx)
            .await?;
        if started == 0 {
            let busy: Option<String> =
                tx.query("SELECT id FROM plugin_operations WHERE tenant_id = $1 AND state = 'applying'").bind(tenant).scalar(&mut tx).await?;
            let busy = busy.map(|id| format!(" ({id})")).unwrap_or_default();
            return Err(StoreError::Conflict(format!("another plugin operation{busy} is being applied to this tenant; try again when it ends")));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn finish_operation(
        &self,
        tenant: TenantId,
        id: &str,
        state: &str,
        error: Option<&str>,
        approvals: &[Approval],
        retention: &RetentionChange,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let row = tx
            .query("SELECT to_wants, to_lock FROM plugin_operations WHERE id = $1 AND tenant_id = $2 AND state = 'applying'")
            .bind((id, tenant))
            .fetch_optional(&mut tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no plugin operation {id} is being applied")))?;
        tx.query("UPDATE plugin_operations SET state = $1, error = $2, finished_at = $3 WHERE id = $4").bind((state, error, now, id)).execute(&mut tx).await?;
        if state == "done" {
            tx.query(
                "INSERT INTO tenant_locks (tenant_id, wants, lock, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (tenant_id) DO UPDATE SET wants = excluded.wants, lock = excluded.lock, updated_at = excluded.updated_at",
            )
            .bind((tenant, row.get::<String>("to_wants")?, row.get::<String>("to_lock")?, now))
            .execute(&mut tx)
            .await?;
            for a in approvals {
                insert_approval(&mut tx, tenant, a).await?;
            }
            let restored = retention.restored.iter().chain(retention.kept.iter().map(|k| &k.plugin_id));
            for plugin in restored {
                // Reinstalled: its data is its own again. Removed again: the new export
                // covers the same data.
                tx.query("UPDATE plugin_retentions SET status = 'restored', closed_at = $1 WHERE tenant_id = $2 AND plugin_id = $3 AND status = 'kept'")
                    .bind((now, tenant, plugin))
                    .execute(&mut tx)
                    .await?;
            }
            for k in &retention.kept {
                tx.query(
                    "INSERT INTO plugin_retentions (id, tenant_id, plugin_id, version, collections, export, records, kv_keys, status, created_at, purge_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'kept', $9, $10)",
                )
                .bind((
                    &k.id,
                    tenant,
                    &k.plugin_id,
                    &k.version,
                    serde_json::to_string(&k.collections).map_err(anyhow::Error::from)?,
                    &k.export,
                    k.records,
                    k.kv_keys,
                    k.created_at,
                    k.purge_at,
                ))
                .execute(&mut tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn operations(&self, tenant: TenantId, limit: i64) -> Result<Vec<Operation>, StoreError> {
        self.db
            .reading(Scope::Tenant(tenant), "SELECT * FROM plugin_operations WHERE tenant_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2")
            .bind((tenant, limit))
            .all_as(operation)
            .await
    }

    async fn heartbeat(&self, tenant: TenantId, id: &str) -> Result<(), StoreError> {
        self.db
            .writing(Scope::Tenant(tenant), "UPDATE plugin_operations SET heartbeat_at = $1 WHERE id = $2 AND tenant_id = $3 AND state = 'applying'")
            .bind((self.clock.now_ms(), id, tenant))
            .execute()
            .await?;
        Ok(())
    }

    async fn interrupted(&self, stale_before: i64) -> Result<Vec<(TenantId, Operation)>, StoreError> {
        let rows = self
            .db
            .reading(Scope::Platform, "SELECT * FROM plugin_operations WHERE state = 'applying' AND heartbeat_at < $1 ORDER BY started_at")
            .bind(stale_before)
            .all()
            .await?;
        rows.iter()
            .map(|r| {
                let tenant: TenantId = r.get("tenant_id")?;
                Ok((tenant, operation(r)?))
            })
            .collect()
    }

    async fn add_approval(&self, tenant: TenantId, a: &Approval) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        insert_approval(&mut tx, tenant, a).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn approvals(&self, tenant: TenantId) -> Result<Vec<Approval>, StoreError> {
        self.db
            .reading(Scope::Tenant(tenant), "SELECT * FROM plugin_approvals WHERE tenant_id = $1 ORDER BY created_at DESC, id")
            .bind(tenant)
            .all_as(approval)
            .await
    }

    async fn decide_approval(&self, tenant: TenantId, id: &str, status: &str, by: &str) -> Result<bool, StoreError> {
        let done = self
            .db
            .writing(
                Scope::Tenant(tenant),
                "UPDATE plugin_approvals SET status = $1, decided_by = $2, decided_at = $3 WHERE tenant_id = $4 AND id = $5 AND status = 'pending'",
            )
            .bind((status, by, self.clock.now_ms(), tenant, id))
            .execute()
            .await?
            == 1;
        Ok(done)
    }

    async fn put_review(&self, r: &Review) -> Result<(), StoreError> {
        self.db.writing(Scope::Platform,
            "INSERT INTO plugin_reviews (plugin_id, tenant_id, stars, title, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (plugin_id, tenant_id) DO UPDATE SET stars = excluded.stars, title = excluded.title, body = excluded.body, updated_at = excluded.updated_at",
        )
        .bind((&r.plugin_id, r.tenant, r.stars, &r.title, &r.body, r.created_at, r.updated_at))
        .execute()
        .await?;
        Ok(())
    }

    async fn reviews(&self, plugin: &str) -> Result<Vec<Review>, StoreError> {
        let rows = self.db.reading(Scope::Platform, "SELECT * FROM plugin_reviews WHERE plugin_id = $1 ORDER BY created_at DESC").bind(plugin).all().await?;
        rows.iter()
            .map(|r| {
                let tenant: TenantId = r.get("tenant_id")?;
                Ok(Review {
                    plugin_id: r.get::<String>("plugin_id")?,
                    tenant,
                    stars: r.get::<i64>("stars")?,
                    title: r.get::<String>("title")?,
                    body: r.get::<String>("body")?,
                    reply: r.get::<Option<String>>("reply")?,
                    created_at: r.get::<i64>("created_at")?,
                    updated_at: r.get::<i64>("updated_at")?,
                })
            })
            .collect()
    }

    async fn ratings(&self) -> Result<std::collections::BTreeMap<String, Rating>, StoreError> {
        let rows = self
            .db
            .reading(Scope::Platform, "SELECT plugin_id, COUNT(*) AS n, CAST(SUM(stars) AS BIGINT) AS total FROM plugin_reviews GROUP BY plugin_id")
            .all()
            .await?;
        rows.iter()
            .map(|r| {
                let (count, total) = (r.get::<i64>("n")?, r.get::<i64>("total")?);
                #[allow(clippy::cast_precision_loss)] // star counts are small
                let average = total as f64 / count.max(1) as f64;
                Ok((r.get::<String>("plugin_id")?, Rating { average, count: usize::try_from(count).unwrap_or(0) }))
            })
            .collect()
    }

    async fn reply(&self, plugin: &str, review_created_at: i64, reply: &str) -> Result<bool, StoreError> {
        let done = self
            .db
            .writing(Scope::Platform, "UPDATE plugin_reviews SET reply = $1, replied_at = $2 WHERE plugin_id = $3 AND created_at = $4")
            .bind((reply, self.clock.now_ms(), plugin, review_created_at))
            .execute()
            .await?
            >= 1;
        Ok(done)
    }

    async fn record_event(&self, tenant: TenantId, plugin: &str, version: &str, kind: &str) -> Result<(), StoreError> {
        self.db
            .writing(Scope::Platform, "INSERT INTO marketplace_events (plugin_id, version, tenant_id, kind, at) VALUES ($1, $2, $3, $4, $5)")
            .bind((plugin, version, tenant, kind, self.clock.now_ms()))
            .execute()
            .await?;
        Ok(())
    }

    async fn install_totals(&self) -> Result<std::collections::BTreeMap<String, i64>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT plugin_id, COUNT(DISTINCT tenant_id) AS n FROM marketplace_events WHERE kind = 'installed' GROUP BY plugin_id")
            .all_as(|r| Ok((r.get("plugin_id")?, r.get("n")?)))
            .await
    }

    async fn ever_installed(&self, tenant: TenantId, plugin: &str) -> Result<bool, StoreError> {
        let found: Option<String> = self
            .db
            .reading(Scope::Platform, "SELECT plugin_id FROM marketplace_events WHERE tenant_id = $1 AND plugin_id = $2 AND kind = 'installed' LIMIT 1")
            .bind((tenant, plugin))
            .scalar()
            .await?;
        Ok(found.is_some())
    }
}

fn publisher_row(r: &Row) -> Result<Publisher, StoreError> {
    Ok(from_row!(r => Publisher { id, name, email, status, created_at }))
}
