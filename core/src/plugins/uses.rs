//! A user using a plugin: running one of its actions on records, or showing one of its panels.
//! The checks live here once, for the JSON API and the portal alike: the plugin must be
//! installed and declare the action or panel, the user hold the action's permission and be allowed
//! to change every record an action names (read, for a panel's record; of the declared collection),
//! and the parameters fit the declared form.

use std::sync::Arc;

use serde_json::{Map, Value};
use socle_marketplace::schema::normalize_value;
use socle_tenants::{Tenant, ValidationError};
use uuid::Uuid;

use super::host::LoadedPlugin;
use super::{Call, Output, PluginError, PluginRuntime};
use crate::records::{Caller, Principal, RecordError, RecordRef};

/// Most records one action runs on.
pub const MAX_ACTION_RECORDS: usize = 1000;

/// Why a plugin could not be used.
#[derive(Debug, thiserror::Error)]
pub enum UseError {
    /// The plugin is not installed, or does not declare the action or panel (`what` says which:
    /// `plugin`, `action`, `panel`).
    #[error("{message}")]
    NotFound {
        /// `plugin`, `action` or `panel`.
        what: &'static str,
        /// What is missing.
        message: String,
    },
    /// Bad input: what to fix.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The user lacks the action's permission.
    #[error("{0}")]
    Forbidden(String),
    /// A record it names cannot be read (missing, hidden, of another collection).
    #[error(transparent)]
    Records(#[from] RecordError),
    /// The plugin ran and said no: its reason is for the user, in the plugin's words (the plugin
    /// is named in the logs and the admin's receipts, not on the user's screen).
    #[error("{reason}")]
    Refused {
        /// The plugin (`telecom@1.1.0`).
        plugin: String,
        /// Its reason.
        reason: String,
    },
    /// The plugin could not run (busy, trapped, timed out).
    #[error(transparent)]
    Failed(#[from] PluginError),
    /// The plugin answered something other than what was asked.
    #[error("{0}")]
    Unexpected(String),
    /// The platform failed.
    #[error(transparent)]
    Platform(#[from] anyhow::Error),
}

fn user_of(caller: &Caller) -> Option<Uuid> {
    match &caller.principal {
        Principal::User { id, .. } => Some(*id),
        _ => None,
    }
}

/// What the plugin declares under `name` (an action, a panel), or why not.
fn declared<'a, T>(plugin: &LoadedPlugin, what: &'static str, name: &str, found: Option<&'a T>) -> Result<&'a T, UseError> {
    found.ok_or_else(|| UseError::NotFound { what, message: format!("{} has no {what} `{name}`", plugin.label()) })
}

impl PluginRuntime {
    /// The installed plugin `id`, or why not.
    pub async fn installed_plugin(&self, tenant: &Tenant, id: &str) -> Result<Arc<LoadedPlugin>, UseError> {
        self.plugin(tenant.id, id).await?.ok_or_else(|| UseError::NotFound { what: "plugin", message: format!("no plugin `{id}` is installed in this tenant") })
    }

    /// Runs `plugin_id`'s action `action` on the records `ids` for `caller` with the form values
    /// `sent`; the plugin's answer (JSON) comes back.
    pub async fn run_action(
        &self,
        tenant: &Arc<Tenant>,
        caller: &Caller,
        plugin_id: &str,
        action: &str,
        ids: Vec<String>,
        sent: &Map<String, Value>,
    ) -> Result<Value, UseError> {
        let plugin = self.installed_plugin(tenant, plugin_id).await?;
        let declared = declared(&plugin, "action", action, plugin.manifest.actions.iter().find(|a| a.name == action))?.clone();
        if ids.is_empty() || ids.len() > MAX_ACTION_RECORDS || (!declared.mass && ids.len() > 1) {
            let message = if declared.mass { "give 1 to 1000 record ids" } else { "this action runs on one record at a time" };
            return Err(ValidationError::new("ids", message).into());
        }
        let records = &self.services().records;
        if let Some(permission) = &declared.permission
            && (user_of(caller).is_none() || !records.holds(caller, permission).await?)
        {
            return Err(UseError::Forbidden(format!("running `{action}` needs the permission `{permission}`")));
        }
        // An action changes the records it runs on: the user must be allowed to change each one.
        for id in &ids {
            let id = Uuid::parse_str(id).map_err(|_| ValidationError::new("ids", format!("`{id}` is not a record id")))?;
            records.check_update(caller, RecordRef::new(&declared.collection, id)).await?;
        }
        let mut params = Map::new();
        for field in &declared.params {
            let at = format!("params.{}", field.name);
            match sent.get(&field.name).filter(|v| !v.is_null()) {
                Some(v) => {
                    let value = normalize_value(field, v).map_err(|m| ValidationError::new(at, m))?;
                    params.insert(field.name.clone(), value);
                }
                None if field.required => return Err(ValidationError::new(at, "is required").into()),
                None => {}
            }
        }
        let call = Call::RunAction { action: action.to_owned(), ids, params: Value::Object(params).to_string() };
        match self.call(tenant, &plugin, call, user_of(caller).map(|u| format!("user:{u}"))).await? {
            Output::Text(Ok(json)) => Ok(serde_json::from_str::<Value>(&json).unwrap_or(Value::Null)),
            Output::Text(Err(reason)) => Err(UseError::Refused { plugin: plugin.label(), reason }),
            _ => Err(UseError::Unexpected("the action answered something else".into())),
        }
    }

    /// The HTML `plugin_id`'s panel `panel` renders for `caller` (unsanitised: the surface that
    /// shows it sanitises), about `record` if given, which the caller must be able to read and
    /// which must be of the panel's collection.
    pub async fn render_panel(&self, tenant: &Arc<Tenant>, caller: &Caller, plugin_id: &str, panel: &str, record: Option<&str>) -> Result<String, UseError> {
        let plugin = self.installed_plugin(tenant, plugin_id).await?;
        let declared = declared(&plugin, "panel", panel, plugin.manifest.panels.iter().find(|p| p.name == panel))?;
        if let Some(permission) = &declared.permission
            && !self.services().records.holds(caller, permission).await?
        {
            return Err(UseError::Forbidden(format!("showing `{panel}` needs the permission `{permission}`")));
        }
        if let Some(record) = record {
            let id = Uuid::parse_str(record).map_err(|_| RecordError::NotFound(format!("record `{record}` does not exist")))?;
            let at = match declared.collection.as_deref() {
                Some(collection) => RecordRef::new(collection, id),
                None => RecordRef::from(id),
            };
            self.services().records.get_fields(caller, at).await?;
        }
        let call = Call::Panel { panel: panel.to_owned(), record_id: record.map(str::to_owned) };
        match self.call(tenant, &plugin, call, user_of(caller).map(|u| format!("user:{u}"))).await? {
            Output::Text(Ok(html)) => Ok(html),
            Output::Text(Err(reason)) => Err(UseError::Refused { plugin: plugin.label(), reason }),
            _ => Err(UseError::Unexpected("the panel answered something else".into())),
        }
    }
}
