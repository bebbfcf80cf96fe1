//! `config`: the tenant's settings for the plugin (defaults from the manifest's settings).

use super::PluginState;
use super::socle::plugin::config::Host;
use super::socle::plugin::types::HostError;

impl Host for PluginState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, HostError>> {
        if let Err(e) = self.allow("config", None)? {
            return Ok(Err(e));
        }
        let stored = match self.services.store.setting(self.tenant.id, &self.plugin.id, &key).await {
            Ok(v) => v,
            Err(e) => return Ok(Err(self.unavailable(e))),
        };
        Ok(Ok(match stored {
            Some((_, true)) => None,
            Some((value, false)) => Some(value.to_string()),
            None => {
                self.plugin.manifest.settings.iter().find(|s| s.field.name == key && !s.secret).and_then(|s| s.field.default.as_ref()).map(ToString::to_string)
            }
        }))
    }

    async fn secret(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, HostError>> {
        if let Err(e) = self.allow("config", None)? {
            return Ok(Err(e));
        }
        Ok(match self.services.store.setting(self.tenant.id, &self.plugin.id, &key).await {
            Ok(Some((serde_json::Value::String(s), true))) => Ok(Some(s)),
            Ok(_) => Ok(None),
            Err(e) => Err(self.unavailable(e)),
        })
    }
}
