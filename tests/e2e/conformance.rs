//! The store conformance suite: the same expectations of every store, whichever backend serves
//! them (the suite runs on SQLite and on PostgreSQL).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use socle_core::audit::AuditQuery;
use socle_core::authz::{RoleDef, Rule, names};
use socle_core::db::{Db, Scope};
use socle_core::error::StoreError;
use socle_core::identity::sessions::NewSession;
use socle_core::identity::{NewUser, UserStatus, UserUpdate, secrets};
use socle_core::jobs::{Job, NewJob, Schedule};
use socle_core::mail::{MailStore, RenderedMail, TemplateText};
use socle_core::marketplace::MarketplaceStore;
use socle_core::marketplace::billing::Entry;
use socle_core::marketplace::notify::Notification;
use socle_core::marketplace::retention::{Purged, Retained, RetentionChange};
use socle_core::marketplace::rollout::Rollout;
use socle_core::marketplace::store::{Approval, Inserted, Operation, Publisher, Review, VersionRow};
use socle_core::plugins::store::CallStats;
use socle_core::plugins::store::{Installed, KV_QUOTA_BYTES, KvExpect, KvWrite, Receipt};
use socle_core::records::query::{ExprKind, QueryPlan, index_name};
use socle_core::records::saved_views::SavedView;
use socle_core::records::store::{IndexSpec, LinkRow, RecordWrite, ReferenceCheck, SearchDoc, StoredFile, StoredRecord, TimerRow, WriteOp};
use socle_core::records::{FieldChange, Filter, Op, Query, RecordError, Sort};
use socle_marketplace::schema::{CollectionDef, SchemaFile};
use socle_tenants::roles::UserType;
use socle_tenants::{Actor, AssetKind, DomainName, Locale, NewTenant, Slug, TenantError, TenantId, TenantPatch, TenantStatus};
use socle_tests::TestApp;
use uuid::Uuid;

fn actor() -> Actor {
    Actor::system("conformance")
}

fn new_user(email: &str) -> NewUser {
    NewUser { email: email.into(), display_name: "Someone".into(), user_type: UserType::Interne, locale: None, password_hash: None }
}

/// A collection with a unique field, an indexed number, a bool, a multi-valued enum and a
/// reference: the store is given plans and writes for it directly.
const ITEMS: &str = r#"
[[collections]]
name = "custom.item"
label = "Articles"
title_field = "label"

[[collections.fields]]
name = "code"
type = "text"
label = "Code"
unique = true

[[collections.fields]]
name = "label"
type = "text"
label = "Libellé"
searchable = true

[[collections.fields]]
name = "qty"
type = "number"
label = "Quantité"
index = true

[[collections.fields]]
name = "active"
type = "bool"
label = "Actif"

[[collections.fields]]
name = "tags"
type = "enum"
label = "Étiquettes"
multiple = true
values = [{ key = "promo", label = "Promo" }, { key = "neuf", label = "Neuf" }]

[[collections.fields]]
name = "parent"
type = "reference"
label = "Parent"
collection = "custom.item"
"#;

const ITEM: &str = "custom.item";

/// The marketplace's store (the service in front of it, with its own rules, is not this suite's).
fn market(t: &TestApp) -> &Arc<dyn MarketplaceStore> {
    t.app.marketplace.store()
}

/// The mail outbox and template overrides.
fn mails(t: &TestApp) -> &Arc<dyn MailStore> {
    t.app.mailer.store()
}

fn items() -> CollectionDef {
    SchemaFile::parse(ITEMS).unwrap().collections.remove(0)
}

fn item(id: Uuid, version: i64, data: Value) -> StoredRecord {
    let Value::Object(data) = data else { panic!("record data is an object") };
    StoredRecord {
        id,
        collection: ITEM.into(),
        version,
        state: None,
        data,
        created_at: 1_000,
        updated_at: 1_000 + version,
        created_by: "system".into(),
        updated_by: "system".into(),
    }
}

/// A write with nothing but the record (tests add what they check).
fn write(op: WriteOp, record: StoredRecord, expected_version: Option<i64>) -> RecordWrite {
    RecordWrite {
        op,
        record,
        expected_version,
        changes: Vec::new(),
        transition: None,
        actor: actor(),
        references: Vec::new(),
        files: Vec::new(),
        search_docs: Vec::new(),
        timers: Vec::new(),
        jobs: Vec::new(),
        unique_indexes: Vec::new(),
    }
}

/// Creates an item in `tenant`; returns its id.
async fn create_item(t: &TestApp, tenant: TenantId, data: Value) -> Uuid {
    let id = Uuid::now_v7();
    t.app.records.store().commit(tenant, &write(WriteOp::Create, item(id, 1, data), None)).await.unwrap();
    id
}

/// The ids a query finds, in its order.
async fn query_ids(t: &TestApp, tenant: TenantId, query: Query) -> (Vec<Uuid>, Option<i64>) {
    let plan = QueryPlan::new(&items(), &query, &|_| true).unwrap();
    let (records, total) = t.app.records.store().query(tenant, &plan).await.unwrap();
    (records.into_iter().map(|r| r.id).collect(), total)
}

fn filter(field: &str, op: Op, value: Value) -> Filter {
    Filter { field: field.into(), op, value }
}

fn sort(field: &str, desc: bool) -> Option<Sort> {
    Some(Sort { field: field.into(), desc })
}

fn kinds(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.kind.as_str()).collect()
}

fn mail(id: Uuid, subject: &str) -> RenderedMail {
    RenderedMail {
        id,
        recipient: "client@exemple.fr".into(),
        sender: "\"Alpha\" <noreply@socle.test>".into(),
        subject: subject.into(),
        template: "notification".into(),
        locale: Locale::Fr,
        html: "<p>Bonjour</p>".into(),
        text: "Bonjour".into(),
        record_id: None,
    }
}

fn send_job(tenant: TenantId, id: Uuid, dedupe: &str, now: i64) -> NewJob {
    NewJob::new(Some(tenant), socle_core::mail::SEND_JOB, json!({ "mail_id": id }), now).dedupe(dedupe)
}

fn stored_file(id: Uuid, name: &str, bytes: &[u8]) -> StoredFile {
    StoredFile {
        id,
        name: name.into(),
        content_type: "application/octet-stream".into(),
        size: i64::try_from(bytes.len()).unwrap(),
        sha256: format!("sha-{name}"),
        created_by: "user:someone".into(),
        record_id: None,
        field: None,
    }
}

fn installed(plugin: &str, version: &str, sha256: &str) -> Installed {
    Installed {
        plugin_id: plugin.into(),
        version: version.into(),
        sha256: sha256.into(),
        manifest: json!({ "id": plugin, "version": version, "capabilities": ["kv"] }),
        status: "active".into(),
        installed_at: 0,
        updated_at: 0,
    }
}

fn receipt(tenant: TenantId, plugin: &str, version: &str, kind: &str, started_at: i64, duration_us: i64, outcome: &str) -> Receipt {
    Receipt {
        tenant,
        plugin_id: plugin.into(),
        version: version.into(),
        kind: kind.into(),
        target: format!("{kind}:{duration_us}"),
        started_at,
        duration_us,
        epochs: 1,
        peak_memory: duration_us * 10,
        host_calls: 2,
        denials: i32::from(outcome == "trap"),
        outcome: outcome.into(),
        error: (outcome != "ok").then(|| format!("{outcome} after {duration_us} µs")),
    }
}

fn publisher(id: &str, status: &str) -> Publisher {
    Publisher { id: id.into(), name: format!("Éditeur {id}"), email: format!("{id}@exemple.fr"), status: status.into(), created_at: 42 }
}

fn version_row(plugin: &str, version: &str, publisher: &str, submitted_at: i64) -> VersionRow {
    VersionRow {
        plugin_id: plugin.into(),
        version: version.into(),
        publisher_id: publisher.into(),
        digest: format!("sha256:{plugin}-{version}"),
        component_sha256: format!("{plugin}-{version}-component"),
        manifest: format!("id = \"{plugin}\"\nversion = \"{version}\"\n"),
        readme: Some("# Lisez-moi".into()),
        changelog: None,
        signature: "{\"sig\":\"…\"}".into(),
        key_id: "ed25519:k1".into(),
        channel: "stable".into(),
        status: "in_review".into(),
        risk: 12,
        report: json!({ "checks": [{ "name": "size", "ok": true }] }),
        review_note: None,
        reviewed_by: None,
        reviewed_at: None,
        yanked: None,
        deprecated: None,
        submitted_at,
    }
}

/// Submits `plugin@version` by `publisher` (created if needed).
async fn submit(t: &TestApp, plugin: &str, version: &str, publisher_id: &str, submitted_at: i64) -> Inserted {
    market(t).create_publisher(&publisher(publisher_id, "active")).await.unwrap();
    let row = version_row(plugin, version, publisher_id, submitted_at);
    // As a submission does: the component in the plugin runtime's store, then the version.
    t.app.plugins.store().put_component(&row.component_sha256, b"\0asm component").await.unwrap();
    market(t).insert_version(&row, format!("archive {plugin} {version}").as_bytes()).await.unwrap()
}

fn operation(id: &str, started_at: i64) -> Operation {
    Operation {
        id: id.into(),
        kind: "install".into(),
        summary: format!("operation {id}"),
        state: "applying".into(),
        from_wants: "{}".into(),
        from_lock: String::new(),
        to_wants: format!("{{\"{id}\":{{}}}}"),
        to_lock: format!("lock after {id}"),
        snapshot: "[]".into(),
        error: None,
        actor: "system".into(),
        started_at,
        finished_at: None,
    }
}

fn approval(id: &str, plugin: &str, version: &str, created_at: i64) -> Approval {
    Approval {
        id: id.into(),
        plugin_id: plugin.into(),
        version: version.into(),
        grants: vec!["http:api.exemple.fr".into(), "kv".into()],
        status: "pending".into(),
        created_at,
        decided_by: None,
        decided_at: None,
    }
}

fn notification(id: &str, created_at: i64) -> Notification {
    Notification {
        id: id.into(),
        kind: "update_available".into(),
        plugin_id: "good".into(),
        version: "1.1.0".into(),
        message: format!("good 1.1.0 est disponible ({id})"),
        created_at,
        read_at: None,
    }
}

fn rollout(plugin: &str, version: &str, state: &str, started_at: i64) -> Rollout {
    Rollout {
        plugin_id: plugin.into(),
        version: version.into(),
        previous: Some("1.0.0".into()),
        steps: vec![5, 25, 50, 100],
        percent: 5,
        state: state.into(),
        threshold_bp: 200,
        min_invocations: 20,
        started_at,
        step_at: started_at,
        updated_at: started_at,
        note: None,
    }
}

fn ledger_entry(id: &str, period: &str, tenant: TenantId, plugin: &str, kind: &str, amount_cents: i64) -> Entry {
    Entry {
        id: id.into(),
        period: period.into(),
        tenant,
        plugin_id: plugin.into(),
        publisher_id: "partenaire".into(),
        kind: kind.into(),
        quantity: 1,
        unit_price: amount_cents,
        amount_cents,
        currency: "EUR".into(),
        reseller: None,
        created_at: 7,
    }
}

/// Opens every connection of the pool at once, so that concurrent calls after it start together
/// rather than one after the other as their connections get opened.
async fn open_every_connection(t: &TestApp) {
    let opening = (0..t.app.settings.database.max_connections).map(|_| t.app.db.read(Scope::Platform));
    drop(futures::future::try_join_all(opening).await.unwrap());
}

/// An app whose watcher of interrupted plugin operations never wakes during a test (it would
/// roll back the operations the tests leave applying on purpose).
async fn spawn_without_recovery() -> TestApp {
    TestApp::spawn_configured(|settings| settings.marketplace.operation_lease_secs = 86_400).await
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
    assert!(!rules.iter().any(|r| r.values.iter().any(|v| v == &names::role("technicien_terrain"))));
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

#[tokio::test]
async fn jobs_are_enqueued_once_per_dedupe_key_and_a_lease_takes_only_due_jobs_once() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let jobs = &t.app.jobs;
    let now = t.app.now_ms();
    assert!(jobs.enqueue(&NewJob::new(Some(a.id), "conformance.first", json!({ "n": 1 }), now).dedupe("conformance:first")).await.unwrap());
    let again = NewJob::new(Some(a.id), "conformance.first", json!({ "n": 2 }), now).dedupe("conformance:first");
    assert!(!jobs.enqueue(&again).await.unwrap(), "a dedupe key is used once");
    assert!(jobs.enqueue(&NewJob::new(Some(a.id), "conformance.later", json!({}), now).at(now + 60_000)).await.unwrap());
    // Jobs without a key never collide with each other.
    assert!(jobs.enqueue(&NewJob::new(None, "conformance.platform", json!({}), now)).await.unwrap());
    assert!(jobs.enqueue(&NewJob::new(None, "conformance.platform", json!({}), now)).await.unwrap());

    let first_batch = jobs.lease("w1", now, 30_000, 2).await.unwrap();
    assert_eq!(first_batch.len(), 2, "at most the limit");
    let second_batch = jobs.lease("w2", now, 30_000, 10).await.unwrap();
    assert_eq!(second_batch.len(), 1, "the due job the first worker did not take, and not the later one");
    let mut leased: Vec<Job> = first_batch.into_iter().chain(second_batch).collect();
    leased.sort_by(|x, y| x.kind.cmp(&y.kind));
    assert_eq!(kinds(&leased), ["conformance.first", "conformance.platform", "conformance.platform"]);
    assert_ne!(leased[1].id, leased[2].id);
    let first = &leased[0];
    assert_eq!((first.status.as_str(), first.attempts, first.tenant_id), ("running", 1, Some(a.id)));
    assert_eq!(first.payload, json!({ "n": 1 }), "the first enqueue's payload");
    assert_eq!((first.run_at, first.max_attempts, first.last_error.as_deref()), (now, socle_core::jobs::DEFAULT_MAX_ATTEMPTS, None));

    assert!(jobs.lease("w3", now + 30_000, 30_000, 10).await.unwrap().is_empty(), "leased until now + 30 s");
    // Their workers died: the leases ran out and another worker takes the jobs over.
    let retaken = jobs.lease("w3", now + 30_001, 30_000, 10).await.unwrap();
    assert_eq!(retaken.len(), 3);
    assert!(retaken.iter().all(|j| j.attempts == 2 && j.status == "running"), "{retaken:?}");

    jobs.complete(first.id, "w1", now + 30_002).await.unwrap();
    assert!(jobs.list(a.id, "done", 10).await.unwrap().is_empty(), "a worker that lost the lease cannot complete the job");
    jobs.complete(first.id, "w3", now + 30_002).await.unwrap();
    let done = jobs.list(a.id, "done", 10).await.unwrap();
    assert_eq!(done.iter().map(|j| (j.id, j.updated_at)).collect::<Vec<_>>(), [(first.id, now + 30_002)]);

    let later = jobs.lease("w1", now + 60_000, 30_000, 10).await.unwrap();
    assert_eq!(kinds(&later), ["conformance.later"], "due at its run_at, while the others are still leased");
}

