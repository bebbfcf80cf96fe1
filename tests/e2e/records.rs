//! The records engine end to end: the write path (history, search, audit, outbox), field
//! permissions on every read, optimistic concurrency, workflows with timers across restarts,
//! jobs, mails to a real SMTP server, links, queries and bulk operations.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_marketplace::schema::SchemaFile;
use socle_tenants::{Actor, Tenant};
use socle_tests::{Browser, SmtpSink, TestApp};

/// A tenant-defined collection exercising every mechanism: workflow, SLA timer with pause,
/// notifications, a field behind "voir marge".
const TICKETS: &str = r#"
[[collections]]
name = "custom.ticket"
label = { fr = "Tickets", en = "Tickets" }
label_one = { fr = "Ticket", en = "Ticket" }
title_field = "subject"
scope_field = "account"

[[collections.fields]]
name = "subject"
type = "text"
label = "Objet"
required = true
searchable = true

[[collections.fields]]
name = "account"
type = "reference"
label = "Compte"
collection = "customer_account"
searchable = true

[[collections.fields]]
name = "requester"
type = "email"
label = "Demandeur"

[[collections.fields]]
name = "priority"
type = "number"
label = "Priorité"
index = true
decimals = 0

[[collections.fields]]
name = "status"
type = "enum"
label = "Statut"
index = true
values = [{ key = "ouvert", label = "Ouvert" }, { key = "attente", label = "En attente client" }, { key = "resolu", label = "Résolu" }]

[[collections.fields]]
name = "margin_notes"
type = "text"
label = "Notes de marge"
searchable = true
read_permission = "voir_marge"
write_permission = "voir_marge"

[[collections.fields]]
name = "overdue"
type = "bool"
label = "En retard"
index = true
default = false

[[collections.fields]]
name = "sla_due_at"
type = "datetime"
label = "Échéance SLA"

[[collections.links]]
kind = "sites"
to = "site"
label = "Sites"

[collections.workflow]
field = "status"
initial = "ouvert"
transitions = [
  { name = "wait", label = "Attendre le client", from = ["ouvert"], to = "attente" },
  { name = "resume", label = "Reprendre", from = ["attente"], to = "ouvert" },
  { name = "resolve", label = "Résoudre", from = ["ouvert", "attente"], to = "resolu" },
]
timers = [{ name = "sla", duration = "1h", on_fire = [{ set = { field = "overdue", value = true } }, { emit = "sla.breached" }] }]
states = [
  { state = "ouvert", on_enter = [{ start_timer = "sla" }] },
  { state = "attente", on_enter = [{ pause_timer = "sla" }], on_exit = [{ resume_timer = "sla" }] },
  { state = "resolu", on_enter = [{ stop_timer = "sla" }] },
]

[[collections.notifications]]
on = ["create", "update"]
to = "requester"
"#;

/// Prices with a derived margin: the margin declares no permission of its own, yet it is as
/// hidden as the purchase price it is computed from.
pub(crate) const OFFERS: &str = r#"
[[collections]]
name = "custom.offer"
label = { fr = "Offres", en = "Offers" }
label_one = { fr = "Offre", en = "Offer" }
title_field = "label"

[[collections.fields]]
name = "label"
type = "text"
label = "Libellé"
required = true

[[collections.fields]]
name = "sale_price"
type = "money"
label = "Prix de vente"
currency = "EUR"

[[collections.fields]]
name = "purchase_price"
type = "money"
label = "Prix d'achat"
currency = "EUR"
read_permission = "voir_marge"
write_permission = "voir_marge"

[[collections.fields]]
name = "margin"
type = "money"
label = "Marge"
currency = "EUR"
compute = "sale_price - purchase_price"
"#;

async fn setup(t: &TestApp) -> Tenant {
    let acme = t.create_tenant("acme", "Acme Télécom").await;
    let schema = SchemaFile::parse(TICKETS).unwrap();
    t.app.records.registry.install(acme.id, "custom:tickets", &schema, &Actor::system("test")).await.unwrap();
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    acme
}

