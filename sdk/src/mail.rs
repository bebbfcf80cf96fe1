//! Mail in the tenant's brand (capability `mail`).

use serde::Serialize;

use crate::{Error, host};

/// Queues a mail to `to` in the tenant's brand: `subject` and `message` are plain text (the host
/// renders them with the tenant's name, logo and colours in the tenant's language, and sends
/// with retries).
///
/// ```
/// socle_sdk::mail::notify("client@exemple.fr", "Intervention planifiée", "Notre technicien passera mardi à 9 h.").unwrap();
/// assert_eq!(socle_sdk::testing::sent_mails()[0].0, "client@exemple.fr");
/// ```
pub fn notify(to: &str, subject: &str, message: &str) -> Result<(), Error> {
    send(to, "notification", &serde_json::json!({ "subject": subject, "message": message }))
}

/// Queues the mail template `template` with `vars`. Plugins may send `notification`
/// (vars `subject` and `message`, which [`notify`] fills in); the platform's other templates
/// carry links a plugin must not forge, and are refused with `not-found`.
///
/// ```
/// let vars = socle_sdk::json!({ "subject": "Relevé prêt", "message": "Votre relevé de novembre est disponible." });
/// socle_sdk::mail::send("client@exemple.fr", "notification", &vars).unwrap();
/// ```
pub fn send(to: &str, template: &str, vars: &impl Serialize) -> Result<(), Error> {
    host::mail_send(to, template, &serde_json::to_value(vars)?)
}
