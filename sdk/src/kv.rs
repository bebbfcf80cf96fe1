//! A key-value store private to the plugin, one per tenant (capability `kv`).

use crate::{Error, host};

/// The value under `key`.
///
/// ```
/// socle_sdk::kv::set("cursor", b"42").unwrap();
/// assert_eq!(socle_sdk::kv::get("cursor").unwrap().as_deref(), Some(&b"42"[..]));
/// ```
pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
    host::kv_get(key)
}

/// Stores `value` under `key` (keys up to 256 bytes, values up to 1 MiB).
///
/// ```
/// socle_sdk::kv::set("greeting", "bonjour".as_bytes()).unwrap();
/// ```
pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
    host::kv_set(key, value)
}

/// Removes `key`.
///
/// ```
/// socle_sdk::kv::set("k", b"v").unwrap();
/// socle_sdk::kv::delete("k").unwrap();
/// assert_eq!(socle_sdk::kv::get("k").unwrap(), None);
/// ```
pub fn delete(key: &str) -> Result<(), Error> {
    host::kv_delete(key)
}

/// The keys starting with `prefix`, sorted.
///
/// ```
/// socle_sdk::kv::set("sync:a", b"1").unwrap();
/// socle_sdk::kv::set("sync:b", b"2").unwrap();
/// assert_eq!(socle_sdk::kv::keys("sync:").unwrap(), ["sync:a", "sync:b"]);
/// ```
pub fn keys(prefix: &str) -> Result<Vec<String>, Error> {
    host::kv_keys(prefix)
}
