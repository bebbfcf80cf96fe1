use async_trait::async_trait;
use sha2::{Digest as _, Sha256};
use socle_tenants::{Actor, AssetKind, DomainName, NewTenant, Slug, StoredAsset, Tenant, TenantError, TenantId, TenantPatch, TenantStatus, TenantStore};
use sqlx::types::Json;

use crate::audit::{self, AuditEntry};
use crate::authz::{self, template_roles, template_rules};
use crate::clock::SharedClock;
use crate::db::{Db, Row, Scope, Tx, is_unique_violation};
use crate::error::tenant_storage;

/// Tenants in the database. The tenant registry is platform data: every operation runs in the
/// platform scope (routing looks tenants up before any tenant is known).
pub struct SqlTenantStore {
    db: Db,
    clock: SharedClock,
}

impl SqlTenantStore {
    /// A store over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    async fn read(&self) -> Result<Tx, TenantError> {
        self.db.read(Scope::Platform).await.map_err(tenant_storage)
    }

    async fn write(&self) -> Result<Tx, TenantError> {
        self.db.write(Scope::Platform).await.map_err(tenant_storage)
    }
}

const SELECT: &str = r#"SELECT t.*,
    (SELECT sha256 FROM tenant_assets a WHERE a.tenant_id = t.id AND a.kind = 'logo') AS logo_sha256,
    (SELECT sha256 FROM tenant_assets a WHERE a.tenant_id = t.id AND a.kind = 'favicon') AS favicon_sha256,
    (SELECT string_agg(domain, ' ') FROM tenant_domains d WHERE d.tenant_id = t.id) AS domains
    FROM tenants t"#;

fn corrupt(what: &str, err: impl std::fmt::Display) -> TenantError {
    TenantError::Storage(format!("corrupt {what} in the tenants table: {err}").into())
}

fn tenant(row: &Row) -> Result<Tenant, TenantError> {
    let get = |e: sqlx::Error| tenant_storage(e);
    let id: TenantId = row.get("id").map_err(get)?;
    let status: String = row.get("status").map_err(get)?;
    let theme: Json<socle_tenants::ThemeTokens> = row.get("theme").map_err(get)?;
    let domains: Option<String> = row.get("domains").map_err(get)?;
    let mut domains: Vec<_> =
        domains.unwrap_or_default().split_whitespace().map(DomainName::parse).collect::<Result<_, _>>().map_err(|e| corrupt("domain", e))?;
    domains.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    Ok(Tenant {
        id,
        slug: Slug::stored(&row.get::<String>("slug").map_err(get)?).map_err(|e| corrupt("slug", e))?,
        name: row.get("name").map_err(get)?,
        plan: row.get::<String>("plan").map_err(get)?.parse().map_err(|e| corrupt("plan", e))?,
        status: if status == "suspended" {
            TenantStatus::Suspended { reason: row.get::<Option<String>>("suspended_reason").map_err(get)?.unwrap_or_default() }
        } else {
            TenantStatus::Active
        },
        locale: row.get::<String>("locale").map_err(get)?.parse().map_err(|e| corrupt("locale", e))?,
        theme: theme.0,
        domains,
        require_mfa_for_admins: row.get("require_mfa_for_admins").map_err(get)?,
        logo_sha256: row.get("logo_sha256").map_err(get)?,
        favicon_sha256: row.get("favicon_sha256").map_err(get)?,
        created_at: row.get("created_at").map_err(get)?,
        updated_at: row.get("updated_at").map_err(get)?,
    })
}

async fn fetch(tx: &mut Tx, id: TenantId) -> Result<Option<Tenant>, TenantError> {
    let row = tx.query_built(format!("{SELECT} WHERE t.id = $1")).bind(id).fetch_optional(tx).await.map_err(tenant_storage)?;
    row.as_ref().map(tenant).transpose()
}

async fn fetch_existing(tx: &mut Tx, id: TenantId) -> Result<Tenant, TenantError> {
    fetch(tx, id).await?.ok_or_else(|| TenantError::NotFound(id.to_string()))
}

async fn journal(tx: &mut Tx, now: i64, entry: AuditEntry<'_>) -> Result<(), TenantError> {
    audit::insert(tx, now, &entry).await.map_err(tenant_storage)
}

fn store_error(err: crate::error::StoreError) -> TenantError {
    match err {
        crate::error::StoreError::Invalid(v) => TenantError::Invalid(v),
        other => TenantError::Storage(Box::new(other)),
    }
}

