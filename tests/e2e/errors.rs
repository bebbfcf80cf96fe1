//! Bad input gets a clear answer in one envelope; an unavailable database gets 503 with
//! Retry-After, never a panic.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use socle_tests::TestApp;

#[tokio::test]
async fn oversize_malformed_and_unroutable_requests_get_the_error_envelope() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let csrf = admin.csrf("acme").await;

    let huge = vec![b'a'; 3 * 1024 * 1024];
    let response = admin.client().put(admin.url("/t/acme/api/v1/admin/tenant/logo")).header("x-csrf-token", &csrf).body(huge).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.json::<Value>().await.unwrap()["errors"][0]["code"], "payload_too_large");

    let malformed = admin
        .client()
        .patch(admin.url("/t/acme/api/v1/admin/tenant"))
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json::<Value>().await.unwrap()["errors"][0]["code"], "malformed_json");

    let unknown_field = admin.api(Method::PATCH, "acme", "/admin/tenant", Some(serde_json::json!({ "colour": "red" }))).await;
    assert_eq!(unknown_field.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown_field.1["errors"][0]["detail"].as_str().unwrap().contains("unknown field `colour`"));

    let (status, body) = admin.api(Method::GET, "acme", "/no/such/route", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errors"][0]["code"], "route_not_found");

    let (status, body) = admin.api(Method::GET, "acme", "/admin/users/not-a-uuid", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("not-a-uuid"));
}

#[tokio::test]
async fn an_unavailable_database_gives_503_with_retry_after() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let admin = t.logged_in("acme", "claire@acme.fr").await;
    let browser = t.browser();
    t.app.db.close().await;

    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.headers().get("retry-after").is_some());
    assert_eq!(ready.json::<Value>().await.unwrap()["checks"]["database"], "unavailable");

    // Cached tenant lookups still route; the store calls behind them fail cleanly.
    let me = admin.get("/t/acme/api/v1/me").await;
    assert_eq!(me.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(me.headers().get("retry-after").is_some());
    assert_eq!(me.json::<Value>().await.unwrap()["errors"][0]["code"], "service_unavailable");
    let uncached = browser.get("/t/other/login").await;
    assert_eq!(uncached.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(browser.get("/healthz").await.status(), StatusCode::OK, "the process itself is alive");
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let t = TestApp::spawn().await;
    t.create_tenant("acme", "Acme").await;
    let browser = t.browser();
    browser.get("/t/acme/login").await;
    let metrics = browser.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/login\""), "routes are templates, not raw paths: {metrics}");
}

#[tokio::test]
async fn metrics_with_a_configured_token_answer_only_who_sends_it() {
    let t = TestApp::spawn_configured(|s| s.server.metrics_token = Some("jeton-de-supervision".to_owned().into())).await;
    t.create_tenant("acme", "Acme").await;
    let browser = t.browser();
    for (authorization, status) in
        [(None, StatusCode::NOT_FOUND), (Some("Bearer faux"), StatusCode::NOT_FOUND), (Some("Bearer jeton-de-supervision"), StatusCode::OK)]
    {
        let mut request = browser.client().get(browser.url("/metrics"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{authorization:?}");
        // Not on a tenant's host either without it.
        if authorization.is_none() {
            let on_tenant = browser.on_host(reqwest::Method::GET, "acme.localhost", "/metrics").send().await.unwrap();
            assert_eq!(on_tenant.status(), StatusCode::NOT_FOUND);
        }
    }
}

#[tokio::test]
async fn a_line_break_in_a_path_is_a_client_error_not_a_server_error() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let browser = t.logged_in("acme", "claire@acme.fr").await;
    for path in [
        "/t/acme/c/custom%0d%0a.ticket",
        "/t/acme/c/customer_account/%0d%0a",
        "/t/acme/api/v1/records/x%0Ay",
        "/t/acme%0d%0a/login",
        "/t/acme/c/customer_account?q=%0d%0a",
    ] {
        let status = browser.get(path).await.status();
        assert!(status.is_client_error() || status.is_success(), "{path}: {status}");
    }
}

#[tokio::test]
async fn slow_clients_and_idle_connections_are_disconnected() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let t = TestApp::spawn_configured(|s| s.server.header_timeout_secs = 1).await;
    // Twenty clients that start a request and never finish its headers, and one that sends a
    // request and then keeps its connection idle.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(t.addr).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.unwrap();
        slow.push(stream);
    }
    let mut idle = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = idle.read(&mut answer).await.unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"), "the idle client got its answer first");
    // Well past the timeout (measured on the real clock: sockets know no test clock), every one
    // of them has been closed by the server.
    for stream in slow.iter_mut().chain(std::iter::once(&mut idle)) {
        let mut buf = [0u8; 1024];
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a connection still open 5 s after a 1 s header timeout");
    }
    // The server still serves everyone else.
    assert_eq!(t.browser().get("/healthz").await.status(), StatusCode::OK);
}
