//! Pricing and revenue end to end: a paid plugin installs only once its price is accepted and
//! runs only for tenants entitled to it; the monthly charge writes an append-only ledger (monthly
//! subscriptions, per-use calls counted from the receipts); the partner's statement splits each
//! payment between partner, platform (by commission tiers) and the white-label reseller, in
//! cents, as JSON and CSV — its own plugins only.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_core::db::{Db, Scope};
use socle_core::marketplace::billing;
use socle_core::marketplace::{Change, Target};
use socle_core::plugins::store::Receipt;
use socle_tenants::{Actor, PluginWant};
use socle_tests::TestApp;

use super::marketplace::{PUBLISHER, Partner, package, tenant_with_admin};

fn priced(pricing: &'static str) -> impl Fn(String) -> String {
    move |text| format!("{text}\n[pricing]\n{pricing}\n")
}

async fn ledger_is_append_only(t: &TestApp) -> Result<u64, sqlx::Error> {
    match &t.app.db {
        Db::Sqlite(pool) => sqlx::query("UPDATE marketplace_ledger SET amount_cents = 0").execute(pool).await.map(|r| r.rows_affected()),
        Db::Postgres { app, .. } => {
            let mut tx = socle_core::db::postgres::begin(app, Scope::Platform).await?;
            sqlx::query("DELETE FROM marketplace_ledger").execute(&mut *tx).await.map(|r| r.rows_affected())
        }
    }
}

#[tokio::test]
async fn paid_plugins_are_entitled_charged_and_shared_three_ways() {
    let t = TestApp::spawn().await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("good", priced("model = \"monthly\"\ncents = 4900"))).await;
    partner.publish(&t, &package("bench", priced("model = \"per_use\"\nmillicents = 500"))).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    let (globex, reseller_admin) = tenant_with_admin(&t, "globex").await;
    t.app.marketplace.store().set_reseller(globex.id, Some("revendeur")).await.unwrap();

    // Entitlement at install: the price must be accepted.
    let (status, body) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.to_string().contains("good"), "{body}");
    assert!(t.app.plugins.store().installs(acme.id).await.unwrap().is_empty());
    for (browser, slug, plugin) in [(&admin, "acme", "good"), (&reseller_admin, "globex", "good"), (&reseller_admin, "globex", "bench")] {
        let (status, body) = browser.api(Method::POST, slug, "/admin/marketplace/install", Some(json!({ "plugin": plugin, "accept_price": true }))).await;
        assert_eq!(status, StatusCode::CREATED, "{slug} {plugin}: {body}");
    }
    let (status, _) = admin.api(Method::GET, "acme", "/x/good/hello", None).await;
    assert_eq!(status, StatusCode::OK, "entitled, it runs");

    // Entitlement at call: a lock restored without the accepted price does not run.
    let (initech, intruder) = tenant_with_admin(&t, "initech").await;
    let (_, lock) = t.app.marketplace.current_lock(acme.id).await.unwrap();
    let wants = [("good".to_owned(), PluginWant::any())].into();
    let change = Change { kind: "apply", summary: "restore a lock".into(), target: Target::Exact { wants, lock } };
    t.app.marketplace.apply(&Arc::new(initech.clone()), &change, &Actor::system("test")).await.unwrap();
    let (status, body) = intruder.api(Method::GET, "initech", "/x/good/hello", None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    let detail = body["errors"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("no subscription in this tenant") && detail.contains("initech"), "{body}");

    // Usage comes from the receipts (lifecycle calls are not a use).
    let now = t.app.now_ms();
    let receipt = |kind: &str| Receipt {
        tenant: globex.id,
        plugin_id: "bench".into(),
        version: "1.0.0".into(),
        kind: kind.into(),
        target: "t".into(),
        started_at: now,
        duration_us: 10,
        epochs: 0,
        peak_memory: 0,
        host_calls: 0,
        denials: 0,
        outcome: "ok".into(),
        error: None,
    };
    let mut receipts: Vec<Receipt> = (0..1000).map(|_| receipt("route")).collect();
    receipts.push(receipt("lifecycle"));
    t.app.plugins.store().add_receipts(&receipts).await.unwrap();

    // The month is charged once, however often the job runs.
    let period = billing::month_of(now);
    let added = t.app.marketplace.charge_month(&period).await.unwrap();
    let mut lines: Vec<(String, String, i64, i64)> = added.iter().map(|e| (e.plugin_id.clone(), e.kind.clone(), e.quantity, e.amount_cents)).collect();
    lines.sort();
    let bench_calls = added.iter().find(|e| e.plugin_id == "bench").map_or(0, |e| e.quantity);
    assert_eq!(bench_calls, 1000, "{lines:?}");
    assert_eq!(lines.iter().filter(|l| l.0 == "good").count(), 2, "acme and globex; initech is not entitled: {lines:?}");
    assert!(t.app.marketplace.charge_month(&period).await.unwrap().is_empty(), "charging twice adds nothing");
    assert!(ledger_is_append_only(&t).await.is_err(), "the database refuses to change the ledger");

    // The partner's statement: 30 % commission under 10 000 €, 10 % of globex's payments to its
    // reseller out of it, every part adding up to the cent.
    let (status, body) = partner.call(Method::GET, &format!("/statements/{period}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = &body["statement"];
    let total = &s["total"];
    let gross = 2 * 4900 + 500;
    assert_eq!(total["gross"].as_u64(), Some(gross), "{s}");
    assert_eq!(total["platform"].as_u64().unwrap() + total["reseller"].as_u64().unwrap(), gross * 3000 / 10_000, "{s}");
    assert_eq!(total["partner"].as_u64().unwrap() + total["platform"].as_u64().unwrap() + total["reseller"].as_u64().unwrap(), gross);
    let resold: Vec<&Value> = s["lines"].as_array().unwrap().iter().filter(|l| l["reseller"] == "revendeur").collect();
    assert_eq!(resold.len(), 2, "globex's two plugins: {s}");
    assert_eq!(resold.iter().find(|l| l["plugin"] == "good").unwrap()["split"]["reseller"], 490);
    assert!(!body.to_string().contains(&acme.id.to_string()), "no tenant is named");

    let csv = reqwest::Client::new().get(format!("{}/api/v1/partners/statements/{period}/csv", t.base_url())).bearer_auth(&partner.token).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("period,publisher,plugin,kind,quantity,reseller,currency,gross,partner,platform,reseller_share\r\n"), "{text}");
    assert!(text.contains(&format!("{period},socle-tests,good,subscription,1,revendeur,EUR,49.00,34.30,9.80,4.90\r\n")), "{text}");
    assert_eq!(text.lines().count(), 1 + 3 + 1, "header, three lines, total: {text}");

    // Bad input, and another partner's statement has none of it.
    let (status, body) = partner.call(Method::GET, "/statements/2026-13", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let other = Partner::new(&t, "intrus", 3).await;
    let (_, theirs) = other.call(Method::GET, &format!("/statements/{period}"), None).await;
    assert_eq!((theirs["statement"]["lines"].clone(), theirs["statement"]["total"]["gross"].as_u64()), (json!([]), Some(0)), "{theirs}");
}
