//! `log`: lines tagged with the plugin, its version and the tenant.

use super::PluginState;
use super::socle::plugin::log::{Host, Level};

impl Host for PluginState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.charge()?;
        let message: String = message.chars().take(2000).collect();
        let (tenant, plugin, version) = (self.tenant.slug.as_str(), self.plugin.id.as_str(), self.plugin.version.as_str());
        match level {
            Level::Debug => tracing::debug!(tenant = %tenant, plugin.id = %plugin, plugin.version = %version, "{message}"),
            Level::Info => tracing::info!(tenant = %tenant, plugin.id = %plugin, plugin.version = %version, "{message}"),
            Level::Warn => tracing::warn!(tenant = %tenant, plugin.id = %plugin, plugin.version = %version, "{message}"),
            Level::Error => tracing::error!(tenant = %tenant, plugin.id = %plugin, plugin.version = %version, "{message}"),
        }
        Ok(())
    }
}
