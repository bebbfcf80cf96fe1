//! Invoking plugins: a fresh `Store` per invocation, bounded by the tenant's plan (deadline,
//! memory, host calls), instantiated from a pre-linked component compiled once per digest. Every
//! invocation leaves a receipt. A plugin that loops, blows its memory or recursion, or floods the
//! host fails that one call with an error naming it, its version and the tenant; the host and
//! other tenants go on (guests yield to the scheduler every tick).

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sha2::Digest as _;
use socle_marketplace::manifest::{Manifest, Pricing};
use socle_tenants::{Tenant, TenantId};
use tokio::sync::Semaphore;
use uuid::Uuid;
use wasmtime::component::{Component, Linker};
use wasmtime::{Store, UpdateDeadline};

use super::host::exports::socle::plugin::{hooks, routes};
use super::host::{Invocation, LoadedPlugin, MemoryLimit, Plugin, PluginPre, PluginState, events};
use super::receipts::ReceiptBuffer;
use super::services::Services;
use super::store::{Installed, PluginStore, Receipt};
use crate::records::access::Reach;

/// Context for wasmtime's own error type (it is not an `anyhow` error in this version).
trait WasmtimeContext<T> {
    fn wasm_context(self, what: &str) -> anyhow::Result<T>;
}

impl<T> WasmtimeContext<T> for Result<T, wasmtime::Error> {
    fn wasm_context(self, what: &str) -> anyhow::Result<T> {
        self.map_err(|e| anyhow::anyhow!("{what}: {e:?}"))
    }
}

/// A guest call in progress, polled inline then on the plugin executor; yields the store back.
type Running = Pin<Box<dyn Future<Output = (wasmtime::Result<Output>, Store<PluginState>)> + Send>>;

/// Host API versions this host serves (`socle:plugin@1.x`).
pub const SUPPORTED_API: &[&str] = &["1"];

/// The exact host API versions this server serves (the `socle:plugin` WIT packages it links).
pub fn host_api_versions() -> Vec<semver::Version> {
    // 1.1 added `connectors`, 1.2 `files`; components built for an older minor link unchanged
    // (minors only add).
    vec![semver::Version::new(1, 0, 0), semver::Version::new(1, 1, 0), semver::Version::new(1, 2, 0)]
}
/// Custom section where the SDK records the API version a plugin was built against.
pub const API_SECTION: &str = "socle:api-version";
/// Nested invocations (a plugin's write triggering another plugin's filter…) deeper than this
/// are refused.
const MAX_DEPTH: u32 = 4;

tokio::task_local! {
    static DEPTH: u32;
}

/// What the host asks a plugin to do.
#[derive(Debug, Clone)]
pub enum Call {
    /// Lifecycle: first install.
    Install,
    /// Lifecycle: upgrade from a version.
    Upgrade(String),
    /// Lifecycle: uninstall.
    Uninstall,
    /// A filter hook, with the files the write attaches (the plugin may read them, if granted,
    /// before they are saved).
    Filter(hooks::Write, Vec<Uuid>),
    /// An action hook.
    Action(hooks::Event),
    /// An action on records.
    RunAction {
        /// Action name.
        action: String,
        /// Records.
        ids: Vec<String>,
        /// Parameters (JSON).
        params: String,
    },
    /// An HTTP route.
    Route(routes::Request),
    /// A panel.
    Panel {
        /// Panel name.
        panel: String,
        /// Record shown.
        record_id: Option<String>,
    },
}

impl Call {
    fn kind(&self) -> &'static str {
        match self {
            Call::Install | Call::Upgrade(_) | Call::Uninstall => "lifecycle",
            Call::Filter(..) => "filter",
            Call::Action(_) => "action",
            Call::RunAction { .. } => "run_action",
            Call::Route(_) => "route",
            Call::Panel { .. } => "panel",
        }
    }

    fn target(&self) -> String {
        match self {
            Call::Install => "install".into(),
            Call::Upgrade(from) => format!("upgrade from {from}"),
            Call::Uninstall => "uninstall".into(),
            Call::Filter(w, _) => w.hook.clone(),
            Call::Action(e) => e.hook.clone(),
            Call::RunAction { action, .. } => action.clone(),
            Call::Route(r) => format!("{} {}", r.method, r.path),
            Call::Panel { panel, .. } => panel.clone(),
        }
    }
}

