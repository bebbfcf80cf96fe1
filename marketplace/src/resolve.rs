//! Resolving a tenant's plugin set: one version of each plugin, chosen together so that every
//! dependency range, the host API, the release channel, the tenant's pins, entitlements and
//! lockfile agree.
//!
//! The search is PubGrub (the `pubgrub` crate): it is complete — if some choice of versions fits,
//! it finds one — and when none does, it proves why. [`resolve`] turns that proof into sentences a
//! tenant administrator can act on, naming plugins, versions and the reason for each constraint.
//!
//! Rules, in the order a version is considered for a plugin:
//! - the locked version first, unless the plugin is being upgraded ([`Upgrade`]); then the newest;
//! - a version is *eligible* only if its `api` range accepts one of the server's host API
//!   versions, it is on a channel the tenant follows ([`Channel`]), it is free or bought, it meets
//!   the tenant's pin if any, and it is not yanked — except that a locked version stays eligible
//!   while yanked (installs that have it keep working) as long as the plugin is not upgraded;
//! - plugins that are locked but neither wanted nor needed by a wanted plugin are left out of the
//!   result: that is how uninstalling resolves.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use pubgrub::{
    DefaultStringReporter, Dependencies, DependencyConstraints, DependencyProvider, DerivationTree, Derived, External, Map, PackageResolutionStatistics,
    PubGrubError, Ranges, ReportFormatter, Reporter, Term,
};
use semver::{Comparator, Op, Version, VersionReq};
use serde::{Deserialize, Serialize};

/// A published version of a plugin, as the marketplace catalogue knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Plugin id.
    pub id: String,
    /// This version.
    pub version: Version,
    /// Host API versions it works with (the manifest's `api`).
    pub api: VersionReq,
    /// Other plugins it needs, by id, with a semver range.
    #[serde(default)]
    pub dependencies: BTreeMap<String, VersionReq>,
    /// Digest of the package, `sha256:<hex>`.
    pub digest: String,
    /// Withdrawn by its publisher: no new install picks it, existing installs keep it.
    #[serde(default)]
    pub yanked: bool,
    /// Release channel it was published on.
    #[serde(default)]
    pub channel: Channel,
    /// Whether the tenant must have bought the plugin to install this version.
    #[serde(default)]
    pub paid: bool,
}

impl Candidate {
    /// A free, stable, not yanked version with no dependencies; set the other fields as needed.
    pub fn new(id: impl Into<String>, version: Version, api: VersionReq, digest: impl Into<String>) -> Self {
        Self { id: id.into(), version, api, dependencies: BTreeMap::new(), digest: digest.into(), yanked: false, channel: Channel::Stable, paid: false }
    }

    /// Whether this is a beta release: published on the beta channel, or a prerelease version
    /// such as `1.2.0-beta.1` whatever its channel.
    pub fn is_beta(&self) -> bool {
        self.channel == Channel::Beta || !self.version.pre.is_empty()
    }
}

/// Release channel of a published version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// For everyone.
    #[default]
    Stable,
    /// Only for tenants that follow the plugin on the beta channel ([`Request::beta`]).
    Beta,
}

/// Every published version of every plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    plugins: BTreeMap<String, Vec<Candidate>>,
}

impl Index {
    /// Builds the index. If the same id and version appear twice, the first one is kept: a
    /// published version is immutable, so a second copy is a catalogue mistake, not an update.
    pub fn new(candidates: Vec<Candidate>) -> Self {
        let mut plugins: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
        for candidate in candidates {
            plugins.entry(candidate.id.clone()).or_default().push(candidate);
        }
        for versions in plugins.values_mut() {
            // Stable sort: among equal versions the first published stays first, and `dedup_by`
            // keeps the first of a run.
            versions.sort_by(|a, b| b.version.cmp(&a.version));
            versions.dedup_by(|later, first| later.version == first.version);
        }
        Self { plugins }
    }

    /// All published versions of `id`, newest first (empty if the plugin is unknown).
    pub fn versions(&self, id: &str) -> &[Candidate] {
        self.plugins.get(id).map_or(&[], Vec::as_slice)
    }

    /// One published version.
    pub fn get(&self, id: &str, version: &Version) -> Option<&Candidate> {
        self.versions(id).iter().find(|c| &c.version == version)
    }

    /// Whether the marketplace has a plugin with this id.
    pub fn contains(&self, id: &str) -> bool {
        self.plugins.contains_key(id)
    }
}

/// What a tenant asks for, and the context its plugins are resolved in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Host API versions this server supports; a version fits if its `api` accepts any of them.
    pub host_api: Vec<Version>,
    /// The plugins the tenant asks for (`tenant.toml`), e.g. `telecom = "^2"`.
    pub wanted: BTreeMap<String, VersionReq>,
    /// The tenant's current lockfile: each of these versions is kept unless it is upgraded.
    pub locked: BTreeMap<String, Version>,
    /// Which locked plugins may move to a newer version.
    pub upgrade: Upgrade,
    /// Plugins the tenant follows on the beta channel.
    pub beta: BTreeSet<String>,
    /// Paid plugins the tenant has bought.
    pub entitlements: BTreeSet<String>,
    /// Explicit pins, by plugin id.
    pub pins: BTreeMap<String, Pin>,
}

/// Which locked plugins may move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Upgrade {
    /// Keep every locked version that still fits.
    #[default]
    None,
    /// Resolve every plugin as if freshly installed.
    All,
    /// Resolve these plugins as if freshly installed; keep the others.
    Only(BTreeSet<String>),
}

impl Upgrade {
    /// Whether the plugin `id` is being upgraded.
    pub fn includes(&self, id: &str) -> bool {
        match self {
            Self::None => false,
            Self::All => true,
            Self::Only(ids) => ids.contains(id),
        }
    }
}

/// A tenant's explicit pin of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// Versions allowed, usually one: `=1.4.0`.
    pub version: VersionReq,
    /// Why, in the tenant's words; quoted in explanations.
    pub reason: String,
}

/// The chosen plugin set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// Every plugin to install, by id.
    pub plugins: BTreeMap<String, Resolved>,
}

/// One plugin of a [`Resolution`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    /// Chosen version.
    pub version: Version,
    /// Digest of its package, `sha256:<hex>`.
    pub digest: String,
    /// Its dependencies, as it declares them; each is in the same resolution.
    pub dependencies: BTreeMap<String, VersionReq>,
    /// Whether the tenant asked for it, rather than it being pulled in as a dependency.
    pub requested: bool,
}

/// Why a tenant's plugins cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A plugin that is asked for, or that a plugin depends on, is not in the marketplace.
    #[error("{}", unknown_plugin_message(.id, .needed_by.as_deref()))]
    UnknownPlugin {
        /// The missing plugin.
        id: String,
        /// The plugin that depends on it; `None` when the tenant asks for it directly.
        needed_by: Option<String>,
    },
    /// No choice of versions satisfies every constraint.
    #[error("the tenant's plugins cannot be resolved:\n{explanation}")]
    Conflict {
        /// Why, in plain sentences naming plugins, versions and the reason for each constraint.
        explanation: String,
    },
    /// The search went on longer than its [`Budget`] allows without settling: the ranges leave
    /// too many combinations to try. Never seen with real catalogues; a bound so that a hostile
    /// or broken set of ranges cannot hold a server thread.
    #[error("{}", too_complex_message(*.steps, *.elapsed_ms, .contested))]
    TooComplex {
        /// Search steps taken before giving up.
        steps: u32,
        /// Time spent before giving up, in milliseconds.
        elapsed_ms: u64,
        /// The plugins whose versions kept conflicting, most contested first (at most five).
        contested: Vec<String>,
    },
}

fn too_complex_message(steps: u32, elapsed_ms: u64, contested: &[String]) -> String {
    let culprits = if contested.is_empty() { "the requested plugins".to_owned() } else { contested.join(", ") };
    format!(
        "the tenant's plugins could not be resolved within the resolver's budget ({steps} steps, {elapsed_ms} ms): the version ranges of {culprits} leave too many combinations to try. \
         Pin one of them to an exact version in tenant.toml (e.g. `version = \"=1.2.0\"`), or ask their publishers to narrow or align their dependency ranges"
    )
}

