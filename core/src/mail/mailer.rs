//! The mailer: renders a tenant's mail in its brand, queues it with its send job in one
//! transaction, and sends it when the job runs.

use std::sync::Arc;

use minijinja::Environment;
use serde_json::Value;
use socle_tenants::{Locale, Tenant};
use uuid::Uuid;

use super::sender::Sender;
use super::store::MailStore;
use super::{LAYOUT, MailBrand, MailRequest, RenderedMail, SEND_JOB, built_in};
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::error::StoreError;
use crate::jobs::{Job, JobFailure, JobHandler, NewJob, Registration};

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

    /// The address of a record in `tenant`'s portal, on the tenant's own host: what a mail about
    /// the record links to (the portal opens the record in its collection's list).
    pub fn record_link(&self, tenant: &Tenant, collection: &str, id: Uuid) -> String {
        format!("{}/c/{collection}/{id}", self.settings.tenant_url(tenant.slug.as_str()))
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