/// What a plugin answered.
#[derive(Debug, Clone)]
pub enum Output {
    /// Lifecycle and action hooks.
    Done(Result<(), String>),
    /// Filter hooks.
    Filter(hooks::FilterOutcome),
    /// Actions (JSON) and panels (HTML).
    Text(Result<String, String>),
    /// Routes.
    Route(routes::Response),
}

impl Output {
    fn guest_error(&self) -> Option<&str> {
        match self {
            Output::Done(Err(e)) | Output::Text(Err(e)) => Some(e),
            _ => None,
        }
    }
}

/// Why an invocation could not run to its end.
#[derive(Debug, thiserror::Error)]
#[error("plugin {plugin} (tenant {tenant}): {message}")]
pub struct PluginError {
    /// `id@version`.
    pub plugin: String,
    /// Tenant slug.
    pub tenant: String,
    /// What happened.
    pub message: String,
    /// It did not run: the tenant's plugins were all busy (try again later).
    pub busy: bool,
}

/// A spawned invocation, aborted if its caller goes away.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Which of a tenant's paid plugins it may call: those whose price it accepted. The marketplace
/// knows (it sells them); the runtime asks once when a tenant's plugins load.
#[async_trait::async_trait]
pub trait Entitlements: Send + Sync {
    /// Of `plugins` (id and pricing) installed in `tenant`, the ids it may call.
    async fn entitled(&self, tenant: TenantId, plugins: &[(&str, &Pricing)]) -> anyhow::Result<HashSet<String>>;
}

/// The plugin runtime.
pub struct PluginRuntime {
    services: Arc<Services>,
    entitlements: Arc<dyn Entitlements>,
    engine: &'static wasmtime::Engine,
    linker: Linker<PluginState>,
    components: moka::sync::Cache<String, PluginPre<PluginState>>,
    tenants: moka::future::Cache<TenantId, Arc<Vec<Arc<LoadedPlugin>>>>,
    tenant_rows: moka::future::Cache<TenantId, Arc<Tenant>>,
    executor: tokio::runtime::Handle,
    permits: Arc<Semaphore>,
    tenant_permits: moka::sync::Cache<(TenantId, u32), Arc<Semaphore>>,
    receipts: Arc<ReceiptBuffer>,
}

impl PluginRuntime {
    /// Creates the engine (once per process) and links the host API.
    pub fn new(services: Arc<Services>, entitlements: Arc<dyn Entitlements>) -> anyhow::Result<Self> {
        let engine = super::engine::shared()?;
        let mut linker = Linker::new(engine);
        super::host::add_to_linker(&mut linker).wasm_context("failed to link the host API")?;
        let executor = super::engine::executor()?.handle().clone();
        let receipts = ReceiptBuffer::start(services.store.clone());
        let max_concurrent = services.settings.max_concurrent.max(1);
        Ok(Self {
            services,
            entitlements,
            engine,
            linker,
            components: moka::sync::Cache::new(512),
            tenants: moka::future::Cache::builder().max_capacity(20_000).time_to_idle(Duration::from_secs(3600)).build(),
            // Plans (and so limits) change rarely; a short life is enough.
            tenant_rows: moka::future::Cache::builder().max_capacity(20_000).time_to_live(Duration::from_secs(30)).build(),
            executor,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            tenant_permits: moka::sync::Cache::builder().max_capacity(20_000).time_to_idle(Duration::from_secs(600)).build(),
            receipts,
        })
    }

    /// What of the platform plugins reach.
    pub fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// The plugins' storage.
    pub fn store(&self) -> &Arc<dyn PluginStore> {
        &self.services.store
    }

    /// The component of `bytes`, compiled once (in memory, then on disk by digest) and linked.
    pub fn prepare(&self, sha256: &str, bytes: &[u8]) -> anyhow::Result<PluginPre<PluginState>> {
        if let Some(pre) = self.components.get(sha256) {
            return Ok(pre);
        }
        check_api_version(bytes)?;
        let component = self.compile(sha256, bytes)?;
        let pre = self.linker.instantiate_pre(&component).wasm_context("the component does not fit the socle:plugin world")?;
        let pre = PluginPre::new(pre).wasm_context("the component does not export the socle:plugin world")?;
        self.components.insert(sha256.to_owned(), pre.clone());
        Ok(pre)
    }

