//! The store conformance suite: the same expectations of every store, whichever backend serves
//! them (the suite runs on SQLite and on PostgreSQL).

use std::time::Duration;

use socle_core::audit::AuditQuery;
use socle_core::authz::{RoleDef, Rule, subject};
use socle_core::error::StoreError;
use socle_core::identity::sessions::NewSession;
use socle_core::identity::{NewUser, UserStatus, UserUpdate, secrets};
use socle_tenants::roles::UserType;
use socle_tenants::{Actor, AssetKind, DomainName, NewTenant, Slug, TenantError, TenantPatch, TenantStatus};
use socle_tests::TestApp;

fn actor() -> Actor {
    Actor::system("conformance")
}

fn new_user(email: &str) -> NewUser {
    NewUser { email: email.into(), display_name: "Someone".into(), user_type: UserType::Interne, locale: None, password_hash: None }
}

#[tokio::test]
async fn tenants_round_trip_through_create_update_suspend_and_delete() {
    let t = TestApp::spawn().await;
    let store = &t.app.tenants;
    let created = store.create(NewTenant::new(Slug::parse("acme").unwrap(), "  Acme  "), &actor()).await.unwrap();
    assert_eq!(created.name, "Acme");
    assert!(created.is_active());
    assert_eq!(store.get(created.id).await.unwrap().unwrap(), created);
    assert_eq!(store.by_slug(&created.slug).await.unwrap().unwrap().id, created.id);

    let duplicate = store.create(NewTenant::new(Slug::parse("acme").unwrap(), "Other"), &actor()).await;
    assert!(matches!(duplicate, Err(TenantError::SlugTaken(_))), "{duplicate:?}");

    let patch = TenantPatch { name: Some("Acme Télécom".into()), require_mfa_for_admins: Some(true), ..TenantPatch::default() };
    let updated = store.update(created.id, &patch, &actor()).await.unwrap();
    assert_eq!(updated.name, "Acme Télécom");
    assert!(updated.require_mfa_for_admins);

    let suspended = store.set_status(created.id, TenantStatus::Suspended { reason: "unpaid".into() }, &actor()).await.unwrap();
    assert_eq!(suspended.status, TenantStatus::Suspended { reason: "unpaid".into() });
    store.set_status(created.id, TenantStatus::Active, &actor()).await.unwrap();

    let other = store.create(NewTenant::new(Slug::parse("beta").unwrap(), "Beta"), &actor()).await.unwrap();
    let slugs: Vec<String> = store.list().await.unwrap().iter().map(|t| t.slug.to_string()).collect();
    assert_eq!(slugs, ["acme", "beta"]);

    t.create_user(&created, "someone@acme.fr", "interne", &["direction"]).await;
    store.delete(created.id, &actor()).await.unwrap();
    assert!(store.get(created.id).await.unwrap().is_none());
    assert!(store.get(other.id).await.unwrap().is_some());
    // The audit journal keeps the deleted tenant's history.
    let history = t.app.audit.list(created.id, &AuditQuery::default()).await.unwrap();
    assert!(history.iter().any(|e| e.action == "tenant.deleted"));
    assert!(history.iter().any(|e| e.action == "user.created"));
    assert!(matches!(store.delete(created.id, &actor()).await, Err(TenantError::NotFound(_))));
}

#[tokio::test]
async fn tenant_validation_refuses_bad_names_and_unreadable_themes() {
    let t = TestApp::spawn().await;
    let mut new = NewTenant::new(Slug::parse("gamma").unwrap(), "");
    assert!(matches!(t.app.tenants.create(new.clone(), &actor()).await, Err(TenantError::Invalid(_))));
    new.name = "Gamma".into();
    new.theme.text = socle_tenants::Color::parse("#eeeeee").unwrap();
    let Err(TenantError::Invalid(err)) = t.app.tenants.create(new, &actor()).await else { panic!("expected a validation error") };
    assert_eq!(err.field, "theme.background");
    assert!(t.app.tenants.list().await.unwrap().is_empty(), "nothing half-written");
}

#[tokio::test]
async fn domains_are_unique_across_tenants_and_resolve_to_their_tenant() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let domain = DomainName::parse("portail.alpha.fr").unwrap();
    t.app.tenants.add_domain(a.id, &domain, &actor()).await.unwrap();
    assert_eq!(t.app.tenants.by_domain(&domain).await.unwrap().unwrap().id, a.id);
    assert_eq!(t.app.tenants.get(a.id).await.unwrap().unwrap().domains, vec![domain.clone()]);
    let taken = t.app.tenants.add_domain(b.id, &domain, &actor()).await;
    assert!(matches!(taken, Err(TenantError::DomainTaken(_))), "{taken:?}");
    assert!(matches!(t.app.tenants.remove_domain(b.id, &domain, &actor()).await, Err(TenantError::NotFound(_))));
    t.app.tenants.remove_domain(a.id, &domain, &actor()).await.unwrap();
    assert!(t.app.tenants.by_domain(&domain).await.unwrap().is_none());
}