/// Creates a record on tenant `acme` through the JSON API (shared with the portal tests).
pub(crate) async fn create(browser: &Browser, collection: &str, body: Value) -> Value {
    let (status, record) = browser.api(Method::POST, "acme", &format!("/records/{collection}"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    record
}

#[tokio::test]
async fn a_record_written_over_http_has_its_history_and_is_found_by_search() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let account = create(&admin, "customer_account", json!({ "name": "Boulangerie Kerjean", "status": "actif", "phone": "02 98 12 34 56" })).await;
    assert_eq!(account["data"]["phone"], "+33298123456");
    assert_eq!(account["version"], 1);
    let id = account["id"].as_str().unwrap();
    let (status, updated) = admin
        .api(Method::PATCH, "acme", &format!("/records/customer_account/{id}"), Some(json!({ "notes": "Livraison le mardi, équipe très réactive" })))
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["version"], 2);

    let (_, history) = admin.api(Method::GET, "acme", &format!("/records/customer_account/{id}/history"), None).await;
    let entries = history["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["op"], "update");
    assert_eq!(entries[0]["changes"], json!([{ "field": "notes", "before": null, "after": "Livraison le mardi, équipe très réactive" }]));
    assert_eq!(entries[0]["actor_label"], "claire@acme.fr");
    assert_eq!(entries[1]["op"], "create");

    // Accents folded, prefixes matched, in every field marked searchable.
    for q in ["kerjean", "boulang", "equipe reactive", "ÉQUIPE"] {
        let (_, found) = admin.api(Method::GET, "acme", &format!("/search?q={q}"), None).await;
        let hits = found["hits"].as_array().unwrap();
        assert_eq!(hits.len(), 1, "search {q}: {found}");
        assert_eq!(hits[0]["title"], "Boulangerie Kerjean");
    }
    let tenant = t.app.tenants.list().await.unwrap().remove(0);
    let journal = t.app.audit.list(tenant.id, &Default::default()).await.unwrap();
    assert!(journal.iter().any(|e| e.action == "record.updated" && e.after.as_ref().unwrap()["fields"] == json!(["notes"])));
}

#[tokio::test]
async fn a_user_without_voir_marge_never_receives_the_margin_field() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let direction = t.logged_in("acme", "claire@acme.fr").await;
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    let item = create(
        &direction,
        "catalogue_item",
        json!({
            "code": "FORF-5G", "label": "Forfait 5G pro", "kind": "forfait",
            "sale_price": { "amount": 2990, "currency": "EUR" }, "purchase_price": 1290
        }),
    )
    .await;
    assert_eq!(item["data"]["purchase_price"], json!({ "amount": 1290, "currency": "EUR" }));
    let ticket = create(&direction, "custom.ticket", json!({ "subject": "Renégociation opérateur", "margin_notes": "rabais confidentiel Orange" })).await;
    let (item_id, ticket_id) = (item["id"].as_str().unwrap(), ticket["id"].as_str().unwrap());
    direction.api(Method::PATCH, "acme", &format!("/records/catalogue_item/{item_id}"), Some(json!({ "purchase_price": 1190 }))).await;

    // Read, list, history, search, export, collection schema: the field is absent for N1.
    let (_, read) = n1.api(Method::GET, "acme", &format!("/records/catalogue_item/{item_id}"), None).await;
    assert!(read["data"].get("purchase_price").is_none(), "{read}");
    assert_eq!(read["data"]["sale_price"]["amount"], 2990);
    let (_, list) = n1.api(Method::GET, "acme", "/records/catalogue_item", None).await;
    assert!(list["items"][0]["data"].get("purchase_price").is_none());
    let (_, history) = n1.api(Method::GET, "acme", &format!("/records/catalogue_item/{item_id}/history"), None).await;
    assert!(!history.to_string().contains("purchase_price"), "{history}");
    assert_eq!(history["entries"].as_array().unwrap().len(), 1, "the update that only touched the margin is hidden");
    let (_, schema) = n1.api(Method::GET, "acme", "/collections/catalogue_item", None).await;
    assert!(!schema.to_string().contains("purchase_price"));
    let (_, found) = n1.api(Method::GET, "acme", "/search?q=confidentiel", None).await;
    assert_eq!(found["hits"], json!([]), "no match on a field N1 cannot read");
    let (_, ticket_view) = n1.api(Method::GET, "acme", &format!("/records/custom.ticket/{ticket_id}"), None).await;
    assert!(ticket_view["data"].get("margin_notes").is_none());
    // Filtering or sorting on it is refused rather than leaking through the results.
    let (status, _) = n1.api(Method::GET, "acme", "/records/catalogue_item?filter[purchase_price][gt]=1000", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = n1.api(Method::PATCH, "acme", &format!("/records/catalogue_item/{item_id}"), Some(json!({ "purchase_price": 1 }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Direction sees it everywhere.
    let (_, found) = direction.api(Method::GET, "acme", "/search?q=confidentiel", None).await;
    assert_eq!(found["hits"][0]["title"], "Renégociation opérateur");
    assert!(found["hits"][0]["snippet"].as_str().unwrap().contains("[confidentiel]"));
    let (_, history) = direction.api(Method::GET, "acme", &format!("/records/catalogue_item/{item_id}/history"), None).await;
    assert_eq!(history["entries"][0]["changes"][0]["field"], "purchase_price");

    // Export needs "exporter"; Direction's export has the column, N1 gets 403.
    let export = direction.get("/t/acme/api/v1/records/catalogue_item/export.csv").await.text().await.unwrap();
    assert!(export.starts_with("id,code,label,kind,supplier,sale_price,purchase_price,active,description\r\n"), "{export}");
    assert!(export.contains(",11.90,"), "{export}");
    assert_eq!(n1.get("/t/acme/api/v1/records/catalogue_item/export.csv").await.status(), StatusCode::FORBIDDEN);
    let comptable = {
        let acme = t.app.tenants.list().await.unwrap().remove(0);
        t.create_user(&acme, "sophie@acme.fr", "interne", &["gestionnaire"]).await;
        t.logged_in("acme", "sophie@acme.fr").await
    };
    let export = comptable.get("/t/acme/api/v1/records/catalogue_item/export.csv").await.text().await.unwrap();
    assert!(!export.contains("purchase_price") && !export.contains("11.90"), "gestionnaire exports without the margin: {export}");
}

#[tokio::test]
async fn two_concurrent_updates_give_one_success_and_one_conflict() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let a = t.logged_in("acme", "claire@acme.fr").await;
    let b = t.logged_in("acme", "lucas@acme.fr").await;
    let record = create(&a, "customer_account", json!({ "name": "Garage Le Goff" })).await;
    let path = format!("/t/acme/api/v1/records/customer_account/{}", record["id"].as_str().unwrap());
    let etag = a.get(&path).await.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"v1\"");
    let (csrf_a, csrf_b) = (a.csrf("acme").await, b.csrf("acme").await);
    let send = |browser: &Browser, csrf: String, name: &'static str| {
        browser.client().patch(browser.url(&path)).header("if-match", &etag).header("x-csrf-token", csrf).json(&json!({ "name": name })).send()
    };
    let (first, second) = tokio::join!(send(&a, csrf_a, "Garage Le Goff & Fils"), send(&b, csrf_b, "Garage Le Goff SARL"));
    let mut statuses = [first.unwrap().status(), second.unwrap().status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::PRECONDITION_FAILED]);
    let current: Value = a.get(&path).await.json().await.unwrap();
    assert_eq!(current["version"], 2, "exactly one change landed");
    // Without If-Match, a patch applies on the latest version.
    let (status, body) = b.api(Method::PATCH, "acme", &path.replace("/t/acme/api/v1", ""), Some(json!({ "siret": "12345678900012" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["version"], 3);
}

#[tokio::test]
async fn invalid_records_are_refused_field_by_field_and_nothing_is_written() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let (status, body) = admin
        .api(
            Method::POST,
            "acme",
            "/records/contact",
            Some(json!({ "email": "pas un mail", "colour": "blue", "account": "7f1c5a84-0000-7000-8000-000000000000" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"email") && fields.contains(&"colour"), "{body}");
    let (status, body) = admin.api(Method::POST, "acme", "/records/contact", Some(json!({ "account": "7f1c5a84-0000-7000-8000-000000000000" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "last_name");
    let (status, body) =
        admin.api(Method::POST, "acme", "/records/contact", Some(json!({ "last_name": "Tanguy", "account": "7f1c5a84-0000-7000-8000-000000000000" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a reference to a record that does not exist");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("no customer_account record"));
    let item = json!({ "code": "OPT-1", "label": "Option", "kind": "option" });
    create(&admin, "catalogue_item", item.clone()).await;
    let (status, body) = admin.api(Method::POST, "acme", "/records/catalogue_item", Some(item)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "unique code");
    assert_eq!(body["errors"][0]["field"], "code");
    let (status, _) = admin.api(Method::POST, "acme", "/records/nope", Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let caller = socle_core::records::Caller::system(acme.id, "test");
    let contacts = t.app.records.query(&caller, "contact", &Default::default()).await.unwrap();
    assert!(contacts.items.is_empty(), "nothing half-written");
}

#[tokio::test]
async fn queries_filter_sort_page_and_count_on_indexed_fields() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    for i in 0..25 {
        create(&admin, "custom.ticket", json!({ "subject": format!("Ticket {i:02}"), "priority": i % 5 })).await;
    }
    let (_, page) = admin.api(Method::GET, "acme", "/records/custom.ticket?filter[priority][gte]=3&sort=priority&limit=4&count=true", None).await;
    assert_eq!(page["total"], 10);
    let mut seen = Vec::new();
    let mut page = page;
    loop {
        for item in page["items"].as_array().unwrap() {
            seen.push((item["data"]["priority"].as_i64().unwrap(), item["data"]["subject"].as_str().unwrap().to_owned()));
        }
        let Some(cursor) = page["next_cursor"].as_str() else { break };
        page = admin.api(Method::GET, "acme", &format!("/records/custom.ticket?filter[priority][gte]=3&sort=priority&limit=4&cursor={cursor}"), None).await.1;
    }
    assert_eq!(seen.len(), 10, "every match exactly once across pages: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "sorted: {seen:?}");
    let (_, page) = admin
        .api(
            Method::POST,
            "acme",
            "/records/custom.ticket/query",
            Some(json!({
                "filters": [{ "field": "subject", "op": "contains", "value": "ticket 1" }, { "field": "priority", "op": "in", "value": [0, 1] }],
                "sort": { "field": "subject", "desc": true }, "count": true
            })),
        )
        .await;
    let subjects: Vec<&str> = page["items"].as_array().unwrap().iter().map(|i| i["data"]["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Ticket 16", "Ticket 15", "Ticket 11", "Ticket 10"]);
    let (status, body) = admin.api(Method::GET, "acme", "/records/custom.ticket?filter[nope]=1", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = admin.api(Method::GET, "acme", "/records/custom.ticket?cursor=garbage", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn records_link_both_ways_through_links_and_references() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let account = create(&admin, "customer_account", json!({ "name": "Mairie de Quimper" })).await;
    let account_id = account["id"].as_str().unwrap();
    let site = create(&admin, "site", json!({ "name": "Hôtel de ville", "account": account_id, "city": "Quimper" })).await;
    let site_id = site["id"].as_str().unwrap();
    let ticket = create(&admin, "custom.ticket", json!({ "subject": "Standard en panne", "account": account_id })).await;
    let ticket_id = ticket["id"].as_str().unwrap();
    let (status, body) =
        admin.api(Method::POST, "acme", &format!("/records/custom.ticket/{ticket_id}/links"), Some(json!({ "to": site_id, "kind": "sites" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) =
        admin.api(Method::POST, "acme", &format!("/records/custom.ticket/{ticket_id}/links"), Some(json!({ "to": site_id, "kind": "parcs" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "undeclared kinds are refused: {body}");

    let (_, from_site) = admin.api(Method::GET, "acme", &format!("/records/site/{site_id}/links"), None).await;
    let links = from_site["links"].as_array().unwrap();
    assert!(links.iter().any(|l| l["kind"] == "sites" && l["direction"] == "incoming" && l["title"] == "Standard en panne"), "{from_site}");
    assert!(links.iter().any(|l| l["kind"] == "account" && l["direction"] == "outgoing" && l["title"] == "Mairie de Quimper"), "{from_site}");
    let (_, from_account) = admin.api(Method::GET, "acme", &format!("/records/customer_account/{account_id}/links"), None).await;
    let titles: Vec<&str> = from_account["links"].as_array().unwrap().iter().map(|l| l["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Hôtel de ville") && titles.contains(&"Standard en panne"), "{from_account}");
    let (status, _) =
        admin.api(Method::DELETE, "acme", &format!("/records/custom.ticket/{ticket_id}/links"), Some(json!({ "to": site_id, "kind": "sites" }))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn mass_actions_report_per_record_results() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create(&admin, "custom.ticket", json!({ "subject": format!("T{i}") })).await["id"].clone());
    }
    let other_tenant = t.create_tenant("globex", "Globex").await;
    let foreign = t
        .app
        .records
        .create(&socle_core::records::Caller::system(other_tenant.id, "test"), "customer_account", json!({ "name": "Secret" }).as_object().unwrap().clone())
        .await
        .unwrap();
    ids.push(json!(foreign.id));
    let (status, body) =
        admin.api(Method::POST, "acme", "/records/custom.ticket/bulk", Some(json!({ "ids": ids, "op": "update", "patch": { "priority": 9 } }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["succeeded"].as_u64(), body["failed"].as_u64()), (Some(3), Some(1)));
    assert_eq!(body["results"][3]["code"], "not_found", "another tenant's id is just not found");
    let (_, body) =
        admin.api(Method::POST, "acme", "/records/custom.ticket/bulk", Some(json!({ "ids": &ids[..3], "op": "transition", "name": "resolve" }))).await;
    assert_eq!(body["succeeded"], 3);
    let (_, body) = admin.api(Method::POST, "acme", "/records/custom.ticket/bulk", Some(json!({ "ids": &ids[..3], "op": "transition", "name": "wait" }))).await;
    assert_eq!(body["failed"], 3, "{body}");
    assert_eq!(body["results"][0]["code"], "validation_failed");
    let secret = t.app.records.store().get(other_tenant.id, foreign.id).await.unwrap().unwrap();
    assert_eq!(secret.version, 1, "untouched");
}

#[tokio::test]
async fn client_users_only_reach_their_own_account() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let mine = create(&admin, "customer_account", json!({ "name": "Boulangerie Kerjean" })).await;
    let theirs = create(&admin, "customer_account", json!({ "name": "Crêperie Ty Breizh" })).await;
    create(&admin, "custom.ticket", json!({ "subject": "Four en panne", "account": mine["id"] })).await;
    let hidden = create(&admin, "custom.ticket", json!({ "subject": "Terminal de paiement", "account": theirs["id"] })).await;
    let client = t.create_user(&acme, "contact@kerjean.fr", "client", &["client"]).await;
    let (status, body) = admin.api(Method::PATCH, "acme", &format!("/admin/users/{client}"), Some(json!({ "account": mine["id"] }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let browser = t.logged_in("acme", "contact@kerjean.fr").await;
    let (_, list) = browser.api(Method::GET, "acme", "/records/custom.ticket", None).await;
    let subjects: Vec<&str> = list["items"].as_array().unwrap().iter().map(|i| i["data"]["subject"].as_str().unwrap()).collect();
    assert_eq!(subjects, ["Four en panne"]);
    let (status, _) = browser.api(Method::GET, "acme", &format!("/records/custom.ticket/{}", hidden["id"].as_str().unwrap()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, accounts) = browser.api(Method::GET, "acme", "/records/customer_account", None).await;
    assert_eq!(accounts["items"].as_array().unwrap().len(), 1);
    // Created tickets land in the client's account, whatever they claim.
    let (_, created) = browser.api(Method::POST, "acme", "/records/custom.ticket", Some(json!({ "subject": "Nouvelle demande" }))).await;
    assert_eq!(created["data"]["account"], mine["id"]);
    let (status, _) = browser.api(Method::POST, "acme", "/records/custom.ticket", Some(json!({ "subject": "x", "account": theirs["id"] }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, found) = browser.api(Method::GET, "acme", "/search?q=terminal", None).await;
    assert_eq!(found["hits"], json!([]));
    // Collections without an account scope are hidden from clients.
    let (status, _) = browser.api(Method::GET, "acme", "/records/catalogue_item", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A bulk edit cannot tell another account's ticket, a record of another collection and an id
    // that exists nowhere apart.
    let other_collection = theirs["id"].as_str().unwrap().to_owned();
    let nowhere = uuid::Uuid::now_v7().to_string();
    let probes = [hidden["id"].as_str().unwrap().to_owned(), other_collection, nowhere];
    let (status, body) =
        browser.api(Method::POST, "acme", "/records/custom.ticket/bulk", Some(json!({ "ids": probes, "op": "update", "patch": { "priority": 1 } }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answers: Vec<(Value, String)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].clone(), r["error"].as_str().unwrap_or_default().replace(r["id"].as_str().unwrap(), "<id>")))
        .collect();
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, "not_found", "{answers:?}");
    // Pointing to another account's record is refused as if it did not exist (no hook of a plugin
    // reads it on the client's behalf and names it in a refusal).
    let their_contact = create(&admin, "contact", json!({ "account": theirs["id"], "first_name": "Anne", "last_name": "Le Bihan" })).await;
    let mut refusals = Vec::new();
    for target in [their_contact["id"].as_str().unwrap().to_owned(), uuid::Uuid::now_v7().to_string()] {
        let (status, body) = browser
            .api(Method::POST, "acme", "/records/billing_site", Some(json!({ "account": mine["id"], "name": "Siège", "billing_contact": target })))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["field"], "billing_contact", "{body}");
        refusals.push(body["errors"][0]["detail"].as_str().unwrap().replace(&target, "<id>"));
    }
    assert_eq!(refusals[0], refusals[1]);
}

#[tokio::test]
async fn another_tenants_record_ids_are_not_found_on_any_route() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let globex = t.create_tenant("globex", "Globex").await;
    let caller = socle_core::records::Caller::system(globex.id, "test");
    let secret = t.app.records.create(&caller, "customer_account", json!({ "name": "Globex secret" }).as_object().unwrap().clone()).await.unwrap();
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let id = secret.id;
    for (method, path, body) in [
        (Method::GET, format!("/records/customer_account/{id}"), None),
        (Method::PATCH, format!("/records/customer_account/{id}"), Some(json!({ "name": "Pwned" }))),
        (Method::DELETE, format!("/records/customer_account/{id}"), None),
        (Method::GET, format!("/records/customer_account/{id}/history"), None),
        (Method::GET, format!("/records/customer_account/{id}/links"), None),
        (Method::POST, format!("/records/customer_account/{id}/transitions/x"), None),
    ] {
        let (status, response) = admin.api(method.clone(), "acme", &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {response}");
    }
    let mine = create(&admin, "site", json!({ "name": "x", "account": create(&admin, "customer_account", json!({ "name": "a" })).await["id"] })).await;
    let (status, _) =
        admin.api(Method::POST, "acme", &format!("/records/site/{}/links", mine["id"].as_str().unwrap()), Some(json!({ "to": id, "kind": "related" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "cannot link to another tenant's record");
    let (status, _) = admin.api(Method::PATCH, "acme", &format!("/records/site/{}", mine["id"].as_str().unwrap()), Some(json!({ "account": id }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "cannot reference another tenant's record");
    let (_, found) = admin.api(Method::GET, "acme", "/search?q=globex", None).await;
    assert_eq!(found["hits"], json!([]));
    assert_eq!(t.app.records.store().get(globex.id, id).await.unwrap().unwrap().data["name"], "Globex secret");
}

#[tokio::test]
async fn an_sla_timer_pauses_while_waiting_and_fires_on_time_after_a_restart() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let ticket = create(&admin, "custom.ticket", json!({ "subject": "Ligne coupée" })).await;
    let id = ticket["id"].as_str().unwrap().to_owned();
    assert_eq!(ticket["data"]["status"], "ouvert");
    assert!(ticket["data"]["sla_due_at"].is_string(), "the deadline is mirrored into a field: {ticket}");
    let (_, view) = admin.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!(view["timers"][0]["status"], "running");

    // 20 minutes in, the ticket waits for the client: the countdown pauses with 40 minutes left.
    t.clock.advance(Duration::from_secs(20 * 60));
    let (_, waiting) = admin.api(Method::POST, "acme", &format!("/records/custom.ticket/{id}/transitions/wait"), None).await;
    assert_eq!(waiting["data"]["status"], "attente");
    assert!(waiting["data"].get("sla_due_at").is_none());
    let (_, view) = admin.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    let remaining = view["timers"][0]["remaining_ms"].as_i64().unwrap();
    assert!((40 * 60 * 1000 - 2_000..=40 * 60 * 1000).contains(&remaining), "{remaining}");

    // A day of waiting does not count; the original deadline passes without firing.
    t.clock.advance(Duration::from_secs(24 * 3600));
    t.worker().run_until_idle().await.unwrap();
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let (_, view) = admin.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!((view["data"]["overdue"].clone(), view["timers"][0]["status"].clone()), (json!(false), json!("paused")), "the stale timer job did nothing");
    let t = t.restart().await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    admin.api(Method::POST, "acme", &format!("/records/custom.ticket/{id}/transitions/resume"), None).await;
    t.clock.advance(Duration::from_secs(39 * 60));
    t.worker().run_until_idle().await.unwrap();
    let (_, view) = admin.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!(view["data"]["overdue"], false, "39 of the 40 remaining minutes");

    // Restart again (a deploy), then the deadline passes: the timer fires.
    let t = t.restart().await;
    t.clock.advance(Duration::from_secs(2 * 60));
    t.worker().run_until_idle().await.unwrap();
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let (_, view) = admin.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!(view["data"]["overdue"], true, "{view}");
    assert_eq!(view["timers"][0]["status"], "fired");
    let (_, overdue) = admin.api(Method::GET, "acme", "/records/custom.ticket?filter[overdue]=true", None).await;
    assert_eq!(overdue["items"].as_array().unwrap().len(), 1);
    let (_, history) = admin.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}/history"), None).await;
    assert_eq!(history["entries"][0]["actor"], "system");
}

#[tokio::test]
async fn notifications_survive_a_crash_and_reach_a_real_smtp_server() {
    let smtp = SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    create(&admin, "custom.ticket", json!({ "subject": "Facture erronée", "requester": "marc.durand@client.fr" })).await;
    // The process dies before any job ran: the outbox is in the database.
    let t = t.restart().await;
    assert!(smtp.received().is_empty());
    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, ["marc.durand@client.fr"]);
    let text = mails[0].decoded();
    assert_eq!(mails[0].header("Subject").unwrap(), "Ticket « Facture erronée » créé — Acme Télécom");
    assert!(text.contains("Facture erronée"), "{text}");
    assert!(text.contains("Content-Type: text/html") && text.contains("Content-Type: text/plain"));
    assert!(text.contains("#1f4ed8"), "the tenant's colour is in the HTML: {text}");
    let stored = t.app.mailer.store().list(t.app.tenants.list().await.unwrap()[0].id, 10).await.unwrap();
    assert_eq!(stored[0].status, "sent");
    // Running the jobs again sends nothing twice.
    t.worker().run_until_idle().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(smtp.received().len(), 1);
}

/// Visits whose requester is named by two notification rules: every update, and transitions.
const VISITS: &str = r#"
[[collections]]
name = "custom.visit"
label = { fr = "Interventions", en = "Visits" }
label_one = { fr = "Intervention", en = "Visit" }
title_field = "subject"

[[collections.fields]]
name = "subject"
type = "text"
label = "Objet"
required = true

[[collections.fields]]
name = "requester"
type = "email"
label = "Demandeur"

[[collections.fields]]
name = "planned_at"
type = "datetime"
label = { fr = "Passage prévu", en = "Planned visit" }

[[collections.fields]]
name = "status"
type = "enum"
label = "Statut"
values = [{ key = "planifiee", label = "Planifiée" }, { key = "faite", label = "Faite" }]

[collections.workflow]
field = "status"
initial = "planifiee"
transitions = [{ name = "done", label = { fr = "Terminer", en = "Finish" }, from = ["planifiee"], to = "faite" }]

[[collections.notifications]]
on = ["update"]
to = "requester"

[[collections.notifications]]
on = ["transition"]
to = "requester"
"#;

#[tokio::test]
async fn a_change_mails_each_recipient_once_with_a_link_to_the_record_and_local_times() {
    let smtp = SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    let acme = setup(&t).await;
    let schema = SchemaFile::parse(VISITS).unwrap();
    t.app.records.registry.install(acme.id, "custom:visits", &schema, &Actor::system("test")).await.unwrap();
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let visit = create(&admin, "custom.visit", json!({ "subject": "Pose de la fibre", "requester": "marc.durand@client.fr" })).await;
    let id = visit["id"].as_str().unwrap();
    // Two changes before the worker runs: the time, then the visit done (a transition both rules
    // match).
    let (status, body) = admin.api(Method::PATCH, "acme", &format!("/records/custom.visit/{id}"), Some(json!({ "planned_at": "2026-12-04T13:05:00Z" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = admin.api(Method::POST, "acme", &format!("/records/custom.visit/{id}/transitions/done"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    t.worker().run_until_idle().await.unwrap();
    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 2, "one mail per change, though two rules name the requester: {mails:?}");
    let mut subjects: Vec<String> = smtp.received().iter().map(|m| m.header("Subject").unwrap()).collect();
    subjects.sort();
    assert_eq!(subjects, ["Intervention « Pose de la fibre » : Terminer — Acme Télécom", "Intervention « Pose de la fibre » mis à jour — Acme Télécom"]);
    let link = format!("{}/c/custom.visit/{id}", t.app.settings.tenant_url("acme"));
    for mail in smtp.received() {
        // The HTML escapes the slashes (`&#x2f;`), which mail readers decode.
        let text = mail.decoded().replace("&#x2f;", "/");
        assert!(text.contains(&format!("Consulter en ligne : {link}")) && text.contains(&format!("href=\"{link}\"")), "{text}");
        assert!(!text.contains("T13:05") && !text.contains("UTC"), "no ISO or UTC time: {text}");
    }
    let updated = smtp.received().into_iter().find(|m| m.header("Subject").unwrap().contains("mis à jour")).unwrap().decoded();
    assert!(updated.contains("Passage prévu : 4 décembre 2026 à 14:05"), "the time in Paris, written out: {updated}");
    // The link is the record's page in the portal.
    let page = admin.get(&format!("/t/acme/c/custom.visit/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Pose de la fibre"));
}

#[tokio::test]
async fn failing_jobs_are_retried_with_backoff_then_dead_lettered_and_can_be_retried() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    let job = socle_core::jobs::NewJob::new(Some(acme.id), "test.always_fails", json!({}), t.app.now_ms());
    t.app.jobs.enqueue(&job).await.unwrap();
    struct AlwaysFails;
    #[async_trait::async_trait]
    impl socle_core::jobs::JobHandler for AlwaysFails {
        async fn run(&self, _: &socle_core::jobs::Job) -> Result<(), socle_core::jobs::JobFailure> {
            Err(socle_core::jobs::JobFailure::Retry("the partner API answered 503".into()))
        }
    }
    let mut worker = t.worker();
    worker.handle("test.always_fails", std::sync::Arc::new(AlwaysFails));
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    assert_eq!(worker.run_until_idle().await.unwrap(), 0, "not before its backoff");
    for _ in 0..10 {
        t.clock.advance(Duration::from_secs(3600));
        worker.run_until_idle().await.unwrap();
    }
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let (_, dead) = admin.api(Method::GET, "acme", "/admin/jobs?status=dead", None).await;
    let jobs = dead["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{dead}");
    assert_eq!(jobs[0]["attempts"], 8);
    assert_eq!(jobs[0]["last_error"], "the partner API answered 503");
    let (status, _) = admin.api(Method::POST, "acme", &format!("/admin/jobs/{}/retry", jobs[0]["id"].as_str().unwrap()), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(worker.run_until_idle().await.unwrap(), 1, "a retried dead letter runs again");
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    assert_eq!(n1.api(Method::GET, "acme", "/admin/jobs", None).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn several_workers_never_run_a_job_twice_at_once() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    for i in 0..60 {
        t.app.jobs.enqueue(&socle_core::jobs::NewJob::new(Some(acme.id), "test.count", json!({ "n": i }), t.app.now_ms())).await.unwrap();
    }
    let runs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Count(std::sync::Arc<std::sync::Mutex<Vec<i64>>>);
    #[async_trait::async_trait]
    impl socle_core::jobs::JobHandler for Count {
        async fn run(&self, job: &socle_core::jobs::Job) -> Result<(), socle_core::jobs::JobFailure> {
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.0.lock().unwrap().push(job.payload["n"].as_i64().unwrap());
            Ok(())
        }
    }
    let node2 = t.second_node().await;
    let mut workers = Vec::new();
    for app in [&t, &t, &node2, &node2] {
        let mut worker = app.worker();
        worker.handle("test.count", std::sync::Arc::new(Count(runs.clone())));
        workers.push(worker);
    }
    let results = futures::future::join_all(workers.iter().map(|w| w.run_until_idle())).await;
    let total: usize = results.into_iter().map(Result::unwrap).sum();
    let mut seen = runs.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(total, 60);
    assert_eq!(seen, (0..60).collect::<Vec<_>>(), "each job ran exactly once");
}

#[tokio::test]
async fn filter_hooks_change_or_veto_writes() {
    use socle_core::records::hooks::{FilterHook, PendingWrite, Veto};
    struct Guard;
    #[async_trait::async_trait]
    impl FilterHook for Guard {
        fn name(&self) -> String {
            "core:test-guard".into()
        }
        fn applies(&self, _: &socle_core::records::Caller, collection: &str) -> bool {
            collection == "custom.ticket"
        }
        async fn before_write(&self, _: &socle_core::records::Caller, write: &mut PendingWrite) -> Result<(), Veto> {
            if write.data.get("subject").and_then(Value::as_str).is_some_and(|s| s.contains("interdit")) {
                return Err(Veto::new("ce sujet est interdit"));
            }
            write.data.insert("priority".into(), json!(5));
            Ok(())
        }
    }
    let t = TestApp::spawn().await;
    setup(&t).await;
    t.app.records.hooks.register(std::sync::Arc::new(Guard));
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let created = create(&admin, "custom.ticket", json!({ "subject": "Normal" })).await;
    assert_eq!(created["data"]["priority"], 5, "changed by the hook");
    let (status, body) = admin.api(Method::POST, "acme", "/records/custom.ticket", Some(json!({ "subject": "Sujet interdit" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "vetoed");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("core:test-guard: ce sujet est interdit"));
}

#[tokio::test]
async fn files_are_uploaded_attached_and_served_to_those_who_may_read_them() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let csrf = admin.csrf("acme").await;
    let upload = admin
        .client()
        .post(admin.url("/t/acme/api/v1/files"))
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/pdf")
        .header("x-file-name", "contrat%20sign%C3%A9.pdf")
        .body(b"%PDF-1.4 contract".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::CREATED);
    let file: Value = upload.json().await.unwrap();
    assert_eq!(file["name"], "contrat signé.pdf");
    let account = create(&admin, "customer_account", json!({ "name": "Client" })).await;
    let document = create(&admin, "document", json!({ "title": "Contrat", "account": account["id"], "file": file })).await;
    assert_eq!(document["data"]["file"]["size"], 17);
    let other = t.logged_in("acme", "lucas@acme.fr").await;
    let download = other.get(&format!("/t/acme/api/v1/files/{}", file["id"].as_str().unwrap())).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-disposition"], "attachment; filename=\"contrat signé.pdf\"");
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"%PDF-1.4 contract");
    // The same file cannot be attached to a second record.
    let (status, _) = admin.api(Method::POST, "acme", "/records/document", Some(json!({ "title": "Copie", "account": account["id"], "file": file }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_upload_is_attached_only_by_who_uploaded_it() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let lucas = t.logged_in("acme", "lucas@acme.fr").await;
    let account = create(&claire, "customer_account", json!({ "name": "Client" })).await;
    let (status, theirs) = lucas.upload("acme", "devis.pdf", "application/pdf", b"%PDF-1.4 devis").await;
    assert_eq!(status, StatusCode::CREATED);
    // Knowing the id of someone else's upload is not enough to take it.
    let (status, body) =
        claire.api(Method::POST, "acme", "/records/document", Some(json!({ "title": "Pris", "account": account["id"], "file": theirs }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "file", "{body}");
    assert!(body.to_string().contains("was not found"), "the same answer as a file that does not exist: {body}");
    let unknown = json!({ "id": uuid::Uuid::now_v7().to_string(), "name": "x.pdf", "content_type": "application/pdf", "size": 1 });
    let (status, _) = claire.api(Method::POST, "acme", "/records/document", Some(json!({ "title": "Rien", "account": account["id"], "file": unknown }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Its owner attaches it.
    let (status, body) =
        lucas.api(Method::POST, "acme", "/records/document", Some(json!({ "title": "Devis", "account": account["id"], "file": theirs }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_files_real_size_and_type_hold_against_what_the_client_claims_and_abandoned_uploads_are_purged() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    // A custom collection takes PDFs of at most 10 bytes.
    let scans = "[[collections]]\nname = \"custom.scan\"\nlabel = \"Scans\"\n[[collections.fields]]\nname = \"pdf\"\ntype = \"file\"\nlabel = \"PDF\"\naccept = [\"application/pdf\"]\nmax_bytes = 10\n";
    t.app.records.registry.install(acme.id, "custom:scans", &SchemaFile::parse(scans).unwrap(), &Actor::system("test")).await.unwrap();
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let account = create(&admin, "customer_account", json!({ "name": "Client" })).await;
    let (_, page) = admin.upload("acme", "page.html", "text/html", b"<b>x</b>").await;
    let lying = json!({ "id": page["id"], "name": "scan.pdf", "content_type": "application/pdf", "size": 5 });
    let (status, refused) = admin.api(Method::POST, "acme", "/records/custom.scan", Some(json!({ "pdf": lying }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("application/octet-stream files are not accepted"), "an HTML upload is stored as bytes and refused: {refused}");
    let (_, big) = admin.upload("acme", "scan.pdf", "application/pdf", b"%PDF-1.4 too long").await;
    let small = json!({ "id": big["id"], "name": "scan.pdf", "content_type": "application/pdf", "size": 9 });
    let (status, refused) = admin.api(Method::POST, "acme", "/records/custom.scan", Some(json!({ "pdf": small }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("the file is 17 bytes; at most 10"), "{refused}");

    // An upload no record takes within a day is deleted by the nightly housekeeping; one a record
    // took stays.
    let (_, kept) = admin.upload("acme", "contrat.pdf", "application/pdf", b"%PDF-1.4").await;
    create(&admin, "document", json!({ "title": "Contrat", "account": account["id"], "file": kept })).await;
    let (_, abandoned) = admin.upload("acme", "brouillon.pdf", "application/pdf", b"%PDF-1.4 draft").await;
    let path = |file: &Value| format!("/t/acme/api/v1/files/{}", file["id"].as_str().unwrap());
    t.clock.advance(Duration::from_secs(25 * 3600));
    t.run_platform_job(socle_core::records::jobs::PURGE_UPLOADS_JOB).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    assert_eq!(admin.get(&path(&abandoned)).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(admin.get(&path(&kept)).await.status(), StatusCode::OK);
    assert_eq!(admin.get(&path(&page)).await.status(), StatusCode::NOT_FOUND, "the refused write's file went too");
}

#[tokio::test]
async fn openapi_describes_the_api_and_the_callers_collections() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let anonymous: Value = t.browser().get("/openapi.json").await.json().await.unwrap();
    assert_eq!(anonymous["openapi"], "3.1.0");
    assert!(anonymous["components"]["schemas"]["collection.customer_account"]["properties"]["name"].is_object());
    assert!(anonymous["components"]["schemas"].get("collection.custom.ticket").is_none());
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    let tenant: Value = n1.get("/t/acme/openapi.json").await.json().await.unwrap();
    let schemas = &tenant["components"]["schemas"];
    assert!(schemas["collection.custom.ticket"]["properties"]["subject"].is_object());
    assert!(schemas["collection.catalogue_item"]["properties"].get("purchase_price").is_none(), "N1 cannot see the margin field");
    assert!(schemas["collection.catalogue_item"]["properties"]["sale_price"].is_object());
}

fn euros(cents: i64) -> Value {
    json!({ "amount": cents, "currency": "EUR" })
}

#[tokio::test]
async fn a_computed_margin_follows_the_prices_cannot_be_typed_and_stays_as_hidden_as_its_inputs() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    t.app.records.registry.install(acme.id, "custom:offers", &SchemaFile::parse(OFFERS).unwrap(), &Actor::system("test")).await.unwrap();
    let direction = t.logged_in("acme", "claire@acme.fr").await;
    let offer = create(&direction, "custom.offer", json!({ "label": "Mobile 5 Go", "sale_price": euros(1200), "purchase_price": euros(690) })).await;
    assert_eq!(offer["data"]["margin"], euros(510), "{offer}");
    let id = offer["id"].as_str().unwrap();
    let path = format!("/records/custom.offer/{id}");

    // The sale price moves: the margin follows in the same write.
    let (status, raised) = direction.api(Method::PATCH, "acme", &path, Some(json!({ "sale_price": euros(1490) }))).await;
    assert_eq!(status, StatusCode::OK, "{raised}");
    assert_eq!(raised["data"]["margin"], euros(800), "{raised}");
    // It cannot be typed, on create or update; the error says why.
    let (status, refused) = direction.api(Method::PATCH, "acme", &path, Some(json!({ "margin": euros(1) }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("is computed (sale_price - purchase_price)"), "{refused}");
    let (status, refused) =
        direction.api(Method::POST, "acme", "/records/custom.offer", Some(json!({ "label": "Fibre", "sale_price": euros(3000), "margin": euros(3000) }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    // No purchase price: no margin at all rather than a wrong one.
    let (_, cleared) = direction.api(Method::PATCH, "acme", &path, Some(json!({ "purchase_price": null }))).await;
    assert!(cleared["data"].get("margin").is_none(), "{cleared}");
    direction.api(Method::PATCH, "acme", &path, Some(json!({ "purchase_price": euros(690) }))).await;

    // Support N1 may not read the purchase price, so not the margin derived from it either,
    // though the margin declares no permission: not in the record, the list, nor the schema.
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    let (status, seen) = n1.api(Method::PATCH, "acme", &path, Some(json!({ "sale_price": euros(1500) }))).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert!(seen["data"].get("margin").is_none() && seen["data"].get("purchase_price").is_none(), "{seen}");
    let (_, list) = n1.api(Method::GET, "acme", "/records/custom.offer", None).await;
    assert!(!list.to_string().contains("margin") && !list.to_string().contains("810"), "{list}");
    let (_, collection) = n1.api(Method::GET, "acme", "/collections/custom.offer", None).await;
    assert!(!collection.to_string().contains("\"margin\""), "{collection}");
    let (_, mine) = direction.api(Method::GET, "acme", &path, None).await;
    assert_eq!(mine["data"]["margin"], euros(810), "N1's price change moved the margin Direction sees: {mine}");
}

#[tokio::test]
async fn a_list_search_finds_text_numbers_references_and_phones_as_typed_but_never_through_a_hidden_field() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let direction = t.logged_in("acme", "claire@acme.fr").await;
    let account = create(&direction, "customer_account", json!({ "name": "Boulangerie Kerjean", "phone": "02 98 12 34 56" })).await;
    let account_id = account["id"].as_str().unwrap();
    create(&direction, "customer_account", json!({ "name": "Crêperie Ty Breizh", "phone": "02 98 00 00 00" })).await;
    create(&direction, "custom.ticket", json!({ "subject": "Fibre coupée", "account": account_id, "margin_notes": "rabais confidentiel" })).await;
    let found = |body: &Value| {
        body["items"].as_array().unwrap().iter().map(|r| r["data"]["name"].as_str().or(r["data"]["subject"].as_str()).unwrap().to_owned()).collect::<Vec<_>>()
    };
    let q = |text: &str| format!("q={}", text.replace(' ', "%20").replace('+', "%2B"));
    for typed in ["02 98 12 34 56", "0298123456", "+33 2 98 12 34 56", "kerjean", "BOULANG"] {
        let (status, body) = direction.api(Method::GET, "acme", &format!("/records/customer_account?{}", q(typed)), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(found(&body), ["Boulangerie Kerjean"], "{typed}");
    }
    // A ticket is found by the title of the account it points to (a searchable reference)...
    let (_, body) = direction.api(Method::GET, "acme", &format!("/records/custom.ticket?{}", q("kerjean")), None).await;
    assert_eq!(found(&body), ["Fibre coupée"]);
    // ...and by a field behind a permission only by who may read it.
    let (_, body) = direction.api(Method::GET, "acme", &format!("/records/custom.ticket?{}", q("rabais")), None).await;
    assert_eq!(found(&body), ["Fibre coupée"], "Direction reads the margin notes");
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    let (_, body) = n1.api(Method::GET, "acme", &format!("/records/custom.ticket?{}", q("rabais")), None).await;
    assert!(found(&body).is_empty(), "N1 cannot find a ticket through the notes it may not read: {body}");
    let (_, body) = n1.api(Method::GET, "acme", &format!("/records/custom.ticket?{}", q("fibre coupee")), None).await;
    assert_eq!(found(&body), ["Fibre coupée"], "accents folded");
    // Global search: the account named so comes before the ticket that only points to it.
    let (_, hits) = direction.api(Method::GET, "acme", "/search?q=kerjean", None).await;
    let titles: Vec<&str> = hits["hits"].as_array().unwrap().iter().map(|h| h["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Boulangerie Kerjean", "Fibre coupée"], "{hits}");
}

#[tokio::test]
async fn a_renamed_record_is_found_by_its_new_title_through_the_records_pointing_to_it() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let direction = t.logged_in("acme", "claire@acme.fr").await;
    let account = create(&direction, "customer_account", json!({ "name": "Boulangerie Kerjean" })).await;
    let account_id = account["id"].as_str().unwrap();
    create(&direction, "custom.ticket", json!({ "subject": "Fibre coupée", "account": account_id })).await;
    let subjects = |body: &Value| body["items"].as_array().unwrap().iter().map(|r| r["data"]["subject"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    // The account is renamed: the ticket is found by the new name at once, no longer by the old.
    let (status, _) =
        direction.api(Method::PATCH, "acme", &format!("/records/customer_account/{account_id}"), Some(json!({ "name": "Boulangerie Tanguy" }))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = direction.api(Method::GET, "acme", "/records/custom.ticket?q=tanguy", None).await;
    assert_eq!(subjects(&body), ["Fibre coupée"]);
    let (_, body) = direction.api(Method::GET, "acme", "/records/custom.ticket?q=kerjean", None).await;
    assert!(subjects(&body).is_empty(), "{body}");
    // The whole index rebuilt (`socle record reindex`, after an upgrade) finds the same.
    let tenant = t.app.tenants.by_slug(&socle_tenants::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    let indexed = t.app.records.reindex(tenant.id).await.unwrap();
    assert!(indexed >= 2, "{indexed}");
    let (_, body) = direction.api(Method::GET, "acme", "/records/custom.ticket?q=boulangerie%20tanguy", None).await;
    assert_eq!(subjects(&body), ["Fibre coupée"]);
}

#[tokio::test]
async fn an_upload_is_never_stored_with_a_type_a_browser_would_run() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let direction = t.logged_in("acme", "claire@acme.fr").await;
    for (claimed, stored) in [
        ("application/javascript", "application/octet-stream"),
        ("text/html; charset=utf-8", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("Image/PNG; name=x", "image/png"),
        ("text/plain", "text/plain"),
        ("not a type", "application/octet-stream"),
    ] {
        let (status, file) = direction.upload("acme", "fichier.bin", claimed, b"alert(1)").await;
        assert_eq!(status, StatusCode::CREATED, "{claimed}: {file}");
        assert_eq!(file["content_type"], stored, "{claimed}");
    }
}