    fn compile(&self, sha256: &str, bytes: &[u8]) -> anyhow::Result<Component> {
        let actual = hex::encode(sha2::Sha256::digest(bytes));
        anyhow::ensure!(actual == sha256, "the component's digest is {actual}, not {sha256}");
        // The engine's hash keys the cache: a new wasmtime or new settings never read old code.
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.engine.precompile_compatibility_hash().hash(&mut hasher);
        let cache_dir = PathBuf::from(&self.services.settings.cache_dir);
        let path = cache_dir.join(format!("{sha256}-{:016x}.cwasm", hasher.finish()));
        if path.exists() {
            // SAFETY: the file was written by `Component::serialize` of this same engine
            // configuration (its hash is in the name) into the node's private cache directory;
            // `deserialize_file` requires trusted input, which this is.
            #[allow(unsafe_code)]
            let cached = unsafe { Component::deserialize_file(self.engine, &path) };
            match cached {
                Ok(component) => return Ok(component),
                Err(err) => tracing::warn!(path = %path.display(), error = %err, "ignoring an unreadable compiled component"),
            }
        }
        let component = Component::new(self.engine, bytes).wasm_context("the component failed to compile")?;
        if std::fs::create_dir_all(&cache_dir).is_ok()
            && let Ok(serialized) = component.serialize()
        {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, serialized).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
        Ok(component)
    }

    /// The compiled, linked component of an installed plugin (from storage if not compiled yet).
    async fn component(&self, installed: &Installed) -> anyhow::Result<PluginPre<PluginState>> {
        if let Some(pre) = self.components.get(&installed.sha256) {
            return Ok(pre);
        }
        let bytes = self.services.store.component(&installed.sha256).await?.with_context(|| format!("component {} is missing", installed.sha256))?;
        self.prepare(&installed.sha256, &bytes)
    }

    /// The active plugins of a tenant, loaded with what the tenant granted each (cached until an
    /// install or a grant changes).
    pub async fn installed(&self, tenant: TenantId) -> anyhow::Result<Arc<Vec<Arc<LoadedPlugin>>>> {
        if let Some(hit) = self.tenants.get(&tenant).await {
            return Ok(hit);
        }
        let mut active = Vec::new();
        for installed in self.services.store.installs(tenant).await? {
            if installed.status != "active" {
                continue;
            }
            match serde_json::from_value::<Manifest>(installed.manifest.clone()) {
                Ok(manifest) => active.push((installed, manifest)),
                Err(err) => {
                    tracing::error!(tenant.id = %tenant, plugin.id = %installed.plugin_id, error = %err, "an installed plugin's manifest is unreadable")
                }
            }
        }
        let priced: Vec<(&str, &Pricing)> = active.iter().map(|(_, m)| (m.plugin.id.as_str(), &m.pricing)).collect();
        let entitled = self.entitlements.entitled(tenant, &priced).await?;
        let mut ready = Vec::new();
        for (installed, manifest) in active {
            match self.component(&installed).await {
                Ok(pre) => ready.push((installed, manifest, pre)),
                Err(err) => {
                    tracing::error!(tenant.id = %tenant, plugin.id = %installed.plugin_id, error = format!("{err:#}"), "installed plugin could not be loaded");
                }
            }
        }
        // The action hooks events reach, worked out once for the tenant's set (not per call).
        let subscriptions = events::subscriptions(ready.iter().map(|(i, m, _)| (i.plugin_id.as_str(), m.hooks.as_slice())));
        let mut loaded = Vec::new();
        for (installed, manifest, pre) in ready {
            let granted = self.services.granter.granted(tenant, &manifest).await?;
            loaded.push(Arc::new(LoadedPlugin {
                id: installed.plugin_id.clone(),
                version: installed.version.clone(),
                sha256: installed.sha256.clone(),
                entitled: entitled.contains(&installed.plugin_id),
                reach: Arc::new(Reach::of(&manifest)),
                granted: Arc::new(granted),
                subscriptions: subscriptions.clone(),
                manifest,
                pre,
            }));
        }
        let loaded = Arc::new(loaded);
        self.tenants.insert(tenant, loaded.clone()).await;
        Ok(loaded)
    }

    /// One installed plugin of a tenant.
    pub async fn plugin(&self, tenant: TenantId, id: &str) -> anyhow::Result<Option<Arc<LoadedPlugin>>> {
        Ok(self.installed(tenant).await?.iter().find(|p| p.id == id).cloned())
    }

