//! `events`: events other plugins' action hooks subscribe to.

use serde_json::json;
use std::sync::Arc;

use socle_marketplace::manifest::{HookDef, HookKind};

use super::invocation::Invocation;
use super::socle::plugin::events::Host;
use super::socle::plugin::types::HostError;
use crate::clock::SharedClock;
use crate::jobs::{JobStore, NewJob};

capability!(Events => EventsHost {
    #[doc = "The outbox."] jobs: dyn JobStore,
    #[doc = "Time."] clock: SharedClock,
    #[doc = "The action hooks of the tenant's plugins."] subscriptions: [Subscription]
});

/// The job that runs one plugin action hook (see `plugins::hooks`).
pub const ACTION_JOB: &str = "plugin.action";

/// An action hook of one of the tenant's plugins: emitted events it listens to reach it.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// The plugin.
    pub plugin: String,
    /// Its hook.
    pub hook: HookDef,
}

/// The action hooks of `plugins` (the tenant's plugins when an invocation starts).
pub fn subscriptions<'a>(plugins: impl IntoIterator<Item = (&'a str, &'a [HookDef])>) -> Arc<[Subscription]> {
    plugins
        .into_iter()
        .flat_map(|(plugin, hooks)| {
            hooks.iter().filter(|h| h.kind == HookKind::Action).map(move |hook| Subscription { plugin: plugin.to_owned(), hook: hook.clone() })
        })
        .collect()
}

impl Host for EventsHost<'_> {
    async fn emit(&mut self, name: String, payload: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.inv.allow("events", None)? {
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
        let (now, id) = (self.clock.now_ms(), uuid::Uuid::now_v7());
        let tenant = self.inv.tenant.id;
        for Subscription { plugin, hook } in self.subscriptions.iter().filter(|s| s.hook.on.contains(&name)) {
            let job = json!({
                "plugin": plugin, "hook": hook.name, "event": name, "collection": hook.collection,
                "record_id": "", "version": 0, "details": { "from": self.inv.guest.id, "payload": payload },
            });
            let job = NewJob::new(Some(tenant), ACTION_JOB, job, now).dedupe(format!("emit:{id}:{plugin}:{}", hook.name));
            if let Err(e) = self.jobs.enqueue(&job).await {
                return Ok(Err(self.inv.unavailable(e)));
            }
        }
        Ok(Ok(()))
    }
}
