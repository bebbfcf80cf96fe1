//! `random`: bytes from the host's generator.

use rand::RngCore as _;

use super::invocation::Invocation;
use super::socle::plugin::random::Host;

capability!(Random => RandomHost {  });

impl Host for RandomHost<'_> {
    async fn bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        self.inv.charge()?;
        let mut bytes = vec![0u8; len.min(4096) as usize];
        rand::rng().fill_bytes(&mut bytes);
        Ok(bytes)
    }
}
