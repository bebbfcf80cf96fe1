//! `mail`: a plugin's message in the tenant's brand. Plugins send the `notification` template
//! only (a subject and a plain-text message): the platform's own templates carry links (password
//! resets) a plugin must not be able to forge under the tenant's name. The one link a plugin's
//! mail may carry is the host's own, to a record the plugin names in `record` and may read.
//!
//! Times: the host writes out `{{time:…}}` and `{{date:…}}` placeholders of the subject and the
//! message in the tenant's local time and language (`4 décembre 2026 à 14:05`).
//!
//! Once per change: an action hook runs from a job that runs again after a failure; each mail it
//! queued before failing is queued once, however often the job runs (the n-th mail to an address
//! in the job's run is the same mail in every run).

use serde_json::{Value, json};
use uuid::Uuid;

use super::WitFieldError;
use super::invocation::Invocation;
use super::socle::plugin::mail::Host;
use super::socle::plugin::types::HostError;
use crate::mail::Mailer;
use crate::mail::local_time::{self, TimeZone};
use crate::records::{RecordEngine, RecordRef};

capability!(Mail => MailHost {
    #[doc = "Mails in the tenant's brand."] mailer: Mailer,
    #[doc = "Checks that a record a mail links to is one the plugin may read."] records: RecordEngine,
});

/// The template plugins may send.
pub const PLUGIN_TEMPLATE: &str = "notification";
const MAX_SUBJECT: usize = 200;
const MAX_MESSAGE: usize = 10_000;

fn invalid(field: &str, message: String) -> HostError {
    HostError::Invalid(vec![WitFieldError { field: field.into(), message }])
}

/// The `notification` variables a plugin sent, checked.
#[derive(Debug)]
struct Notification {
    subject: String,
    message: String,
    /// The record the mail is about: collection and id.
    record: Option<(String, Uuid)>,
}

/// `subject` and `message`, plain text within bounds with their time placeholders written out;
/// `record`, if any, a collection and a record id.
fn check_vars(vars: &str, zone: TimeZone, locale: socle_tenants::Locale) -> Result<Notification, HostError> {
    let vars: Value = serde_json::from_str(vars).map_err(|e| invalid("vars", format!("not JSON: {e}")))?;
    let text = |key: &str, max: usize| -> Result<String, HostError> {
        let value = vars.get(key).and_then(Value::as_str).unwrap_or_default().trim().to_owned();
        if value.is_empty() || value.chars().count() > max {
            return Err(invalid(&format!("vars.{key}"), format!("give 1 to {max} characters of plain text")));
        }
        local_time::expand(&value, zone, locale).map_err(|e| invalid(&format!("vars.{key}"), e))
    };
    let record = match vars.get("record") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => {
            let collection = r.get("collection").and_then(Value::as_str).map(str::trim).filter(|c| !c.is_empty());
            let Some(collection) = collection else {
                return Err(invalid("vars.record.collection", "name the collection of the record the mail is about".into()));
            };
            let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
            let Ok(id) = Uuid::parse_str(id) else {
                return Err(invalid("vars.record.id", format!("`{id}` is not a record id (a UUID)")));
            };
            Some((collection.to_owned(), id))
        }
        Some(_) => return Err(invalid("vars.record", r#"give {"collection": "…", "id": "…"} of the record the mail is about"#.into())),
    };
    Ok(Notification { subject: text("subject", MAX_SUBJECT)?, message: text("message", MAX_MESSAGE)?, record })
}

impl Host for MailHost<'_> {
    async fn send(&mut self, to: String, template: String, vars: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.inv.allow("mail", None)? {
            return Ok(Err(e));
        }
        if template != PLUGIN_TEMPLATE {
            return Ok(Err(HostError::NotFound(format!("plugins send the `{PLUGIN_TEMPLATE}` template (vars: subject, message, record), not `{template}`"))));
        }
        // Code under review mails nobody: the mail is accepted and dropped.
        if self.inv.tenant.slug.is_review_sandbox() {
            tracing::info!(plugin.id = %self.inv.guest.id, "mail dropped by the review sandbox");
            return Ok(Ok(()));
        }
        let tenant = self.inv.tenant.clone();
        let locale = tenant.locale;
        let notification = match check_vars(&vars, TimeZone::of(&tenant), locale) {
            Ok(n) => n,
            Err(e) => return Ok(Err(e)),
        };
        // The link goes to a record the plugin may read, in the collection it named: the engine
        // checks the manifest's reach, the tenant's grant and that the record exists there.
        let link = match &notification.record {
            None => None,
            Some((collection, id)) => match self.records.get(&self.inv.caller(), RecordRef::new(collection, *id)).await {
                Ok(_) => Some(self.mailer.record_link(&tenant, collection, *id)),
                Err(e) => return Ok(Err(self.inv.record_error(e))),
            },
        };
        let recipient = to.trim().to_lowercase();
        let dedupe = match self.inv.replay_key.clone() {
            Some(key) => {
                let count = self.inv.mails_queued.entry(recipient.clone()).or_insert(0);
                *count += 1;
                let n = *count;
                Some(format!("plugin:{}:{key}:{recipient}:{n}", self.inv.guest.id))
            }
            None => None,
        };
        let vars = json!({ "subject": notification.subject, "message": notification.message, "link": link });
        let request = crate::mail::MailRequest {
            recipient: &to,
            template: &template,
            locale,
            vars: &vars,
            record_id: notification.record.map(|(_, id)| id),
            dedupe: dedupe.as_deref(),
        };
        Ok(match self.mailer.queue(&tenant, request).await {
            Ok(_) => Ok(()),
            Err(crate::error::StoreError::Invalid(v)) => Err(invalid(&v.field, v.message)),
            Err(e) => Err(self.inv.unavailable(e)),
        })
    }
}

