//! Each host capability through its own narrow view, without a wasm guest: an [`Invocation`] and
//! the platform services the capability reaches (the real stores of a test app), called the way
//! the linker calls them. Grants are checked per call (undeclared and ungranted are told apart
//! and counted as denials), input is bounded, and the host-call budget stops a plugin.

use std::sync::Arc;

use serde_json::json;
use socle_core::plugins::grants::{self, GrantState, Granted};
use socle_core::plugins::host::socle::plugin as wit;
use socle_core::plugins::host::{Guest, HostError, Invocation, PendingFile, clock, config, connectors, events, files, http, kv, log, mail, random, records};
use socle_core::records::access::Reach;
use socle_marketplace::manifest::Manifest;
use socle_tenants::{Actor, Tenant};
use socle_tests::TestApp;

/// A manifest declaring a bit of everything; `ungranted` keys are declared but refused by the
/// tenant.
fn manifest() -> Manifest {
    Manifest::parse(
        r#"
data_classes = ["business"]

[plugin]
id = "sonde"
version = "1.2.0"
publisher = "acme"
name = "Sonde"
description = "Essaie chaque capacité."
api = "^1.0"

[[capabilities]]
capability = "kv"
reason = "Compter"

[[capabilities]]
capability = "config"
reason = "Lire ses réglages"

[[capabilities]]
capability = "events"
reason = "Prévenir"

[[capabilities]]
capability = "mail"
reason = "Écrire"

[[capabilities]]
capability = "http"
hosts = ["api.example.fr", "interdit.example.fr"]
reason = "Interroger une API"

[[capabilities]]
capability = "records_read"
collections = ["customer_account"]
reason = "Lire les comptes"

[[capabilities]]
capability = "records_write"
collections = ["customer_account"]
reason = "Créer des comptes"

[[capabilities]]
capability = "files_read"
collections = ["customer_account"]
reason = "Lire les pièces jointes"

[[capabilities]]
capability = "connectors"
connectors = ["orange"]
reason = "Commander des lignes"

[[settings]]
name = "seuil"
type = "number"
label = "Seuil"
default = 10

[[settings]]
name = "cle"
type = "text"
label = "Clé"
secret = true
"#,
    )
    .unwrap()
}

/// An invocation of the manifest's plugin in `tenant`, every declared grant given except
/// `refused`, allowed `budget` host calls.
fn invocation(tenant: &Tenant, refused: &[&str], budget: u32) -> Invocation {
    let manifest = manifest();
    let states: Vec<GrantState> =
        grants::declared(&manifest).into_iter().map(|grant| GrantState { granted: !refused.contains(&grant.key.as_str()), grant }).collect();
    let guest = Guest {
        id: manifest.plugin.id.clone(),
        version: manifest.plugin.version.to_string(),
        granted: Arc::new(Granted::from(states.as_slice())),
        reach: Arc::new(Reach::of(&manifest)),
    };
    Invocation::new(Arc::new(tenant.clone()), guest, budget)
}

fn is_denied(result: &Result<impl std::fmt::Debug, HostError>, says: &str) -> bool {
    matches!(result, Err(HostError::Denied(m)) if m.contains(says))
}

