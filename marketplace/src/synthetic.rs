//! Synthetic catalogues for measuring and bounding the resolver: a large, realistic one (what a
//! busy marketplace looks like to a tenant with many plugins) and a pathological one (ranges that
//! force the search through exponentially many combinations).
//!
//! Deterministic: the same arguments always build the same catalogue, so benchmark runs and tests
//! compare like with like.

use std::collections::BTreeMap;

use semver::{Version, VersionReq};

use crate::resolve::{Candidate, Index, Request};

/// A catalogue of `plugins` plugins with `versions` versions each, and a request for `wanted` of
/// them.
///
/// Plugin `p042` depends on up to three plugins of lower rank, so dependency chains run deep (the
/// wanted ones are the highest ranks and pull in most of the catalogue). Versions run over two
/// majors (`1.0.0`, `1.1.0`, …, `2.0.0`, …); each dependency asks for a caret range of the first
/// or second major, and the newest versions of a plugin tighten their ranges to recent minors, so
/// the newest version of everything does not simply fit and the search has to backtrack.
pub fn marketplace(plugins: usize, versions: usize, wanted: usize) -> (Index, Request) {
    let mut random = Lcg(0x5eed_50c1e);
    let per_major = versions.div_ceil(2).max(1);
    let version_of = |n: usize| Version::new(1 + (n / per_major) as u64, (n % per_major) as u64, 0);
    let mut candidates = Vec::with_capacity(plugins * versions);
    for rank in 0..plugins {
        let id = plugin_id(rank);
        let deps: Vec<usize> = if rank == 0 { Vec::new() } else { (0..random.below(4)).map(|_| random.below(rank)).collect() };
        for n in 0..versions {
            let version = version_of(n);
            let mut candidate = Candidate::new(&id, version.clone(), VersionReq::parse("^1.0").unwrap_or(VersionReq::STAR), format!("sha256:{id}-{version}"));
            for &dep in &deps {
                let major = if version.major == 1 { 1 } else { 1 + random.below(2) as u64 };
                // The newest versions ask for a recent minor of their dependency.
                let minor = if n + 2 >= versions { random.below(per_major) as u64 } else { 0 };
                let range = VersionReq::parse(&format!("^{major}.{minor}")).unwrap_or(VersionReq::STAR);
                candidate.dependencies.insert(plugin_id(dep), range);
            }
            candidates.push(candidate);
        }
    }
    let request = Request {
        host_api: vec![Version::new(1, 0, 0), Version::new(1, 1, 0)],
        wanted: (plugins.saturating_sub(wanted)..plugins).map(|rank| (plugin_id(rank), VersionReq::STAR)).collect(),
        ..Request::default()
    };
    (Index::new(candidates), request)
}

/// The pigeonhole principle as plugins: `holes + 1` wanted plugins (`pigeon-0`, …) each choose a
/// version `h.0.0` — a hole — and that version needs plugin `hole-h` at exactly the pigeon's own
/// number, so no two pigeons may share a hole. There are fewer holes than pigeons, so nothing
/// fits, and proving it takes a resolution-based search (as PubGrub is) a number of steps
/// exponential in `holes`.
pub fn pigeonhole(holes: u64) -> (Index, Request) {
    let mut candidates = Vec::new();
    for pigeon in 0..=holes {
        for hole in 1..=holes {
            let mut candidate =
                Candidate::new(format!("pigeon-{pigeon}"), Version::new(hole, 0, 0), VersionReq::STAR, format!("sha256:pigeon-{pigeon}-{hole}"));
            let exactly = VersionReq::parse(&format!("={}.0.0", pigeon + 1)).unwrap_or(VersionReq::STAR);
            candidate.dependencies = BTreeMap::from([(format!("hole-{hole}"), exactly)]);
            candidates.push(candidate);
        }
    }
    for hole in 1..=holes {
        for occupant in 1..=holes + 1 {
            candidates.push(Candidate::new(format!("hole-{hole}"), Version::new(occupant, 0, 0), VersionReq::STAR, format!("sha256:hole-{hole}-{occupant}")));
        }
    }
    let request = Request {
        host_api: vec![Version::new(1, 0, 0)],
        wanted: (0..=holes).map(|pigeon| (format!("pigeon-{pigeon}"), VersionReq::STAR)).collect(),
        ..Request::default()
    };
    (Index::new(candidates), request)
}

fn plugin_id(rank: usize) -> String {
    format!("p{rank:03}")
}

/// A linear congruential generator: deterministic, dependency-free, plenty for shaping a catalogue.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
}
