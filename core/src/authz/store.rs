use async_trait::async_trait;
use socle_tenants::roles::UserType;
use socle_tenants::{Actor, TenantId, ValidationError};
use sqlx::types::Json;
use uuid::Uuid;

use super::{PolicyStore, RoleDef, Rule, names};
use crate::audit::{self, AuditEntry};
use crate::clock::SharedClock;
use crate::db::from_row;
use crate::db::{Db, Scope, Tx};
use crate::error::StoreError;

const COLUMNS: [&str; 6] = ["v0", "v1", "v2", "v3", "v4", "v5"];

/// Roles and rules in the database (on PostgreSQL, row-level security scopes every transaction
/// to the tenant).
pub struct SqlPolicyStore {
    db: Db,
    clock: SharedClock,
}

impl SqlPolicyStore {
    /// A store over `db`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

/// Inserts rules (skipping existing ones) inside the caller's transaction; returns how many were new.
pub async fn insert_rules(tx: &mut Tx, tenant: TenantId, rules: &[Rule]) -> Result<usize, StoreError> {
    let mut added = 0;
    for rule in rules {
        rule.check(tenant)?;
        let result = tx
            .query(
                r#"INSERT INTO authz_rules (tenant_id, ptype, v0, v1, v2, v3, v4, v5) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT DO NOTHING"#,
            )
            .bind((tenant, &rule.ptype, rule.value(0), rule.value(1), rule.value(2), rule.value(3), rule.value(4), rule.value(5)))
            .execute(tx)
            .await?;
        added += usize::try_from(result).unwrap_or(0);
    }
    Ok(added)
}

/// Deletes rules inside the caller's transaction; returns how many existed.
pub async fn delete_rules(tx: &mut Tx, tenant: TenantId, rules: &[Rule]) -> Result<usize, StoreError> {
    let mut removed = 0;
    for rule in rules {
        let result = tx
            .query(
                r#"DELETE FROM authz_rules WHERE tenant_id = $1 AND ptype = $2
               AND v0 = $3 AND v1 = $4 AND v2 = $5 AND v3 = $6 AND v4 = $7 AND v5 = $8"#,
            )
            .bind((tenant, &rule.ptype, rule.value(0), rule.value(1), rule.value(2), rule.value(3), rule.value(4), rule.value(5)))
            .execute(tx)
            .await?;
        removed += usize::try_from(result).unwrap_or(0);
    }
    Ok(removed)
}

/// Deletes every role a subject holds (its `g` rules) inside the caller's transaction: what
/// deleting a user takes along.
pub async fn delete_groupings(tx: &mut Tx, tenant: TenantId, subject: &str) -> Result<(), StoreError> {
    tx.query("DELETE FROM authz_rules WHERE tenant_id = $1 AND ptype = 'g' AND v0 = $2").bind(tenant).bind(subject).execute(tx).await?;
    Ok(())
}

/// Inserts role definitions inside the caller's transaction.
pub async fn insert_roles(tx: &mut Tx, tenant: TenantId, roles: &[RoleDef], now: i64) -> Result<(), StoreError> {
    for role in roles {
        tx.query(
            r#"INSERT INTO roles (tenant_id, key, name_fr, name_en, user_types, builtin, created_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        )
        .bind((tenant, &role.key, &role.name_fr, &role.name_en, Json(&role.user_types), role.builtin, now))
        .execute(tx)
        .await
        .map_err(|e| if crate::db::is_unique_violation(&e) { StoreError::Conflict(format!("the role `{}` already exists", role.key)) } else { e.into() })?;
    }
    Ok(())
}

async fn user_role_rules(tx: &mut Tx, tenant: TenantId, user: Uuid) -> Result<Vec<Rule>, StoreError> {
    let rows =
        tx.query("SELECT v1 FROM authz_rules WHERE tenant_id = $1 AND ptype = 'g' AND v0 = $2").bind(tenant).bind(names::user(user)).fetch_all(tx).await?;
    rows.iter().map(|r| Ok(Rule::member(tenant, &names::user(user), &r.get::<String>("v1")?))).collect()
}

#[async_trait]
impl PolicyStore for SqlPolicyStore {
    async fn rules(&self, tenant: TenantId) -> Result<Vec<Rule>, StoreError> {
        let rows = self
            .db
            .reading(Scope::Tenant(tenant), "SELECT ptype, v0, v1, v2, v3, v4, v5 FROM authz_rules WHERE tenant_id = $1 ORDER BY id")
            .bind(tenant)
            .all()
            .await?;
        rows.iter()
            .map(|row| {
                let mut values = Vec::with_capacity(6);
                for column in COLUMNS {
                    let v: String = row.get(column)?;
                    if !v.is_empty() {
                        values.push(v);
                    }
                }
                Ok(Rule { ptype: row.get("ptype")?, values })
            })
            .collect()
    }

    async fn change(&self, tenant: TenantId, revoke: &[Rule], grant: &[Rule], by: &Actor) -> Result<(usize, usize), StoreError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let removed = delete_rules(&mut tx, tenant, revoke).await?;
        let added = insert_rules(&mut tx, tenant, grant).await?;
        if removed > 0 {
            let entry = AuditEntry::new(Some(tenant), by, "policy.revoked", "policies").before(revoke);
            audit::insert(&mut tx, now, &entry).await?;
        }
        if added > 0 {
            let entry = AuditEntry::new(Some(tenant), by, "policy.granted", "policies").after(grant);
            audit::insert(&mut tx, now, &entry).await?;
        }
        tx.commit().await?;
        Ok((removed, added))
    }

    async fn revoke_matching(&self, tenant: TenantId, ptype: &str, field_index: usize, values: &[String], by: &Actor) -> Result<usize, StoreError> {
        let mut sql = String::from("DELETE FROM authz_rules WHERE tenant_id = $1 AND ptype = $2");
        let mut binds = Vec::new();
        for (offset, value) in values.iter().enumerate() {
            let Some(column) = COLUMNS.get(field_index + offset) else { break };
            if !value.is_empty() {
                binds.push(value.clone());
                sql.push_str(&format!(" AND {column} = ${}", binds.len() + 2));
            }
        }
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let mut query = tx.query_built(sql).bind(tenant).bind(ptype);
        for value in &binds {
            query = query.bind(value);
        }
        let removed = usize::try_from(query.execute(&mut tx).await?).unwrap_or(0);
        if removed > 0 {
            let entry = AuditEntry::new(Some(tenant), by, "policy.revoked", "policies")
                .before(serde_json::json!({ "ptype": ptype, "field_index": field_index, "values": values }));
            audit::insert(&mut tx, self.clock.now_ms(), &entry).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn roles(&self, tenant: TenantId) -> Result<Vec<RoleDef>, StoreError> {
        let rows = self
            .db
            .reading(Scope::Tenant(tenant), "SELECT * FROM roles WHERE tenant_id = $1 ORDER BY builtin DESC, created_at, key")
            .bind(tenant)
            .all()
            .await?;
        rows.iter()
            .map(|row| {
                let types: Json<Vec<UserType>> = row.get("user_types")?;
                Ok(from_row!(row => RoleDef { key, name_fr, name_en, user_types = types.0, builtin }))
            })
            .collect()
    }

    async fn create_role(&self, tenant: TenantId, role: &RoleDef, permissions: &[String], by: &Actor) -> Result<(), StoreError> {
        socle_tenants::roles::validate_role_key(&role.key)?;
        if role.user_types.is_empty() {
            return Err(ValidationError::new("user_types", "a role must allow at least one user type").into());
        }
        let now = self.clock.now_ms();
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        insert_roles(&mut tx, tenant, std::slice::from_ref(role), now).await?;
        let rules: Vec<Rule> = permissions.iter().map(|p| Rule::role_permission(tenant, &role.key, p)).collect();
        insert_rules(&mut tx, tenant, &rules).await?;
        let entry =
            AuditEntry::new(Some(tenant), by, "role.created", names::role(&role.key)).after(serde_json::json!({ "role": role, "permissions": permissions }));
        audit::insert(&mut tx, now, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_role(&self, tenant: TenantId, key: &str, by: &Actor) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let builtin: Option<bool> = tx.query("SELECT builtin FROM roles WHERE tenant_id = $1 AND key = $2").bind(tenant).bind(key).scalar(&mut tx).await?;
        match builtin {
            None => return Err(StoreError::NotFound(format!("role `{key}` does not exist"))),
            Some(true) => return Err(StoreError::Conflict(format!("role `{key}` is a built-in role; change its permissions instead"))),
            Some(false) => {}
        }
        let role = names::role(key);
        tx.query("DELETE FROM authz_rules WHERE tenant_id = $1 AND ((ptype = 'p' AND v0 = $2) OR (ptype = 'g' AND v1 = $2))")
            .bind((tenant, &role))
            .execute(&mut tx)
            .await?;
        tx.query("DELETE FROM roles WHERE tenant_id = $1 AND key = $2").bind(tenant).bind(key).execute(&mut tx).await?;
        audit::insert(&mut tx, self.clock.now_ms(), &AuditEntry::new(Some(tenant), by, "role.deleted", role)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_user_roles(&self, tenant: TenantId, user: Uuid, roles: &[String], by: &Actor) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Tenant(tenant)).await?;
        let before = user_role_rules(&mut tx, tenant, user).await?;
        delete_rules(&mut tx, tenant, &before).await?;
        let after: Vec<Rule> = roles.iter().map(|r| Rule::member(tenant, &names::user(user), &names::role(r))).collect();
        insert_rules(&mut tx, tenant, &after).await?;
        let entry = AuditEntry::new(Some(tenant), by, "user.roles_changed", names::user(user))
            .before(before.iter().map(|r| r.value(1)).collect::<Vec<_>>())
            .after(after.iter().map(|r| r.value(1)).collect::<Vec<_>>());
        audit::insert(&mut tx, self.clock.now_ms(), &entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
