//! Partner analytics (`/api/v1/partners/packages/{plugin}/analytics?days=30`): aggregates of one
//! of the publisher's plugins — installs and uninstalls per day, active tenants, versions in use,
//! error rate and p95 duration, downloads. Never a tenant's name; never another publisher's
//! plugin.

use axum::Router;
use axum::extract::{Path, Query};
use axum::routing::get;
use serde::Deserialize;
use serde::Serialize;

use super::partners::owned;
use crate::http::error::ApiResult;
use crate::http::json::Json;
use crate::http::partner::PartnerCall;
use crate::http::state::AppState;
use crate::marketplace::analytics::{Analytics, period_days};

pub fn router() -> Router<AppState> {
    Router::new().route("/partners/packages/{plugin}/analytics", get(show))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnalyticsQuery {
    #[serde(default)]
    days: Option<u32>,
}

#[derive(Debug, Serialize)]
struct AnalyticsResponse {
    analytics: Analytics,
}

async fn show(
    PartnerCall { state, publisher }: PartnerCall,
    Path(plugin): Path<String>,
    Query(query): Query<AnalyticsQuery>,
) -> ApiResult<Json<AnalyticsResponse>> {
    owned(&state, &publisher, &plugin).await?;
    let days = period_days(query.days)?;
    Ok(Json(AnalyticsResponse { analytics: state.marketplace.plugin_analytics(&plugin, days).await? }))
}
