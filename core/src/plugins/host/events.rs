//! `events`: events other plugins' action hooks subscribe to.

use socle_marketplace::manifest::Capability;

use super::socle::plugin::events::Host;
use super::socle::plugin::types::HostError;
use super::{PluginState, capability_object};

impl Host for PluginState {
    async fn emit(&mut self, name: String, payload: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.require(&Capability::Events, &capability_object("events")).await? {
            return Ok(Err(e));
        }
        if name.is_empty() || name.len() > 100 || payload.len() > 256 * 1024 {
            return Ok(Err(HostError::Invalid(vec![super::WitFieldError {
                field: "event".into(),
                message: "event names are 1 to 100 characters and payloads at most 256 KiB".into(),
            }])));
        }
        let payload: serde_json::Value = serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload));
        Ok(crate::plugins::hooks::emit(&self.app, self.tenant.id, &self.plugin.id, &name, payload).await.map_err(|e| self.unavailable(e)))
    }
}
