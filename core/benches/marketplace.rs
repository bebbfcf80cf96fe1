#![allow(clippy::unwrap_used)]

//! Installing a resolved plugin set from the marketplace into a fresh tenant, components already
//! compiled and cached (the common case: another tenant installed them before).
//!
//! - **baseline**: one plugin without dependencies (`bench`);
//! - **five plugins**: `good`, `addon` (depends on `good`), `bench` and two more copies of it under
//!   other ids — resolution, the journaled operation with its snapshot, five lifecycle installs
//!   with their collections, grants and policies, and the commit (goal: < 1 s).
//!
//! Uses the fixture plugins: build them first with
//! `cargo run --bin socle -- plugin build tests/fixtures`, then
//! `cargo bench -p socle-core --bench marketplace`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use socle_core::App;
use socle_core::marketplace::apply::{Change, Target, Wants};
use socle_marketplace::manifest::Manifest;
use socle_marketplace::package::{Digest, Package};
use socle_marketplace::resolve::Upgrade;
use socle_marketplace::signing::SecretKey;
use socle_tenants::{Actor, NewTenant, PluginWant, Slug};

mod support;

struct Setup {
    app: Arc<App>,
    tenants: AtomicUsize,
    _dir: tempfile::TempDir,
}

/// A package of a built fixture, its manifest's id renamed to `id` (collections included).
fn package(fixtures: &std::path::Path, name: &str, id: &str) -> Vec<u8> {
    let built =
        socle_core::plugins::build::built(fixtures).unwrap_or_else(|e| panic!("{e:#}: run `cargo run --bin socle -- plugin build tests/fixtures` first"));
    let fixture = built.into_iter().find(|b| b.manifest.plugin.id == name).unwrap();
    let text = std::fs::read_to_string(fixture.dir.join("socle.toml"))
        .unwrap()
        .replace(&format!("id = \"{name}\""), &format!("id = \"{id}\""))
        .replace(&format!("\"{name}."), &format!("\"{id}."));
    let manifest = Manifest::parse(&text).unwrap();
    let component = std::fs::read(&fixture.component).unwrap();
    Package { manifest, manifest_text: text, component, readme: Some(format!("# {id}\n")), changelog: None, assets: BTreeMap::new() }.pack()
}

async fn setup() -> Setup {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let app = support::app(dir.path()).await;
    let (publisher, _) = app.marketplace.create_publisher("socle-tests", "Socle Tests", "bench@socle.test").await.unwrap();
    let key = SecretKey::from_seed([9; 32]);
    app.marketplace.add_publisher_key(&publisher.id, &key.public().to_string()).await.unwrap();
    for (name, id) in [("good", "good"), ("addon", "addon"), ("bench", "bench"), ("bench", "benchb"), ("bench", "benchc")] {
        let archive = package(&fixtures, name, id);
        let signature = key.sign(&Digest::of(&archive)).to_json();
        let report = app.marketplace.submit(&publisher, &archive, &signature).await.unwrap();
        assert!(report.failure().is_none(), "{id}: {:?}", report.failure());
        if report.outcome == "in_review" {
            assert!(app.marketplace.store().decide(id, "1.0.0", "listed", "ok", "bench").await.unwrap());
        }
    }
    Setup { app, tenants: AtomicUsize::new(0), _dir: dir }
}

fn install_change(plugins: &[&str]) -> Change {
    let wants: Wants = plugins
        .iter()
        .map(|id| ((*id).to_owned(), PluginWant { version: semver::VersionReq::STAR, beta: false, pin: None, grants: None, subscribed: false }))
        .collect();
    Change { kind: "install", summary: format!("install {}", plugins.join(", ")), target: Target::Resolve { wants, upgrade: Upgrade::All, locked: None } }
}

/// Installs `plugins` into `iterations` fresh tenants; only the installs are timed.
async fn install_into_fresh_tenants(s: &Setup, plugins: &[&str], iterations: u64) -> Duration {
    let change = install_change(plugins);
    let mut total = Duration::ZERO;
    for _ in 0..iterations {
        let n = s.tenants.fetch_add(1, Ordering::Relaxed);
        let slug = Slug::parse(&format!("bench-{n}")).unwrap();
        let tenant = Arc::new(s.app.tenants.create(NewTenant::new(slug, "Bench"), &Actor::system("bench")).await.unwrap());
        let started = Instant::now();
        let (_, plan) = s.app.marketplace.apply(&tenant, &change, &Actor::system("bench")).await.unwrap();
        total += started.elapsed();
        assert_eq!(plan.steps.len(), if plugins.len() == 1 { 1 } else { 5 });
    }
    total
}

fn installs(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s = runtime.block_on(setup());
    let mut group = c.benchmark_group("marketplace_install");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function(BenchmarkId::new("install", "1_plugin_baseline"), |b| {
        b.to_async(&runtime).iter_custom(|iterations| install_into_fresh_tenants(&s, &["bench"], iterations))
    });
    group.bench_function(BenchmarkId::new("install", "5_plugin_set"), |b| {
        b.to_async(&runtime).iter_custom(|iterations| install_into_fresh_tenants(&s, &["good", "addon", "bench", "benchb", "benchc"], iterations))
    });
    group.finish();
}

criterion_group!(benches, installs);
criterion_main!(benches);
