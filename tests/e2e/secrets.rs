//! Secrets at rest: a plugin's secret setting and a TOTP seed are sealed in the database (the raw
//! rows hold no clear value) yet the plugin reads its setting and the second factor logs in; a value
//! copied to another tenant does not open; `socle secrets rotate` moves everything to a new key
//! (values from before sealing included), after which the old key can go.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_core::db::Scope;
use socle_core::identity::totp;
use socle_tenants::{Actor, Tenant, TenantId};
use socle_tests::{Browser, PASSWORD, TestApp};
use sqlx::types::Json;
use uuid::Uuid;

const TOKEN: &str = "jeton-operateur-42";
const OLD_SEED: &str = "JBSWY3DPEHPK3PXP";

fn key(id: &str, byte: u8) -> String {
    format!("{id}:{}", base64::engine::general_purpose::STANDARD.encode([byte; 32]))
}

/// A test app whose `secrets.keys` can change between restarts.
async fn spawn_with_keys(keys: &Arc<Mutex<Vec<String>>>) -> TestApp {
    let keys = keys.clone();
    TestApp::spawn_configured(move |settings| {
        settings.secrets.keys = keys.lock().unwrap().iter().map(|k| secrecy::SecretString::from(k.clone())).collect();
    })
    .await
}

/// A configuration file giving the `socle` command these keys.
struct ConfigFile(PathBuf);

