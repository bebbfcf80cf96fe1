//! Progressive rollout and the kill switch, end to end: a partner rolls a version out to a
//! cohort of tenants (the others resolve to the previous version), the periodic job promotes it
//! while its error rate (from the runtime receipts) stays close to the previous version's and
//! halts it otherwise, rolling the cohort back; an operator's kill switch withdraws a version from
//! everyone. Tenants are told, and see only their own notifications.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_core::marketplace::{Change, Target};
use socle_core::plugins::store::Receipt;
use socle_marketplace::resolve::Upgrade;
use socle_marketplace::rollout::in_cohort;
use socle_tenants::{Actor, PluginWant, Tenant};
use socle_tests::{Browser, PASSWORD, TestApp};

use super::marketplace::{PUBLISHER, Partner, package, tenant_with_admin, version};

async fn install_good(t: &TestApp, tenant: &Tenant) {
    let mut wants = t.app.marketplace.wants(tenant.id).await.unwrap();
    wants.insert("good".into(), PluginWant::any());
    let change = Change {
        kind: "install",
        summary: "install good".into(),
        target: Target::Resolve { wants, upgrade: Upgrade::Only(["good".into()].into()), locked: None },
    };
    t.app.marketplace.apply(&Arc::new(tenant.clone()), &change, &Actor::system("test")).await.unwrap();
}

async fn upgrade_all(t: &TestApp, tenant: &Tenant) {
    let wants = t.app.marketplace.wants(tenant.id).await.unwrap();
    let change = Change { kind: "upgrade", summary: "upgrade all".into(), target: Target::Resolve { wants, upgrade: Upgrade::All, locked: None } };
    t.app.marketplace.apply(&Arc::new(tenant.clone()), &change, &Actor::system("test")).await.unwrap();
}

async fn good_version(t: &TestApp, tenant: &Tenant) -> String {
    t.app.plugins.store().installs(tenant.id).await.unwrap().into_iter().find(|i| i.plugin_id == "good").map(|i| i.version).unwrap_or_default()
}

/// `calls` receipts of good@`version` in `tenant`, `failures` of them failed: the traffic the
/// runtime records for every invocation.
async fn traffic(t: &TestApp, tenant: &Tenant, version: &str, calls: usize, failures: usize) {
    let receipts: Vec<Receipt> = (0..calls)
        .map(|i| Receipt {
            tenant: tenant.id,
            plugin_id: "good".into(),
            version: version.into(),
            kind: "route".into(),
            target: "/hello".into(),
            started_at: t.app.now_ms(),
            duration_us: 900,
            epochs: 1,
            peak_memory: 1 << 20,
            host_calls: 2,
            denials: 0,
            outcome: if i < failures { "error".into() } else { "ok".into() },
            error: (i < failures).then(|| "boom".to_owned()),
        })
        .collect();
    t.app.plugins.store().add_receipts(&receipts).await.unwrap();
}

/// Tenants with good 1.0.0 installed, at least one inside and one outside the 50 % cohort.
async fn fleet(t: &TestApp) -> (Vec<Tenant>, Vec<Tenant>) {
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for i in 0..40 {
        if !inside.is_empty() && !outside.is_empty() && inside.len() + outside.len() >= 4 {
            break;
        }
        let tenant = t.create_tenant(&format!("flotte{i}"), &format!("Flotte {i}")).await;
        install_good(t, &tenant).await;
        if in_cohort(&tenant.id.to_string(), "good", 50) { inside.push(tenant) } else { outside.push(tenant) }
    }
    assert!(!inside.is_empty() && !outside.is_empty(), "40 tenants fall on both sides of 50 %");
    (inside, outside)
}

async fn run_tick(t: &TestApp) {
    t.run_platform_job(socle_core::marketplace::rollout::TICK_JOB).await;
}

fn configure(s: &mut socle_core::config::Settings) {
    s.marketplace.rollout_step_secs = 60;
    s.marketplace.rollout_min_invocations = 10;
    s.marketplace.rollout_threshold_points = 2.0;
}