#[async_trait]
impl TenantStore for SqlTenantStore {
    async fn create(&self, new: NewTenant, by: &Actor) -> Result<Tenant, TenantError> {
        new.validate()?;
        let now = self.clock.now_ms();
        let id = TenantId::new();
        let mut tx = self.write().await?;
        tx.query(
            r#"INSERT INTO tenants (id, slug, name, plan, locale, theme, created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"#,
        )
        .bind((id, new.slug.as_str(), new.name.trim(), new.plan.as_str(), new.locale.as_str(), Json(&new.theme), now))
        .execute(&mut tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { TenantError::SlugTaken(new.slug.to_string()) } else { tenant_storage(e) })?;
        authz::store::insert_roles(&mut tx, id, &template_roles(), now).await.map_err(store_error)?;
        authz::store::insert_rules(&mut tx, id, &template_rules(id)).await.map_err(store_error)?;
        let created = fetch_existing(&mut tx, id).await?;
        journal(&mut tx, now, AuditEntry::new(Some(id), by, "tenant.created", format!("tenant:{}", new.slug)).after(&created)).await?;
        tx.commit().await.map_err(tenant_storage)?;
        Ok(created)
    }

    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, TenantError> {
        let mut tx = self.read().await?;
        let found = fetch(&mut tx, id).await?;
        tx.commit().await.map_err(tenant_storage)?;
        Ok(found)
    }

    async fn by_slug(&self, slug: &Slug) -> Result<Option<Tenant>, TenantError> {
        let mut tx = self.read().await?;
        let row = tx.query_built(format!("{SELECT} WHERE t.slug = $1")).bind(slug.as_str()).fetch_optional(&mut tx).await.map_err(tenant_storage)?;
        tx.commit().await.map_err(tenant_storage)?;
        row.as_ref().map(tenant).transpose()
    }

    async fn by_domain(&self, domain: &DomainName) -> Result<Option<Tenant>, TenantError> {
        let mut tx = self.read().await?;
        let row = tx
            .query_built(format!("{SELECT} WHERE t.id = (SELECT tenant_id FROM tenant_domains WHERE domain = $1)"))
            .bind(domain.as_str())
            .fetch_optional(&mut tx)
            .await
            .map_err(tenant_storage)?;
        tx.commit().await.map_err(tenant_storage)?;
        row.as_ref().map(tenant).transpose()
    }

    async fn list(&self) -> Result<Vec<Tenant>, TenantError> {
        let mut tx = self.read().await?;
        let rows = tx.query_built(format!("{SELECT} ORDER BY t.slug")).fetch_all(&mut tx).await.map_err(tenant_storage)?;
        tx.commit().await.map_err(tenant_storage)?;
        rows.iter().map(tenant).collect()
    }

    async fn update(&self, id: TenantId, patch: &TenantPatch, by: &Actor) -> Result<Tenant, TenantError> {
        patch.validate()?;
        let now = self.clock.now_ms();
        let mut tx = self.write().await?;
        let before = fetch_existing(&mut tx, id).await?;
        let mut after = before.clone();
        patch.apply(&mut after);
        tx.query(
            r#"UPDATE tenants SET name = $2, plan = $3, locale = $4, theme = $5, require_mfa_for_admins = $6, updated_at = $7
               WHERE id = $1"#,
        )
        .bind((id, &after.name, after.plan.as_str(), after.locale.as_str(), Json(&after.theme), after.require_mfa_for_admins, now))
        .execute(&mut tx)
        .await
        .map_err(tenant_storage)?;
        let after = fetch_existing(&mut tx, id).await?;
        journal(&mut tx, now, AuditEntry::new(Some(id), by, "tenant.updated", format!("tenant:{}", before.slug)).before(&before).after(&after)).await?;
        tx.commit().await.map_err(tenant_storage)?;
        Ok(after)
    }

    async fn set_status(&self, id: TenantId, status: TenantStatus, by: &Actor) -> Result<Tenant, TenantError> {
        let now = self.clock.now_ms();
        let (status_text, reason, action) = match &status {
            TenantStatus::Active => ("active", None, "tenant.reactivated"),
            TenantStatus::Suspended { reason } => ("suspended", Some(reason.clone()), "tenant.suspended"),
        };
        let mut tx = self.write().await?;
        let before = fetch_existing(&mut tx, id).await?;
        tx.query("UPDATE tenants SET status = $2, suspended_reason = $3, updated_at = $4 WHERE id = $1")
            .bind((id, status_text, reason, now))
            .execute(&mut tx)
            .await
            .map_err(tenant_storage)?;
        let after = fetch_existing(&mut tx, id).await?;
        journal(&mut tx, now, AuditEntry::new(Some(id), by, action, format!("tenant:{}", before.slug)).before(&before.status).after(&after.status)).await?;
        tx.commit().await.map_err(tenant_storage)?;
        Ok(after)
    }