/// How long [`resolve`] may search before giving up with [`ResolveError::TooComplex`].
///
/// A step is one round of PubGrub's loop (propagate, then decide one package or learn from a
/// conflict). Steps alone do not bound the time: each one costs more as the search learns, so
/// the budget has a clock too. Resolving 30 plugins out of a catalogue of 200 × 10 versions takes
/// a few hundred steps and about 5 ms in release builds (`marketplace/benches/resolve.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most search steps.
    pub steps: u32,
    /// Most time spent.
    pub time: std::time::Duration,
}

impl Default for Budget {
    /// 100 000 steps or one second, whichever comes first: two orders of magnitude above real
    /// resolutions, short enough that a request waiting for one stays responsive.
    fn default() -> Self {
        Self { steps: 100_000, time: std::time::Duration::from_secs(1) }
    }
}

fn unknown_plugin_message(id: &str, needed_by: Option<&str>) -> String {
    match needed_by {
        None => {
            format!("the tenant asks for plugin `{id}`, which is not in the marketplace: check its spelling in tenant.toml, or remove it")
        }
        Some(by) => {
            format!("{by} needs plugin `{id}`, which is not in the marketplace: ask the publisher of {by}, or remove {by} from tenant.toml")
        }
    }
}

/// Chooses the version of every plugin the tenant needs.
///
/// Returns the wanted plugins and everything they depend on, nothing more. When no choice fits,
/// [`ResolveError::Conflict`] explains why.
///
/// ```
/// use std::collections::BTreeMap;
/// use semver::{Version, VersionReq};
/// use socle_marketplace::resolve::{resolve, Candidate, Index, Request};
///
/// let mut telecom = Candidate::new("telecom", Version::new(2, 1, 0), VersionReq::parse("^1").unwrap(), "sha256:…");
/// telecom.dependencies.insert("helpdesk".into(), VersionReq::parse("^2").unwrap());
/// let index = Index::new(vec![
///     telecom,
///     Candidate::new("helpdesk", Version::new(2, 0, 0), VersionReq::parse("^1").unwrap(), "sha256:…"),
///     Candidate::new("helpdesk", Version::new(2, 3, 1), VersionReq::parse("^1").unwrap(), "sha256:…"),
/// ]);
/// let request = Request {
///     host_api: vec![Version::new(1, 0, 0)],
///     wanted: BTreeMap::from([("telecom".into(), VersionReq::parse("^2").unwrap())]),
///     ..Request::default()
/// };
///
/// let resolution = resolve(&index, &request).unwrap();
/// assert_eq!(resolution.plugins["helpdesk"].version, Version::new(2, 3, 1));
/// assert!(!resolution.plugins["helpdesk"].requested);
/// ```
pub fn resolve(index: &Index, request: &Request) -> Result<Resolution, ResolveError> {
    resolve_within(index, request, Budget::default())
}

/// [`resolve`] with another [`Budget`] than the default.
pub fn resolve_within(index: &Index, request: &Request, budget: Budget) -> Result<Resolution, ResolveError> {
    if let Some(id) = request.wanted.keys().find(|id| !index.contains(id)) {
        return Err(ResolveError::UnknownPlugin { id: id.clone(), needed_by: None });
    }
    let provider = Provider { index, request, budget, started: std::time::Instant::now(), steps: Cell::new(0), conflicts: RefCell::default() };
    let solution = match pubgrub::resolve(&provider, Pkg::Root, root_version()) {
        Ok(solution) => solution,
        Err(PubGrubError::NoSolution(tree)) => return Err(provider.explain(tree)),
        Err(
            PubGrubError::ErrorRetrievingDependencies { source: OutOfSteps, .. }
            | PubGrubError::ErrorChoosingVersion { source: OutOfSteps, .. }
            | PubGrubError::ErrorInShouldCancel(OutOfSteps),
        ) => return Err(provider.too_complex()),
    };
    let chosen: BTreeMap<String, Version> = solution
        .into_iter()
        .filter_map(|(package, version)| match package {
            Pkg::Root => None,
            Pkg::Plugin(id) => Some((id, version)),
        })
        .collect();

    // PubGrub only decides packages something requires, but keep the result to what the wanted
    // plugins reach so that a dropped plugin can never linger.
    let mut plugins = BTreeMap::new();
    let mut to_visit: Vec<&String> = request.wanted.keys().collect();
    while let Some(id) = to_visit.pop() {
        if plugins.contains_key(id) {
            continue;
        }
        let Some(candidate) = chosen.get(id).and_then(|version| index.get(id, version)) else { continue };
        to_visit.extend(candidate.dependencies.keys());
        plugins.insert(
            id.clone(),
            Resolved {
                version: candidate.version.clone(),
                digest: candidate.digest.clone(),
                dependencies: candidate.dependencies.clone(),
                requested: request.wanted.contains_key(id),
            },
        );
    }
    Ok(Resolution { plugins })
}

/// Whether `version` is in `req`, with prereleases counted like any other version when
/// `prereleases` is set (the tenant follows the plugin on the beta channel).
///
/// Plain semver keeps prereleases out of a range unless one of its comparators names the same
/// x.y.z with a prerelease: `^2` does not match `2.1.0-beta.1`. A tenant following a plugin's
/// beta channel expects `^2` to bring its betas, so for them a prerelease is in the range when it
/// is numerically within it.
fn req_matches(req: &VersionReq, version: &Version, prereleases: bool) -> bool {
    if !prereleases || version.pre.is_empty() {
        return req.matches(version);
    }
    // Semver checks each comparator numerically, then admits a prerelease only if some
    // comparator names the same x.y.z with a prerelease. Adding `=version`, which the version
    // trivially meets, satisfies that second rule and leaves the numeric checks as they are.
    let mut widened = req.clone();
    widened.comparators.push(Comparator {
        op: Op::Exact,
        major: version.major,
        minor: Some(version.minor),
        patch: Some(version.patch),
        pre: version.pre.clone(),
    });
    widened.matches(version)
}

/// The version PubGrub gives the tenant's root package; never shown.
fn root_version() -> Version {
    Version::new(0, 0, 0)
}

/// A PubGrub package: the tenant's request (the root, whose dependencies are the wanted
/// plugins), or a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Pkg {
    Root,
    Plugin(String),
}

impl fmt::Display for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => f.write_str("the tenant"),
            Self::Plugin(id) => f.write_str(id),
        }
    }
}

/// Version sets handed to PubGrub.
///
/// A semver range is not an interval of versions: `>=1.0.0` excludes `1.5.0-beta.1` but includes
/// `1.4.0` and `1.6.0`, so translating a `VersionReq` into `Ranges` bounds would be wrong around
/// prereleases. The catalogue is finite and known before solving, and PubGrub only ever picks
/// versions we hand it, so a range is represented exactly by the union of the published versions
/// it matches (what uv and cargo's PubGrub experiments do). Versions outside the catalogue may be
/// in or out of such a set; that never matters since none can be chosen.
type VersionSet = Ranges<Version>;

/// Why a published version is not eligible for this tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unfit {
    Yanked,
    Api(VersionReq),
    Beta,
    Paid,
    Pin,
}

/// The catalogue and the request, seen by PubGrub.
struct Provider<'a> {
    index: &'a Index,
    request: &'a Request,
    /// What the search may spend, when it started, and the steps taken so far.
    budget: Budget,
    started: std::time::Instant,
    steps: Cell<u32>,
    /// Conflicts per plugin as PubGrub last reported them, to name the culprits of a search
    /// that ran out of steps.
    conflicts: RefCell<BTreeMap<String, u32>>,
}

/// The search ran out of its budget.
#[derive(Debug)]
struct OutOfSteps;

impl fmt::Display for OutOfSteps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the resolution budget is spent")
    }
}

impl std::error::Error for OutOfSteps {}

