//! `clock`: the platform's time (moved by tests).

use super::invocation::Invocation;
use super::socle::plugin::clock::Host;
use crate::clock::SharedClock;

capability!(Clock => ClockHost { #[doc = "Time."] clock: SharedClock });

impl Host for ClockHost<'_> {
    async fn now(&mut self) -> wasmtime::Result<i64> {
        self.inv.charge()?;
        Ok(self.clock.now_ms())
    }
}
