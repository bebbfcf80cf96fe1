//! The request pipeline's own steps: tenant resolution, security headers, error envelopes for
//! errors produced by layers, request spans and metrics.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderValue};
use http::{StatusCode, Uri};
use serde::Serialize;
use tracing::Span;

use super::pages::{Brand, Page};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::i18n;
use crate::tenancy::Resolution;

/// Paths served the same on every host, before any tenant lookup.
fn is_platform_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/static/")
}

fn wants_html(headers: &http::HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// An error as a page for browsers, as the JSON envelope otherwise.
fn error_response(templates: &super::pages::Templates, html: bool, error: ApiError) -> Response {
    if !html {
        return error.into_response();
    }
    let locale = socle_tenants::Locale::Fr;
    error_page(templates, locale, Brand::platform(), error.status, i18n::text(locale, "error_title"), &error.detail, error.retry_after)
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    heading: &'a str,
    message: &'a str,
    user: Option<()>,
}

fn error_page(
    templates: &super::pages::Templates,
    locale: socle_tenants::Locale,
    brand: Brand,
    status: StatusCode,
    heading: &str,
    message: &str,
    retry_after: Option<u64>,
) -> Response {
    let mut response = templates.render("error.html", Page::new(locale, brand, String::new(), ErrorPage { heading, message, user: None }));
    *response.status_mut() = status;
    if let Some(secs) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// What a person reads for an error status on a tenant's page: a heading and a sentence in their
/// language, never the JSON envelope or an internal detail.
fn error_text(status: StatusCode, locale: socle_tenants::Locale) -> (&'static str, &'static str) {
    let key = match status.as_u16() {
        401 => "error_401",
        403 => "error_403",
        404 | 405 => "error_404",
        409 => "error_409",
        400 | 413 | 414 | 422 => "error_400",
        429 => "error_429",
        503 => "error_503",
        _ => "error_500",
    };
    (i18n::text(locale, &format!("{key}_title")), i18n::text(locale, key))
}

/// A browser navigating a tenant's pages (not the JSON API, not an htmx fragment) that meets an
/// error gets the tenant's branded error page in its language with a way back, instead of a JSON
/// body or an empty one.
async fn html_errors(templates: &super::pages::Templates, context: &crate::tenancy::TenantContext, api: bool, response: Response) -> Response {
    let status = response.status();
    if api || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/json"));
    let is_empty = response.headers().get(header::CONTENT_TYPE).is_none();
    if !is_json && !is_empty {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let locale = context.tenant.locale;
    let (heading, message) = error_text(status, locale);
    error_page(templates, locale, Brand::of(context), status, heading, message, retry_after)
}

/// Finds the request's tenant, refuses unknown and suspended ones, and strips a `/t/<slug>`
/// prefix so routing sees the same path either way.
pub async fn resolve_tenant(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_platform_path(&path) {
        return next.run(request).await;
    }
    let html = wants_html(request.headers());
    let host =
        request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned).or_else(|| request.uri().authority().map(|a| a.to_string()));
    let resolution = match state.resolver.resolve(host.as_deref(), &path).await {
        Ok(resolution) => resolution,
        Err(err) => return error_response(&state.templates, html, err.into()),
    };
    match resolution {
        Resolution::Platform => next.run(request).await,
        Resolution::Unknown(what) => {
            error_response(&state.templates, html, ApiError::not_found("tenant_not_found", format!("no tenant answers at `{what}`; check the address")))
        }
        Resolution::Tenant { context, path } => {
            if !context.tenant.is_active() {
                let locale = context.tenant.locale;
                return error_response(
                    &state.templates,
                    html,
                    ApiError::new(StatusCode::FORBIDDEN, "tenant_suspended", i18n::text(locale, "tenant_suspended")),
                );
            }
            Span::current().record("tenant", context.tenant.slug.as_str());
            if !context.base_path.is_empty() {
                let query = request.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
                match format!("{path}{query}").parse::<Uri>() {
                    Ok(uri) => *request.uri_mut() = uri,
                    Err(_) => return ApiError::bad_request("invalid_path", "the request path is not valid").into_response(),
                }
            }
            let api = path.starts_with("/api/") || request.headers().contains_key("hx-request") || !html;
            request.extensions_mut().insert(context.clone());
            let response = next.run(request).await;
            html_errors(&state.templates, &context, api, response).await
        }
    }
}

/// Headers every response carries: no sniffing, no framing, a strict content security policy.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; \
             frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        ),
    ];
    for (name, value) in defaults {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// Layers below the router answer some errors with plain text (body too large, timeout, CSRF
/// origin check); give them the JSON envelope like every other error.
pub async fn envelope_layer_errors(response: Response) -> Response {
    let is_plain = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_none_or(|ct| ct.starts_with("text/plain"));
    if !is_plain {
        return response;
    }
    let error = match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is larger than this server accepts")
        }
        StatusCode::SERVICE_UNAVAILABLE => ApiError::unavailable(),
        StatusCode::FORBIDDEN => ApiError::forbidden("cross-origin request refused (Origin / Sec-Fetch-Site check)").with_code("cross_origin_refused"),
        _ => return response,
    };
    error.into_response()
}

/// A panic becomes a logged 500 with the usual envelope; the server keeps running.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("unknown panic");
    ApiError::internal(&anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

/// The span every request's logs carry.
pub fn request_span(request: &Request<Body>) -> Span {
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.uri().path(),
        tenant = tracing::field::Empty,
    )
}

/// One log line per response.
pub fn log_response(response: &Response<Body>, latency: Duration, _span: &Span) {
    tracing::info!(status = response.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "response");
}

/// Prometheus counters and latency histogram per route template (never per raw path: bounded
/// cardinality).
pub async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route).record(started.elapsed().as_secs_f64());
    response
}