impl ConfigFile {
    fn new(keys: &[String]) -> Self {
        let path = std::env::temp_dir().join(format!("socle-secrets-{}.toml", Uuid::new_v4().simple()));
        std::fs::write(&path, format!("[secrets]\nkeys = {}\n", serde_json::to_string(keys).unwrap())).unwrap();
        Self(path)
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

async fn socle(t: &TestApp, keys: &[String], args: &[&str]) -> String {
    let config = ConfigFile::new(keys);
    let mut all = vec!["--config", config.arg()];
    all.extend_from_slice(args);
    String::from_utf8(t.socle(&all).await.stdout).unwrap()
}

async fn raw_totp(t: &TestApp, tenant: TenantId, user: Uuid) -> String {
    t.app
        .db
        .reading(Scope::Tenant(tenant), "SELECT totp_secret FROM users WHERE tenant_id = $1 AND id = $2")
        .bind((tenant, user))
        .scalar()
        .await
        .unwrap()
        .unwrap()
}

async fn raw_setting(t: &TestApp, tenant: TenantId) -> Value {
    let stored: Json<Value> = t
        .app
        .db
        .reading(Scope::Tenant(tenant), "SELECT value FROM plugin_settings WHERE tenant_id = $1 AND plugin_id = 'good' AND key = 'api_token'")
        .bind(tenant)
        .scalar()
        .await
        .unwrap()
        .unwrap();
    stored.0
}

async fn write_raw_setting(t: &TestApp, tenant: TenantId, value: Value) {
    let changed = t
        .app
        .db
        .writing(Scope::Tenant(tenant), "UPDATE plugin_settings SET value = $2 WHERE tenant_id = $1 AND plugin_id = 'good' AND key = 'api_token'")
        .bind((tenant, Json(value)))
        .execute()
        .await
        .unwrap();
    assert_eq!(changed, 1);
}

/// Enrols the logged-in user's second factor through the page; returns the seed.
async fn enroll(t: &TestApp, browser: &Browser, slug: &str) -> String {
    let page = browser.get(&format!("/t/{slug}/account/mfa")).await.text().await.unwrap();
    let start = page.find("id=\"totp-secret\">").unwrap() + "id=\"totp-secret\">".len();
    let seed = page[start..start + 32].to_owned();
    let code = totp::code_at_step(&seed, totp::step_at(t.app.now_ms())).unwrap();
    let path = format!("/t/{slug}/account/mfa");
    let response = browser.submit(&path, &path, &[("code", &code)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "enrolment failed");
    seed
}

/// Logs in with password then TOTP code (on a fresh step); returns the browser.
async fn login_with_totp(t: &TestApp, slug: &str, email: &str, seed: &str) -> Browser {
    t.clock.advance(Duration::from_secs(60));
    let browser = t.browser();
    let response = browser.login(slug, email, PASSWORD).await;
    let mfa = format!("/t/{slug}/login/mfa");
    assert_eq!(response.headers().get("location").and_then(|l| l.to_str().ok()), Some(mfa.as_str()), "{email}: the code is asked");
    let code = totp::code_at_step(seed, totp::step_at(t.app.now_ms())).unwrap();
    let response = browser.submit(&mfa, &mfa, &[("code", &code)]).await;
    assert_eq!(response.headers().get("location").and_then(|l| l.to_str().ok()), Some(format!("/t/{slug}/").as_str()), "{email}: the code logs in");
    browser
}

/// What the plugin says of its secret setting in `slug`: (set, matches TOKEN).
async fn plugin_token(browser: &Browser, slug: &str) -> (bool, bool) {
    let (status, body) = browser.api(Method::GET, slug, &format!("/x/good/token?expect={TOKEN}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (body["set"].as_bool().unwrap(), body["matches"].as_bool().unwrap())
}

async fn tenant_with_admin(t: &TestApp, slug: &str) -> Tenant {
    let tenant = t.create_tenant(slug, &format!("{slug} SAS")).await;
    t.create_user(&tenant, &format!("claire@{slug}.fr"), "interne", &["direction"]).await;
    tenant
}

#[tokio::test]
async fn a_secret_setting_and_a_totp_seed_are_sealed_in_the_database_and_still_work() {
    let keys = Arc::new(Mutex::new(vec![key("k1", 1)]));
    let t = spawn_with_keys(&keys).await;
    let acme = tenant_with_admin(&t, "acme").await;
    let claire = t.app.users.by_email(acme.id, "claire@acme.fr").await.unwrap().unwrap().0.id;
    let admin = t.logged_in("acme", "claire@acme.fr").await;

    // The TOTP seed: sealed with the current key, bound to its user.
    let seed = enroll(&t, &admin, "acme").await;
    let stored = raw_totp(&t, acme.id, claire).await;
    assert!(stored.starts_with("v1:k1:") && !stored.contains(&seed), "the seed is sealed: {stored}");
    assert_eq!(t.app.users.credentials(acme.id, claire).await.unwrap().totp_secret.as_deref(), Some(seed.as_str()));
    assert!(!format!("{:?}", t.app.users.credentials(acme.id, claire).await.unwrap()).contains(&seed), "credentials never print their secrets");
    login_with_totp(&t, "acme", "claire@acme.fr", &seed).await;

    // The plugin's secret setting: sealed, masked in the answer, read by the plugin.
    t.install(&acme, "good").await;
    let (status, body) = admin.api(Method::PUT, "acme", "/admin/plugins/good/settings", Some(json!({ "api_token": TOKEN, "greeting": "Salut" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.to_string().contains(TOKEN), "{body}");
    let stored = raw_setting(&t, acme.id).await;
    assert!(stored.as_str().is_some_and(|s| s.starts_with("v1:k1:")) && !stored.to_string().contains(TOKEN), "the setting is sealed: {stored}");
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/hello", None).await.1["greeting"], "Salut", "other settings stay in clear");
    assert_eq!(plugin_token(&admin, "acme").await, (true, true), "the plugin reads its secret");
    let journal = t.app.audit.list(acme.id, &Default::default()).await.unwrap();
    assert!(
        journal.iter().all(|e| !serde_json::to_string(e).unwrap().contains(TOKEN) && !serde_json::to_string(e).unwrap().contains(&seed)),
        "never journalled"
    );

    // Copied into another tenant's row, it does not open there.
    let bravo = tenant_with_admin(&t, "bravo").await;
    t.install(&bravo, "good").await;
    t.app.plugins.store().set_setting(bravo.id, "good", "api_token", &json!("autre"), true, &Actor::system("test")).await.unwrap();
    write_raw_setting(&t, bravo.id, stored).await;
    let error = t.app.plugins.store().setting(bravo.id, "good", "api_token").await.unwrap_err().to_string();
    assert!(error.contains("good.api_token") && error.contains("does not open with key `k1`") && !error.contains(TOKEN), "{error}");
    let bravo_admin = t.logged_in("bravo", "claire@bravo.fr").await;
    assert_eq!(plugin_token(&bravo_admin, "bravo").await, (false, false), "the plugin of bravo does not get acme's token");
    // Its administrator still reaches the plugin's page to enter the secret again.
    let (status, detail) = bravo_admin.api(Method::GET, "bravo", "/admin/plugins/good", None).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(bravo_admin.get("/t/bravo/admin/plugins/good").await.status(), StatusCode::OK);
    let (status, _) = bravo_admin.api(Method::PUT, "bravo", "/admin/plugins/good/settings", Some(json!({ "api_token": TOKEN }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(plugin_token(&bravo_admin, "bravo").await, (true, true));
}

#[tokio::test]
async fn rotation_reseals_everything_with_the_new_key_and_the_old_one_can_go() {
    let keys = Arc::new(Mutex::new(vec![key("k1", 1)]));
    let mut t = spawn_with_keys(&keys).await;
    let acme = tenant_with_admin(&t, "acme").await;
    let lucas = t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let seed = enroll(&t, &admin, "acme").await;
    t.install(&acme, "good").await;
    let (status, _) = admin.api(Method::PUT, "acme", "/admin/plugins/good/settings", Some(json!({ "api_token": TOKEN }))).await;
    assert_eq!(status, StatusCode::OK);

    // Rows written before sealing existed: a seed and a secret setting in clear.
    t.app.users.set_totp(acme.id, lucas, Some(OLD_SEED), true, &Actor::system("test")).await.unwrap();
    t.app
        .db
        .writing(Scope::Tenant(acme.id), "UPDATE users SET totp_secret = $3 WHERE tenant_id = $1 AND id = $2")
        .bind((acme.id, lucas, OLD_SEED))
        .execute()
        .await
        .unwrap();
    let bravo = tenant_with_admin(&t, "bravo").await;
    t.install(&bravo, "good").await;
    t.app.plugins.store().set_setting(bravo.id, "good", "api_token", &json!("placeholder"), true, &Actor::system("test")).await.unwrap();
    write_raw_setting(&t, bravo.id, json!(TOKEN)).await;
    login_with_totp(&t, "acme", "lucas@acme.fr", OLD_SEED).await;
    assert_eq!(plugin_token(&t.logged_in("bravo", "claire@bravo.fr").await, "bravo").await, (true, true), "values in clear still read");

    let status = socle(&t, &[key("k1", 1)], &["secrets", "status"]).await;
    assert!(status.contains("totp_seeds: 2 stored — k1: 1, in clear: 1"), "{status}");
    assert!(status.contains("plugin_secret_settings: 2 stored — k1: 1, in clear: 1"), "{status}");
    assert!(status.contains("2 to seal with key k1: run `socle secrets rotate`"), "{status}");

    // A new key first, the old one kept to open: everything still works before the rotation.
    *keys.lock().unwrap() = vec![key("k2", 2), key("k1", 1)];
    t = t.restart().await;
    login_with_totp(&t, "acme", "claire@acme.fr", &seed).await;

    let rotated = socle(&t, &[key("k2", 2), key("k1", 1)], &["secrets", "rotate"]).await;
    assert!(rotated.contains("totp_seeds: 2 re-sealed with key k2 (2 stored)"), "{rotated}");
    assert!(rotated.contains("plugin_secret_settings: 2 re-sealed with key k2 (2 stored)"), "{rotated}");
    assert!(rotated.contains("every stored secret is sealed with key k2"), "{rotated}");
    let again = socle(&t, &[key("k2", 2), key("k1", 1)], &["secrets", "rotate"]).await;
    assert!(again.contains("totp_seeds: 0 re-sealed") && again.contains("plugin_secret_settings: 0 re-sealed"), "a second run changes nothing: {again}");
    let status: Value = serde_json::from_str(&socle(&t, &[key("k2", 2), key("k1", 1)], &["secrets", "status", "--json"]).await).unwrap();
    assert_eq!(
        status["secrets"],
        json!({ "plugin_secret_settings": { "sealed": { "k2": 2 }, "clear": 0 }, "totp_seeds": { "sealed": { "k2": 2 }, "clear": 0 } }),
        "{status}"
    );
    for user in [t.app.users.by_email(acme.id, "claire@acme.fr").await.unwrap().unwrap().0.id, lucas] {
        let stored = raw_totp(&t, acme.id, user).await;
        assert!(stored.starts_with("v1:k2:") && !stored.contains(OLD_SEED), "{stored}");
    }
    for tenant in [acme.id, bravo.id] {
        let stored = raw_setting(&t, tenant).await;
        assert!(stored.as_str().is_some_and(|s| s.starts_with("v1:k2:")) && !stored.to_string().contains(TOKEN), "{stored}");
    }

    // The old key removed: nothing needed it any more.
    *keys.lock().unwrap() = vec![key("k2", 2)];
    t = t.restart().await;
    login_with_totp(&t, "acme", "claire@acme.fr", &seed).await;
    login_with_totp(&t, "acme", "lucas@acme.fr", OLD_SEED).await;
    assert_eq!(plugin_token(&t.logged_in("bravo", "claire@bravo.fr").await, "bravo").await, (true, true));
    assert_eq!(plugin_token(&login_with_totp(&t, "acme", "claire@acme.fr", &seed).await, "acme").await, (true, true));
    let status = socle(&t, &[key("k2", 2)], &["secrets", "status"]).await;
    assert!(status.contains("every stored secret is sealed with key k2") && !status.contains("k1"), "{status}");
}
