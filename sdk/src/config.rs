//! The tenant's settings and secrets for this plugin, as declared by the manifest's settings
//! schema (capability `config`).

use serde::de::DeserializeOwned;

use crate::{Error, host};

/// A setting, converted; `None` when the tenant left it unset.
///
/// ```
/// socle_sdk::testing::set_config("sla_urgence_minutes", socle_sdk::json!(240));
/// assert_eq!(socle_sdk::config::get::<u32>("sla_urgence_minutes").unwrap(), Some(240));
/// ```
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    match host::config_get(key)? {
        Some(value) => Ok(Some(serde_json::from_value(value)?)),
        None => Ok(None),
    }
}

/// A secret setting (an API key); never logged by the host.
///
/// ```
/// socle_sdk::testing::set_secret("api_key", "s3cr3t");
/// assert_eq!(socle_sdk::config::secret("api_key").unwrap().as_deref(), Some("s3cr3t"));
/// ```
pub fn secret(key: &str) -> Result<Option<String>, Error> {
    host::config_secret(key)
}
