//! The bus carries invalidations between nodes (a policy changed, a tenant's branding changed):
//! Redis pub/sub when `REDIS_URL` is set, otherwise a table of the shared database that every
//! process polls (so `socle tenant suspend` in a terminal reaches the `socle serve` beside it).
//! Messages are hints to drop a cache, so at-most-once delivery is enough; a node that misses one
//! still expires its caches.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use futures::StreamExt as _;
use redis::AsyncCommands as _;
use tokio::sync::broadcast;

/// One message on the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage {
    /// What happened, e.g. [`topics::AUTHZ_CHANGED`].
    pub topic: String,
    /// Which thing it happened to (usually a tenant id).
    pub payload: String,
}

/// Topics the core publishes.
pub mod topics {
    /// A tenant's policies changed: drop its enforcer. Payload: tenant id.
    pub const AUTHZ_CHANGED: &str = "authz.changed";
    /// A tenant's settings, domains or branding changed: drop cached lookups. Payload: tenant id.
    pub const TENANT_CHANGED: &str = "tenant.changed";
    /// A tenant's collections changed (a schema installed or removed). Payload: tenant id.
    pub const SCHEMA_CHANGED: &str = "schema.changed";
    /// A tenant's plugins changed (installed, upgraded, removed). Payload: tenant id.
    pub const PLUGINS_CHANGED: &str = "plugins.changed";
}

/// A node-local cache of per-tenant data, dropped when the bus announces a change.
#[async_trait]
pub trait TenantCache: Send + Sync + 'static {
    /// Drops what is cached about `tenant`.
    async fn invalidate_tenant(&self, tenant: socle_tenants::TenantId);
    /// Drops everything (messages were missed: any entry may be stale).
    async fn invalidate_everything(&self);
}

