//! Plugins end to end, with the fixture components of `tests/fixtures`: a well-behaved plugin
//! through routes, filter and action hooks, actions, panels, settings, grants and receipts; hostile
//! ones (endless loop, memory bomb, deep recursion, host-call flood) failing only their own call;
//! a sneaky one refused everything it did not declare or was not granted, and never reaching
//! another tenant.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use socle_tenants::Tenant;
use socle_tests::{Browser, SmtpSink, TestApp};

async fn tenant_with_admin(t: &TestApp, slug: &str) -> (Tenant, Browser) {
    let tenant = t.create_tenant(slug, &format!("{slug} SAS")).await;
    t.create_user(&tenant, &format!("claire@{slug}.fr"), "interne", &["direction"]).await;
    let admin = t.logged_in(slug, &format!("claire@{slug}.fr")).await;
    (tenant, admin)
}

async fn create(browser: &Browser, slug: &str, collection: &str, body: Value) -> Value {
    let (status, record) = browser.api(Method::POST, slug, &format!("/records/{collection}"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    record
}

#[tokio::test]
async fn a_well_behaved_plugin_serves_routes_hooks_actions_and_panels() {
    let t = TestApp::spawn().await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    t.install(&acme, "good").await;

    // A route, with the tenant's setting (default first, then changed by the administrator).
    let (status, hello) = admin.api(Method::GET, "acme", "/x/good/hello", None).await;
    assert_eq!(status, StatusCode::OK, "{hello}");
    assert_eq!(hello["greeting"], "Bonjour");
    assert!(hello["user"].as_str().unwrap().starts_with("user:"), "routes know their user: {hello}");
    let (status, _) = admin.api(Method::PUT, "acme", "/admin/plugins/good/settings", Some(json!({ "greeting": "Salut" }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/hello", None).await.1["greeting"], "Salut");
    let (status, refused) = admin.api(Method::PUT, "acme", "/admin/plugins/good/settings", Some(json!({ "colour": "red" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused.to_string().contains("good@1.0.0 has no setting `colour`"), "{refused}");

    // The plugin's collection works through the records API, with its filter hook inside the write.
    let note = create(&admin, "acme", "good.note", json!({ "title": "première note" })).await;
    assert_eq!(note["data"]["title"], "Première note", "the filter capitalised the title");
    assert_eq!(note["data"]["priority"], 1);
    let (status, vetoed) = admin.api(Method::POST, "acme", "/records/good.note", Some(json!({ "title": "a forbidden word" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{vetoed}");
    assert!(vetoed.to_string().contains("les titres « forbidden » sont refusés"), "the user sees the plugin's reason: {vetoed}");
    assert!(vetoed.to_string().contains("good"), "and which plugin refused: {vetoed}");
    let (_, page) = admin.api(Method::GET, "acme", "/records/good.note", None).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "the vetoed write left nothing: {page}");

    // The action hook runs after commit, from the outbox.
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/count", None).await.1, json!({ "created": 0, "installed": true }));
    t.worker().run_until_idle().await.unwrap();
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/count", None).await.1, json!({ "created": 1, "installed": true }));
    // At least once, never twice for the same change.
    t.worker().run_until_idle().await.unwrap();
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/count", None).await.1["created"], 1);

    // An action on records, writing through the host API.
    let id = note["id"].as_str().unwrap();
    let (status, bumped) = admin.api(Method::POST, "acme", "/x/good/actions/bump", Some(json!({ "ids": [id] }))).await;
    assert_eq!(status, StatusCode::OK, "{bumped}");
    assert_eq!(bumped["result"]["bumped"], 1);
    let (_, after) = admin.api(Method::GET, "acme", &format!("/records/good.note/{id}"), None).await;
    assert_eq!(after["data"]["priority"], 2);
    assert_eq!(after["updated_by"], "plugin:good", "the history names the plugin: {after}");
    let (status, _) = admin.api(Method::POST, "acme", "/x/good/actions/nope", Some(json!({ "ids": [id] }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A panel is sanitised HTML: no scripts, no handlers, no javascript: links.
    let response = admin.get(&format!("/t/acme/api/v1/x/good/panels/summary?record={id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<b>Première note</b>"), "{html}");
    for forbidden in ["<script", "onclick", "javascript:", "alert"] {
        assert!(!html.contains(forbidden), "`{forbidden}` survived sanitising: {html}");
    }

    // Outbound HTTP without the platform allowing private hosts: a declared host that resolves
    // to a private address is refused (the SSRF guard), and so is plain http.
    let port = t.addr.port();
    let (status, fetched) = admin.api(Method::GET, "acme", &format!("/x/good/fetch?url=https://localhost:{port}/healthz"), None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{fetched}");
    assert!(fetched["error"].as_str().unwrap().contains("localhost resolves only to private addresses"), "{fetched}");
    let (status, fetched) = admin.api(Method::GET, "acme", &format!("/x/good/fetch?url=http://localhost:{port}/healthz"), None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{fetched}");
    assert!(fetched["error"].as_str().unwrap().contains("use https"), "{fetched}");
}

#[tokio::test]
async fn outbound_http_reaches_only_declared_hosts() {
    let t = TestApp::spawn_configured(|s| s.plugins.allow_private_hosts = vec!["localhost".into()]).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    t.install(&acme, "good").await;
    let port = t.addr.port();
    let (status, fetched) = admin.api(Method::GET, "acme", &format!("/x/good/fetch?url=http://localhost:{port}/healthz"), None).await;
    assert_eq!(status, StatusCode::OK, "{fetched}");
    assert_eq!(fetched["status"], 200);
    assert!(fetched["body"].as_str().unwrap().contains("ok"), "{fetched}");
    // Same server, another name: not declared.
    let (status, fetched) = admin.api(Method::GET, "acme", &format!("/x/good/fetch?url=http://127.0.0.1:{port}/healthz"), None).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{fetched}");
    assert!(fetched["error"].as_str().unwrap().contains("127.0.0.1"), "{fetched}");
    assert!(fetched["error"].as_str().unwrap().contains("denied"), "{fetched}");
}

#[tokio::test]
async fn hostile_plugins_fail_only_their_own_call_with_an_error_naming_them() {
    let t = TestApp::spawn().await;
    let (evil, admin) = tenant_with_admin(&t, "evil").await;
    for name in ["spin", "bomb", "recurse", "flood", "good"] {
        t.install(&evil, name).await;
    }
    let cases =
        [("spin", "deadline of 1000 ms"), ("bomb", "out of memory"), ("recurse", "recursion deeper than its stack"), ("flood", "budget of 1000 host calls")];
    for (plugin, cause) in cases {
        let (status, error) = admin.api(Method::GET, "evil", &format!("/x/{plugin}/go"), None).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{plugin}: {error}");
        let message = error["errors"][0]["detail"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("{plugin}@1.0.0")), "{plugin}: the error names the plugin and version: {error}");
        assert!(message.contains("tenant evil"), "{plugin}: the error names the tenant: {error}");
        assert!(message.contains(cause), "{plugin}: the error says why ({cause}): {error}");
        // The server and the tenant's other plugins go on.
        let (status, hello) = admin.api(Method::GET, "evil", "/x/good/hello", None).await;
        assert_eq!(status, StatusCode::OK, "after {plugin}: {hello}");
    }
    let health = t.browser().get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);

    // Each failure left a receipt; the administrator sees them per plugin.
    let (status, list) = admin.api(Method::GET, "evil", "/admin/plugins", None).await;
    assert_eq!(status, StatusCode::OK);
    let plugins = list["plugins"].as_array().unwrap();
    for (plugin, _) in cases {
        let entry = plugins.iter().find(|p| p["plugin"] == plugin).unwrap();
        assert_eq!(entry["health"]["traps"], 1, "{plugin}: {entry}");
    }
    let (_, receipts) = admin.api(Method::GET, "evil", "/admin/plugins/bomb/receipts", None).await;
    let receipt = &receipts["receipts"].as_array().unwrap()[0];
    assert_eq!(receipt["outcome"], "trap");
    assert!(receipt["peak_memory"].as_i64().unwrap() >= 16 << 20, "the receipt shows the memory reached: {receipt}");
    let (_, receipts) = admin.api(Method::GET, "evil", "/admin/plugins/flood/receipts", None).await;
    assert_eq!(receipts["receipts"][0]["host_calls"], 1001, "{receipts}");
    let (_, receipts) = admin.api(Method::GET, "evil", "/admin/plugins/spin/receipts", None).await;
    assert!(receipts["receipts"][0]["epochs"].as_i64().unwrap() >= 50, "{receipts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_tenants_requests_are_served_while_hostile_plugins_run() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    let t = TestApp::spawn().await;
    let (calm, calm_admin) = tenant_with_admin(&t, "calm").await;
    let (evil, evil_admin) = tenant_with_admin(&t, "evil").await;
    t.install(&calm, "good").await;
    for name in ["spin", "flood", "bomb"] {
        t.install(&evil, name).await;
    }

    // Six hostile calls at a time, more than the evil tenant's plan runs at once. Each one runs
    // until it is stopped (its deadline, memory or host-call budget) or waits for a turn until
    // refused. `started` and `finished` count the endless loops, which last a whole deadline.
    let counter = || Arc::new(AtomicUsize::new(0));
    let (stop, started, finished, refused) = (Arc::new(AtomicBool::new(false)), counter(), counter(), counter());
    let mut attackers = Vec::new();
    for i in 0..6 {
        let (stop, started, finished, refused) = (stop.clone(), started.clone(), finished.clone(), refused.clone());
        let (client, base) = (evil_admin.client().clone(), t.tenant_url("evil"));
        let plugin = ["spin", "spin", "spin", "spin", "flood", "bomb"][i];
        attackers.push(tokio::spawn(async move {
            while !stop.load(SeqCst) {
                let spin = plugin == "spin";
                if spin {
                    started.fetch_add(1, SeqCst);
                }
                let status = client.get(format!("{base}/api/v1/x/{plugin}/go")).send().await.unwrap().status();
                if spin {
                    finished.fetch_add(1, SeqCst);
                }
                // Failed, or refused while the tenant's other invocations hold its turns.
                assert!(matches!(status, StatusCode::BAD_GATEWAY | StatusCode::TOO_MANY_REQUESTS), "{status}");
                if status == StatusCode::TOO_MANY_REQUESTS {
                    refused.fetch_add(1, SeqCst);
                }
            }
        }));
    }
    while started.load(SeqCst) < 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The calm tenant's requests are all answered by its plugin, and each ends while hostile calls
    // that began before it are still running: it did not wait for them. (If it had, every loop in
    // flight when it started would have finished first.)
    let mut overtook = 0;
    for _ in 0..30 {
        let begun_before = started.load(SeqCst);
        let (status, body) = calm_admin.api(Method::GET, "calm", "/x/good/hello", None).await;
        assert_eq!(status, StatusCode::OK, "the calm tenant is never refused for the evil one's load: {body}");
        assert!(body["greeting"].is_string(), "{body}");
        if finished.load(SeqCst) < begun_before {
            overtook += 1;
        }
    }
    // The evil tenant, meanwhile, was held to its own plan: some of its calls waited for a turn
    // and were refused.
    while refused.load(SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, SeqCst);
    for attacker in attackers {
        attacker.await.unwrap();
    }
    assert!(overtook >= 25, "only {overtook} of 30 calm requests ended before the hostile calls already running when they began");

    // Receipts: the calm plugin's invocations all ended well; the hostile ones were stopped.
    t.app.plugins.flush_receipts().await;
    let (_, receipts) = calm_admin.api(Method::GET, "calm", "/admin/plugins/good/receipts", None).await;
    let receipts = receipts["receipts"].as_array().unwrap().clone();
    assert!(receipts.iter().filter(|r| r["kind"] == "route").count() >= 30, "{receipts:?}");
    assert!(receipts.iter().all(|r| r["outcome"] == "ok"), "{receipts:?}");
    let (_, list) = evil_admin.api(Method::GET, "evil", "/admin/plugins", None).await;
    let traps: i64 = list["plugins"].as_array().unwrap().iter().map(|p| p["health"]["traps"].as_i64().unwrap_or(0)).sum();
    assert!(traps >= 3, "the hostile calls were stopped: {list}");
}

#[tokio::test]
async fn a_plugin_gets_only_what_it_declared_and_the_tenant_granted_and_never_another_tenant() {
    let t = TestApp::spawn().await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    let (_globex, globex_admin) = tenant_with_admin(&t, "globex").await;
    t.install(&acme, "good").await;
    t.install(&acme, "sneaky").await;
    for name in ["Boulangerie Kerjean", "Garage Le Goff"] {
        create(&admin, "acme", "customer_account", json!({ "name": name, "status": "actif" })).await;
    }
    let foreign = create(&globex_admin, "globex", "customer_account", json!({ "name": "Globex Secret", "status": "actif" })).await;
    let foreign_id = foreign["id"].as_str().unwrap();

    let (status, attempts) = admin.api(Method::GET, "acme", &format!("/x/sneaky/probe?id={foreign_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{attempts}");
    for undeclared in ["mail", "kv", "http"] {
        let outcome = attempts[undeclared].as_str().unwrap();
        assert!(outcome.contains("denied") && outcome.contains("does not declare"), "{undeclared}: {outcome}");
        assert!(outcome.contains("sneaky@1.0.0") && outcome.contains("acme"), "{undeclared} names plugin and tenant: {outcome}");
    }
    assert!(attempts["write_accounts"].as_str().unwrap().contains("denied"), "read-only: {attempts}");
    assert!(attempts["other_plugin"].as_str().unwrap().contains("denied"), "another plugin's collection: {attempts}");
    assert!(attempts["read_by_id"].as_str().unwrap().contains("not found"), "another tenant's record does not exist here: {attempts}");
    assert_eq!(attempts["accounts_seen"], 2, "only this tenant's accounts: {attempts}");
    let (_, receipts) = admin.api(Method::GET, "acme", "/admin/plugins/sneaky/receipts", None).await;
    assert!(receipts["receipts"][0]["denials"].as_i64().unwrap() >= 5, "{receipts}");
    let (_, accounts) = admin.api(Method::GET, "acme", "/records/customer_account", None).await;
    assert_eq!(accounts["items"].as_array().unwrap().len(), 2, "nothing was injected");

    // The administrator sees each grant and can revoke one; the plugin is then refused it.
    let (status, detail) = admin.api(Method::GET, "acme", "/admin/plugins/good", None).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    let keys: Vec<&str> = detail["grants"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["records_read:customer_account", "kv", "config", "events", "mail", "http:localhost"]);
    assert!(detail["grants"].as_array().unwrap().iter().all(|g| g["granted"] == true));
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/accounts", None).await.1["names"].as_array().unwrap().len(), 2);
    let granted = json!({ "granted": ["kv", "config", "events", "mail", "http:localhost"] });
    let (status, changed) = admin.api(Method::PUT, "acme", "/admin/plugins/good/grants", Some(granted)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["grants"][0]["granted"], false);
    let (status, refused) = admin.api(Method::GET, "acme", "/x/good/accounts", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "the fixture answers 500 with the host's error: {refused}");
    assert!(refused["error"].as_str().unwrap().contains("denied"), "{refused}");
    // Its own collection needs no grant.
    create(&admin, "acme", "good.note", json!({ "title": "still mine" })).await;
    let (status, unknown) = admin.api(Method::PUT, "acme", "/admin/plugins/good/grants", Some(json!({ "granted": ["records_write:invoice"] }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.to_string().contains("does not declare `records_write:invoice`"), "{unknown}");

    // Another tenant's administrator reaches none of this tenant's plugins.
    for path in ["/x/good/hello", "/admin/plugins/good", "/admin/plugins/sneaky/receipts"] {
        let (status, body) = globex_admin.api(Method::GET, "globex", path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = globex_admin.api(Method::GET, "acme", "/admin/plugins/good", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a globex session means nothing on acme");
}

#[tokio::test]
async fn the_same_plugin_in_two_tenants_keeps_two_separate_states() {
    let t = TestApp::spawn().await;
    let (acme, acme_admin) = tenant_with_admin(&t, "acme").await;
    let (globex, globex_admin) = tenant_with_admin(&t, "globex").await;
    t.install(&acme, "good").await;
    t.install(&globex, "good").await;
    create(&acme_admin, "acme", "good.note", json!({ "title": "acme one" })).await;
    create(&acme_admin, "acme", "good.note", json!({ "title": "acme two" })).await;
    t.worker().run_until_idle().await.unwrap();
    assert_eq!(acme_admin.api(Method::GET, "acme", "/x/good/count", None).await.1["created"], 2);
    assert_eq!(globex_admin.api(Method::GET, "globex", "/x/good/count", None).await.1["created"], 0, "kv is per tenant");
    let (_, notes) = globex_admin.api(Method::GET, "globex", "/records/good.note", None).await;
    assert_eq!(notes["items"].as_array().unwrap().len(), 0);
    // Settings too: acme's change reaches acme's plugin, not globex's.
    let (status, body) = acme_admin.api(Method::PUT, "acme", "/admin/plugins/good/settings", Some(json!({ "greeting": "Kenavo" }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(acme_admin.api(Method::GET, "acme", "/x/good/hello", None).await.1["greeting"], "Kenavo");
    assert_eq!(globex_admin.api(Method::GET, "globex", "/x/good/hello", None).await.1["greeting"], "Bonjour");
}

#[tokio::test]
async fn a_failed_install_leaves_the_tenant_as_it_was() {
    let t = TestApp::spawn().await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    // Without `kv`, the plugin's own install step fails: nothing of it may remain.
    let failed = t.try_install(&acme, "good", Some(&["config"])).await.unwrap_err();
    let message = failed.to_string();
    assert!(message.contains("good@1.0.0 refused to install in tenant acme"), "{message}");
    assert!(message.contains("kv"), "{message}");
    assert!(t.app.plugins.store().installs(acme.id).await.unwrap().is_empty());
    let (status, _) = admin.api(Method::GET, "acme", "/collections/good.note", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the collection was removed again");
    let rules = t.app.policies.rules(acme.id).await.unwrap();
    assert!(rules.iter().all(|r| !r.value(0).starts_with("plugin:")), "no grant remains: {rules:?}");

    // A component built for a host API this server does not serve is refused before loading.
    let (mut bytes, manifest) = socle_tests::fixtures::fixture("good");
    let section = bytes.windows(19).position(|w| w == b"socle:api-version1.").unwrap();
    bytes[section + 17] = b'9';
    let tenant = std::sync::Arc::new(acme.clone());
    let future = t.app.marketplace.install_component(&tenant, &bytes, &manifest, None, &socle_tenants::Actor::system("test")).await.unwrap_err();
    // (The minor is whatever SDK the fixtures were built with: 1.1 since `connectors`.)
    assert!(future.to_string().contains("targets socle:plugin@9.") && future.to_string().contains("this host serves 1.x"), "{future}");
    assert!(t.app.plugins.store().installs(acme.id).await.unwrap().is_empty());

    // Declaring a grant the manifest does not have is refused before anything changes.
    let unknown = t.try_install(&acme, "good", Some(&["records_write:invoice"])).await.unwrap_err();
    assert!(unknown.to_string().contains("does not declare `records_write:invoice`"), "{unknown}");

    // A working install, then an uninstall: records stay but leave the API.
    t.install(&acme, "good").await;
    create(&admin, "acme", "good.note", json!({ "title": "kept" })).await;
    let (status, _) = admin.api(Method::DELETE, "acme", "/admin/plugins/good", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/hello", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(admin.api(Method::GET, "acme", "/records/good.note", None).await.0, StatusCode::NOT_FOUND);
    t.install(&acme, "good").await;
    let (_, notes) = admin.api(Method::GET, "acme", "/records/good.note", None).await;
    assert_eq!(notes["items"][0]["data"]["title"], "Kept", "reinstalled, the records are back");
}

#[tokio::test]
async fn failing_action_hooks_are_retried_then_dead_lettered_for_the_administrator() {
    let t = TestApp::spawn().await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    t.install(&acme, "good").await;
    // Revoking `kv` makes the counting action hook fail.
    let (status, _) = admin.api(Method::PUT, "acme", "/admin/plugins/good/grants", Some(json!({ "granted": ["config", "events"] }))).await;
    assert_eq!(status, StatusCode::OK);
    create(&admin, "acme", "good.note", json!({ "title": "uncounted" })).await;
    let worker = t.worker();
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    assert_eq!(worker.run_until_idle().await.unwrap(), 0, "retried only after a backoff");
    for _ in 0..10 {
        t.clock.advance(Duration::from_secs(3600));
        worker.run_until_idle().await.unwrap();
    }
    let (_, dead) = admin.api(Method::GET, "acme", "/admin/jobs?status=dead", None).await;
    let jobs = dead["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{dead}");
    assert_eq!(jobs[0]["kind"], "plugin.action");
    let error = jobs[0]["last_error"].as_str().unwrap();
    assert!(error.contains("good@1.0.0") && error.contains("kv"), "{error}");

    // Granted again, the dead letter retried by the administrator goes through.
    admin.api(Method::PUT, "acme", "/admin/plugins/good/grants", Some(json!({ "granted": ["kv", "config", "events"] }))).await;
    let (status, _) = admin.api(Method::POST, "acme", &format!("/admin/jobs/{}/retry", jobs[0]["id"].as_str().unwrap()), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    assert_eq!(admin.api(Method::GET, "acme", "/x/good/count", None).await.1["created"], 1);
}

#[tokio::test]
async fn a_plugin_mails_in_the_tenants_brand_but_cannot_forge_the_platforms_mails() {
    let smtp = SmtpSink::start();
    let t = TestApp::spawn_with_smtp(&smtp).await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    t.install(&acme, "good").await;
    let (status, queued) = admin.api(Method::POST, "acme", "/x/good/notify", Some(json!({ "to": "marie@client.fr" }))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    // A password-reset mail under the tenant's name, with the plugin's own link: refused.
    let (status, refused) = admin.api(Method::POST, "acme", "/x/good/notify", Some(json!({ "to": "marie@client.fr", "template": "password_reset" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("plugins send the `notification` template"), "{refused}");
    let (status, invalid) = admin.api(Method::POST, "acme", "/x/good/notify", Some(json!({ "to": "not an address" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{invalid}");

    t.worker().run_until_idle().await.unwrap();
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["marie@client.fr"]);
    assert_eq!(mails[0].header("Subject").unwrap(), "Nouvelle note — acme SAS");
    let text = mails[0].decoded();
    let html = text.split("Content-Type: text/html").nth(1).unwrap();
    assert!(html.contains("&lt;b&gt;importante") && !html.contains("<b>importante"), "the plugin's text is escaped in the HTML part: {html}");
}

#[tokio::test]
async fn a_dependent_plugin_reaches_its_dependency_only_through_its_own_grants() {
    let t = TestApp::spawn().await;
    let (acme, admin) = tenant_with_admin(&t, "acme").await;
    let missing = t.try_install(&acme, "addon", None).await.unwrap_err();
    assert!(missing.to_string().contains("addon@1.0.0 needs good ^1.0, which this tenant has not installed"), "{missing}");
    t.install(&acme, "good").await;
    t.install(&acme, "addon").await;
    create(&admin, "acme", "good.note", json!({ "title": "partagée" })).await;

    let (status, seen) = admin.api(Method::GET, "acme", "/x/addon/go", None).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["notes"]["Ok"], 1, "declared dependency + grant: {seen}");
    // good's grants are good's: the dependent plugin has none of them.
    assert!(seen["accounts"]["Err"].as_str().unwrap().contains("does not declare `records_read` on `customer_account`"), "{seen}");
    assert!(seen["kv"]["Err"].as_str().unwrap().contains("does not declare the `kv` capability"), "{seen}");

    // Without the grant, the dependency alone opens nothing.
    let (status, _) = admin.api(Method::PUT, "acme", "/admin/plugins/addon/grants", Some(json!({ "granted": [] }))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, seen) = admin.api(Method::GET, "acme", "/x/addon/go", None).await;
    assert!(seen["notes"]["Err"].as_str().unwrap().contains("denied"), "{seen}");

    // good cannot leave while addon needs it.
    let (status, refused) = admin.api(Method::DELETE, "acme", "/admin/plugins/good", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused.to_string().contains("addon depends on good"), "{refused}");
}