#[tokio::test]
async fn a_failed_job_returns_to_the_queue_at_its_retry_time_or_dies_and_can_be_retried() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let jobs = &t.app.jobs;
    let now = t.app.now_ms();
    jobs.enqueue(&NewJob::new(Some(a.id), "conformance.flaky", json!({}), now)).await.unwrap();
    let id = jobs.lease("w1", now, 30_000, 10).await.unwrap()[0].id;

    jobs.fail(id, "w2", "not mine", now + 1, Some(now + 5)).await.unwrap();
    assert_eq!(jobs.list(a.id, "running", 10).await.unwrap().len(), 1, "only the leasing worker records a failure");
    jobs.fail(id, "w1", "boom", now + 1, Some(now + 10_000)).await.unwrap();
    let queued = jobs.list(a.id, "queued", 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!((queued[0].id, queued[0].run_at, queued[0].attempts, queued[0].last_error.as_deref()), (id, now + 10_000, 1, Some("boom")));
    assert!(jobs.lease("w1", now + 9_999, 30_000, 10).await.unwrap().is_empty(), "not before its retry time");
    let retried = jobs.lease("w1", now + 10_000, 30_000, 10).await.unwrap();
    assert_eq!((retried.len(), retried[0].attempts), (1, 2));

    let long_error = "é".repeat(2_500);
    jobs.fail(id, "w1", &long_error, now + 10_001, None).await.unwrap();
    let dead = jobs.list(a.id, "dead", 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_ref().map(|e| e.chars().count()), Some(2_000), "errors are cut at 2000 characters");
    assert!(jobs.list(a.id, "queued", 10).await.unwrap().is_empty());
    assert!(jobs.lease("w1", now + 100_000_000, 30_000, 10).await.unwrap().is_empty(), "dead jobs are never leased");

    assert!(!jobs.retry(b.id, id, now + 20_000).await.unwrap(), "another tenant cannot retry it");
    assert!(jobs.retry(a.id, id, now + 20_000).await.unwrap());
    assert!(!jobs.retry(a.id, id, now + 20_000).await.unwrap(), "it is no longer dead");
    let queued = jobs.list(a.id, "queued", 10).await.unwrap();
    assert_eq!((queued[0].id, queued[0].attempts, queued[0].run_at), (id, 0, now + 20_000), "fresh attempts");
    assert_eq!(jobs.lease("w1", now + 20_000, 30_000, 10).await.unwrap()[0].attempts, 1);
}

