//! The operator console: platform accounts on the platform host only.

use reqwest::{Method, StatusCode};
use socle_core::identity::secrets;
use socle_tenants::Actor;
use socle_tests::{PASSWORD, TestApp};

#[tokio::test]
async fn operators_log_in_on_the_platform_host_and_see_the_tenants() {
    let t = TestApp::spawn().await;
    t.create_tenant("acme", "Acme").await;
    let acme = t.create_tenant("globex", "Globex").await;
    t.create_user(&acme, "hank@globex.fr", "interne", &["direction"]).await;
    let hash = secrets::hash_password(PASSWORD).await.unwrap();
    t.app.operators.create("ops@socle.fr", "Ops", &hash, &Actor::system("test")).await.unwrap();

    let browser = t.browser();
    assert_eq!(browser.get("/ops").await.headers()["location"], "/ops/login");
    // A tenant user's credentials mean nothing here.
    let refused = browser.submit("/ops/login", "/ops/login", &[("email", "hank@globex.fr"), ("password", PASSWORD)]).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let ok = browser.submit("/ops/login", "/ops/login", &[("email", "ops@socle.fr"), ("password", PASSWORD)]).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let page = browser.get("/ops").await.text().await.unwrap();
    assert!(page.contains("acme") && page.contains("Globex"), "{page}");
    // Not served on tenant hosts.
    let on_tenant = browser.on_host(Method::GET, "acme.localhost", "/ops").send().await.unwrap();
    assert_eq!(on_tenant.status(), StatusCode::NOT_FOUND);
    let journal = t.app.audit.list_platform(&Default::default()).await.unwrap();
    assert!(journal.iter().any(|e| e.action == "operator.login_succeeded"));
}