    /// Drops this node's cache of a tenant's plugins.
    pub async fn invalidate(&self, tenant: TenantId) {
        self.tenants.invalidate(&tenant).await;
        self.tenant_rows.invalidate(&tenant).await;
    }

    /// Announces a change of a tenant's plugins to every node (and drops this node's cache).
    pub async fn changed(&self, tenant: TenantId) {
        self.invalidate(tenant).await;
        if let Err(err) = self.services.bus.publish(crate::bus::topics::PLUGINS_CHANGED, &tenant.to_string()).await {
            tracing::error!(tenant.id = %tenant, error = format!("{err:#}"), "failed to broadcast a plugin change");
        }
    }

    /// Listens to the bus for other nodes' plugin changes, and for grant changes (what each
    /// plugin may use is worked out when a tenant's plugins load).
    pub fn listen(self: &Arc<Self>, bus: &dyn crate::bus::Bus) -> Vec<tokio::task::JoinHandle<()>> {
        vec![crate::bus::invalidate_on(bus, crate::bus::topics::PLUGINS_CHANGED, self), crate::bus::invalidate_on(bus, crate::bus::topics::AUTHZ_CHANGED, self)]
    }

    /// A tenant (cached briefly: invocations need its plan).
    pub async fn tenant(&self, id: TenantId) -> anyhow::Result<Arc<Tenant>> {
        if let Some(hit) = self.tenant_rows.get(&id).await {
            return Ok(hit);
        }
        let tenant = Arc::new(self.services.tenants.get(id).await?.with_context(|| format!("tenant {id} does not exist"))?);
        self.tenant_rows.insert(id, tenant.clone()).await;
        Ok(tenant)
    }

    /// Runs `call` in `plugin` for `tenant`, within the tenant plan's bounds.
    pub async fn call(&self, tenant: &Arc<Tenant>, plugin: &Arc<LoadedPlugin>, call: Call, user: Option<String>) -> Result<Output, PluginError> {
        self.run_call(tenant, plugin, call, user, None).await
    }

    /// Runs an action hook from its job: when the job runs again after a failure, the mails the
    /// hook queued in an earlier run are not queued twice (`replay_key` names the job).
    pub async fn call_action(&self, tenant: &Arc<Tenant>, plugin: &Arc<LoadedPlugin>, event: hooks::Event, replay_key: String) -> Result<Output, PluginError> {
        self.run_call(tenant, plugin, Call::Action(event), None, Some(replay_key)).await
    }

