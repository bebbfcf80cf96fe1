//! The admin console in plain words, over HTTP: validation errors in the asker's language with
//! their field, brand colours checked for contrast (warned, links kept readable), the journal as
//! events with names and titles, plugins' capabilities as sentences. (The same screens in a real
//! browser are in `tests/browser/admin_plain.test.mjs`.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_tenants::Tenant;
use socle_tests::{Browser, TestApp};

async fn setup(t: &TestApp) -> Tenant {
    let acme = t.create_tenant("acme", "Acme Télécom").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    t.create_user(&acme, "lucas@acme.fr", "interne", &["support_n1"]).await;
    acme
}

/// An admin API call in a language (`None`: no `Accept-Language`, as API clients send).
async fn api_in(browser: &Browser, language: Option<&str>, method: Method, path: &str, body: Value) -> (StatusCode, Value, Option<String>) {
    let csrf = browser.csrf("acme").await;
    let mut request = browser.client().request(method, browser.url(&format!("/t/acme/api/v1{path}"))).header("x-csrf-token", csrf).json(&body);
    if let Some(language) = language {
        request = request.header("accept-language", language);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_language = response.headers().get("content-language").map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap_or(Value::Null), content_language)
}

/// HTML with the entities templates escape turned back into characters.
fn unescape(html: &str) -> String {
    html.replace("&#x27;", "'").replace("&#x2f;", "/").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The text a person reads on a page: tags and their attributes (links' addresses) left out.
fn shown_text(html: &str) -> String {
    let html = unescape(html);
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn has_uuid(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-')).any(|w| uuid::Uuid::parse_str(w).is_ok())
}

#[tokio::test]
async fn admin_validation_answers_in_french_with_its_field_when_asked_and_in_english_otherwise() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;

    // The workspace's name: English by default (what API clients have always read)…
    let (status, body, _) = api_in(&claire, None, Method::PATCH, "/admin/tenant", json!({ "name": "" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "name");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("must be 1 to 80 characters"), "{body}");
    let (_, body, _) = api_in(&claire, Some("en-GB,en;q=0.9"), Method::PATCH, "/admin/tenant", json!({ "name": "" })).await;
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("must be 1 to 80 characters"), "{body}");
    // …French for the console, same code and field.
    let (status, body, language) = api_in(&claire, Some("fr-FR,fr;q=0.9"), Method::PATCH, "/admin/tenant", json!({ "name": "" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0], json!({ "code": "validation_failed", "field": "name", "detail": "Le nom doit compter de 1 à 80 caractères." }));
    assert_eq!(language.as_deref(), Some("fr"));

    // A colour that is not one names its field, in French.
    let (_, body, _) = api_in(&claire, Some("fr"), Method::PATCH, "/admin/tenant", json!({ "theme": { "primary": "jaune" } })).await;
    assert_eq!(body["errors"][0]["field"], "theme.primary", "{body}");
    assert_eq!(body["errors"][0]["detail"], "« jaune » n'est pas une couleur : écrivez-la sous la forme #rrggbb, par exemple #1f6feb.");
    // Unreadable text on the background is refused, saying what to fix.
    let (_, body, _) = api_in(&claire, Some("fr"), Method::PATCH, "/admin/tenant", json!({ "theme": { "text": "#eeeeee" } })).await;
    assert_eq!(body["errors"][0]["field"], "theme.background", "{body}");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("il faut au moins 4,5:1"), "{body}");

    // Users: a bad address, an address already taken (attached to the email field).
    let user = json!({ "email": "pas-une-adresse", "display_name": "Jeanne", "user_type": "interne", "roles": ["support_n1"] });
    let (_, body, _) = api_in(&claire, Some("fr"), Method::POST, "/admin/users", user).await;
    assert_eq!(body["errors"][0]["field"], "email");
    assert_eq!(body["errors"][0]["detail"], "Cette adresse e-mail n'est pas valide (exemple : prenom.nom@exemple.fr).");
    let taken = json!({ "email": "lucas@acme.fr", "display_name": "Lucas bis", "user_type": "interne", "roles": ["support_n1"] });
    let (status, body, _) = api_in(&claire, Some("fr"), Method::POST, "/admin/users", taken).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["errors"][0]["field"], "email");
    assert_eq!(body["errors"][0]["detail"], "Un utilisateur de cet espace a déjà l'adresse lucas@acme.fr.");
    let client_role = json!({ "email": "x@acme.fr", "display_name": "X", "user_type": "client", "roles": ["support_n1"], "account": null });
    let (_, body, _) = api_in(&claire, Some("fr"), Method::POST, "/admin/users", client_role).await;
    assert_eq!(body["errors"][0]["field"], "roles");
    assert!(body["errors"][0]["detail"].as_str().unwrap().starts_with("Ce rôle ne peut pas être donné à un utilisateur de type Client"), "{body}");

    // Roles: taking away one's own administration.
    let (status, body, _) = api_in(&claire, Some("fr"), Method::PUT, "/admin/roles/direction/permissions", json!({ "permissions": [] })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["errors"][0]["code"], "would_lock_out");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("permission « Administrer »"), "{body}");
}

