//! The first verticals end to end, with the real components of `plugins/` (built by
//! `socle plugin build plugins`): helpdesk and telecom published as signed packages by a partner
//! and installed together from the marketplace; mass actions on 100 lines; both billing-control
//! anomalies; operator actions through the host's connectors to a fake operator; margins hidden
//! from Support N1 and clients; helpdesk mails through a real SMTP server, SLA timers with the
//! clock moved, client isolation; and an upgrade of helpdesk to a new minor keeping all data.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_core::marketplace::store::Publisher;
use socle_core::records::{Caller, Query};
use socle_marketplace::manifest::Manifest;
use socle_marketplace::package::{Digest, Package};
use socle_marketplace::signing::SecretKey;
use socle_tenants::{Actor, Plan, Tenant, TenantPatch};
use socle_tests::{Browser, FakeConnector, SmtpSink, TestApp};

const PUBLISHER: &str = "socle-verticals";

fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugins")
}

/// A package of first-party plugin `id` with its manifest edited by `edit`.
fn package(id: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    let built = socle_core::plugins::build::built(&plugins_dir())
        .unwrap_or_else(|e| panic!("{e:#}: build the first-party plugins first with `cargo run --bin socle -- plugin build plugins`"));
    let plugin = built.into_iter().find(|b| b.manifest.plugin.id == id).unwrap_or_else(|| panic!("no plugin `{id}` in plugins/"));
    let text = edit(std::fs::read_to_string(plugin.dir.join("socle.toml")).unwrap());
    let manifest = Manifest::parse(&text).unwrap_or_else(|e| panic!("{id}/socle.toml: {e}"));
    let component = std::fs::read(&plugin.component).unwrap();
    Package {
        manifest,
        manifest_text: text,
        component,
        readme: Some(format!("# {id}\n")),
        changelog: Some("- première version\n".into()),
        assets: Default::default(),
    }
    .pack()
}

struct Partner {
    publisher: Publisher,
    key: SecretKey,
}

impl Partner {
    async fn new(t: &TestApp) -> Self {
        let (publisher, _) = t.app.marketplace.create_publisher(PUBLISHER, "Socle Verticals", "partners@socle.test").await.unwrap();
        let key = SecretKey::from_seed([42; 32]);
        t.app.marketplace.add_publisher_key(&publisher.id, &key.public().to_string()).await.unwrap();
        Self { publisher, key }
    }

    /// Submits a package through the publishing pipeline and lists it (as the operator would).
    async fn publish(&self, t: &TestApp, archive: &[u8]) {
        let signature = self.key.sign(&Digest::of(archive)).to_json();
        let report = t.app.marketplace.submit(&self.publisher, archive, &signature).await.unwrap();
        if let Some(failure) = report.failure() {
            panic!("{} failed: {}", failure.check, failure.detail);
        }
        if report.outcome == "in_review" {
            let (plugin, version) = (report.plugin.clone().unwrap(), report.version.clone().unwrap());
            t.operator_approves(&plugin, &version).await;
        }
    }
}

fn version(v: &str) -> impl Fn(String) -> String {
    let v = v.to_owned();
    move |text| text.replacen("version = \"1.0.0\"", &format!("version = \"{v}\""), 1)
}

/// A tenant on the Enterprise plan (mass actions on many lines take more than a Starter second),
/// with its Direction administrator.
async fn tenant_with_admin(t: &TestApp, slug: &str) -> (Tenant, Browser) {
    let tenant = t.create_tenant(slug, &format!("{slug} Télécom")).await;
    let patch = TenantPatch { plan: Some(Plan::Enterprise), name: None, locale: None, theme: None, require_mfa_for_admins: None };
    let tenant = t.app.tenants.update(tenant.id, &patch, &Actor::system("test")).await.unwrap();
    t.create_user(&tenant, &format!("claire@{slug}.fr"), "interne", &["direction"]).await;
    let admin = t.logged_in(slug, &format!("claire@{slug}.fr")).await;
    (tenant, admin)
}