#[tokio::test]
async fn kv_is_the_plugins_own_checked_and_counted() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let store = t.app.plugins.store().clone();
    let mut inv = invocation(&tenant, &[], 100);
    {
        let mut kv = kv::KvHost { inv: &mut inv, store: store.as_ref() };
        use wit::kv::Host as _;
        kv.set("compteur".into(), b"41".to_vec()).await.unwrap().unwrap();
        assert_eq!(kv.increment("compteur".into(), 1).await.unwrap().unwrap(), 42);
        assert_eq!(kv.get("compteur".into()).await.unwrap().unwrap().as_deref(), Some(&b"42"[..]));
        assert!(!kv.compare_and_swap("compteur".into(), Some(b"41".to_vec()), b"0".to_vec()).await.unwrap().unwrap(), "a stale swap does nothing");
        assert_eq!(kv.keys("comp".into()).await.unwrap().unwrap(), ["compteur"]);
        assert!(matches!(kv.set(String::new(), b"x".to_vec()).await.unwrap(), Err(HostError::Invalid(e)) if e[0].field == "key"));
        kv.set("texte".into(), b"abc".to_vec()).await.unwrap().unwrap();
        assert!(matches!(kv.increment("texte".into(), 1).await.unwrap(), Err(HostError::Invalid(_))), "only integers increment");
        kv.delete("compteur".into()).await.unwrap().unwrap();
        assert_eq!(kv.get("compteur".into()).await.unwrap().unwrap(), None);
    }
    assert_eq!((inv.host_calls, inv.denials), (10, 0));
    // Another plugin of the tenant, or the same plugin in another tenant, sees nothing of it.
    assert_eq!(store.kv_get(tenant.id, "autre", "texte").await.unwrap(), None);
    let bravo = t.create_tenant("bravo", "Bravo").await;
    assert_eq!(store.kv_get(bravo.id, "sonde", "texte").await.unwrap(), None);

    let mut refused = invocation(&tenant, &["kv"], 100);
    let mut kv = kv::KvHost { inv: &mut refused, store: store.as_ref() };
    use wit::kv::Host as _;
    assert!(is_denied(&kv.get("texte".into()).await.unwrap(), "the tenant has not granted"));
    assert_eq!(refused.denials, 1);
}

#[tokio::test]
async fn config_reads_settings_with_defaults_and_secrets_only_through_secret() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let store = t.app.plugins.store().clone();
    store.set_setting(tenant.id, "sonde", "cle", &json!("s3cr3t"), true, &Actor::system("test")).await.unwrap();
    let manifest = manifest();
    let mut inv = invocation(&tenant, &[], 100);
    let mut config = config::ConfigHost { inv: &mut inv, store: store.as_ref(), settings: &manifest.settings };
    use wit::config::Host as _;
    assert_eq!(config.get("seuil".into()).await.unwrap().unwrap().as_deref(), Some("10"), "the manifest's default");
    assert_eq!(config.get("cle".into()).await.unwrap().unwrap(), None, "a secret is never read as a setting");
    assert_eq!(config.secret("cle".into()).await.unwrap().unwrap().as_deref(), Some("s3cr3t"));
    assert_eq!(config.secret("seuil".into()).await.unwrap().unwrap(), None, "a setting is not a secret");
    let mut refused = invocation(&tenant, &["config"], 100);
    let mut config = config::ConfigHost { inv: &mut refused, store: store.as_ref(), settings: &manifest.settings };
    assert!(is_denied(&config.get("seuil".into()).await.unwrap(), "config"));
}

#[tokio::test]
async fn records_go_through_the_engine_as_the_plugin_with_its_reach_and_grants() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let keys = grants::declared(&manifest()).into_iter().map(|g| g.key).collect();
    t.app.plugins.set_grants(tenant.id, &manifest(), &keys, &Actor::system("test")).await.unwrap();
    let engine = t.app.records.clone();
    let mut inv = invocation(&tenant, &[], 100);
    let mut records = records::RecordsHost { inv: &mut inv, records: &engine };
    use wit::records::Host as _;
    let created = records.create("customer_account".into(), json!({ "name": "Garage Martin" }).to_string()).await.unwrap().unwrap();
    let read = records.get(created.id.clone()).await.unwrap().unwrap();
    assert_eq!((read.collection.as_str(), read.version), ("customer_account", 1));
    assert!(read.data.contains("Garage Martin"));
    let invalid = records.create("customer_account".into(), "{}".into()).await.unwrap();
    assert!(matches!(&invalid, Err(HostError::Invalid(e)) if e[0].field == "name"), "{invalid:?}");
    let undeclared = records.create("contact".into(), json!({ "name": "X" }).to_string()).await.unwrap();
    assert!(is_denied(&undeclared, "contact"), "{undeclared:?}");
    assert!(matches!(records.get("pas-un-id".into()).await.unwrap(), Err(HostError::NotFound(_))));
    assert_eq!(inv.denials, 1);
    // The journal names the plugin.
    let history = engine.history(&inv.caller(), uuid::Uuid::parse_str(&created.id).unwrap(), None, 10).await.unwrap();
    assert_eq!(history[0].actor, "plugin:sonde");
}

