//! `random`: bytes from the host's generator.

use rand::RngCore as _;

use super::PluginState;
use super::socle::plugin::random::Host;

impl Host for PluginState {
    async fn bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        self.charge()?;
        let mut bytes = vec![0u8; len.min(4096) as usize];
        rand::rng().fill_bytes(&mut bytes);
        Ok(bytes)
    }
}
