//! Finding the tenant of a request (subdomain, `/t/<slug>/` prefix, custom domain), white-label
//! branding, suspension.

use reqwest::{Method, StatusCode};
use serde_json::json;
use socle_tenants::{Actor, Color, DomainName, TenantPatch, ThemeTokens};
use socle_tests::TestApp;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn branded(t: &TestApp, slug: &str, name: &str, primary: &str) -> socle_tenants::Tenant {
    let tenant = t.create_tenant(slug, name).await;
    let theme = ThemeTokens { primary: Color::parse(primary).unwrap(), ..ThemeTokens::default() };
    let patch = TenantPatch { theme: Some(theme), ..TenantPatch::default() };
    t.app.tenants.update(tenant.id, &patch, &Actor::system("test")).await.unwrap();
    t.app.tenants.put_asset(tenant.id, socle_tenants::AssetKind::Logo, "image/png", PNG, &Actor::system("test")).await.unwrap();
    t.app.resolver.invalidate_local();
    tenant
}

#[tokio::test]
async fn two_tenants_show_their_own_name_logo_and_colours_by_host_and_by_prefix() {
    let t = TestApp::spawn().await;
    branded(&t, "acme", "Acme Télécom", "#0b4f8a").await;
    branded(&t, "pixel", "Atelier Pixel", "#6d28d9").await;
    let browser = t.browser();
    for (slug, name, colour) in [("acme", "Acme Télécom", "#0b4f8a"), ("pixel", "Atelier Pixel", "#6d28d9")] {
        let by_host = browser.on_host(Method::GET, &format!("{slug}.localhost"), "/login").send().await.unwrap();
        assert_eq!(by_host.status(), StatusCode::OK);
        let html = by_host.text().await.unwrap();
        assert!(html.contains(&format!("<title>Connexion · {name}</title>")), "{html}");
        assert!(html.contains("src=\"&#x2f;branding&#x2f;logo?v="), "logo on the host: {html}");

        let by_prefix = browser.get(&format!("/t/{slug}/login")).await.text().await.unwrap();
        assert!(by_prefix.contains(&format!("<span class=\"brand-name\">{name}</span>")));
        assert!(by_prefix.contains(&format!("&#x2f;t&#x2f;{slug}&#x2f;branding&#x2f;logo?v=")), "logo under the prefix");

        let css = browser.on_host(Method::GET, &format!("{slug}.localhost"), "/theme.css").send().await.unwrap().text().await.unwrap();
        assert!(css.contains(&format!("--color-primary: {colour};")), "{css}");
        let logo = browser.get(&format!("/t/{slug}/branding/logo")).await;
        assert_eq!(logo.headers()["content-type"], "image/png");
        assert_eq!(logo.bytes().await.unwrap().as_ref(), PNG);
    }
}

#[tokio::test]
async fn custom_domains_and_unknown_hosts() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    let domain = DomainName::parse("portail.acme.fr").unwrap();
    t.app.tenants.add_domain(acme.id, &domain, &Actor::system("test")).await.unwrap();
    let browser = t.browser();
    let page = browser.on_host(Method::GET, "portail.acme.fr", "/login").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<span class=\"brand-name\">Acme</span>"));

    for (host, path) in [("unknown.localhost", "/login"), ("portail.other.fr", "/login"), ("localhost", "/t/nope/login")] {
        let response = browser.on_host(Method::GET, host, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{host}{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "tenant_not_found");
    }
    // Browsers get a page, not JSON.
    let html = browser.on_host(Method::GET, "unknown.localhost", "/").header("accept", "text/html").send().await.unwrap();
    assert_eq!(html.status(), StatusCode::NOT_FOUND);
    assert!(html.text().await.unwrap().contains("<html"));
    // The bare platform host leads to the operator console; health answers everywhere.
    let root = browser.get("/").await;
    assert_eq!(root.headers()["location"], "/ops");
    assert_eq!(browser.on_host(Method::GET, "acme.localhost", "/healthz").send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn suspended_tenants_answer_403_until_reactivated() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.logged_in("acme", "claire@acme.fr").await;
    // The server has the tenant in its caches.
    assert_eq!(browser.get("/t/acme/api/v1/me").await.status(), StatusCode::OK);
    // The operator suspends it from a terminal: another process, which reaches the running
    // server through the bus (the database's, or Redis).
    t.socle(&["tenant", "suspend", "acme", "--reason", "unpaid"]).await;
    for path in ["/t/acme/login", "/t/acme/api/v1/me"] {
        let response = eventually(|| browser.get(path), |r| r.status() == StatusCode::FORBIDDEN).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "tenant_suspended");
    }
    t.socle(&["tenant", "reactivate", "acme"]).await;
    let response = eventually(|| browser.get("/t/acme/api/v1/me"), |r| r.status() == StatusCode::OK).await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Asks until `done` holds, for up to two seconds (a bus message from another process arrives
/// within a poll of the database bus); returns the last answer.
async fn eventually<F, Fut>(ask: F, done: impl Fn(&reqwest::Response) -> bool) -> reqwest::Response
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        let response = ask().await;
        if done(&response) || std::time::Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn administrators_rebrand_their_tenant_and_see_it_at_once() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let theme = json!({ "primary": "#aa3300", "secondary": "#0e9f6e", "background": "#ffffff", "surface": "#ffffff",
                        "text": "#111111", "font_body": "serif", "font_heading": "geometric", "radius_px": 10 });
    let (status, body) = admin.api(Method::PATCH, "acme", "/admin/tenant", Some(json!({ "name": "Acme Réseaux", "theme": theme }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let home = admin.get("/t/acme/").await.text().await.unwrap();
    assert!(home.contains("<span class=\"brand-name\">Acme Réseaux</span>"));
    let css = admin.get("/t/acme/theme.css").await.text().await.unwrap();
    assert!(css.contains("--color-primary: #aa3300;") && css.contains("--radius: 10px;"), "{css}");

    // Unreadable colours, CSS smuggling, a plan change and junk are refused with the field named.
    let cases = [
        (json!({ "theme": { "text": "#fefefe" } }), "theme.background"),
        (json!({ "theme": { "primary": "red;}body{display:none" } }), ""),
        (json!({ "plan": "enterprise" }), ""),
        (json!({ "name": "" }), "name"),
    ];
    for (patch, field) in cases {
        let (status, body) = admin.api(Method::PATCH, "acme", "/admin/tenant", Some(patch.clone())).await;
        assert!(status == StatusCode::UNPROCESSABLE_ENTITY, "{patch} → {status} {body}");
        if !field.is_empty() {
            assert_eq!(body["errors"][0]["field"], field, "{body}");
        }
    }

    // Logo upload: the type is read from the bytes; active SVG and non-images are refused.
    let csrf = admin.csrf("acme").await;
    let upload =
        |bytes: &'static [u8]| admin.client().put(admin.url("/t/acme/api/v1/admin/tenant/logo")).header("x-csrf-token", csrf.clone()).body(bytes).send();
    let ok = upload(PNG).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let sha = ok.json::<serde_json::Value>().await.unwrap()["sha256"].as_str().unwrap().to_owned();
    let logo = admin.get("/t/acme/branding/logo").await;
    assert_eq!(logo.headers()["etag"].to_str().unwrap(), format!("\"{sha}\""));
    let cached = admin.client().get(admin.url("/t/acme/branding/logo")).header("if-none-match", format!("\"{sha}\"")).send().await.unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    let script = upload(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>").await.unwrap();
    assert_eq!(script.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = upload(b"not an image at all").await.unwrap();
    assert_eq!(text.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
