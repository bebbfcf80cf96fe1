//! The HTTP surfaces: the tenant portal and its JSON API, the operator console, health and
//! metrics. Tenant resolution rewrites the request before routing, so `/t/acme/login` and
//! `acme.localhost/login` reach the same handler with the same [`TenantContext`].

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod json;
mod middleware;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod partner;
pub mod portal;
pub mod state;
pub mod ui;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::app::App;
pub use state::AppState;

/// Every route. Tenant routes expect a [`TenantContext`] in the request extensions (inserted by
/// the resolution middleware wrapped around this router in [`service`]).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(portal::router())
        .merge(ui::router())
        .merge(auth::router())
        .merge(ops::router())
        .merge(api::ops_router())
        .merge(openapi::router())
        .nest("/api/v1", api::router())
        .route_layer(axum::middleware::from_fn(middleware::record_metrics))
        .with_state(state)
}

/// The router wrapped in the request pipeline: request ids, tracing, panics, timeouts, body
/// limits, security headers, CSRF origin checks and tenant resolution. Resolution must run before
/// routing because it rewrites `/t/<slug>/…` paths, so the routes sit behind an outer router's
/// fallback and resolution is a layer of that outer router.
pub fn service(state: AppState) -> Router {
    let settings = &state.settings.server;
    let timeout = Duration::from_secs(settings.request_timeout_secs);
    let max_body = settings.max_body_bytes;
    Router::new()
        .fallback_service(router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::resolve_tenant))
        .layer(tower_http::csrf::CsrfLayer::new())
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(http::StatusCode::SERVICE_UNAVAILABLE, timeout))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::map_response(middleware::envelope_layer_errors))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(middleware::request_span).on_response(middleware::log_response))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A server bound to an address, ready to run.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Binds `addr` (port 0 picks a free port, as tests do).
    pub async fn bind(app: Arc<App>, addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(addr).await.with_context(|| format!("failed to listen on {addr}"))?;
        Ok(Self { listener, state: AppState::new(app)? })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let service = service(self.state.clone());
        axum::serve(self.listener, service.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed")?;
        self.state.db.close().await;
        Ok(())
    }
}
