//! Plugins in the records write path: filter hooks run inside writes (in priority order, able to
//! change or veto them), action hooks run after commit from the outbox (`plugin.action` jobs, at
//! least once, retried with backoff, dead-lettered), and events plugins emit reach the action
//! hooks subscribed to them.

use std::sync::{Arc, Weak};

use async_trait::async_trait;
use serde_json::{Value, json};
use socle_marketplace::manifest::HookKind;

pub use super::host::events::ACTION_JOB;
use super::host::exports::socle::plugin::hooks::{Event, FilterOutcome, Write};
use super::runtime::{Call, Output, PluginRuntime};
use crate::jobs::{Job, JobFailure, JobHandler, NewJob, Registration};
use crate::records::hooks::{ActionSubscribers, ChangeEvent, FilterHook, PendingWrite, Veto};
use crate::records::store::WriteOp;
use crate::records::{Caller, Principal};

/// The jobs of plugins: action hooks, and the fan-out of emitted events to them.
pub fn jobs(runtime: &Arc<PluginRuntime>) -> Vec<Registration> {
    vec![Registration::handler(ACTION_JOB, Arc::new(RunAction(runtime.clone())))]
}

/// The filter hooks of every plugin installed in the writing tenant.
pub struct PluginFilters {
    /// The runtime (weak: the records engine holding this hook is one of the runtime's services).
    pub runtime: Weak<PluginRuntime>,
}

#[async_trait]
impl FilterHook for PluginFilters {
    fn name(&self) -> String {
        "plugins".into()
    }

    fn priority(&self) -> i32 {
        100
    }

    fn applies(&self, _caller: &Caller, _collection: &str) -> bool {
        // Which plugins subscribe is only known per tenant, asynchronously: decided in
        // `before_write`.
        true
    }

    async fn before_write(&self, caller: &Caller, write: &mut PendingWrite) -> Result<(), Veto> {
        let Some(runtime) = self.runtime.upgrade() else { return Ok(()) };
        let op = match write.op {
            WriteOp::Create => "create",
            WriteOp::Update => "update",
            WriteOp::Delete => "delete",
        };
        let refuse = |reason: String| Veto { reason, by: Some("plugins".into()) };
        let plugins = runtime.installed(caller.tenant).await.map_err(|e| refuse(format!("plugins could not be loaded: {e:#}")))?;
        let mut subscribed: Vec<(i32, Arc<super::host::LoadedPlugin>, String)> = Vec::new();
        for plugin in plugins.iter() {
            // A plugin's own writes do not run its own filters (no self-recursion).
            if matches!(&caller.principal, Principal::Plugin { id, .. } if *id == plugin.id) {
                continue;
            }
            for hook in &plugin.manifest.hooks {
                if hook.kind == HookKind::Filter && hook.collection == write.collection && hook.on.iter().any(|o| o == op) {
                    subscribed.push((hook.priority, plugin.clone(), hook.name.clone()));
                }
            }
        }
        if subscribed.is_empty() {
            return Ok(());
        }
        subscribed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let tenant = runtime.tenant(caller.tenant).await.map_err(|e| refuse(format!("{e:#}")))?;
        for (_, plugin, hook) in subscribed {
            let input = Write {
                hook: hook.clone(),
                op: op.into(),
                collection: write.collection.clone(),
                id: write.id.to_string(),
                before: write.before.as_ref().map(|b| Value::Object(b.clone()).to_string()),
                data: Value::Object(write.data.clone()).to_string(),
                transition: write.transition.clone(),
                actor: caller.actor.subject.clone(),
            };
            let by = Some(format!("plugin:{}", plugin.id));
            match runtime.call(&tenant, &plugin, Call::Filter(input, write.files.clone()), None).await {
                Ok(Output::Filter(FilterOutcome::Keep)) => {}
                Ok(Output::Filter(FilterOutcome::Change(json))) => match serde_json::from_str::<Value>(&json) {
                    Ok(Value::Object(data)) => write.data = data,
                    _ => return Err(Veto { reason: "it returned data that is not a JSON object".into(), by }),
                },
                Ok(Output::Filter(FilterOutcome::Veto(reason))) => return Err(Veto { reason, by }),
                Ok(_) => return Err(Veto { reason: "it answered a filter hook with something else".into(), by }),
                Err(err) => return Err(Veto { reason: format!("it could not check this change: {}", err.message), by }),
            }
        }
        Ok(())
    }
}

/// Turns committed changes into `plugin.action` jobs for the plugins subscribed to them.
pub struct PluginActions {
    /// The runtime (weak, as for [`PluginFilters`]).
    pub runtime: Weak<PluginRuntime>,
}

#[async_trait]
impl ActionSubscribers for PluginActions {
    async fn jobs(&self, caller: &Caller, change: &ChangeEvent<'_>, now: i64) -> Vec<NewJob> {
        let Some(runtime) = self.runtime.upgrade() else { return Vec::new() };
        let plugins = match runtime.installed(caller.tenant).await {
            Ok(p) => p,
            Err(err) => {
                tracing::error!(tenant.id = %caller.tenant, error = format!("{err:#}"), "plugin subscriptions could not be loaded; action hooks skipped");
                return Vec::new();
            }
        };
        let mut jobs = Vec::new();
        for plugin in plugins.iter() {
            for hook in plugin.manifest.hooks.iter().filter(|h| h.kind == HookKind::Action && h.collection == change.collection) {
                for event in change.events.iter().filter(|e| hook.on.contains(e)) {
                    let payload = json!({
                        "plugin": plugin.id, "hook": hook.name, "event": event, "collection": change.collection,
                        "record_id": change.record_id, "version": change.version,
                        "details": { "changed": change.changed, "transition": change.transition, "state": change.state, "actor": caller.actor.subject },
                    });
                    let key = format!("action:{}:{}:{}:{}:{event}", plugin.id, hook.name, change.record_id, change.version);
                    jobs.push(NewJob::new(Some(caller.tenant), ACTION_JOB, payload, now).dedupe(key));
                }
            }
        }
        jobs
    }
}

/// Runs a `plugin.action` job.
struct RunAction(Arc<PluginRuntime>);

#[async_trait]
impl JobHandler for RunAction {
    async fn run(&self, job: &Job) -> Result<(), JobFailure> {
        let tenant_id = job.tenant_id.ok_or_else(|| JobFailure::Permanent("no tenant".into()))?;
        let text = |key: &str| job.payload.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let plugin_id = text("plugin");
        let Some(plugin) = self.0.plugin(tenant_id, &plugin_id).await? else {
            // Uninstalled since: nothing to run.
            return Ok(());
        };
        let tenant = self.0.tenant(tenant_id).await?;
        let event = Event {
            hook: text("hook"),
            name: text("event"),
            collection: text("collection"),
            record_id: text("record_id"),
            version: job.payload.get("version").and_then(Value::as_i64).unwrap_or(0),
            payload: job.payload.get("details").cloned().unwrap_or_default().to_string(),
        };
        match self.0.call_action(&tenant, &plugin, event, job.id.to_string()).await {
            Ok(Output::Done(Ok(()))) => Ok(()),
            Ok(Output::Done(Err(reason))) => Err(JobFailure::Retry(format!("plugin {} refused: {reason}", plugin.label()))),
            Ok(_) => Err(JobFailure::Permanent(format!("plugin {} answered an action hook with something else", plugin.label()))),
            Err(err) => Err(JobFailure::Retry(err.to_string())),
        }
    }
}