impl Provider<'_> {
    fn too_complex(&self) -> ResolveError {
        let mut contested: Vec<(String, u32)> = self.conflicts.borrow().iter().filter(|(_, n)| **n > 0).map(|(id, n)| (id.clone(), *n)).collect();
        contested.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ResolveError::TooComplex {
            steps: self.steps.get(),
            elapsed_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            contested: contested.into_iter().take(5).map(|(id, _)| id).collect(),
        }
    }

    fn follows_beta(&self, id: &str) -> bool {
        self.request.beta.contains(id)
    }

    /// The locked version to prefer, unless the plugin is being upgraded.
    fn kept(&self, id: &str) -> Option<&Version> {
        if self.request.upgrade.includes(id) { None } else { self.request.locked.get(id) }
    }

    /// Every reason `candidate` cannot be installed for this tenant; empty when it can.
    fn unfit(&self, candidate: &Candidate) -> Vec<Unfit> {
        let request = self.request;
        let id = candidate.id.as_str();
        let mut reasons = Vec::new();
        if candidate.yanked && self.kept(id) != Some(&candidate.version) {
            reasons.push(Unfit::Yanked);
        }
        if !request.host_api.iter().any(|api| candidate.api.matches(api)) {
            reasons.push(Unfit::Api(candidate.api.clone()));
        }
        if candidate.is_beta() && !self.follows_beta(id) {
            reasons.push(Unfit::Beta);
        }
        if candidate.paid && !request.entitlements.contains(id) {
            reasons.push(Unfit::Paid);
        }
        if let Some(pin) = request.pins.get(id)
            && !req_matches(&pin.version, &candidate.version, self.follows_beta(id))
        {
            reasons.push(Unfit::Pin);
        }
        reasons
    }

    fn fits(&self, candidate: &Candidate) -> bool {
        self.unfit(candidate).is_empty()
    }

    /// The published versions of `id` that `req` matches, eligible or not: ineligible ones stay
    /// in so that, when nothing else is left, the explanation can say why each was refused.
    fn req_set(&self, id: &str, req: &VersionReq) -> VersionSet {
        if !self.index.contains(id) {
            // Any version: PubGrub then finds none and reports it, and `explain` names the
            // plugin that needed it.
            return Ranges::full();
        }
        let follows_beta = self.follows_beta(id);
        self.index
            .versions(id)
            .iter()
            .filter(|c| req_matches(req, &c.version, follows_beta))
            .fold(Ranges::empty(), |set, c| set.union(&Ranges::singleton(c.version.clone())))
    }

    /// Published versions of `package` in `set`, oldest first.
    fn versions_in(&self, package: &Pkg, set: &VersionSet) -> Vec<&Candidate> {
        match package {
            Pkg::Root => Vec::new(),
            Pkg::Plugin(id) => self.index.versions(id).iter().rev().filter(|c| set.contains(&c.version)).collect(),
        }
    }

    /// Whether `set` holds every published version of `package` (and there are at least two, so
    /// that "every version" says more than naming the one).
    fn covers_all(&self, package: &Pkg, set: &VersionSet) -> bool {
        let Pkg::Plugin(id) = package else { return false };
        let all = self.index.versions(id);
        all.len() > 1 && all.iter().all(|c| set.contains(&c.version))
    }

    /// Turns PubGrub's proof that nothing fits into the error to return.
    fn explain(&self, tree: DerivationTree<Pkg, VersionSet, String>) -> ResolveError {
        if let Some((id, needed_by)) = self.unknown_dependency(&tree) {
            return ResolveError::UnknownPlugin { id, needed_by };
        }
        let tree = without_not_root(tree);
        let explanation = DefaultStringReporter::report_with_formatter(&tree, &Explainer(self));
        ResolveError::Conflict { explanation }
    }

    /// A dependency on a plugin that is not in the marketplace, if the failure involves one:
    /// that is the thing to fix first.
    fn unknown_dependency(&self, tree: &DerivationTree<Pkg, VersionSet, String>) -> Option<(String, Option<String>)> {
        match tree {
            DerivationTree::External(External::FromDependencyOf(by, _, Pkg::Plugin(id), _)) if !self.index.contains(id) => {
                let needed_by = match by {
                    Pkg::Root => None,
                    Pkg::Plugin(by) => Some(by.clone()),
                };
                Some((id.clone(), needed_by))
            }
            DerivationTree::External(_) => None,
            DerivationTree::Derived(derived) => self.unknown_dependency(&derived.cause1).or_else(|| self.unknown_dependency(&derived.cause2)),
        }
    }
}

impl DependencyProvider for Provider<'_> {
    type P = Pkg;
    type V = Version;
    type VS = VersionSet;
    type M = String;
    type Err = OutOfSteps;
    type Priority = (u32, Reverse<usize>);

    /// Plugins with conflicts first, then those with fewest eligible versions left: both find
    /// dead ends early. A plugin with none left goes first, to fail fast.
    fn prioritize(&self, package: &Pkg, range: &VersionSet, statistics: &PackageResolutionStatistics) -> Self::Priority {
        if let Pkg::Plugin(id) = package {
            let mut conflicts = self.conflicts.borrow_mut();
            match conflicts.get_mut(id) {
                Some(count) => *count = statistics.conflict_count(),
                None => {
                    conflicts.insert(id.clone(), statistics.conflict_count());
                }
            }
        }
        let eligible = self.versions_in(package, range).into_iter().filter(|c| self.fits(c)).count();
        if eligible == 0 {
            return (u32::MAX, Reverse(0));
        }
        (statistics.conflict_count(), Reverse(eligible))
    }

    /// The locked version if it is kept, still eligible and in range; otherwise the newest
    /// eligible version in range. Ineligible versions are never offered: when none is left,
    /// PubGrub records "no versions" for the range and the explanation lists why each was
    /// refused.
    fn choose_version(&self, package: &Pkg, range: &VersionSet) -> Result<Option<Version>, OutOfSteps> {
        let Pkg::Plugin(id) = package else {
            return Ok(Some(root_version()).filter(|v| range.contains(v)));
        };
        let versions = self.index.versions(id);
        let usable = |c: &&Candidate| range.contains(&c.version) && self.fits(c);
        let locked = self.kept(id).and_then(|locked| versions.iter().find(|c| &c.version == locked)).filter(usable);
        Ok(locked.or_else(|| versions.iter().find(usable)).map(|c| c.version.clone()))
    }

    fn get_dependencies(&self, package: &Pkg, version: &Version) -> Result<Dependencies<Pkg, VersionSet, String>, OutOfSteps> {
        let dependencies: DependencyConstraints<Pkg, VersionSet> = match package {
            Pkg::Root => self.request.wanted.iter().map(|(id, req)| (Pkg::Plugin(id.clone()), self.req_set(id, req))).collect(),
            Pkg::Plugin(id) => match self.index.get(id, version) {
                Some(candidate) => {
                    // A plugin depending on itself is settled here: PubGrub 0.4 mishandles a
                    // self-dependency whose range excludes the depending version (it can return
                    // a solution without the plugin at all).
                    if let Some(own) = candidate.dependencies.get(id)
                        && !req_matches(own, version, self.follows_beta(id))
                    {
                        return Ok(Dependencies::Unavailable(format!("it needs {id} {own}, which excludes itself")));
                    }
                    candidate.dependencies.iter().filter(|(dep, _)| *dep != id).map(|(dep, req)| (Pkg::Plugin(dep.clone()), self.req_set(dep, req))).collect()
                }
                // `choose_version` only offers published versions, so this is unreachable.
                None => return Ok(Dependencies::Unavailable("this version is not published".into())),
            },
        };
        Ok(Dependencies::Available(dependencies))
    }

    /// Called once per round of the search: counts it against the budget.
    fn should_cancel(&self) -> Result<(), OutOfSteps> {
        let steps = self.steps.get() + 1;
        self.steps.set(steps);
        if steps > self.budget.steps || self.started.elapsed() > self.budget.time { Err(OutOfSteps) } else { Ok(()) }
    }
}

