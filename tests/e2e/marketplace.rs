//! The marketplace end to end: a partner publishes signed packages through the partner API and
//! sees each failing check say what to fix; an operator lists them; a tenant administrator
//! installs from the catalogue a resolved set (dependencies included), upgrades with new
//! capabilities going to the approval inbox, rolls back and uninstalls — each atomically, with
//! another tenant unable to touch any of it.

use std::collections::BTreeMap;

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_marketplace::manifest::Manifest;
use socle_marketplace::package::{Digest, Package};
use socle_marketplace::signing::SecretKey;
use socle_tenants::Tenant;
use socle_tests::{Browser, TestApp, fixture};

pub(crate) const PUBLISHER: &str = "socle-tests";

/// A package of fixture `name`'s component with its manifest edited by `edit` (new version,
/// new capability…): the component does not change, which is all these tests need.
pub(crate) fn package(name: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    let (component, _) = fixture(name);
    let text = std::fs::read_to_string(format!("{}/fixtures/{name}/socle.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let text = edit(text);
    let manifest = Manifest::parse(&text).unwrap();
    let mut assets = BTreeMap::new();
    assets.insert("icon.svg".to_owned(), b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec());
    Package { manifest, manifest_text: text, component, readme: Some(format!("# {name}\n")), changelog: Some("- first\n".into()), assets }.pack()
}

pub(crate) fn version(v: &str) -> impl Fn(String) -> String {
    let v = v.to_owned();
    move |text| text.replacen("version = \"1.0.0\"", &format!("version = \"{v}\""), 1)
}

pub(crate) struct Partner {
    pub(crate) token: String,
    key: SecretKey,
    http: reqwest::Client,
    base: String,
}

impl Partner {
    pub(crate) async fn new(t: &TestApp, id: &str, seed: u8) -> Self {
        let (_, token) = t.app.marketplace.create_publisher(id, "Socle Tests", "partners@socle.test").await.unwrap();
        let partner = Self { token, key: SecretKey::from_seed([seed; 32]), http: reqwest::Client::new(), base: t.base_url() };
        let (status, body) = partner.call(Method::POST, "/keys", Some(json!({ "public_key": partner.key.public().to_string() }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        partner
    }

    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}/api/v1/partners{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn submit_signed_by(&self, archive: &[u8], key: &SecretKey) -> (StatusCode, Value) {
        let signature = key.sign(&Digest::of(archive)).to_json();
        let response = self
            .http
            .post(format!("{}/api/v1/partners/packages", self.base))
            .bearer_auth(&self.token)
            .header("x-socle-signature", base64::engine::general_purpose::STANDARD.encode(signature))
            .body(archive.to_vec())
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn submit(&self, archive: &[u8]) -> (StatusCode, Value) {
        self.submit_signed_by(archive, &self.key).await
    }

    /// Submits and lists (as the operator would).
    pub(crate) async fn publish(&self, t: &TestApp, archive: &[u8]) {
        let (status, body) = self.submit(archive).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let report = &body["report"];
        if report["outcome"] == "in_review" {
            let (plugin, version) = (report["plugin"].as_str().unwrap(), report["version"].as_str().unwrap());
            t.operator_approves(plugin, version).await;
        }
    }
}

pub(crate) async fn tenant_with_admin(t: &TestApp, slug: &str) -> (Tenant, Browser) {
    let tenant = t.create_tenant(slug, &format!("{slug} SAS")).await;
    t.create_user(&tenant, &format!("claire@{slug}.fr"), "interne", &["direction"]).await;
    let admin = t.logged_in(slug, &format!("claire@{slug}.fr")).await;
    (tenant, admin)
}

fn failed_check(body: &Value) -> (String, String) {
    let check = body["report"]["checks"].as_array().unwrap().iter().find(|c| c["passed"] == false).unwrap_or_else(|| panic!("no failed check: {body}"));
    (check["check"].as_str().unwrap().to_owned(), check["detail"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_partner_publishes_a_signed_package_and_each_failing_check_says_what_to_fix() {
    let t = TestApp::spawn().await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    let (_, admin) = tenant_with_admin(&t, "acme").await;

    // Without a token, or on a tenant host, there is no partner API.
    let anonymous = reqwest::Client::new().get(format!("{}/api/v1/partners/me", t.base_url())).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let on_tenant = t.browser().on_host(Method::GET, "acme.localhost", "/api/v1/partners/me").bearer_auth(&partner.token).send().await.unwrap();
    assert_eq!(on_tenant.status(), StatusCode::NOT_FOUND);

    // A good submission: every check passes, the first version waits for review.
    let archive = package("good", |t| t);
    assert_eq!(archive, package("good", |t| t), "packing is reproducible");
    let (status, body) = partner.submit(&archive).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let report = &body["report"];
    assert_eq!(report["outcome"], "in_review", "{report}");
    let checks: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["check"].as_str().unwrap()).collect();
    assert_eq!(checks, ["archive", "signature", "manifest", "version", "host_api", "capabilities", "smoke_run"]);
    assert!(report["risk"].as_i64().unwrap() > 0, "mail and http make it risky: {report}");
    assert!(report["checks"][5]["detail"].as_str().unwrap().contains("http:localhost"), "{report}");
    assert!(report["checks"][6]["detail"].as_str().unwrap().contains("uninstalled"), "{report}");
    assert!(t.app.tenants.list().await.unwrap().iter().all(|t| !t.slug.as_str().starts_with("smoke-")), "the smoke tenant is gone");

    // Not in the catalogue until an operator lists it.
    let (_, catalogue) = admin.api(Method::GET, "acme", "/admin/marketplace/catalogue", None).await;
    assert_eq!(catalogue["plugins"], json!([]));
    t.operator_approves("good", "1.0.0").await;
    let (_, catalogue) = admin.api(Method::GET, "acme", "/admin/marketplace/catalogue?q=exemplaire", None).await;
    assert_eq!(catalogue["plugins"][0]["id"], "good", "{catalogue}");
    let (_, none) = admin.api(Method::GET, "acme", "/admin/marketplace/catalogue?q=telecom", None).await;
    assert_eq!(none["plugins"], json!([]));
    let (status, listing) = admin.api(Method::GET, "acme", "/admin/marketplace/plugins/good", None).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    assert_eq!(listing["assets"], json!(["icon.svg"]));
    assert_eq!(listing["compatibility"]["compatible"], true, "{listing}");
    let permission = listing["permissions"].as_array().unwrap().iter().find(|p| p["key"] == "http:localhost").unwrap();
    assert_eq!(permission["reason"], "Interroger l'API opérateur locale");
    let icon = admin.get("/t/acme/api/v1/admin/marketplace/plugins/good/assets/icon.svg").await;
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"), "partner SVG never runs script");

    // Versions are immutable.
    let (status, body) = partner.submit(&archive).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (check, detail) = failed_check(&body);
    assert_eq!(check, "version");
    assert!(detail.contains("bump the version"), "{detail}");

    // Signed by a key that is not the publisher's current one.
    let stranger = SecretKey::from_seed([9; 32]);
    let (status, body) = partner.submit_signed_by(&package("good", version("1.0.1")), &stranger).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(failed_check(&body).0, "signature", "{body}");

    // A manifest claiming another publisher.
    let (status, body) =
        partner.submit(&package("good", |t| t.replace("version = \"1.0.0\"", "version = \"1.0.2\"").replace("socle-tests", "someone-else"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (check, detail) = failed_check(&body);
    assert_eq!(check, "manifest");
    assert!(detail.contains("fix [plugin].publisher"), "{detail}");

    // A hostile archive: a path escaping the package.
    let (status, body) = partner.submit(&hostile_archive()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(failed_check(&body).0, "archive", "{body}");

    // A manifest for a host API this server does not serve.
    let future = package("good", |t| t.replacen("version = \"1.0.0\"", "version = \"1.0.3\"", 1).replace("api = \"^1.0\"", "api = \"^2.0\""));
    let (status, body) = partner.submit(&future).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (check, detail) = failed_check(&body);
    assert_eq!(check, "host_api");
    assert!(detail.contains("matches none of the host API versions"), "{detail}");

    // An update asking for nothing new is listed by the auto-approve policy.
    let (status, body) = partner.submit(&package("good", version("1.1.0"))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["report"]["outcome"], "listed", "{body}");

    // The partner sees its versions with their reports; another partner cannot touch them.
    let (_, versions) = partner.call(Method::GET, "/packages", None).await;
    assert_eq!(versions["versions"].as_array().unwrap().len(), 2, "refused submissions are not stored: {versions}");
    let other = Partner::new(&t, "intrus", 3).await;
    let (status, _) = other.call(Method::POST, "/packages/good/1.0.0/yank", Some(json!({ "message": "mine now" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = other.submit(&package("good", |t| t.replace("version = \"1.0.0\"", "version = \"9.0.0\"").replace("socle-tests", "intrus"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(failed_check(&body).1.contains("belongs to publisher socle-tests"), "{body}");
}

fn hostile_archive() -> Vec<u8> {
    use std::io::Write as _;
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in [("socle.toml", b"x".as_slice()), ("../escape.txt", b"gotcha".as_slice())] {
        let mut header = tar::Header::new_ustar();
        header.as_mut_bytes()[..path.len()].copy_from_slice(path.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

pub(crate) async fn installed(t: &TestApp, tenant: &Tenant) -> Vec<(String, String)> {
    t.app.plugins.store().installs(tenant.id).await.unwrap().into_iter().map(|i| (i.plugin_id, i.version)).collect()
}

#[tokio::test]
async fn a_tenant_installs_a_resolved_set_upgrades_through_the_inbox_rolls_back_and_uninstalls() {
    let t = TestApp::spawn().await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("good", |t| t)).await;
    partner.publish(&t, &package("addon", |t| t)).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    let (_, intruder) = tenant_with_admin(&t, "globex").await;

    // The plan shows the whole set before anything moves.
    let (status, plan) = admin.api(Method::POST, "acme", "/admin/marketplace/plan", Some(json!({ "plugin": "addon" }))).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let steps: Vec<(&str, &str)> = plan["steps"].as_array().unwrap().iter().map(|s| (s["plugin"].as_str().unwrap(), s["action"].as_str().unwrap())).collect();
    assert_eq!(steps, [("good", "install"), ("addon", "install")], "dependencies first: {plan}");
    assert!(installed(&t, &acme).await.is_empty());

    let (status, done) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "addon" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    assert_eq!(installed(&t, &acme).await, [("addon".into(), "1.0.0".into()), ("good".into(), "1.0.0".into())]);
    let (_, lock) = admin.api(Method::GET, "acme", "/admin/marketplace/lock", None).await;
    let lock_text = lock["lock"].as_str().unwrap();
    assert!(lock_text.contains("id = \"good\"") && lock_text.contains("sha256:"), "{lock_text}");
    assert_eq!(lock["wants"].as_object().unwrap().keys().collect::<Vec<_>>(), ["addon"], "good is only a dependency");
    // The dependency works: addon reads good's notes through its grant.
    let (status, _) = admin.api(Method::POST, "acme", "/records/good.note", Some(json!({ "title": "note" }))).await;
    assert_eq!(status, StatusCode::CREATED);

    // An upgrade asking for a new capability: reviewed, then it runs without it until approved.
    let with_contacts = |text: String| {
        version("1.1.0")(text)
            + "\n[[capabilities]]\ncapability = \"records_read\"\ncollections = [\"contact\"]\nreason = \"Saluer les contacts par leur nom\"\n"
    };
    partner.publish(&t, &package("good", with_contacts)).await;
    let (status, upgraded) = admin.api(Method::POST, "acme", "/admin/marketplace/upgrade", Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{upgraded}");
    assert!(installed(&t, &acme).await.contains(&("good".into(), "1.1.0".into())));
    let (_, detail) = admin.api(Method::GET, "acme", "/admin/plugins/good", None).await;
    let contact_grant = detail["grants"].as_array().unwrap().iter().find(|g| g["key"] == "records_read:contact").unwrap().clone();
    assert_eq!(contact_grant["granted"], false, "the new capability waits for approval: {detail}");
    let kv_grant = detail["grants"].as_array().unwrap().iter().find(|g| g["key"] == "kv").unwrap().clone();
    assert_eq!(kv_grant["granted"], true, "what was granted stays granted");
    let (_, inbox) = admin.api(Method::GET, "acme", "/admin/approvals", None).await;
    let request = &inbox["approvals"][0];
    assert_eq!(request["status"], "pending", "{inbox}");
    assert_eq!(request["adds"][0]["key"], "records_read:contact");
    assert_eq!(request["adds"][0]["reason"], "Saluer les contacts par leur nom");
    let id = request["id"].as_str().unwrap();

    // Another tenant's administrator can neither see nor decide it.
    let (_, theirs) = intruder.api(Method::GET, "globex", "/admin/approvals", None).await;
    assert_eq!(theirs["approvals"], json!([]));
    let (status, _) = intruder.api(Method::POST, "globex", &format!("/admin/approvals/{id}/approve"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, approved) = admin.api(Method::POST, "acme", &format!("/admin/approvals/{id}/approve"), None).await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    let (_, detail) = admin.api(Method::GET, "acme", "/admin/plugins/good", None).await;
    assert!(detail["grants"].as_array().unwrap().iter().any(|g| g["key"] == "records_read:contact" && g["granted"] == true), "{detail}");

    // Rollback: back to the set before the upgrade.
    let (status, rolled) = admin.api(Method::POST, "acme", "/admin/marketplace/rollback", None).await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    assert!(installed(&t, &acme).await.contains(&("good".into(), "1.0.0".into())), "{rolled}");

    // A yanked version is kept by those who have it, skipped by new resolutions.
    let (status, _) = partner.call(Method::POST, "/packages/good/1.0.0/yank", Some(json!({ "message": "bug in the filter" }))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, plan) = intruder.api(Method::POST, "globex", "/admin/marketplace/plan", Some(json!({ "plugin": "good", "version": "=1.0.0" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{plan}");
    assert!(plan.to_string().contains("yanked"), "the explanation names the yank: {plan}");
    let (status, _) = admin.api(Method::POST, "acme", "/admin/marketplace/upgrade", Some(json!({ "plugins": ["addon"] }))).await;
    assert_eq!(status, StatusCode::OK, "acme keeps its yanked good 1.0.0");
    assert!(installed(&t, &acme).await.contains(&("good".into(), "1.0.0".into())));

    // A conflict is explained and changes nothing.
    let (status, conflict) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "addon", "version": "^2" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert!(conflict.to_string().contains("addon"), "{conflict}");
    assert_eq!(installed(&t, &acme).await.len(), 2);

    // Uninstalling what was asked for drops the dependency nothing needs any more.
    let (status, removed) = admin.api(Method::POST, "acme", "/admin/marketplace/uninstall", Some(json!({ "plugin": "addon" }))).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert!(installed(&t, &acme).await.is_empty(), "{removed}");

    // Reviews come only from tenants that installed the plugin, one each.
    let review = json!({ "stars": 4, "title": "Efficace", "body": "Fait ce qu'il dit." });
    let (status, _) = admin.api(Method::POST, "acme", "/admin/marketplace/plugins/addon/reviews", Some(review.clone())).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = intruder.api(Method::POST, "globex", "/admin/marketplace/plugins/addon/reviews", Some(review)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, listing) = admin.api(Method::GET, "acme", "/admin/marketplace/plugins/addon", None).await;
    assert_eq!(listing["rating"], 4.0, "{listing}");
    assert_eq!(listing["installs"]["total"], 1, "{listing}");

    // The journal tells the story.
    let (_, journal) = admin.api(Method::GET, "acme", "/admin/marketplace/operations", None).await;
    let kinds: Vec<&str> = journal["operations"].as_array().unwrap().iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["uninstall", "upgrade", "rollback", "upgrade", "install"], "{journal}");
    let (_, theirs) = intruder.api(Method::GET, "globex", "/admin/marketplace/operations", None).await;
    assert_eq!(theirs["operations"], json!([]));
}

#[tokio::test]
async fn a_failing_step_puts_the_whole_set_back() {
    let t = TestApp::spawn().await;
    let partner = Partner::new(&t, PUBLISHER, 7).await;
    partner.publish(&t, &package("bench", |t| t)).await;
    partner.publish(&t, &package("good", |t| t)).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;

    // bench is upgraded first, then good refuses to install without the kv it was not granted:
    // bench must go back to 1.0.0, and the lockfile stay as it was.
    let (status, done) = admin.api(Method::POST, "acme", "/admin/marketplace/install", Some(json!({ "plugin": "bench" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    partner.publish(&t, &package("bench", version("1.1.0"))).await;
    let (_, before) = admin.api(Method::GET, "acme", "/admin/marketplace/lock", None).await;
    let mut wants: BTreeMap<String, socle_tenants::PluginWant> = serde_json::from_value(before["wants"].clone()).unwrap();
    wants.insert("good".into(), socle_tenants::PluginWant { grants: Some(Default::default()), ..socle_tenants::PluginWant::any() });
    let change = socle_core::marketplace::Change {
        kind: "apply",
        summary: "bench and a good without kv".into(),
        target: socle_core::marketplace::Target::Resolve { wants, upgrade: socle_marketplace::resolve::Upgrade::All, locked: None },
    };
    let err = t.app.marketplace.apply(&std::sync::Arc::new(acme.clone()), &change, &socle_tenants::Actor::system("test")).await.unwrap_err();
    assert!(err.to_string().contains("rolled back") && err.to_string().contains("good"), "{err}");
    assert_eq!(installed(&t, &acme).await, [("bench".into(), "1.0.0".into())]);
    let (_, after) = admin.api(Method::GET, "acme", "/admin/marketplace/lock", None).await;
    assert_eq!(before, after, "the lockfile did not move");
    let (status, _) = admin.api(Method::GET, "acme", "/records/good.note", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "good's collection went with it");
    let (_, journal) = admin.api(Method::GET, "acme", "/admin/marketplace/operations", None).await;
    assert_eq!(journal["operations"][0]["state"], "rolled_back", "{journal}");
}
