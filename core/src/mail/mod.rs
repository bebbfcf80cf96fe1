//! Mail: templated messages per tenant (the tenant's name, sender, logo and colours; French and
//! English), rendered when queued and stored in an outbox, then sent over SMTP by the job queue
//! with retries. Without an SMTP server configured, mails are written as `.eml` files under
//! `mail.dir` so a single machine (the demo) still shows them.

pub mod sender;
pub mod store;

use std::sync::Arc;

use minijinja::Environment;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_tenants::{Locale, Tenant};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::error::StoreError;
use crate::jobs::{Job, JobFailure, JobHandler, NewJob, Registration};
use sender::Sender;

pub use store::{MailStore, SqlMailStore};

/// The job that sends one queued mail.
pub const SEND_JOB: &str = "mail.send";

const LAYOUT: &str = include_str!("../../templates/mail/layout.html");
const BUILT_IN: &[(&str, &str)] = &[
    ("password_reset", include_str!("../../templates/mail/password_reset.toml")),
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

/// Renders, queues and sends the tenants' mails. Built once per process; the job queue sends
/// what it queued (`mail.send`).
pub struct Mailer {
    store: Arc<dyn MailStore>,
    sender: Sender,
    settings: Arc<Settings>,
    clock: SharedClock,
}

impl Mailer {
    /// A mailer storing its outbox in `store` and sending through `sender`.
    pub fn new(store: Arc<dyn MailStore>, sender: Sender, settings: Arc<Settings>, clock: SharedClock) -> Self {
        Self { store, sender, settings, clock }
    }

    /// The outbox and the tenants' template overrides.
    pub fn store(&self) -> &Arc<dyn MailStore> {
        &self.store
    }

    /// The brand values every mail of `tenant` receives.
    pub fn brand(&self, tenant: &Tenant) -> MailBrand {
        let url = self.settings.tenant_url(tenant.slug.as_str());
        MailBrand {
            logo_url: tenant.logo_sha256.as_ref().map(|sha| format!("{url}/branding/logo?v={}", &sha[..12])),
            name: tenant.name.clone(),
            url,
            primary: tenant.theme.primary.to_string(),
            on_primary: tenant.theme.primary.readable_text().to_string(),
            background: tenant.theme.background.to_string(),
            text: tenant.theme.text.to_string(),
        }
    }

    /// The sender of a tenant's mails: the platform address under the tenant's name.
    pub fn sender_of(&self, tenant: &Tenant) -> String {
        let platform = &self.settings.mail.from;
        let address = platform.rsplit_once('<').map_or(platform.as_str(), |(_, a)| a.trim_end_matches('>'));
        let name = tenant.name.replace(['"', '\\', '\r', '\n'], "");
        format!("\"{name}\" <{address}>")
    }

    /// Renders `key` for `tenant` in `locale` (the tenant's override if it has one): subject,
    /// HTML (in the branded layout) and text.
    pub async fn render(&self, tenant: &Tenant, key: &str, locale: Locale, vars: &Value) -> anyhow::Result<(String, String, String)> {
        let template = match self.store.template_override(tenant.id, key, locale).await? {
            Some(t) => t,
            None => built_in(key, locale).ok_or_else(|| anyhow::anyhow!("no mail template `{key}`"))?,
        };
        let mut env = Environment::new();
        env.set_fuel(Some(50_000));
        let brand = self.brand(tenant);
        let mut context = match vars {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        context.insert("brand".into(), serde_json::to_value(&brand)?);
        context.insert("lang".into(), Value::String(locale.as_str().into()));
        let context = minijinja::value::Value::from(minijinja::value::Serde(&context));
        let subject = env.render_str(&template.subject, &context)?.replace(['\r', '\n'], " ");
        let text = env.render_str(&template.text, &context)?;
        // The HTML template is autoescaped like a file named .html.
        env.add_template_owned("body.html", template.html.clone())?;
        let body = env.get_template("body.html")?.render(&context)?;
        env.add_template("layout.html", LAYOUT)?;
        let footer = match locale {
            Locale::Fr => format!("Message envoyé par {} via Socle.", brand.name),
            Locale::En => format!("Sent by {} through Socle.", brand.name),
        };
        let html = env.get_template("layout.html")?.render(minijinja::context! {
            lang => locale.as_str(), subject => &subject, brand => minijinja::value::Serde(&brand),
            body => minijinja::value::Value::from_safe_string(body), footer => footer,
        })?;
        Ok((subject, html, text))
    }

    /// Renders and queues a mail, with its send job, in one transaction.
    pub async fn queue(&self, tenant: &Tenant, request: MailRequest<'_>) -> Result<Uuid, StoreError> {
        let MailRequest { recipient, template: key, locale, vars, record_id, dedupe } = request;
        let recipient = crate::email::normalize(recipient)?;
        let (subject, html, text) = self.render(tenant, key, locale, vars).await?;
        let id = match dedupe {
            Some(key) => Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("socle:mail:{}:{key}", tenant.id).as_bytes()),
            None => Uuid::now_v7(),
        };
        let mail = RenderedMail { id, recipient, sender: self.sender_of(tenant), subject, template: key.into(), locale, html, text, record_id };
        let job = NewJob::new(Some(tenant.id), SEND_JOB, serde_json::json!({ "mail_id": id }), self.clock.now_ms()).dedupe(format!("mail:{id}"));
        self.store.queue(tenant.id, &mail, &job).await?;
        Ok(id)
    }

    /// Sends a queued mail (the `mail.send` job): once, however often the job runs.
    async fn send(&self, job: &Job) -> Result<(), JobFailure> {
        let tenant = job.tenant_id.ok_or_else(|| JobFailure::Permanent("this job needs a tenant".into()))?;
        let id = job.uuid("mail_id")?;
        let Some(mail) = self.store.get(tenant, id).await? else { return Ok(()) };
        if mail.status == "sent" {
            return Ok(());
        }
        match self.sender.send(&mail).await {
            Ok(()) => {
                self.store.mark_sent(tenant, id).await?;
                Ok(())
            }
            Err(err) => {
                let last = job.attempts >= job.max_attempts;
                self.store.mark_failed(tenant, id, &format!("{err:#}"), last).await?;
                Err(JobFailure::Retry(format!("{err:#}")))
            }
        }
    }
}

/// The mail jobs: sending what was queued.
pub fn jobs(mailer: &Arc<Mailer>) -> Vec<Registration> {
    vec![Registration::handler(SEND_JOB, Arc::new(SendMail(mailer.clone())))]
}

struct SendMail(Arc<Mailer>);

#[async_trait::async_trait]
impl JobHandler for SendMail {
    async fn run(&self, job: &Job) -> Result<(), JobFailure> {
        self.0.send(job).await
    }
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
