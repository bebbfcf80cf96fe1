//! Tenant administration of the machinery behind records: dead-lettered jobs (and retrying
//! them), the mail outbox and mail template overrides, and the tenant's own collections.

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::Value;
use socle_marketplace::schema::{CollectionDef, SchemaFile};
use socle_tenants::{Locale, Permission};

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Api;
use crate::http::extract::parse_id;
use crate::http::json::{Json, response};
use crate::http::state::AppState;
use crate::jobs::Job;
use crate::mail::{Mail, TemplateText};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(jobs))
        .route("/jobs/{id}/retry", post(retry))
        .route("/mails", get(mails))
        .route("/mail-templates/{key}/{locale}", put(set_template).delete(reset_template))
        .route("/collections", post(define))
        .route("/collections/{name}", delete(undefine))
}

#[derive(Debug, Deserialize)]
struct JobParams {
    status: Option<String>,
    limit: Option<i64>,
}

response!(#[doc = "The tenant's jobs in one status."] Jobs { jobs: Vec<Job> });

async fn jobs(Api { state, auth }: Api, Query(params): Query<JobParams>) -> ApiResult<Json<Jobs>> {
    auth.require(&state, Permission::Administrer).await?;
    let status = params.status.unwrap_or_else(|| "dead".into());
    if !["queued", "running", "done", "dead"].contains(&status.as_str()) {
        return Err(socle_tenants::ValidationError::new("status", "use queued, running, done or dead").into());
    }
    let jobs = state.jobs.list(auth.tenant.tenant.id, &status, params.limit.unwrap_or(50).clamp(1, 500)).await?;
    Ok(Json(Jobs { jobs }))
}

response!(
    #[doc = "A dead job queued again."]
    Retried { retried: bool }
);

async fn retry(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<Json<Retried>> {
    auth.require(&state, Permission::Administrer).await?;
    let id = parse_id(&id, "job")?;
    if state.jobs.retry(auth.tenant.tenant.id, id, state.now_ms()).await? {
        Ok(Json(Retried { retried: true }))
    } else {
        Err(ApiError::not_found("job_not_found", format!("no dead job {id} in this tenant")))
    }
}

response!(#[doc = "The tenant's latest mails in the outbox."] Mails { mails: Vec<Mail> });

async fn mails(Api { state, auth }: Api) -> ApiResult<Json<Mails>> {
    auth.require(&state, Permission::Administrer).await?;
    Ok(Json(Mails { mails: state.mailer.store().list(auth.tenant.tenant.id, 100).await? }))
}

fn template_key(state_key: &str, locale: &str) -> ApiResult<(String, Locale)> {
    if !crate::mail::built_in_keys().any(|k| k == state_key) {
        let keys: Vec<&str> = crate::mail::built_in_keys().collect();
        return Err(ApiError::not_found("template_not_found", format!("no mail template `{state_key}` (templates: {})", keys.join(", "))));
    }
    Ok((state_key.to_owned(), locale.parse()?))
}

response!(
    #[doc = "A mail template override stored for one locale."]
    TemplateSet { template: String, locale: Locale }
);

async fn set_template(Api { state, auth }: Api, Path((key, locale)): Path<(String, String)>, Json(body): Json<TemplateText>) -> ApiResult<Json<TemplateSet>> {
    auth.require(&state, Permission::Administrer).await?;
    let (key, locale) = template_key(&key, &locale)?;
    for (field, text) in [("subject", &body.subject), ("text", &body.text), ("html", &body.html)] {
        if text.len() > 50_000 {
            return Err(socle_tenants::ValidationError::new(field, "at most 50 000 characters").into());
        }
    }
    // Refuse templates that do not render, with the error, before storing them.
    let tenant = &auth.tenant.tenant;
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(50_000));
    for (field, text) in [("subject", &body.subject), ("text", &body.text), ("html", &body.html)] {
        env.template_from_str(text).map_err(|e| socle_tenants::ValidationError::new(field, e.to_string()))?;
    }
    state.mailer.store().set_template_override(tenant.id, &key, locale, Some(&body)).await?;
    Ok(Json(TemplateSet { template: key, locale }))
}

async fn reset_template(Api { state, auth }: Api, Path((key, locale)): Path<(String, String)>) -> ApiResult<StatusCode> {
    auth.require(&state, Permission::Administrer).await?;
    let (key, locale) = template_key(&key, &locale)?;
    state.mailer.store().set_template_override(auth.tenant.tenant.id, &key, locale, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

response!(
    #[doc = "A collection of the tenant's own, as defined."]
    Defined { collection: CollectionDef }
);

/// Defines (or redefines) one of the tenant's own collections, in the schema format. Its name
/// must start with `custom.`.
async fn define(Api { state, auth }: Api, Json(body): Json<Value>) -> ApiResult<Response> {
    auth.require(&state, Permission::Administrer).await?;
    let definition: CollectionDef =
        serde_json::from_value(body).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_schema", e.to_string()))?;
    if !definition.name.starts_with("custom.") {
        return Err(socle_tenants::ValidationError::new("name", "a tenant's own collections are named `custom.<name>`").into());
    }
    definition.validate().map_err(|e| socle_tenants::ValidationError::new(e.path, e.message))?;
    let file = SchemaFile { collections: vec![definition.clone()], extensions: Vec::new() };
    let source = format!("custom:{}", definition.name);
    state.records.registry.install(auth.tenant.tenant.id, &source, &file, &auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(Defined { collection: definition })).into_response())
}

async fn undefine(Api { state, auth }: Api, Path(name): Path<String>) -> ApiResult<StatusCode> {
    auth.require(&state, Permission::Administrer).await?;
    if state.records.registry.uninstall(auth.tenant.tenant.id, &format!("custom:{name}"), &auth.actor()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("collection_not_found", format!("the tenant has no collection `{name}` of its own")))
    }
}
