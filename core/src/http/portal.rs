//! The tenant portal's home page, branding images and the theme stylesheet (the record screens
//! and the admin console are in [`super::ui`]).

use axum::Router;
use axum::extract::{FromRequestParts as _, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Serialize;
use socle_tenants::AssetKind;

use super::extract::{PageUser, Tenant};
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::tenancy::TenantContext;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/theme.css", get(theme_css))
        .route("/branding/logo", get(|s, t, h| branding(s, t, h, AssetKind::Logo)))
        .route("/branding/favicon", get(|s, t, h| branding(s, t, h, AssetKind::Favicon)))
}

#[derive(Serialize)]
struct HomeData {
    home: bool,
    widgets: Vec<super::ui::records::home::WidgetView>,
}

/// The home page: the widgets of the person's workspace (the navigation's groups as tiles when
/// nothing declares any for them).
async fn home(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    if request.extensions().get::<TenantContext>().is_none() {
        // The bare platform host: the operator console.
        return Ok(Redirect::to("/ops").into_response());
    }
    let (mut parts, _) = request.into_parts();
    let PageUser(auth) = match PageUser::from_request_parts(&mut parts, &state).await {
        Ok(user) => user,
        Err(redirect) => return Ok(redirect),
    };
    let widgets = super::ui::records::home::widgets(&state, &auth).await?;
    let shell = super::ui::shell::shell(&state, &auth, "").await?;
    let data = HomeData { home: true, widgets };
    Ok(state.templates.render("home.html", super::ui::shell::page(&auth, shell, data)))
}

async fn theme_css(Tenant(ctx): Tenant) -> Response {
    let css = format!(":root {{ {} }}\n", ctx.tenant.theme.css_variables());
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=300")], css).into_response()
}

async fn branding(State(state): State<AppState>, Tenant(ctx): Tenant, headers: HeaderMap, kind: AssetKind) -> Result<Response, ApiError> {
    let asset = state
        .tenants
        .asset(ctx.tenant.id, kind)
        .await?
        .ok_or_else(|| ApiError::not_found("asset_not_found", format!("this tenant has no {}", kind.as_str())))?;
    let etag = format!("\"{}\"", asset.sha256);
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
            // An SVG opened directly must not run scripts.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; sandbox".to_owned()),
        ],
        asset.bytes,
    )
        .into_response())
}
