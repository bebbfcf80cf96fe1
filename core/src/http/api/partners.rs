//! The partner API (`/api/v1/partners`), on the platform host, authenticated by a publisher's
//! bearer token: signing keys and tokens, submitting packages (the validation report comes back
//! with the answer), the publisher's versions, yanking and deprecating, replying to reviews.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use base64::Engine as _;
use serde::Deserialize;
use socle_marketplace::package::PackageLimits;

use crate::http::error::{ApiError, ApiResult};
use crate::http::json::{Json, response};
use crate::http::partner::{PartnerCall, failed};
use crate::http::state::AppState;
use crate::marketplace::publish::Report;
use crate::marketplace::publishers::{Account, PublishedVersion};
use crate::marketplace::store::{Publisher, PublisherKey};

/// Header carrying the detached signature (base64 of the `.socle.sig` JSON).
pub const SIGNATURE_HEADER: &str = "x-socle-signature";

pub fn router() -> Router<AppState> {
    let limit = usize::try_from(PackageLimits::default().max_archive_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/partners/me", get(me))
        .route("/partners/keys", post(add_key))
        .route("/partners/keys/{key_id}", delete(revoke_key))
        .route("/partners/tokens", post(add_token))
        .route("/partners/tokens/{id}", delete(revoke_token))
        .route("/partners/packages", get(versions).post(submit).layer(DefaultBodyLimit::max(limit)))
        .route("/partners/packages/{plugin}/deprecate", post(deprecate))
        .route("/partners/packages/{plugin}/{version}/yank", post(yank))
        .route("/partners/packages/{plugin}/{version}/unyank", post(unyank))
        .route("/partners/packages/{plugin}/reviews/{review}/reply", post(reply))
}

async fn me(PartnerCall { state, publisher }: PartnerCall) -> ApiResult<Json<Account>> {
    Ok(Json(state.marketplace.publisher_account(&publisher).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyRequest {
    public_key: String,
}

response!(
    #[doc = "A signing key just added."]
    KeyAdded { key: PublisherKey }
);

async fn add_key(PartnerCall { state, publisher }: PartnerCall, Json(body): Json<KeyRequest>) -> ApiResult<(StatusCode, Json<KeyAdded>)> {
    let key = state.marketplace.add_publisher_key(&publisher.id, &body.public_key).await.map_err(failed)?;
    Ok((StatusCode::CREATED, Json(KeyAdded { key })))
}

async fn revoke_key(PartnerCall { state, publisher }: PartnerCall, Path(key_id): Path<String>) -> ApiResult<StatusCode> {
    state.marketplace.revoke_publisher_key(&publisher.id, &key_id).await.map_err(failed)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    name: String,
}

response!(#[doc = "A publisher token just created, in clear this once."] TokenAdded { token: String, note: &'static str });

async fn add_token(PartnerCall { state, publisher }: PartnerCall, Json(body): Json<TokenRequest>) -> ApiResult<(StatusCode, Json<TokenAdded>)> {
    let token = state.marketplace.add_publisher_token(&publisher.id, &body.name).await.map_err(failed)?;
    Ok((StatusCode::CREATED, Json(TokenAdded { token, note: "shown once: store it now" })))
}

async fn revoke_token(PartnerCall { state, publisher }: PartnerCall, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if !state.marketplace.store().revoke_token(&publisher.id, &id).await? {
        return Err(ApiError::not_found("token_not_found", format!("publisher {} has no live token {id}", publisher.id)));
    }
    Ok(StatusCode::NO_CONTENT)
}

response!(
    #[doc = "The validation report of a submitted package."]
    Submitted { report: Report }
);

/// Submits a package: the body is the `.socle` archive, the signature rides in a header. The
/// answer is the validation report: 201 when it passed (in review or listed), 422 when a check
/// failed (the report says which and what to fix).
async fn submit(PartnerCall { state, publisher }: PartnerCall, headers: HeaderMap, body: Bytes) -> ApiResult<(StatusCode, Json<Submitted>)> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or_else(|| {
            socle_tenants::ValidationError::new(
                "signature",
                format!("send the `.socle.sig` file, base64-encoded, in the `{SIGNATURE_HEADER}` header (`socle plugin publish` does)"),
            )
        })?;
    let report = state.marketplace.submit(&publisher, &body, &signature).await?;
    let status = if report.failure().is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::CREATED };
    Ok((status, Json(Submitted { report })))
}

response!(#[doc = "The publisher's versions, newest first."] Versions { versions: Vec<PublishedVersion> });

async fn versions(PartnerCall { state, publisher }: PartnerCall) -> ApiResult<Json<Versions>> {
    Ok(Json(Versions { versions: state.marketplace.published_versions(&publisher).await? }))
}

/// Another publisher's plugin looks exactly like a missing one.
pub(super) async fn owned(state: &AppState, publisher: &Publisher, plugin: &str) -> ApiResult<()> {
    if state.marketplace.publishes(publisher, plugin).await? {
        Ok(())
    } else {
        Err(ApiError::not_found("plugin_not_found", format!("publisher {} has no plugin `{plugin}`", publisher.id)))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageRequest {
    #[serde(default)]
    message: Option<String>,
}

fn message(body: &MessageRequest, required: bool) -> ApiResult<Option<String>> {
    match body.message.as_deref().map(str::trim) {
        Some(m) if m.len() > 500 => Err(socle_tenants::ValidationError::new("message", "at most 500 characters").into()),
        Some(m) if !m.is_empty() => Ok(Some(m.to_owned())),
        _ if required => Err(socle_tenants::ValidationError::new("message", "say why, for the tenants that have it installed").into()),
        _ => Ok(None),
    }
}

async fn yank(
    PartnerCall { state, publisher }: PartnerCall,
    Path((plugin, version)): Path<(String, String)>,
    Json(body): Json<MessageRequest>,
) -> ApiResult<StatusCode> {
    set_yanked(&state, &publisher, &plugin, &version, message(&body, true)?.as_deref()).await
}

async fn unyank(PartnerCall { state, publisher }: PartnerCall, Path((plugin, version)): Path<(String, String)>) -> ApiResult<StatusCode> {
    set_yanked(&state, &publisher, &plugin, &version, None).await
}

/// Yanks a version of the publisher's plugin (with why), or puts it back (`None`).
async fn set_yanked(state: &AppState, publisher: &Publisher, plugin: &str, version: &str, why: Option<&str>) -> ApiResult<StatusCode> {
    owned(state, publisher, plugin).await?;
    if !state.marketplace.store().set_yanked(plugin, version, why).await? {
        return Err(ApiError::not_found("version_not_found", format!("{plugin} has no version {version}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn deprecate(PartnerCall { state, publisher }: PartnerCall, Path(plugin): Path<String>, Json(body): Json<MessageRequest>) -> ApiResult<StatusCode> {
    owned(&state, &publisher, &plugin).await?;
    state.marketplace.store().set_deprecated(&plugin, message(&body, false)?.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyRequest {
    reply: String,
}

async fn reply(
    PartnerCall { state, publisher }: PartnerCall,
    Path((plugin, review)): Path<(String, i64)>,
    Json(body): Json<ReplyRequest>,
) -> ApiResult<StatusCode> {
    owned(&state, &publisher, &plugin).await?;
    if body.reply.trim().is_empty() || body.reply.len() > 2000 {
        return Err(socle_tenants::ValidationError::new("reply", "a reply has 1 to 2000 characters").into());
    }
    if !state.marketplace.store().reply(&plugin, review, body.reply.trim()).await? {
        return Err(ApiError::not_found("review_not_found", format!("{plugin} has no review {review}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
