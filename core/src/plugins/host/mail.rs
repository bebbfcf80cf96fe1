//! `mail`: a plugin's message in the tenant's brand. Plugins send the `notification` template
//! only (a subject and a plain-text message): the platform's own templates carry links (password
//! resets, records) a plugin must not be able to forge under the tenant's name.

use super::WitFieldError;
use super::invocation::Invocation;
use super::socle::plugin::mail::Host;
use super::socle::plugin::types::HostError;
use crate::mail::Mailer;

capability!(Mail => MailHost { #[doc = "Mails in the tenant's brand."] mailer: Mailer });

/// The template plugins may send.
pub const PLUGIN_TEMPLATE: &str = "notification";
const MAX_SUBJECT: usize = 200;
const MAX_MESSAGE: usize = 10_000;

fn invalid(field: &str, message: String) -> HostError {
    HostError::Invalid(vec![WitFieldError { field: field.into(), message }])
}

/// The `notification` variables: `subject` and `message`, plain text within bounds.
fn check_vars(vars: &str) -> Result<serde_json::Value, HostError> {
    let vars: serde_json::Value = serde_json::from_str(vars).map_err(|e| invalid("vars", format!("not JSON: {e}")))?;
    let text = |key: &str, max: usize| -> Result<String, HostError> {
        let value = vars.get(key).and_then(serde_json::Value::as_str).unwrap_or_default().trim().to_owned();
        if value.is_empty() || value.chars().count() > max {
            return Err(invalid(&format!("vars.{key}"), format!("give 1 to {max} characters of plain text")));
        }
        Ok(value)
    };
    Ok(serde_json::json!({ "subject": text("subject", MAX_SUBJECT)?, "message": text("message", MAX_MESSAGE)? }))
}

impl Host for MailHost<'_> {
    async fn send(&mut self, to: String, template: String, vars: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.inv.allow("mail", None)? {
            return Ok(Err(e));
        }
        if template != PLUGIN_TEMPLATE {
            return Ok(Err(HostError::NotFound(format!("plugins send the `{PLUGIN_TEMPLATE}` template (vars: subject, message), not `{template}`"))));
        }
        let vars = match check_vars(&vars) {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let request =
            crate::mail::MailRequest { recipient: &to, template: &template, locale: self.inv.tenant.locale, vars: &vars, record_id: None, dedupe: None };
        Ok(match self.mailer.queue(&self.inv.tenant, request).await {
            Ok(_) => Ok(()),
            Err(crate::error::StoreError::Invalid(v)) => Err(invalid(&v.field, v.message)),
            Err(e) => Err(self.inv.unavailable(e)),
        })
    }
}
