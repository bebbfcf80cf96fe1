use std::sync::Arc;

use async_trait::async_trait;
use casbin::error::AdapterError;
use casbin::{Adapter, Filter, Model};
use socle_tenants::{Actor, TenantId};

use super::{PolicyStore, Rule};

/// A casbin [`Adapter`] over Socle's own rule tables, for one tenant. It works on both backends
/// because it goes through [`PolicyStore`] (the `sqlx-adapter` crate supports one backend per
/// build). Writes made through casbin's management API are journalled as `system`.
pub struct TenantPolicyAdapter {
    store: Arc<dyn PolicyStore>,
    tenant: TenantId,
    actor: Actor,
}

impl TenantPolicyAdapter {
    /// An adapter for `tenant`'s rules.
    pub fn new(store: Arc<dyn PolicyStore>, tenant: TenantId) -> Self {
        Self { store, tenant, actor: Actor::system("casbin adapter") }
    }
}

fn adapter_error(err: impl std::error::Error + Send + Sync + 'static) -> casbin::Error {
    casbin::Error::AdapterError(AdapterError(Box::new(err)))
}

fn to_rules(ptype: &str, rules: Vec<Vec<String>>) -> Vec<Rule> {
    rules.into_iter().map(|values| Rule { ptype: ptype.to_owned(), values }).collect()
}

#[async_trait]
impl Adapter for TenantPolicyAdapter {
    async fn load_policy(&mut self, m: &mut dyn Model) -> casbin::Result<()> {
        let rules = self.store.rules(self.tenant).await.map_err(adapter_error)?;
        for rule in rules {
            let sec = if rule.ptype.starts_with('g') { "g" } else { "p" };
            if let Some(assertion) = m.get_mut_model().get_mut(sec).and_then(|s| s.get_mut(&rule.ptype)) {
                assertion.get_mut_policy().insert(rule.values);
            }
        }
        Ok(())
    }

    async fn load_filtered_policy<'a>(&mut self, m: &mut dyn Model, _f: Filter<'a>) -> casbin::Result<()> {
        // The adapter is already filtered to one tenant, which is the only filter Socle uses.
        self.load_policy(m).await
    }

    async fn save_policy(&mut self, m: &mut dyn Model) -> casbin::Result<()> {
        let mut wanted = Vec::new();
        for sec in ["p", "g"] {
            if let Some(section) = m.get_model().get(sec) {
                for (ptype, assertion) in section {
                    wanted.extend(assertion.get_policy().iter().map(|v| Rule { ptype: ptype.clone(), values: v.clone() }));
                }
            }
        }
        let existing = self.store.rules(self.tenant).await.map_err(adapter_error)?;
        let stale: Vec<Rule> = existing.iter().filter(|r| !wanted.contains(r)).cloned().collect();
        self.store.change(self.tenant, &stale, &wanted, &self.actor).await.map_err(adapter_error)?;
        Ok(())
    }

    async fn clear_policy(&mut self) -> casbin::Result<()> {
        let existing = self.store.rules(self.tenant).await.map_err(adapter_error)?;
        self.store.revoke(self.tenant, &existing, &self.actor).await.map_err(adapter_error)?;
        Ok(())
    }

    fn is_filtered(&self) -> bool {
        // From casbin's point of view this is the whole policy: the tenant's enforcer holds only
        // the tenant's rules. (A filtered adapter would not be loaded by `Enforcer::new`.)
        false
    }

    async fn add_policy(&mut self, _sec: &str, ptype: &str, rule: Vec<String>) -> casbin::Result<bool> {
        self.add_policies(_sec, ptype, vec![rule]).await
    }

    async fn add_policies(&mut self, _sec: &str, ptype: &str, rules: Vec<Vec<String>>) -> casbin::Result<bool> {
        let added = self.store.grant(self.tenant, &to_rules(ptype, rules), &self.actor).await.map_err(adapter_error)?;
        Ok(added > 0)
    }

    async fn remove_policy(&mut self, _sec: &str, ptype: &str, rule: Vec<String>) -> casbin::Result<bool> {
        self.remove_policies(_sec, ptype, vec![rule]).await
    }

    async fn remove_policies(&mut self, _sec: &str, ptype: &str, rules: Vec<Vec<String>>) -> casbin::Result<bool> {
        let removed = self.store.revoke(self.tenant, &to_rules(ptype, rules), &self.actor).await.map_err(adapter_error)?;
        Ok(removed > 0)
    }

    async fn remove_filtered_policy(&mut self, _sec: &str, ptype: &str, field_index: usize, field_values: Vec<String>) -> casbin::Result<bool> {
        let removed = self.store.revoke_matching(self.tenant, ptype, field_index, &field_values, &self.actor).await.map_err(adapter_error)?;
        Ok(removed > 0)
    }
}
