//! `config`: the tenant's settings for the plugin (defaults from the manifest's settings).

use super::invocation::Invocation;
use super::socle::plugin::config::Host;
use super::socle::plugin::types::HostError;
use crate::plugins::store::PluginStore;
use socle_marketplace::manifest::SettingDef;

capability!(Config => ConfigHost {
    #[doc = "The plugin store (the tenant's settings)."] store: dyn PluginStore,
    #[doc = "The settings the manifest declares (their defaults)."] settings: [SettingDef]
});

impl Host for ConfigHost<'_> {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, HostError>> {
        if let Err(e) = self.inv.allow("config", None)? {
            return Ok(Err(e));
        }
        let stored = match self.store.setting(self.inv.tenant.id, &self.inv.guest.id, &key).await {
            Ok(v) => v,
            Err(e) => return Ok(Err(self.inv.unavailable(e))),
        };
        Ok(Ok(match stored {
            Some((_, true)) => None,
            Some((value, false)) => Some(value.to_string()),
            None => self.settings.iter().find(|s| s.field.name == key && !s.secret).and_then(|s| s.field.default.as_ref()).map(ToString::to_string),
        }))
    }

    async fn secret(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, HostError>> {
        if let Err(e) = self.inv.allow("config", None)? {
            return Ok(Err(e));
        }
        Ok(match self.store.setting(self.inv.tenant.id, &self.inv.guest.id, &key).await {
            Ok(Some((serde_json::Value::String(s), true))) => Ok(Some(s)),
            Ok(_) => Ok(None),
            Err(e) => Err(self.inv.unavailable(e)),
        })
    }
}
