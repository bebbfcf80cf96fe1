//! `events`: events other plugins' action hooks subscribe to.

use serde_json::json;
use socle_marketplace::manifest::HookKind;

use super::PluginState;
use super::socle::plugin::events::Host;
use super::socle::plugin::types::HostError;
use crate::jobs::NewJob;

/// The job that runs one plugin action hook (see `plugins::hooks`).
pub const ACTION_JOB: &str = "plugin.action";

impl Host for PluginState {
    async fn emit(&mut self, name: String, payload: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.allow("events", None)? {
            return Ok(Err(e));
        }
        if name.is_empty() || name.len() > 100 || payload.len() > 256 * 1024 {
            return Ok(Err(HostError::Invalid(vec![super::WitFieldError {
                field: "event".into(),
                message: "event names are 1 to 100 characters and payloads at most 256 KiB".into(),
            }])));
        }
        let payload: serde_json::Value = serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload));
        // One `plugin.action` job per action hook of the tenant's plugins subscribed to the name.
        let (now, id) = (self.services.clock.now_ms(), uuid::Uuid::now_v7());
        let tenant = self.tenant.id;
        for plugin in self.neighbours.iter() {
            for hook in plugin.manifest.hooks.iter().filter(|h| h.kind == HookKind::Action && h.on.contains(&name)) {
                let job = json!({
                    "plugin": plugin.id, "hook": hook.name, "event": name, "collection": hook.collection,
                    "record_id": "", "version": 0, "details": { "from": self.plugin.id, "payload": payload },
                });
                let job = NewJob::new(Some(tenant), ACTION_JOB, job, now).dedupe(format!("emit:{id}:{}:{}", plugin.id, hook.name));
                if let Err(e) = self.services.jobs.enqueue(&job).await {
                    return Ok(Err(self.unavailable(e)));
                }
            }
        }
        Ok(Ok(()))
    }
}