#[tokio::test]
async fn job_lists_hold_one_tenant_and_status_most_recent_first() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let jobs = &t.app.jobs;
    for kind in ["conformance.one", "conformance.two", "conformance.three"] {
        jobs.enqueue(&NewJob::new(Some(a.id), kind, json!({}), t.app.now_ms())).await.unwrap();
        t.clock.advance(Duration::from_millis(5));
    }
    jobs.enqueue(&NewJob::new(Some(b.id), "conformance.other", json!({}), t.app.now_ms())).await.unwrap();
    jobs.enqueue(&NewJob::new(None, "conformance.platform", json!({}), t.app.now_ms())).await.unwrap();
    assert_eq!(kinds(&jobs.list(a.id, "queued", 10).await.unwrap()), ["conformance.three", "conformance.two", "conformance.one"]);
    assert_eq!(kinds(&jobs.list(a.id, "queued", 2).await.unwrap()), ["conformance.three", "conformance.two"]);
    assert_eq!(kinds(&jobs.list(b.id, "queued", 10).await.unwrap()), ["conformance.other"]);
    assert!(jobs.list(a.id, "dead", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn concurrent_workers_never_lease_the_same_job() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let now = t.app.now_ms();
    for n in 0..20 {
        t.app.jobs.enqueue(&NewJob::new(Some(a.id), "conformance.parallel", json!({ "n": n }), now)).await.unwrap();
    }
    open_every_connection(&t).await;
    let jobs = &t.app.jobs;
    let workers = ["w1", "w2", "w3", "w4", "w5"].map(|worker| async move { jobs.lease(worker, now, 30_000, 5).await.unwrap() });
    let leased: Vec<Job> = futures::future::join_all(workers).await.into_iter().flatten().collect();
    let mut ids: Vec<Uuid> = leased.iter().map(|j| j.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((leased.len(), ids.len()), (20, 20), "every job leased once");
    assert!(leased.iter().all(|j| j.attempts == 1));
    assert!(t.app.jobs.lease("w6", now, 30_000, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn schedules_keep_their_next_time_until_their_cron_changes_and_fire_once() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let jobs = &t.app.jobs;
    let now = t.app.now_ms();
    // The app has schedules of its own: only ours are looked at.
    let due = move |at: i64| async move {
        jobs.due_schedules(at).await.unwrap().into_iter().filter(|s| s.name.starts_with("conformance.")).collect::<Vec<Schedule>>()
    };
    let schedule = Schedule {
        name: "conformance.report".into(),
        cron: "*/5 * * * *".into(),
        kind: "conformance.report".into(),
        payload: json!({ "v": 1 }),
        next_run_at: now + 1_000,
    };
    jobs.upsert_schedule(&schedule).await.unwrap();
    assert!(due(now + 999).await.is_empty());
    assert_eq!(due(now + 1_000).await, std::slice::from_ref(&schedule));

    let same_cron = Schedule { kind: "conformance.report.v2".into(), payload: json!({ "v": 2 }), next_run_at: now + 9_000, ..schedule.clone() };
    jobs.upsert_schedule(&same_cron).await.unwrap();
    assert_eq!(due(now + 1_000).await, [Schedule { next_run_at: now + 1_000, ..same_cron.clone() }], "same cron: the next time stays");

    let hourly = Schedule { cron: "0 * * * *".into(), next_run_at: now + 5_000, ..same_cron.clone() };
    jobs.upsert_schedule(&hourly).await.unwrap();
    assert!(due(now + 4_999).await.is_empty(), "another cron: its next time is taken");
    let fired = due(now + 5_000).await;
    assert_eq!(fired, std::slice::from_ref(&hourly));

    let job = NewJob::new(Some(a.id), "conformance.report.v2", json!({ "fired": 1 }), now + 5_000).dedupe("conformance.report:1");
    assert!(jobs.fire_schedule(&fired[0], now + 3_600_000, &job).await.unwrap());
    let late = NewJob::new(Some(a.id), "conformance.report.v2", json!({ "fired": 2 }), now + 5_000).dedupe("conformance.report:2");
    assert!(!jobs.fire_schedule(&fired[0], now + 7_200_000, &late).await.unwrap(), "another worker fired it first");
    assert!(due(now + 3_599_999).await.is_empty());
    assert_eq!(due(now + 3_600_000).await.iter().map(|s| s.next_run_at).collect::<Vec<_>>(), [now + 3_600_000]);
    let queued = jobs.list(a.id, "queued", 10).await.unwrap();
    assert_eq!(queued.iter().map(|j| (j.payload.clone(), j.run_at)).collect::<Vec<_>>(), [(json!({ "fired": 1 }), now + 5_000)], "one job, enqueued once");
}

#[tokio::test]
async fn concurrent_workers_fire_a_due_schedule_once() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let now = t.app.now_ms();
    let schedule =
        Schedule { name: "conformance.nightly".into(), cron: "0 3 * * *".into(), kind: "conformance.nightly".into(), payload: json!({}), next_run_at: now };
    t.app.jobs.upsert_schedule(&schedule).await.unwrap();
    open_every_connection(&t).await;
    let fires = (0..5).map(|n| {
        // Each worker's job has its own key: a second firing would show as a second job.
        let job = NewJob::new(Some(a.id), "conformance.nightly", json!({ "worker": n }), now).dedupe(format!("conformance.nightly:{n}"));
        let (jobs, schedule) = (&t.app.jobs, &schedule);
        async move { jobs.fire_schedule(schedule, now + 86_400_000, &job).await.unwrap() }
    });
    let fired = futures::future::join_all(fires).await.into_iter().filter(|fired| *fired).count();
    assert_eq!(fired, 1);
    assert_eq!(t.app.jobs.list(a.id, "queued", 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn purging_deletes_only_jobs_done_before_the_cutoff() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let jobs = &t.app.jobs;
    let now = t.app.now_ms();
    for kind in ["conformance.early", "conformance.late", "conformance.dead", "conformance.waiting"] {
        jobs.enqueue(&NewJob::new(Some(a.id), kind, json!({}), if kind == "conformance.waiting" { now + 1_000_000 } else { now })).await.unwrap();
    }
    let leased = jobs.lease("w1", now, 30_000, 10).await.unwrap();
    let id = |kind: &str| leased.iter().find(|j| j.kind == kind).unwrap().id;
    jobs.complete(id("conformance.early"), "w1", now + 1_000).await.unwrap();
    jobs.complete(id("conformance.late"), "w1", now + 5_000).await.unwrap();
    jobs.fail(id("conformance.dead"), "w1", "gave up", now + 1_000, None).await.unwrap();
    assert_eq!(jobs.purge_done(now + 2_000).await.unwrap(), 1);
    assert_eq!(kinds(&jobs.list(a.id, "done", 10).await.unwrap()), ["conformance.late"]);
    assert_eq!(kinds(&jobs.list(a.id, "dead", 10).await.unwrap()), ["conformance.dead"], "dead letters stay for the administrators");
    assert_eq!(kinds(&jobs.list(a.id, "queued", 10).await.unwrap()), ["conformance.waiting"]);
    assert_eq!(jobs.purge_done(now + 2_000).await.unwrap(), 0);
}

#[tokio::test]
async fn a_mail_is_queued_once_per_id_with_its_send_job() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let id = Uuid::now_v7();
    let before = t.app.now_ms();
    mails(&t).queue(a.id, &mail(id, "Bienvenue"), &send_job(a.id, id, "conformance:mail:1", before)).await.unwrap();
    let after = t.app.now_ms();
    // A retried producer: same id, another job key (a second job would show).
    mails(&t).queue(a.id, &mail(id, "Autre sujet"), &send_job(a.id, id, "conformance:mail:2", after)).await.unwrap();

    let stored = mails(&t).get(a.id, id).await.unwrap().unwrap();
    assert!((before..=after).contains(&stored.created_at));
    let expected = socle_core::mail::Mail {
        id,
        recipient: "client@exemple.fr".into(),
        sender: "\"Alpha\" <noreply@socle.test>".into(),
        subject: "Bienvenue".into(),
        template: "notification".into(),
        status: "queued".into(),
        attempts: 0,
        last_error: None,
        created_at: stored.created_at,
        sent_at: None,
        html: "<p>Bonjour</p>".into(),
        text: "Bonjour".into(),
    };
    assert_eq!(stored, expected);
    let queued = t.app.jobs.list(a.id, "queued", 10).await.unwrap();
    assert_eq!(queued.iter().map(|j| (j.kind.as_str(), j.payload.clone())).collect::<Vec<_>>(), [(socle_core::mail::SEND_JOB, json!({ "mail_id": id }))]);
    assert!(mails(&t).get(b.id, id).await.unwrap().is_none(), "a mail is found in its own tenant only");
    assert!(mails(&t).list(b.id, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn mail_attempts_end_sent_or_failed_and_lists_are_newest_first() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    mails(&t).queue(a.id, &mail(first, "Premier"), &send_job(a.id, first, "conformance:first", t.app.now_ms())).await.unwrap();
    t.clock.advance(Duration::from_millis(10));
    mails(&t).queue(a.id, &mail(second, "Second"), &send_job(a.id, second, "conformance:second", t.app.now_ms())).await.unwrap();
    let subjects = |mails: Vec<socle_core::mail::Mail>| mails.into_iter().map(|m| m.subject).collect::<Vec<_>>();
    assert_eq!(subjects(mails(&t).list(a.id, 10).await.unwrap()), ["Second", "Premier"]);
    assert_eq!(subjects(mails(&t).list(a.id, 1).await.unwrap()), ["Second"]);

    mails(&t).mark_failed(a.id, first, "421 try later", false).await.unwrap();
    let retried = mails(&t).get(a.id, first).await.unwrap().unwrap();
    assert_eq!((retried.status.as_str(), retried.attempts, retried.last_error.as_deref()), ("queued", 1, Some("421 try later")));
    mails(&t).mark_failed(a.id, first, &"x".repeat(1_500), true).await.unwrap();
    let failed = mails(&t).get(a.id, first).await.unwrap().unwrap();
    assert_eq!((failed.status.as_str(), failed.attempts, failed.last_error.map(|e| e.len())), ("failed", 2, Some(1_000)));

    // Another tenant's calls change nothing.
    mails(&t).mark_sent(b.id, second).await.unwrap();
    mails(&t).mark_failed(b.id, second, "nope", true).await.unwrap();
    let untouched = mails(&t).get(a.id, second).await.unwrap().unwrap();
    assert_eq!((untouched.status.as_str(), untouched.attempts), ("queued", 0));

    mails(&t).mark_failed(a.id, second, "timeout", false).await.unwrap();
    t.clock.advance(Duration::from_secs(60));
    let before = t.app.now_ms();
    mails(&t).mark_sent(a.id, second).await.unwrap();
    let sent = mails(&t).get(a.id, second).await.unwrap().unwrap();
    assert_eq!((sent.status.as_str(), sent.attempts, sent.last_error.as_deref()), ("sent", 2, None));
    assert!(sent.sent_at.is_some_and(|at| at >= before && at <= t.app.now_ms()));
}

#[tokio::test]
async fn mail_template_overrides_are_per_tenant_and_locale() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let mails = mails(&t);
    assert!(mails.template_override(a.id, "password_reset", Locale::Fr).await.unwrap().is_none());
    let text = TemplateText { subject: "Réinitialisez « {{ brand.name }} »".into(), text: "Lien : {{ url }}".into(), html: "<p>{{ url }}</p>".into() };
    mails.set_template_override(a.id, "password_reset", Locale::Fr, Some(&text)).await.unwrap();
    assert_eq!(mails.template_override(a.id, "password_reset", Locale::Fr).await.unwrap(), Some(text.clone()));
    assert!(mails.template_override(a.id, "password_reset", Locale::En).await.unwrap().is_none());
    assert!(mails.template_override(a.id, "notification", Locale::Fr).await.unwrap().is_none());
    assert!(mails.template_override(b.id, "password_reset", Locale::Fr).await.unwrap().is_none());

    let replaced = TemplateText { subject: "Nouveau".into(), ..text.clone() };
    mails.set_template_override(a.id, "password_reset", Locale::Fr, Some(&replaced)).await.unwrap();
    assert_eq!(mails.template_override(a.id, "password_reset", Locale::Fr).await.unwrap(), Some(replaced));
    mails.set_template_override(b.id, "password_reset", Locale::Fr, None).await.unwrap();
    assert!(mails.template_override(a.id, "password_reset", Locale::Fr).await.unwrap().is_some(), "another tenant's removal");
    mails.set_template_override(a.id, "password_reset", Locale::Fr, None).await.unwrap();
    assert!(mails.template_override(a.id, "password_reset", Locale::Fr).await.unwrap().is_none());
}

#[tokio::test]
async fn record_writes_check_the_expected_version_and_leave_nothing_when_refused() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let id = Uuid::now_v7();
    let mut create = write(WriteOp::Create, item(id, 1, json!({ "code": "A1", "label": "Écran" })), None);
    create.changes = vec![FieldChange { field: "code".into(), before: Value::Null, after: json!("A1") }];
    create.jobs = vec![NewJob::new(Some(a.id), "conformance.created", json!({ "id": id }), t.app.now_ms()).dedupe(format!("conformance:{id}:1"))];
    let created = store.commit(a.id, &create).await.unwrap();
    assert_eq!(store.get(a.id, id).await.unwrap(), Some(created.clone()));
    assert_eq!(created.data["label"], "Écran");
    assert!(store.get(b.id, id).await.unwrap().is_none(), "a record is found in its own tenant only");

    let update = |version: i64, expected: Option<i64>, label: &str| {
        let mut w = write(WriteOp::Update, item(id, version, json!({ "code": "A1", "label": label })), expected);
        w.jobs = vec![NewJob::new(Some(a.id), "conformance.updated", json!({ "v": version }), t.app.now_ms()).dedupe(format!("conformance:{id}:{version}"))];
        w
    };
    assert_eq!(store.commit(a.id, &update(2, Some(1), "Écran 27")).await.unwrap().version, 2);
    let stale = store.commit(a.id, &update(3, Some(1), "Écran 24")).await;
    assert!(matches!(stale, Err(RecordError::Conflict { id: conflict, expected: 1, current: 2 }) if conflict == id), "{stale:?}");
    let foreign = store.commit(b.id, &update(3, Some(2), "Volé")).await;
    assert!(matches!(foreign, Err(RecordError::NotFound(_))), "another tenant's record is missing for it: {foreign:?}");
    let current = store.get(a.id, id).await.unwrap().unwrap();
    assert_eq!((current.version, current.data["label"].as_str()), (2, Some("Écran 27")));

    let missing = Uuid::now_v7();
    let update_missing = write(WriteOp::Update, item(missing, 2, json!({ "code": "Z" })), Some(1));
    assert!(matches!(store.commit(a.id, &update_missing).await, Err(RecordError::NotFound(_))));
    let delete_missing = write(WriteOp::Delete, item(missing, 2, json!({})), Some(1));
    assert!(matches!(store.commit(a.id, &delete_missing).await, Err(RecordError::NotFound(_))));
    let stale_delete = store.commit(a.id, &write(WriteOp::Delete, item(id, 3, json!({})), Some(1))).await;
    assert!(matches!(stale_delete, Err(RecordError::Conflict { expected: 1, current: 2, .. })), "{stale_delete:?}");
    assert!(store.get(a.id, id).await.unwrap().is_some());

    store.commit(a.id, &write(WriteOp::Delete, item(id, 3, json!({})), Some(2))).await.unwrap();
    assert!(store.get(a.id, id).await.unwrap().is_none());
    // The refused writes left no history, journal entry or job.
    let history = store.history(a.id, id, None, 10).await.unwrap();
    assert_eq!(history.iter().map(|h| (h.version, h.op.as_str())).collect::<Vec<_>>(), [(3, "delete"), (2, "update"), (1, "create")]);
    assert_eq!(history[2].changes, create.changes);
    assert_eq!((history[2].actor.as_str(), history[2].actor_label.as_str()), ("system", "conformance"));
    let journal = t.app.audit.list(a.id, &AuditQuery { action_prefix: Some("record.".into()), before_id: None, limit: 10 }).await.unwrap();
    assert_eq!(journal.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["record.deleted", "record.updated", "record.created"]);
    let mut outbox = kinds(&t.app.jobs.list(a.id, "queued", 10).await.unwrap()).into_iter().map(str::to_owned).collect::<Vec<_>>();
    outbox.sort();
    assert_eq!(outbox, ["conformance.created", "conformance.updated"]);
}

#[tokio::test]
async fn a_unique_index_refuses_a_duplicate_in_the_tenant_and_names_the_field() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let spec = |field: &str| IndexSpec {
        name: index_name(ITEM, field, true),
        collection: ITEM.into(),
        expr: store.dialect().field_expr(field, ExprKind::Text),
        unique: true,
    };
    store.ensure_index(&spec("code")).await.unwrap();
    store.ensure_index(&spec("code")).await.unwrap();
    let unique = vec![(index_name(ITEM, "code", true), "code".to_owned())];
    let commit = |tenant: TenantId, op: WriteOp, id: Uuid, version: i64, code: &str| {
        let mut w = write(op, item(id, version, json!({ "code": code })), (op != WriteOp::Create).then_some(version - 1));
        w.unique_indexes = unique.clone();
        async move { store.commit(tenant, &w).await }
    };
    let first = Uuid::now_v7();
    commit(a.id, WriteOp::Create, first, 1, "A1").await.unwrap();
    let duplicate = Uuid::now_v7();
    let Err(RecordError::Invalid(errors)) = commit(a.id, WriteOp::Create, duplicate, 1, "A1").await else { panic!("a duplicate code is refused") };
    assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["code"]);
    assert!(store.get(a.id, duplicate).await.unwrap().is_none());
    commit(b.id, WriteOp::Create, Uuid::now_v7(), 1, "A1").await.expect("unique per tenant");
    let second = Uuid::now_v7();
    commit(a.id, WriteOp::Create, second, 1, "A2").await.unwrap();
    let Err(RecordError::Invalid(errors)) = commit(a.id, WriteOp::Update, second, 2, "A1").await else { panic!("an update to a taken code is refused") };
    assert_eq!(errors[0].field, "code");
    assert_eq!(store.get(a.id, second).await.unwrap().unwrap().data["code"], "A2");

    // Existing duplicates: the index cannot be built, each time it is asked for.
    create_item(&t, a.id, json!({ "code": "L1", "label": "Même" })).await;
    let twin = create_item(&t, a.id, json!({ "code": "L2", "label": "Même" })).await;
    for _ in 0..2 {
        let refused = store.ensure_index(&spec("label")).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    }
    store.commit(a.id, &write(WriteOp::Delete, item(twin, 2, json!({})), Some(1))).await.unwrap();
    store.ensure_index(&spec("label")).await.expect("buildable once the duplicate is gone");
}

#[tokio::test]
async fn references_to_missing_records_are_refused_with_the_field_named() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let parent = create_item(&t, a.id, json!({ "code": "P" })).await;
    let elsewhere = create_item(&t, b.id, json!({ "code": "P" })).await;
    let child = |target: Uuid, collection: &str| {
        let mut w = write(WriteOp::Create, item(Uuid::now_v7(), 1, json!({ "code": "C", "parent": target })), None);
        w.references = vec![ReferenceCheck { field: "parent".into(), id: target, collection: collection.into() }];
        w
    };
    for (target, collection, why) in
        [(Uuid::now_v7(), ITEM, "no such record"), (elsewhere, ITEM, "another tenant's record"), (parent, "custom.other", "a record of another collection")]
    {
        let w = child(target, collection);
        let Err(RecordError::Invalid(errors)) = store.commit(a.id, &w).await else { panic!("{why}: refused") };
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["parent"], "{why}");
        assert!(store.get(a.id, w.record.id).await.unwrap().is_none(), "{why}: nothing stored");
    }
    let ok = child(parent, ITEM);
    store.commit(a.id, &ok).await.unwrap();
    let sibling = child(parent, ITEM);
    store.commit(a.id, &sibling).await.unwrap();
    let referencing = store.referencing(a.id, ITEM, "parent", parent, 10).await.unwrap();
    assert_eq!(referencing.iter().map(|r| r.id).collect::<Vec<_>>(), [sibling.record.id, ok.record.id], "newest first");
    assert_eq!(store.referencing(a.id, ITEM, "parent", parent, 1).await.unwrap().len(), 1);
    assert!(store.referencing(b.id, ITEM, "parent", parent, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn record_history_is_newest_first_and_pages_with_a_cursor() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let id = create_item(&t, a.id, json!({ "qty": 0 })).await;
    for version in 2..=4 {
        let mut w = write(WriteOp::Update, item(id, version, json!({ "qty": version })), Some(version - 1));
        w.changes = vec![FieldChange { field: "qty".into(), before: json!(version - 1), after: json!(version) }];
        if version == 4 {
            w.transition = Some("close".into());
        }
        store.commit(a.id, &w).await.unwrap();
    }
    let all = store.history(a.id, id, None, 10).await.unwrap();
    assert_eq!(all.iter().map(|h| h.version).collect::<Vec<_>>(), [4, 3, 2, 1]);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id));
    assert_eq!((all[0].op.as_str(), all[0].transition.as_deref()), ("transition", Some("close")));
    assert_eq!(all[1].changes, [FieldChange { field: "qty".into(), before: json!(2), after: json!(3) }]);
    let page = store.history(a.id, id, None, 2).await.unwrap();
    assert_eq!(page.iter().map(|h| h.version).collect::<Vec<_>>(), [4, 3]);
    let next = store.history(a.id, id, Some(page[1].id), 2).await.unwrap();
    assert_eq!(next.iter().map(|h| h.version).collect::<Vec<_>>(), [2, 1]);
    assert!(store.history(a.id, id, Some(next[1].id), 2).await.unwrap().is_empty());
    assert!(store.history(b.id, id, None, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn links_are_added_and_removed_once_and_go_with_their_records() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let (from, to) = (create_item(&t, a.id, json!({ "code": "F" })).await, create_item(&t, a.id, json!({ "code": "T" })).await);
    let link = LinkRow { from_id: from, to_id: to, kind: "sites".into() };
    assert!(store.add_link(a.id, &link, &actor()).await.unwrap());
    assert!(!store.add_link(a.id, &link, &actor()).await.unwrap(), "it exists");
    let other_kind = LinkRow { kind: "tickets".into(), ..link.clone() };
    assert!(store.add_link(a.id, &other_kind, &actor()).await.unwrap(), "a link of another kind");
    let mut from_links = store.links(a.id, from).await.unwrap();
    from_links.sort_by(|x, y| x.kind.cmp(&y.kind));
    assert_eq!(from_links, [link.clone(), other_kind.clone()]);
    assert_eq!(store.links(a.id, to).await.unwrap().len(), 2, "incoming links too");
    assert!(store.links(b.id, from).await.unwrap().is_empty());
    assert!(!store.remove_link(b.id, &link, &actor()).await.unwrap(), "another tenant cannot remove it");
    assert!(store.remove_link(a.id, &link, &actor()).await.unwrap());
    assert!(!store.remove_link(a.id, &link, &actor()).await.unwrap(), "already removed");
    assert_eq!(store.links(a.id, from).await.unwrap(), [other_kind]);
    let journal = t.app.audit.list(a.id, &AuditQuery { action_prefix: Some("record.".into()), before_id: None, limit: 10 }).await.unwrap();
    let actions: Vec<&str> = journal.iter().map(|e| e.action.as_str()).filter(|a| a.ends_with("linked")).collect();
    assert_eq!(actions, ["record.unlinked", "record.linked", "record.linked"], "each change journalled once");

    store.commit(a.id, &write(WriteOp::Delete, item(to, 2, json!({})), Some(1))).await.unwrap();
    assert!(store.links(a.id, from).await.unwrap().is_empty(), "a deleted record's links go with it");
}

#[tokio::test]
async fn get_many_skips_missing_ids_and_other_tenants_records() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let one = create_item(&t, a.id, json!({ "code": "1" })).await;
    let two = create_item(&t, a.id, json!({ "code": "2" })).await;
    let foreign = create_item(&t, b.id, json!({ "code": "3" })).await;
    let mut found: Vec<Uuid> = store.get_many(a.id, &[two, Uuid::now_v7(), foreign, one, one]).await.unwrap().into_iter().map(|r| r.id).collect();
    found.sort();
    assert_eq!(found, [one, two]);
    assert!(store.get_many(a.id, &[]).await.unwrap().is_empty());
    assert_eq!(store.get_many(b.id, &[one, foreign]).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [foreign]);
}

#[tokio::test]
async fn query_plans_filter_sort_count_and_page_alike_on_every_backend() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let screen = create_item(&t, a.id, json!({ "code": "A1", "label": "Écran 27 pouces", "qty": 5, "active": true, "tags": ["promo"] })).await;
    let small = create_item(&t, a.id, json!({ "code": "A2", "label": "écran 24", "qty": 12.5, "active": false, "tags": ["neuf", "promo"] })).await;
    let keyboard = create_item(&t, a.id, json!({ "code": "B1", "label": "Clavier 50% off", "qty": 0, "active": true, "tags": [] })).await;
    let mouse = create_item(&t, a.id, json!({ "code": "B2", "label": "Souris 500_dpi" })).await;
    create_item(&t, b.id, json!({ "code": "A1", "label": "Écran", "qty": 100, "active": true, "tags": ["promo"] })).await;
    let q = |filters: Vec<Filter>, sort: Option<Sort>| Query { filters, sort, limit: None, cursor: None, count: true, search: None };

    assert_eq!(query_ids(&t, a.id, q(vec![], sort("code", false))).await, (vec![screen, small, keyboard, mouse], Some(4)));
    assert_eq!(query_ids(&t, a.id, q(vec![], None)).await.0, [mouse, keyboard, small, screen], "newest first by default");
    assert_eq!(query_ids(&t, a.id, q(vec![filter("qty", Op::Gte, json!(5))], sort("qty", false))).await, (vec![screen, small], Some(2)));
    assert_eq!(query_ids(&t, a.id, q(vec![filter("qty", Op::Lt, json!(5))], sort("code", false))).await.0, [keyboard]);
    assert_eq!(query_ids(&t, a.id, q(vec![], sort("qty", true))).await.0, [small, screen, keyboard, mouse], "nulls last descending");
    assert_eq!(query_ids(&t, a.id, q(vec![], sort("qty", false))).await.0, [mouse, keyboard, screen, small], "nulls first ascending");
    assert_eq!(query_ids(&t, a.id, q(vec![filter("qty", Op::Ne, json!(5))], sort("code", false))).await.0, [small, keyboard, mouse], "ne keeps nulls");
    assert_eq!(query_ids(&t, a.id, q(vec![filter("active", Op::Eq, json!(true))], sort("code", false))).await.0, [screen, keyboard]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("active", Op::Eq, json!("false"))], sort("code", false))).await.0, [small]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("tags", Op::Eq, json!("promo"))], sort("code", false))).await.0, [screen, small]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("code", Op::In, json!(["B2", "A1", "Z9"]))], sort("code", true))).await.0, [mouse, screen]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("qty", Op::IsNull, json!(true))], None)).await.0, [mouse]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("code", Op::Gt, json!("A2"))], sort("code", false))).await.0, [keyboard, mouse]);
    // LIKE's wildcards in the text are matched literally, and ASCII case is ignored.
    assert_eq!(query_ids(&t, a.id, q(vec![filter("label", Op::Contains, json!("50%"))], None)).await.0, [keyboard]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("label", Op::Contains, json!("0_d"))], None)).await.0, [mouse]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("label", Op::Contains, json!("CLAVIER"))], None)).await.0, [keyboard]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("qty", Op::Eq, json!(12.5))], None)).await.0, [small]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("id", Op::In, json!([keyboard, screen]))], sort("code", false))).await.0, [screen, keyboard]);
    assert_eq!(query_ids(&t, a.id, q(vec![filter("id", Op::Eq, json!(small))], None)).await.0, [small]);
    let both = vec![filter("tags", Op::Eq, json!("promo")), filter("qty", Op::Gt, json!(10))];
    assert_eq!(query_ids(&t, a.id, q(both, None)).await, (vec![small], Some(1)));

    // Pages of two by code, with the cursor after each page's last row.
    let plan_of = |cursor: Option<String>| {
        let query = Query { filters: vec![], sort: sort("code", false), limit: Some(2), cursor, count: false, search: None };
        QueryPlan::new(&items(), &query, &|_| true).unwrap()
    };
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let plan = plan_of(cursor);
        let (records, total) = t.app.records.store().query(a.id, &plan).await.unwrap();
        assert_eq!(total, None, "not counted unless asked");
        let Some(last) = records.last() else { break };
        cursor = Some(plan.cursor_after(&last.data, &last.id.to_string(), last.updated_at, last.state.as_deref()));
        pages.push(records.iter().map(|r| r.id).collect::<Vec<_>>());
    }
    assert_eq!(pages, [vec![screen, small], vec![keyboard, mouse]]);
}

