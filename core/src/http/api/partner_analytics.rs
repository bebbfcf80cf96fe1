//! Partner analytics (`/api/v1/partners/packages/{plugin}/analytics?days=30`): aggregates of one
//! of the publisher's plugins — installs and uninstalls per day, active tenants, versions in use,
//! error rate and p95 duration, downloads. Never a tenant's name; never another publisher's
//! plugin.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::partners::{Partner, owned};
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::json::Json;

pub fn router() -> Router<AppState> {
    Router::new().route("/partners/packages/{plugin}/analytics", get(show))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnalyticsQuery {
    #[serde(default)]
    pub(crate) days: Option<u32>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Partner(publisher): Partner,
    Path(plugin): Path<String>,
    Query(query): Query<AnalyticsQuery>,
) -> ApiResult<Json<Value>> {
    owned(&state, &publisher, &plugin).await?;
    let days = query.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(socle_tenants::ValidationError::new("days", "give a period of 1 to 366 days").into());
    }
    Ok(Json(json!({ "analytics": state.marketplace.plugin_analytics(&plugin, days).await? })))
}
