//! The records' jobs: workflow timers firing, notification mails of changes, and the nightly
//! purge of uploads no record took.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use socle_marketplace::schema::{CollectionDef, FieldDef, FieldType};
use socle_tenants::{Locale, TenantStore};
use uuid::Uuid;

use super::RecordEngine;
use super::engine::job_kinds;
use crate::identity::UserStore;
use crate::jobs::{Job, JobFailure, JobHandler, Registration};
use crate::mail::Mailer;
use crate::mail::local_time::{self, TimeZone};

/// The nightly purge of uploads no record took.
pub const PURGE_UPLOADS_JOB: &str = "records.purge_uploads";

/// How long an upload may wait for the record that takes it (a form being filled in, a client
/// uploading then creating) before the nightly purge deletes it.
pub const UNATTACHED_FILE_TTL_MS: i64 = 24 * 3600 * 1000;

/// What the notification mails need besides the records.
pub struct Notifications {
    /// Tenants (their names, locales and brands).
    pub tenants: Arc<dyn TenantStore>,
    /// Users (who changed a record, who receives its mail and in which language).
    pub users: Arc<dyn UserStore>,
    /// Where mails go (and the records' addresses the mails link to).
    pub mailer: Arc<Mailer>,
}

/// The records' job handlers.
pub fn jobs(records: &Arc<RecordEngine>, notifications: Notifications) -> Vec<Registration> {
    vec![
        Registration::handler(job_kinds::TIMER, Arc::new(FireTimer(records.clone()))),
        Registration::handler(job_kinds::NOTIFY, Arc::new(Notify { records: records.clone(), with: notifications })),
        Registration::scheduled(PURGE_UPLOADS_JOB, "17 3 * * *", Arc::new(PurgeUploads(records.clone()))),
    ]
}

struct FireTimer(Arc<RecordEngine>);

#[async_trait]
impl JobHandler for FireTimer {
    async fn run(&self, job: &Job) -> Result<(), JobFailure> {
        let tenant = job.tenant()?;
        let record = job.uuid("record_id")?;
        let timer = job.payload.get("timer").and_then(Value::as_str).ok_or_else(|| JobFailure::Permanent("no timer".into()))?;
        let due = job.payload.get("due_at").and_then(Value::as_i64).ok_or_else(|| JobFailure::Permanent("no due_at".into()))?;
        self.0.fire_timer(tenant, record, timer, due).await.map_err(|e| JobFailure::Retry(e.to_string()))
    }
}

struct PurgeUploads(Arc<RecordEngine>);

#[async_trait]
impl JobHandler for PurgeUploads {
    async fn run(&self, _job: &Job) -> Result<(), JobFailure> {
        let before = self.0.now_ms() - UNATTACHED_FILE_TTL_MS;
        let files = self.0.purge_unattached_files(before).await.map_err(|e| JobFailure::Retry(e.to_string()))?;
        tracing::info!(files, "abandoned uploads purged");
        Ok(())
    }
}

struct Notify {
    records: Arc<RecordEngine>,
    with: Notifications,
}
#[async_trait]
impl JobHandler for Notify {
    /// One change of a record: one mail to each recipient its matching rules name (two rules
    /// naming the same address, one on updates and one on transitions, send one mail; the first
    /// rule's template is used), never about a change the recipient made when the rule says so.
    async fn run(&self, job: &Job) -> Result<(), JobFailure> {
        let tenant_id = job.tenant()?;
        let record_id = job.uuid("record_id")?;
        let Some(tenant) = self.with.tenants.get(tenant_id).await.map_err(|e| JobFailure::Retry(e.to_string()))? else { return Ok(()) };
        let store = self.records.store();
        let Some(record) = store.get(tenant_id, record_id).await? else { return Ok(()) };
        let collections = self.records.registry.for_tenant(tenant_id).await?;
        let Some(collection) = collections.get(&record.collection) else { return Ok(()) };
        // Jobs queued before one job carried every matching rule name a single `rule`.
        let rule_indexes: Vec<usize> = match job.payload.get("rules").and_then(Value::as_array) {
            Some(rules) => rules.iter().filter_map(Value::as_u64).map(|i| i as usize).collect(),
            None => vec![job.payload.get("rule").and_then(Value::as_u64).unwrap_or(0) as usize],
        };
        let actor = job.payload.get("actor").and_then(Value::as_str).unwrap_or("system");
        let actor_user = match actor.strip_prefix("user:").and_then(|id| Uuid::parse_str(id).ok()) {
            Some(id) => self.with.users.get(tenant_id, id).await?,
            None => None,
        };
        let mut mailed: Vec<String> = Vec::new();
        for rule in rule_indexes.iter().filter_map(|&i| collection.notifications.get(i)) {
            let Some(field) = collection.field(&rule.to) else { continue };
            let recipient = match (field.field_type, record.data.get(&field.name)) {
                (FieldType::Email, Some(Value::String(email))) => Some(email.clone()),
                (FieldType::Reference, Some(Value::String(id))) => match Uuid::parse_str(id) {
                    Ok(target) => store.get(tenant_id, target).await?.and_then(|r| r.data.get("email").and_then(Value::as_str).map(str::to_owned)),
                    Err(_) => None,
                },
                _ => None,
            };
            let Some(recipient) = recipient.map(|r| r.trim().to_lowercase()) else { continue };
            if mailed.contains(&recipient) {
                continue;
            }
            mailed.push(recipient.clone());
            if rule.skip_own_changes && actor_user.as_ref().is_some_and(|u| u.email.eq_ignore_ascii_case(&recipient)) {
                continue;
            }
            let recipient_user = self.with.users.by_email(tenant_id, &recipient).await?.map(|(u, _)| u);
            let locale = recipient_user.and_then(|u| u.locale).unwrap_or(tenant.locale);
            let vars = self.vars(job, &tenant, collection, &record, actor_user.as_ref(), locale);
            let version = job.payload.get("version").and_then(Value::as_i64).unwrap_or(record.version);
            let dedupe = format!("notify:{record_id}:{version}:{recipient}");
            let request = crate::mail::MailRequest {
                recipient: &recipient,
                template: &rule.template,
                locale,
                vars: &vars,
                record_id: Some(record.id),
                dedupe: Some(&dedupe),
            };
            self.with.mailer.queue(&tenant, request).await?;
        }
        Ok(())
    }
}