#[tokio::test]
async fn a_contains_filter_ignores_case_beyond_ascii_on_every_backend() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let upper = create_item(&t, a.id, json!({ "code": "A1", "label": "ÉCRAN 27 pouces" })).await;
    let lower = create_item(&t, a.id, json!({ "code": "A2", "label": "écran 24" })).await;
    let query = |text: &str| Query {
        filters: vec![filter("label", Op::Contains, json!(text))],
        sort: sort("code", false),
        limit: None,
        cursor: None,
        count: false,
        search: None,
    };
    assert_eq!(query_ids(&t, a.id, query("écran")).await.0, [upper, lower], "« contains » is case-insensitive");
    assert_eq!(query_ids(&t, a.id, query("ÉCRAN")).await.0, [upper, lower], "« contains » is case-insensitive");
}

#[tokio::test]
async fn an_id_filter_with_a_malformed_id_matches_nothing_on_every_backend() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    create_item(&t, a.id, json!({ "code": "A1" })).await;
    // The plan accepts any text for `id` (as a URL filter `f.id=…` gives it): no record has it.
    let query = Query { filters: vec![filter("id", Op::Eq, json!("not-a-uuid"))], sort: None, limit: None, cursor: None, count: true, search: None };
    let plan = QueryPlan::new(&items(), &query, &|_| true).unwrap();
    let found = t.app.records.store().query(a.id, &plan).await;
    assert!(matches!(&found, Ok((records, Some(0))) if records.is_empty()), "{found:?}");
}

#[tokio::test]
async fn full_text_search_finds_a_tenants_committed_text_only() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let doc = |body: &str| vec![SearchDoc { permission: String::new(), body: body.into() }];
    let id = Uuid::now_v7();
    let mut create = write(WriteOp::Create, item(id, 1, json!({ "label": "Fibre" })), None);
    create.search_docs = doc("Fibre optique Réseau Lyon");
    create.search_docs.push(SearchDoc { permission: "voir_marge".into(), body: "Marge confidentielle".into() });
    store.commit(a.id, &create).await.unwrap();
    let mut other = write(WriteOp::Create, item(Uuid::now_v7(), 1, json!({ "label": "Fibre" })), None);
    other.search_docs = doc("Fibre Paris");
    store.commit(b.id, &other).await.unwrap();
    let terms = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();

    let hits = store.search(a.id, &terms(&["fibre"]), 10).await.unwrap();
    assert_eq!(hits.iter().map(|h| (h.record_id, h.collection.as_str(), h.permission.as_str())).collect::<Vec<_>>(), [(id, ITEM, "")]);
    assert!(hits[0].snippet.contains("[Fibre]"), "{}", hits[0].snippet);
    for words in [&["fib"][..], &["optique", "lyon"], &["reseau"], &["réseau"]] {
        assert_eq!(store.search(a.id, &terms(words), 10).await.unwrap().len(), 1, "{words:?}");
    }
    assert!(store.search(a.id, &terms(&["optique", "paris"]), 10).await.unwrap().is_empty(), "every word must match");
    assert!(store.search(a.id, &terms(&["paris"]), 10).await.unwrap().is_empty(), "another tenant's text");
    // Best first: the document about « fibre » before the one that mentions it once among many words.
    let (dense, sparse) = (Uuid::now_v7(), Uuid::now_v7());
    let mut w = write(WriteOp::Create, item(sparse, 1, json!({})), None);
    w.search_docs = doc("Cuivre paire torsadée, boîtier, répartiteur, jarretière, câble, fibre, poteau, chambre, regard, armoire");
    store.commit(b.id, &w).await.unwrap();
    let mut w = write(WriteOp::Create, item(dense, 1, json!({})), None);
    w.search_docs = doc("Fibre fibre fibre");
    store.commit(b.id, &w).await.unwrap();
    let ranked: Vec<Uuid> = store.search(b.id, &terms(&["fibre"]), 10).await.unwrap().into_iter().map(|h| h.record_id).collect();
    assert_eq!((ranked.len(), ranked[0]), (3, dense), "{ranked:?}");
    assert_eq!(store.search(b.id, &terms(&["fibre"]), 2).await.unwrap().len(), 2);
    let margin = store.search(a.id, &terms(&["confidentielle"]), 10).await.unwrap();
    assert_eq!(margin.iter().map(|h| h.permission.as_str()).collect::<Vec<_>>(), ["voir_marge"]);

    let mut update = write(WriteOp::Update, item(id, 2, json!({ "label": "Cuivre" })), Some(1));
    update.search_docs = doc("Cuivre Grenoble");
    store.commit(a.id, &update).await.unwrap();
    assert!(store.search(a.id, &terms(&["fibre"]), 10).await.unwrap().is_empty(), "an update replaces the documents");
    assert!(store.search(a.id, &terms(&["confidentielle"]), 10).await.unwrap().is_empty());
    assert_eq!(store.search(a.id, &terms(&["grenoble"]), 10).await.unwrap().len(), 1);
    store.commit(a.id, &write(WriteOp::Delete, item(id, 3, json!({})), Some(2))).await.unwrap();
    assert!(store.search(a.id, &terms(&["grenoble"]), 10).await.unwrap().is_empty(), "a deleted record is not found");
}

#[tokio::test]
async fn timers_written_by_a_commit_are_read_back_by_name() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let id = Uuid::now_v7();
    let sla = TimerRow { name: "sla".into(), status: "running".into(), due_at: Some(9_000), remaining_ms: None, started_at: 1_000 };
    let reminder = TimerRow { name: "relance".into(), status: "paused".into(), due_at: None, remaining_ms: Some(4_000), started_at: 500 };
    let mut create = write(WriteOp::Create, item(id, 1, json!({})), None);
    create.timers = vec![sla.clone(), reminder.clone()];
    store.commit(a.id, &create).await.unwrap();
    assert_eq!(store.timers(a.id, id).await.unwrap(), [reminder.clone(), sla.clone()]);
    let stopped = TimerRow { status: "stopped".into(), due_at: None, ..sla };
    let mut update = write(WriteOp::Update, item(id, 2, json!({})), Some(1));
    update.timers = vec![stopped.clone()];
    store.commit(a.id, &update).await.unwrap();
    assert_eq!(store.timers(a.id, id).await.unwrap(), [reminder, stopped], "written timers replace theirs, the others stay");
    assert!(store.timers(b.id, id).await.unwrap().is_empty());
    store.commit(a.id, &write(WriteOp::Delete, item(id, 3, json!({})), Some(2))).await.unwrap();
    assert!(store.timers(a.id, id).await.unwrap().is_empty());
}

#[tokio::test]
async fn files_are_stored_per_tenant_attached_once_and_purged_when_abandoned() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let bytes = b"%PDF\x00\xff\x01";
    let quote = stored_file(Uuid::now_v7(), "devis.pdf", bytes);
    store.put_file(a.id, &quote, bytes).await.unwrap();
    assert_eq!(store.file(a.id, quote.id).await.unwrap(), Some(quote.clone()));
    assert_eq!(store.file_bytes(a.id, quote.id).await.unwrap().as_deref(), Some(&bytes[..]));
    assert!(store.file(b.id, quote.id).await.unwrap().is_none());
    assert!(store.file_bytes(b.id, quote.id).await.unwrap().is_none());
    let abandoned = stored_file(Uuid::now_v7(), "abandon.txt", b"old");
    store.put_file(a.id, &abandoned, b"old").await.unwrap();
    let foreign = stored_file(Uuid::now_v7(), "autre.txt", b"b");
    store.put_file(b.id, &foreign, b"b").await.unwrap();

    let id = Uuid::now_v7();
    let mut create = write(WriteOp::Create, item(id, 1, json!({ "attachment": quote.field_value() })), None);
    create.files = vec![(quote.id, "attachment".into())];
    store.commit(a.id, &create).await.unwrap();
    let attached = store.file(a.id, quote.id).await.unwrap().unwrap();
    assert_eq!((attached.record_id, attached.field.as_deref()), (Some(id), Some("attachment")));
    let mut again = write(WriteOp::Update, item(id, 2, json!({})), Some(1));
    again.files = vec![(quote.id, "attachment".into())];
    store.commit(a.id, &again).await.expect("the record's own file, on the same field");

    for (file, why) in [(quote.id, "a file another record took"), (foreign.id, "another tenant's file"), (Uuid::now_v7(), "no such file")] {
        let mut w = write(WriteOp::Create, item(Uuid::now_v7(), 1, json!({})), None);
        w.files = vec![(file, "scan".into())];
        let Err(RecordError::Invalid(errors)) = store.commit(a.id, &w).await else { panic!("{why}: refused") };
        assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["scan"], "{why}");
        assert!(store.get(a.id, w.record.id).await.unwrap().is_none());
    }
    assert_eq!(store.file(a.id, quote.id).await.unwrap().unwrap().record_id, Some(id), "still the first record's");

    t.clock.advance(Duration::from_secs(2 * 86_400));
    let fresh = stored_file(Uuid::now_v7(), "frais.txt", b"new");
    store.put_file(a.id, &fresh, b"new").await.unwrap();
    assert_eq!(store.purge_unattached_files(t.app.now_ms() - 86_400_000).await.unwrap(), 2, "old unattached uploads of every tenant");
    assert!(store.file(a.id, abandoned.id).await.unwrap().is_none());
    assert!(store.file(b.id, foreign.id).await.unwrap().is_none());
    assert!(store.file(a.id, quote.id).await.unwrap().is_some(), "attached files stay");
    assert!(store.file(a.id, fresh.id).await.unwrap().is_some(), "recent uploads stay");
}

