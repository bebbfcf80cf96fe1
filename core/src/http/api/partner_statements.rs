//! A partner's monthly statements (`/api/v1/partners/statements/{YYYY-MM}`, and `…/csv`): what
//! tenants paid for its plugins, the platform's commission and resellers' shares, in cents. Only
//! the publisher's own ledger entries; never a tenant's name.

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use socle_marketplace::billing::Statement;

use crate::http::error::ApiResult;
use crate::http::json::Json;
use crate::http::partner::PartnerCall;
use crate::http::state::AppState;
use crate::marketplace::billing;

pub fn router() -> Router<AppState> {
    Router::new().route("/partners/statements/{period}", get(show)).route("/partners/statements/{period}/csv", get(csv))
}

#[derive(Debug, Serialize)]
struct StatementResponse {
    statement: Statement,
}

async fn show(PartnerCall { state, publisher }: PartnerCall, Path(period): Path<String>) -> ApiResult<Json<StatementResponse>> {
    billing::check_period(&period)?;
    Ok(Json(StatementResponse { statement: state.marketplace.statement(&publisher.id, &period).await? }))
}

async fn csv(PartnerCall { state, publisher }: PartnerCall, Path(period): Path<String>) -> ApiResult<Response> {
    billing::check_period(&period)?;
    let statement = state.marketplace.statement(&publisher.id, &period).await?;
    let filename = format!("{}-{period}.csv", publisher.id);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))],
        socle_marketplace::billing::to_csv(&statement),
    )
        .into_response())
}