#[tokio::test]
async fn files_are_read_only_when_granted_and_attached_or_pending_from_the_writer() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let engine = t.app.records.clone();
    let system = socle_core::records::Caller { tenant: tenant.id, actor: Actor::system("test"), principal: socle_core::records::Principal::System };
    let upload = engine.upload(&system, "import.csv", "text/csv", b"ligne;montant\n1;2\n").await.unwrap();
    let mut inv = invocation(&tenant, &[], 100);
    use wit::files::Host as _;
    // An unattached upload is nobody's business…
    let mut files = files::FilesHost { inv: &mut inv, records: &engine, pending: &[] };
    assert!(matches!(files.read(upload.id.to_string()).await.unwrap(), Err(HostError::NotFound(_))));
    // …except the filter hooks checking the write that attaches it, made by its uploader.
    let pending = [PendingFile { id: upload.id, collection: "customer_account".into(), uploader: "system".into() }];
    let mut files = files::FilesHost { inv: &mut inv, records: &engine, pending: &pending };
    let file = files.read(upload.id.to_string()).await.unwrap().unwrap();
    assert_eq!((file.name.as_str(), file.content.as_slice()), ("import.csv", &b"ligne;montant\n1;2\n"[..]));
    let someone_else = [PendingFile { uploader: "user:autre".into(), ..pending[0].clone() }];
    let mut files = files::FilesHost { inv: &mut inv, records: &engine, pending: &someone_else };
    assert!(matches!(files.read(upload.id.to_string()).await.unwrap(), Err(HostError::NotFound(_))), "another user's upload");
    let mut refused = invocation(&tenant, &["files_read:customer_account"], 100);
    let mut files = files::FilesHost { inv: &mut refused, records: &engine, pending: &pending };
    assert!(is_denied(&files.read(upload.id.to_string()).await.unwrap(), "files_read"));
}

#[tokio::test]
async fn events_reach_the_action_hooks_subscribed_to_them_through_the_outbox() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let hook = |name: &str, on: &[&str]| -> socle_marketplace::manifest::HookDef {
        serde_json::from_value(json!({ "name": name, "kind": "action", "collection": "customer_account", "on": on })).unwrap()
    };
    let facturation = [hook("sur_commande", &["commande.passee"]), hook("sur_autre", &["autre"])];
    let subscriptions = events::subscriptions([("facturation", &facturation[..])]);
    let jobs = t.app.jobs.clone();
    let clock = t.app.plugins.services().clock.clone();
    let mut inv = invocation(&tenant, &[], 100);
    let mut emitter = events::EventsHost { inv: &mut inv, jobs: jobs.as_ref(), clock: &clock, subscriptions: &subscriptions };
    use wit::events::Host as _;
    emitter.emit("commande.passee".into(), json!({ "numero": 7 }).to_string()).await.unwrap().unwrap();
    assert!(matches!(emitter.emit(String::new(), "{}".into()).await.unwrap(), Err(HostError::Invalid(_))));
    let queued = jobs.list(tenant.id, "queued", 10).await.unwrap();
    let actions: Vec<_> = queued.iter().filter(|j| j.kind == events::ACTION_JOB).collect();
    assert_eq!(actions.len(), 1, "one job per subscribed hook: {queued:?}");
    assert_eq!((actions[0].payload["plugin"].as_str(), actions[0].payload["hook"].as_str()), (Some("facturation"), Some("sur_commande")));
    assert_eq!(actions[0].payload["details"]["from"], "sonde");
    let mut refused = invocation(&tenant, &["events"], 100);
    let mut emitter = events::EventsHost { inv: &mut refused, jobs: jobs.as_ref(), clock: &clock, subscriptions: &subscriptions };
    assert!(is_denied(&emitter.emit("commande.passee".into(), "{}".into()).await.unwrap(), "events"));
}