    async fn delete(&self, id: TenantId, by: &Actor) -> Result<(), TenantError> {
        let now = self.clock.now_ms();
        let mut tx = self.write().await?;
        let before = fetch_existing(&mut tx, id).await?;
        tx.query("DELETE FROM tenants WHERE id = $1").bind(id).execute(&mut tx).await.map_err(tenant_storage)?;
        journal(&mut tx, now, AuditEntry::new(Some(id), by, "tenant.deleted", format!("tenant:{}", before.slug)).before(&before)).await?;
        tx.commit().await.map_err(tenant_storage)?;
        Ok(())
    }

    async fn add_domain(&self, id: TenantId, domain: &DomainName, by: &Actor) -> Result<(), TenantError> {
        let now = self.clock.now_ms();
        let mut tx = self.write().await?;
        let tenant = fetch_existing(&mut tx, id).await?;
        tx.query("INSERT INTO tenant_domains (domain, tenant_id, created_at) VALUES ($1, $2, $3)")
            .bind((domain.as_str(), id, now))
            .execute(&mut tx)
            .await
            .map_err(|e| if is_unique_violation(&e) { TenantError::DomainTaken(domain.to_string()) } else { tenant_storage(e) })?;
        journal(&mut tx, now, AuditEntry::new(Some(id), by, "tenant.domain_added", format!("tenant:{}", tenant.slug)).after(domain)).await?;
        tx.commit().await.map_err(tenant_storage)
    }

    async fn remove_domain(&self, id: TenantId, domain: &DomainName, by: &Actor) -> Result<(), TenantError> {
        let now = self.clock.now_ms();
        let mut tx = self.write().await?;
        let tenant = fetch_existing(&mut tx, id).await?;
        let removed = tx
            .query("DELETE FROM tenant_domains WHERE domain = $1 AND tenant_id = $2")
            .bind((domain.as_str(), id))
            .execute(&mut tx)
            .await
            .map_err(tenant_storage)?;
        if removed == 0 {
            return Err(TenantError::NotFound(format!("domain {domain} of tenant {}", tenant.slug)));
        }
        journal(&mut tx, now, AuditEntry::new(Some(id), by, "tenant.domain_removed", format!("tenant:{}", tenant.slug)).before(domain)).await?;
        tx.commit().await.map_err(tenant_storage)
    }

    async fn put_asset(&self, id: TenantId, kind: AssetKind, content_type: &str, bytes: &[u8], by: &Actor) -> Result<String, TenantError> {
        let now = self.clock.now_ms();
        let sha256 = hex::encode(Sha256::digest(bytes));
        let mut tx = self.write().await?;
        let tenant = fetch_existing(&mut tx, id).await?;
        tx.query(
            r#"INSERT INTO tenant_assets (tenant_id, kind, content_type, sha256, bytes, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (tenant_id, kind) DO UPDATE SET content_type = excluded.content_type, sha256 = excluded.sha256,
               bytes = excluded.bytes, updated_at = excluded.updated_at"#,
        )
        .bind((id, kind.as_str(), content_type, &sha256, bytes, now))
        .execute(&mut tx)
        .await
        .map_err(tenant_storage)?;
        tx.query("UPDATE tenants SET updated_at = $2 WHERE id = $1").bind(id).bind(now).execute(&mut tx).await.map_err(tenant_storage)?;
        let after = serde_json::json!({ "kind": kind, "content_type": content_type, "sha256": sha256, "bytes": bytes.len() });
        journal(&mut tx, now, AuditEntry::new(Some(id), by, "tenant.branding_asset_changed", format!("tenant:{}", tenant.slug)).after(after)).await?;
        tx.commit().await.map_err(tenant_storage)?;
        Ok(sha256)
    }

    async fn asset(&self, id: TenantId, kind: AssetKind) -> Result<Option<StoredAsset>, TenantError> {
        let mut tx = self.read().await?;
        let row = tx
            .query("SELECT content_type, sha256, bytes FROM tenant_assets WHERE tenant_id = $1 AND kind = $2")
            .bind((id, kind.as_str()))
            .fetch_optional(&mut tx)
            .await
            .map_err(tenant_storage)?;
        tx.commit().await.map_err(tenant_storage)?;
        row.map(|r| {
            Ok(StoredAsset {
                content_type: r.get("content_type").map_err(tenant_storage)?,
                sha256: r.get("sha256").map_err(tenant_storage)?,
                bytes: r.get("bytes").map_err(tenant_storage)?,
            })
        })
        .transpose()
    }
}
