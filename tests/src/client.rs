//! A browser-like HTTP client: a cookie jar, no automatic redirects, helpers that read CSRF
//! tokens from forms and `/api/v1/me` like the portal's pages do.

use std::net::SocketAddr;

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

/// One browser session.
pub struct Browser {
    client: reqwest::Client,
    addr: SocketAddr,
}

impl Browser {
    /// A client whose requests go to `addr` whatever the host name (so `acme.localhost` works).
    pub fn new(addr: SocketAddr) -> Self {
        // One TLS stack in the whole build (rustls + ring); reqwest needs it installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("failed to build the HTTP client");
        Self { client, addr }
    }

    /// The underlying client, for unusual requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request to `http://<host>:<port><path>` sent to the test server: the `Host` header is
    /// `host`, the connection goes to the server's address.
    pub fn on_host(&self, method: Method, host: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).header(reqwest::header::HOST, format!("{host}:{}", self.addr.port()))
    }

    /// GET a path on the platform host.
    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("request failed")
    }

    /// The `_csrf` value of the first form in a page.
    pub fn form_csrf(html: &str) -> Option<String> {
        let start = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
        let end = html[start..].find('"')?;
        Some(html[start..start + end].to_owned())
    }

    /// Submits a form at `path` after loading `page` for its CSRF token.
    pub async fn submit(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        let html = self.get(page).await.text().await.expect("page body");
        let csrf = Self::form_csrf(&html).unwrap_or_else(|| panic!("no CSRF token in {page}"));
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &csrf));
        self.client.post(self.url(path)).form(&form).send().await.expect("request failed")
    }

    /// Logs in through the login form of tenant `slug` (path prefix).
    pub async fn login(&self, slug: &str, email: &str, password: &str) -> Response {
        let page = format!("/t/{slug}/login");
        self.submit(&page, &page, &[("email", email), ("password", password)]).await
    }

    /// The session's CSRF token, from `/api/v1/me`.
    pub async fn csrf(&self, slug: &str) -> String {
        let me: Value = self.get(&format!("/t/{slug}/api/v1/me")).await.json().await.expect("me");
        me["csrf_token"].as_str().expect("csrf_token").to_owned()
    }

    /// Uploads a file to tenant `slug` (`POST /api/v1/files`); returns status and the value to put
    /// in a file field.
    pub async fn upload(&self, slug: &str, name: &str, content_type: &str, bytes: &[u8]) -> (StatusCode, Value) {
        let csrf = self.csrf(slug).await;
        let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20");
        let response = self
            .client
            .post(self.url(&format!("/t/{slug}/api/v1/files")))
            .header("x-csrf-token", csrf)
            .header("content-type", content_type)
            .header("x-file-name", encoded)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("request failed");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A JSON API call on tenant `slug` with the session's CSRF token; returns status and body.
    pub async fn api(&self, method: Method, slug: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let csrf = if method == Method::GET { String::new() } else { self.csrf(slug).await };
        let mut request = self.client.request(method, self.url(&format!("/t/{slug}/api/v1{path}"))).header("x-csrf-token", csrf);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request failed");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}