#[tokio::test]
async fn mail_sends_only_the_notification_template_in_the_tenants_brand() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let mailer = t.app.mailer.clone();
    let mut inv = invocation(&tenant, &[], 100);
    let mut sender = mail::MailHost { inv: &mut inv, mailer: &mailer, records: &t.app.records };
    use wit::mail::Host as _;
    let vars = json!({ "subject": "Commande reçue", "message": "Votre commande 7 est enregistrée." }).to_string();
    sender.send("client@example.fr".into(), "notification".into(), vars.clone()).await.unwrap().unwrap();
    assert!(matches!(sender.send("client@example.fr".into(), "password_reset".into(), vars).await.unwrap(), Err(HostError::NotFound(_))));
    let empty = json!({ "subject": "", "message": "x" }).to_string();
    assert!(
        matches!(sender.send("client@example.fr".into(), "notification".into(), empty).await.unwrap(), Err(HostError::Invalid(e)) if e[0].field == "vars.subject")
    );
    let mails = mailer.store().list(tenant.id, 10).await.unwrap();
    assert_eq!(
        mails.iter().map(|m| (m.recipient.as_str(), m.subject.as_str())).collect::<Vec<_>>(),
        [("client@example.fr", "Commande reçue — Alpha")],
        "in the tenant's brand"
    );
    let mut refused = invocation(&tenant, &["mail"], 100);
    let mut sender = mail::MailHost { inv: &mut refused, mailer: &mailer, records: &t.app.records };
    assert!(is_denied(&sender.send("a@example.fr".into(), "notification".into(), "{}".into()).await.unwrap(), "mail"));
}