/// Drops PubGrub's "the root must be chosen" axiom from the proof: it is true of every
/// resolution and would only add a sentence about solving machinery.
fn without_not_root(tree: DerivationTree<Pkg, VersionSet, String>) -> DerivationTree<Pkg, VersionSet, String> {
    let DerivationTree::Derived(derived) = tree else { return tree };
    let is_not_root = |cause: &DerivationTree<Pkg, VersionSet, String>| matches!(cause, DerivationTree::External(External::NotRoot(..)));
    if is_not_root(&derived.cause1) {
        return without_not_root(Arc::unwrap_or_clone(derived.cause2));
    }
    if is_not_root(&derived.cause2) {
        return without_not_root(Arc::unwrap_or_clone(derived.cause1));
    }
    DerivationTree::Derived(Derived {
        terms: derived.terms,
        shared_id: derived.shared_id,
        cause1: Arc::new(without_not_root(Arc::unwrap_or_clone(derived.cause1))),
        cause2: Arc::new(without_not_root(Arc::unwrap_or_clone(derived.cause2))),
    })
}

/// Words for PubGrub's proof. PubGrub's reporter chains the steps ("Because A and B, C. And
/// because D, E."); this formatter words each fact from the catalogue and the request: the
/// declared range rather than the set of versions it matched, and each refused version's reason.
struct Explainer<'p, 'a>(&'p Provider<'a>);

impl Explainer<'_, '_> {
    fn no_versions(&self, package: &Pkg, set: &VersionSet) -> String {
        let Pkg::Plugin(id) = package else { return "the tenant's request cannot be met".into() };
        if !self.0.index.contains(id) {
            return format!("{id} is not in the marketplace");
        }
        let refused = self.0.versions_in(package, set);
        if refused.is_empty() {
            return format!("no published version of {id} is allowed there");
        }
        let scope = if self.0.covers_all(package, set) || refused.len() == self.0.index.versions(id).len() { "no version" } else { "no matching version" };
        format!("{scope} of {id} can be used ({})", self.why_not(id, &refused))
    }

    /// Why each of `refused` (versions of `id`) is not eligible, grouped by reason.
    fn why_not(&self, id: &str, refused: &[&Candidate]) -> String {
        let request = self.0.request;
        let (mut pinned, mut yanked, mut paid, mut beta, mut other) = (vec![], vec![], vec![], vec![], vec![]);
        let mut api: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for candidate in refused {
            let version = candidate.version.to_string();
            let reasons = self.0.unfit(candidate);
            if reasons.is_empty() {
                other.push(version.clone());
            }
            for reason in reasons {
                match reason {
                    Unfit::Pin => pinned.push(version.clone()),
                    Unfit::Api(req) => api.entry(req.to_string()).or_default().push(version.clone()),
                    Unfit::Yanked => yanked.push(version.clone()),
                    Unfit::Paid => paid.push(version.clone()),
                    Unfit::Beta => beta.push(version.clone()),
                }
            }
        }
        let mut parts = Vec::new();
        if let Some(pin) = request.pins.get(id)
            && !pinned.is_empty()
        {
            let reason = if pin.reason.trim().is_empty() { String::new() } else { format!(" because «{}»", pin.reason.trim()) };
            parts.push(format!("the tenant pins {id} to {}{reason}, which rules out {}", pin.version, list(&pinned)));
        }
        for (req, versions) in &api {
            parts.push(format!("{} {} host API {req} but this server supports {}", list(versions), plural(versions.len(), "needs", "need"), self.host_apis()));
        }
        if !yanked.is_empty() {
            parts.push(format!("{} {} yanked", list(&yanked), plural(yanked.len(), "is", "are")));
        }
        if !paid.is_empty() {
            parts.push(format!("{} {} the tenant has not bought", list(&paid), plural(paid.len(), "is a paid plugin", "are paid versions")));
        }
        if !beta.is_empty() {
            parts.push(format!(
                "{} {} and the tenant does not follow {id} on the beta channel",
                list(&beta),
                plural(beta.len(), "is a beta release", "are beta releases")
            ));
        }
        if !other.is_empty() {
            parts.push(format!("{} {} the other requirements", list(&other), plural(other.len(), "conflicts with", "conflict with")));
        }
        parts.join("; ")
    }

    fn host_apis(&self) -> String {
        let apis: Vec<String> = self.0.request.host_api.iter().map(Version::to_string).collect();
        if apis.is_empty() { "no host API version".into() } else { list(&apis) }
    }

    /// "telecom 2.1.0 needs helpdesk ^2", with the ranges as declared.
    fn dependency(&self, by: &Pkg, by_set: &VersionSet, dep: &Pkg, dep_set: &VersionSet) -> String {
        let Pkg::Plugin(dep_id) = dep else { return format!("{by} depends on the tenant") };
        let missing = if !self.0.index.contains(dep_id) {
            ", which is not in the marketplace".to_string()
        } else if dep_set == &Ranges::empty() {
            format!(", and no published version of {dep_id} matches that")
        } else {
            String::new()
        };
        let Pkg::Plugin(by_id) = by else {
            let wanted = self.0.request.wanted.get(dep_id).map_or_else(|| dep_id.clone(), |req| ranged(dep_id, req));
            return format!("the tenant asks for {wanted}{missing}");
        };
        let mut by_req: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let dependents = self.0.versions_in(by, by_set);
        for candidate in &dependents {
            if let Some(req) = candidate.dependencies.get(dep_id) {
                by_req.entry(ranged(dep_id, req)).or_default().push(candidate.version.to_string());
            }
        }
        let parts: Vec<String> = if by_req.len() == 1 && self.0.covers_all(by, by_set) {
            by_req.keys().map(|dep| format!("every version of {by_id} needs {dep}")).collect()
        } else {
            by_req.iter().map(|(dep, versions)| format!("{by_id} {} {} {dep}", list(versions), plural(versions.len(), "needs", "need"))).collect()
        };
        if parts.is_empty() {
            return format!("{by_id} {by_set} needs {dep_id}{missing}");
        }
        format!("{}{missing}", parts.join(" and "))
    }

    /// The versions of `package` in `set` as a subject, and whether it is plural.
    fn subject(&self, package: &Pkg, set: &VersionSet) -> (String, bool) {
        let Pkg::Plugin(id) = package else { return ("the tenant".into(), false) };
        if self.0.covers_all(package, set) {
            return (format!("every version of {id}"), false);
        }
        let versions = self.version_strings(package, set);
        if versions.is_empty() {
            return (id.clone(), false);
        }
        (format!("{id} {}", list(&versions)), versions.len() > 1)
    }

    /// The versions of `package` in `set` as an alternative: "helpdesk 2.0.0 or 2.1.0".
    fn one_of(&self, package: &Pkg, set: &VersionSet) -> String {
        if self.0.covers_all(package, set) {
            return package.to_string();
        }
        let versions = self.version_strings(package, set);
        if versions.is_empty() {
            return format!("{package} {set}");
        }
        format!("{package} {}", list_or(&versions))
    }

    fn version_strings(&self, package: &Pkg, set: &VersionSet) -> Vec<String> {
        self.0.versions_in(package, set).iter().map(|c| c.version.to_string()).collect()
    }

    fn forbidden(&self, package: &Pkg, set: &VersionSet) -> String {
        if self.0.covers_all(package, set) {
            return format!("no version of {package} can be used");
        }
        format!("{} cannot be used", self.subject(package, set).0)
    }

    /// Two facts joined, what depends on what first: "telecom 2.1.0 needs helpdesk ^2 and no
    /// version of helpdesk can be used (…)" reads as cause then obstacle.
    fn both(&self, first: &External<Pkg, VersionSet, String>, second: &External<Pkg, VersionSet, String>) -> String {
        let is_dependency = |external: &External<Pkg, VersionSet, String>| matches!(external, External::FromDependencyOf(..));
        let (first, second) = if is_dependency(second) && !is_dependency(first) { (second, first) } else { (first, second) };
        format!("{} and {}", self.format_external(first), self.format_external(second))
    }

    fn term(&self, package: &Pkg, term: &Term<VersionSet>) -> String {
        match term {
            Term::Positive(set) => self.subject(package, set).0,
            Term::Negative(set) => format!("{package} other than {}", self.one_of(package, set)),
        }
    }
}

impl ReportFormatter<Pkg, VersionSet, String> for Explainer<'_, '_> {
    type Output = String;

