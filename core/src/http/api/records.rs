//! `/api/v1/collections`, `/api/v1/records`, `/api/v1/search`, `/api/v1/files`: the records
//! engine over HTTP. Optimistic concurrency with `ETag` / `If-Match` (`"v<version>"`).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as UrlQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value};
use socle_marketplace::schema::CollectionDef;
use socle_tenants::Permission;
use uuid::Uuid;

use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Api;
use crate::http::extract::parse_id;
use crate::http::json::{Json, response};
use crate::http::state::AppState;
use crate::records::engine::{BulkOp, BulkResult};
use crate::records::{Filter, HistoryEntry, LinkView, Op, Page, Query, Record, RecordError, RecordRef, SearchHit, Sort};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections", get(collections))
        .route("/collections/{name}", get(collection))
        .route("/records/{collection}", get(list).post(create))
        .route("/records/{collection}/query", post(query))
        .route("/records/{collection}/bulk", post(bulk))
        .route("/records/{collection}/export.csv", get(export))
        .route("/records/{collection}/{id}", get(show).patch(update).delete(remove))
        .route("/records/{collection}/{id}/transitions/{name}", post(transition))
        .route("/records/{collection}/{id}/history", get(history))
        .route("/records/{collection}/{id}/links", get(links).post(link).delete(unlink))
        .route("/search", get(search))
        .route("/files", post(upload))
        .route("/files/{id}", get(download))
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"v{version}\"")).unwrap_or_else(|_| HeaderValue::from_static("\"v0\""))
}

/// Reads `If-Match: "v3"` (also `W/"v3"` and `3`).
fn if_match(headers: &HeaderMap) -> ApiResult<Option<i64>> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or("").trim().trim_start_matches("W/").trim_matches('"');
    let digits = text.strip_prefix('v').unwrap_or(text);
    digits.parse().map(Some).map_err(|_| ApiError::bad_request("invalid_if_match", "If-Match must be the record's ETag, like \"v3\""))
}

fn record_response(status: StatusCode, record: Record) -> Response {
    let tag = etag(record.version);
    (status, [(header::ETAG, tag)], Json(record)).into_response()
}

/// A conflict on a conditional request is a failed precondition.
fn conditional(err: RecordError, conditional: bool) -> ApiError {
    match err {
        e @ RecordError::Conflict { .. } if conditional => ApiError::new(StatusCode::PRECONDITION_FAILED, "precondition_failed", e.to_string()),
        other => other.into(),
    }
}

response!(#[doc = "The collections the caller may read."] Collections { collections: Vec<CollectionDef> });

async fn collections(Api { state, auth }: Api) -> ApiResult<Json<Collections>> {
    let collections = state.records.collections(&auth.caller()).await?;
    Ok(Json(Collections { collections }))
}

response!(
    #[doc = "One collection, with the fields the caller may read."]
    Collection { collection: CollectionDef }
);

async fn collection(Api { state, auth }: Api, Path(name): Path<String>) -> ApiResult<Json<Collection>> {
    Ok(Json(Collection { collection: state.records.collection(&auth.caller(), &name).await? }))
}

/// `?filter[status]=ouvert&filter[amount][gte]=100&filter[tags][in]=a,b&sort=-updated_at&limit=20&cursor=…&count=true`
fn url_query(params: &BTreeMap<String, String>) -> ApiResult<Query> {
    let mut query = Query::default();
    for (key, value) in params {
        if let Some(rest) = key.strip_prefix("filter[") {
            let (field, op) = match rest.split_once("][") {
                Some((field, op)) => (field, op.trim_end_matches(']')),
                None => (rest.trim_end_matches(']'), "eq"),
            };
            let op = Op::parse(op).ok_or_else(|| {
                ApiError::bad_request("invalid_filter", format!("`{op}` is not an operator (eq, ne, lt, lte, gt, gte, in, contains, is_null)"))
            })?;
            let value = match op {
                Op::In => Value::Array(value.split(',').map(|v| Value::String(v.trim().to_owned())).collect()),
                Op::IsNull => Value::Bool(value != "false"),
                _ => Value::String(value.clone()),
            };
            query.filters.push(Filter { field: field.to_owned(), op, value });
        } else {
            match key.as_str() {
                "sort" => query.sort = Some(Sort::parse(value)),
                "limit" => query.limit = Some(value.parse().map_err(|_| ApiError::bad_request("invalid_limit", "limit must be a number from 1 to 500"))?),
                "cursor" => query.cursor = Some(value.clone()),
                "count" => query.count = value == "true" || value == "1",
                "q" => query.search = Some(value.chars().take(200).collect()),
                other => return Err(ApiError::bad_request("unknown_parameter", format!("unknown query parameter `{other}`"))),
            }
        }
    }
    Ok(query)
}

async fn list(Api { state, auth }: Api, Path(collection): Path<String>, UrlQuery(params): UrlQuery<BTreeMap<String, String>>) -> ApiResult<Json<Page>> {
    let query = url_query(&params)?;
    Ok(Json(state.records.query(&auth.caller(), &collection, &query).await?))
}

async fn query(Api { state, auth }: Api, Path(collection): Path<String>, Json(query): Json<Query>) -> ApiResult<Json<Page>> {
    Ok(Json(state.records.query(&auth.caller(), &collection, &query).await?))
}

fn object(value: Value) -> ApiResult<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request("invalid_body", "the body must be a JSON object of field values")),
    }
}

