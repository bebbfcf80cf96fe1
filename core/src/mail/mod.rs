//! Mail: templated messages per tenant (the tenant's name, sender, logo and colours; French and
//! English), rendered when queued and stored in an outbox, then sent over SMTP by the job queue
//! with retries. Without an SMTP server configured, mails are written as `.eml` files under
//! `mail.dir` so a single machine (the demo) still shows them.

pub mod local_time;
mod mailer;
pub mod sender;
pub mod store;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_tenants::Locale;
use uuid::Uuid;

pub use mailer::{Mailer, jobs};
pub use store::{MailStore, SqlMailStore};

/// The job that sends one queued mail.
pub const SEND_JOB: &str = "mail.send";

const LAYOUT: &str = include_str!("../../templates/mail/layout.html");
const BUILT_IN: &[(&str, &str)] = &[
    ("password_reset", include_str!("../../templates/mail/password_reset.toml")),
    ("invitation", include_str!("../../templates/mail/invitation.toml")),
    ("record_changed", include_str!("../../templates/mail/record_changed.toml")),
    ("notification", include_str!("../../templates/mail/notification.toml")),
];

/// One language of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateText {
    /// Subject line (template).
    pub subject: String,
    /// Plain text body (template).
    pub text: String,
    /// HTML body (template), placed inside the branded layout.
    pub html: String,
}

#[derive(Debug, Deserialize)]
struct BuiltIn {
    fr: TemplateText,
    en: TemplateText,
}

/// The built-in template `key` in `locale`.
pub fn built_in(key: &str, locale: Locale) -> Option<TemplateText> {
    let (_, source) = BUILT_IN.iter().find(|(k, _)| *k == key)?;
    let parsed: BuiltIn = toml::from_str(source).ok()?;
    Some(match locale {
        Locale::Fr => parsed.fr,
        Locale::En => parsed.en,
    })
}

/// The keys of the built-in templates.
pub fn built_in_keys() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(k, _)| *k)
}

/// A mail ready to store: rendered, with its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMail {
    /// Id (derived from the dedupe key when there is one, so a retried producer makes no
    /// duplicate).
    pub id: Uuid,
    /// Recipient address.
    pub recipient: String,
    /// `"Name" <address>`.
    pub sender: String,
    /// Subject.
    pub subject: String,
    /// Template key.
    pub template: String,
    /// Language.
    pub locale: Locale,
    /// HTML body (with the layout).
    pub html: String,
    /// Text body.
    pub text: String,
    /// The record the mail is about.
    pub record_id: Option<Uuid>,
}

/// A stored mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mail {
    /// Id.
    pub id: Uuid,
    /// Recipient.
    pub recipient: String,
    /// Sender.
    pub sender: String,
    /// Subject.
    pub subject: String,
    /// Template key.
    pub template: String,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    /// Send attempts.
    pub attempts: i32,
    /// Last error.
    pub last_error: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub sent_at: Option<i64>,
    /// HTML body.
    #[serde(skip)]
    pub html: String,
    /// Text body.
    #[serde(skip)]
    pub text: String,
}

/// The brand values every mail template receives.
#[derive(Debug, Clone, Serialize)]
pub struct MailBrand {
    /// Tenant name.
    pub name: String,
    /// Absolute logo URL.
    pub logo_url: Option<String>,
    /// Portal URL.
    pub url: String,
    /// Primary colour.
    pub primary: String,
    /// Text colour on primary.
    pub on_primary: String,
    /// Background colour.
    pub background: String,
    /// Text colour.
    pub text: String,
}

/// A mail to queue.
#[derive(Debug, Clone)]
pub struct MailRequest<'a> {
    /// Recipient address.
    pub recipient: &'a str,
    /// Template key.
    pub template: &'a str,
    /// Language.
    pub locale: Locale,
    /// Template variables.
    pub vars: &'a Value,
    /// The record the mail is about.
    pub record_id: Option<Uuid>,
    /// Makes queuing idempotent: a retried producer queues the mail once.
    pub dedupe: Option<&'a str>,
}