#[cfg(test)]
mod tests {
    use socle_tenants::Locale;

    use super::*;

    fn check(vars: Value) -> Result<Notification, HostError> {
        check_vars(&vars.to_string(), TimeZone::EuropeParis, Locale::Fr)
    }

    fn refused_field(result: Result<Notification, HostError>) -> String {
        match result {
            Err(HostError::Invalid(errors)) => format!("{}: {}", errors[0].field, errors[0].message),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_notification_names_a_record_by_collection_and_uuid() {
        let id = Uuid::now_v7();
        let ok = check(json!({ "subject": "s", "message": "m", "record": { "collection": "helpdesk.ticket", "id": id.to_string() } })).unwrap();
        assert_eq!(ok.record, Some(("helpdesk.ticket".to_owned(), id)));
        assert_eq!(check(json!({ "subject": "s", "message": "m", "record": null })).unwrap().record, None);
        assert_eq!(
            refused_field(check(json!({ "subject": "s", "message": "m", "record": { "collection": "helpdesk.ticket", "id": "T-00001" } }))),
            "vars.record.id: `T-00001` is not a record id (a UUID)"
        );
        assert!(refused_field(check(json!({ "subject": "s", "message": "m", "record": { "id": id.to_string() } }))).starts_with("vars.record.collection"));
        assert!(refused_field(check(json!({ "subject": "s", "message": "m", "record": "https://ailleurs.example" }))).starts_with("vars.record:"));
    }

    #[test]
    fn times_in_a_notification_are_written_in_local_time() {
        let ok = check(json!({ "subject": "Rendez-vous le {{date:2026-12-04}}", "message": "Passage le {{time:2026-12-04T13:05:00Z}}." })).unwrap();
        assert_eq!((ok.subject.as_str(), ok.message.as_str()), ("Rendez-vous le 4 décembre 2026", "Passage le 4 décembre 2026 à 14:05."));
        assert_eq!(refused_field(check(json!({ "subject": "s", "message": "le {{time:bientôt}}" }))), "vars.message: `{{time:bientôt}}` holds no valid time");
    }
}
