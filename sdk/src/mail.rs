//! Mail in the tenant's brand (capability `mail`).

use serde::Serialize;

use crate::{Error, host};

/// Queues a templated mail to `to` (the host renders it with the tenant's name, logo and colours
/// in the recipient's language, and sends it with retries).
///
/// ```
/// socle_sdk::mail::send("client@exemple.fr", "record_changed", &socle_sdk::json!({"op": "update"})).unwrap();
/// assert_eq!(socle_sdk::testing::sent_mails()[0].0, "client@exemple.fr");
/// ```
pub fn send(to: &str, template: &str, vars: &impl Serialize) -> Result<(), Error> {
    host::mail_send(to, template, &serde_json::to_value(vars)?)
}
