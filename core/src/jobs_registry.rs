//! The core's job handlers: sending mails, firing workflow timers, turning record changes into
//! notification mails, dispatching workflow events, and housekeeping.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use socle_marketplace::schema::FieldType;
use socle_tenants::TenantId;
use uuid::Uuid;

use crate::app::App;
use crate::jobs::{Job, JobFailure, JobHandler};
use crate::records::engine::job_kinds;

/// Handlers by job kind.
pub fn core_handlers() -> Vec<(&'static str, Arc<dyn JobHandler>)> {
    vec![
        (crate::mail::SEND_JOB, Arc::new(SendMail)),
        (job_kinds::TIMER, Arc::new(FireTimer)),
        (job_kinds::NOTIFY, Arc::new(Notify)),
        (job_kinds::EVENT, Arc::new(DispatchEvent)),
        (PURGE_JOB, Arc::new(Purge)),
        (crate::plugins::hooks::ACTION_JOB, Arc::new(crate::plugins::hooks::RunAction)),
        (crate::marketplace::retention::PURGE_JOB, Arc::new(crate::marketplace::retention::PurgeRetained)),
        (crate::marketplace::rollout::TICK_JOB, Arc::new(crate::marketplace::rollout::Tick)),
        (crate::marketplace::billing::CHARGE_JOB, Arc::new(crate::marketplace::billing::ChargeMonth)),
    ]
}

/// Housekeeping: drop finished jobs after a week, and uploads no record took after a day.
pub const PURGE_JOB: &str = "maintenance.purge";

/// How long an upload may wait for the record that takes it (a form being filled in, a client
/// uploading then creating) before the nightly purge deletes it.
pub const UNATTACHED_FILE_TTL_MS: i64 = 24 * 3600 * 1000;

fn tenant_of(job: &Job) -> Result<TenantId, JobFailure> {
    job.tenant_id.ok_or_else(|| JobFailure::Permanent("this job needs a tenant".into()))
}

fn uuid_field(payload: &Value, key: &str) -> Result<Uuid, JobFailure> {
    payload.get(key).and_then(Value::as_str).and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| JobFailure::Permanent(format!("payload has no valid `{key}`")))
}

struct SendMail;

#[async_trait]
impl JobHandler for SendMail {
    async fn run(&self, app: &App, job: &Job) -> Result<(), JobFailure> {
        let tenant = tenant_of(job)?;
        let id = uuid_field(&job.payload, "mail_id")?;
        let Some(mail) = app.mails.get(tenant, id).await? else { return Ok(()) };
        if mail.status == "sent" {
            return Ok(());
        }
        match app.mail_sender.send(&mail).await {
            Ok(()) => {
                app.mails.mark_sent(tenant, id).await?;
                Ok(())
            }
            Err(err) => {
                let last = job.attempts >= job.max_attempts;
                app.mails.mark_failed(tenant, id, &format!("{err:#}"), last).await?;
                Err(JobFailure::Retry(format!("{err:#}")))
            }
        }
    }
}

struct FireTimer;

#[async_trait]
impl JobHandler for FireTimer {
    async fn run(&self, app: &App, job: &Job) -> Result<(), JobFailure> {
        let tenant = tenant_of(job)?;
        let record = uuid_field(&job.payload, "record_id")?;
        let timer = job.payload.get("timer").and_then(Value::as_str).ok_or_else(|| JobFailure::Permanent("no timer".into()))?;
        let due = job.payload.get("due_at").and_then(Value::as_i64).ok_or_else(|| JobFailure::Permanent("no due_at".into()))?;
        app.records.fire_timer(tenant, record, timer, due).await.map_err(|e| JobFailure::Retry(e.to_string()))
    }
}

struct DispatchEvent;

#[async_trait]
impl JobHandler for DispatchEvent {
    async fn run(&self, _app: &App, job: &Job) -> Result<(), JobFailure> {
        // Subscribers (plugin action hooks) register with the plugin runtime; without any, the
        // event is only recorded by this job having run.
        tracing::debug!(job.id = %job.id, event = %job.payload["event"], "workflow event");
        Ok(())
    }
}

/// The nightly housekeeping (`maintenance.purge`).
pub struct Purge;

#[async_trait]
impl JobHandler for Purge {
    async fn run(&self, app: &App, _job: &Job) -> Result<(), JobFailure> {
        let week = 7 * 24 * 3600 * 1000;
        let purged = app.jobs.purge_done(app.now_ms() - week).await?;
        let files = app.records.purge_unattached_files(app.now_ms() - UNATTACHED_FILE_TTL_MS).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        tracing::info!(purged, files, "finished jobs and abandoned uploads purged");
        Ok(())
    }
}

struct Notify;

