#![allow(clippy::unwrap_used)]

//! The plugin runtime, each measured against a baseline of the same run:
//!
//! - **dispatch**: a filter hook through `PluginRuntime::call` (permits, a fresh store with the
//!   plan's limits, epoch deadline, instantiation, the call, a receipt) against a bare loop of
//!   wasmtime `InstancePre::instantiate` + the same export on the same component and engine
//!   (pooling allocator) — the goal is at most 1.5×;
//! - **host call**: a route reading one record 100 times against the same route reading it 0
//!   times (the difference over 100 is one guest→host `records.get` round trip);
//! - **write path**: creating a record in a collection a plugin filters against creating one in
//!   an identical collection no plugin watches.
//!
//! Uses the `bench` fixture plugin: build it first with
//! `cargo run --bin socle -- plugin build tests/fixtures`, then
//! `cargo bench -p socle-core --bench plugins`.

use std::sync::Arc;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::json;
use socle_core::App;
use socle_core::plugins::host::exports::socle::plugin::{hooks, routes};
use socle_core::plugins::host::{Invocation, LoadedPlugin, MemoryLimit, PluginState, events};
use socle_core::plugins::{Call, Output};
use socle_core::records::Caller;
use socle_marketplace::schema::SchemaFile;
use socle_tenants::{Actor, Tenant};

mod support;

const BASELINE_COLLECTION: &str = r#"
[[collections]]
name = "custom.note"
label = "Notes"
title_field = "title"

[[collections.fields]]
name = "title"
type = "text"
label = "Titre"
required = true
"#;

struct Setup {
    app: Arc<App>,
    tenant: Arc<Tenant>,
    plugin: Arc<LoadedPlugin>,
    caller: Caller,
    record_id: String,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let built =
        socle_core::plugins::build::built(&fixtures).unwrap_or_else(|e| panic!("{e:#}: run `cargo run --bin socle -- plugin build tests/fixtures` first"));
    let bench = built.into_iter().find(|b| b.manifest.plugin.id == "bench").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = support::app(dir.path()).await;
    let tenant = Arc::new(support::acme(&app).await);
    let bytes = std::fs::read(&bench.component).unwrap();
    app.marketplace.install_component(&tenant, &bytes, &bench.manifest, None, &Actor::system("bench")).await.unwrap();
    let schema = SchemaFile::parse(BASELINE_COLLECTION).unwrap();
    app.records.registry.install(tenant.id, "custom:bench", &schema, &Actor::system("bench")).await.unwrap();
    let caller = Caller::system(tenant.id, "bench");
    let data = json!({ "title": "Lue" }).as_object().unwrap().clone();
    let record_id = app.records.create(&caller, "bench.note", data).await.unwrap().id.to_string();
    let plugin = app.plugins.plugin(tenant.id, "bench").await.unwrap().unwrap();
    Setup { app, tenant, plugin, caller, record_id, _dir: dir }
}

fn filter_input() -> hooks::Write {
    hooks::Write {
        hook: "check".into(),
        op: "create".into(),
        collection: "bench.note".into(),
        id: uuid::Uuid::now_v7().to_string(),
        before: None,
        data: json!({ "title": "Mesure" }).to_string(),
        transition: None,
        actor: "system:bench".into(),
    }
}

/// The bare loop: the runtime's own `InstancePre` and engine, none of its bookkeeping.
async fn bare_filter(s: &Setup) {
    let state = PluginState {
        invocation: Invocation::new(s.tenant.clone(), s.plugin.guest(), u32::MAX),
        services: s.app.plugins.services().clone(),
        plugin: s.plugin.clone(),
        subscriptions: events::subscriptions([(s.plugin.id.as_str(), s.plugin.manifest.hooks.as_slice())]),
        memory: MemoryLimit { limit: usize::MAX, peak: 0 },
        deadline: Instant::now() + std::time::Duration::from_secs(60),
        epochs: 0,
        user: None,
        pending_files: Vec::new(),
    };
    let mut store = wasmtime::Store::new(socle_core::plugins::engine::shared().unwrap(), state);
    // The engine interrupts on epochs; a far deadline keeps this loop free of callbacks.
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = s.plugin.pre.instantiate_async(&mut store).await.unwrap();
    let outcome = instance.socle_plugin_hooks().call_filter(&mut store, &filter_input()).await.unwrap();
    assert!(matches!(outcome, hooks::FilterOutcome::Keep));
}

async fn runtime_filter(s: &Setup) {
    let output = s.app.plugins.call(&s.tenant, &s.plugin, Call::Filter(filter_input(), Vec::new()), None).await.unwrap();
    assert!(matches!(output, Output::Filter(hooks::FilterOutcome::Keep)));
}

async fn route_reading(s: &Setup, n: usize) {
    let request = routes::Request {
        method: "GET".into(),
        path: "/".into(),
        query: format!("id={}&n={n}", s.record_id),
        headers: Vec::new(),
        body: Vec::new(),
        user: None,
    };
    let Output::Route(response) = s.app.plugins.call(&s.tenant, &s.plugin, Call::Route(request), None).await.unwrap() else { panic!("not a route answer") };
    assert_eq!(response.status, 200);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&response.body).unwrap()["read"], n);
}

async fn create(s: &Setup, collection: &str) {
    let data = json!({ "title": "Mesure" }).as_object().unwrap().clone();
    s.app.records.create(&s.caller, collection, data).await.unwrap();
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s = runtime.block_on(setup());

    let mut group = c.benchmark_group("plugin_dispatch");
    group.bench_function(BenchmarkId::new("filter_hook", "bare_instance_pre_loop"), |b| b.to_async(&runtime).iter(|| bare_filter(&s)));
    group.bench_function(BenchmarkId::new("filter_hook", "socle_runtime_call"), |b| b.to_async(&runtime).iter(|| runtime_filter(&s)));
    group.finish();

    let mut group = c.benchmark_group("plugin_host_call");
    group.bench_function(BenchmarkId::new("route", "records_get_x0"), |b| b.to_async(&runtime).iter(|| route_reading(&s, 0)));
    group.bench_function(BenchmarkId::new("route", "records_get_x100"), |b| b.to_async(&runtime).iter(|| route_reading(&s, 100)));
    group.finish();

    let mut group = c.benchmark_group("plugin_write_path");
    group.sample_size(50);
    group.bench_function(BenchmarkId::new("create", "no_hook"), |b| b.to_async(&runtime).iter(|| create(&s, "custom.note")));
    group.bench_function(BenchmarkId::new("create", "with_filter_hook"), |b| b.to_async(&runtime).iter(|| create(&s, "bench.note")));
    group.finish();
    runtime.block_on(s.app.plugins.flush_receipts());
}

criterion_group!(benches, bench);
criterion_main!(benches);