#[tokio::test]
async fn a_plugins_mail_links_to_a_record_it_may_read_on_the_tenants_own_host() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let keys = grants::declared(&manifest()).into_iter().map(|g| g.key).collect();
    t.app.plugins.set_grants(tenant.id, &manifest(), &keys, &Actor::system("test")).await.unwrap();
    let mailer = t.app.mailer.clone();
    let mut inv = invocation(&tenant, &[], 100);
    let account = {
        let mut records = records::RecordsHost { inv: &mut inv, records: &t.app.records };
        use wit::records::Host as _;
        records.create("customer_account".into(), json!({ "name": "Garage Martin" }).to_string()).await.unwrap().unwrap().id
    };
    let mut sender = mail::MailHost { inv: &mut inv, mailer: &mailer, records: &t.app.records };
    use wit::mail::Host as _;
    let about = |collection: &str, id: &str| {
        json!({ "subject": "Compte mis à jour", "message": "Rendez-vous le {{time:2026-12-04T13:05:00Z}}.", "record": { "collection": collection, "id": id } })
            .to_string()
    };
    sender.send("client@example.fr".into(), "notification".into(), about("customer_account", &account)).await.unwrap().unwrap();
    let mails = mailer.store().list(tenant.id, 10).await.unwrap();
    let link = format!("{}/c/customer_account/{account}", t.app.settings.tenant_url("alpha"));
    assert!(link.starts_with("http://alpha."), "{link}");
    assert!(mails[0].text.contains(&format!("Consulter en ligne : {link}")), "{}", mails[0].text);
    // The HTML escapes the slashes (`&#x2f;`), which browsers and mail readers decode.
    assert!(mails[0].html.replace("&#x2f;", "/").contains(&format!("href=\"{link}\"")), "{}", mails[0].html);
    assert!(mails[0].text.contains("Rendez-vous le 4 décembre 2026 à 14:05."), "local time, written out: {}", mails[0].text);

    // A record of a collection the plugin did not declare, a record that does not exist, an id
    // that is no uuid: refused, nothing queued.
    let system = socle_core::records::Caller::system(tenant.id, "test");
    let mut contact = serde_json::Map::new();
    contact.insert("last_name".into(), json!("Martin"));
    contact.insert("account".into(), json!(account));
    let contact = t.app.records.create(&system, "contact", contact).await.unwrap().id.to_string();
    let denied = sender.send("client@example.fr".into(), "notification".into(), about("contact", &contact)).await.unwrap();
    assert!(is_denied(&denied, "contact"), "{denied:?}");
    let other = uuid::Uuid::now_v7().to_string();
    let elsewhere = sender.send("client@example.fr".into(), "notification".into(), about("customer_account", &other)).await.unwrap();
    assert!(matches!(elsewhere, Err(HostError::NotFound(_))), "{elsewhere:?}");
    let bad = sender.send("client@example.fr".into(), "notification".into(), about("customer_account", "T-00001")).await.unwrap();
    assert!(matches!(&bad, Err(HostError::Invalid(e)) if e[0].field == "vars.record.id"), "{bad:?}");
    let bad_time = json!({ "subject": "x", "message": "le {{time:demain}}" }).to_string();
    let bad = sender.send("client@example.fr".into(), "notification".into(), bad_time).await.unwrap();
    assert!(matches!(&bad, Err(HostError::Invalid(e)) if e[0].field == "vars.message" && e[0].message.contains("{{time:demain}}")), "{bad:?}");
    assert_eq!(mailer.store().list(tenant.id, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_action_hook_run_again_queues_its_mails_once() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let mailer = t.app.mailer.clone();
    let vars = |message: &str| json!({ "subject": "Ticket", "message": message }).to_string();
    // The same job run three times (it failed twice after mailing): one mail to each address,
    // and a second, different mail to the same address in the run is its own mail.
    for _ in 0..3 {
        let mut inv = invocation(&tenant, &[], 100);
        inv.replay_key = Some("job-1".into());
        let mut sender = mail::MailHost { inv: &mut inv, mailer: &mailer, records: &t.app.records };
        use wit::mail::Host as _;
        sender.send("client@example.fr".into(), "notification".into(), vars("Nouveau statut : En cours.")).await.unwrap().unwrap();
        sender.send("Client@Example.fr ".into(), "notification".into(), vars("Nouvelle réponse.")).await.unwrap().unwrap();
        sender.send("equipe@example.fr".into(), "notification".into(), vars("Le client attend.")).await.unwrap().unwrap();
    }
    let mails = mailer.store().list(tenant.id, 20).await.unwrap();
    let mut sent: Vec<(String, String)> = mails.iter().map(|m| (m.recipient.clone(), m.text.lines().nth(2).unwrap_or_default().to_owned())).collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            ("client@example.fr".to_owned(), "Nouveau statut : En cours.".to_owned()),
            ("client@example.fr".to_owned(), "Nouvelle réponse.".to_owned()),
            ("equipe@example.fr".to_owned(), "Le client attend.".to_owned())
        ]
    );
    // Another job (another change) mails again; outside a job (a route, an action) nothing is
    // held back.
    let mut inv = invocation(&tenant, &[], 100);
    inv.replay_key = Some("job-2".into());
    let mut sender = mail::MailHost { inv: &mut inv, mailer: &mailer, records: &t.app.records };
    use wit::mail::Host as _;
    sender.send("client@example.fr".into(), "notification".into(), vars("Nouveau statut : Résolu.")).await.unwrap().unwrap();
    let mut inv = invocation(&tenant, &[], 100);
    let mut sender = mail::MailHost { inv: &mut inv, mailer: &mailer, records: &t.app.records };
    for _ in 0..2 {
        sender.send("client@example.fr".into(), "notification".into(), vars("Relance.")).await.unwrap().unwrap();
    }
    assert_eq!(mailer.store().list(tenant.id, 20).await.unwrap().len(), 6);
}

#[tokio::test]
async fn http_reaches_declared_and_granted_public_hosts_only() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let client = t.app.plugins.services().http.clone();
    let mut inv = invocation(&tenant, &["http:interdit.example.fr"], 100);
    let mut fetcher = http::HttpHost { inv: &mut inv, client: &client, allow_private_hosts: &[] };
    use wit::http::Host as _;
    let get = |url: &str| wit::http::Request { method: "GET".into(), url: url.into(), headers: Vec::new(), body: None };
    assert!(is_denied(&fetcher.fetch(get("https://ailleurs.example.fr/")).await.unwrap(), "does not declare"));
    assert!(is_denied(&fetcher.fetch(get("https://interdit.example.fr/")).await.unwrap(), "has not granted"));
    assert!(matches!(fetcher.fetch(get("pas une url")).await.unwrap(), Err(HostError::Invalid(_))));
    assert!(matches!(fetcher.fetch(get("http://api.example.fr/")).await.unwrap(), Err(HostError::Invalid(e)) if e[0].message.contains("https")));
    assert_eq!((inv.host_calls, inv.denials), (4, 2));
}

