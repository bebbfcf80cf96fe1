//! Events other plugins' action hooks can subscribe to (capability `events`).

use serde::Serialize;

use crate::{Error, host};

/// Emits `name` with a payload.
///
/// ```
/// socle_sdk::events::emit("invoice.paid", &socle_sdk::json!({"amount": 1990})).unwrap();
/// assert_eq!(socle_sdk::testing::emitted()[0].0, "invoice.paid");
/// ```
pub fn emit(name: &str, payload: &impl Serialize) -> Result<(), Error> {
    host::events_emit(name, &serde_json::to_value(payload)?)
}