#[tokio::test]
async fn branding_assets_are_stored_per_tenant_and_replaced() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let first = t.app.tenants.put_asset(a.id, AssetKind::Logo, "image/png", b"one", &actor()).await.unwrap();
    let second = t.app.tenants.put_asset(a.id, AssetKind::Logo, "image/png", b"two", &actor()).await.unwrap();
    assert_ne!(first, second);
    let stored = t.app.tenants.asset(a.id, AssetKind::Logo).await.unwrap().unwrap();
    assert_eq!(stored.bytes, b"two");
    assert_eq!(stored.sha256, second);
    assert_eq!(t.app.tenants.get(a.id).await.unwrap().unwrap().logo_sha256, Some(second));
    assert!(t.app.tenants.asset(b.id, AssetKind::Logo).await.unwrap().is_none());
    assert!(t.app.tenants.asset(a.id, AssetKind::Favicon).await.unwrap().is_none());
}

#[tokio::test]
async fn emails_are_unique_per_tenant_only_and_matched_case_insensitively() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let users = &t.app.users;
    let created = users.create(a.id, &new_user("Marie.Curie@Exemple.fr"), &[], &actor()).await.unwrap();
    assert_eq!(created.email, "marie.curie@exemple.fr");
    let duplicate = users.create(a.id, &new_user("marie.curie@exemple.fr"), &[], &actor()).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))), "{duplicate:?}");
    users.create(b.id, &new_user("marie.curie@exemple.fr"), &[], &actor()).await.unwrap();
    assert_eq!(users.by_email(a.id, "MARIE.CURIE@exemple.FR").await.unwrap().unwrap().0.id, created.id);
    assert!(users.get(b.id, created.id).await.unwrap().is_none(), "a user is only found in its own tenant");
    assert!(matches!(users.create(a.id, &new_user("not an email"), &[], &actor()).await, Err(StoreError::Invalid(_))));
}

#[tokio::test]
async fn a_failed_user_creation_leaves_nothing_behind() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    // The role rule is refused inside the transaction, after the user row was inserted.
    let bad_role = "x".repeat(300);
    let result = t.app.users.create(a.id, &new_user("lost@exemple.fr"), &[bad_role], &actor()).await;
    assert!(result.is_err());
    assert!(t.app.users.by_email(a.id, "lost@exemple.fr").await.unwrap().is_none());
    let journal = t.app.audit.list(a.id, &AuditQuery::default()).await.unwrap();
    assert!(!journal.iter().any(|e| e.action == "user.created"));
}

#[tokio::test]
async fn login_failures_lock_the_account_progressively_and_success_resets() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let user = t.app.users.create(a.id, &new_user("u@exemple.fr"), &[], &actor()).await.unwrap();
    for expected in 1..=3 {
        assert_eq!(t.app.users.record_login_failure(a.id, user.id, &actor()).await.unwrap(), expected);
    }
    let locked = t.app.users.get(a.id, user.id).await.unwrap().unwrap();
    let now = t.app.now_ms();
    assert!(locked.locked_until.unwrap() > now && locked.locked_until.unwrap() <= now + 1_000);
    for _ in 4..=10 {
        t.app.users.record_login_failure(a.id, user.id, &actor()).await.unwrap();
    }
    let locked = t.app.users.get(a.id, user.id).await.unwrap().unwrap();
    assert!(locked.locked_until.unwrap() >= t.app.now_ms() + 14 * 60 * 1000, "ten failures lock for 15 minutes");
    t.app.users.record_login_success(a.id, user.id, &actor()).await.unwrap();
    let reset = t.app.users.get(a.id, user.id).await.unwrap().unwrap();
    assert_eq!((reset.failed_logins, reset.locked_until), (0, None));
    assert!(reset.last_login_at.is_some());
}

#[tokio::test]
async fn totp_steps_are_accepted_once() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let user = t.app.users.create(a.id, &new_user("u@exemple.fr"), &[], &actor()).await.unwrap();
    t.app.users.set_totp(a.id, user.id, Some("JBSWY3DPEHPK3PXP"), true, &actor()).await.unwrap();
    assert!(t.app.users.get(a.id, user.id).await.unwrap().unwrap().totp_enabled);
    assert!(t.app.users.use_totp_step(a.id, user.id, 100).await.unwrap());
    assert!(!t.app.users.use_totp_step(a.id, user.id, 100).await.unwrap(), "replay");
    assert!(!t.app.users.use_totp_step(a.id, user.id, 99).await.unwrap(), "older step");
    assert!(t.app.users.use_totp_step(a.id, user.id, 101).await.unwrap());
}

