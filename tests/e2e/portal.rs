//! The portal's screens over HTTP, as htmx and plain forms drive them: the list and side panel,
//! fields that save themselves with conflict detection, mass actions, search, the admin console,
//! field permissions in the HTML, CSRF and tenant isolation. (The same flows in a real browser
//! are in `tests/browser`.)

use reqwest::{Method, StatusCode};
use serde_json::json;
use socle_marketplace::schema::SchemaFile;
use socle_tenants::{Actor, Tenant};
use socle_tests::{Browser, TestApp};

use crate::records::create;

const TICKETS: &str = r##"
[[collections]]
name = "custom.ticket"
label = { fr = "Tickets", en = "Tickets" }
label_one = { fr = "Ticket", en = "Ticket" }
title_field = "subject"

[[collections.fields]]
name = "subject"
type = "text"
label = "Objet"
required = true
searchable = true

[[collections.fields]]
name = "priority"
type = "number"
label = "Priorité"
decimals = 0

[[collections.fields]]
name = "status"
type = "enum"
label = "Statut"
index = true
values = [{ key = "ouvert", label = "Ouvert", color = "#0e9f6e" }, { key = "resolu", label = "Résolu", color = "#6b7280" }]

[[collections.fields]]
name = "margin_notes"
type = "text"
label = "Notes de marge"
read_permission = "voir_marge"
write_permission = "voir_marge"

[collections.workflow]
field = "status"
initial = "ouvert"
transitions = [{ name = "resolve", label = "Résoudre", from = ["ouvert"], to = "resolu" }]
"##;

async fn setup(t: &TestApp) -> Tenant {
    let acme = t.create_tenant("acme", "Acme Télécom").await;
    let schema = SchemaFile::parse(TICKETS).unwrap();
    t.app.records.registry.install(acme.id, "custom:tickets", &schema, &Actor::system("test")).await.unwrap();
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    acme
}

async fn page(browser: &Browser, path: &str) -> (StatusCode, String) {
    let response = browser.get(path).await;
    (response.status(), response.text().await.unwrap())
}

/// An htmx POST of form fields with the session's CSRF header.
async fn htmx_post(browser: &Browser, slug: &str, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, Option<String>) {
    let csrf = browser.csrf(slug).await;
    let response = browser
        .client()
        .post(browser.url(&format!("/t/{slug}{path}")))
        .header("hx-request", "true")
        .header("x-csrf-token", csrf)
        .form(form)
        .send()
        .await
        .unwrap();
    let trigger = response.headers().get("hx-trigger").map(|v| v.to_str().unwrap().to_owned());
    (response.status(), response.text().await.unwrap(), trigger)
}

