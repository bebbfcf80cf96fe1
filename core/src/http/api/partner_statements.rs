//! A partner's monthly statements (`/api/v1/partners/statements/{YYYY-MM}`, and `…/csv`): what
//! tenants paid for its plugins, the platform's commission and resellers' shares, in cents. Only
//! the publisher's own ledger entries; never a tenant's name.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::partners::Partner;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::json::Json;
use crate::marketplace::billing;

pub fn router() -> Router<AppState> {
    Router::new().route("/partners/statements/{period}", get(show)).route("/partners/statements/{period}/csv", get(csv))
}

fn check(period: &str) -> ApiResult<()> {
    if billing::month_bounds(period).is_none() {
        return Err(socle_tenants::ValidationError::new("period", format!("`{period}` is not a month: write YYYY-MM, e.g. 2026-11")).into());
    }
    Ok(())
}

pub(crate) async fn show(State(state): State<AppState>, Partner(publisher): Partner, Path(period): Path<String>) -> ApiResult<Json<Value>> {
    check(&period)?;
    Ok(Json(json!({ "statement": state.marketplace.statement(&publisher.id, &period).await? })))
}

async fn csv(State(state): State<AppState>, Partner(publisher): Partner, Path(period): Path<String>) -> ApiResult<Response> {
    check(&period)?;
    let statement = state.marketplace.statement(&publisher.id, &period).await?;
    let filename = format!("{}-{period}.csv", publisher.id);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))],
        socle_marketplace::billing::to_csv(&statement),
    )
        .into_response())
}
