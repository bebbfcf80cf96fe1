//! Outbound HTTP to the hosts the manifest declares (capability `http`). The host refuses other
//! hosts and private addresses.

use crate::{Error, host};

/// An outgoing request.
///
/// ```
/// let req = socle_sdk::http::Request::get("https://api.exemple.fr/lines").header("accept", "application/json");
/// assert_eq!(req.headers.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Absolute `https://` (or `http://`) URL.
    pub url: String,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// A GET.
    pub fn get(url: &str) -> Self {
        Self { method: "GET".into(), url: url.into(), headers: Vec::new(), body: None }
    }

    /// A POST of JSON.
    ///
    /// ```
    /// let req = socle_sdk::http::Request::post_json("https://api.exemple.fr/orders", &socle_sdk::json!({"sku": "SIM"}));
    /// assert_eq!(req.method, "POST");
    /// ```
    pub fn post_json(url: &str, body: &serde_json::Value) -> Self {
        Self {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: Some(body.to_string().into_bytes()),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Sends a request.
///
/// ```
/// socle_sdk::testing::respond("https://api.exemple.fr/ping", 200, b"pong");
/// let response = socle_sdk::http::fetch(&socle_sdk::http::Request::get("https://api.exemple.fr/ping")).unwrap();
/// assert_eq!(response.body, b"pong");
/// ```
pub fn fetch(request: &Request) -> Result<Response, Error> {
    host::http_fetch(request)
}
