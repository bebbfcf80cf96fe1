//! A small shared key-value cache with expiry, for counters and short-lived facts that must agree
//! across nodes (login attempts per address, later rate limits and revoked tokens): in-process by
//! default, Redis when `REDIS_URL` is set.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use redis::AsyncCommands as _;

/// A key-value cache with per-entry expiry.
#[async_trait]
pub trait Cache: Send + Sync {
    /// The value under `key`, unless absent or expired.
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>>;
    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()>;
    /// Removes `key`.
    async fn delete(&self, key: &str) -> anyhow::Result<()>;
    /// Adds one to the counter under `key` and returns the new value; a new counter expires after
    /// `ttl` (a fixed window).
    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64>;
}

#[derive(Clone)]
struct Entry {
    value: String,
    expires_at: Instant,
}

struct EntryExpiry;

impl moka::Expiry<String, Entry> for EntryExpiry {
    fn expire_after_create(&self, _key: &String, value: &Entry, created_at: Instant) -> Option<Duration> {
        Some(value.expires_at.saturating_duration_since(created_at))
    }

    fn expire_after_update(&self, _key: &String, value: &Entry, updated_at: Instant, _left: Option<Duration>) -> Option<Duration> {
        Some(value.expires_at.saturating_duration_since(updated_at))
    }
}

/// One node: a bounded in-memory map (least recently used entries go first when full).
pub struct MemoryCache {
    entries: moka::sync::Cache<String, Entry>,
}

impl MemoryCache {
    /// A cache holding at most `capacity` entries.
    pub fn new(capacity: u64) -> Self {
        Self { entries: moka::sync::Cache::builder().max_capacity(capacity).expire_after(EntryExpiry).build() }
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self.entries.get(key).filter(|e| e.expires_at > Instant::now()).map(|e| e.value))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        self.entries.insert(key.to_owned(), Entry { value: value.to_owned(), expires_at: Instant::now() + ttl });
        Ok(())
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        self.entries.invalidate(key);
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64> {
        let now = Instant::now();
        let entry = self.entries.entry(key.to_owned()).and_upsert_with(|current| match current {
            Some(e) if e.value().expires_at > now => {
                let next = e.value().value.parse::<i64>().unwrap_or(0) + 1;
                Entry { value: next.to_string(), expires_at: e.value().expires_at }
            }
            _ => Entry { value: "1".into(), expires_at: now + ttl },
        });
        Ok(entry.into_value().value.parse().unwrap_or(1))
    }
}

/// Many nodes: Redis, keys under a prefix.
pub struct RedisCache {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    incr: redis::Script,
}

impl RedisCache {
    /// Connects to Redis.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("REDIS_URL is not a valid Redis URL")?;
        let conn = redis::aio::ConnectionManager::new(client).await.context("failed to connect to Redis")?;
        // INCR and the first PEXPIRE in one step, so a counter can never be left without expiry.
        let incr = redis::Script::new("local v = redis.call('INCR', KEYS[1]) if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return v");
        Ok(Self { conn, prefix: prefix.to_owned(), incr })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        let mut conn = self.conn.clone();
        Ok(conn.get(self.key(key)).await.context("Redis GET failed")?)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: () = conn.pset_ex(self.key(key), value, millis(ttl)).await.context("Redis SET failed")?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.del(self.key(key)).await.context("Redis DEL failed")?;
        Ok(())
    }

    async fn incr(&self, key: &str, ttl: Duration) -> anyhow::Result<i64> {
        let mut conn = self.conn.clone();
        let value: i64 = self.incr.key(self.key(key)).arg(millis(ttl)).invoke_async(&mut conn).await.context("Redis INCR failed")?;
        Ok(value)
    }
}
