//! `mail`: templated mails in the tenant's brand.

use socle_marketplace::manifest::Capability;

use super::socle::plugin::mail::Host;
use super::socle::plugin::types::HostError;
use super::{PluginState, capability_object};

impl Host for PluginState {
    async fn send(&mut self, to: String, template: String, vars: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.require(&Capability::Mail, &capability_object("mail")).await? {
            return Ok(Err(e));
        }
        if !crate::mail::built_in_keys().any(|k| k == template) {
            let keys: Vec<&str> = crate::mail::built_in_keys().collect();
            return Ok(Err(HostError::NotFound(format!("no mail template `{template}` (templates: {})", keys.join(", ")))));
        }
        let vars: serde_json::Value = serde_json::from_str(&vars).unwrap_or_default();
        let request = crate::mail::MailRequest { recipient: &to, template: &template, locale: self.tenant.locale, vars: &vars, record_id: None, dedupe: None };
        Ok(match crate::mail::queue(&self.app, &self.tenant, request).await {
            Ok(_) => Ok(()),
            Err(crate::error::StoreError::Invalid(v)) => Err(HostError::Invalid(vec![super::WitFieldError { field: v.field, message: v.message }])),
            Err(e) => Err(self.unavailable(e)),
        })
    }
}