    fn format_external(&self, external: &External<Pkg, VersionSet, String>) -> String {
        match external {
            External::NotRoot(..) => "the tenant's plugins are being resolved".into(),
            External::NoVersions(package, set) => self.no_versions(package, set),
            External::FromDependencyOf(by, by_set, dep, dep_set) => self.dependency(by, by_set, dep, dep_set),
            External::Custom(package, set, why) => format!("{} cannot be used: {why}", self.subject(package, set).0),
        }
    }

    fn format_terms(&self, terms: &Map<Pkg, Term<VersionSet>>) -> String {
        // The root is always chosen, so a term saying so adds nothing.
        let mut terms: Vec<(&Pkg, &Term<VersionSet>)> =
            terms.iter().filter(|(package, term)| !(**package == Pkg::Root && matches!(term, Term::Positive(_)))).collect();
        // Positive terms first, then by name, so that the wording does not depend on hashing.
        terms.sort_by_key(|(package, term)| (matches!(term, Term::Negative(_)), *package));
        match terms.as_slice() {
            [] => "the tenant's plugins cannot be installed together".into(),
            [(package, Term::Positive(set))] => self.forbidden(package, set),
            [(package, Term::Negative(set))] => format!("the tenant needs {}", self.one_of(package, set)),
            [(by, Term::Positive(by_set)), (dep, Term::Negative(dep_set))] => {
                let (subject, many) = self.subject(by, by_set);
                format!("{subject} {} {}", plural(usize::from(many) + 1, "needs", "need"), self.one_of(dep, dep_set))
            }
            [(p1, Term::Positive(s1)), (p2, Term::Positive(s2))] => {
                format!("{} and {} cannot be installed together", self.subject(p1, s1).0, self.subject(p2, s2).0)
            }
            many => {
                let parts: Vec<String> = many.iter().map(|(package, term)| self.term(package, term)).collect();
                format!("{} cannot all hold together", list(&parts))
            }
        }
    }

    fn explain_both_external(
        &self,
        external1: &External<Pkg, VersionSet, String>,
        external2: &External<Pkg, VersionSet, String>,
        current_terms: &Map<Pkg, Term<VersionSet>>,
    ) -> String {
        format!("Because {}, {}.", self.both(external1, external2), self.format_terms(current_terms))
    }

    fn explain_both_ref(
        &self,
        ref_id1: usize,
        derived1: &Derived<Pkg, VersionSet, String>,
        ref_id2: usize,
        derived2: &Derived<Pkg, VersionSet, String>,
        current_terms: &Map<Pkg, Term<VersionSet>>,
    ) -> String {
        format!(
            "Because {} ({ref_id1}) and {} ({ref_id2}), {}.",
            self.format_terms(&derived1.terms),
            self.format_terms(&derived2.terms),
            self.format_terms(current_terms)
        )
    }

    fn explain_ref_and_external(
        &self,
        ref_id: usize,
        derived: &Derived<Pkg, VersionSet, String>,
        external: &External<Pkg, VersionSet, String>,
        current_terms: &Map<Pkg, Term<VersionSet>>,
    ) -> String {
        format!("Because {} ({ref_id}) and {}, {}.", self.format_terms(&derived.terms), self.format_external(external), self.format_terms(current_terms))
    }

    fn and_explain_external(&self, external: &External<Pkg, VersionSet, String>, current_terms: &Map<Pkg, Term<VersionSet>>) -> String {
        format!("And because {}, {}.", self.format_external(external), self.format_terms(current_terms))
    }

    fn and_explain_ref(&self, ref_id: usize, derived: &Derived<Pkg, VersionSet, String>, current_terms: &Map<Pkg, Term<VersionSet>>) -> String {
        format!("And because {} ({ref_id}), {}.", self.format_terms(&derived.terms), self.format_terms(current_terms))
    }

    fn and_explain_prior_and_external(
        &self,
        prior_external: &External<Pkg, VersionSet, String>,
        external: &External<Pkg, VersionSet, String>,
        current_terms: &Map<Pkg, Term<VersionSet>>,
    ) -> String {
        format!("And because {}, {}.", self.both(prior_external, external), self.format_terms(current_terms))
    }
}

/// "helpdesk ^2", or just "helpdesk" for any version.
fn ranged(id: &str, req: &VersionReq) -> String {
    if req.comparators.is_empty() { id.to_string() } else { format!("{id} {req}") }
}

/// Longest list of versions spelled out; beyond it, "and N more".
const LIST_LIMIT: usize = 8;

/// "a", "a and b", "a, b and c".
fn list(items: &[String]) -> String {
    join(items, "and")
}

/// "a", "a or b", "a, b or c".
fn list_or(items: &[String]) -> String {
    join(items, "or")
}

fn join(items: &[String], conjunction: &str) -> String {
    let (shown, rest) =
        if items.len() > LIST_LIMIT { (&items[..LIST_LIMIT - 1], Some(format!("{} more", items.len() - (LIST_LIMIT - 1)))) } else { (items, None) };
    let mut words: Vec<&str> = shown.iter().map(String::as_str).collect();
    if let Some(rest) = &rest {
        words.push(rest);
    }
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, init)) => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