async fn create(Api { state, auth }: Api, Path(collection): Path<String>, Json(body): Json<Value>) -> ApiResult<Response> {
    let record = state.records.create(&auth.caller(), &collection, object(body)?).await?;
    let location = auth.tenant.link(&format!("/api/v1/records/{}/{}", record.collection, record.id));
    let mut response = record_response(StatusCode::CREATED, record);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn show(Api { state, auth }: Api, Path((collection, id)): Path<(String, String)>, headers: HeaderMap) -> ApiResult<Response> {
    let record = state.records.get(&auth.caller(), RecordRef::new(&collection, parse_id(&id, "record")?)).await?;
    let tag = etag(record.version);
    if headers.get(header::IF_NONE_MATCH) == Some(&tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(record_response(StatusCode::OK, record))
}

async fn update(Api { state, auth }: Api, Path((collection, id)): Path<(String, String)>, headers: HeaderMap, Json(body): Json<Value>) -> ApiResult<Response> {
    let expected = if_match(&headers)?;
    let at = RecordRef::new(&collection, parse_id(&id, "record")?);
    let updated = state.records.update(&auth.caller(), at, object(body)?, expected).await.map_err(|e| conditional(e, expected.is_some()))?;
    Ok(record_response(StatusCode::OK, updated))
}

async fn remove(Api { state, auth }: Api, Path((collection, id)): Path<(String, String)>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let expected = if_match(&headers)?;
    let at = RecordRef::new(&collection, parse_id(&id, "record")?);
    state.records.delete(&auth.caller(), at, expected).await.map_err(|e| conditional(e, expected.is_some()))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn transition(Api { state, auth }: Api, Path((collection, id, name)): Path<(String, String, String)>, headers: HeaderMap) -> ApiResult<Response> {
    let expected = if_match(&headers)?;
    let at = RecordRef::new(&collection, parse_id(&id, "record")?);
    let moved = state.records.transition(&auth.caller(), at, &name, expected).await.map_err(|e| conditional(e, expected.is_some()))?;
    Ok(record_response(StatusCode::OK, moved))
}

#[derive(Debug, Deserialize)]
struct HistoryParams {
    before: Option<i64>,
    limit: Option<i64>,
}

response!(#[doc = "A record's history, newest first."] History { entries: Vec<HistoryEntry> });

async fn history(
    Api { state, auth }: Api,
    Path((collection, id)): Path<(String, String)>,
    UrlQuery(params): UrlQuery<HistoryParams>,
) -> ApiResult<Json<History>> {
    let at = RecordRef::new(&collection, parse_id(&id, "record")?);
    let entries = state.records.history(&auth.caller(), at, params.before, params.limit.unwrap_or(50)).await?;
    Ok(Json(History { entries }))
}

response!(#[doc = "A record's links and references, both ways."] Links { links: Vec<LinkView> });

async fn links(Api { state, auth }: Api, Path((collection, id)): Path<(String, String)>) -> ApiResult<Json<Links>> {
    let at = RecordRef::new(&collection, parse_id(&id, "record")?);
    Ok(Json(Links { links: state.records.links(&auth.caller(), at).await? }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    to: Uuid,
    #[serde(default = "related")]
    kind: String,
}

fn related() -> String {
    "related".into()
}

response!(
    #[doc = "A link that now exists."]
    Linked { linked: bool }
);

async fn link(Api { state, auth }: Api, Path((collection, id)): Path<(String, String)>, Json(body): Json<LinkRequest>) -> ApiResult<Response> {
    let at = RecordRef::new(&collection, parse_id(&id, "record")?);
    let added = state.records.link(&auth.caller(), at, body.to, &body.kind, true).await?;
    Ok((if added { StatusCode::CREATED } else { StatusCode::OK }, Json(Linked { linked: true })).into_response())
}

async fn unlink(Api { state, auth }: Api, Path((collection, id)): Path<(String, String)>, Json(body): Json<LinkRequest>) -> ApiResult<StatusCode> {
    let at = RecordRef::new(&collection, parse_id(&id, "record")?);
    if state.records.link(&auth.caller(), at, body.to, &body.kind, false).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("not_found", "no such link"))
    }
}

#[derive(Debug, Deserialize)]
struct BulkRequest {
    ids: Vec<Uuid>,
    #[serde(flatten)]
    op: BulkOp,
}

response!(#[doc = "The outcome of a bulk operation: one result per record, and the tallies."] Bulk { results: Vec<BulkResult>, succeeded: usize, failed: usize });

async fn bulk(Api { state, auth }: Api, Path(collection): Path<String>, Json(body): Json<Value>) -> ApiResult<Json<Bulk>> {
    let request: BulkRequest = serde_json::from_value(body).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", e.to_string()))?;
    let results = state.records.bulk(&auth.caller(), &collection, &request.ids, &request.op).await?;
    let failed = results.iter().filter(|r| !r.ok).count();
    Ok(Json(Bulk { succeeded: results.len() - failed, failed, results }))
}

/// CSV of the records matching the query (up to 10 000), with the fields the caller may read.
async fn export(Api { state, auth }: Api, Path(collection): Path<String>, UrlQuery(params): UrlQuery<BTreeMap<String, String>>) -> ApiResult<Response> {
    auth.require(&state, Permission::Exporter).await?;
    let caller = auth.caller();
    let definition = state.records.collection(&caller, &collection).await?;
    let mut query = url_query(&params)?;
    query.limit = Some(500);
    let mut out = String::new();
    let columns: Vec<&str> = definition.fields.iter().map(|f| f.name.as_str()).collect();
    out.push_str(&csv_row(std::iter::once("id").chain(columns.iter().copied()).map(str::to_owned)));
    let mut exported = 0;
    loop {
        let page = state.records.query(&caller, &collection, &query).await?;
        for record in &page.items {
            let cells = std::iter::once(record.id.to_string()).chain(columns.iter().map(|c| cell(record.data.get(*c))));
            out.push_str(&csv_row(cells));
        }
        exported += page.items.len();
        match page.next_cursor {
            Some(cursor) if exported < 10_000 => query.cursor = Some(cursor),
            _ => break,
        }
    }
    let disposition = format!("attachment; filename=\"{}.csv\"", collection.replace('.', "-"));
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], out).into_response())
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) if m.contains_key("amount") => {
            let amount = m.get("amount").and_then(Value::as_i64).unwrap_or(0);
            format!("{}.{:02}", amount / 100, (amount % 100).abs())
        }
        Some(Value::Object(m)) => m.get("name").and_then(Value::as_str).unwrap_or("").to_owned(),
        Some(Value::Array(items)) => items.iter().map(|v| cell(Some(v))).collect::<Vec<_>>().join("|"),
        Some(other) => other.to_string(),
    }
}

fn csv_row(cells: impl Iterator<Item = String>) -> String {
    let mut row: Vec<String> = cells
        .map(|c| {
            // Cells starting like a formula are neutralised (CSV injection in spreadsheets).
            let c = if c.starts_with(['=', '+', '-', '@']) { format!("'{c}") } else { c };
            if c.contains([',', '"', '\n', '\r']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c }
        })
        .collect();
    row.push(String::new());
    let mut line = row.join(",");
    line.pop();
    line.push_str("\r\n");
    line
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    q: String,
    limit: Option<usize>,
}

response!(#[doc = "Search hits among the records the caller may read."] Hits { hits: Vec<SearchHit> });

async fn search(Api { state, auth }: Api, UrlQuery(params): UrlQuery<SearchParams>) -> ApiResult<Json<Hits>> {
    if params.q.len() > 200 {
        return Err(ApiError::bad_request("query_too_long", "search for at most 200 characters"));
    }
    let hits = state.records.search(&auth.caller(), &params.q, params.limit.unwrap_or(20)).await?;
    Ok(Json(Hits { hits }))
}

/// Uploads a file (raw body; `Content-Type` and `X-File-Name` headers); returns the value to put
/// in a file field.
async fn upload(Api { state, auth }: Api, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream");
    let name = headers.get("x-file-name").and_then(|v| v.to_str().ok()).map(percent_decode).unwrap_or_else(|| "fichier".into());
    if body.is_empty() {
        return Err(socle_tenants::ValidationError::new("file", "the file is empty").into());
    }
    let file = state.records.upload(&auth.caller(), &name, content_type, &body).await?;
    let value = file.field_value();
    Ok((StatusCode::CREATED, Json(value)).into_response())
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("n={}", text.replace('+', "%2B")).as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

async fn download(Api { state, auth }: Api, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "file")?;
    let (file, bytes) = state.records.download(&auth.caller(), id).await?;
    // Served as an attachment with the sniffing-proof headers: uploads are untrusted content.
    let disposition = format!("attachment; filename=\"{}\"", file.name.replace(['"', '\\'], "_"));
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
