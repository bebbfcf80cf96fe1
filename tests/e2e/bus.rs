//! The cache and the bus, in-process and on a real Redis.

use std::time::Duration;

use socle_core::bus::{Bus, DbBus, RedisBus};
use socle_core::cache::{Cache, MemoryCache, RedisCache};

fn prefix() -> String {
    format!("socle-test-{}:", uuid::Uuid::new_v4().simple())
}

async fn exercise_cache(cache: &dyn Cache) {
    assert_eq!(cache.get("k").await.unwrap(), None);
    cache.set("k", "v", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some("v"));
    cache.delete("k").await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
    for expected in 1..=3 {
        assert_eq!(cache.incr("counter", Duration::from_millis(300)).await.unwrap(), expected);
    }
    cache.set("short", "v", Duration::from_millis(100)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.get("short").await.unwrap(), None, "entries expire");
    assert_eq!(cache.incr("counter", Duration::from_millis(300)).await.unwrap(), 1, "a counter's window ends");
}

#[tokio::test]
async fn the_memory_cache_counts_and_expires() {
    exercise_cache(&MemoryCache::new(1000)).await;
}

#[tokio::test]
async fn the_redis_cache_counts_and_expires() {
    let cache = RedisCache::connect(&socle_tests::redis_url(), &prefix()).await.unwrap();
    exercise_cache(&cache).await;
}

async fn next_message(bus: &mut tokio::sync::broadcast::Receiver<socle_core::bus::BusMessage>) -> socle_core::bus::BusMessage {
    tokio::time::timeout(Duration::from_secs(5), bus.recv()).await.expect("no message within 5 s").unwrap()
}

#[tokio::test]
async fn the_database_bus_carries_messages_between_processes_sharing_the_database() {
    // Two buses on one database are two processes (`socle serve` and a `socle` command) on one
    // machine without Redis.
    let db = socle_tests::TestDb::new(socle_tests::TestBackend::from_env()).await;
    let open = || async {
        let options = socle_core::db::DbOptions {
            url: secrecy::SecretString::from(db.url.clone()),
            max_connections: 2,
            acquire_timeout: Duration::from_secs(3),
            app_role: socle_core::Settings::default().database.app_role,
        };
        let handle = socle_core::db::Db::connect(&options).await.unwrap();
        handle.migrate().await.unwrap();
        DbBus::start(handle).await.unwrap()
    };
    let node1 = open().await;
    let node2 = open().await;
    let mut on_node1 = node1.subscribe();
    let mut on_node2 = node2.subscribe();
    node1.publish("tenant.changed", "tenant-7").await.unwrap();
    let msg = next_message(&mut on_node2).await;
    assert_eq!((msg.topic.as_str(), msg.payload.as_str()), ("tenant.changed", "tenant-7"));
    // The publisher's own subscribers hear it at once, and once.
    let msg = next_message(&mut on_node1).await;
    assert_eq!(msg.payload, "tenant-7");
    assert!(tokio::time::timeout(DbBus::POLL * 4, on_node1.recv()).await.is_err(), "a node does not hear its own message twice");
    // A bus started later does not replay what came before it.
    let node3 = open().await;
    let mut on_node3 = node3.subscribe();
    assert!(tokio::time::timeout(DbBus::POLL * 4, on_node3.recv()).await.is_err());
    node3.publish("authz.changed", "tenant-8").await.unwrap();
    assert_eq!(next_message(&mut on_node2).await.payload, "tenant-8");
}

#[tokio::test]
async fn the_redis_bus_carries_messages_between_nodes_and_not_across_prefixes() {
    let shared = prefix();
    let node1 = RedisBus::connect(&socle_tests::redis_url(), &shared).await.unwrap();
    let node2 = RedisBus::connect(&socle_tests::redis_url(), &shared).await.unwrap();
    let elsewhere = RedisBus::connect(&socle_tests::redis_url(), &prefix()).await.unwrap();
    let mut on_node2 = node2.subscribe();
    let mut on_elsewhere = elsewhere.subscribe();
    node1.publish("tenant.changed", "tenant-7").await.unwrap();
    let msg = next_message(&mut on_node2).await;
    assert_eq!((msg.topic.as_str(), msg.payload.as_str()), ("tenant.changed", "tenant-7"));
    assert!(tokio::time::timeout(Duration::from_millis(300), on_elsewhere.recv()).await.is_err());
    node1.ready().await.unwrap();
}