fn plural<'s>(count: usize, one: &'s str, many: &'s str) -> &'s str {
    if count == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn req(text: &str) -> VersionReq {
        VersionReq::parse(text).unwrap()
    }

    fn digest_of(id: &str, version: &str) -> String {
        format!("sha256:{id}-{version}")
    }

    /// A free, stable version for host API 1 with the given dependencies.
    fn cand(id: &str, version: &str, deps: &[(&str, &str)]) -> Candidate {
        let mut candidate = Candidate::new(id, v(version), req("^1"), digest_of(id, version));
        candidate.dependencies = deps.iter().map(|(dep, range)| (dep.to_string(), req(range))).collect();
        candidate
    }

    fn request(wanted: &[(&str, &str)]) -> Request {
        Request { host_api: vec![v("1.0.0")], wanted: wanted.iter().map(|(id, range)| (id.to_string(), req(range))).collect(), ..Request::default() }
    }

    fn versions(resolution: &Resolution) -> BTreeMap<&str, String> {
        resolution.plugins.iter().map(|(id, r)| (id.as_str(), r.version.to_string())).collect()
    }

    fn explanation(result: Result<Resolution, ResolveError>) -> String {
        match result {
            Err(ResolveError::Conflict { explanation }) => explanation,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn a_large_catalogue_resolves_well_within_the_budget() {
        let (index, request) = crate::synthetic::marketplace(200, 10, 30);
        // A hundredth of the default steps, and no clock (a slow test machine must not fail it).
        let budget = Budget { steps: Budget::default().steps / 100, time: std::time::Duration::from_secs(3600) };
        let resolution = resolve_within(&index, &request, budget).unwrap();
        assert!(resolution.plugins.len() >= 30, "{} plugins", resolution.plugins.len());
        for (id, resolved) in &resolution.plugins {
            for (dep, range) in &resolved.dependencies {
                assert!(range.matches(&resolution.plugins[dep].version), "{id} needs {dep} {range}");
            }
        }
    }

    #[test]
    fn a_pathological_search_stops_at_its_budget_naming_the_contested_plugins() {
        let (index, request) = crate::synthetic::pigeonhole(9);
        let budget = Budget { steps: 300, time: std::time::Duration::from_secs(3600) };
        let error = resolve_within(&index, &request, budget).unwrap_err();
        let ResolveError::TooComplex { steps, contested, .. } = &error else { panic!("expected the budget to run out, got {error}") };
        assert_eq!(*steps, 301, "stopped at the first step over the budget");
        assert!(!contested.is_empty() && contested.len() <= 5, "{contested:?}");
        assert!(contested.iter().all(|id| id.starts_with("pigeon-") || id.starts_with("hole-")), "{contested:?}");
        let message = error.to_string();
        assert!(message.contains("301 steps") && message.contains("Pin one of them"), "{message}");

        // The clock stops it too, whatever the steps.
        let budget = Budget { steps: u32::MAX, time: std::time::Duration::from_millis(100) };
        let Err(ResolveError::TooComplex { elapsed_ms, .. }) = resolve_within(&index, &request, budget) else { panic!("expected the clock to run out") };
        assert!(elapsed_ms >= 100, "{elapsed_ms} ms");

        // Small enough, the same shape is proved impossible and explained like any conflict.
        let (index, request) = crate::synthetic::pigeonhole(3);
        assert!(explanation(resolve(&index, &request)).contains("pigeon-"));
    }

    #[test]
    fn simple_chain() {
        let index = Index::new(vec![cand("a", "1.0.0", &[("b", "^1")]), cand("b", "1.0.0", &[("c", "^1")]), cand("c", "1.0.0", &[])]);
        let resolution = resolve(&index, &request(&[("a", "^1")])).unwrap();
        assert_eq!(versions(&resolution), BTreeMap::from([("a", "1.0.0".into()), ("b", "1.0.0".into()), ("c", "1.0.0".into())]));
        assert!(resolution.plugins["a"].requested);
        assert!(!resolution.plugins["b"].requested);
        assert_eq!(resolution.plugins["b"].digest, "sha256:b-1.0.0");
        assert_eq!(resolution.plugins["a"].dependencies, BTreeMap::from([("b".to_string(), req("^1"))]));
    }

    #[test]
    fn newest_eligible_version_is_picked() {
        let index = Index::new(vec![cand("a", "1.0.0", &[]), cand("a", "1.2.0", &[]), cand("a", "1.1.0", &[]), cand("a", "2.0.0", &[])]);
        let resolution = resolve(&index, &request(&[("a", "^1")])).unwrap();
        assert_eq!(resolution.plugins["a"].version, v("1.2.0"));
    }

    #[test]
    fn index_keeps_the_first_copy_of_a_version() {
        let mut copy = cand("a", "1.0.0", &[]);
        copy.digest = "sha256:other".into();
        let index = Index::new(vec![cand("a", "1.0.0", &[]), copy, cand("a", "1.1.0", &[])]);
        assert_eq!(index.versions("a").len(), 2);
        assert_eq!(index.get("a", &v("1.0.0")).unwrap().digest, "sha256:a-1.0.0");
        assert_eq!(index.versions("a")[0].version, v("1.1.0"));
        assert!(index.versions("nope").is_empty());
    }

    #[test]
    fn locked_version_is_kept_unless_upgraded() {
        let index =
            Index::new(vec![cand("a", "1.0.0", &[]), cand("a", "1.1.0", &[]), cand("a", "1.2.0", &[]), cand("b", "1.0.0", &[]), cand("b", "1.1.0", &[])]);
        let mut request = request(&[("a", "^1"), ("b", "^1")]);
        request.locked = BTreeMap::from([("a".into(), v("1.1.0")), ("b".into(), v("1.0.0"))]);

        let kept = resolve(&index, &request).unwrap();
        assert_eq!(versions(&kept), BTreeMap::from([("a", "1.1.0".into()), ("b", "1.0.0".into())]));

        request.upgrade = Upgrade::All;
        let all = resolve(&index, &request).unwrap();
        assert_eq!(versions(&all), BTreeMap::from([("a", "1.2.0".into()), ("b", "1.1.0".into())]));

        request.upgrade = Upgrade::Only(BTreeSet::from(["a".to_string()]));
        let only = resolve(&index, &request).unwrap();
        assert_eq!(versions(&only), BTreeMap::from([("a", "1.2.0".into()), ("b", "1.0.0".into())]));
    }

    #[test]
    fn locked_version_moves_when_the_wanted_range_excludes_it() {
        let index = Index::new(vec![cand("a", "1.0.0", &[]), cand("a", "2.0.0", &[])]);
        let mut request = request(&[("a", "^2")]);
        request.locked = BTreeMap::from([("a".into(), v("1.0.0"))]);
        assert_eq!(resolve(&index, &request).unwrap().plugins["a"].version, v("2.0.0"));
    }

    #[test]
    fn yanked_is_skipped_for_new_installs_but_kept_when_locked() {
        let mut yanked = cand("a", "1.2.0", &[]);
        yanked.yanked = true;
        let index = Index::new(vec![cand("a", "1.1.0", &[]), yanked]);

        let fresh = resolve(&index, &request(&[("a", "^1")])).unwrap();
        assert_eq!(fresh.plugins["a"].version, v("1.1.0"));

        let mut locked = request(&[("a", "^1")]);
        locked.locked = BTreeMap::from([("a".into(), v("1.2.0"))]);
        assert_eq!(resolve(&index, &locked).unwrap().plugins["a"].version, v("1.2.0"));

        // Upgrading resolves as if freshly installed: off the yanked version.
        locked.upgrade = Upgrade::All;
        assert_eq!(resolve(&index, &locked).unwrap().plugins["a"].version, v("1.1.0"));
    }

    #[test]
    fn host_api_must_fit() {
        let mut new = cand("a", "2.0.0", &[]);
        new.api = req("^2");
        let index = Index::new(vec![cand("a", "1.0.0", &[]), new]);

        let mut request = request(&[("a", "*")]);
        assert_eq!(resolve(&index, &request).unwrap().plugins["a"].version, v("1.0.0"));
        request.host_api = vec![v("1.0.0"), v("2.3.0")];
        assert_eq!(resolve(&index, &request).unwrap().plugins["a"].version, v("2.0.0"));

        let mut only_new = cand("b", "3.0.0", &[]);
        only_new.api = req("^2");
        let index = Index::new(vec![only_new]);
        let text = explanation(resolve(&index, &self::request(&[("b", "*")])));
        assert!(text.contains("3.0.0 needs host API ^2 but this server supports 1.0.0"), "{text}");
    }

    #[test]
    fn beta_releases_only_when_the_tenant_follows_beta() {
        let mut channel_beta = cand("a", "1.1.0", &[]);
        channel_beta.channel = Channel::Beta;
        let index = Index::new(vec![cand("a", "1.0.0", &[]), channel_beta, cand("a", "1.2.0-beta.1", &[])]);

        let mut request = request(&[("a", "^1")]);
        assert_eq!(resolve(&index, &request).unwrap().plugins["a"].version, v("1.0.0"));

        // Following beta, `^1` admits the prerelease, the newest.
        request.beta.insert("a".into());
        assert_eq!(resolve(&index, &request).unwrap().plugins["a"].version, v("1.2.0-beta.1"));

        let index = Index::new(vec![cand("b", "2.0.0-rc.1", &[])]);
        let text = explanation(resolve(&index, &self::request(&[("b", "=2.0.0-rc.1")])));
        assert!(text.contains("2.0.0-rc.1 is a beta release and the tenant does not follow b on the beta channel"), "{text}");
    }

    #[test]
    fn prerelease_matching() {
        assert!(!req_matches(&req("^2"), &v("2.1.0-beta.1"), false));
        assert!(req_matches(&req("^2"), &v("2.1.0-beta.1"), true));
        assert!(!req_matches(&req("^2.1.0"), &v("2.1.0-beta.1"), true), "2.1.0-beta.1 comes before 2.1.0");
        assert!(!req_matches(&req("^1"), &v("2.0.0-beta.1"), true));
        assert!(req_matches(&req("=2.0.0-rc.1"), &v("2.0.0-rc.1"), false));
        assert!(req_matches(&req("*"), &v("2.0.0-rc.1"), true));
    }

    #[test]
    fn paid_plugin_needs_an_entitlement() {
        let mut paid = cand("billing", "2.5.0", &[]);
        paid.paid = true;
        let index = Index::new(vec![paid]);
        let mut request = request(&[("billing", "^2")]);

        let text = explanation(resolve(&index, &request));
        assert!(text.contains("2.5.0 is a paid plugin the tenant has not bought"), "{text}");
        assert!(text.contains("the tenant asks for billing ^2"), "{text}");

        request.entitlements.insert("billing".into());
        assert_eq!(resolve(&index, &request).unwrap().plugins["billing"].version, v("2.5.0"));
    }

    #[test]
    fn every_refused_version_says_why() {
        let mut api = cand("billing", "3.0.0", &[]);
        api.api = req("^2");
        let mut yanked = cand("billing", "2.4.0", &[]);
        yanked.yanked = true;
        let mut paid = cand("billing", "2.5.0", &[]);
        paid.paid = true;
        let index = Index::new(vec![api, yanked, paid]);

        let text = explanation(resolve(&index, &request(&[("billing", "*")])));
        assert!(text.contains("Because the tenant asks for billing and no version of billing can be used ("), "{text}");
        assert!(text.contains("3.0.0 needs host API ^2 but this server supports 1.0.0"), "{text}");
        assert!(text.contains("2.4.0 is yanked"), "{text}");
        assert!(text.contains("2.5.0 is a paid plugin the tenant has not bought"), "{text}");
    }

    fn pinned_helpdesk() -> (Index, Request) {
        let index = Index::new(vec![
            cand("telecom", "2.1.0", &[("helpdesk", "^2")]),
            cand("helpdesk", "1.4.0", &[]),
            cand("helpdesk", "2.0.0", &[]),
            cand("helpdesk", "2.1.0", &[]),
        ]);
        let mut request = request(&[("telecom", "^2")]);
        request.pins.insert("helpdesk".into(), Pin { version: req("=1.4.0"), reason: "contrat client jusqu'en mars".into() });
        (index, request)
    }

    #[test]
    fn pin_conflict_names_both_reasons() {
        let (index, request) = pinned_helpdesk();
        let text = explanation(resolve(&index, &request));
        assert!(text.contains("Because telecom 2.1.0 needs helpdesk ^2 and no matching version of helpdesk can be used"), "{text}");
        assert!(text.contains("the tenant pins helpdesk to =1.4.0 because «contrat client jusqu'en mars», which rules out 2.0.0 and 2.1.0"), "{text}");
        assert!(text.contains("the tenant asks for telecom ^2"), "{text}");
    }

    #[test]
    fn pin_is_honoured_when_it_fits() {
        let (index, mut request) = pinned_helpdesk();
        request.wanted = BTreeMap::from([("helpdesk".into(), req("*"))]);
        assert_eq!(resolve(&index, &request).unwrap().plugins["helpdesk"].version, v("1.4.0"));
    }

    #[test]
    fn diamond_dependency_finds_the_common_version() {
        let index = Index::new(vec![
            cand("a", "1.0.0", &[("b", "^1"), ("c", "^1")]),
            cand("b", "1.0.0", &[("d", ">=1.1.0")]),
            cand("c", "1.0.0", &[("d", "<1.3.0")]),
            cand("d", "1.0.0", &[]),
            cand("d", "1.1.0", &[]),
            cand("d", "1.2.0", &[]),
            cand("d", "1.3.0", &[]),
        ]);
        let resolution = resolve(&index, &request(&[("a", "^1")])).unwrap();
        assert_eq!(resolution.plugins["d"].version, v("1.2.0"));
        assert_eq!(resolution.plugins.len(), 4);
    }

    #[test]
    fn diamond_conflict_names_both_sides() {
        let index = Index::new(vec![cand("b", "1.0.0", &[("d", "^1")]), cand("c", "1.0.0", &[("d", "^2")]), cand("d", "1.0.0", &[]), cand("d", "2.0.0", &[])]);
        let text = explanation(resolve(&index, &request(&[("b", "^1"), ("c", "^1")])));
        assert!(text.contains("b 1.0.0 needs d ^1"), "{text}");
        assert!(text.contains("c 1.0.0 needs d ^2"), "{text}");
        assert!(text.ends_with("the tenant's plugins cannot be installed together."), "{text}");
    }

    #[test]
    fn older_version_is_used_when_the_newest_conflicts() {
        let index = Index::new(vec![cand("a", "1.0.0", &[("b", "^1")]), cand("a", "1.1.0", &[("b", "^2")]), cand("b", "1.0.0", &[]), cand("b", "2.0.0", &[])]);
        let resolution = resolve(&index, &request(&[("a", "^1"), ("b", "^1")])).unwrap();
        assert_eq!(versions(&resolution), BTreeMap::from([("a", "1.0.0".into()), ("b", "1.0.0".into())]));
    }

    #[test]
    fn dependency_cycles_terminate() {
        let index = Index::new(vec![cand("a", "1.0.0", &[("b", "^1")]), cand("b", "1.0.0", &[("a", "^1")]), cand("c", "1.0.0", &[("c", "^1")])]);
        let resolution = resolve(&index, &request(&[("a", "^1"), ("c", "^1")])).unwrap();
        assert_eq!(versions(&resolution), BTreeMap::from([("a", "1.0.0".into()), ("b", "1.0.0".into()), ("c", "1.0.0".into())]));

        let index = Index::new(vec![cand("s", "1.0.0", &[]), cand("s", "2.0.0", &[("s", "=1.0.0")])]);
        assert_eq!(resolve(&index, &request(&[("s", "*")])).unwrap().plugins["s"].version, v("1.0.0"));
        let text = explanation(resolve(&index, &request(&[("s", "^2")])));
        assert!(text.contains("s 2.0.0 cannot be used: it needs s =1.0.0, which excludes itself"), "{text}");

        let index = Index::new(vec![cand("a", "1.0.0", &[("b", "^1")]), cand("b", "1.0.0", &[("a", "^2")])]);
        let text = explanation(resolve(&index, &request(&[("a", "^1")])));
        assert!(text.contains("b 1.0.0 needs a ^2"), "{text}");
    }

    #[test]
    fn unneeded_locked_plugin_is_dropped() {
        let index =
            Index::new(vec![cand("a", "1.0.0", &[("shared", "^1")]), cand("b", "1.0.0", &[]), cand("shared", "1.0.0", &[]), cand("shared", "1.1.0", &[])]);
        let mut request = request(&[("a", "^1")]);
        request.locked = BTreeMap::from([("a".into(), v("1.0.0")), ("b".into(), v("1.0.0")), ("shared".into(), v("1.0.0"))]);
        let resolution = resolve(&index, &request).unwrap();
        // `b` was uninstalled; `shared` is still needed by `a` and keeps its locked version.
        assert_eq!(versions(&resolution), BTreeMap::from([("a", "1.0.0".into()), ("shared", "1.0.0".into())]));
    }

    #[test]
    fn unknown_plugin_names_who_needs_it() {
        let index = Index::new(vec![cand("a", "1.0.0", &[("ghost", "^1")])]);

        let err = resolve(&index, &request(&[("nope", "^1")])).unwrap_err();
        assert_eq!(err, ResolveError::UnknownPlugin { id: "nope".into(), needed_by: None });
        assert!(err.to_string().contains("check its spelling in tenant.toml"), "{err}");

        let err = resolve(&index, &request(&[("a", "^1")])).unwrap_err();
        assert_eq!(err, ResolveError::UnknownPlugin { id: "ghost".into(), needed_by: Some("a".into()) });
        assert!(err.to_string().starts_with("a needs plugin `ghost`, which is not in the marketplace"), "{err}");
    }

    #[test]
    fn unknown_dependency_of_a_newer_version_falls_back() {
        let index = Index::new(vec![cand("a", "1.0.0", &[]), cand("a", "1.1.0", &[("ghost", "^1")])]);
        let resolution = resolve(&index, &request(&[("a", "^1")])).unwrap();
        assert_eq!(resolution.plugins["a"].version, v("1.0.0"));
    }

    #[test]
    fn dependency_on_a_range_nothing_matches() {
        let index = Index::new(vec![cand("a", "1.0.0", &[("b", "^9")]), cand("b", "1.0.0", &[])]);
        let text = explanation(resolve(&index, &request(&[("a", "^1")])));
        assert!(text.contains("a 1.0.0 needs b ^9, and no published version of b matches that"), "{text}");
    }

    #[test]
    fn explanation_lists_join() {
        let words = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&words(1)), "1");
        assert_eq!(list(&words(2)), "1 and 2");
        assert_eq!(list_or(&words(3)), "1, 2 or 3");
        assert_eq!(list(&words(10)), "1, 2, 3, 4, 5, 6, 7 and 3 more");
    }

    mod oracle {
        use proptest::prelude::*;

        use super::*;

        const POOL: [&str; 6] = ["1.0.0", "1.1.0", "1.2.0-beta.1", "2.0.0", "2.1.0", "3.0.0"];
        const REQS: [&str; 7] = ["^1", "^2", ">=1.1.0", "*", "=1.0.0", "<2.0.0", "^3"];
        const PINS: [&str; 3] = ["=1.0.0", "^2", "=1.2.0-beta.1"];
        const N: usize = 4;

        fn id(i: usize) -> String {
            format!("p{i}")
        }

        #[derive(Debug, Clone)]
        struct RawVersion {
            version: usize,
            yanked: bool,
            beta: bool,
            paid: bool,
            api2: bool,
            deps: Vec<Option<usize>>,
        }

        #[derive(Debug, Clone)]
        struct RawRequest {
            host: usize,
            wanted: Vec<Option<usize>>,
            locked: Vec<Option<usize>>,
            upgrade: usize,
            upgraded: Vec<bool>,
            beta: Vec<bool>,
            entitled: Vec<bool>,
            pins: Vec<Option<usize>>,
        }

        fn raw_version() -> impl Strategy<Value = RawVersion> {
            (
                0..POOL.len(),
                prop::bool::weighted(0.2),
                prop::bool::weighted(0.2),
                prop::bool::weighted(0.15),
                prop::bool::weighted(0.2),
                prop::collection::vec(prop::option::weighted(0.3, 0..REQS.len()), N),
            )
                .prop_map(|(version, yanked, beta, paid, api2, deps)| RawVersion { version, yanked, beta, paid, api2, deps })
        }

        fn raw_request() -> impl Strategy<Value = RawRequest> {
            let flags = |p: f64| prop::collection::vec(prop::bool::weighted(p), N);
            (
                0..3usize,
                prop::collection::vec(prop::option::weighted(0.6, 0..REQS.len()), N),
                prop::collection::vec(prop::option::weighted(0.4, 0..POOL.len()), N),
                0..3usize,
                flags(0.5),
                flags(0.3),
                flags(0.6),
                prop::collection::vec(prop::option::weighted(0.15, 0..PINS.len()), N),
            )
                .prop_map(|(host, wanted, locked, upgrade, upgraded, beta, entitled, pins)| RawRequest {
                    host,
                    wanted,
                    locked,
                    upgrade,
                    upgraded,
                    beta,
                    entitled,
                    pins,
                })
        }

        fn build(plugins: &[Vec<RawVersion>], raw: &RawRequest) -> (Index, Request) {
            let n = plugins.len();
            let mut candidates = Vec::new();
            for (i, versions) in plugins.iter().enumerate() {
                for raw in versions {
                    let mut candidate = cand(&id(i), POOL[raw.version], &[]);
                    candidate.yanked = raw.yanked;
                    candidate.paid = raw.paid;
                    candidate.channel = if raw.beta { Channel::Beta } else { Channel::Stable };
                    candidate.api = req(if raw.api2 { "^2" } else { "^1" });
                    candidate.dependencies = raw.deps[..n].iter().enumerate().filter_map(|(j, r)| r.map(|r| (id(j), req(REQS[r])))).collect();
                    candidates.push(candidate);
                }
            }
            let pick =
                |values: &[Option<usize>]| -> Vec<(String, usize)> { values[..n].iter().enumerate().filter_map(|(i, x)| x.map(|x| (id(i), x))).collect() };
            let flagged = |flags: &[bool]| -> BTreeSet<String> { (0..n).filter(|&i| flags[i]).map(id).collect() };
            let request = Request {
                host_api: match raw.host {
                    0 => vec![v("1.0.0")],
                    1 => vec![v("2.0.0")],
                    _ => vec![v("1.0.0"), v("2.0.0")],
                },
                wanted: pick(&raw.wanted).into_iter().map(|(i, r)| (i, req(REQS[r]))).collect(),
                locked: pick(&raw.locked).into_iter().map(|(i, x)| (i, v(POOL[x]))).collect(),
                upgrade: match raw.upgrade {
                    0 => Upgrade::None,
                    1 => Upgrade::All,
                    _ => Upgrade::Only(flagged(&raw.upgraded)),
                },
                beta: flagged(&raw.beta),
                entitlements: flagged(&raw.entitled),
                pins: pick(&raw.pins).into_iter().map(|(i, p)| (i, Pin { version: req(PINS[p]), reason: "test".into() })).collect(),
            };
            (Index::new(candidates), request)
        }

        /// The eligibility rules, restated independently of `Provider::unfit`.
        fn eligible(request: &Request, c: &Candidate) -> bool {
            let upgrading = request.upgrade.includes(&c.id);
            let locked_here = !upgrading && request.locked.get(&c.id) == Some(&c.version);
            let beta_ok = request.beta.contains(&c.id) || (c.channel == Channel::Stable && c.version.pre.is_empty());
            let pin_ok = request.pins.get(&c.id).is_none_or(|pin| req_matches(&pin.version, &c.version, request.beta.contains(&c.id)));
            (!c.yanked || locked_here)
                && request.host_api.iter().any(|h| c.api.matches(h))
                && beta_ok
                && (!c.paid || request.entitlements.contains(&c.id))
                && pin_ok
        }

        fn valid(index: &Index, request: &Request, chosen: &BTreeMap<String, Version>) -> bool {
            let in_range = |id: &String, range: &VersionReq| chosen.get(id).is_some_and(|version| req_matches(range, version, request.beta.contains(id)));
            request.wanted.iter().all(|(id, range)| in_range(id, range))
                && chosen.iter().all(|(id, version)| {
                    index.get(id, version).is_some_and(|c| eligible(request, c) && c.dependencies.iter().all(|(dep, range)| in_range(dep, range)))
                })
        }

        /// Tries every assignment (each plugin absent or at one of its versions).
        fn brute_force(index: &Index, request: &Request, ids: &[String]) -> Option<BTreeMap<String, Version>> {
            fn go(index: &Index, request: &Request, ids: &[String], chosen: &mut BTreeMap<String, Version>) -> Option<BTreeMap<String, Version>> {
                let Some((id, rest)) = ids.split_first() else {
                    return valid(index, request, chosen).then(|| chosen.clone());
                };
                if let Some(found) = go(index, request, rest, chosen) {
                    return Some(found);
                }
                for candidate in index.versions(id) {
                    chosen.insert(id.clone(), candidate.version.clone());
                    let found = go(index, request, rest, chosen);
                    chosen.remove(id);
                    if found.is_some() {
                        return found;
                    }
                }
                None
            }
            go(index, request, ids, &mut BTreeMap::new())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            #[test]
            fn resolve_agrees_with_brute_force(
                plugins in prop::collection::vec(prop::collection::vec(raw_version(), 1..=4), 1..=N),
                raw in raw_request(),
            ) {
                let (index, request) = build(&plugins, &raw);
                let ids: Vec<String> = (0..plugins.len()).map(id).collect();
                let oracle = brute_force(&index, &request, &ids);
                match resolve(&index, &request) {
                    Ok(resolution) => {
                        prop_assert!(oracle.is_some(), "resolve found {resolution:?} but brute force found nothing");
                        let chosen: BTreeMap<String, Version> =
                            resolution.plugins.iter().map(|(id, r)| (id.clone(), r.version.clone())).collect();
                        prop_assert!(valid(&index, &request, &chosen), "invalid resolution {chosen:?} for {request:?}");
                        for (id, resolved) in &resolution.plugins {
                            let candidate = index.get(id, &resolved.version).unwrap();
                            prop_assert_eq!(&resolved.digest, &candidate.digest);
                            prop_assert_eq!(&resolved.dependencies, &candidate.dependencies);
                            prop_assert_eq!(resolved.requested, request.wanted.contains_key(id));
                        }
                        // Nothing unreachable from the wanted plugins.
                        let mut reached = BTreeSet::new();
                        let mut stack: Vec<&String> = request.wanted.keys().collect();
                        while let Some(id) = stack.pop() {
                            if reached.insert(id.clone()) {
                                stack.extend(resolution.plugins[id].dependencies.keys());
                            }
                        }
                        prop_assert_eq!(reached, resolution.plugins.keys().cloned().collect::<BTreeSet<_>>());
                    }
                    Err(err) => {
                        prop_assert!(oracle.is_none(), "resolve failed with {err} but {oracle:?} fits {request:?}");
                        let is_conflict = matches!(&err, ResolveError::Conflict { explanation } if !explanation.is_empty());
                        prop_assert!(is_conflict, "{err:?}");
                    }
                }
            }
        }
    }
}