#[tokio::test]
async fn reset_tokens_work_once_and_expire() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let user = t.app.users.create(a.id, &new_user("u@exemple.fr"), &[], &actor()).await.unwrap();
    let expires = t.app.now_ms() + 3_600_000;
    t.app.users.create_reset(a.id, user.id, "hash-one", expires, &actor()).await.unwrap();
    t.app.users.create_reset(a.id, user.id, "hash-two", expires, &actor()).await.unwrap();
    let b = t.create_tenant("bravo", "Bravo").await;
    assert_eq!(t.app.users.consume_reset(b.id, "hash-one").await.unwrap(), None, "another tenant cannot use it");
    assert_eq!(t.app.users.consume_reset(a.id, "hash-one").await.unwrap(), Some(user.id));
    assert_eq!(t.app.users.consume_reset(a.id, "hash-one").await.unwrap(), None, "single use");
    t.clock.advance(Duration::from_secs(3601));
    assert_eq!(t.app.users.consume_reset(a.id, "hash-two").await.unwrap(), None, "expired");
}

#[tokio::test]
async fn sessions_expire_are_tenant_bound_and_end_with_password_changes() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let user = t.app.users.create(a.id, &new_user("u@exemple.fr"), &[], &actor()).await.unwrap();
    let new = |hash: &str| NewSession { id_hash: hash.into(), user_id: user.id, csrf_token: "csrf".into(), mfa_verified: true, ip: None, user_agent: None };
    t.app.sessions.create(a.id, &new("s1")).await.unwrap();
    assert!(t.app.sessions.get(a.id, "s1").await.unwrap().is_some());
    assert!(t.app.sessions.get(b.id, "s1").await.unwrap().is_none(), "sessions are bound to their tenant");
    t.clock.advance(Duration::from_secs(13 * 3600));
    assert!(t.app.sessions.get(a.id, "s1").await.unwrap().is_none(), "idle sessions expire");

    t.app.sessions.create(a.id, &new("s2")).await.unwrap();
    t.app.sessions.create(a.id, &new("s3")).await.unwrap();
    let hash = secrets::hash_password("a new long password").await.unwrap();
    t.app.users.set_password(a.id, user.id, &hash, &actor()).await.unwrap();
    assert!(t.app.sessions.get(a.id, "s2").await.unwrap().is_none());
    assert!(t.app.sessions.get(a.id, "s3").await.unwrap().is_none());

    t.app.sessions.create(a.id, &new("s4")).await.unwrap();
    let update = UserUpdate { display_name: "Someone".into(), user_type: UserType::Interne, locale: None, status: UserStatus::Disabled, account_id: None };
    t.app.users.update(a.id, user.id, &update, &actor()).await.unwrap();
    assert!(t.app.sessions.get(a.id, "s4").await.unwrap().is_none(), "disabling a user ends their sessions");
}

#[tokio::test]
async fn new_tenants_get_the_role_templates_and_policies_change_atomically() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let policies = &t.app.policies;
    let roles: Vec<String> = policies.roles(a.id).await.unwrap().into_iter().map(|r| r.key).collect();
    assert_eq!(roles.len(), 8);
    for key in ["direction", "gestionnaire", "support_n1", "support_n2", "commercial", "comptabilite", "client", "partenaire"] {
        assert!(roles.iter().any(|r| r == key), "{key}");
    }
    let margin = Rule::role_permission(a.id, "comptabilite", "voir_marge");
    assert!(policies.rules(a.id).await.unwrap().contains(&margin));

    let grant = Rule::role_permission(a.id, "support_n1", "exporter");
    let (removed, added) = policies.change(a.id, std::slice::from_ref(&margin), std::slice::from_ref(&grant), &actor()).await.unwrap();
    assert_eq!((removed, added), (1, 1));
    let rules = policies.rules(a.id).await.unwrap();
    assert!(rules.contains(&grant) && !rules.contains(&margin));
    assert_eq!(policies.grant(a.id, std::slice::from_ref(&grant), &actor()).await.unwrap(), 0, "existing rules are skipped");

    // A rule for another tenant's domain is refused, and nothing of the change is applied.
    let b = t.create_tenant("bravo", "Bravo").await;
    let foreign = Rule::role_permission(b.id, "support_n1", "administrer");
    let mixed = policies.change(a.id, std::slice::from_ref(&grant), &[foreign], &actor()).await;
    assert!(matches!(mixed, Err(StoreError::Invalid(_))), "{mixed:?}");
    assert!(policies.rules(a.id).await.unwrap().contains(&grant), "the revoke was rolled back");
}

