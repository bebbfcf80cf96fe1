//! `clock`: the platform's time (moved by tests).

use super::PluginState;
use super::socle::plugin::clock::Host;

impl Host for PluginState {
    async fn now(&mut self) -> wasmtime::Result<i64> {
        self.charge()?;
        Ok(self.services.clock.now_ms())
    }
}
