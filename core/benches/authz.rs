//! Casbin decisions per tenant: cached (the decision cache in front of the tenant's enforcer) and
//! uncached (casbin evaluates the matcher), with 10, 1 000 and 10 000 rules in the tenant, and
//! with 1 or 1 000 tenants loaded (a decision must not get slower as tenants are added).
//!
//! `cargo bench -p socle-core --bench authz`

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use socle_core::authz::{Authorizer, PolicyStore, RoleDef, Rule, names};
use socle_core::error::StoreError;
use socle_tenants::{Actor, TenantId};
use uuid::Uuid;

/// Rules held in memory: the benchmark measures decisions, not storage.
#[derive(Default)]
struct MemoryRules(Mutex<HashMap<TenantId, Vec<Rule>>>);

#[async_trait]
impl PolicyStore for MemoryRules {
    async fn rules(&self, tenant: TenantId) -> Result<Vec<Rule>, StoreError> {
        Ok(self.0.lock().unwrap().get(&tenant).cloned().unwrap_or_default())
    }
    async fn change(&self, tenant: TenantId, revoke: &[Rule], grant: &[Rule], _by: &Actor) -> Result<(usize, usize), StoreError> {
        let mut all = self.0.lock().unwrap();
        let rules = all.entry(tenant).or_default();
        rules.retain(|r| !revoke.contains(r));
        rules.extend(grant.iter().cloned());
        Ok((revoke.len(), grant.len()))
    }
    async fn revoke_matching(&self, _: TenantId, _: &str, _: usize, _: &[String], _: &Actor) -> Result<usize, StoreError> {
        Ok(0)
    }
    async fn roles(&self, _: TenantId) -> Result<Vec<RoleDef>, StoreError> {
        Ok(Vec::new())
    }
    async fn create_role(&self, _: TenantId, _: &RoleDef, _: &[String], _: &Actor) -> Result<(), StoreError> {
        Ok(())
    }
    async fn delete_role(&self, _: TenantId, _: &str, _: &Actor) -> Result<(), StoreError> {
        Ok(())
    }
    async fn set_user_roles(&self, _: TenantId, _: Uuid, _: &[String], _: &Actor) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A tenant with `rules` rules: half permission rules (one per role), half role memberships.
fn tenant_rules(tenant: TenantId, rules: usize, user: Uuid) -> Vec<Rule> {
    let roles = (rules / 2).max(1);
    let mut out = Vec::with_capacity(rules);
    for i in 0..roles {
        out.push(Rule::role_permission(tenant, &format!("r{i}"), &format!("p{i}")));
    }
    for i in 0..(rules - roles) {
        let member = if i == 0 { user } else { Uuid::from_u128(i as u128) };
        out.push(Rule::member(tenant, &names::user(member), &names::role(&format!("r{}", i % roles))));
    }
    out
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("casbin_decision");
    group.sample_size(20);
    for tenants in [1usize, 1_000] {
        for rules in [10usize, 1_000, 10_000] {
            let store = Arc::new(MemoryRules::default());
            let authorizer = Authorizer::new(store.clone());
            let user = Uuid::now_v7();
            let target = TenantId::new();
            store.0.lock().unwrap().insert(target, tenant_rules(target, rules, user));
            runtime.block_on(async {
                // The other tenants, each loaded into the authorizer like on a busy node.
                for _ in 1..tenants {
                    let other = TenantId::new();
                    store.0.lock().unwrap().insert(other, tenant_rules(other, 10, Uuid::now_v7()));
                    authorizer.has_permission(other, user, "p0").await.unwrap();
                }
                assert!(authorizer.has_permission(target, user, "p0").await.unwrap());
                assert!(!authorizer.has_permission(target, user, "p1").await.unwrap() || rules < 4);
            });
            let label = format!("{tenants}_tenants/{rules}_rules");
            group.bench_with_input(BenchmarkId::new("cached", &label), &(), |b, ()| {
                b.to_async(&runtime).iter(|| authorizer.has_permission(target, user, "p0"));
            });
            let (sub, obj) = (names::user(user), names::permission("p0"));
            group.bench_with_input(BenchmarkId::new("uncached", &label), &(), |b, ()| {
                b.to_async(&runtime).iter(|| authorizer.enforce_uncached(target, &sub, &obj, "use"));
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
