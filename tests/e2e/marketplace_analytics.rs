//! Partner analytics: a publisher sees aggregates of its own plugins — installs and uninstalls per
//! day, active tenants, versions in use, error rate and p95 duration from the receipts,
//! downloads — and nothing of another publisher's.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use socle_core::marketplace::{Change, Target, apply};
use socle_core::plugins::store::Receipt;
use socle_marketplace::resolve::Upgrade;
use socle_tenants::{Actor, PluginWant, Tenant};
use socle_tests::TestApp;

use super::marketplace::{PUBLISHER, Partner, package, version};

async fn change(t: &TestApp, tenant: &Tenant, kind: &'static str, edit: impl FnOnce(&mut apply::Wants), upgrade: Upgrade) {
    let mut wants = t.app.marketplace.wants(tenant.id).await.unwrap();
    edit(&mut wants);
    let change = Change { kind, summary: kind.into(), target: Target::Resolve { wants, upgrade, locked: None } };
    t.app.marketplace.apply(&Arc::new(tenant.clone()), &change, &Actor::system("test")).await.unwrap();
}

#[tokio::test]
async fn a_partner_sees_aggregates_of_its_own_plugins_only() {
    let t = TestApp::spawn().await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("good", |t| t)).await;
    let mut tenants = Vec::new();
    for slug in ["alpha", "beta", "gamma"] {
        let tenant = t.create_tenant(slug, slug).await;
        change(
            &t,
            &tenant,
            "install",
            |w| {
                w.insert("good".into(), PluginWant::any());
            },
            Upgrade::Only(["good".into()].into()),
        )
        .await;
        tenants.push(tenant);
    }
    partner.publish(&t, &package("good", version("1.1.0"))).await;
    change(&t, &tenants[0], "upgrade", |_| {}, Upgrade::All).await;
    change(
        &t,
        &tenants[2],
        "uninstall",
        |w| {
            w.remove("good");
        },
        Upgrade::None,
    )
    .await;
    // 100 calls of 1.0.0 taking 1..=100 µs, 4 of them failing; 10 calls of 1.1.0, none failing.
    let mut receipts = Vec::new();
    let calls = (1..=100).map(|i| (&tenants[1], "1.0.0", i)).chain((1..=10).map(|i| (&tenants[0], "1.1.0", 100 + i)));
    for (tenant, v, i) in calls {
        receipts.push(Receipt {
            tenant: tenant.id,
            plugin_id: "good".into(),
            version: v.into(),
            kind: "route".into(),
            target: "/hello".into(),
            started_at: t.app.now_ms(),
            duration_us: i,
            epochs: 1,
            peak_memory: 1 << 20,
            host_calls: 1,
            denials: 0,
            outcome: if v == "1.0.0" && i <= 4 { "trap".into() } else { "ok".into() },
            error: None,
        });
    }
    t.app.plugins.store().add_receipts(&receipts).await.unwrap();

    let (status, body) = partner.call(Method::GET, "/packages/good/analytics?days=7", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let a = &body["analytics"];
    assert_eq!(a["days"], 7);
    assert_eq!(a["active_tenants"], 2, "{a}");
    let daily = a["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 7);
    let today = daily.last().unwrap();
    assert_eq!((today["installs"].as_i64(), today["uninstalls"].as_i64(), today["upgrades"].as_i64()), (Some(3), Some(1), Some(1)), "{today}");
    assert_eq!(a["downloads"], 4, "three installs and an upgrade fetched the package: {a}");
    assert_eq!(a["invocations"], 110);
    assert_eq!(a["p95_us"], 105, "{a}");
    let versions = a["versions"].as_array().unwrap();
    assert_eq!(versions[0]["version"], "1.1.0");
    assert_eq!((versions[0]["tenants"].as_i64(), versions[0]["invocations"].as_i64(), versions[0]["error_rate"].as_f64()), (Some(1), Some(10), Some(0.0)));
    assert_eq!((versions[1]["version"].as_str(), versions[1]["tenants"].as_i64()), (Some("1.0.0"), Some(1)));
    assert_eq!((versions[1]["error_rate"].as_f64(), versions[1]["p95_us"].as_i64()), (Some(0.04), Some(95)), "{versions:?}");
    assert!(!body.to_string().contains("alpha") && !body.to_string().contains(&tenants[0].id.to_string()), "no tenant is named: {body}");

    // Bad input, and another publisher's plugin.
    let (status, body) = partner.call(Method::GET, "/packages/good/analytics?days=0", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = partner.call(Method::GET, "/packages/good/analytics?dayz=3", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let other = Partner::new(&t, "intrus", 3).await;
    let (status, body) = other.call(Method::GET, "/packages/good/analytics", None).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::NOT_FOUND, Some("plugin_not_found")), "{body}");
}
