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

/// How long a stopping server waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

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

    /// Serves until `shutdown` completes, then lets in-flight requests finish (up to
    /// [`DRAIN_TIMEOUT`]).
    ///
    /// Its own accept loop rather than `axum::serve`, for the connection timeouts: a client that
    /// has not sent a request's complete headers within `server.header_timeout_secs` — a slow
    /// client holding sockets open, or a kept-alive connection left idle — is disconnected.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
        use tower::Service as _;

        let header_timeout = Duration::from_secs(self.state.settings.server.header_timeout_secs.max(1));
        let mut make = service(self.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(header_timeout);
        builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(header_timeout)).keep_alive_timeout(header_timeout);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            let (stream, remote) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: wait a moment rather than spin.
                        tracing::warn!(error = %err, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Ok(tower_service) = make.call(remote).await;
            let hyper_service = hyper_util::service::TowerToHyperService::new(tower_service);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service).into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(err) = connection.await {
                    tracing::debug!(error = %err, "connection closed with an error");
                }
            });
        }
        drop(self.listener);
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
            tracing::warn!("connections still open after the drain timeout were closed");
        }
        self.state.db.close().await;
        Ok(())
    }
}
