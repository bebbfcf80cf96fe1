use async_trait::async_trait;
use socle_tenants::roles::UserType;
use socle_tenants::{Actor, TenantId, ValidationError};
use sqlx::{Row as _, SqliteConnection, SqlitePool};
use uuid::Uuid;

use super::{PolicyStore, RoleDef, Rule, subject};
use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::error::StoreError;

const COLUMNS: [&str; 6] = ["v0", "v1", "v2", "v3", "v4", "v5"];

/// Roles and rules on SQLite.
pub struct SqlitePolicyStore {
    pool: SqlitePool,
    clock: SharedClock,
}

impl SqlitePolicyStore {
    /// A store over this pool.
    pub fn new(pool: SqlitePool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

/// Inserts rules (skipping existing ones) inside the caller's transaction; returns how many were new.
pub async fn insert_rules(conn: &mut SqliteConnection, tenant: TenantId, rules: &[Rule]) -> Result<usize, StoreError> {
    let mut added = 0;
    for rule in rules {
        rule.check(tenant)?;
        let result = sqlx::query(
            r#"INSERT INTO authz_rules (tenant_id, ptype, v0, v1, v2, v3, v4, v5) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT DO NOTHING"#,
        )
        .bind(tenant.to_string())
        .bind(&rule.ptype)
        .bind(rule.value(0))
        .bind(rule.value(1))
        .bind(rule.value(2))
        .bind(rule.value(3))
        .bind(rule.value(4))
        .bind(rule.value(5))
        .execute(&mut *conn)
        .await?;
        added += usize::try_from(result.rows_affected()).unwrap_or(0);
    }
    Ok(added)
}

/// Deletes rules inside the caller's transaction; returns how many existed.
pub async fn delete_rules(conn: &mut SqliteConnection, tenant: TenantId, rules: &[Rule]) -> Result<usize, StoreError> {
    let mut removed = 0;
    for rule in rules {
        let result = sqlx::query(
            r#"DELETE FROM authz_rules WHERE tenant_id = $1 AND ptype = $2
               AND v0 = $3 AND v1 = $4 AND v2 = $5 AND v3 = $6 AND v4 = $7 AND v5 = $8"#,
        )
        .bind(tenant.to_string())
        .bind(&rule.ptype)
        .bind(rule.value(0))
        .bind(rule.value(1))
        .bind(rule.value(2))
        .bind(rule.value(3))
        .bind(rule.value(4))
        .bind(rule.value(5))
        .execute(&mut *conn)
        .await?;
        removed += usize::try_from(result.rows_affected()).unwrap_or(0);
    }
    Ok(removed)
}

/// Inserts role definitions inside the caller's transaction.
pub async fn insert_roles(conn: &mut SqliteConnection, tenant: TenantId, roles: &[RoleDef], now: i64) -> Result<(), StoreError> {
    for role in roles {
        sqlx::query(
            r#"INSERT INTO roles (tenant_id, key, name_fr, name_en, user_types, builtin, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        )
        .bind(tenant.to_string())
        .bind(&role.key)
        .bind(&role.name_fr)
        .bind(&role.name_en)
        .bind(serde_json::to_string(&role.user_types).map_err(anyhow::Error::from)?)
        .bind(role.builtin)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                StoreError::Conflict(format!("the role `{}` already exists", role.key))
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

async fn user_role_rules(conn: &mut SqliteConnection, tenant: TenantId, user: Uuid) -> Result<Vec<Rule>, StoreError> {
    let rows = sqlx::query("SELECT v1 FROM authz_rules WHERE tenant_id = $1 AND ptype = 'g' AND v0 = $2")
        .bind(tenant.to_string())
        .bind(subject::user(user))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| Ok(Rule::member(tenant, &subject::user(user), &r.try_get::<String, _>("v1")?)))
        .collect()
}

#[async_trait]
impl PolicyStore for SqlitePolicyStore {
    async fn rules(&self, tenant: TenantId) -> Result<Vec<Rule>, StoreError> {
        let rows = sqlx::query("SELECT ptype, v0, v1, v2, v3, v4, v5 FROM authz_rules WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let mut values = Vec::with_capacity(6);
                for column in COLUMNS {
                    let v: String = row.try_get(column)?;
                    if !v.is_empty() {
                        values.push(v);
                    }
                }
                Ok(Rule { ptype: row.try_get("ptype")?, values })
            })
            .collect()
    }

    async fn change(&self, tenant: TenantId, revoke: &[Rule], grant: &[Rule], by: &Actor) -> Result<(usize, usize), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let removed = delete_rules(&mut tx, tenant, revoke).await?;
        let added = insert_rules(&mut tx, tenant, grant).await?;
        if removed > 0 {
            let entry = AuditEntry::new(Some(tenant), by, "policy.revoked", "policies").before(revoke);
            audit::sqlite::insert(&mut tx, now, &entry).await?;
        }
        if added > 0 {
            let entry = AuditEntry::new(Some(tenant), by, "policy.granted", "policies").after(grant);
            audit::sqlite::insert(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok((removed, added))
    }

    async fn revoke_matching(
        &self,
        tenant: TenantId,
        ptype: &str,
        field_index: usize,
        values: &[String],
        by: &Actor,
    ) -> Result<usize, StoreError> {
        let mut sql = String::from("DELETE FROM authz_rules WHERE tenant_id = $1 AND ptype = $2");
        let mut binds = Vec::new();
        for (offset, value) in values.iter().enumerate() {
            let Some(column) = COLUMNS.get(field_index + offset) else { break };
            if !value.is_empty() {
                binds.push(value.clone());
                sql.push_str(&format!(" AND {column} = ${}", binds.len() + 2));
            }
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(tenant.to_string()).bind(ptype);
        for value in &binds {
            query = query.bind(value);
        }
        let removed = usize::try_from(query.execute(&mut *tx).await?.rows_affected()).unwrap_or(0);
        if removed > 0 {
            let entry = AuditEntry::new(Some(tenant), by, "policy.revoked", "policies")
                .before(serde_json::json!({ "ptype": ptype, "field_index": field_index, "values": values }));
            audit::sqlite::insert(&mut tx, self.clock.now_ms(), &entry).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn roles(&self, tenant: TenantId) -> Result<Vec<RoleDef>, StoreError> {
        let rows = sqlx::query("SELECT * FROM roles WHERE tenant_id = $1 ORDER BY builtin DESC, created_at, key")
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let types: String = row.try_get("user_types")?;
                Ok(RoleDef {
                    key: row.try_get("key")?,
                    name_fr: row.try_get("name_fr")?,
                    name_en: row.try_get("name_en")?,
                    user_types: serde_json::from_str::<Vec<UserType>>(&types).map_err(anyhow::Error::from)?,
                    builtin: row.try_get("builtin")?,
                })
            })
            .collect()
    }

    async fn create_role(&self, tenant: TenantId, role: &RoleDef, permissions: &[String], by: &Actor) -> Result<(), StoreError> {
        socle_tenants::roles::validate_role_key(&role.key)?;
        if role.user_types.is_empty() {
            return Err(ValidationError::new("user_types", "a role must allow at least one user type").into());
        }
        let now = self.clock.now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        insert_roles(&mut tx, tenant, std::slice::from_ref(role), now).await?;
        let rules: Vec<Rule> = permissions.iter().map(|p| Rule::role_permission(tenant, &role.key, p)).collect();
        insert_rules(&mut tx, tenant, &rules).await?;
        let entry = AuditEntry::new(Some(tenant), by, "role.created", subject::role(&role.key))
            .after(serde_json::json!({ "role": role, "permissions": permissions }));
        audit::sqlite::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_role(&self, tenant: TenantId, key: &str, by: &Actor) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let builtin: Option<bool> = sqlx::query_scalar("SELECT builtin FROM roles WHERE tenant_id = $1 AND key = $2")
            .bind(tenant.to_string())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
        match builtin {
            None => return Err(StoreError::NotFound(format!("role `{key}` does not exist"))),
            Some(true) => return Err(StoreError::Conflict(format!("role `{key}` is a built-in role; change its permissions instead"))),
            Some(false) => {}
        }
        let role = subject::role(key);
        sqlx::query("DELETE FROM authz_rules WHERE tenant_id = $1 AND ((ptype = 'p' AND v0 = $2) OR (ptype = 'g' AND v1 = $2))")
            .bind(tenant.to_string())
            .bind(&role)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM roles WHERE tenant_id = $1 AND key = $2").bind(tenant.to_string()).bind(key).execute(&mut *tx).await?;
        audit::sqlite::insert(&mut tx, self.clock.now_ms(), &AuditEntry::new(Some(tenant), by, "role.deleted", role)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_user_roles(&self, tenant: TenantId, user: Uuid, roles: &[String], by: &Actor) -> Result<(), StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let before = user_role_rules(&mut tx, tenant, user).await?;
        delete_rules(&mut tx, tenant, &before).await?;
        let after: Vec<Rule> =
            roles.iter().map(|r| Rule::member(tenant, &subject::user(user), &subject::role(r))).collect();
        insert_rules(&mut tx, tenant, &after).await?;
        let entry = AuditEntry::new(Some(tenant), by, "user.roles_changed", subject::user(user))
            .before(before.iter().map(|r| r.value(1)).collect::<Vec<_>>())
            .after(after.iter().map(|r| r.value(1)).collect::<Vec<_>>());
        audit::sqlite::insert(&mut tx, self.clock.now_ms(), &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