    async fn run_call(
        &self,
        tenant: &Arc<Tenant>,
        plugin: &Arc<LoadedPlugin>,
        call: Call,
        user: Option<String>,
        replay_key: Option<String>,
    ) -> Result<Output, PluginError> {
        let error = |message: String| PluginError { plugin: plugin.label(), tenant: tenant.slug.to_string(), message, busy: false };
        let depth = DEPTH.try_with(|d| *d).unwrap_or(0);
        if depth >= MAX_DEPTH {
            return Err(error(format!("plugins called each other more than {MAX_DEPTH} levels deep")));
        }
        // A paid plugin runs for tenants that accepted its price (its lifecycle runs anyway:
        // installing checked the entitlement, and an uninstall must always be possible).
        if !plugin.entitled && !matches!(call, Call::Install | Call::Upgrade(_) | Call::Uninstall) {
            return Err(error("this paid plugin has no subscription in this tenant: an administrator accepts its price in the marketplace".into()));
        }
        let limits = tenant.plan.limits();
        let deadline_ms = limits.plugin_deadline_ms;
        // Only outermost invocations take permits: a nested one (a plugin's write running
        // another plugin's filter) waiting for a permit its caller holds could deadlock. The
        // tenant's permits keep one tenant from occupying every core; a call waits for one at
        // most its own deadline.
        let (_tenant_permit, _permit) = match depth {
            0 => {
                let concurrency = limits.plugin_concurrency.max(1);
                let semaphore = self.tenant_permits.get_with((tenant.id, concurrency), || Arc::new(Semaphore::new(concurrency as usize)));
                // A free permit is the common case: take it without arming a timer.
                let tenant_permit = match semaphore.clone().try_acquire_owned() {
                    Ok(permit) => permit,
                    Err(_) => match tokio::time::timeout(Duration::from_millis(deadline_ms), semaphore.acquire_owned()).await {
                        Ok(Ok(permit)) => permit,
                        Ok(Err(_)) => return Err(error("the plugin runtime is shutting down".into())),
                        Err(_) => {
                            return Err(PluginError {
                                busy: true,
                                ..error(format!(
                                    "the tenant's plan runs {concurrency} plugin invocations at once and this one waited {deadline_ms} ms for its turn"
                                ))
                            });
                        }
                    },
                };
                let permit = self.permits.clone().acquire_owned().await.map_err(|_| error("the plugin runtime is shutting down".into()))?;
                (Some(tenant_permit), Some(permit))
            }
            _ => (None, None),
        };
        let (kind, target) = (call.kind(), call.target());
        let started = Instant::now();
        let started_at = self.services.clock.now_ms();
        let pending_files = match &call {
            Call::Filter(write, files) => {
                files.iter().map(|&id| super::host::PendingFile { id, collection: write.collection.clone(), uploader: write.actor.clone() }).collect()
            }
            _ => Vec::new(),
        };
        let mut invocation = Invocation::new(tenant.clone(), plugin.guest(), limits.plugin_host_calls);
        // Only the outermost invocation is the job's: a nested one may run several times in it.
        invocation.replay_key = replay_key.filter(|_| depth == 0);
        let state = PluginState {
            invocation,
            services: self.services.clone(),
            plugin: plugin.clone(),
            subscriptions: plugin.subscriptions.clone(),
            memory: MemoryLimit { limit: usize::try_from(limits.plugin_memory_bytes).unwrap_or(usize::MAX), peak: 0 },
            deadline: started + Duration::from_millis(deadline_ms),
            epochs: 0,
            user,
            pending_files,
        };
        let mut store = Store::new(self.engine, state);
        store.limiter(|s| &mut s.memory);
        // The first callback comes after one to two ticks of guest computation: a guest still
        // running then is moved to the plugin executor (see below).
        let hot = Arc::new(AtomicBool::new(false));
        store.set_epoch_deadline(2);
        store.epoch_deadline_callback({
            let hot = hot.clone();
            move |mut ctx| {
                let state = ctx.data_mut();
                state.epochs += 1;
                hot.store(true, Ordering::Relaxed);
                if Instant::now() >= state.deadline {
                    Ok(UpdateDeadline::Interrupt)
                } else {
                    // Let other tasks (other tenants' requests) run between ticks.
                    Ok(UpdateDeadline::Yield(1))
                }
            }
        });
        let pre = plugin.pre.clone();
        let mut invocation: Running = Box::pin(DEPTH.scope(depth + 1, async move {
            let outcome = invoke(&pre, &mut store, call).await;
            (outcome, store)
        }));
        // Most invocations are short: they run right here, sparing two thread hand-offs. One that
        // computes past a tick is handed, mid-flight, to the plugin executor, whose threads the OS
        // schedules below the platform's; dropping this call (a client gone) aborts it there at
        // its next yield.
        let inline = std::future::poll_fn(|cx| match invocation.as_mut().poll(cx) {
            Poll::Ready(done) => Poll::Ready(Some(done)),
            Poll::Pending if hot.load(Ordering::Relaxed) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        let (outcome, store) = match inline {
            Some(done) => done,
            None => match AbortOnDrop(self.executor.spawn(invocation)).join().await {
                Ok(done) => done,
                Err(err) => return Err(error(format!("the invocation did not finish: {err}"))),
            },
        };
        let state = store.data();
        let memory_limit = state.memory.limit;
        let (outcome_name, message) = match &outcome {
            Ok(output) => match output.guest_error() {
                Some(e) => ("error", Some(e.to_owned())),
                None => ("ok", None),
            },
            Err(err) => ("trap", Some(describe_trap(err, deadline_ms, state.memory.peak, memory_limit))),
        };
        let receipt = Receipt {
            tenant: tenant.id,
            plugin_id: plugin.id.clone(),
            version: plugin.version.clone(),
            kind: kind.into(),
            target: target.clone(),
            started_at,
            duration_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
            epochs: i64::try_from(state.epochs).unwrap_or(i64::MAX),
            peak_memory: i64::try_from(state.memory.peak).unwrap_or(i64::MAX),
            host_calls: i32::try_from(state.invocation.host_calls).unwrap_or(i32::MAX),
            denials: i32::try_from(state.invocation.denials).unwrap_or(i32::MAX),
            outcome: outcome_name.into(),
            error: message.clone(),
        };
        metrics::histogram!("plugin_invocation_seconds", "kind" => kind, "outcome" => outcome_name).record(started.elapsed().as_secs_f64());
        if !self.receipts.push(receipt) {
            tracing::warn!(plugin.id = %plugin.id, "receipt queue full; a receipt was dropped");
        }
        match outcome {
            Ok(output) => Ok(output),
            Err(_) => {
                let message = message.unwrap_or_default();
                tracing::warn!(tenant.id = %tenant.id, plugin.id = %plugin.id, plugin.version = %plugin.version, call = %target, error = %message, "plugin invocation failed");
                Err(error(message))
            }
        }
    }

    /// Waits until every receipt so far is stored (tests, shutdown).
    pub async fn flush_receipts(&self) {
        self.receipts.flush().await;
    }
}

async fn invoke(pre: &PluginPre<PluginState>, store: &mut Store<PluginState>, call: Call) -> wasmtime::Result<Output> {
    let instance: Plugin = pre.instantiate_async(&mut *store).await?;
    Ok(match call {
        Call::Install => Output::Done(instance.socle_plugin_lifecycle().call_install(&mut *store).await?),
        Call::Upgrade(from) => Output::Done(instance.socle_plugin_lifecycle().call_upgrade(&mut *store, &from).await?),
        Call::Uninstall => Output::Done(instance.socle_plugin_lifecycle().call_uninstall(&mut *store).await?),
        Call::Filter(write, _) => Output::Filter(instance.socle_plugin_hooks().call_filter(&mut *store, &write).await?),
        Call::Action(event) => Output::Done(instance.socle_plugin_hooks().call_action(&mut *store, &event).await?),
        Call::RunAction { action, ids, params } => Output::Text(instance.socle_plugin_actions().call_run(&mut *store, &action, &ids, &params).await?),
        Call::Route(request) => Output::Route(instance.socle_plugin_routes().call_handle(&mut *store, &request).await?),
        Call::Panel { panel, record_id } => Output::Text(instance.socle_plugin_panels().call_render(&mut *store, &panel, record_id.as_deref()).await?),
    })
}

/// Plain words for a stopped invocation.
fn describe_trap(err: &wasmtime::Error, deadline_ms: u64, peak: usize, limit: usize) -> String {
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => format!("stopped: it ran longer than its deadline of {deadline_ms} ms"),
        Some(wasmtime::Trap::StackOverflow) => "stopped: stack overflow (recursion too deep)".into(),
        // Rust guests keep their stack at the bottom of linear memory: overflowing it reads
        // below address 0, which traps as an out-of-bounds access.
        Some(wasmtime::Trap::MemoryOutOfBounds) => "stopped: out-of-bounds memory access (a recursion deeper than its stack, or a bug in the plugin)".into(),
        Some(wasmtime::Trap::UnreachableCodeReached) if peak + (2 << 20) >= limit => {
            format!("stopped: it ran out of memory (limit {} MiB)", limit >> 20)
        }
        Some(trap) => format!("stopped: {trap}"),
        None => format!("{err:#}"),
    }
}

/// Checks the API version the SDK embedded (custom section `socle:api-version`).
pub fn check_api_version(bytes: &[u8]) -> anyhow::Result<String> {
    let version = api_version(bytes)?.context("the component has no socle:api-version section: build it with socle-sdk's register_plugin!")?;
    let major = version.split('.').next().unwrap_or("");
    anyhow::ensure!(
        SUPPORTED_API.contains(&major),
        "the component targets socle:plugin@{version}; this host serves {}",
        SUPPORTED_API.iter().map(|v| format!("{v}.x")).collect::<Vec<_>>().join(", ")
    );
    Ok(version)
}

/// The API version embedded in a component, if any.
pub fn api_version(bytes: &[u8]) -> anyhow::Result<Option<String>> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        if let wasmparser::Payload::CustomSection(section) = payload.context("the component is not valid WebAssembly")?
            && section.name() == API_SECTION
        {
            return Ok(Some(String::from_utf8_lossy(section.data()).into_owned()));
        }
    }
    Ok(None)
}

#[async_trait::async_trait]
impl crate::bus::TenantCache for PluginRuntime {
    async fn invalidate_tenant(&self, tenant: TenantId) {
        self.invalidate(tenant).await;
    }

    async fn invalidate_everything(&self) {
        self.tenants.invalidate_all();
        self.tenant_rows.invalidate_all();
    }
}
