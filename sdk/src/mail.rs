//! Mail in the tenant's brand (capability `mail`).
//!
//! - [`notify`] sends a plain-text message; [`notify_about`] adds a link to a record in the
//!   tenant's portal, which the host builds itself (a plugin cannot make a tenant's mail point
//!   anywhere else).
//! - Times: the guest has no time zone database, so write [`time`] or [`date`] into the subject or
//!   the message and the host writes the moment out in the tenant's local time and language
//!   (`le 4 décembre 2026 à 14:05`), never as UTC or ISO text.
//! - Once: an action hook runs again after a failure; the mails it queued in an earlier run are
//!   not queued twice (the n-th mail to an address in the hook's run is the same mail in every
//!   run). Send one mail per change and recipient: the host does not merge two different ones.

use std::fmt::Display;

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

/// Queues a mail about record `id` of `collection`: the message of [`notify`], and a button and a
/// line with the record's address in the tenant's portal, on the tenant's own host. The record
/// must be one your plugin may read (declared in the manifest, granted by the tenant): otherwise
/// `Denied`; an id that is not a record's is `Invalid` (not a UUID) or `NotFound`.
///
/// ```
/// use socle_sdk::{json, mail, testing};
/// let ticket = testing::insert("helpdesk.ticket", json!({ "subject": "Panne" }));
/// mail::notify_about("client@exemple.fr", "[T-00001] En cours", "Votre ticket est pris en charge.", "helpdesk.ticket", &ticket).unwrap();
/// let (_, _, vars) = &testing::sent_mails()[0];
/// assert_eq!(vars["record"], json!({ "collection": "helpdesk.ticket", "id": ticket }));
/// ```
pub fn notify_about(to: &str, subject: &str, message: &str, collection: &str, id: &str) -> Result<(), Error> {
    let vars = serde_json::json!({ "subject": subject, "message": message, "record": { "collection": collection, "id": id } });
    send(to, "notification", &vars)
}

/// A moment the host writes out in the tenant's local time when the mail is sent: `at` is Unix
/// milliseconds (`clock::now_ms()`, a record's `created_at`) or the RFC 3339 text a datetime
/// field holds. French mails read `4 décembre 2026 à 14:05` (put « le » before it in a
/// sentence), English ones `4 December 2026 at 14:05 (Paris time)`. A value that is no moment
/// makes the host refuse the mail (`Invalid`, naming it).
///
/// ```
/// use socle_sdk::mail;
/// assert_eq!(mail::time(1_796_389_500_000_i64), "{{time:1796389500000}}");
/// let message = format!("Intervention prévue le {}.", mail::time("2026-12-04T13:05:00.000Z"));
/// // The host sends: « Intervention prévue le 4 décembre 2026 à 14:05. »
/// mail::notify("client@exemple.fr", "Intervention planifiée", &message).unwrap();
/// ```
pub fn time(at: impl Display) -> String {
    format!("{{{{time:{at}}}}}")
}

/// A calendar day (`YYYY-MM-DD`, what a date field holds) the host writes out in the tenant's
/// language: `4 décembre 2026`, `1er mai 2026`, `4 December 2026`. No time zone applies.
///
/// ```
/// assert_eq!(socle_sdk::mail::date("2026-12-04"), "{{date:2026-12-04}}");
/// ```
pub fn date(day: &str) -> String {
    format!("{{{{date:{day}}}}}")
}

/// Queues the mail template `template` with `vars`. Plugins may send `notification` (vars
/// `subject` and `message`, which [`notify`] fills in, and `record`, which [`notify_about`] adds);
/// the platform's other templates carry links a plugin must not forge, and are refused with
/// `not-found`.
///
/// ```
/// let vars = socle_sdk::json!({ "subject": "Relevé prêt", "message": "Votre relevé de novembre est disponible." });
/// socle_sdk::mail::send("client@exemple.fr", "notification", &vars).unwrap();
/// ```
pub fn send(to: &str, template: &str, vars: &impl Serialize) -> Result<(), Error> {
    host::mail_send(to, template, &serde_json::to_value(vars)?)
}