#[tokio::test]
async fn connectors_are_named_by_the_platform_and_granted_per_connector() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let client = t.app.plugins.services().http.clone();
    let settings = socle_core::config::PluginSettings::default();
    let mut inv = invocation(&tenant, &[], 100);
    let mut caller = connectors::ConnectorsHost { inv: &mut inv, client: &client, settings: &settings };
    use wit::connectors::Host as _;
    let unknown = caller.call("orange".into(), "suspend-line".into(), "{}".into()).await.unwrap();
    assert!(matches!(&unknown, Err(HostError::NotFound(m)) if m.contains("no connector `orange`")), "{unknown:?}");
    assert!(is_denied(&caller.call("sfr".into(), "suspend-line".into(), "{}".into()).await.unwrap(), "sfr"));
}

#[tokio::test]
async fn code_under_review_reaches_sandbox_connectors_only_no_network_and_no_mail() {
    let t = TestApp::spawn().await;
    // What the marketplace's smoke run installs a submitted plugin in.
    let slug = socle_tenants::Slug::review_sandbox("essai").unwrap();
    assert!(socle_tenants::Slug::parse("smoke-essai").is_err(), "no customer can take a review sandbox's name");
    let tenant = t.app.tenants.create(socle_tenants::NewTenant::new(slug, "Revue"), &Actor::system("test")).await.unwrap();
    // The operator's endpoint, with the platform's token: it must hear nothing.
    let operator = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut settings = socle_core::config::PluginSettings { allow_private_hosts: vec!["127.0.0.1".into()], ..Default::default() };
    settings.connectors.insert(
        "orange".into(),
        socle_core::config::ConnectorSettings { url: format!("http://{}/orange", operator.local_addr().unwrap()), token: Some("jeton".to_owned().into()) },
    );
    let client = t.app.plugins.services().http.clone();
    let mut inv = invocation(&tenant, &[], 100);
    let answer = {
        let mut caller = connectors::ConnectorsHost { inv: &mut inv, client: &client, settings: &settings };
        use wit::connectors::Host as _;
        caller.call("orange".into(), "suspend-line".into(), "{\"line\": \"0612907010\"}".into()).await.unwrap()
    };
    assert!(answer.as_ref().is_ok_and(|a| a.contains("\"sandbox\":true")), "{answer:?}");
    assert!(tokio::time::timeout(std::time::Duration::from_millis(300), operator.accept()).await.is_err(), "the operator was called");
    use wit::http::Host as _;
    let mut fetcher = http::HttpHost { inv: &mut inv, client: &client, allow_private_hosts: &[] };
    let fetched =
        fetcher.fetch(wit::http::Request { method: "GET".into(), url: "https://api.example.fr/".into(), headers: Vec::new(), body: None }).await.unwrap();
    assert!(matches!(&fetched, Err(HostError::Unavailable(m)) if m.contains("review")), "{fetched:?}");
}

#[tokio::test]
async fn clock_log_and_random_count_against_the_budget_which_stops_the_plugin() {
    let t = TestApp::spawn().await;
    let tenant = t.create_tenant("alpha", "Alpha").await;
    let time = t.app.plugins.services().clock.clone();
    let mut inv = invocation(&tenant, &[], 3);
    use wit::clock::Host as _;
    use wit::log::Host as _;
    use wit::random::Host as _;
    assert_eq!(clock::ClockHost { inv: &mut inv, clock: &time }.now().await.unwrap(), time.now_ms());
    log::LogHost { inv: &mut inv }.log(wit::log::Level::Info, "bonjour".into()).await.unwrap();
    assert_eq!(random::RandomHost { inv: &mut inv }.bytes(1_000_000).await.unwrap().len(), 4096, "at most 4 KiB at a time");
    let over = random::RandomHost { inv: &mut inv }.bytes(1).await;
    assert!(over.unwrap_err().to_string().contains("budget of 3 host calls"), "the fourth call traps");
}
