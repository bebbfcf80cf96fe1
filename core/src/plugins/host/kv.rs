//! `kv`: a store private to the plugin and the tenant.

use super::invocation::Invocation;
use super::socle::plugin::kv::Host;
use super::socle::plugin::types::HostError;
use crate::plugins::store::PluginStore;
use crate::plugins::store::{KV_QUOTA_BYTES, KV_QUOTA_KEYS, KvExpect, KvWrite};

capability!(Kv => KvHost { #[doc = "The plugin store (its kv)."] store: dyn PluginStore });

const MAX_KEY: usize = 256;
const MAX_VALUE: usize = 1024 * 1024;
/// Tries of an increment racing other invocations.
const INCREMENT_ATTEMPTS: usize = 16;

fn check_key(key: &str) -> Result<(), HostError> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(invalid("key", format!("keys are 1 to {MAX_KEY} bytes")));
    }
    Ok(())
}

fn invalid(field: &str, message: String) -> HostError {
    HostError::Invalid(vec![super::WitFieldError { field: field.into(), message }])
}

impl KvHost<'_> {
    fn over_quota(&self) -> HostError {
        invalid(
            "value",
            format!(
                "{} would hold more than {} MiB or {KV_QUOTA_KEYS} keys of kv in tenant {}",
                self.inv.guest.label(),
                KV_QUOTA_BYTES >> 20,
                self.inv.tenant.slug
            ),
        )
    }

    /// A checked kv write.
    async fn kv_write(&mut self, key: &str, value: &[u8], expect: KvExpect<'_>) -> wasmtime::Result<Result<KvWrite, HostError>> {
        if let Err(e) = self.inv.allow("kv", None)? {
            return Ok(Err(e));
        }
        if let Err(e) = check_key(key) {
            return Ok(Err(e));
        }
        if value.len() > MAX_VALUE {
            return Ok(Err(invalid("value", "values are at most 1 MiB".into())));
        }
        Ok(match self.store.kv_set(self.inv.tenant.id, &self.inv.guest.id, key, value, expect).await {
            Ok(KvWrite::OverQuota) => Err(self.over_quota()),
            Ok(written) => Ok(written),
            Err(e) => Err(self.inv.unavailable(e)),
        })
    }
}

impl Host for KvHost<'_> {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, HostError>> {
        if let Err(e) = self.inv.allow("kv", None)? {
            return Ok(Err(e));
        }
        Ok(self.store.kv_get(self.inv.tenant.id, &self.inv.guest.id, &key).await.map_err(|e| self.inv.unavailable(e)))
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), HostError>> {
        Ok(self.kv_write(&key, &value, KvExpect::Any).await?.map(|_| ()))
    }

    async fn compare_and_swap(&mut self, key: String, expected: Option<Vec<u8>>, value: Vec<u8>) -> wasmtime::Result<Result<bool, HostError>> {
        let expect = match &expected {
            Some(bytes) => KvExpect::Value(bytes),
            None => KvExpect::Absent,
        };
        Ok(self.kv_write(&key, &value, expect).await?.map(|w| w == KvWrite::Written))
    }

    async fn increment(&mut self, key: String, delta: i64) -> wasmtime::Result<Result<i64, HostError>> {
        if let Err(e) = self.inv.allow("kv", None)? {
            return Ok(Err(e));
        }
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        // Read, add, swap; another invocation's increment in between makes the swap fail and
        // the loop read again.
        for _ in 0..INCREMENT_ATTEMPTS {
            let current = match self.store.kv_get(self.inv.tenant.id, &self.inv.guest.id, &key).await {
                Ok(v) => v,
                Err(e) => return Ok(Err(self.inv.unavailable(e))),
            };
            let number = match &current {
                None => 0,
                Some(bytes) => match std::str::from_utf8(bytes).ok().and_then(|t| t.parse::<i64>().ok()) {
                    Some(n) => n,
                    None => return Ok(Err(invalid("key", format!("`{key}` does not hold an integer")))),
                },
            };
            let Some(next) = number.checked_add(delta) else { return Ok(Err(invalid("delta", "the sum overflows a 64-bit integer".into()))) };
            let expect = match &current {
                Some(bytes) => KvExpect::Value(bytes),
                None => KvExpect::Absent,
            };
            match self.store.kv_set(self.inv.tenant.id, &self.inv.guest.id, &key, next.to_string().as_bytes(), expect).await {
                Ok(KvWrite::Written) => return Ok(Ok(next)),
                Ok(KvWrite::Mismatch) => continue,
                Ok(KvWrite::OverQuota) => return Ok(Err(self.over_quota())),
                Err(e) => return Ok(Err(self.inv.unavailable(e))),
            }
        }
        Ok(Err(HostError::Unavailable(format!("`{key}` changed {INCREMENT_ATTEMPTS} times while being incremented; retry"))))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.inv.allow("kv", None)? {
            return Ok(Err(e));
        }
        Ok(self.store.kv_delete(self.inv.tenant.id, &self.inv.guest.id, &key).await.map_err(|e| self.inv.unavailable(e)))
    }

    async fn keys(&mut self, prefix: String) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        if let Err(e) = self.inv.allow("kv", None)? {
            return Ok(Err(e));
        }
        Ok(self.store.kv_keys(self.inv.tenant.id, &self.inv.guest.id, &prefix).await.map_err(|e| self.inv.unavailable(e)))
    }
}
