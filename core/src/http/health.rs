//! `/healthz` (the process answers), `/readyz` (its database and Redis answer), `/metrics`
//! (Prometheus), and the embedded static files.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use secrecy::ExposeSecret;
use serde_json::json;

use super::json::Json;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics)).route("/static/{file}", get(static_file))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let database = state.db.ping().await.map_err(|e| e.to_string());
    let bus = state.bus.ready().await.map_err(|e| format!("{e:#}"));
    let ok = database.is_ok() && bus.is_ok();
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            json!("unavailable")
        }
    };
    let body = json!({
        "status": if ok { "ok" } else { "unavailable" },
        "checks": { "database": describe(&database), "bus": describe(&bus) },
        "backend": state.db.backend().as_str(),
    });
    if ok { (StatusCode::OK, Json(body)).into_response() } else { (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], Json(body)).into_response() }
}

/// Prometheus metrics, for the platform's scraper only: the configured bearer token, or (when
/// none is configured) a connection from the machine itself. Tenants' hosts serve it to nobody
/// else.
async fn metrics(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
    let allowed = match &state.settings.server.metrics_token {
        Some(token) => request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|sent| crate::identity::secrets::constant_time_eq(sent, token.expose_secret())),
        None => peer.is_some_and(|ConnectInfo(addr)| addr.ip().is_loopback()),
    };
    if !allowed {
        return (StatusCode::NOT_FOUND, ()).into_response();
    }
    let body = crate::telemetry::prometheus().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Embedded static files: the stylesheet, htmx (vendored from npm's `htmx.org` 2.0.11, BSD-0
/// licensed, see `static/htmx.LICENSE`) and the portal's own script. Nothing comes from a CDN.
pub const STATIC_FILES: &[(&str, &str, &str)] = &[
    ("socle.css", "text/css; charset=utf-8", include_str!("../../static/socle.css")),
    ("htmx.min.js", "text/javascript; charset=utf-8", include_str!("../../static/htmx.min.js")),
    ("socle.js", "text/javascript; charset=utf-8", include_str!("../../static/socle.js")),
];

/// The static files gzipped once, at first use (a third of their size: what a phone on a slow
/// network downloads).
fn gzipped(index: usize) -> &'static [u8] {
    static GZIPPED: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let all = GZIPPED.get_or_init(|| {
        STATIC_FILES
            .iter()
            .map(|(_, _, body)| {
                use std::io::Write as _;
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                // Writing to memory cannot fail.
                let _ = encoder.write_all(body.as_bytes());
                encoder.finish().unwrap_or_default()
            })
            .collect()
    });
    &all[index]
}

/// Whether `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else { return false };
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()).is_some_and(|q| q == 0.0));
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

async fn static_file(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (index, (_, content_type, body)) = STATIC_FILES
        .iter()
        .enumerate()
        .find(|(_, (name, _, _))| *name == file)
        .ok_or_else(|| ApiError::not_found("not_found", format!("no static file `{file}`")))?;
    let cache = (header::CACHE_CONTROL, "public, max-age=3600");
    let vary = (header::VARY, "accept-encoding");
    if accepts_gzip(&headers) {
        return Ok(([(header::CONTENT_TYPE, *content_type), cache, vary, (header::CONTENT_ENCODING, "gzip")], gzipped(index)).into_response());
    }
    Ok(([(header::CONTENT_TYPE, *content_type), cache, vary], *body).into_response())
}