#[tokio::test]
async fn tenant_schemas_are_installed_replaced_and_removed_per_tenant() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.records.store();
    let schema = |label: &str| serde_json::to_value(SchemaFile::parse(&ITEMS.replace("Articles", label)).unwrap()).unwrap();
    store.put_tenant_schema(a.id, "custom:items", &schema("Articles"), &actor()).await.unwrap();
    t.clock.advance(Duration::from_millis(10));
    store.put_tenant_schema(a.id, "custom:sites", &schema("Sites"), &actor()).await.unwrap();
    assert_eq!(store.tenant_schemas(a.id).await.unwrap(), [("custom:items".to_owned(), schema("Articles")), ("custom:sites".to_owned(), schema("Sites"))]);
    t.clock.advance(Duration::from_millis(10));
    store.put_tenant_schema(a.id, "custom:items", &schema("Produits"), &actor()).await.unwrap();
    assert_eq!(
        store.tenant_schemas(a.id).await.unwrap(),
        [("custom:sites".to_owned(), schema("Sites")), ("custom:items".to_owned(), schema("Produits"))],
        "replaced, and listed by last change"
    );
    assert!(store.tenant_schemas(b.id).await.unwrap().is_empty());
    assert!(!store.delete_tenant_schema(b.id, "custom:items", &actor()).await.unwrap());
    assert!(store.delete_tenant_schema(a.id, "custom:items", &actor()).await.unwrap());
    assert!(!store.delete_tenant_schema(a.id, "custom:items", &actor()).await.unwrap());
    assert_eq!(store.tenant_schemas(a.id).await.unwrap().len(), 1);
    let journal = t.app.audit.list(a.id, &AuditQuery { action_prefix: Some("schema.".into()), before_id: None, limit: 10 }).await.unwrap();
    assert_eq!(journal.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["schema.removed", "schema.installed", "schema.installed", "schema.installed"]);
}

#[tokio::test]
async fn saved_views_are_private_replaced_by_name_and_deleted_by_their_owner() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let views = &t.app.saved_views;
    let (owner, colleague) = (Uuid::now_v7(), Uuid::now_v7());
    let view = |user: Uuid, collection: &str, name: &str, query: &str, created_at: i64| SavedView {
        id: Uuid::now_v7(),
        user_id: user,
        collection: collection.into(),
        name: name.into(),
        query: query.into(),
        created_at,
    };
    let mine = view(owner, "ticket", "Mes tickets", "f.status=ouvert", 1_000);
    let urgent = view(owner, "ticket", "Urgents", "f.priority=1&sort=-created_at", 2_000);
    views.save(a.id, &mine).await.unwrap();
    views.save(a.id, &urgent).await.unwrap();
    views.save(a.id, &view(owner, "site", "Mes tickets", "q=lyon", 3_000)).await.unwrap();
    views.save(a.id, &view(colleague, "ticket", "Mes tickets", "q=x", 4_000)).await.unwrap();
    views.save(a.id, &view(owner, "ticket", "Mes tickets", "f.status=attente", 5_000)).await.unwrap();

    let listed = views.list(a.id, owner, "ticket").await.unwrap();
    let expected = [SavedView { query: "f.status=attente".into(), ..mine.clone() }, urgent.clone()];
    assert_eq!(listed, expected, "the view of the same name is replaced in place");
    assert_eq!(views.list(a.id, owner, "site").await.unwrap().len(), 1);
    assert_eq!(views.list(a.id, colleague, "ticket").await.unwrap().len(), 1);
    assert!(views.list(b.id, owner, "ticket").await.unwrap().is_empty());

    assert!(!views.delete(a.id, colleague, mine.id).await.unwrap(), "only its owner deletes it");
    assert!(!views.delete(b.id, owner, mine.id).await.unwrap());
    assert!(views.delete(a.id, owner, mine.id).await.unwrap());
    assert!(!views.delete(a.id, owner, mine.id).await.unwrap());
    assert_eq!(views.list(a.id, owner, "ticket").await.unwrap(), [urgent]);
}

#[tokio::test]
async fn components_are_stored_once_per_digest_and_installs_per_tenant() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.plugins.store();
    store.put_component("sha-one", b"\0asm first").await.unwrap();
    store.put_component("sha-one", b"\0asm other bytes").await.unwrap();
    assert_eq!(store.component("sha-one").await.unwrap().as_deref(), Some(&b"\0asm first"[..]), "a digest's bytes never change");
    assert!(store.component("sha-none").await.unwrap().is_none());
    store.put_component("sha-two", b"\0asm second").await.unwrap();

    let before = t.app.now_ms();
    store.put_install(a.id, &installed("zeta", "1.0.0", "sha-one"), &actor()).await.unwrap();
    store.put_install(a.id, &installed("alpha-tools", "0.3.0", "sha-one"), &actor()).await.unwrap();
    let first = store.installs(a.id).await.unwrap();
    assert_eq!(first.iter().map(|i| i.plugin_id.as_str()).collect::<Vec<_>>(), ["alpha-tools", "zeta"], "by plugin id");
    let zeta = &first[1];
    assert!(zeta.installed_at >= before && zeta.updated_at == zeta.installed_at);
    assert_eq!(*zeta, Installed { installed_at: zeta.installed_at, updated_at: zeta.updated_at, ..installed("zeta", "1.0.0", "sha-one") });

    t.clock.advance(Duration::from_secs(60));
    let upgrade = Installed { status: "disabled".into(), ..installed("zeta", "2.0.0", "sha-two") };
    store.put_install(a.id, &upgrade, &actor()).await.unwrap();
    let replaced = store.installs(a.id).await.unwrap().into_iter().find(|i| i.plugin_id == "zeta").unwrap();
    assert_eq!((replaced.version.as_str(), replaced.sha256.as_str(), replaced.status.as_str()), ("2.0.0", "sha-two", "disabled"));
    assert_eq!(replaced.manifest, upgrade.manifest);
    assert_eq!(replaced.installed_at, zeta.installed_at, "replacing keeps the install time");
    assert!(replaced.updated_at >= zeta.installed_at + 60_000);
    assert!(store.installs(b.id).await.unwrap().is_empty());

    assert!(!store.remove_install(b.id, "zeta", &actor()).await.unwrap());
    assert!(store.remove_install(a.id, "zeta", &actor()).await.unwrap());
    assert!(!store.remove_install(a.id, "zeta", &actor()).await.unwrap());
    assert_eq!(store.installs(a.id).await.unwrap().len(), 1);
    let journal = t.app.audit.list(a.id, &AuditQuery { action_prefix: Some("plugin.".into()), before_id: None, limit: 10 }).await.unwrap();
    assert_eq!(
        journal.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["plugin.uninstalled", "plugin.installed", "plugin.installed", "plugin.installed"]
    );
}

#[tokio::test]
async fn kv_writes_follow_their_condition_and_the_quota() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let kv = t.app.plugins.store();
    let binary: &[u8] = &[0, 255, 1, 0];
    assert!(kv.kv_get(a.id, "p", "k").await.unwrap().is_none());
    assert_eq!(kv.kv_set(a.id, "p", "k", b"one", KvExpect::Value(b"one")).await.unwrap(), KvWrite::Mismatch, "absent is not a value");
    assert_eq!(kv.kv_set(a.id, "p", "k", b"one", KvExpect::Absent).await.unwrap(), KvWrite::Written);
    assert_eq!(kv.kv_set(a.id, "p", "k", b"two", KvExpect::Absent).await.unwrap(), KvWrite::Mismatch);
    assert_eq!(kv.kv_set(a.id, "p", "k", b"two", KvExpect::Value(b"ONE")).await.unwrap(), KvWrite::Mismatch);
    assert_eq!(kv.kv_get(a.id, "p", "k").await.unwrap().as_deref(), Some(&b"one"[..]));
    assert_eq!(kv.kv_set(a.id, "p", "k", binary, KvExpect::Value(b"one")).await.unwrap(), KvWrite::Written);
    assert_eq!(kv.kv_set(a.id, "p", "k", b"", KvExpect::Value(binary)).await.unwrap(), KvWrite::Written, "binary values compare exactly");
    assert_eq!(kv.kv_get(a.id, "p", "k").await.unwrap(), Some(Vec::new()), "an empty value is a value");
    assert_eq!(kv.kv_set(a.id, "p", "k", b"", KvExpect::Absent).await.unwrap(), KvWrite::Mismatch);
    assert_eq!(kv.kv_set(a.id, "p", "k", binary, KvExpect::Any).await.unwrap(), KvWrite::Written);
    assert_eq!(kv.kv_get(a.id, "p", "k").await.unwrap().as_deref(), Some(binary));
    assert!(kv.kv_get(a.id, "other-plugin", "k").await.unwrap().is_none(), "each plugin has its own keys");
    assert!(kv.kv_get(b.id, "p", "k").await.unwrap().is_none(), "and each tenant");
    assert_eq!(kv.kv_set(b.id, "p", "k", b"b", KvExpect::Absent).await.unwrap(), KvWrite::Written);

    // Over the byte quota nothing is written (the other keys' bytes count, the key's own do not).
    let quota = usize::try_from(KV_QUOTA_BYTES).unwrap();
    assert_eq!(kv.kv_set(a.id, "p", "big", &vec![7u8; quota + 1], KvExpect::Any).await.unwrap(), KvWrite::OverQuota);
    assert_eq!(kv.kv_set(a.id, "p", "big", &vec![7u8; quota - 3], KvExpect::Absent).await.unwrap(), KvWrite::OverQuota, "4 bytes are used by `k`");
    assert!(kv.kv_get(a.id, "p", "big").await.unwrap().is_none());
    assert_eq!(kv.kv_set(a.id, "p", "k", &vec![7u8; quota + 1], KvExpect::Value(binary)).await.unwrap(), KvWrite::OverQuota);
    assert_eq!(kv.kv_get(a.id, "p", "k").await.unwrap().as_deref(), Some(binary));

    kv.kv_delete(b.id, "p", "k").await.unwrap();
    assert!(kv.kv_get(a.id, "p", "k").await.unwrap().is_some(), "another tenant's delete");
    kv.kv_delete(a.id, "p", "k").await.unwrap();
    assert!(kv.kv_get(a.id, "p", "k").await.unwrap().is_none());
}

#[tokio::test]
async fn kv_key_prefixes_are_matched_literally() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let kv = t.app.plugins.store();
    for key in ["a%b", "axb", "a_c", "abc", "a%", "A%b", "b%", "école:1", "étage", "e"] {
        assert_eq!(kv.kv_set(a.id, "p", key, key.as_bytes(), KvExpect::Any).await.unwrap(), KvWrite::Written);
    }
    kv.kv_set(a.id, "q", "a%z", b"other plugin", KvExpect::Any).await.unwrap();
    kv.kv_set(b.id, "p", "a%y", b"other tenant", KvExpect::Any).await.unwrap();
    assert_eq!(kv.kv_keys(a.id, "p", "a%").await.unwrap(), ["a%", "a%b"]);
    assert_eq!(kv.kv_keys(a.id, "p", "a_").await.unwrap(), ["a_c"]);
    assert_eq!(kv.kv_keys(a.id, "p", "a").await.unwrap(), ["a%", "a%b", "a_c", "abc", "axb"], "byte order");
    assert_eq!(kv.kv_keys(a.id, "p", "é").await.unwrap(), ["école:1", "étage"]);
    assert_eq!(kv.kv_keys(a.id, "p", "école:").await.unwrap(), ["école:1"]);
    assert_eq!(kv.kv_keys(a.id, "p", "").await.unwrap(), ["A%b", "a%", "a%b", "a_c", "abc", "axb", "b%", "e", "école:1", "étage"]);
    assert!(kv.kv_keys(a.id, "p", "A%B").await.unwrap().is_empty(), "case matters");
    assert!(kv.kv_keys(a.id, "p", "zz").await.unwrap().is_empty());
}

#[tokio::test]
async fn plugin_settings_keep_their_secret_flag_and_the_journal_hides_secrets() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.plugins.store();
    assert!(store.setting(a.id, "p", "greeting").await.unwrap().is_none());
    store.set_setting(a.id, "p", "greeting", &json!("Salut"), false, &actor()).await.unwrap();
    store.set_setting(a.id, "p", "limits", &json!({ "max": 3, "zones": ["nord", "sud"] }), false, &actor()).await.unwrap();
    store.set_setting(a.id, "p", "api_key", &json!("sk-live-123"), true, &actor()).await.unwrap();
    assert_eq!(store.setting(a.id, "p", "greeting").await.unwrap(), Some((json!("Salut"), false)));
    assert_eq!(store.setting(a.id, "p", "limits").await.unwrap(), Some((json!({ "max": 3, "zones": ["nord", "sud"] }), false)));
    assert_eq!(store.setting(a.id, "p", "api_key").await.unwrap(), Some((json!("sk-live-123"), true)));
    assert!(store.setting(b.id, "p", "greeting").await.unwrap().is_none());
    assert!(store.setting(a.id, "q", "greeting").await.unwrap().is_none());
    store.set_setting(a.id, "p", "api_key", &json!("public now"), false, &actor()).await.unwrap();
    assert_eq!(store.setting(a.id, "p", "api_key").await.unwrap(), Some((json!("public now"), false)), "the flag is replaced too");

    let journal = t.app.audit.list(a.id, &AuditQuery { action_prefix: Some("plugin.setting".into()), before_id: None, limit: 10 }).await.unwrap();
    let afters: Vec<Value> = journal.iter().map(|e| e.after.clone().unwrap()).collect();
    assert_eq!(
        afters,
        [
            json!({ "api_key": "public now" }),
            json!({ "api_key": "••••••" }),
            json!({ "limits": { "max": 3, "zones": ["nord", "sud"] } }),
            json!({ "greeting": "Salut" })
        ]
    );
}