/// A logged-in user of `tenant` with one role (client users belong to `account`).
async fn user(t: &TestApp, tenant: &Tenant, admin: &Browser, email: &str, user_type: &str, role: &str, account: Option<&str>) -> Browser {
    let id = t.create_user(tenant, email, user_type, &[role]).await;
    if let Some(account) = account {
        let (status, body) = admin.api(Method::PATCH, tenant.slug.as_str(), &format!("/admin/users/{id}"), Some(json!({ "account": account }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    t.logged_in(tenant.slug.as_str(), email).await
}

async fn create(browser: &Browser, slug: &str, collection: &str, body: Value) -> Value {
    let (status, record) = browser.api(Method::POST, slug, &format!("/records/{collection}"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{collection}: {record}");
    record
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_owned()
}

async fn action(browser: &Browser, slug: &str, plugin: &str, name: &str, ids: &[String], params: Value) -> Value {
    let (status, body) = browser.api(Method::POST, slug, &format!("/x/{plugin}/actions/{name}"), Some(json!({ "ids": ids, "params": params }))).await;
    assert_eq!(status, StatusCode::OK, "{name}: {body}");
    body["result"].clone()
}

async fn count(t: &TestApp, tenant: &Tenant, collection: &str, filters: Value) -> i64 {
    let query: Query = serde_json::from_value(json!({ "filters": filters, "count": true, "limit": 1 })).unwrap();
    t.app.records.query(&Caller::system(tenant.id, "test"), collection, &query).await.unwrap().total.unwrap()
}

fn money(cents: i64) -> Value {
    json!({ "amount": cents, "currency": "EUR" })
}

async fn install(admin: &Browser, slug: &str, plugin: &str) -> Value {
    let (status, done) = admin.api(Method::POST, slug, "/admin/marketplace/install", Some(json!({ "plugin": plugin }))).await;
    assert_eq!(status, StatusCode::CREATED, "{done}");
    done
}

async fn installed(t: &TestApp, tenant: &Tenant) -> Vec<(String, String)> {
    t.app.plugins.store().installs(tenant.id).await.unwrap().into_iter().map(|i| (i.plugin_id, i.version)).collect()
}

#[tokio::test]
async fn telecom_and_helpdesk_from_the_marketplace_run_mass_actions_on_100_lines_and_find_both_billing_anomalies() {
    let operator = FakeConnector::start("jeton-operateur").await;
    let (snaic, telephony) = (operator.url("snaic"), operator.url("3cx"));
    let t = TestApp::spawn_configured(move |s| {
        s.plugins.allow_private_hosts = vec!["127.0.0.1".into()];
        for (name, url) in [("snaic", &snaic), ("3cx", &telephony)] {
            let token = Some(secrecy::SecretString::from("jeton-operateur"));
            s.plugins.connectors.insert(name.into(), socle_core::config::ConnectorSettings { url: url.clone(), token });
        }
    })
    .await;
    let partner = Partner::new(&t).await;
    partner.publish(&t, &package("helpdesk", |t| t)).await;
    partner.publish(&t, &package("telecom", |t| t)).await;
    let (tenant, admin) = tenant_with_admin(&t, "connextoo").await;
    let slug = "connextoo";

    // Installing telecom brings helpdesk, resolved through telecom's `helpdesk = "^1.0"`.
    install(&admin, slug, "telecom").await;
    assert_eq!(installed(&t, &tenant).await, [("helpdesk".into(), "1.0.0".into()), ("telecom".into(), "1.1.0".into())]);

    // The hierarchy: account → site → parc (Mobile / Orange) → 100 lines priced from the catalogue.
    let account = id(&create(&admin, slug, "customer_account", json!({ "name": "Transports Le Goff" })).await);
    let site = id(&create(&admin, slug, "site", json!({ "account": account, "name": "Siège", "city": "Quimper" })).await);
    let item = |code: &str, label: &str, kind: &str, sale: i64, buy: i64| json!({ "code": code, "label": label, "kind": kind, "telecom_line_type": "mobile", "sale_price": money(sale), "purchase_price": money(buy) });
    let mob20 = id(&create(&admin, slug, "catalogue_item", item("MOB-20", "Mobile Pro 20 Go", "forfait", 1990, 1250)).await);
    let mob100 = id(&create(&admin, slug, "catalogue_item", item("MOB-100", "Mobile Pro 100 Go", "forfait", 2990, 1800)).await);
    let europe = id(&create(&admin, slug, "catalogue_item", item("OPT-EU", "Option Europe", "option", 500, 200)).await);
    let parc = create(&admin, slug, "telecom.parc", json!({ "account": account, "site": site, "line_type": "mobile", "operator": "orange" })).await;
    assert_eq!(parc["data"]["name"], "Mobile / Orange", "{parc}");
    assert_eq!(parc["data"]["connector"], "snaic");
    let parc = id(&parc);
    let mut lines = Vec::new();
    for i in 0..100 {
        let line = create(
            &admin,
            slug,
            "telecom.line",
            json!({ "number": format!("06 10 00 {:02} {:02}", i / 100, i % 100), "parc": parc, "plan": mob20, "user_name": format!("Chauffeur {i}") }),
        )
        .await;
        assert_eq!(line["data"]["margin"], money(740), "{line}");
        lines.push(id(&line));
    }

    // Mass actions on the 100 lines.
    let changed = action(&admin, slug, "telecom", "change_plan", &lines, json!({ "plan": mob100 })).await;
    assert_eq!(changed["changed"], 100, "{changed}");
    assert_eq!(count(&t, &tenant, "telecom.line", json!([{ "field": "plan", "op": "eq", "value": mob100 }])).await, 100);
    let added = action(&admin, slug, "telecom", "add_options", &lines, json!({ "options": [europe] })).await;
    assert_eq!(added["changed"], 100, "{added}");
    let (_, one) = admin.api(Method::GET, slug, &format!("/records/telecom.line/{}", lines[42]), None).await;
    assert_eq!((one["data"]["sale_price"].clone(), one["data"]["margin"].clone()), (money(3490), money(1490)), "{one}");
    let suspended = action(&admin, slug, "telecom", "suspend", &lines[..10], json!({ "reason": "Fin de saison" })).await;
    assert_eq!(suspended["suspended"], 10, "{suspended}");
    assert_eq!(count(&t, &tenant, "telecom.line", json!([{ "field": "status", "op": "eq", "value": "suspendue" }])).await, 10);
    let deployed =
        action(&admin, slug, "telecom", "create_deployment", &lines, json!({ "title": "Renouvellement de la flotte", "kind": "modification" })).await;
    assert_eq!((deployed["lines"].as_u64(), deployed["operations"].as_u64()), (Some(100), Some(101)), "{deployed}");
    let deployment = deployed["deployment"].as_str().unwrap().to_owned();
    assert_eq!(count(&t, &tenant, "telecom.line", json!([{ "field": "deployments", "op": "eq", "value": deployment }])).await, 100);
    let sims = action(&admin, slug, "telecom", "order_sims", &lines[50..], json!({ "format": "esim" })).await;
    assert_eq!(sims["ordered"], 50, "{sims}");
    assert_eq!(count(&t, &tenant, "telecom.sim", json!([{ "field": "sim_status", "op": "eq", "value": "en_commande" }])).await, 50);

    // Operator API actions go through the connector, never from the plugin itself.
    let refused_line = id(&create(&admin, slug, "telecom.line", json!({ "number": "06 10 00 09 99", "parc": parc, "plan": mob20 })).await);
    let mut targets: Vec<String> = lines[20..24].to_vec();
    targets.push(refused_line);
    let api = action(&admin, slug, "telecom", "operator_action", &targets, json!({ "operation": "suspend_line" })).await;
    assert_eq!(api["done"], 4, "{api}");
    assert!(api["failed"][0].as_str().unwrap().contains("inconnue chez l'opérateur"), "{api}");
    let calls = operator.calls();
    assert_eq!(calls.len(), 5);
    assert_eq!(calls[0].path, "/snaic/suspend-line");
    assert_eq!(calls[0].authorization.as_deref(), Some("Bearer jeton-operateur"), "the platform holds the token");
    assert_eq!((calls[0].body["tenant"].as_str(), calls[0].body["plugin"].as_str()), (Some("connextoo"), Some("telecom")));
    assert_eq!(calls[0].body["input"]["plan"], "MOB-100");
    let (_, line) = admin.api(Method::GET, slug, &format!("/records/telecom.line/{}", lines[20]), None).await;
    assert_eq!(line["data"]["operator_ref"], "OP-33610000020", "{line}");
    // Calls come from the telephony through its connector and become the lines' communications,
    // once however often they are fetched.
    let fetched = action(&admin, slug, "telecom", "fetch_calls", &lines[20..22], json!({ "days": 30 })).await;
    assert_eq!((fetched["created"].as_u64(), fetched["done"].as_u64()), (Some(4), Some(2)), "{fetched}");
    assert_eq!(operator.calls().last().unwrap().path, "/3cx/list-calls");
    assert!(operator.calls().iter().all(|c| c.authorized), "every call carried the platform's token");
    let again = action(&admin, slug, "telecom", "fetch_calls", &lines[20..22], json!({})).await;
    assert_eq!((again["created"].as_u64(), again["already_known"].as_u64()), (Some(0), Some(4)), "{again}");
    let on_line = json!([{ "field": "line", "op": "eq", "value": lines[20] }]);
    assert_eq!(count(&t, &tenant, "telecom.communication", on_line.clone()).await, 2);
    let (_, communications) = admin.api(Method::GET, slug, &format!("/records/telecom.communication?filter[line]={}", lines[20]), None).await;
    assert_eq!(communications["items"][0]["data"]["account"], json!(account), "the account comes from the line: {communications}");
    // The deployment's operations run through the connectors once launched.
    let (status, refused) = admin.api(Method::POST, slug, "/x/telecom/actions/execute_operations", Some(json!({ "ids": [deployment] }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("doit être lancé"), "{refused}");

    // Margins and purchase prices: Comptabilité sees them; Support N1 and the client never do.
    let n1 = user(&t, &tenant, &admin, "lucas@connextoo.fr", "interne", "support_n1", None).await;
    let accounting = user(&t, &tenant, &admin, "sophie@connextoo.fr", "interne", "comptabilite", None).await;
    let client = user(&t, &tenant, &admin, "bruno@transports-legoff.fr", "client", "client", Some(&account)).await;
    let path = format!("/records/telecom.line/{}", lines[42]);
    let (_, seen) = accounting.api(Method::GET, slug, &path, None).await;
    assert_eq!(seen["data"]["margin"], money(1490), "{seen}");
    for (who, browser) in [("support N1", &n1), ("client", &client)] {
        let (status, seen) = browser.api(Method::GET, slug, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{who}: {seen}");
        assert_eq!(seen["data"]["sale_price"], money(3490), "{who}: {seen}");
        for hidden in ["purchase_price", "margin"] {
            assert!(seen["data"].get(hidden).is_none(), "{who} must not see {hidden}: {seen}");
        }
    }
    let (status, _) = n1.api(Method::POST, slug, "/x/telecom/actions/change_plan", Some(json!({ "ids": [lines[0]], "params": { "plan": mob20 } }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "changing plans needs modifier_forfait");

    // Billing control: two lines terminated before October, the October invoice and export.
    for (line, on) in [(&lines[97], "2026-08-31"), (&lines[98], "2026-09-15")] {
        let (status, body) = admin.api(Method::POST, slug, &format!("/records/telecom.line/{line}/transitions/terminate"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = admin.api(Method::PATCH, slug, &format!("/records/telecom.line/{line}"), Some(json!({ "terminated_on": on }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let mut invoice = String::from("numero;libelle;montant_ht\n");
    let mut export = String::from("numero;libelle;montant_ht\n");
    for i in 0..100 {
        let number = format!("06100000{:02}", i % 100);
        // Purchase price 18,00 + 2,00; lines 3, 4 and 5 are billed wrong by the supplier.
        let billed = match i {
            3 => "20,50",
            4 => "19,00",
            5 => "22,00",
            _ => "20,00",
        };
        invoice.push_str(&format!("{number};Mobile Pro 100 Go + Europe;{billed}\n"));
        if i != 97 {
            export.push_str(&format!("{number};Abonnement mobile;34,90\n"));
        }
    }
    // The supplier's invoice arrives as a CSV file in Windows-1252 (the filter reads it before it
    // is saved: host API 1.2 `files`); the billing export is pasted.
    let latin1: Vec<u8> = invoice.replace("libelle", "libellé").chars().map(|c| u8::try_from(u32::from(c)).unwrap()).collect();
    let (status, file) = admin.upload(slug, "Facture Orange octobre.csv", "text/csv", &latin1).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    let supplier =
        create(&admin, slug, "telecom.import", json!({ "label": "Facture Orange octobre", "kind": "facture_fournisseur", "period": "2026-10", "file": file }))
            .await;
    assert_eq!(supplier["data"]["rows"], 100, "the filter counted the file's rows: {supplier}");
    let supplier = id(&supplier);
    let billing = id(&create(
        &admin,
        slug,
        "telecom.import",
        json!({ "label": "Export CFAST octobre", "kind": "export_facturation", "period": "2026-10", "content": export }),
    )
    .await);
    // Only the uploader's own files reach the plugin before they are attached, and only this
    // tenant's; a page that is not CSV is refused by the field before any plugin sees it.
    let (_, lucas_file) = n1.upload(slug, "lignes.csv", "text/csv", b"0610000001;Forfait;20").await;
    let (other_tenant, other_admin) = tenant_with_admin(&t, "autre-operateur").await;
    let (_, foreign_file) = other_admin.upload(other_tenant.slug.as_str(), "lignes.csv", "text/csv", b"0610000001;Forfait;20").await;
    // Someone else's upload, or another tenant's, is refused by the platform as a missing file.
    for (file, expected) in [(&lucas_file, "was not found"), (&foreign_file, "was not found")] {
        let (status, refused) = admin
            .api(Method::POST, slug, "/records/telecom.import", Some(json!({ "label": "x", "kind": "facture_fournisseur", "period": "2026-10", "file": file })))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert!(refused.to_string().contains(expected), "{refused}");
    }
    let (_, page) = admin.upload(slug, "facture.html", "text/html", b"<html>").await;
    let (status, refused) = admin
        .api(Method::POST, slug, "/records/telecom.import", Some(json!({ "label": "x", "kind": "facture_fournisseur", "period": "2026-10", "file": page })))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    // The tenant grants file contents collection by collection: revoked, the plugin cannot read the
    // import's file and says so; granted back, it can.
    let (_, detail) = admin.api(Method::GET, slug, "/admin/plugins/telecom", None).await;
    let all: Vec<String> = detail["grants"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap().to_owned()).collect();
    assert!(all.contains(&"files_read:telecom.import".to_owned()), "{all:?}");
    let without: Vec<&String> = all.iter().filter(|k| k.as_str() != "files_read:telecom.import").collect();
    let (status, body) = admin.api(Method::PUT, slug, "/admin/plugins/telecom/grants", Some(json!({ "granted": without }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, again) = admin.upload(slug, "octobre.csv", "text/csv", b"0610000001;Forfait;20").await;
    let (status, refused) = admin
        .api(Method::POST, slug, "/records/telecom.import", Some(json!({ "label": "x", "kind": "facture_fournisseur", "period": "2026-10", "file": again })))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("has not granted `files_read` on `telecom.import`"), "{refused}");
    let (status, body) = admin.api(Method::PUT, slug, "/admin/plugins/telecom/grants", Some(json!({ "granted": all }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let granted = create(&admin, slug, "telecom.import", json!({ "label": "Essai", "kind": "facture_fournisseur", "period": "2026-10", "file": again })).await;
    assert_eq!(granted["data"]["rows"], 1);
    let (status, _) = admin.api(Method::DELETE, slug, &format!("/records/telecom.import/{}", id(&granted)), None).await;
    assert!(status.is_success());
    // A client lying about the type and size of a file does not get past the field's bounds.
    let lying = json!({ "id": page["id"], "name": "facture.csv", "content_type": "text/csv", "size": 6 });
    let (status, refused) = admin
        .api(Method::POST, slug, "/records/telecom.import", Some(json!({ "label": "x", "kind": "facture_fournisseur", "period": "2026-10", "file": lying })))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("application/octet-stream files are not accepted"), "an HTML upload is stored as bytes and refused: {refused}");
    let (status, bad) = admin
        .api(
            Method::POST,
            slug,
            "/records/telecom.import",
            Some(json!({ "label": "x", "kind": "facture_fournisseur", "period": "2026-10", "content": "0610000001;Forfait;vingt" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.to_string().contains("ligne 1 : « vingt » n'est pas un montant"), "{bad}");
    assert!(bad.to_string().contains("telecom"), "the refusal names the plugin: {bad}");
    let control = action(&accounting, slug, "telecom", "run_billing_control", &[supplier.clone(), billing.clone()], json!({})).await;
    // Terminated and still billed: line 97 by the supplier; line 98 by the supplier and in the export.
    assert_eq!(control["created"], json!({ "resiliee_facturee": 3, "ecart_prix_achat": 3 }), "{control}");
    assert_eq!(
        count(
            &t,
            &tenant,
            "telecom.anomaly",
            json!([{ "field": "kind", "op": "eq", "value": "ecart_prix_achat" }, { "field": "line", "op": "eq", "value": lines[5] }])
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &t,
            &tenant,
            "telecom.anomaly",
            json!([{ "field": "kind", "op": "eq", "value": "resiliee_facturee" }, { "field": "line", "op": "eq", "value": lines[98] }])
        )
        .await,
        2
    );
    let again = action(&accounting, slug, "telecom", "run_billing_control", &[supplier, billing], json!({})).await;
    assert_eq!(again["already_known"], 6, "running again creates nothing twice: {again}");
    let (status, _) = n1.api(Method::GET, slug, "/records/telecom.anomaly", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "anomalies need voir_anomalies");
}

#[tokio::test]
async fn helpdesk_mails_the_client_and_the_team_pauses_its_sla_and_keeps_clients_apart() {
    let smtp = SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    let partner = Partner::new(&t).await;
    partner.publish(&t, &package("helpdesk", |t| t)).await;
    let (tenant, admin) = tenant_with_admin(&t, "atelier").await;
    let slug = "atelier";
    install(&admin, slug, "helpdesk").await;
    let settings = json!({ "alert_email": "equipe@atelier.fr", "sla_urgence_minutes": 60 });
    let (status, body) = admin.api(Method::PUT, slug, "/admin/plugins/helpdesk/settings", Some(settings)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let durand = id(&create(&admin, slug, "customer_account", json!({ "name": "Durand Immobilier" })).await);
    let bihan = id(&create(&admin, slug, "customer_account", json!({ "name": "Fromagerie Le Bihan" })).await);
    let site =
        id(&create(&admin, slug, "helpdesk.project", json!({ "name": "Site vitrine", "client": durand, "kind": "site", "contact_email": "marc@durand.fr" }))
            .await);
    let shop = id(&create(&admin, slug, "helpdesk.project", json!({ "name": "Boutique en ligne", "client": bihan, "contact_email": "anne@lebihan.fr" })).await);
    let other = create(&admin, slug, "helpdesk.ticket", json!({ "project": shop, "subject": "Paiement refusé" })).await;
    create(&admin, slug, "helpdesk.comment", json!({ "ticket": id(&other), "body": "Cliente pressée." })).await;

    // Marc, client of Durand Immobilier, sees his project only and never internal comments.
    let marc = user(&t, &tenant, &admin, "marc@durand.fr", "client", "client", Some(&durand)).await;
    let (_, projects) = marc.api(Method::GET, slug, "/records/helpdesk.project", None).await;
    assert_eq!(projects["items"].as_array().unwrap().len(), 1, "{projects}");
    let (_, tickets) = marc.api(Method::GET, slug, "/records/helpdesk.ticket", None).await;
    assert_eq!(tickets["items"].as_array().unwrap().len(), 0, "{tickets}");
    let (status, _) = marc.api(Method::GET, slug, "/records/helpdesk.comment", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, refused) = marc.api(Method::POST, slug, "/records/helpdesk.ticket", Some(json!({ "project": shop, "subject": "Je tente" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    // Another client's project is as unknown to him as one that does not exist.
    assert!(refused.to_string().contains("no helpdesk.project record"), "{refused}");

    let ticket =
        create(&marc, slug, "helpdesk.ticket", json!({ "project": site, "subject": "Le formulaire de contact ne part plus", "ticket_type": "urgence" })).await;
    assert_eq!((ticket["data"]["origin"].as_str(), ticket["data"]["sla_minutes"].as_i64()), (Some("client"), Some(60)), "{ticket}");
    let ticket = id(&ticket);
    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(2).await;
    let to = |address: &str, text: &str| mails.iter().any(|m| m.to.iter().any(|x| x == address) && m.decoded().contains(text));
    assert!(to("equipe@atelier.fr", "Nouveau ticket client"), "the team is alerted: {mails:?}");
    assert!(to("marc@durand.fr", "Demande enregistr"), "the client gets an acknowledgment: {mails:?}");

    // The team answers and waits for the client: mails; 30 minutes in, the SLA pauses.
    let thomas = user(&t, &tenant, &admin, "thomas@atelier.fr", "interne", "support_n2", None).await;
    t.clock.advance(Duration::from_secs(30 * 60));
    create(&thomas, slug, "helpdesk.reply", json!({ "ticket": ticket, "body": "Pouvez-vous nous envoyer une capture ?" })).await;
    let (status, body) = thomas.api(Method::POST, slug, &format!("/records/helpdesk.ticket/{ticket}/transitions/wait_client"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(4).await;
    assert!(mails.iter().any(|m| m.to.iter().any(|x| x == "marc@durand.fr") && m.decoded().contains("Nouvelle r")), "{mails:?}");
    assert!(mails.iter().any(|m| m.to.iter().any(|x| x == "marc@durand.fr") && m.decoded().contains("En attente client")), "{mails:?}");
    t.clock.advance(Duration::from_secs(5 * 3600));
    t.worker().run_until_idle().await.unwrap();
    assert_eq!(count(&t, &tenant, "helpdesk.ticket", json!([{ "field": "sla_breached", "op": "eq", "value": true }])).await, 0, "paused while waiting");

    // Marc answers: the team is alerted, the ticket is unread and counting again (30 minutes left).
    let before = smtp.received().len();
    create(&marc, slug, "helpdesk.reply", json!({ "ticket": ticket, "body": "Voici la capture." })).await;
    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(before + 1).await;
    assert!(mails.iter().any(|m| m.to.iter().any(|x| x == "equipe@atelier.fr") && m.decoded().contains("Nouveau message client")), "{mails:?}");
    let (_, now) = thomas.api(Method::GET, slug, &format!("/records/helpdesk.ticket/{ticket}"), None).await;
    assert_eq!((now["data"]["status"].as_str(), now["data"]["unread"].as_bool()), (Some("en_cours"), Some(true)), "{now}");
    t.clock.advance(Duration::from_secs(31 * 60));
    t.worker().run_until_idle().await.unwrap();
    t.worker().run_until_idle().await.unwrap();
    let (_, late) = thomas.api(Method::GET, slug, &format!("/records/helpdesk.ticket/{ticket}"), None).await;
    assert_eq!((late["data"]["sla_breached"].as_bool(), late["data"]["level"].as_str()), (Some(true), Some("n2")), "breached and escalated: {late}");
    let mails = smtp.wait_for(before + 2).await;
    assert!(mails.iter().any(|m| m.to.iter().any(|x| x == "equipe@atelier.fr") && m.decoded().contains("SLA d")), "{mails:?}");
    // The escalation left an internal comment the client cannot see.
    assert_eq!(count(&t, &tenant, "helpdesk.comment", json!([{ "field": "ticket", "op": "eq", "value": ticket }])).await, 1);
    let (_, thread) = marc.api(Method::GET, slug, "/records/helpdesk.reply", None).await;
    assert_eq!(thread["items"].as_array().unwrap().len(), 2, "the client sees the whole thread of his ticket: {thread}");
}

/// Whether `text` holds an ISO date-time (`2026-12-04T13:05`), which no person should read.
fn has_iso_time(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(12)).any(|i| {
        let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        digits(i..i + 4) && b[i + 4] == b'-' && digits(i + 5..i + 7) && b[i + 7] == b'-' && digits(i + 8..i + 10) && b[i + 10] == b'T' && digits(i + 11..i + 13)
    })
}

#[tokio::test]
async fn helpdesk_mails_each_change_once_with_a_link_to_the_ticket_and_local_times() {
    use socle_core::mail::local_time::{self, TimeZone};
    use socle_tenants::Locale;

    let smtp = SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    let partner = Partner::new(&t).await;
    partner.publish(&t, &package("helpdesk", |t| t)).await;
    let (tenant, admin) = tenant_with_admin(&t, "atelier").await;
    let slug = "atelier";
    install(&admin, slug, "helpdesk").await;
    let (status, body) = admin.api(Method::PUT, slug, "/admin/plugins/helpdesk/settings", Some(json!({ "alert_email": "equipe@atelier.fr" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let durand = id(&create(&admin, slug, "customer_account", json!({ "name": "Durand Immobilier" })).await);
    let site = id(&create(&admin, slug, "helpdesk.project", json!({ "name": "Site vitrine", "client": durand, "contact_email": "marc@durand.fr" })).await);
    let marc = user(&t, &tenant, &admin, "marc@durand.fr", "client", "client", Some(&durand)).await;
    let thomas = user(&t, &tenant, &admin, "thomas@atelier.fr", "interne", "support_n2", None).await;
    // The mails of one address about tickets, by subject.
    let tickets_mailed_to = |address: &str| {
        let mut mails: Vec<_> = smtp
            .received()
            .into_iter()
            .filter(|m| m.to.iter().any(|x| x == address) && m.header("Subject").is_some_and(|s| s.starts_with('[') || s.starts_with("Nouveau")))
            .collect();
        mails.sort_by_key(|m| m.header("Subject"));
        mails
    };
    let settle = || async {
        t.worker().run_until_idle().await.unwrap();
        t.worker().run_until_idle().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    };

    let created =
        create(&marc, slug, "helpdesk.ticket", json!({ "project": site, "subject": "Le formulaire de contact ne part plus", "ticket_type": "urgence" })).await;
    let ticket = id(&created);
    let (_, seen) = admin.api(Method::GET, slug, &format!("/records/helpdesk.ticket/{ticket}"), None).await;
    let due = local_time::parse_instant(seen["data"]["sla_due_at"].as_str().unwrap()).unwrap();
    settle().await;
    smtp.wait_for(2).await;
    let ack = tickets_mailed_to("marc@durand.fr");
    assert_eq!(ack.len(), 1, "{ack:?}");
    let text = ack[0].decoded();
    let due_text = local_time::datetime(due, TimeZone::EuropeParis, Locale::Fr);
    assert!(text.contains(&format!("(échéance : le {due_text})")), "the deadline in Paris time, written out: {text}");
    assert!(!has_iso_time(&text) && !text.contains("UTC"), "{text}");

    // The team takes the ticket and waits for the client; the client answers (the ticket resumes
    // by itself); the team resolves and closes it — each time before any job ran.
    for transition in ["start", "wait_client"] {
        let (status, body) = thomas.api(Method::POST, slug, &format!("/records/helpdesk.ticket/{ticket}/transitions/{transition}"), None).await;
        assert_eq!(status, StatusCode::OK, "{transition}: {body}");
    }
    settle().await;
    create(&marc, slug, "helpdesk.reply", json!({ "ticket": ticket, "body": "Voici la capture." })).await;
    settle().await;
    let (_, now) = thomas.api(Method::GET, slug, &format!("/records/helpdesk.ticket/{ticket}"), None).await;
    assert_eq!(now["data"]["status"], "en_cours", "{now}");
    for transition in ["resolve", "close"] {
        let (status, body) = thomas.api(Method::POST, slug, &format!("/records/helpdesk.ticket/{ticket}/transitions/{transition}"), None).await;
        assert_eq!(status, StatusCode::OK, "{transition}: {body}");
    }
    settle().await;

    // One mail per change the client can see, each with the status that change reached.
    let to_marc = tickets_mailed_to("marc@durand.fr");
    let subjects: Vec<String> = to_marc.iter().map(|m| m.header("Subject").unwrap()).collect();
    let mut expected = ["Demande enregistrée", "En cours", "En attente client", "Résolu", "Fermé"].map(|s| format!("[T-00001] {s} — atelier Télécom"));
    expected.sort();
    assert_eq!(subjects, expected, "each once; the client's own message mails him nothing");
    let to_team: Vec<String> = tickets_mailed_to("equipe@atelier.fr").iter().map(|m| m.header("Subject").unwrap()).collect();
    assert_eq!(
        to_team,
        ["Nouveau ticket client : T-00001 – Le formulaire de contact ne part plus — atelier Télécom", "[T-00001] Nouveau message client — atelier Télécom"],
        "the new ticket and the client's message, once each"
    );

    // Every mail links to the ticket on the tenant's own host, and the link opens it.
    let link = format!("{}/c/helpdesk.ticket/{ticket}", t.app.settings.tenant_url(slug));
    for mail in to_marc.iter().chain(&tickets_mailed_to("equipe@atelier.fr")) {
        // The HTML escapes the slashes (`&#x2f;`), which mail readers decode.
        let text = mail.decoded().replace("&#x2f;", "/");
        assert!(text.contains(&format!("Consulter en ligne : {link}")) && text.contains(&format!("href=\"{link}\"")), "{text}");
    }
    let page = marc.get(&format!("/t/{slug}/c/helpdesk.ticket/{ticket}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Le formulaire de contact ne part plus"));

    // The resolution date in local time, written out.
    let (_, closed) = thomas.api(Method::GET, slug, &format!("/records/helpdesk.ticket/{ticket}"), None).await;
    let resolved = local_time::parse_instant(closed["data"]["resolved_at"].as_str().unwrap()).unwrap();
    let resolved_mail = to_marc.iter().find(|m| m.header("Subject").unwrap().starts_with("[T-00001] Résolu")).unwrap().decoded();
    assert!(resolved_mail.contains(&format!("Résolu le {}.", local_time::datetime(resolved, TimeZone::EuropeParis, Locale::Fr))), "{resolved_mail}");
    assert!(to_marc.iter().all(|m| !has_iso_time(&m.decoded())), "no ISO time in any mail");
}

#[tokio::test]
async fn upgrading_helpdesk_to_a_new_minor_under_telecom_keeps_all_data() {
    let t = TestApp::spawn().await;
    let partner = Partner::new(&t).await;
    partner.publish(&t, &package("helpdesk", |t| t)).await;
    partner.publish(&t, &package("telecom", |t| t)).await;
    let (tenant, admin) = tenant_with_admin(&t, "connextoo").await;
    let slug = "connextoo";
    install(&admin, slug, "telecom").await;

    let account = id(&create(&admin, slug, "customer_account", json!({ "name": "Hôtel Ty Gwenn" })).await);
    let site = id(&create(&admin, slug, "site", json!({ "account": account, "name": "Hôtel", "city": "Concarneau" })).await);
    let parc = id(&create(&admin, slug, "telecom.parc", json!({ "account": account, "site": site, "line_type": "fixe", "operator": "threecx" })).await);
    let line = id(&create(&admin, slug, "telecom.line", json!({ "number": "02 98 97 01 01", "parc": parc, "user_name": "Standard" })).await);
    let project = id(&create(&admin, slug, "helpdesk.project", json!({ "name": "Téléphonie de l'hôtel", "client": account })).await);
    let ticket = create(&admin, slug, "helpdesk.ticket", json!({ "project": project, "subject": "Le standard ne sonne plus", "ticket_type": "urgence" })).await;
    assert_eq!(ticket["data"]["number"], "T-00001");
    let ticket = id(&ticket);
    create(&admin, slug, "helpdesk.reply", json!({ "ticket": ticket, "body": "Nous regardons." })).await;
    create(&admin, slug, "helpdesk.comment", json!({ "ticket": ticket, "body": "Trunk SIP en erreur 503." })).await;
    let linked = action(&admin, slug, "telecom", "link_ticket", std::slice::from_ref(&line), json!({ "ticket": ticket })).await;
    assert_eq!(linked["linked"], 1, "{linked}");

    // helpdesk 1.1.0: same data model, one more setting; listed without review.
    let minor = |text: String| {
        version("1.1.0")(text)
            + "\n[[settings]]\nname = \"signature\"\ntype = \"text\"\nlabel = { fr = \"Signature des e-mails\", en = \"Mail signature\" }\ndefault = \"L'équipe support\"\n"
    };
    partner.publish(&t, &package("helpdesk", minor)).await;
    let (status, upgraded) = admin.api(Method::POST, slug, "/admin/marketplace/upgrade", Some(json!({ "plugins": ["helpdesk"] }))).await;
    assert_eq!(status, StatusCode::OK, "{upgraded}");
    assert_eq!(installed(&t, &tenant).await, [("helpdesk".into(), "1.1.0".into()), ("telecom".into(), "1.1.0".into())]);

    // Everything is still there and still works.
    let (status, def) = admin.api(Method::GET, slug, "/collections/telecom.line", None).await;
    assert_eq!(status, StatusCode::OK, "telecom's collections survive the upgrade of the helpdesk they refer to: {def}");
    let (_, kept) = admin.api(Method::GET, slug, &format!("/records/helpdesk.ticket/{ticket}"), None).await;
    assert_eq!((kept["data"]["subject"].as_str(), kept["data"]["sla_minutes"].as_i64()), (Some("Le standard ne sonne plus"), Some(240)), "{kept}");
    assert_eq!(count(&t, &tenant, "helpdesk.reply", json!([{ "field": "ticket", "op": "eq", "value": ticket }])).await, 1);
    assert_eq!(count(&t, &tenant, "helpdesk.comment", json!([{ "field": "ticket", "op": "eq", "value": ticket }])).await, 1);
    let (_, line) = admin.api(Method::GET, slug, &format!("/records/telecom.line/{line}"), None).await;
    assert_eq!(line["data"]["tickets"], json!([ticket]), "{line}");
    let next =
        create(&admin, slug, "helpdesk.ticket", json!({ "project": project, "subject": "Ajouter un poste à l'accueil", "ticket_type": "evolution" })).await;
    assert_eq!(next["data"]["number"], "T-00002", "the plugin's counter survived the upgrade: {next}");
    let (status, body) = admin.api(Method::POST, slug, &format!("/records/helpdesk.ticket/{ticket}/transitions/start"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_helpdesk_client_does_what_a_client_may_and_nothing_the_team_does() {
    let t = TestApp::spawn().await;
    let partner = Partner::new(&t).await;
    partner.publish(&t, &package("helpdesk", |t| t)).await;
    let (tenant, admin) = tenant_with_admin(&t, "agence").await;
    let slug = "agence";
    install(&admin, slug, "helpdesk").await;
    let durand = id(&create(&admin, slug, "customer_account", json!({ "name": "Durand Immobilier" })).await);
    let project = id(&create(&admin, slug, "helpdesk.project", json!({ "name": "Site vitrine", "client": durand, "contact_email": "marc@durand.fr" })).await);
    let marc = user(&t, &tenant, &admin, "marc@durand.fr", "client", "client", Some(&durand)).await;
    let thomas = user(&t, &tenant, &admin, "thomas@agence.fr", "interne", "support_n1", None).await;
    let paul = user(&t, &tenant, &admin, "paul@partenaire.fr", "partenaire", "partenaire", None).await;

    // Marc opens a ticket on his project with what a client gives: subject, description, type.
    let ticket =
        create(&marc, slug, "helpdesk.ticket", json!({ "project": project, "subject": "Le formulaire ne part plus", "ticket_type": "maintenance" })).await;
    let ticket = id(&ticket);
    let path = format!("/records/helpdesk.ticket/{ticket}");
    // The team's fields are not his to set, on create or later.
    for (field, value) in [
        ("level", json!("n2")),
        ("sla_minutes", json!(99_999)),
        ("assignee", json!("marc@durand.fr")),
        ("resolved_at", json!("2026-12-04T10:00:00Z")),
        ("sla_breached", json!(false)),
        ("unread", json!(false)),
    ] {
        let (status, body) = marc.api(Method::PATCH, slug, &path, Some(json!({ field: value }))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{field}: {body}");
        let (status, body) =
            marc.api(Method::POST, slug, "/records/helpdesk.ticket", Some(json!({ "project": project, "subject": "Essai", field: value }))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{field} on create: {body}");
    }
    // Nor the team's transitions and actions: taking charge, escalating, marking read.
    let (status, body) = marc.api(Method::POST, slug, &format!("{path}/transitions/start"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for (name, params) in [("escalate", json!({ "reason": "je veux N2" })), ("mark_read", json!({}))] {
        let (status, body) =
            marc.api(Method::POST, slug, &format!("/x/helpdesk/actions/{name}"), Some(json!({ "ids": [ticket.clone()], "params": params }))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {body}");
    }
    // Nor the agency's project.
    let (status, body) = marc.api(Method::PATCH, slug, &format!("/records/helpdesk.project/{project}"), Some(json!({ "name": "Mon projet" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = marc.api(Method::POST, slug, "/records/helpdesk.project", Some(json!({ "name": "Autre", "client": durand }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // What he may do still works: reply, resolve his own ticket.
    create(&marc, slug, "helpdesk.reply", json!({ "ticket": ticket, "body": "Merci de regarder." })).await;
    let (_, now) = marc.api(Method::GET, slug, &path, None).await;
    assert_eq!(now["data"]["level"], "n1", "{now}");

    // His screens offer none of it: no internal view, no team field in the creation form, no
    // team button on the ticket.
    let list = html(&marc, &format!("/t/{slug}/c/helpdesk.ticket")).await;
    for internal in ["Tickets N2", "Messages clients non lus", "Tickets urgents en cours", "Tickets en retard", "Tickets par client"] {
        assert!(!list.contains(internal), "{internal} shown to a client: {list}");
    }
    assert!(list.contains("Tickets par projet"), "{list}");
    let form = html(&marc, &format!("/t/{slug}/c/helpdesk.ticket/new")).await;
    for internal in ["name=\"level\"", "name=\"sla_minutes\"", "name=\"assignee\"", "name=\"unread\"", "name=\"resolved_at\"", "name=\"sla_breached\""] {
        assert!(!form.contains(internal), "{internal} in the client's form: {form}");
    }
    assert!(form.contains("name=\"subject\"") && form.contains("name=\"ticket_type\""), "{form}");
    let panel = html(&marc, &format!("/t/{slug}/c/helpdesk.ticket/{ticket}")).await;
    assert!(!panel.contains("Prendre en charge") && !panel.contains("Escalader") && !panel.contains("Marquer comme lu"), "{panel}");
    assert!(panel.contains("Marquer résolu"), "{panel}");

    // The team does all of it.
    let (status, body) = thomas.api(Method::POST, slug, &format!("{path}/transitions/start"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    action(&thomas, slug, "helpdesk", "escalate", std::slice::from_ref(&ticket), json!({ "reason": "bug serveur" })).await;
    let (status, body) = thomas.api(Method::PATCH, slug, &path, Some(json!({ "assignee": "thomas@agence.fr" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let team_panel = html(&thomas, &format!("/t/{slug}/c/helpdesk.ticket/{ticket}")).await;
    assert!(team_panel.contains("Marquer comme lu"), "{team_panel}");

    // A partner who may only read records cannot change one through a plugin action either.
    let (status, body) = paul.api(Method::POST, slug, "/x/helpdesk/actions/mark_read", Some(json!({ "ids": [ticket.clone()], "params": {} }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let paul_panel = html(&paul, &format!("/t/{slug}/c/helpdesk.ticket/{ticket}")).await;
    assert!(!paul_panel.contains("Marquer comme lu") && !paul_panel.contains("Escalader"), "{paul_panel}");
}

async fn html(browser: &Browser, path: &str) -> String {
    browser.get(path).await.text().await.unwrap()
}
