//! A real SMTP server for tests (Python's aiosmtpd, `tests/support/smtp_sink.py`), and what it
//! received.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

/// One message as the SMTP server received it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedMail {
    /// Envelope sender.
    pub from: String,
    /// Envelope recipients.
    pub to: Vec<String>,
    /// The raw message (headers and MIME body).
    pub data: String,
}

impl ReceivedMail {
    /// A header's value, with RFC 2047 encoded words (`=?utf-8?b?…?=`) decoded and folded
    /// lines joined.
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let mut lines = self.data.lines();
        let first = lines.by_ref().find(|l| l.to_ascii_lowercase().starts_with(&prefix))?;
        let mut value = first[prefix.len()..].trim().to_owned();
        for line in lines.take_while(|l| l.starts_with([' ', '\t'])) {
            value.push(' ');
            value.push_str(line.trim());
        }
        Some(decode_words(&value))
    }

    /// The raw message with quoted-printable soft breaks and `=XX` escapes of the bodies undone
    /// (good enough to search the text).
    pub fn decoded(&self) -> String {
        let joined = self.data.replace("=\r\n", "").replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(byte) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
            {
                out.push(byte);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn decode_words(value: &str) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    let mut rest = value;
    let mut previous_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, after) = rest.split_at(start);
        if !(previous_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let Some(end) = after[2..].find("?=") else { break };
        let word = &after[2..2 + end];
        let mut parts = word.splitn(3, '?');
        let (_charset, encoding, text) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
        let decoded = match encoding.map(str::to_ascii_lowercase).as_deref() {
            Some("b") => base64::engine::general_purpose::STANDARD.decode(text).ok().and_then(|b| String::from_utf8(b).ok()),
            _ => None,
        };
        out.push_str(&decoded.unwrap_or_else(|| word.to_owned()));
        rest = &after[2 + end + 2..];
        previous_was_word = true;
    }
    out.push_str(rest);
    out
}

/// A running SMTP server.
pub struct SmtpSink {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl SmtpSink {
    /// Starts one on a free port.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("socle-smtp-{}", uuid::Uuid::new_v4().simple()));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .args([script, "--port", &port.to_string(), "--dir", &dir.display().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 is needed for the test SMTP server (scripts/setup installs aiosmtpd)");
        use std::io::BufRead as _;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("listening"), "the SMTP server did not start: {line} (is aiosmtpd installed?)");
        Self { child, port, dir }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|text| serde_json::from_str(&text).ok())
            .collect()
    }

    /// Waits until `count` messages arrived (up to 10 s).
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} mails, received {}", self.received().len());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