#[tokio::test]
async fn receipts_are_listed_newest_first_and_summed_up_per_plugin() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.plugins.store();
    let now = t.app.now_ms();
    let mut receipts = Vec::new();
    for (i, (duration, outcome)) in [(300, "ok"), (100, "error"), (500, "trap"), (200, "ok"), (400, "ok")].into_iter().enumerate() {
        receipts.push(receipt(a.id, "p", "1.0.0", "filter", now + i64::try_from(i).unwrap(), duration, outcome));
    }
    receipts.push(receipt(a.id, "p", "1.0.0", "filter", now - 10_000, 9_999, "trap"));
    receipts.push(receipt(a.id, "q", "0.1.0", "route", now, 50, "ok"));
    receipts.push(receipt(b.id, "p", "1.0.0", "filter", now, 7_000, "error"));
    store.add_receipts(&receipts).await.unwrap();

    let latest = store.receipts(a.id, "p", 2).await.unwrap();
    assert_eq!(latest, [receipts[5].clone(), receipts[4].clone()], "the last stored first");
    assert_eq!(store.receipts(b.id, "p", 10).await.unwrap(), [receipts[7].clone()]);

    let summary = store.receipt_summary(a.id, now).await.unwrap();
    assert_eq!(summary.len(), 2);
    let p = &summary[0];
    assert_eq!(p.plugin_id, "p");
    assert_eq!((p.invocations, p.failures, p.traps), (5, 2, 1), "since `now`, in this tenant");
    assert_eq!((p.p50_us, p.p95_us), (300, 500));
    assert_eq!((p.peak_memory, p.host_calls, p.denials), (5_000, 10, 1));
    assert_eq!((summary[1].plugin_id.as_str(), summary[1].invocations, summary[1].p50_us, summary[1].p95_us), ("q", 1, 50, 50));
    assert!(store.receipt_summary(a.id, now + 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn receipt_percentiles_are_the_nearest_rank_on_every_backend() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let store = t.app.plugins.store();
    let now = t.app.now_ms();
    // Four calls in one tenant, 300 in the other (more than one insert statement's worth).
    let four: Vec<Receipt> = [10, 40, 20, 30].into_iter().map(|d| receipt(a.id, "p", "1.0.0", "action", now, d, "ok")).collect();
    let many: Vec<Receipt> = (1..=300).rev().map(|d| receipt(b.id, "p", "1.0.0", "action", now, d, if d % 100 == 0 { "error" } else { "ok" })).collect();
    store.add_receipts(&four).await.unwrap();
    store.add_receipts(&many).await.unwrap();
    // Nearest rank: the value at rank ceil(q × n), as PostgreSQL's percentile_disc and the
    // partner analytics compute it.
    let summary = store.receipt_summary(a.id, now).await.unwrap();
    assert_eq!((summary[0].invocations, summary[0].p50_us, summary[0].p95_us), (4, 20, 40));
    let summary = store.receipt_summary(b.id, now).await.unwrap();
    assert_eq!((summary[0].invocations, summary[0].failures, summary[0].p50_us, summary[0].p95_us), (300, 3, 150, 285));
    let analytics = t.app.plugins.store().call_stats("p", Some("1.0.0"), now).await.unwrap();
    assert_eq!(analytics, CallStats { invocations: 304, failures: 3, p95_us: 285 }, "the analytics' own percentile over both tenants");
}

#[tokio::test]
async fn publishers_tokens_and_keys_rotate_and_revoke() {
    let t = TestApp::spawn().await;
    let market = market(&t);
    assert!(market.create_publisher(&publisher("acme-labs", "active")).await.unwrap());
    assert!(!market.create_publisher(&Publisher { name: "Usurpateur".into(), ..publisher("acme-labs", "active") }).await.unwrap(), "the id is taken");
    assert_eq!(market.publisher("acme-labs").await.unwrap(), Some(publisher("acme-labs", "active")));
    assert!(market.publisher("nobody").await.unwrap().is_none());
    market.create_publisher(&publisher("dormant", "suspended")).await.unwrap();

    market.add_token("acme-labs", "tok-1", "CI", "hash-1").await.unwrap();
    t.clock.advance(Duration::from_millis(10));
    market.add_token("acme-labs", "tok-2", "Laptop", "hash-2").await.unwrap();
    market.add_token("dormant", "tok-3", "CI", "hash-3").await.unwrap();
    assert!(market.tokens("acme-labs").await.unwrap().iter().all(|t| t.last_used_at.is_none()));
    let before = t.app.now_ms();
    assert_eq!(market.publisher_by_token("hash-1").await.unwrap().map(|p| p.id), Some("acme-labs".to_owned()));
    assert!(market.publisher_by_token("hash-3").await.unwrap().is_none(), "a suspended publisher's token does not authenticate");
    assert!(market.publisher_by_token("hash-unknown").await.unwrap().is_none());
    let tokens = market.tokens("acme-labs").await.unwrap();
    assert_eq!(tokens.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), ["tok-2", "tok-1"], "newest first");
    assert!(tokens[1].last_used_at.is_some_and(|at| at >= before), "its use is noted");
    assert!(tokens[0].last_used_at.is_none());
    assert!(!market.revoke_token("dormant", "tok-1").await.unwrap(), "not that publisher's token");
    assert!(market.revoke_token("acme-labs", "tok-1").await.unwrap());
    assert!(!market.revoke_token("acme-labs", "tok-1").await.unwrap(), "already revoked");
    assert!(market.publisher_by_token("hash-1").await.unwrap().is_none());
    assert!(market.tokens("acme-labs").await.unwrap()[1].revoked_at.is_some());

    market.add_key("acme-labs", "ed25519:k1", "ed25519:AAAA").await.unwrap();
    t.clock.advance(Duration::from_millis(10));
    market.add_key("acme-labs", "ed25519:k2", "ed25519:BBBB").await.unwrap();
    let keys = market.keys("acme-labs").await.unwrap();
    assert_eq!(keys.iter().map(|k| (k.key_id.as_str(), k.status.as_str())).collect::<Vec<_>>(), [("ed25519:k2", "current"), ("ed25519:k1", "retired")]);
    assert!(keys[1].changed_at.is_some() && keys[0].changed_at.is_none());
    let reused = market.add_key("acme-labs", "ed25519:k1", "ed25519:AAAA").await;
    assert!(matches!(reused, Err(StoreError::Conflict(_))), "{reused:?}");
    assert!(!market.revoke_key("dormant", "ed25519:k2").await.unwrap());
    assert!(market.revoke_key("acme-labs", "ed25519:k2").await.unwrap());
    assert!(!market.revoke_key("acme-labs", "ed25519:k2").await.unwrap(), "already revoked");
    assert!(market.revoke_key("acme-labs", "ed25519:k1").await.unwrap(), "a retired key can be revoked");
    t.clock.advance(Duration::from_millis(10));
    market.add_key("acme-labs", "ed25519:k3", "ed25519:CCCC").await.unwrap();
    let statuses: Vec<(String, String)> = market.keys("acme-labs").await.unwrap().into_iter().map(|k| (k.key_id, k.status)).collect();
    let expected = [("ed25519:k3", "current"), ("ed25519:k2", "revoked"), ("ed25519:k1", "revoked")].map(|(k, s)| (k.to_owned(), s.to_owned()));
    assert_eq!(statuses, expected);
    assert!(market.keys("dormant").await.unwrap().is_empty());
}

#[tokio::test]
async fn versions_are_immutable_owned_by_their_publisher_and_reviewed_once() {
    let t = TestApp::spawn().await;
    let market = market(&t);
    assert_eq!(submit(&t, "good", "1.0.0", "acme-labs", 100).await, Inserted::Stored);
    assert_eq!(submit(&t, "good", "1.0.0", "acme-labs", 150).await, Inserted::VersionExists);
    assert_eq!(submit(&t, "good", "1.1.0", "intrus", 160).await, Inserted::OwnedBy("acme-labs".into()));
    assert_eq!(submit(&t, "good", "1.1.0", "acme-labs", 200).await, Inserted::Stored);
    assert_eq!(submit(&t, "other", "0.1.0", "intrus", 300).await, Inserted::Stored);

    let stored = market.version("good", "1.0.0").await.unwrap().unwrap();
    let row = version_row("good", "1.0.0", "acme-labs", 100);
    assert_eq!((stored.digest, stored.component_sha256, stored.manifest), (row.digest.clone(), row.component_sha256, row.manifest));
    assert_eq!((stored.readme, stored.changelog, stored.report, stored.risk), (row.readme, None, row.report, 12));
    assert_eq!((stored.status.as_str(), stored.submitted_at, stored.yanked, stored.deprecated), ("in_review", 100, None, None));
    assert_eq!(market.archive(&row.digest).await.unwrap().as_deref(), Some(&b"archive good 1.0.0"[..]), "the first archive");
    assert!(market.version("good", "9.9.9").await.unwrap().is_none());
    let versions = |rows: Vec<VersionRow>| rows.into_iter().map(|v| format!("{}@{}", v.plugin_id, v.version)).collect::<Vec<_>>();
    assert_eq!(versions(market.versions("good").await.unwrap()), ["good@1.1.0", "good@1.0.0"]);
    assert_eq!(versions(market.review_queue().await.unwrap()), ["good@1.0.0", "good@1.1.0", "other@0.1.0"], "oldest first");
    assert_eq!(versions(market.publisher_versions("intrus").await.unwrap()), ["other@0.1.0"], "the refused submission left nothing");

    assert!(market.decide("good", "1.0.0", "listed", "RAS", "operator:1").await.unwrap());
    assert!(!market.decide("good", "1.0.0", "rejected", "trop tard", "operator:2").await.unwrap(), "only versions in review");
    assert!(market.decide("other", "0.1.0", "rejected", "réseau non déclaré", "operator:1").await.unwrap());
    assert!(!market.decide("good", "7.0.0", "listed", "", "operator:1").await.unwrap());
    let decided = market.version("good", "1.0.0").await.unwrap().unwrap();
    assert_eq!((decided.status.as_str(), decided.review_note.as_deref(), decided.reviewed_by.as_deref()), ("listed", Some("RAS"), Some("operator:1")));
    assert!(decided.reviewed_at.is_some());
    assert_eq!(versions(market.review_queue().await.unwrap()), ["good@1.1.0"]);
    assert_eq!(versions(market.listed().await.unwrap()), ["good@1.0.0"]);

    assert!(market.set_yanked("good", "1.0.0", Some("faille")).await.unwrap());
    assert_eq!(market.version("good", "1.0.0").await.unwrap().unwrap().yanked.as_deref(), Some("faille"));
    assert!(market.set_yanked("good", "1.0.0", None).await.unwrap());
    assert!(market.version("good", "1.0.0").await.unwrap().unwrap().yanked.is_none());
    assert!(!market.set_yanked("good", "3.0.0", Some("x")).await.unwrap());
    assert!(market.set_deprecated("good", Some("remplacé par better")).await.unwrap());
    assert!(!market.set_deprecated("nothing", Some("x")).await.unwrap());
    assert!(market.versions("good").await.unwrap().iter().all(|v| v.deprecated.as_deref() == Some("remplacé par better")));
}

#[tokio::test]
async fn one_plugin_operation_applies_per_tenant_and_its_end_stores_the_lock() {
    let t = spawn_without_recovery().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let market = market(&t);
    let now = t.app.now_ms();
    assert!(market.tenant_lock(a.id).await.unwrap().is_none());
    market.start_operation(a.id, &operation("op-1", now)).await.unwrap();
    let busy = market.start_operation(a.id, &operation("op-2", now + 1)).await;
    assert!(matches!(busy, Err(StoreError::Conflict(_))), "{busy:?}");
    market.start_operation(b.id, &operation("op-b", now)).await.expect("another tenant is free");

    let granted = approval("ap-1", "good", "1.1.0", now + 5);
    let finished = market.finish_operation(b.id, "op-1", "done", None, &[], &RetentionChange::default()).await;
    assert!(matches!(finished, Err(StoreError::NotFound(_))), "another tenant's operation: {finished:?}");
    market.finish_operation(a.id, "op-1", "done", None, std::slice::from_ref(&granted), &RetentionChange::default()).await.unwrap();
    let lock = market.tenant_lock(a.id).await.unwrap().unwrap();
    assert_eq!((lock.wants.as_str(), lock.lock.as_str()), ("{\"op-1\":{}}", "lock after op-1"));
    assert_eq!(market.approvals(a.id).await.unwrap().iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["ap-1"], "added with the end");
    let again = market.finish_operation(a.id, "op-1", "rolled_back", Some("late"), &[], &RetentionChange::default()).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "it is no longer applying: {again:?}");

    market.start_operation(a.id, &operation("op-2", now + 10)).await.expect("free again");
    market
        .finish_operation(a.id, "op-2", "rolled_back", Some("step 2 failed"), &[approval("ap-2", "good", "1.2.0", now + 11)], &RetentionChange::default())
        .await
        .unwrap();
    let lock = market.tenant_lock(a.id).await.unwrap().unwrap();
    assert_eq!(lock.lock, "lock after op-1", "a rolled back operation keeps the lock");
    assert_eq!(market.approvals(a.id).await.unwrap().len(), 1, "and adds no approval");
    let operations = market.operations(a.id, 10).await.unwrap();
    assert_eq!(
        operations.iter().map(|o| (o.id.as_str(), o.state.as_str(), o.error.as_deref())).collect::<Vec<_>>(),
        [("op-2", "rolled_back", Some("step 2 failed")), ("op-1", "done", None)]
    );
    assert!(operations.iter().all(|o| o.finished_at.is_some()));
    assert_eq!(market.operations(a.id, 1).await.unwrap().len(), 1);
    assert!(market.tenant_lock(b.id).await.unwrap().is_none());
    assert_eq!(market.operations(b.id, 10).await.unwrap().iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["op-b"]);
}

