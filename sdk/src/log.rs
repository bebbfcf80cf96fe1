//! Logs, tagged by the host with the plugin, its version and the tenant.

use crate::host;

/// A debug line.
///
/// ```
/// socle_sdk::log::debug("starting the sync");
/// ```
pub fn debug(message: &str) {
    host::log(0, message);
}

/// An info line.
///
/// ```
/// socle_sdk::log::info("ticket escalated");
/// ```
pub fn info(message: &str) {
    host::log(1, message);
}

/// A warning.
///
/// ```
/// socle_sdk::log::warn("operator API slow");
/// ```
pub fn warn(message: &str) {
    host::log(2, message);
}

/// An error.
///
/// ```
/// socle_sdk::log::error("could not reach the operator API");
/// ```
pub fn error(message: &str) {
    host::log(3, message);
}
