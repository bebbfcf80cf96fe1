//! The cache and the bus, in-process and on a real Redis.

use std::time::Duration;

use socle_core::bus::{Bus, MemoryBus, RedisBus};
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
async fn the_memory_bus_delivers_to_subscribers() {
    let bus = MemoryBus::new();
    let mut rx = bus.subscribe();
    bus.publish("authz.changed", "tenant-1").await.unwrap();
    let msg = next_message(&mut rx).await;
    assert_eq!((msg.topic.as_str(), msg.payload.as_str()), ("authz.changed", "tenant-1"));
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
