//! `kv`: a store private to the plugin and the tenant.

use super::PluginState;
use super::socle::plugin::kv::Host;
use super::socle::plugin::types::HostError;
use crate::plugins::store::{KV_QUOTA_BYTES, KV_QUOTA_KEYS, KvExpect, KvWrite};

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

impl PluginState {
    fn over_quota(&self) -> HostError {
        invalid(
            "value",
            format!("{} would hold more than {} MiB or {KV_QUOTA_KEYS} keys of kv in tenant {}", self.plugin.label(), KV_QUOTA_BYTES >> 20, self.tenant.slug),
        )
    }

    /// A checked kv write.
    async fn kv_write(&mut self, key: &str, value: &[u8], expect: KvExpect<'_>) -> wasmtime::Result<Result<KvWrite, HostError>> {
        if let Err(e) = self.allow("kv", None)? {
            return Ok(Err(e));
        }
        if let Err(e) = check_key(key) {
            return Ok(Err(e));
        }
        if value.len() > MAX_VALUE {
            return Ok(Err(invalid("value", "values are at most 1 MiB".into())));
        }
        Ok(match self.services.store.kv_set(self.tenant.id, &self.plugin.id, key, value, expect).await {
            Ok(KvWrite::OverQuota) => Err(self.over_quota()),
            Ok(written) => Ok(written),
            Err(e) => Err(self.unavailable(e)),
        })
    }

    pub(super) fn unavailable(&self, err: impl std::fmt::Display) -> HostError {
        tracing::error!(tenant.id = %self.tenant.id, plugin.id = %self.plugin.id, error = %err, "a plugin's host call failed");
        HostError::Unavailable("the platform could not complete the call; retry later".into())
    }
}

impl Host for PluginState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, HostError>> {
        if let Err(e) = self.allow("kv", None)? {
            return Ok(Err(e));
        }
        Ok(self.services.store.kv_get(self.tenant.id, &self.plugin.id, &key).await.map_err(|e| self.unavailable(e)))
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
        if let Err(e) = self.allow("kv", None)? {
            return Ok(Err(e));
        }
        if let Err(e) = check_key(&key) {
            return Ok(Err(e));
        }
        // Read, add, swap; another invocation's increment in between makes the swap fail and
        // the loop read again.
        for _ in 0..INCREMENT_ATTEMPTS {
            let current = match self.services.store.kv_get(self.tenant.id, &self.plugin.id, &key).await {
                Ok(v) => v,
                Err(e) => return Ok(Err(self.unavailable(e))),
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
            match self.services.store.kv_set(self.tenant.id, &self.plugin.id, &key, next.to_string().as_bytes(), expect).await {
                Ok(KvWrite::Written) => return Ok(Ok(next)),
                Ok(KvWrite::Mismatch) => continue,
                Ok(KvWrite::OverQuota) => return Ok(Err(self.over_quota())),
                Err(e) => return Ok(Err(self.unavailable(e))),
            }
        }
        Ok(Err(HostError::Unavailable(format!("`{key}` changed {INCREMENT_ATTEMPTS} times while being incremented; retry"))))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), HostError>> {
        if let Err(e) = self.allow("kv", None)? {
            return Ok(Err(e));
        }
        Ok(self.services.store.kv_delete(self.tenant.id, &self.plugin.id, &key).await.map_err(|e| self.unavailable(e)))
    }

    async fn keys(&mut self, prefix: String) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        if let Err(e) = self.allow("kv", None)? {
            return Ok(Err(e));
        }
        Ok(self.services.store.kv_keys(self.tenant.id, &self.plugin.id, &prefix).await.map_err(|e| self.unavailable(e)))
    }
}
