#![allow(clippy::unwrap_used)]

//! Resolution over a busy catalogue, and how fast a pathological one is stopped.
//!
//! - **fresh**: a tenant asks for 30 plugins of a catalogue of 200 plugins × 10 versions; with
//!   their dependencies that is most of the catalogue (goal: < 50 ms);
//! - **locked, one more**: the same tenant with its lockfile adds one plugin (the common case:
//!   locked versions are tried first);
//! - **upgrade all**: the same tenant frees every locked version;
//! - **baseline**: building the catalogue index itself, which every resolution starts from;
//! - **pathological**: the pigeonhole catalogue, stopped at the step budget with
//!   `ResolveError::TooComplex`.
//!
//! `cargo bench -p socle-marketplace --bench resolve`

use criterion::{Criterion, criterion_group, criterion_main};
use socle_marketplace::resolve::{self, ResolveError, Upgrade};
use socle_marketplace::synthetic;

fn resolution(c: &mut Criterion) {
    let (index, request) = synthetic::marketplace(200, 10, 30);
    let fresh = resolve::resolve(&index, &request).unwrap();
    eprintln!("a 30-plugin tenant resolves to {} plugins", fresh.plugins.len());

    let mut group = c.benchmark_group("resolve_200x10");
    group.bench_function("baseline_index_build", |b| {
        let candidates: Vec<_> = (0..200).flat_map(|rank| index.versions(&format!("p{rank:03}")).to_vec()).collect();
        b.iter(|| resolve::Index::new(candidates.clone()));
    });
    group.bench_function("fresh_30_plugins", |b| b.iter(|| resolve::resolve(&index, &request).unwrap()));

    let mut locked = request.clone();
    locked.locked = fresh.plugins.iter().map(|(id, r)| (id.clone(), r.version.clone())).collect();
    let mut one_more = locked.clone();
    let extra = (0..200).map(|rank| format!("p{rank:03}")).find(|id| !fresh.plugins.contains_key(id)).unwrap_or_else(|| "p000".into());
    one_more.wanted.insert(extra, semver::VersionReq::STAR);
    group.bench_function("locked_add_one", |b| b.iter(|| resolve::resolve(&index, &one_more).unwrap()));

    let mut upgrade = locked;
    upgrade.upgrade = Upgrade::All;
    group.bench_function("upgrade_all", |b| b.iter(|| resolve::resolve(&index, &upgrade).unwrap()));
    group.finish();

    let (index, request) = synthetic::pigeonhole(9);
    let mut group = c.benchmark_group("resolve_pathological");
    group.sample_size(10);
    group.bench_function("pigeonhole_9_to_budget", |b| b.iter(|| assert!(matches!(resolve::resolve(&index, &request), Err(ResolveError::TooComplex { .. })))));
    group.finish();
}

criterion_group!(benches, resolution);
criterion_main!(benches);