#[async_trait]
impl JobHandler for Notify {
    async fn run(&self, app: &App, job: &Job) -> Result<(), JobFailure> {
        let tenant_id = tenant_of(job)?;
        let record_id = uuid_field(&job.payload, "record_id")?;
        let Some(tenant) = app.tenants.get(tenant_id).await.map_err(|e| JobFailure::Retry(e.to_string()))? else { return Ok(()) };
        let store = app.records.store();
        let Some(record) = store.get(tenant_id, record_id).await? else { return Ok(()) };
        let collections = app.records.registry.for_tenant(tenant_id).await?;
        let Some(collection) = collections.get(&record.collection) else { return Ok(()) };
        let rule_index = job.payload.get("rule").and_then(Value::as_u64).unwrap_or(0) as usize;
        let Some(rule) = collection.notifications.get(rule_index) else { return Ok(()) };
        let Some(field) = collection.field(&rule.to) else { return Ok(()) };
        let recipient = match (field.field_type, record.data.get(&field.name)) {
            (FieldType::Email, Some(Value::String(email))) => Some(email.clone()),
            (FieldType::Reference, Some(Value::String(id))) => match Uuid::parse_str(id) {
                Ok(target) => store.get(tenant_id, target).await?.and_then(|r| r.data.get("email").and_then(Value::as_str).map(str::to_owned)),
                Err(_) => None,
            },
            _ => None,
        };
        let Some(recipient) = recipient else { return Ok(()) };
        let actor = job.payload.get("actor").and_then(Value::as_str).unwrap_or("system");
        let actor_user = match actor.strip_prefix("user:").and_then(|id| Uuid::parse_str(id).ok()) {
            Some(id) => app.users.get(tenant_id, id).await?,
            None => None,
        };
        if rule.skip_own_changes && actor_user.as_ref().is_some_and(|u| u.email == recipient) {
            return Ok(());
        }
        let recipient_user = app.users.by_email(tenant_id, &recipient).await?.map(|(u, _)| u);
        let locale = recipient_user.and_then(|u| u.locale).unwrap_or(tenant.locale);
        let lang = locale.as_str();
        // Only fields anyone may read go into a mail: the recipient may be a client.
        let changed: Vec<Value> = job.payload["changed"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|name| collection.field(name))
            .filter(|f| f.read_permission.is_none() && collection.read_permission.is_none())
            .filter(|f| !matches!(f.field_type, FieldType::Reference | FieldType::File))
            .map(|f| json!({ "label": f.label(lang), "after": display(f, record.data.get(&f.name)) }))
            .collect();
        let title = collection
            .title_field
            .as_ref()
            .and_then(|t| record.data.get(t))
            .and_then(Value::as_str)
            .map_or_else(|| record.id.to_string()[..8].to_owned(), str::to_owned);
        let transition_label =
            job.payload["transition"].as_str().and_then(|t| collection.workflow.as_ref()?.transition(t)).map(|t| t.label.get(lang).to_owned());
        let vars = json!({
            "record": { "label": collection.label_one(lang), "title": title, "id": record.id },
            "op": job.payload["op"], "transition": job.payload["transition"], "transition_label": transition_label,
            "actor": actor_user.map_or_else(|| tenant.name.clone(), |u| u.display_name),
            "changes": changed,
            "link": format!("{}/records/{}/{}", app.settings.tenant_url(tenant.slug.as_str()), record.collection, record.id),
        });
        let version = job.payload.get("version").and_then(Value::as_i64).unwrap_or(record.version);
        let dedupe = format!("notify:{record_id}:{version}:{rule_index}");
        let request = crate::mail::MailRequest {
            recipient: &recipient,
            template: &rule.template,
            locale,
            vars: &vars,
            record_id: Some(record.id),
            dedupe: Some(&dedupe),
        };
        crate::mail::queue(app, &tenant, request).await?;
        Ok(())
    }
}

fn display(field: &socle_marketplace::schema::FieldDef, value: Option<&Value>) -> String {
    match (field.field_type, value) {
        (_, None | Some(Value::Null)) => "—".into(),
        (FieldType::Enum, Some(Value::String(key))) => field.values.iter().find(|v| &v.key == key).map_or(key.clone(), |v| v.label.get("fr").to_owned()),
        (FieldType::Money, Some(Value::Object(m))) => {
            let amount = m.get("amount").and_then(Value::as_i64).unwrap_or(0);
            format!("{},{:02} {}", amount / 100, (amount % 100).abs(), m.get("currency").and_then(Value::as_str).unwrap_or("EUR"))
        }
        (FieldType::Bool, Some(Value::Bool(b))) => {
            if *b {
                "oui".into()
            } else {
                "non".into()
            }
        }
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(other)) => other.to_string(),
    }
}