/// Keeps `cache` in step with the other nodes: each `topic` message (payload: a tenant id)
/// drops that tenant's entries. Ends when the cache is dropped or the bus closes.
pub fn invalidate_on<C: TenantCache>(bus: &dyn Bus, topic: &'static str, cache: &std::sync::Arc<C>) -> tokio::task::JoinHandle<()> {
    let mut messages = bus.subscribe();
    let cache = std::sync::Arc::downgrade(cache);
    tokio::spawn(async move {
        loop {
            let message = messages.recv().await;
            let Some(cache) = cache.upgrade() else { return };
            match message {
                Ok(msg) if msg.topic == topic => match msg.payload.parse() {
                    Ok(tenant) => cache.invalidate_tenant(tenant).await,
                    Err(_) => tracing::warn!(topic, payload = %msg.payload, "bus message without a tenant id ignored"),
                },
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(topic, missed, "bus messages missed; dropping the whole cache");
                    cache.invalidate_everything().await;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

/// Publish to every node; subscribe to what every node publishes (including this one).
#[async_trait]
pub trait Bus: Send + Sync {
    /// Sends a message to every node.
    async fn publish(&self, topic: &str, payload: &str) -> anyhow::Result<()>;
    /// Receives every message published from now on.
    fn subscribe(&self) -> broadcast::Receiver<BusMessage>;
    /// Whether the bus can reach its backend (for `/readyz`).
    async fn ready(&self) -> anyhow::Result<()>;
}

const LOCAL_CAPACITY: usize = 1024;

/// Processes sharing one database and no Redis: a message is a row of `bus_messages`, delivered
/// at once to this process's subscribers and, within [`DbBus::POLL`], to every other process
/// polling the table. Rows older than an hour are deleted.
pub struct DbBus {
    db: crate::db::Db,
    node: String,
    sender: broadcast::Sender<BusMessage>,
    poller: tokio::task::JoinHandle<()>,
}

impl DbBus {
    /// How often other processes' messages are read.
    pub const POLL: Duration = Duration::from_millis(250);
    /// How long a message is kept.
    const KEEP_MS: i64 = 3_600_000;

    /// Starts listening from the newest message on.
    pub async fn start(db: crate::db::Db) -> anyhow::Result<Self> {
        let node = uuid::Uuid::new_v4().simple().to_string();
        let sender = broadcast::channel(LOCAL_CAPACITY).0;
        let mut tx = db.read(crate::db::Scope::Platform).await?;
        let last: i64 = tx.query("SELECT COALESCE(MAX(id), 0) FROM bus_messages").scalar(&mut tx).await?.unwrap_or(0);
        tx.commit().await?;
        let poller = tokio::spawn(poll(db.clone(), node.clone(), sender.clone(), last));
        Ok(Self { db, node, sender, poller })
    }
}

impl Drop for DbBus {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn poll(db: crate::db::Db, node: String, sender: broadcast::Sender<BusMessage>, mut last: i64) {
    let mut rounds: u32 = 0;
    loop {
        tokio::time::sleep(DbBus::POLL).await;
        let result: anyhow::Result<()> = async {
            let mut tx = db.read(crate::db::Scope::Platform).await?;
            let rows = tx.query("SELECT id, node, topic, payload FROM bus_messages WHERE id > $1 ORDER BY id LIMIT 1000").bind(last).fetch_all(&mut tx).await?;
            tx.commit().await?;
            for row in rows {
                last = row.get("id")?;
                if row.get::<String>("node")? != node {
                    let _ = sender.send(BusMessage { topic: row.get("topic")?, payload: row.get("payload")? });
                }
            }
            rounds = rounds.wrapping_add(1);
            if rounds.is_multiple_of(1200) {
                let mut tx = db.write(crate::db::Scope::Platform).await?;
                tx.query("DELETE FROM bus_messages WHERE at < $1").bind(unix_ms() - DbBus::KEEP_MS).execute(&mut tx).await?;
                tx.commit().await?;
            }
            Ok(())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(error = format!("{err:#}"), "reading the database bus failed; retrying");
        }
    }
}

#[async_trait]
impl Bus for DbBus {
    async fn publish(&self, topic: &str, payload: &str) -> anyhow::Result<()> {
        self.db
            .writing(crate::db::Scope::Platform, "INSERT INTO bus_messages (node, topic, payload, at) VALUES ($1, $2, $3, $4)")
            .bind((&self.node, topic, payload, unix_ms()))
            .execute()
            .await
            .with_context(|| format!("failed to publish `{topic}` on the database bus"))?;
        let _ = self.sender.send(BusMessage { topic: topic.into(), payload: payload.into() });
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.sender.subscribe()
    }

    async fn ready(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Many nodes: Redis pub/sub on channels `<prefix><topic>`. A background task keeps one
/// subscription open, reconnecting after failures, and fans messages out locally.
pub struct RedisBus {
    publisher: redis::aio::ConnectionManager,
    prefix: String,
    sender: broadcast::Sender<BusMessage>,
    listener: tokio::task::JoinHandle<()>,
}

impl RedisBus {
    /// Connects to Redis and starts listening on `<prefix>*`.
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("REDIS_URL is not a valid Redis URL")?;
        let publisher = redis::aio::ConnectionManager::new(client.clone()).await.context("failed to connect to Redis")?;
        let sender = broadcast::channel(LOCAL_CAPACITY).0;
        let (subscribed_tx, subscribed_rx) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(listen(client, prefix.to_owned(), sender.clone(), subscribed_tx));
        // Wait for the first subscription so a publish right after connect is not missed.
        tokio::time::timeout(Duration::from_secs(5), subscribed_rx)
            .await
            .context("timed out subscribing to Redis")?
            .context("the Redis listener stopped before subscribing")?;
        Ok(Self { publisher, prefix: prefix.to_owned(), sender, listener })
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

async fn listen(client: redis::Client, prefix: String, sender: broadcast::Sender<BusMessage>, subscribed: tokio::sync::oneshot::Sender<()>) {
    let mut subscribed = Some(subscribed);
    let pattern = format!("{prefix}*");
    loop {
        let result: anyhow::Result<()> = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.psubscribe(&pattern).await?;
            if let Some(tx) = subscribed.take() {
                let _ = tx.send(());
            }
            let mut messages = pubsub.on_message();
            while let Some(msg) = messages.next().await {
                let channel = msg.get_channel_name();
                let Some(topic) = channel.strip_prefix(&prefix) else { continue };
                let payload: String = msg.get_payload().unwrap_or_default();
                let _ = sender.send(BusMessage { topic: topic.to_owned(), payload });
            }
            Ok(())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "Redis bus subscription lost; reconnecting");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, topic: &str, payload: &str) -> anyhow::Result<()> {
        let mut conn = self.publisher.clone();
        let _: i64 = conn.publish(format!("{}{topic}", self.prefix), payload).await.with_context(|| format!("failed to publish `{topic}` on Redis"))?;
        Ok(())
    }

    fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        self.sender.subscribe()
    }

    async fn ready(&self) -> anyhow::Result<()> {
        let mut conn = self.publisher.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await.context("Redis does not answer PING")?;
        Ok(())
    }
}