#[tokio::test]
async fn custom_roles_can_be_created_and_deleted_but_builtin_ones_stay() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let role = RoleDef {
        key: "technicien_terrain".into(),
        name_fr: "Technicien terrain".into(),
        name_en: "Field technician".into(),
        user_types: vec![UserType::Technicien],
        builtin: false,
    };
    t.app.policies.create_role(a.id, &role, &["exporter".into()], &actor()).await.unwrap();
    assert!(matches!(t.app.policies.create_role(a.id, &role, &[], &actor()).await, Err(StoreError::Conflict(_))));
    let user = t.create_user(&a, "tech@exemple.fr", "technicien", &["technicien_terrain"]).await;
    assert!(t.app.authz.has_permission(a.id, user, "exporter").await.unwrap());
    t.app.policies.delete_role(a.id, "technicien_terrain", &actor()).await.unwrap();
    t.app.authz.invalidate_local(a.id);
    assert!(!t.app.authz.has_permission(a.id, user, "exporter").await.unwrap());
    assert!(t.app.authz.user_roles(a.id, user).await.unwrap().is_empty(), "memberships go with the role");
    assert!(matches!(t.app.policies.delete_role(a.id, "direction", &actor()).await, Err(StoreError::Conflict(_))));
    assert!(matches!(t.app.policies.delete_role(a.id, "nope", &actor()).await, Err(StoreError::NotFound(_))));
    let rules = t.app.policies.rules(a.id).await.unwrap();
    assert!(!rules.iter().any(|r| r.values.iter().any(|v| v == &subject::role("technicien_terrain"))));
}

#[tokio::test]
async fn the_audit_journal_is_append_only_on_every_backend() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let entries = t.app.audit.list(a.id, &AuditQuery::default()).await.unwrap();
    assert_eq!(entries[0].action, "tenant.created");
    assert!(entries[0].after.is_some());
    let update = "UPDATE audit_log SET action = 'forged'";
    let delete = "DELETE FROM audit_log";
    match &t.app.db {
        socle_core::db::Db::Sqlite(pool) => {
            let err = sqlx::query(update).execute(pool).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
            assert!(sqlx::query(delete).execute(pool).await.is_err());
        }
        socle_core::db::Db::Postgres { app, .. } => {
            // The application role has no UPDATE or DELETE privilege on the journal at all.
            let mut tx = socle_core::db::postgres::begin(app, socle_core::db::Scope::Tenant(a.id)).await.unwrap();
            let err = sqlx::query(update).execute(&mut *tx).await.unwrap_err();
            assert!(err.to_string().contains("permission denied"), "{err}");
            drop(tx);
            let mut tx = socle_core::db::postgres::begin(app, socle_core::db::Scope::Platform).await.unwrap();
            assert!(sqlx::query(delete).execute(&mut *tx).await.is_err());
        }
    }
    let after = t.app.audit.list(a.id, &AuditQuery::default()).await.unwrap();
    assert_eq!(after, entries);
}

#[tokio::test]
async fn audit_pages_go_backwards_with_a_cursor_and_filter_by_action() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    for i in 0..5 {
        t.app.users.create(a.id, &new_user(&format!("u{i}@exemple.fr")), &[], &actor()).await.unwrap();
    }
    let first = t.app.audit.list(a.id, &AuditQuery { action_prefix: Some("user.".into()), before_id: None, limit: 3 }).await.unwrap();
    assert_eq!(first.len(), 3);
    assert!(first.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let next = AuditQuery { action_prefix: Some("user.".into()), before_id: Some(first[2].id), limit: 3 };
    let second = t.app.audit.list(a.id, &next).await.unwrap();
    assert_eq!(second.len(), 2);
    assert!(second.iter().all(|e| e.action == "user.created"));
}

#[tokio::test]
async fn operators_are_platform_accounts_with_sessions() {
    let t = TestApp::spawn().await;
    let hash = secrets::hash_password("operator password").await.unwrap();
    let op = t.app.operators.create("Ops@Socle.fr", "Ops", &hash, &actor()).await.unwrap();
    assert_eq!(op.email, "ops@socle.fr");
    assert!(matches!(t.app.operators.create("ops@socle.fr", "Ops", &hash, &actor()).await, Err(StoreError::Conflict(_))));
    let (found, stored_hash) = t.app.operators.by_email("OPS@socle.fr").await.unwrap().unwrap();
    assert_eq!((found.id, stored_hash), (op.id, hash));
    assert_eq!(t.app.operators.record_login_failure(op.id, &actor()).await.unwrap(), 1);
    t.app.operators.create_session(op.id, "h", "c").await.unwrap();
    assert_eq!(t.app.operators.session("h").await.unwrap().unwrap().operator_id, op.id);
    t.clock.advance(Duration::from_secs(9 * 3600));
    assert!(t.app.operators.session("h").await.unwrap().is_none());
    let platform = t.app.audit.list_platform(&AuditQuery::default()).await.unwrap();
    assert!(platform.iter().any(|e| e.action == "operator.created"));
}
