//! `random`: bytes from the host's generator.

use rand::RngCore as _;

use super::Invocation;
use super::socle::plugin::random::Host;

/// `random` as the linker registers it: the view below.
pub struct Random;

impl wasmtime::component::HasData for Random {
    type Data<'a> = RandomHost<'a>;
}

/// What `random` host calls reach.
pub struct RandomHost<'a> {
    /// The invocation.
    pub inv: &'a mut Invocation,
}

impl Host for RandomHost<'_> {
    async fn bytes(&mut self, len: u32) -> wasmtime::Result<Vec<u8>> {
        self.inv.charge()?;
        let mut bytes = vec![0u8; len.min(4096) as usize];
        rand::rng().fill_bytes(&mut bytes);
        Ok(bytes)
    }
}