impl Notify {
    /// The variables of a change's mail in `locale`: only fields anyone may read (the recipient
    /// may be a client), values and times as a person reads them, a link to the record.
    fn vars(
        &self,
        job: &Job,
        tenant: &socle_tenants::Tenant,
        collection: &CollectionDef,
        record: &super::store::StoredRecord,
        actor: Option<&crate::identity::User>,
        locale: Locale,
    ) -> Value {
        let lang = locale.as_str();
        let zone = TimeZone::of(tenant);
        let changed: Vec<Value> = job.payload["changed"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|name| collection.field(name))
            .filter(|f| f.read_permission.is_none() && collection.read_permission.is_none())
            .filter(|f| !matches!(f.field_type, FieldType::Reference | FieldType::File))
            .map(|f| {
                // The value this change wrote (jobs queued before they carried it: the record's).
                let value = match job.payload.get("after").and_then(Value::as_object) {
                    Some(after) => after.get(&f.name),
                    None => record.data.get(&f.name),
                };
                json!({ "label": f.label(lang), "after": display(f, value, zone, locale) })
            })
            .collect();
        let title = collection
            .title_field
            .as_ref()
            .and_then(|t| record.data.get(t))
            .and_then(Value::as_str)
            .map_or_else(|| record.id.to_string()[..8].to_owned(), str::to_owned);
        let transition_label =
            job.payload["transition"].as_str().and_then(|t| collection.workflow.as_ref()?.transition(t)).map(|t| t.label.get(lang).to_owned());
        json!({
            "record": { "label": collection.label_one(lang), "title": title, "id": record.id },
            "op": job.payload["op"], "transition": job.payload["transition"], "transition_label": transition_label,
            "actor": actor.map_or_else(|| tenant.name.clone(), |u| u.display_name.clone()),
            // The job is queued in the write's transaction: its creation is the change's time.
            "at": local_time::datetime(job.created_at, zone, locale),
            "changes": changed,
            "link": self.with.mailer.record_link(tenant, &record.collection, record.id),
        })
    }
}

fn display(field: &FieldDef, value: Option<&Value>, zone: TimeZone, locale: Locale) -> String {
    let (yes, no) = match locale {
        Locale::Fr => ("oui", "non"),
        Locale::En => ("yes", "no"),
    };
    match (field.field_type, value) {
        (_, None | Some(Value::Null)) => "—".into(),
        (FieldType::Enum, Some(Value::String(key))) => {
            field.values.iter().find(|v| &v.key == key).map_or(key.clone(), |v| v.label.get(locale.as_str()).to_owned())
        }
        (FieldType::Money, Some(Value::Object(m))) => {
            let amount = m.get("amount").and_then(Value::as_i64).unwrap_or(0);
            format!("{},{:02} {}", amount / 100, (amount % 100).abs(), m.get("currency").and_then(Value::as_str).unwrap_or("EUR"))
        }
        (FieldType::Bool, Some(Value::Bool(b))) => if *b { yes } else { no }.into(),
        (FieldType::Datetime, Some(Value::String(s))) => local_time::parse_instant(s).map_or_else(|| s.clone(), |ms| local_time::datetime(ms, zone, locale)),
        (FieldType::Date, Some(Value::String(s))) => local_time::date(s, locale).unwrap_or_else(|| s.clone()),
        (_, Some(Value::String(s))) => s.clone(),
        (_, Some(other)) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use socle_marketplace::schema::SchemaFile;

    use super::*;

    fn field(kind: &str, extra: &str) -> FieldDef {
        let text = format!("[[collections]]\nname = \"t\"\nlabel = \"T\"\n[[collections.fields]]\nname = \"f\"\ntype = \"{kind}\"\nlabel = \"F\"\n{extra}");
        SchemaFile::parse(&text).unwrap().collections[0].fields[0].clone()
    }

    #[test]
    fn changed_values_read_as_a_person_reads_them_in_local_time() {
        let paris = TimeZone::EuropeParis;
        let at = field("datetime", "");
        assert_eq!(display(&at, Some(&json!("2026-12-04T13:05:00.000Z")), paris, Locale::Fr), "4 décembre 2026 à 14:05");
        assert_eq!(display(&at, Some(&json!("2026-12-04T13:05:00.000Z")), paris, Locale::En), "4 December 2026 at 14:05 (Paris time)");
        assert_eq!(display(&field("date", ""), Some(&json!("2026-12-04")), paris, Locale::Fr), "4 décembre 2026");
        let status = field("enum", "values = [{ key = \"wait\", label = { fr = \"En attente\", en = \"Waiting\" } }]");
        assert_eq!(display(&status, Some(&json!("wait")), paris, Locale::En), "Waiting");
        assert_eq!(display(&field("bool", ""), Some(&json!(true)), paris, Locale::Fr), "oui");
        assert_eq!(display(&at, None, paris, Locale::Fr), "—");
    }
}
