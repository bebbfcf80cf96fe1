//! A fake operator behind the platform's connector interface (host API 1.1), for tests: answers
//! `POST /<connector>/<operation>` with JSON like a connector would, and records every call. A
//! call without the expected bearer token is refused (401); a line whose number ends in `99` is
//! unknown to the operator (422); `list-calls` answers a line's call log (two calls).
//! tests/support/fake_connector.py answers the same way.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// One call received.
#[derive(Debug, Clone)]
pub struct ConnectorCall {
    /// `/<connector>/<operation>`.
    pub path: String,
    /// The `authorization` header.
    pub authorization: Option<String>,
    /// Whether it carried the expected token (refused with 401 otherwise).
    pub authorized: bool,
    /// The JSON body (`tenant`, `plugin`, `operation`, `input`).
    pub body: Value,
}

/// The fake operator; stops when dropped.
pub struct FakeConnector {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<ConnectorCall>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeConnector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeConnector {
    /// Starts one on a free port, accepting calls that carry `Bearer <token>`.
    pub async fn start(token: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls: Arc<Mutex<Vec<ConnectorCall>>> = Arc::default();
        let recorded = calls.clone();
        let expected = format!("Bearer {token}");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, recorded.clone(), expected.clone()));
            }
        });
        Self { addr, calls, task }
    }

    /// The base URL of `connector` (`http://127.0.0.1:<port>/<connector>`).
    pub fn url(&self, connector: &str) -> String {
        format!("http://127.0.0.1:{}/{connector}", self.addr.port())
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<ConnectorCall> {
        self.calls.lock().unwrap().clone()
    }
}

async fn serve(mut stream: tokio::net::TcpStream, calls: Arc<Mutex<Vec<ConnectorCall>>>, expected: String) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let header =
        |name: &str| head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()));
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buffer.len() < header_end + length {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let path = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or("/").to_owned();
    let body: Value = serde_json::from_slice(&buffer[header_end..]).unwrap_or(Value::Null);
    let number = body["input"]["number"].as_str().unwrap_or_default().to_owned();
    let authorization = header("authorization");
    let authorized = authorization.as_deref() == Some(expected.as_str());
    calls.lock().unwrap().push(ConnectorCall { path: path.clone(), authorization, authorized, body: body.clone() });
    let operation = path.rsplit('/').next().unwrap_or_default().to_owned();
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let (status, answer) = if !authorized {
        ("401 Unauthorized", json!({ "error": "jeton invalide" }))
    } else if number.ends_with("99") {
        ("422 Unprocessable Entity", json!({ "error": format!("ligne {number} inconnue chez l'opérateur") }))
    } else if operation == "list-calls" {
        // The telephony's call log of a line: the same two calls each time (ids from the number).
        let calls = json!([
            { "id": format!("{digits}-1"), "started_at": "2026-11-02T09:14:00Z", "direction": "entrant", "party": "+33298000000", "duration_seconds": 184, "summary": "Question sur la facture de la ligne" },
            { "id": format!("{digits}-2"), "started_at": "2026-11-03T16:40:00Z", "direction": "sortant", "party": "Support Connextoo", "duration_seconds": 61, "summary": "Rappel : ligne rétablie" },
        ]);
        ("200 OK", json!({ "calls": calls }))
    } else {
        ("200 OK", json!({ "reference": format!("OP-{digits}"), "operation": operation, "status": "ok" }))
    };
    let text = answer.to_string();
    let response = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}", text.len());
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
