//! `clock`: the platform's time (moved by tests).

use super::Invocation;
use super::socle::plugin::clock::Host;
use crate::clock::SharedClock;

/// `clock` as the linker registers it: the view below.
pub struct Clock;

impl wasmtime::component::HasData for Clock {
    type Data<'a> = ClockHost<'a>;
}

/// What `clock` host calls reach.
pub struct ClockHost<'a> {
    /// The invocation.
    pub inv: &'a mut Invocation,
    /// Time.
    pub clock: &'a SharedClock,
}

impl Host for ClockHost<'_> {
    async fn now(&mut self) -> wasmtime::Result<i64> {
        self.inv.charge()?;
        Ok(self.clock.now_ms())
    }
}
