//! What an uninstall leaves behind: the plugin's data exported as NDJSON the tenant's
//! administrator downloads, kept for the grace period — a reinstall finds it again — then purged
//! by a durable job; another tenant sees none of it.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_tests::{Browser, TestApp};

use super::marketplace::{PUBLISHER, Partner, installed, package, tenant_with_admin};

const DAY: u64 = 86_400;

fn ndjson(export: &Value) -> Vec<Value> {
    export.as_str().unwrap_or_else(|| panic!("not NDJSON: {export}")).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

async fn notes(admin: &Browser) -> (StatusCode, Vec<String>) {
    let (status, page) = admin.api(Method::GET, "acme", "/records/good.note", None).await;
    let mut titles: Vec<String> =
        page["items"].as_array().map(|items| items.iter().map(|i| i["data"]["title"].as_str().unwrap().to_owned()).collect()).unwrap_or_default();
    titles.sort();
    (status, titles)
}

async fn retained(admin: &Browser) -> Vec<Value> {
    let (status, body) = admin.api(Method::GET, "acme", "/admin/marketplace/retained", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["retained"].as_array().unwrap().clone()
}

#[tokio::test]
async fn uninstall_exports_the_data_keeps_it_for_the_grace_period_then_purges_it() {
    let t = TestApp::spawn_configured(|s| s.marketplace.retention_days = 10).await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("good", |t| t)).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    let (_, intruder) = tenant_with_admin(&t, "globex").await;

    let (status, body) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for title in ["première", "seconde"] {
        let (status, body) = admin.api(Method::POST, "acme", "/records/good.note", Some(json!({ "title": title }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // The action hook counts the notes in the plugin's kv.
    t.worker().run_until_idle().await.unwrap();

    // Uninstall: the data is exported and kept; the collection leaves the API.
    let (status, removed) = admin.api(Method::POST, "acme", "/admin/marketplace/uninstall", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    let kept = removed["retained"][0].clone();
    assert_eq!(kept["plugin_id"], "good", "{removed}");
    assert_eq!(kept["status"], "kept");
    assert_eq!(kept["records"], 2);
    assert_eq!(kept["kv_keys"], 2, "`created` and `installed`: {kept}");
    assert_eq!(kept["collections"], json!(["good.note"]));
    assert_eq!(kept["purge_at"].as_i64().unwrap() - kept["created_at"].as_i64().unwrap(), 10 * 86_400_000, "the grace period is the setting");
    let first = kept["id"].as_str().unwrap().to_owned();
    assert!(installed(&t, &acme).await.is_empty());
    assert_eq!(notes(&admin).await.0, StatusCode::NOT_FOUND);

    // The administrator downloads the export.
    let response = admin.get(&format!("/t/acme/api/v1/admin/marketplace/retained/{first}/export")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("acme-good-1.0.0.ndjson"));
    let lines = ndjson(&Value::String(response.text().await.unwrap()));
    assert_eq!(lines[0]["type"], "export");
    assert_eq!((lines[0]["tenant"].as_str(), lines[0]["plugin"].as_str(), lines[0]["records"].as_i64()), (Some("acme"), Some("good"), Some(2)));
    let titles: Vec<&str> = lines.iter().filter(|l| l["type"] == "record").map(|l| l["data"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Première", "Seconde"]);
    let kv: Vec<(&str, &str)> = lines.iter().filter(|l| l["type"] == "kv").map(|l| (l["key"].as_str().unwrap(), l["value_text"].as_str().unwrap())).collect();
    assert_eq!(kv, [("created", "2"), ("installed", "yes")]);

    // Another tenant sees none of it and cannot download it; an unknown id is refused clearly.
    let (_, theirs) = intruder.api(Method::GET, "globex", "/admin/marketplace/retained", None).await;
    assert_eq!(theirs["retained"], json!([]));
    let (status, body) = intruder.api(Method::GET, "globex", &format!("/admin/marketplace/retained/{first}/export"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["errors"][0]["code"], "export_not_found");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("globex"), "{body}");
    let (status, body) = admin.api(Method::GET, "acme", "/admin/marketplace/retained/nope/export", None).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::NOT_FOUND, Some("export_not_found")));

    // Reinstalled within the grace period: the data is back, and the purge date passing does not
    // touch it.
    t.clock.advance(Duration::from_secs(5 * DAY));
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let (status, body) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(notes(&admin).await, (StatusCode::OK, vec!["Première".to_owned(), "Seconde".to_owned()]));
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/count", None).await.1["created"], 2, "its kv is back too");
    assert_eq!(retained(&admin).await[0]["status"], "restored");
    t.clock.advance(Duration::from_secs(6 * DAY));
    t.worker().run_until_idle().await.unwrap();
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    assert_eq!(notes(&admin).await.1.len(), 2, "a restored retention is never purged");

    // Uninstalled again and left past the grace period: the job purges the data and the export.
    let (status, removed) = admin.api(Method::POST, "acme", "/admin/marketplace/uninstall", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    let second = removed["retained"][0]["id"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    t.worker().run_until_idle().await.unwrap();
    assert_eq!(retained(&admin).await[0]["status"], "kept", "not before its date");
    t.clock.advance(Duration::from_secs(10 * DAY + 1));
    t.worker().run_until_idle().await.unwrap();
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let after = retained(&admin).await;
    assert_eq!((after[0]["id"].as_str(), after[0]["status"].as_str()), (Some(second.as_str()), Some("purged")), "{after:?}");
    assert!(after[0]["closed_at"].is_i64());
    let (status, body) = admin.api(Method::GET, "acme", &format!("/admin/marketplace/retained/{second}/export"), None).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(body["errors"][0]["code"], "export_purged");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("plugin good in tenant acme"), "{body}");

    // Installed after the purge, the plugin starts from nothing.
    let (status, body) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(notes(&admin).await, (StatusCode::OK, vec![]));
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/count", None).await.1["created"], 0);
    // globex's nothing was touched, and acme's journal tells the story.
    let (_, journal) = admin.api(Method::GET, "acme", "/admin/marketplace/operations", None).await;
    let kinds: Vec<&str> = journal["operations"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["install", "uninstall", "install", "uninstall", "install"]);
}

#[tokio::test]
async fn the_hourly_sweep_purges_every_retention_due_even_without_its_own_job() {
    let t = TestApp::spawn_configured(|s| s.marketplace.retention_days = 1).await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("good", |t| t)).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    let (status, body) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = admin.api(Method::POST, "acme", "/records/good.note", Some(json!({ "title": "gardée" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = admin.api(Method::POST, "acme", "/admin/marketplace/uninstall", Some(json!({ "plugin": "good" }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(installed(&t, &acme).await, Vec::<(String, String)>::new());

    // The platform-wide sweep (what the hourly schedule runs, without a retention id) finds the
    // retention due and purges it, whether or not its own job ever runs.
    t.clock.advance(Duration::from_secs(DAY + 1));
    t.run_platform_job(socle_core::marketplace::retention::PURGE_JOB).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    assert_eq!(retained(&admin).await[0]["status"], "purged");
    let data = t.app.marketplace.store().plugin_data(acme.id, "good", &["good.note".to_owned()]).await.unwrap();
    assert_eq!(data, Default::default(), "records and kv are gone");
}
