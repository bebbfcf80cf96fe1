//! Progressive rollouts over HTTP: a partner starts, pauses, resumes and advances the rollout of
//! one of its versions (`/api/v1/partners/packages/{plugin}/{version}/rollout…`), and an
//! operator, on the platform host, lists rollouts and pulls the kill switch
//! (`/ops/marketplace/…`, with the operator session's CSRF token in `X-CSRF-Token`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::partners::owned;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::{Json, response};
use crate::http::ops::OperatorUser;
use crate::http::partner::PartnerCall;
use crate::http::state::AppState;
use crate::marketplace::rollout::{RollbackReport, RolloutError, StartOptions};
use crate::marketplace::store::Rollout;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partners/packages/{plugin}/{version}/rollout", get(show).post(start))
        .route("/partners/packages/{plugin}/{version}/rollout/pause", post(pause))
        .route("/partners/packages/{plugin}/{version}/rollout/resume", post(resume))
        .route("/partners/packages/{plugin}/{version}/rollout/advance", post(advance))
}

/// Operator routes (merged at the root, next to the operator console).
pub fn ops_router() -> Router<AppState> {
    Router::new().route("/ops/marketplace/rollouts", get(all)).route("/ops/marketplace/kill", post(kill))
}

fn failed(err: RolloutError) -> ApiError {
    match err {
        RolloutError::Invalid(message) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_rollout", message),
        RolloutError::NotFound(message) => ApiError::not_found("rollout_not_found", message),
        RolloutError::Conflict(message) => ApiError::conflict("rollout_conflict", message),
        RolloutError::Platform(err) => err.into(),
    }
}

response!(
    #[doc = "One version's rollout, as it stands after the request."]
    RolloutState { rollout: Rollout }
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    #[serde(default)]
    steps: Option<Vec<u8>>,
    #[serde(default)]
    threshold_points: Option<f64>,
    #[serde(default)]
    min_invocations: Option<i64>,
}

async fn start(
    PartnerCall { state, publisher }: PartnerCall,
    Path((plugin, version)): Path<(String, String)>,
    Json(body): Json<StartRequest>,
) -> ApiResult<(StatusCode, Json<RolloutState>)> {
    owned(&state, &publisher, &plugin).await?;
    let options = StartOptions { steps: body.steps, threshold_points: body.threshold_points, min_invocations: body.min_invocations };
    let rollout = state.marketplace.start_rollout(&plugin, &version, options).await.map_err(failed)?;
    Ok((StatusCode::CREATED, Json(RolloutState { rollout })))
}

async fn show(PartnerCall { state, publisher }: PartnerCall, Path((plugin, version)): Path<(String, String)>) -> ApiResult<Json<RolloutState>> {
    owned(&state, &publisher, &plugin).await?;
    let rollout = state.marketplace.rollout(&plugin, &version).await.map_err(failed)?;
    Ok(Json(RolloutState { rollout }))
}

async fn pause(PartnerCall { state, publisher }: PartnerCall, Path((plugin, version)): Path<(String, String)>) -> ApiResult<Json<RolloutState>> {
    owned(&state, &publisher, &plugin).await?;
    Ok(Json(RolloutState { rollout: state.marketplace.pause_rollout(&plugin, &version, true).await.map_err(failed)? }))
}

async fn resume(PartnerCall { state, publisher }: PartnerCall, Path((plugin, version)): Path<(String, String)>) -> ApiResult<Json<RolloutState>> {
    owned(&state, &publisher, &plugin).await?;
    Ok(Json(RolloutState { rollout: state.marketplace.pause_rollout(&plugin, &version, false).await.map_err(failed)? }))
}

async fn advance(PartnerCall { state, publisher }: PartnerCall, Path((plugin, version)): Path<(String, String)>) -> ApiResult<Json<RolloutState>> {
    owned(&state, &publisher, &plugin).await?;
    Ok(Json(RolloutState { rollout: state.marketplace.advance_rollout(&plugin, &version).await.map_err(failed)? }))
}

fn operator(op: Result<OperatorUser, Response>) -> ApiResult<OperatorUser> {
    op.map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in to the operator console (/ops/login) first"))
}

response!(#[doc = "Every rollout, on every plugin."] Rollouts { rollouts: Vec<Rollout> });

async fn all(State(state): State<AppState>, op: Result<OperatorUser, Response>) -> ApiResult<Json<Rollouts>> {
    operator(op)?;
    Ok(Json(Rollouts { rollouts: state.marketplace.store().rollouts(None).await? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KillRequest {
    plugin: String,
    version: String,
    reason: String,
}

response!(
    #[doc = "A pulled kill switch: the version (`plugin@version`) and what rolling tenants back did."]
    Killed { killed: String, report: RollbackReport }
);

/// The kill switch: yanks the version and rolls every tenant on it back.
async fn kill(State(state): State<AppState>, op: Result<OperatorUser, Response>, headers: HeaderMap, Json(body): Json<KillRequest>) -> ApiResult<Json<Killed>> {
    let op = operator(op)?;
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !crate::identity::secrets::constant_time_eq(sent, &op.session.csrf_token) {
        return Err(ApiError::forbidden("missing or wrong CSRF token (send the operator session's in X-CSRF-Token)").with_code("csrf_failed"));
    }
    let report = state.marketplace.kill(&body.plugin, &body.version, &body.reason).await.map_err(failed)?;
    tracing::warn!(operator = %op.operator.email, plugin.id = %body.plugin, plugin.version = %body.version, "kill switch pulled");
    Ok(Json(Killed { killed: format!("{}@{}", body.plugin, body.version), report }))
}
