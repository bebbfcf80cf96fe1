//! `connectors` (host API 1.1): operator and billing systems behind the platform's connectors.
//! A plugin names a connector and an operation; the platform holds the endpoint and the token
//! (`plugins.connectors` in the settings), so no operator API is coded, nor any credential held,
//! inside a business plugin. A call needs the connector declared in the manifest and granted by
//! the tenant (`cap:connector:<name>`); it is a `POST {url}/{operation}` with
//! `{"tenant", "plugin", "operation", "input"}` over the same guarded client as `http`.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::WitFieldError;
use super::invocation::Invocation;
use super::socle::plugin::connectors::Host;
use super::socle::plugin::types::HostError;
use crate::config::PluginSettings;

capability!(Connectors => ConnectorsHost {
    #[doc = "The guarded client."] client: reqwest::Client,
    #[doc = "The platform's connectors and private hosts."] settings: PluginSettings
});

const MAX_INPUT: usize = 1024 * 1024;
const MAX_ANSWER: usize = 5 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(15);

fn invalid(field: &str, message: String) -> HostError {
    HostError::Invalid(vec![WitFieldError { field: field.into(), message }])
}

/// An operation name: lowercase letters, digits, `-` and `_`, 1 to 60 characters.
pub fn is_operation(name: &str) -> bool {
    (1..=60).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// What the connector's answer becomes for the plugin: a JSON document on 2xx, `invalid` with the
/// remote system's message on 4xx, `unavailable` otherwise.
pub fn answer(connector: &str, status: u16, body: &[u8]) -> Result<String, HostError> {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let message = || {
        json.as_ref()
            .and_then(|j| j.get("error").or_else(|| j.get("message")))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect())
    };
    match status {
        200..=299 => match json {
            Some(json) => Ok(json.to_string()),
            None => Err(HostError::Unavailable(format!("connector {connector} answered something that is not JSON"))),
        },
        400..=499 => Err(invalid("operation", format!("{connector} refused: {}", message()))),
        _ => Err(HostError::Unavailable(format!("connector {connector} failed ({status}): {}", message()))),
    }
}

impl Host for ConnectorsHost<'_> {
    async fn call(&mut self, connector: String, operation: String, input: String) -> wasmtime::Result<Result<String, HostError>> {
        if let Err(e) = self.inv.allow("connectors", Some(&connector))? {
            return Ok(Err(e));
        }
        // The marketplace's review runs code nobody has read yet: it never reaches an operator
        // with the platform's credentials. The sandbox answers every operation, recording it.
        if self.inv.tenant.slug.is_review_sandbox() {
            tracing::info!(plugin.id = %self.inv.guest.id, connector = %connector, operation = %operation, "connector call answered by the review sandbox");
            return Ok(Ok(serde_json::json!({ "sandbox": true, "connector": connector, "operation": operation }).to_string()));
        }
        let Some(settings) = self.settings.connectors.get(&connector).cloned() else {
            let known: Vec<&String> = self.settings.connectors.keys().collect();
            return Ok(Err(HostError::NotFound(format!(
                "this platform has no connector `{connector}` (configured: {})",
                if known.is_empty() { "none".to_owned() } else { known.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ") }
            ))));
        };
        if !is_operation(&operation) {
            return Ok(Err(invalid("operation", format!("`{operation}` is not an operation name (lowercase letters, digits, `-`, `_`)"))));
        }
        if input.len() > MAX_INPUT {
            return Ok(Err(invalid("input", "the input is larger than 1 MiB".into())));
        }
        let input: serde_json::Value = match serde_json::from_str(&input) {
            Ok(v) => v,
            Err(e) => return Ok(Err(invalid("input", format!("not JSON: {e}")))),
        };
        let Ok(base) = url::Url::parse(&settings.url) else {
            return Ok(Err(HostError::Unavailable(format!("connector {connector} is misconfigured on this platform (url)"))));
        };
        let host = base.host_str().unwrap_or_default().to_ascii_lowercase();
        let insecure_allowed = self.settings.allow_private_hosts.iter().any(|h| h == &host);
        if base.scheme() != "https" && !(base.scheme() == "http" && insecure_allowed) {
            return Ok(Err(HostError::Unavailable(format!("connector {connector} is misconfigured on this platform (https only)"))));
        }
        let url = format!("{}/{operation}", settings.url.trim_end_matches('/'));
        let body = serde_json::json!({ "tenant": self.inv.tenant.slug.to_string(), "plugin": self.inv.guest.id, "operation": operation, "input": input });
        let mut request = self.client.post(url).timeout(TIMEOUT).json(&body);
        if let Some(token) = &settings.token {
            request = request.bearer_auth(token.expose_secret());
        }
        tracing::info!(tenant.id = %self.inv.tenant.id, plugin.id = %self.inv.guest.id, connector = %connector, operation = %operation, "connector call");
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Ok(Err(HostError::Unavailable(format!("connector {connector} did not answer within {}s", TIMEOUT.as_secs())))),
            Err(e) => return Ok(Err(HostError::Unavailable(format!("connector {connector} is unreachable: {e}")))),
        };
        let status = response.status().as_u16();
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() > MAX_ANSWER => {
                    return Ok(Err(HostError::Unavailable(format!("the answer of connector {connector} is larger than 5 MiB"))));
                }
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return Ok(Err(HostError::Unavailable(format!("reading the answer of connector {connector} failed: {e}")))),
            }
        }
        Ok(answer(&connector, status, &bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_json_refusals_or_unavailability() {
        assert_eq!(answer("orange", 200, br#"{"reference":"OR-1"}"#).unwrap(), r#"{"reference":"OR-1"}"#);
        match answer("orange", 422, br#"{"error":"ligne inconnue"}"#) {
            Err(HostError::Invalid(errors)) => assert_eq!(errors[0].message, "orange refused: ligne inconnue"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(answer("orange", 503, b"maintenance"), Err(HostError::Unavailable(m)) if m.contains("maintenance")));
        assert!(matches!(answer("orange", 200, b"<html>"), Err(HostError::Unavailable(_))));
    }

    #[test]
    fn operation_names_are_plain() {
        assert!(is_operation("suspend-line") && is_operation("order_sim"));
        assert!(!is_operation("") && !is_operation("../admin") && !is_operation("Suspend"));
    }
}