#[tokio::test]
async fn concurrent_operation_starts_leave_one_operation_applying() {
    let t = spawn_without_recovery().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    open_every_connection(&t).await;
    let now = t.app.now_ms();
    let starts = (0..6).map(|n| {
        let op = operation(&format!("op-{n}"), now);
        let market = market(&t);
        async move { market.start_operation(a.id, &op).await }
    });
    let outcomes = futures::future::join_all(starts).await;
    let started = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused = outcomes.iter().filter(|o| matches!(o, Err(StoreError::Conflict(_)))).count();
    assert_eq!((started, refused), (1, 5), "{outcomes:?}");
    let applying = market(&t).operations(a.id, 10).await.unwrap().into_iter().filter(|o| o.state == "applying").count();
    assert_eq!(applying, 1);
}

#[tokio::test]
async fn operations_whose_heartbeat_stopped_are_reported_interrupted() {
    let t = spawn_without_recovery().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let market = market(&t);
    let now = t.app.now_ms();
    market.start_operation(a.id, &operation("op-old", now - 3_600_000)).await.unwrap();
    market.start_operation(b.id, &operation("op-new", now - 1_000)).await.unwrap();
    let interrupted = market.interrupted(now - 60_000).await.unwrap();
    assert_eq!(interrupted.iter().map(|(tenant, o)| (*tenant, o.id.as_str(), o.snapshot.as_str())).collect::<Vec<_>>(), [(a.id, "op-old", "[]")]);
    let both = market.interrupted(now).await.unwrap();
    assert_eq!(both.iter().map(|(tenant, o)| (*tenant, o.id.as_str())).collect::<Vec<_>>(), [(a.id, "op-old"), (b.id, "op-new")], "oldest first");
    market.heartbeat(b.id, "op-old").await.unwrap();
    assert_eq!(market.interrupted(now - 60_000).await.unwrap().len(), 1, "another tenant's heartbeat does not count");
    market.heartbeat(a.id, "op-old").await.unwrap();
    assert!(market.interrupted(now - 60_000).await.unwrap().is_empty(), "alive again");
    market.finish_operation(b.id, "op-new", "done", None, &[], &RetentionChange::default()).await.unwrap();
    assert!(market.interrupted(t.app.now_ms() + 1).await.unwrap().iter().all(|(_, o)| o.id != "op-new"), "finished operations are not interrupted");
}

#[tokio::test]
async fn a_new_approval_supersedes_the_plugins_pending_one_and_is_decided_once() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let market = market(&t);
    market.add_approval(a.id, &approval("ap-1", "good", "1.1.0", 1_000)).await.unwrap();
    market.add_approval(a.id, &approval("ap-other", "other", "2.0.0", 1_500)).await.unwrap();
    market.add_approval(b.id, &approval("ap-b", "good", "1.1.0", 1_600)).await.unwrap();
    market.add_approval(a.id, &approval("ap-2", "good", "1.2.0", 2_000)).await.unwrap();
    let listed = market.approvals(a.id).await.unwrap();
    let states: Vec<(&str, &str, Option<i64>)> = listed.iter().map(|a| (a.id.as_str(), a.status.as_str(), a.decided_at)).collect();
    assert_eq!(states, [("ap-2", "pending", None), ("ap-other", "pending", None), ("ap-1", "superseded", Some(2_000))]);
    assert_eq!(listed[0].grants, ["http:api.exemple.fr", "kv"]);
    assert_eq!(market.approvals(b.id).await.unwrap()[0].status, "pending", "another tenant's request is untouched");

    assert!(!market.decide_approval(a.id, "ap-1", "approved", "user:admin").await.unwrap(), "superseded");
    assert!(!market.decide_approval(b.id, "ap-2", "approved", "user:admin").await.unwrap(), "another tenant's");
    assert!(market.decide_approval(a.id, "ap-2", "approved", "user:admin").await.unwrap());
    assert!(!market.decide_approval(a.id, "ap-2", "rejected", "user:admin").await.unwrap(), "decided once");
    let decided = market.approvals(a.id).await.unwrap().into_iter().find(|a| a.id == "ap-2").unwrap();
    assert_eq!((decided.status.as_str(), decided.decided_by.as_deref()), ("approved", Some("user:admin")));
    assert!(decided.decided_at.is_some());
}

#[tokio::test]
async fn reviews_are_one_per_tenant_and_plugin_and_summed_up_in_ratings() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let market = market(&t);
    submit(&t, "good", "1.0.0", "acme-labs", 1).await;
    submit(&t, "other", "1.0.0", "acme-labs", 2).await;
    let review = |tenant: TenantId, plugin: &str, stars: i64, at: i64| Review {
        plugin_id: plugin.into(),
        tenant,
        stars,
        title: format!("{stars} étoiles"),
        body: "Très utile.".into(),
        reply: None,
        created_at: at,
        updated_at: at,
    };
    market.put_review(&review(a.id, "good", 4, 1_000)).await.unwrap();
    market.put_review(&review(b.id, "good", 2, 2_000)).await.unwrap();
    market.put_review(&review(a.id, "other", 5, 3_000)).await.unwrap();
    let ratings = market.ratings().await.unwrap();
    assert_eq!(ratings.iter().map(|(p, r)| (p.as_str(), r.average, r.count)).collect::<Vec<_>>(), [("good", 3.0, 2), ("other", 5.0, 1)]);

    market.put_review(&review(a.id, "good", 5, 4_000)).await.unwrap();
    let reviews = market.reviews("good").await.unwrap();
    let shown: Vec<(TenantId, i64, i64, i64)> = reviews.iter().map(|r| (r.tenant, r.stars, r.created_at, r.updated_at)).collect();
    assert_eq!(shown, [(b.id, 2, 2_000, 2_000), (a.id, 5, 1_000, 4_000)], "replaced in place, newest first");
    assert_eq!(market.ratings().await.unwrap()["good"].average, 3.5);

    assert!(market.reply("good", 1_000, "Merci !").await.unwrap());
    assert!(!market.reply("good", 1_234, "Merci !").await.unwrap());
    assert!(!market.reply("other", 2_000, "Merci !").await.unwrap());
    let replied = market.reviews("good").await.unwrap();
    assert_eq!(replied.iter().map(|r| r.reply.as_deref()).collect::<Vec<_>>(), [None, Some("Merci !")]);
}

#[tokio::test]
async fn install_events_count_distinct_tenants_and_tell_who_ever_installed() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let c = t.create_tenant("charlie", "Charlie").await;
    let market = market(&t);
    let since = t.app.now_ms();
    for (tenant, version, kind) in
        [(a.id, "1.0.0", "installed"), (a.id, "1.1.0", "upgraded"), (b.id, "1.0.0", "installed"), (a.id, "1.1.0", "uninstalled"), (a.id, "1.1.0", "installed")]
    {
        market.record_event(tenant, "good", version, kind).await.unwrap();
        t.clock.advance(Duration::from_millis(2));
    }
    market.record_event(c.id, "other", "0.1.0", "upgraded").await.unwrap();
    let plugins = t.app.plugins.store();
    plugins.put_component("sha-good", b"\0asm").await.unwrap();
    plugins.put_install(a.id, &installed("good", "1.1.0", "sha-good"), &actor()).await.unwrap();
    plugins.put_install(c.id, &installed("good", "1.0.0", "sha-good"), &actor()).await.unwrap();

    let stats = t.app.marketplace.install_stats().await.unwrap();
    let good = stats["good"];
    assert_eq!((good.active, good.total), (2, 2), "installed now; tenants that ever installed it");
    assert_eq!(stats.get("other").map_or((0, 0), |s| (s.active, s.total)), (0, 0), "an upgrade is not an install");
    assert!(market.ever_installed(a.id, "good").await.unwrap());
    assert!(market.ever_installed(b.id, "good").await.unwrap());
    assert!(!market.ever_installed(c.id, "good").await.unwrap(), "installed outside the marketplace");
    assert!(!market.ever_installed(c.id, "other").await.unwrap(), "an upgrade is not an install");
    assert!(!market.ever_installed(a.id, "other").await.unwrap());

    let events = market.plugin_events("good", since).await.unwrap();
    assert_eq!(events.iter().map(|(_, kind)| kind.as_str()).collect::<Vec<_>>(), ["installed", "upgraded", "installed", "uninstalled", "installed"]);
    assert!(events.windows(2).all(|w| w[0].0 < w[1].0), "oldest first");
    assert!(market.plugin_events("good", events[4].0 + 1).await.unwrap().is_empty());
    let mut in_use = plugins.installed_versions("good").await.unwrap();
    in_use.sort();
    assert_eq!(in_use, [("1.0.0".to_owned(), 1), ("1.1.0".to_owned(), 1)]);
    assert_eq!(plugins.installs_of("good").await.unwrap(), {
        let mut expected = vec![(a.id, "1.1.0".to_owned()), (c.id, "1.0.0".to_owned())];
        expected.sort();
        expected
    });
}

#[tokio::test]
async fn notifications_are_listed_newest_first_and_marked_read_per_tenant() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let market = market(&t);
    market.add_notification(a.id, &notification("n-1", 1_000)).await.unwrap();
    market.add_notification(a.id, &notification("n-2", 2_000)).await.unwrap();
    market.add_notification(a.id, &notification("n-3", 3_000)).await.unwrap();
    market.add_notification(b.id, &notification("n-b", 4_000)).await.unwrap();
    let ids = |list: Vec<Notification>| list.into_iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(ids(market.notifications(a.id, false, 10).await.unwrap()), ["n-3", "n-2", "n-1"]);
    assert_eq!(ids(market.notifications(a.id, false, 2).await.unwrap()), ["n-3", "n-2"]);
    let first = &market.notifications(a.id, false, 10).await.unwrap()[2];
    assert_eq!(
        (first.kind.as_str(), first.plugin_id.as_str(), first.message.as_str(), first.read_at),
        ("update_available", "good", "good 1.1.0 est disponible (n-1)", None)
    );

    assert!(market.mark_read(a.id, "n-2", 5_000).await.unwrap());
    assert!(market.mark_read(a.id, "n-2", 6_000).await.unwrap(), "still its notification");
    assert!(!market.mark_read(b.id, "n-1", 5_000).await.unwrap(), "another tenant's");
    assert!(!market.mark_read(a.id, "n-404", 5_000).await.unwrap());
    assert_eq!(ids(market.notifications(a.id, true, 10).await.unwrap()), ["n-3", "n-1"]);
    let read = market.notifications(a.id, false, 10).await.unwrap();
    assert_eq!(read.iter().map(|n| n.read_at).collect::<Vec<_>>(), [None, Some(5_000), None], "read once, at the first time");
    assert_eq!(market.mark_all_read(a.id, 7_000).await.unwrap(), 2);
    assert_eq!(market.mark_all_read(a.id, 8_000).await.unwrap(), 0);
    assert!(market.notifications(a.id, true, 10).await.unwrap().is_empty());
    assert_eq!(ids(market.notifications(b.id, true, 10).await.unwrap()), ["n-b"], "another tenant's stay unread");
}

#[tokio::test]
async fn one_rollout_runs_per_plugin_and_its_health_counts_uses_only() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let market = market(&t);
    assert!(market.insert_rollout(&rollout("good", "2.0.0", "active", 1_000)).await.unwrap());
    assert!(!market.insert_rollout(&rollout("good", "2.1.0", "active", 2_000)).await.unwrap(), "good has one active");
    assert!(market.insert_rollout(&rollout("other", "1.0.0", "paused", 1_500)).await.unwrap());
    let mut done = rollout("good", "2.0.0", "completed", 1_000);
    done.percent = 100;
    done.step_at = 3_000;
    done.updated_at = 3_000;
    done.note = Some("promoted".into());
    market.update_rollout(&done).await.unwrap();
    assert!(!market.insert_rollout(&rollout("good", "2.0.0", "active", 4_000)).await.unwrap(), "this version had one");
    assert!(market.insert_rollout(&rollout("good", "2.1.0", "active", 4_000)).await.unwrap());

    let all = market.rollouts(None).await.unwrap();
    let shown: Vec<(&str, &str, &str, u8)> = all.iter().map(|r| (r.plugin_id.as_str(), r.version.as_str(), r.state.as_str(), r.percent)).collect();
    assert_eq!(shown, [("good", "2.1.0", "active", 5), ("other", "1.0.0", "paused", 5), ("good", "2.0.0", "completed", 100)], "newest first");
    let good = market.rollouts(Some("good")).await.unwrap();
    assert_eq!(good.len(), 2);
    let completed = &good[1];
    assert_eq!((completed.step_at, completed.updated_at, completed.note.as_deref(), completed.started_at), (3_000, 3_000, Some("promoted"), 1_000));
    assert_eq!(
        (completed.steps.clone(), completed.previous.as_deref(), completed.threshold_bp, completed.min_invocations),
        (vec![5, 25, 50, 100], Some("1.0.0"), 200, 20)
    );
    assert!(market.rollouts(Some("nothing")).await.unwrap().is_empty());

    let receipts = [
        receipt(a.id, "good", "2.1.0", "filter", 5_000, 10, "ok"),
        receipt(a.id, "good", "2.1.0", "action", 5_001, 10, "error"),
        receipt(b.id, "good", "2.1.0", "route", 5_002, 10, "trap"),
        receipt(b.id, "good", "2.1.0", "lifecycle", 5_003, 10, "error"),
        receipt(b.id, "good", "2.1.0", "filter", 4_999, 10, "error"),
        receipt(a.id, "good", "2.0.0", "filter", 5_000, 10, "error"),
    ];
    t.app.plugins.store().add_receipts(&receipts).await.unwrap();
    let health = t.app.plugins.store().call_stats("good", Some("2.1.0"), 5_000).await.unwrap();
    assert_eq!((health.invocations, health.failures), (3, 2), "every tenant, uses only");
    assert_eq!(t.app.plugins.store().call_stats("good", Some("3.0.0"), 0).await.unwrap(), CallStats::default());
}

