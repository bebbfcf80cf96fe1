//! `log`: lines tagged with the plugin, its version and the tenant.

use super::invocation::Invocation;
use super::socle::plugin::log::{Host, Level};

capability!(Log => LogHost {  });

impl Host for LogHost<'_> {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.inv.charge()?;
        let message: String = message.chars().take(2000).collect();
        let (tenant, plugin, version) = (self.inv.tenant.slug.as_str(), self.inv.guest.id.as_str(), self.inv.guest.version.as_str());
        match level {
            Level::Debug => tracing::debug!(tenant = %tenant, plugin.id = %plugin, plugin.version = %version, "{message}"),
            Level::Info => tracing::info!(tenant = %tenant, plugin.id = %plugin, plugin.version = %version, "{message}"),
            Level::Warn => tracing::warn!(tenant = %tenant, plugin.id = %plugin, plugin.version = %version, "{message}"),
            Level::Error => tracing::error!(tenant = %tenant, plugin.id = %plugin, plugin.version = %version, "{message}"),
        }
        Ok(())
    }
}
