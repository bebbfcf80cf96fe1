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

/// Sets `key` to `value` only if it holds `expected` now (`None`: only if absent); returns
/// whether it did. Invocations run concurrently (action hooks, routes): read, compute, then
/// swap, and retry when another invocation got there first.
///
/// ```
/// use socle_sdk::kv;
/// assert!(kv::compare_and_swap("state", None, b"draft").unwrap());
/// assert!(!kv::compare_and_swap("state", Some(b"sent"), b"paid").unwrap(), "it holds `draft`");
/// assert!(kv::compare_and_swap("state", Some(b"draft"), b"sent").unwrap());
/// ```
pub fn compare_and_swap(key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool, Error> {
    host::kv_compare_and_swap(key, expected, value)
}

/// Adds `delta` to the integer under `key` (stored as decimal text; absent counts as 0),
/// atomically; returns the new value.
///
/// ```
/// assert_eq!(socle_sdk::kv::increment("tickets", 1).unwrap(), 1);
/// assert_eq!(socle_sdk::kv::increment("tickets", 2).unwrap(), 3);
/// assert_eq!(socle_sdk::kv::get("tickets").unwrap().as_deref(), Some(&b"3"[..]));
/// ```
pub fn increment(key: &str, delta: i64) -> Result<i64, Error> {
    host::kv_increment(key, delta)
}