#[tokio::test]
async fn the_list_and_panel_show_only_the_fields_the_role_may_read() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let direction = t.logged_in("acme", "claire@acme.fr").await;
    let ticket = create(&direction, "custom.ticket", json!({ "subject": "Ligne coupée", "priority": 2, "margin_notes": "marge-secrete-42" })).await;
    let id = ticket["id"].as_str().unwrap();

    let (status, html) = page(&direction, &format!("/t/acme/c/custom.ticket?open={id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ligne coupée") && html.contains("Notes de marge") && html.contains("marge-secrete-42"), "{html}");
    assert!(html.contains("chip chip-0e9f6e"), "enum values get their colour class");

    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    for path in [format!("/t/acme/c/custom.ticket?open={id}"), format!("/t/acme/c/custom.ticket/{id}"), "/t/acme/search?q=ligne".to_owned()] {
        let (status, html) = page(&n1, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("Ligne coupée"), "{path}: {html}");
        assert!(!html.contains("marge-secrete-42") && !html.contains("Notes de marge") && !html.contains("margin_notes"), "{path} leaks the margin: {html}");
    }
    // The field cannot be written by name either.
    let (status, body, _) =
        htmx_post(&n1, "acme", &format!("/c/custom.ticket/{id}/fields/margin_notes"), &[("value", "x"), ("version", "1"), ("original", "")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn a_record_created_from_the_form_saves_its_fields_one_by_one_and_keeps_history() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let browser = t.logged_in("acme", "claire@acme.fr").await;

    // A plain form (no JavaScript): errors come back in the page, then the record opens.
    let (status, html) = page(&browser, "/t/acme/c/custom.ticket/new").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = Browser::form_csrf(&html).unwrap();
    let response = browser
        .client()
        .post(browser.url("/t/acme/c/custom.ticket"))
        .form(&[("_csrf", csrf.as_str()), ("subject", ""), ("priority", "abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("Objet") && html.contains("Priorité"), "each wrong field is named by its label: {html}");
    let response = browser
        .client()
        .post(browser.url("/t/acme/c/custom.ticket"))
        .form(&[("_csrf", csrf.as_str()), ("subject", "Fibre lente"), ("priority", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let id = location.split("open=").nth(1).unwrap().to_owned();

    // Auto-save of one field: the answer carries the new version and the saved state.
    let (status, html, trigger) =
        htmx_post(&browser, "acme", &format!("/c/custom.ticket/{id}/fields/priority"), &[("value", "1"), ("version", "1"), ("original", "3")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("id=\"version-{id}\" name=\"version\" value=\"2\"")), "{html}");
    assert!(html.contains("Enregistré"), "{html}");
    assert_eq!(trigger.as_deref(), Some("records-changed"), "the list refreshes");
    // A wrong value is refused next to the field; nothing is written.
    let (_, html, _) =
        htmx_post(&browser, "acme", &format!("/c/custom.ticket/{id}/fields/priority"), &[("value", "beaucoup"), ("version", "2"), ("original", "1")]).await;
    assert!(html.contains("Priorité :") && html.contains("n&#x27;est pas un nombre"), "{html}");
    let (_, record) = browser.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!(record["data"]["priority"], 1);
    assert_eq!(record["version"], 2);

    // The panel shows the history and the workflow button; firing it moves the record.
    let (_, html) = page(&browser, &format!("/t/acme/c/custom.ticket?open={id}")).await;
    assert!(html.contains("Priorité : 1") && html.contains("data-transition=\"resolve\""), "{html}");
    let (status, html, _) = htmx_post(&browser, "acme", &format!("/c/custom.ticket/{id}/transitions/resolve"), &[("version", "2")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Résolu") && !html.contains("data-transition=\"resolve\""), "{html}");
}

#[tokio::test]
async fn a_field_someone_else_changed_meanwhile_shows_a_conflict_and_other_fields_merge() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let lucas = t.logged_in("acme", "lucas@acme.fr").await;
    let ticket = create(&claire, "custom.ticket", json!({ "subject": "Standard en panne", "priority": 2 })).await;
    let id = ticket["id"].as_str().unwrap();
    // Both opened the panel at version 1. Lucas changes the subject first.
    let (status, _) =
        lucas.api(Method::PATCH, "acme", &format!("/records/custom.ticket/{id}"), Some(json!({ "subject": "Standard en panne depuis 9h" }))).await;
    assert_eq!(status, StatusCode::OK);

    // Claire edits the same field from her stale page: nothing is written, both values shown.
    let (status, html, trigger) = htmx_post(
        &claire,
        "acme",
        &format!("/c/custom.ticket/{id}/fields/subject"),
        &[("value", "Standard HS"), ("version", "1"), ("original", "Standard en panne")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("class=\"conflict\"")
            && html.contains("Standard en panne depuis 9h")
            && html.contains("Standard HS")
            && html.contains("par lucas.")
            && !html.contains("lucas@acme.fr"),
        "{html}"
    );
    assert_eq!(trigger, None);
    let (_, record) = claire.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!(record["data"]["subject"], "Standard en panne depuis 9h");

    // A different field from the same stale page merges on top of Lucas's change.
    let (_, html, _) =
        htmx_post(&claire, "acme", &format!("/c/custom.ticket/{id}/fields/priority"), &[("value", "1"), ("version", "1"), ("original", "2")]).await;
    assert!(!html.contains("class=\"conflict\"") && html.contains("Enregistré"), "{html}");
    let (_, record) = claire.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!((record["data"]["subject"].as_str(), record["data"]["priority"].as_i64()), (Some("Standard en panne depuis 9h"), Some(1)));

    // Her page now holds the record's newer version (the priority save moved it on), but her
    // subject input still holds her own text: sending it again, as a click elsewhere does, is
    // still a conflict: nothing is overwritten until she chooses.
    let version = record["version"].as_i64().unwrap().to_string();
    let (_, html, _) = htmx_post(
        &claire,
        "acme",
        &format!("/c/custom.ticket/{id}/fields/subject"),
        &[("value", "Standard HS"), ("version", &version), ("original", "Standard en panne")],
    )
    .await;
    assert!(html.contains("class=\"conflict\"") && !html.contains("Enregistré"), "{html}");
    let (_, record) = claire.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!(record["data"]["subject"], "Standard en panne depuis 9h", "the colleague's value is kept");

    // "Keep mine" sends her value again with the current version: it wins, knowingly.
    let version = record["version"].as_i64().unwrap().to_string();
    let (_, html, _) = htmx_post(
        &claire,
        "acme",
        &format!("/c/custom.ticket/{id}/fields/subject"),
        &[("value", "Standard HS"), ("version", &version), ("original", "Standard en panne depuis 9h")],
    )
    .await;
    assert!(html.contains("Enregistré"), "{html}");
    let (_, record) = claire.api(Method::GET, "acme", &format!("/records/custom.ticket/{id}"), None).await;
    assert_eq!(record["data"]["subject"], "Standard HS");
}

#[tokio::test]
async fn a_mass_action_runs_on_the_selected_records_and_reports_failures() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let browser = t.logged_in("acme", "claire@acme.fr").await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(create(&browser, "custom.ticket", json!({ "subject": format!("Incident {n}") })).await["id"].as_str().unwrap().to_owned());
    }
    // One is already resolved: the transition fails for it alone.
    let (status, _) = browser.api(Method::POST, "acme", &format!("/records/custom.ticket/{}/transitions/resolve", ids[4]), None).await;
    assert_eq!(status, StatusCode::OK);
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", id.as_str())).collect();
    form.push(("op", "transition:resolve"));
    let (status, html, trigger) = htmx_post(&browser, "acme", "/c/custom.ticket/mass", &form).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("4 enregistrements traités") && html.contains(&ids[4][..8]), "{html}");
    assert_eq!(trigger.as_deref(), Some("records-changed, panel-stale"), "the list and the open panel refresh");
    let (_, html) = page(&browser, "/t/acme/c/custom.ticket?f.status=resolu").await;
    assert!(html.contains("5 enregistrements"), "{html}");

    // Setting a field on several records at once.
    let mut form: Vec<(&str, &str)> = ids[..2].iter().map(|id| ("ids", id.as_str())).collect();
    form.extend([("op", "set:subject"), ("set.subject", "Regroupé")]);
    let (_, html, _) = htmx_post(&browser, "acme", "/c/custom.ticket/mass", &form).await;
    assert!(html.contains("2 enregistrements"), "{html}");
    let (_, html) = page(&browser, "/t/acme/c/custom.ticket?q=regroup").await;
    assert!(html.contains("2 enregistrements"), "{html}");

    // A list filtered, sorted and paginated keeps its parameters in links.
    let (_, html) = page(&browser, "/t/acme/c/custom.ticket?sort=-subject&f.status=resolu").await;
    assert!(html.contains("aria-sort=\"descending\""), "{html}");

    // Bad operations are refused with a clear message.
    let (status, body, _) = htmx_post(&browser, "acme", "/c/custom.ticket/mass", &[("ids", ids[0].as_str()), ("op", "explode")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not an operation"), "{body}");
}

#[tokio::test]
async fn a_mass_action_takes_every_record_the_filtered_list_matches_across_pages() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let browser = t.logged_in("acme", "claire@acme.fr").await;
    for n in 0..60 {
        create(&browser, "custom.ticket", json!({ "subject": format!("Ligne coupée {n}") })).await;
    }
    for n in 0..3 {
        create(&browser, "custom.ticket", json!({ "subject": format!("Facture {n}") })).await;
    }
    // The list of the 60 shows 50 and offers to select all 60.
    let (_, html) = page(&browser, "/t/acme/c/custom.ticket?q=coup").await;
    assert!(html.contains("60 enregistrements") && html.contains("data-select-matching data-total=\"60\""), "{html}");
    assert!(html.contains("name=\"all_matching\" value=\"q=coup\""), "{html}");

    let (status, html, _) = htmx_post(&browser, "acme", "/c/custom.ticket/mass", &[("all_matching", "q=coup"), ("op", "transition:resolve")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("60 enregistrements traités"), "{html}");
    let (_, html) = page(&browser, "/t/acme/c/custom.ticket?f.status=resolu").await;
    assert!(html.contains("60 enregistrements"), "the three others are untouched: {html}");

    // Filters are checked like the list's own.
    let (status, body, _) = htmx_post(&browser, "acme", "/c/custom.ticket/mass", &[("all_matching", "f.nope=1"), ("op", "delete")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("has no field `nope`"), "{body}");
}

#[tokio::test]
async fn each_user_switches_the_portal_to_english_and_back_without_losing_their_page() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let lucas = t.logged_in("acme", "lucas@acme.fr").await;
    let (_, html) = page(&claire, "/t/acme/c/custom.ticket").await;
    assert!(html.contains("Se déconnecter") && html.contains(">English</button>"), "French by default: {html}");

    let csrf = claire.csrf("acme").await;
    let response = claire
        .client()
        .post(claire.url("/t/acme/me/language"))
        .header("referer", claire.url("/t/acme/c/custom.ticket?q=panne"))
        .form(&[("_csrf", csrf.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/t/acme/c/custom.ticket?q=panne", "back to the same list");
    let (_, html) = page(&claire, "/t/acme/c/custom.ticket").await;
    assert!(html.contains("Log out") && html.contains(">Français</button>") && html.contains("<html lang=\"en\">"), "{html}");
    let (_, html) = page(&lucas, "/t/acme/c/custom.ticket").await;
    assert!(html.contains("Se déconnecter"), "another user keeps French: {html}");

    // A referer elsewhere sends home; an unknown language is refused; no token, no change.
    let response = claire
        .client()
        .post(claire.url("/t/acme/me/language"))
        .header("referer", "https://evil.example/ailleurs")
        .form(&[("_csrf", csrf.as_str()), ("lang", "fr")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["location"], "/t/acme/");
    let response = claire.client().post(claire.url("/t/acme/me/language")).form(&[("_csrf", csrf.as_str()), ("lang", "klingon")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = claire.client().post(claire.url("/t/acme/me/language")).form(&[("lang", "en")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, html) = page(&claire, "/t/acme/c/custom.ticket").await;
    assert!(html.contains("Se déconnecter"), "{html}");
}

const COMMENTS: &str = r##"
[[collections]]
name = "custom.comment"
label = { fr = "Commentaires", en = "Comments" }
title_field = "body"

[[collections.fields]]
name = "body"
type = "text"
label = "Texte"
required = true

[[collections.fields]]
name = "ticket"
type = "reference"
collection = "custom.ticket"
label = "Ticket"
required = true
"##;

#[tokio::test]
async fn a_record_lists_what_points_at_it_and_adds_one_already_linked_then_comes_back() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    t.app.records.registry.install(acme.id, "custom:comments", &SchemaFile::parse(COMMENTS).unwrap(), &Actor::system("test")).await.unwrap();
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let ticket = create(&claire, "custom.ticket", json!({ "subject": "Standard en panne" })).await;
    let id = ticket["id"].as_str().unwrap();
    let other = create(&claire, "custom.ticket", json!({ "subject": "Autre ticket" })).await;
    create(&claire, "custom.comment", json!({ "body": "Sur l'autre ticket", "ticket": other["id"] })).await;

    // The ticket's panel has a related list of its comments (none yet) with an add button.
    let (_, html) = page(&claire, &format!("/t/acme/c/custom.ticket/{id}")).await;
    assert!(html.contains("section class=\"panel-section related\"") && html.contains("Commentaires"), "{html}");
    assert!(!html.contains("Sur l'autre ticket"), "another ticket's comment is not listed: {html}");
    let add = format!("&#x2f;t&#x2f;acme&#x2f;c&#x2f;custom.comment&#x2f;new?ticket={id}&amp;return=custom.ticket&#x2f;{id}");
    assert!(html.contains(&add), "{html}");

    // The form comes prefilled and remembers where it came from.
    let (_, form) = page(&claire, &format!("/t/acme/c/custom.comment/new?ticket={id}&return=custom.ticket/{id}")).await;
    assert!(form.contains(&format!("name=\"_return\" value=\"custom.ticket&#x2f;{id}\"")), "{form}");
    assert!(form.contains(&format!("value=\"{id}\" selected")), "the ticket is chosen: {form}");

    // Created: the ticket's panel comes back, listing the new comment.
    let return_to = format!("custom.ticket/{id}");
    let (status, html, _) =
        htmx_post(&claire, "acme", "/c/custom.comment", &[("body", "Rappeler le client à 14 h"), ("ticket", id), ("_return", &return_to)]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Standard en panne") && html.contains("Rappeler le client à 14 h") && html.contains("(1)"), "{html}");

    // A return that is not `<collection>/<id>` is ignored: the new record is shown.
    let (_, html, _) = htmx_post(&claire, "acme", "/c/custom.comment", &[("body", "Deuxième"), ("ticket", id), ("_return", "https://evil.example/x")]).await;
    assert!(html.contains("id=\"panel-title\" tabindex=\"-1\">Deuxième<"), "{html}");
}

#[tokio::test]
async fn the_portal_refuses_forged_requests_and_other_tenants_ids() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let globex = t.create_tenant("globex", "Globex").await;
    t.create_user(&globex, "admin@globex.fr", "interne", &["direction"]).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let account = create(&claire, "customer_account", json!({ "name": "Boulangerie Kerjean" })).await;
    let id = account["id"].as_str().unwrap();

    // No CSRF token, no change.
    let response = claire
        .client()
        .post(claire.url(&format!("/t/acme/c/customer_account/{id}/fields/name")))
        .form(&[("value", "Piraté"), ("version", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    // Globex's admin cannot see or touch Acme's record through Globex's portal.
    let globex_admin = t.logged_in("globex", "admin@globex.fr").await;
    let (status, _) = page(&globex_admin, &format!("/t/globex/c/customer_account/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = htmx_post(
        &globex_admin,
        "globex",
        &format!("/c/customer_account/{id}/fields/name"),
        &[("value", "Piraté"), ("version", "1"), ("original", "Boulangerie Kerjean")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = htmx_post(&globex_admin, "globex", "/c/customer_account/mass", &[("ids", id), ("op", "delete")]).await;
    assert_eq!(status, StatusCode::OK);
    let (_, record) = claire.api(Method::GET, "acme", &format!("/records/customer_account/{id}"), None).await;
    assert_eq!(record["data"]["name"], "Boulangerie Kerjean", "the mass delete failed for Globex: {record}");
    // And Acme's session is worthless on Globex's portal.
    let (status, _) = page(&claire, "/t/globex/c/customer_account").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Without a session, an htmx request is told to go to the login page.
    let anonymous = t.browser();
    let response = anonymous.client().get(anonymous.url("/t/acme/c/customer_account")).header("hx-request", "true").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["hx-redirect"], "/t/acme/login");
}

#[tokio::test]
async fn the_admin_console_shows_each_section_to_admins_only() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    for (path, expected) in [
        ("/t/acme/admin/marketplace", "Catalogue"),
        ("/t/acme/admin/plugins", "Extensions installées"),
        ("/t/acme/admin/approvals", "Rien à approuver"),
        ("/t/acme/admin/branding", "type=\"color\" id=\"b-primary-swatch\""),
        ("/t/acme/admin/users", "lucas@acme.fr"),
        ("/t/acme/admin/roles", "aria-label=\"Support N1 — Voir marge\""),
        ("/t/acme/admin/audit", "Journal"),
        ("/t/acme/admin/notifications", "Aucune notification"),
    ] {
        let (status, html) = page(&claire, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(html.contains(expected), "{path} lacks {expected}: {html}");
    }
    let lucas = t.logged_in("acme", "lucas@acme.fr").await;
    let (status, _) = page(&lucas, "/t/acme/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, html) = page(&lucas, "/t/acme/").await;
    assert!(!html.contains("/t/acme/admin\""), "no admin link for N1: {html}");
}

#[tokio::test]
async fn a_saved_view_keeps_the_filters_and_belongs_to_its_user() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    for (subject, resolve) in [("Box HS", true), ("Débit faible", false), ("Facture erronée", true)] {
        let id = create(&claire, "custom.ticket", json!({ "subject": subject })).await["id"].as_str().unwrap().to_owned();
        if resolve {
            claire.api(Method::POST, "acme", &format!("/records/custom.ticket/{id}/transitions/resolve"), None).await;
        }
    }
    let (_, html) = page(&claire, "/t/acme/c/custom.ticket").await;
    let csrf = Browser::form_csrf(&html).unwrap();
    let response = claire
        .client()
        .post(claire.url("/t/acme/c/custom.ticket/views"))
        .form(&[("_csrf", csrf.as_str()), ("name", "Résolus"), ("query", "f.status=resolu&sort=subject&open=x&evil=1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let target = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(target.contains("f.status=resolu&sort=subject&saved=") && !target.contains("evil") && !target.contains("open="), "{target}");
    let (_, html) = page(&claire, &target).await;
    assert!(html.contains("★ Résolus") && html.contains("2 enregistrements"), "{html}");

    // A view without a name is refused; another user does not see Claire's views.
    let response =
        claire.client().post(claire.url("/t/acme/c/custom.ticket/views")).form(&[("_csrf", csrf.as_str()), ("name", " "), ("query", "")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let lucas = t.logged_in("acme", "lucas@acme.fr").await;
    let (_, html) = page(&lucas, "/t/acme/c/custom.ticket").await;
    assert!(!html.contains("★ Résolus"), "{html}");
    let view_id = target.split("saved=").nth(1).unwrap();
    let csrf_lucas = Browser::form_csrf(&html).unwrap();
    let response = lucas
        .client()
        .post(lucas.url(&format!("/t/acme/c/custom.ticket/views/{view_id}/delete")))
        .form(&[("_csrf", csrf_lucas.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "only its owner deletes a view");
}

#[tokio::test]
async fn the_partner_console_shows_a_publishers_own_packages_analytics_and_statements_only() {
    let t = TestApp::spawn().await;
    let partner = crate::marketplace::Partner::new(&t, "socle-tests", 7).await;
    partner.publish(&t, &crate::marketplace::package("good", |m| m)).await;
    let browser = t.browser();
    assert_eq!(browser.get("/partners").await.headers()["location"], "/partners/login");
    let refused = browser.submit("/partners/login", "/partners/login", &[("token", "socle_pub_not-a-token")]).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let ok = browser.submit("/partners/login", "/partners/login", &[("token", partner.token.as_str())]).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    for (path, expected) in [
        ("/partners", "ed25519:"),
        ("/partners/packages", "Rapport de validation"),
        ("/partners/analytics/good", "Versions utilisées"),
        ("/partners/statements?period=2026-10", "Relevé de 2026-10"),
    ] {
        let (status, html) = page(&browser, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(html.contains(expected), "{path} lacks {expected}: {html}");
    }
    // The console's session works on the partner API, but a change needs the CSRF token too.
    let response = browser.client().post(browser.url("/api/v1/partners/tokens")).json(&json!({ "name": "ci" })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Another publisher's plugin looks like a missing one.
    let other = crate::marketplace::Partner::new(&t, "autre-editeur", 9).await;
    let other_browser = t.browser();
    other_browser.submit("/partners/login", "/partners/login", &[("token", other.token.as_str())]).await;
    let (status, _) = page(&other_browser, "/partners/analytics/good").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Not served on a tenant host.
    t.create_tenant("acme", "Acme").await;
    let on_tenant = browser.on_host(Method::GET, "acme.localhost", "/partners/login").send().await.unwrap();
    assert_eq!(on_tenant.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_operator_console_reviews_submissions_and_shows_rollouts_and_health() {
    let t = TestApp::spawn().await;
    let hash = socle_core::identity::secrets::hash_password(socle_tests::PASSWORD).await.unwrap();
    t.app.operators.create("ops@socle.fr", "Ops", &hash, &Actor::system("test")).await.unwrap();
    let partner = crate::marketplace::Partner::new(&t, "socle-tests", 7).await;
    let (status, body) = partner.call(Method::GET, "/me", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let browser = t.browser();
    let ok = browser.submit("/ops/login", "/ops/login", &[("email", "ops@socle.fr"), ("password", socle_tests::PASSWORD)]).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    for (path, expected) in [("/ops/reviews", "Validation des extensions"), ("/ops/rollouts", "/ops/marketplace/kill"), ("/ops/health", "Base de données")] {
        let (status, html) = page(&browser, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {html}");
        assert!(html.contains(expected), "{path} lacks {expected}: {html}");
    }
    // A rejection without a reason is refused; a decision on nothing in review is a conflict.
    let (_, html) = page(&browser, "/ops/reviews").await;
    let csrf = Browser::form_csrf(&html).unwrap();
    let response = browser
        .client()
        .post(browser.url("/ops/reviews"))
        .form(&[("_csrf", csrf.as_str()), ("plugin", "good"), ("version", "1.0.0"), ("decision", "reject"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = browser
        .client()
        .post(browser.url("/ops/reviews"))
        .form(&[("_csrf", csrf.as_str()), ("plugin", "good"), ("version", "1.0.0"), ("decision", "approve"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn static_assets_travel_gzipped_to_browsers_that_accept_it() {
    let t = TestApp::spawn().await;
    let browser = t.browser();
    for (file, ratio) in [("htmx.min.js", 3), ("socle.css", 3), ("socle.js", 2)] {
        let plain = browser.get(&format!("/static/{file}")).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert!(plain.headers().get("content-encoding").is_none(), "{file}: no gzip unless asked");
        let plain = plain.bytes().await.unwrap();
        let url = browser.url(&format!("/static/{file}"));
        let gz = browser.client().get(&url).header("accept-encoding", "br, gzip;q=0.8").send().await.unwrap();
        assert_eq!(gz.headers()["content-encoding"], "gzip");
        assert_eq!(gz.headers()["vary"], "accept-encoding");
        let compressed = gz.bytes().await.unwrap();
        assert!(compressed.len() * ratio < plain.len(), "{file}: {} of {} bytes", compressed.len(), plain.len());
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&compressed[..]), &mut unzipped).unwrap();
        assert_eq!(unzipped, plain, "{file}: the same bytes once unzipped");
        // `q=0` refuses an encoding.
        let refused = browser.client().get(&url).header("accept-encoding", "gzip;q=0").send().await.unwrap();
        assert!(refused.headers().get("content-encoding").is_none());
    }
}

#[tokio::test]
async fn a_french_decimal_is_read_as_such_shown_as_understood_and_the_margin_follows_on_screen() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    t.app.records.registry.install(acme.id, "custom:offers", &SchemaFile::parse(crate::records::OFFERS).unwrap(), &Actor::system("test")).await.unwrap();
    let direction = t.logged_in("acme", "claire@acme.fr").await;
    let euros = |cents: i64| json!({ "amount": cents, "currency": "EUR" });
    let offer = create(&direction, "custom.offer", json!({ "label": "Mobile 5 Go", "sale_price": euros(1200), "purchase_price": euros(690) })).await;
    let id = offer["id"].as_str().unwrap();

    // Amounts are typed in a text input with a decimal keypad, never a locale-dependent number
    // input; the margin is shown, not offered for typing.
    let (_, html) = page(&direction, &format!("/t/acme/c/custom.offer/{id}")).await;
    let input = html.split("id=\"in-sale_price\"").nth(1).and_then(|rest| rest.split('>').next()).unwrap_or_default().to_owned();
    assert!(input.contains("inputmode=\"decimal\"") && !html.contains("type=\"number\""), "{input}");
    assert!(html.contains("<p class=\"readonly\" id=\"in-margin\">5,10"), "{html}");

    let (status, html, _) =
        htmx_post(&direction, "acme", &format!("/c/custom.offer/{id}/fields/sale_price"), &[("value", "14,90"), ("version", "1"), ("original", "12.00")]).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Enregistré : 14,90"), "the value understood is said back: {html}");
    assert!(html.contains("id=\"in-margin\" hx-swap-oob=\"true\">8,00"), "the margin follows on screen: {html}");
    let (_, record) = direction.api(Method::GET, "acme", &format!("/records/custom.offer/{id}"), None).await;
    assert_eq!((record["data"]["sale_price"].clone(), record["data"]["margin"].clone()), (euros(1490), euros(800)), "{record}");
    // What cannot be read as an amount is refused, never guessed.
    for typed in ["1.490,00", "14,9,0", "quatorze"] {
        let (_, html, _) =
            htmx_post(&direction, "acme", &format!("/c/custom.offer/{id}/fields/sale_price"), &[("value", typed), ("version", "2"), ("original", "14.90")])
                .await;
        assert!(!html.contains("Enregistré"), "{typed}: {html}");
    }
    let (_, record) = direction.api(Method::GET, "acme", &format!("/records/custom.offer/{id}"), None).await;
    assert_eq!(record["data"]["sale_price"], euros(1490));
}

#[tokio::test]
async fn a_browser_meets_errors_as_pages_in_french_in_the_tenants_brand_never_as_json() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    let navigate = |path: &str| n1.client().get(n1.url(path)).header("accept", "text/html,application/xhtml+xml,*/*;q=0.8").send();
    for (path, status, heading) in [
        ("/t/acme/admin/users", StatusCode::FORBIDDEN, "Accès refusé"),
        ("/t/acme/c/custom.nothing", StatusCode::NOT_FOUND, "Page introuvable"),
        ("/t/acme/c/custom.ticket/0190b6e2-0000-7000-8000-000000000000", StatusCode::NOT_FOUND, "Page introuvable"),
        ("/t/acme/no/such/page", StatusCode::NOT_FOUND, "Page introuvable"),
        ("/t/acme/c/custom.ticket?sort=nope", StatusCode::UNPROCESSABLE_ENTITY, "Demande incomprise"),
    ] {
        let response = navigate(path).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(heading) && html.contains("Acme Télécom") && html.contains("Retour à l&#x27;accueil"), "{path}: {html}");
        assert!(!html.contains("\"errors\"") && !html.contains("forbidden") && !html.contains("not_found"), "{path}: no JSON nor codes: {html}");
    }
    // The JSON API and htmx fragments keep their machine-readable answers.
    let (status, body) = n1.api(Method::GET, "acme", "/admin/users", None).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{body}");
}

#[tokio::test]
async fn the_list_exports_as_a_french_spreadsheet_for_who_may_export_with_only_readable_columns() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    t.app.records.registry.install(acme.id, "custom:offers", &SchemaFile::parse(crate::records::OFFERS).unwrap(), &Actor::system("test")).await.unwrap();
    t.create_user(&acme, "gaelle@acme.fr", "interne", &["gestionnaire"]).await;
    let direction = t.logged_in("acme", "claire@acme.fr").await;
    let euros = |cents: i64| json!({ "amount": cents, "currency": "EUR" });
    create(&direction, "custom.offer", json!({ "label": "Mobile 5 Go; pro", "sale_price": euros(149_000), "purchase_price": euros(690) })).await;
    create(&direction, "custom.offer", json!({ "label": "=HYPERLINK(\"x\")", "sale_price": euros(-510) })).await;
    create(&direction, "custom.offer", json!({ "label": "Fibre", "sale_price": euros(3000) })).await;

    // The list offers it, with the list's own search carried over.
    let (_, html) = page(&direction, "/t/acme/c/custom.offer?q=mobile").await;
    assert!(html.contains("export.csv?q=mobile") && html.contains("Exporter (tableur)"), "{html}");
    let response = direction.get("/t/acme/c/custom.offer/export.csv?q=mobile").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with('\u{feff}'), "a byte-order mark for spreadsheets");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines, ["Libellé;Prix de vente;Prix d'achat;Marge", "\"Mobile 5 Go; pro\";1490,00;6,90;1483,10"], "{csv}");
    // Everything, formulas neutralised, negative amounts kept as numbers.
    let csv = direction.get("/t/acme/c/custom.offer/export.csv").await.text().await.unwrap();
    assert!(csv.contains("'=HYPERLINK(\"\"x\"\")\";-5,10") || csv.contains("\"'=HYPERLINK(\"\"x\"\")\";-5,10"), "{csv}");

    // A manager may export but not read purchase prices: neither they nor the margin appear.
    let gestionnaire = t.logged_in("acme", "gaelle@acme.fr").await;
    let csv = gestionnaire.get("/t/acme/c/custom.offer/export.csv").await.text().await.unwrap();
    assert!(csv.contains("Libellé;Prix de vente\r\n") && !csv.contains("6,90") && !csv.contains("Marge"), "{csv}");
    // Support N1 may not export: no link, and the address refuses.
    let n1 = t.logged_in("acme", "lucas@acme.fr").await;
    let (_, html) = page(&n1, "/t/acme/c/custom.offer").await;
    assert!(!html.contains("export.csv"), "{html}");
    assert_eq!(n1.get("/t/acme/c/custom.offer/export.csv").await.status(), StatusCode::FORBIDDEN);
}