#[tokio::test]
async fn a_light_primary_colour_is_accepted_with_a_warning_and_links_get_a_readable_shade() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let (status, body) = claire.api(Method::PATCH, "acme", "/admin/tenant", Some(json!({ "theme": { "primary": "#f1c40f" } }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let warnings = body["contrast_warnings"].as_array().unwrap();
    assert_eq!(warnings[0]["field"], "theme.primary", "{body}");
    assert_eq!(warnings[0]["kind"], "links");
    assert!(warnings[0]["ratio"].as_f64().unwrap() < 4.5);
    let link = warnings[0]["adjusted"].as_str().unwrap().to_owned();
    assert_ne!(link, "#f1c40f");
    // The portal's stylesheet gives links that shade; the brand colour stays the bar's.
    let css = claire.get("/t/acme/theme.css").await.text().await.unwrap();
    assert!(css.contains("--color-primary: #f1c40f;") && css.contains(&format!("--color-link: {link};")), "{css}");
    // The branding page says what is wrong and what to do.
    let html = claire.get("/t/acme/admin/branding").await.text().await.unwrap();
    assert!(html.contains("il faut au moins 4,5:1") && html.contains("Choisissez une teinte plus foncée"), "{html}");
    assert!(html.contains("value=\"#f1c40f\" data-color-for=\"b-primary\""), "the swatch shows the colour: {html}");
    // A readable brand has nothing to warn about.
    let (_, body) = claire.api(Method::PATCH, "acme", "/admin/tenant", Some(json!({ "theme": { "primary": "#1f4ed8" } }))).await;
    assert_eq!(body["contrast_warnings"], json!([]));
}

#[tokio::test]
async fn the_journal_reads_as_events_with_names_titles_links_and_local_times() {
    let t = TestApp::spawn().await;
    setup(&t).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let (status, created) = claire.api(Method::POST, "acme", "/records/customer_account", Some(json!({ "name": "Boulangerie du Port" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let user = json!({ "email": "jeanne@acme.fr", "display_name": "Jeanne Durand", "user_type": "interne", "roles": ["support_n1"], "password": "un mot de passe assez long" });
    let (status, body) = claire.api(Method::POST, "acme", "/admin/users", Some(user)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let wrong = t.browser();
    wrong.login("acme", "claire@acme.fr", "not the password").await;

    let html = claire.get("/t/acme/admin/audit").await.text().await.unwrap();
    let text = shown_text(&html);
    for expected in
        ["Connexion réussie", "Échec de connexion", "Utilisateur créé", "Jeanne Durand", "Fiche créée", "Compte client", "Boulangerie du Port", "claire"]
    {
        assert!(text.contains(expected), "the journal lacks {expected}: {text}");
    }
    assert!(unescape(&html).contains(&format!("href=\"/t/acme/c/customer_account/{id}\"")), "a link to the record: {html}");
    for code in ["login.succeeded", "user.created", "record.created", "record:", "user:", "UTC"] {
        assert!(!text.contains(code), "the journal shows {code}: {text}");
    }
    assert!(!has_uuid(&text), "the journal shows an id: {text}");
    // The JSON API keeps the machine form.
    let (_, journal) = claire.api(Method::GET, "acme", "/admin/audit", None).await;
    assert!(journal["entries"].as_array().unwrap().iter().any(|e| e["action"] == "record.created" && e["target"] == format!("record:customer_account:{id}")));
    // Filtered to logins.
    let html = claire.get("/t/acme/admin/audit?action=login.").await.text().await.unwrap();
    assert!(html.contains("Connexion réussie") && !html.contains("Fiche créée"));
}

#[tokio::test]
async fn a_plugins_capabilities_read_as_sentences_and_its_health_as_words() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    t.install(&acme, "good").await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let html = claire.get("/t/acme/admin/plugins/good").await.text().await.unwrap();
    let text = shown_text(&html);
    for expected in [
        "Lire les comptes clients",
        "Envoyer des e-mails",
        "Échanger avec le service en ligne localhost",
        "Raison donnée par l'extension : Afficher les comptes clients",
    ] {
        assert!(text.contains(expected), "the plugin page lacks {expected}: {text}");
    }
    for raw in ["records_read", "\"invocations\"", "p95_us", "{"] {
        assert!(!text.contains(raw), "the plugin page shows {raw}: {text}");
    }
    // The grant keys stay what the form sends.
    assert!(html.contains("value=\"records_read:customer_account\""));
    let html = claire.get("/t/acme/admin/marketplace").await.text().await.unwrap();
    assert!(!shown_text(&html).contains("1 installations") && !shown_text(&html).contains("0 installations"));
}

#[tokio::test]
async fn the_console_reads_in_english_for_an_english_speaking_admin() {
    let t = TestApp::spawn().await;
    let acme = setup(&t).await;
    t.install(&acme, "good").await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    let (_, me) = claire.api(Method::GET, "acme", "/me", None).await;
    let id = me["user"]["id"].as_str().unwrap().to_owned();
    let (status, body) = claire.api(Method::PATCH, "acme", &format!("/admin/users/{id}"), Some(json!({ "locale": "en" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _) = claire.api(Method::PATCH, "acme", "/admin/tenant", Some(json!({ "theme": { "primary": "#f1c40f" } }))).await;
    for (path, expected) in [
        ("/t/acme/admin/audit", "Logged in"),
        ("/t/acme/admin/plugins", "Installed extensions"),
        ("/t/acme/admin/plugins/good", "Read customer accounts"),
        ("/t/acme/admin/marketplace", "Marketplace"),
        ("/t/acme/admin/plugins/good", "The extension's reason:"),
        ("/t/acme/admin/branding", "text needs at least 4.5:1"),
        ("/t/acme/admin/approvals", "Nothing to approve"),
        ("/t/acme/admin/notifications", "No notifications"),
    ] {
        let response = claire.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let text = shown_text(&response.text().await.unwrap());
        assert!(text.contains(expected), "{path} lacks {expected}: {text}");
        assert!(!text.contains("Connexion réussie") && !text.contains("installations"), "{path} speaks French to an English reader: {text}");
    }
}