#[tokio::test]
async fn a_healthy_version_goes_to_its_cohort_then_to_everyone() {
    let t = TestApp::spawn_configured(configure).await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("good", |t| t)).await;
    let (inside, outside) = fleet(&t).await;
    partner.publish(&t, &package("good", version("1.1.0"))).await;

    // Bad requests are refused with what to fix.
    let (status, body) = partner.call(Method::POST, "/packages/good/1.1.0/rollout", Some(json!({ "steps": [50, 40] }))).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rollout")), "{body}");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("grow"), "{body}");
    let (status, body) = partner.call(Method::POST, "/packages/good/9.9.9/rollout", Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = partner.call(Method::POST, "/packages/good/1.0.0/rollout", Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing before 1.0.0 to roll out from: {body}");
    // Another partner's plugin looks like a missing one.
    let other = Partner::new(&t, "intrus", 3).await;
    let (status, _) = other.call(Method::POST, "/packages/good/1.1.0/rollout", Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Started at 50 %: the cohort is upgraded and told; the others stay on 1.0.0, even when
    // they ask for every upgrade.
    let (status, body) = partner.call(Method::POST, "/packages/good/1.1.0/rollout", Some(json!({ "steps": [50, 100] }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!((body["rollout"]["percent"].as_i64(), body["rollout"]["previous"].as_str()), (Some(50), Some("1.0.0")), "{body}");
    let (status, body) = partner.call(Method::POST, "/packages/good/1.1.0/rollout", Some(json!({}))).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::CONFLICT, Some("rollout_conflict")), "one rollout at a time: {body}");
    for tenant in &inside {
        assert_eq!(good_version(&t, tenant).await, "1.1.0", "{} is in the cohort", tenant.slug);
        let notes = t.app.marketplace.store().notifications(tenant.id, true, 10).await.unwrap();
        assert!(notes.iter().any(|n| n.kind == "updated" && n.version == "1.1.0"), "{notes:?}");
    }
    for tenant in &outside {
        upgrade_all(&t, tenant).await;
        assert_eq!(good_version(&t, tenant).await, "1.0.0", "{} is not in the cohort", tenant.slug);
        let notes = t.app.marketplace.store().notifications(tenant.id, false, 10).await.unwrap();
        assert!(notes.iter().all(|n| n.kind == "update_available"), "told it exists, not upgraded: {notes:?}");
    }

    // Paused, it stays; resumed, the gate waits for its step time and enough calls.
    let (status, body) = partner.call(Method::POST, "/packages/good/1.1.0/rollout/pause", None).await;
    assert_eq!((status, body["rollout"]["state"].as_str()), (StatusCode::OK, Some("paused")), "{body}");
    t.clock.advance(Duration::from_secs(61));
    traffic(&t, &inside[0], "1.1.0", 30, 0).await;
    run_tick(&t).await;
    assert_eq!(t.app.marketplace.store().rollouts(Some("good")).await.unwrap()[0].percent, 50, "paused");
    let (status, _) = partner.call(Method::POST, "/packages/good/1.1.0/rollout/resume", None).await;
    assert_eq!(status, StatusCode::OK);
    traffic(&t, &outside[0], "1.0.0", 100, 1).await;
    run_tick(&t).await;

    // Healthy (0 % against 1 %): promoted to 100 %, the rollout is complete and everyone has it.
    let (_, body) = partner.call(Method::GET, "/packages/good/1.1.0/rollout", None).await;
    assert_eq!((body["rollout"]["percent"].as_i64(), body["rollout"]["state"].as_str()), (Some(100), Some("completed")), "{body}");
    for tenant in inside.iter().chain(&outside) {
        assert_eq!(good_version(&t, tenant).await, "1.1.0", "{}", tenant.slug);
    }
}

#[tokio::test]
async fn an_unhealthy_version_is_halted_and_rolled_back_and_the_kill_switch_withdraws_one() {
    let t = TestApp::spawn_configured(configure).await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("good", |t| t)).await;
    let (inside, outside) = fleet(&t).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    install_good(&t, &acme).await;
    let (_, intruder) = tenant_with_admin(&t, "globex").await;
    partner.publish(&t, &package("good", version("1.1.0"))).await;
    let (status, body) = partner.call(Method::POST, "/packages/good/1.1.0/rollout", Some(json!({ "steps": [50, 100] }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // 1.1.0 fails a third of its calls where 1.0.0 failed 1 %: the gate halts it at once and
    // rolls the cohort back to 1.0.0, telling them why.
    traffic(&t, &outside[0], "1.0.0", 100, 1).await;
    traffic(&t, &inside[0], "1.1.0", 30, 10).await;
    run_tick(&t).await;
    let rollout = &t.app.marketplace.store().rollouts(Some("good")).await.unwrap()[0];
    assert_eq!(rollout.state, "halted");
    assert!(rollout.note.as_deref().unwrap().contains("error rate 33.3%"), "{rollout:?}");
    for tenant in &inside {
        assert_eq!(good_version(&t, tenant).await, "1.0.0", "{} rolled back", tenant.slug);
        let notes = t.app.marketplace.store().notifications(tenant.id, false, 10).await.unwrap();
        assert!(notes.iter().any(|n| n.kind == "rollback" && n.message.contains("1.1.0")), "{notes:?}");
        let (_, lock) = t.app.marketplace.current_lock(tenant.id).await.unwrap();
        assert_eq!(lock.get("good").unwrap().version.to_string(), "1.0.0", "the lockfile agrees");
    }
    // Halted, it is held back from everyone.
    upgrade_all(&t, &outside[0]).await;
    assert_eq!(good_version(&t, &outside[0]).await, "1.0.0");
    let (status, body) = partner.call(Method::POST, "/packages/good/1.1.0/rollout/advance", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // 1.2.0 goes to everyone at once, then an operator pulls the kill switch.
    partner.publish(&t, &package("good", version("1.2.0"))).await;
    let (status, body) = partner.call(Method::POST, "/packages/good/1.2.0/rollout", Some(json!({ "steps": [100] }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(good_version(&t, &acme).await, "1.2.0");
    let hash = socle_core::identity::secrets::hash_password(PASSWORD).await.unwrap();
    t.app.operators.create("ops@socle.fr", "Ops", &hash, &Actor::system("test")).await.unwrap();
    let ops = t.browser();
    let kill = |csrf: String, body: Value| {
        let request = ops.client().post(ops.url("/ops/marketplace/kill")).header("x-csrf-token", csrf).json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let withdraw = json!({ "plugin": "good", "version": "1.2.0", "reason": "fuite de données dans le filtre" });
    let (status, body) = kill(String::new(), withdraw.clone()).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")), "{body}");
    let login = ops.submit("/ops/login", "/ops/login", &[("email", "ops@socle.fr"), ("password", PASSWORD)]).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let csrf = Browser::form_csrf(&ops.get("/ops").await.text().await.unwrap()).unwrap();
    let (status, _) = kill("wrong".into(), withdraw.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = kill(csrf.clone(), json!({ "plugin": "good", "version": "1.2.0", "reason": " " })).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_rollout")), "{body}");
    let (status, body) = kill(csrf.clone(), json!({ "plugin": "good", "version": "7.0.0", "reason": "x" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = kill(csrf.clone(), withdraw).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["report"]["failed"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(body["report"]["rolled_back"].as_array().unwrap().len(), inside.len() + outside.len() + 1, "{body}");

    // Everyone is back on 1.0.0 (1.1.0 is halted, 1.2.0 killed and yanked).
    for tenant in inside.iter().chain(&outside).chain([&acme]) {
        assert_eq!(good_version(&t, tenant).await, "1.0.0", "{}", tenant.slug);
    }
    assert!(t.app.marketplace.store().version("good", "1.2.0").await.unwrap().unwrap().yanked.unwrap().contains("fuite"));
    let rollouts: Value = ops.get("/ops/marketplace/rollouts").await.json().await.unwrap();
    assert_eq!(rollouts["rollouts"][0]["state"], "killed", "{rollouts}");

    // acme's administrator reads why in the portal; globex sees none of it and cannot mark it.
    let (status, list) = admin.api(Method::GET, "acme", "/admin/notifications?unread=true", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let rollback = list["notifications"].as_array().unwrap().iter().find(|n| n["kind"] == "rollback").unwrap().clone();
    assert!(rollback["message"].as_str().unwrap().contains("fuite de données"), "{rollback}");
    let id = rollback["id"].as_str().unwrap();
    let (_, theirs) = intruder.api(Method::GET, "globex", "/admin/notifications", None).await;
    assert_eq!(theirs["notifications"], json!([]));
    let (status, body) = intruder.api(Method::POST, "globex", &format!("/admin/notifications/{id}/read"), None).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::NOT_FOUND, Some("notification_not_found")), "{body}");
    let (status, _) = admin.api(Method::POST, "acme", &format!("/admin/notifications/{id}/read"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = admin.api(Method::GET, "acme", "/admin/notifications?unread=true", None).await;
    assert!(after["notifications"].as_array().unwrap().iter().all(|n| n["id"] != id), "{after}");
    let (_, marked) = admin.api(Method::POST, "acme", "/admin/notifications/read", None).await;
    assert!(marked["marked"].is_u64(), "{marked}");
    let (_, none) = admin.api(Method::GET, "acme", "/admin/notifications?unread=true", None).await;
    assert_eq!((none["notifications"].clone(), none["unread"].as_i64()), (json!([]), Some(0)));
}
