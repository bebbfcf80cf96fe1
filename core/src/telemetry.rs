//! Logs: one JSON object per line (request id and tenant on every line of a request) or a
//! readable format for terminals. `RUST_LOG` overrides the configured level.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogSettings;

/// Installs the global subscriber (once; later calls do nothing).
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if settings.format == "json" {
        registry.with(tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(false).flatten_event(true)).try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer().compact().with_writer(std::io::stderr)).try_init()
    };
    // Already initialised (tests): keep the first subscriber.
    let _ = result;
}

/// The process-wide Prometheus recorder. The `metrics` facade is global by design; installing it
/// once per process lets several apps (tests) share it.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first, in which case ours stays unused.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}