#[tokio::test]
async fn concurrent_rollouts_of_one_plugin_leave_one_running() {
    let t = TestApp::spawn().await;
    open_every_connection(&t).await;
    let inserts = ["2.0.0", "2.1.0", "2.2.0", "2.3.0", "2.4.0", "2.5.0"].map(|version| {
        let market = market(&t);
        async move { market.insert_rollout(&rollout("good", version, "active", 1_000)).await.unwrap() }
    });
    let inserted = futures::future::join_all(inserts).await.into_iter().filter(|done| *done).count();
    assert_eq!(inserted, 1, "a plugin has one active rollout at a time");
    assert_eq!(market(&t).rollouts(Some("good")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_first_submissions_give_the_plugin_id_to_one_publisher() {
    let t = TestApp::spawn().await;
    for publisher_id in ["first", "second", "third"] {
        market(&t).create_publisher(&publisher(publisher_id, "active")).await.unwrap();
    }
    t.app.plugins.store().put_component(&version_row("contested", "1.0.0", "first", 1).component_sha256, b"\0asm").await.unwrap();
    open_every_connection(&t).await;
    let submissions = ["first", "second", "third"].map(|publisher_id| {
        let market = market(&t);
        async move { market.insert_version(&version_row("contested", "1.0.0", publisher_id, 1), b"archive").await }
    });
    let outcomes = futures::future::join_all(submissions).await;
    let stored = outcomes.iter().filter(|o| matches!(o, Ok(Inserted::Stored))).count();
    let owned = outcomes.iter().filter(|o| matches!(o, Ok(Inserted::OwnedBy(_)))).count();
    assert_eq!((stored, owned), (1, 2), "the others are told who owns it: {outcomes:?}");
}

#[tokio::test]
async fn the_ledger_takes_one_entry_per_tenant_plugin_kind_and_month_and_never_changes() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let market = market(&t);
    assert!(market.reseller(a.id).await.unwrap().is_none());
    market.set_reseller(a.id, Some("revendeur")).await.unwrap();
    market.set_reseller(a.id, Some("autre-revendeur")).await.unwrap();
    assert_eq!(market.reseller(a.id).await.unwrap().as_deref(), Some("autre-revendeur"));
    assert!(market.reseller(b.id).await.unwrap().is_none());
    market.set_reseller(a.id, None).await.unwrap();
    assert!(market.reseller(a.id).await.unwrap().is_none());

    let subscription = Entry { reseller: Some("revendeur".into()), ..ledger_entry("e-1", "2026-03", a.id, "good", "subscription", 4_900) };
    assert!(market.append_entry(&subscription).await.unwrap());
    assert!(!market.append_entry(&ledger_entry("e-2", "2026-03", a.id, "good", "subscription", 1)).await.unwrap(), "charged once a month");
    let usage = ledger_entry("e-3", "2026-03", a.id, "good", "usage", 250);
    assert!(market.append_entry(&usage).await.unwrap());
    let other_tenant = ledger_entry("e-4", "2026-03", b.id, "good", "subscription", 4_900);
    assert!(market.append_entry(&other_tenant).await.unwrap());
    let next_month = ledger_entry("e-5", "2026-04", a.id, "good", "subscription", 4_900);
    assert!(market.append_entry(&next_month).await.unwrap());
    let mut expected = vec![subscription, other_tenant, usage];
    expected[..2].sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(market.entries("partenaire", "2026-03").await.unwrap(), expected);
    assert_eq!(market.entries("partenaire", "2026-04").await.unwrap(), [next_month]);
    assert!(market.entries("someone-else", "2026-03").await.unwrap().is_empty());

    let refused = match &t.app.db {
        Db::Sqlite(pool) => sqlx::query("UPDATE marketplace_ledger SET amount_cents = 0").execute(pool).await.map(|r| r.rows_affected()),
        Db::Postgres { app, .. } => {
            let mut tx = socle_core::db::postgres::begin(app, Scope::Platform).await.unwrap();
            sqlx::query("DELETE FROM marketplace_ledger").execute(&mut *tx).await.map(|r| r.rows_affected())
        }
    };
    assert!(refused.as_ref().is_err_and(|e| e.to_string().contains("append-only")), "{refused:?}");
    assert_eq!(market.entries("partenaire", "2026-03").await.unwrap().len(), 3);
}

#[tokio::test]
async fn calls_are_counted_per_tenant_and_version_within_the_period_without_lifecycle() {
    let t = TestApp::spawn().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let plugins = t.app.plugins.store();
    let receipts = [
        receipt(a.id, "bench", "1.0.0", "route", 1_000, 10, "ok"),
        receipt(a.id, "bench", "1.0.0", "action", 1_500, 30, "error"),
        receipt(a.id, "bench", "1.1.0", "route", 1_999, 20, "ok"),
        receipt(a.id, "bench", "1.1.0", "lifecycle", 1_200, 10, "ok"),
        receipt(b.id, "bench", "1.0.0", "panel", 1_000, 40, "trap"),
        receipt(b.id, "bench", "1.0.0", "panel", 2_000, 10, "ok"),
        receipt(b.id, "bench", "1.0.0", "panel", 999, 10, "ok"),
        receipt(a.id, "other", "1.0.0", "route", 1_000, 10, "ok"),
    ];
    plugins.add_receipts(&receipts).await.unwrap();
    let mut calls = plugins.calls_by_tenant("bench", 1_000, 2_000).await.unwrap();
    calls.sort();
    let mut expected = vec![(a.id, "1.0.0".to_owned(), 2), (a.id, "1.1.0".to_owned(), 1), (b.id, "1.0.0".to_owned(), 1)];
    expected.sort();
    assert_eq!(calls, expected);
    let mut versions = plugins.called_versions("bench", 1_000).await.unwrap();
    versions.sort();
    assert_eq!(versions, ["1.0.0", "1.1.0"]);
    assert_eq!(plugins.called_versions("bench", 1_600).await.unwrap().len(), 2);
    assert_eq!(plugins.call_stats("bench", None, 1_000).await.unwrap(), CallStats { invocations: 5, failures: 2, p95_us: 40 });
    assert_eq!(plugins.call_stats("bench", Some("1.1.0"), 1_000).await.unwrap(), CallStats { invocations: 1, failures: 0, p95_us: 20 });
    assert_eq!(plugins.call_stats("bench", Some("9.0.0"), 0).await.unwrap(), CallStats::default());
}

#[tokio::test]
async fn uninstalled_plugin_data_is_retained_then_restored_or_purged() {
    let t = spawn_without_recovery().await;
    let a = t.create_tenant("alpha", "Alpha").await;
    let b = t.create_tenant("bravo", "Bravo").await;
    let market = market(&t);
    let plugins = t.app.plugins.store();
    let store = t.app.records.store();
    let note = |tenant: TenantId, title: &str| {
        let mut record = item(Uuid::now_v7(), 1, json!({ "title": title }));
        record.collection = "notes.note".into();
        async move { store.commit(tenant, &write(WriteOp::Create, record, None)).await.unwrap().id }
    };
    let first = note(a.id, "Première").await;
    note(a.id, "Seconde").await;
    let foreign = note(b.id, "Autre").await;
    plugins.kv_set(a.id, "notes", "count", b"2", KvExpect::Any).await.unwrap();
    plugins.set_setting(a.id, "notes", "color", &json!("bleu"), false, &actor()).await.unwrap();
    plugins.set_setting(a.id, "notes", "token", &json!("secret"), true, &actor()).await.unwrap();

    let data = market.plugin_data(a.id, "notes", &["notes.note".to_owned()]).await.unwrap();
    assert_eq!(data.records.iter().map(|r| r.data.clone()).collect::<Vec<_>>(), [r#"{"title":"Première"}"#, r#"{"title":"Seconde"}"#]);
    assert_eq!((data.records[0].id.clone(), data.records[0].collection.as_str(), data.records[0].version), (first.to_string(), "notes.note", 1));
    assert_eq!(data.kv, [("count".to_owned(), b"2".to_vec())]);
    assert_eq!(data.settings, [("color".to_owned(), "\"bleu\"".to_owned())], "secrets are not exported");
    assert!(market.plugin_data(b.id, "notes", &[]).await.unwrap().kv.is_empty());

    let now = t.app.now_ms();
    let kept = |id: &str, purge_at: i64| Retained {
        id: id.into(),
        plugin_id: "notes".into(),
        version: "1.0.0".into(),
        collections: vec!["notes.note".into()],
        export: format!("{{\"type\":\"export\",\"id\":\"{id}\"}}\n"),
        records: 2,
        kv_keys: 1,
        created_at: now,
        purge_at,
    };
    let uninstall = |op: &str| operation(op, now);
    market.start_operation(a.id, &uninstall("op-1")).await.unwrap();
    market.finish_operation(a.id, "op-1", "done", None, &[], &RetentionChange { kept: vec![kept("ret-1", now + 1_000)], restored: vec![] }).await.unwrap();
    let retentions = market.retentions(a.id).await.unwrap();
    assert_eq!(retentions.iter().map(|r| (r.id.as_str(), r.status.as_str(), r.records, r.kv_keys)).collect::<Vec<_>>(), [("ret-1", "kept", 2, 1)]);
    assert_eq!(retentions[0].collections, ["notes.note"]);
    let (_, export) = market.retention_export(a.id, "ret-1").await.unwrap().unwrap();
    assert_eq!(export.as_deref(), Some("{\"type\":\"export\",\"id\":\"ret-1\"}\n"));
    assert!(market.retention_export(b.id, "ret-1").await.unwrap().is_none());
    assert!(market.retentions(b.id).await.unwrap().is_empty());

    // Reinstalled before the purge: the data is the plugin's again.
    market.start_operation(a.id, &uninstall("op-2")).await.unwrap();
    market.finish_operation(a.id, "op-2", "done", None, &[], &RetentionChange { kept: vec![], restored: vec!["notes".into()] }).await.unwrap();
    let restored = market.retentions(a.id).await.unwrap();
    assert_eq!((restored[0].status.as_str(), restored[0].closed_at.is_some()), ("restored", true));
    assert!(market.due_retentions(now + 10_000).await.unwrap().is_empty(), "a restored retention is never due");

    // Removed again: kept until its date, then purged with the plugin's data.
    market.start_operation(a.id, &uninstall("op-3")).await.unwrap();
    market.finish_operation(a.id, "op-3", "done", None, &[], &RetentionChange { kept: vec![kept("ret-2", now + 5_000)], restored: vec![] }).await.unwrap();
    assert!(market.due_retentions(now + 4_999).await.unwrap().is_empty());
    assert_eq!(market.due_retentions(now + 5_000).await.unwrap(), [(a.id, "ret-2".to_owned())]);
    assert_eq!(market.purge_retention(a.id, "ret-2", now + 4_999).await.unwrap(), Purged::Nothing, "not due");
    assert_eq!(market.purge_retention(b.id, "ret-2", now + 5_000).await.unwrap(), Purged::Nothing, "not this tenant's");
    assert_eq!(market.purge_retention(a.id, "ret-2", now + 5_000).await.unwrap(), Purged::Purged);
    assert_eq!(market.purge_retention(a.id, "ret-2", now + 5_000).await.unwrap(), Purged::Nothing, "already purged");
    let (purged, export) = market.retention_export(a.id, "ret-2").await.unwrap().unwrap();
    assert_eq!((purged.status.as_str(), purged.closed_at, export), ("purged", Some(now + 5_000), None));
    assert!(store.get(a.id, first).await.unwrap().is_none(), "the plugin's records are deleted");
    assert!(plugins.kv_get(a.id, "notes", "count").await.unwrap().is_none());
    assert!(plugins.setting(a.id, "notes", "token").await.unwrap().is_none());
    assert!(store.get(b.id, foreign).await.unwrap().is_some(), "another tenant's records of that collection stay");
    assert_eq!(market.retentions(a.id).await.unwrap().iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["ret-2", "ret-1"]);

    // Installed again outside the marketplace before its purge: nothing is deleted.
    note(a.id, "Troisième").await;
    market.start_operation(a.id, &uninstall("op-4")).await.unwrap();
    market.finish_operation(a.id, "op-4", "done", None, &[], &RetentionChange { kept: vec![kept("ret-3", now + 6_000)], restored: vec![] }).await.unwrap();
    plugins.put_component("sha-notes", b"\0asm").await.unwrap();
    plugins.put_install(a.id, &installed("notes", "1.0.0", "sha-notes"), &actor()).await.unwrap();
    assert_eq!(market.purge_retention(a.id, "ret-3", now + 6_000).await.unwrap(), Purged::Restored);
    assert_eq!(market.plugin_data(a.id, "notes", &["notes.note".to_owned()]).await.unwrap().records.len(), 1);
}
