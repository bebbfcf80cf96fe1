//! `/openapi.json`: an OpenAPI 3.1 description of the JSON API. On a tenant's host, with a
//! session, each collection the caller may read gets its own schema (only the fields they may
//! read); otherwise the core's collections are described.

use axum::Router;
use axum::extract::{FromRequestParts as _, Request, State};
use axum::routing::get;
use serde_json::{Map, Value, json};
use socle_marketplace::schema::{CollectionDef, FieldDef, FieldType};

use super::extract::ApiUser;
use super::json::Json;
use crate::http::error::ApiResult;
use crate::http::state::AppState;
use crate::records::registry::core_schema;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

async fn openapi(State(state): State<AppState>, request: Request) -> ApiResult<Json<Value>> {
    let (mut parts, _) = request.into_parts();
    let collections = match ApiUser::from_request_parts(&mut parts, &state).await {
        Ok(ApiUser(auth)) => state.records.collections(&auth.caller()).await?,
        Err(_) => core_schema().collections.clone(),
    };
    Ok(Json(document(&collections)))
}

fn field_schema(field: &FieldDef) -> Value {
    let one = match field.field_type {
        FieldType::Text => json!({ "type": "string", "maxLength": field.max_length.unwrap_or(10_000) }),
        FieldType::Number => {
            let mut s = json!({ "type": if field.decimals == Some(0) { "integer" } else { "number" } });
            if let Some(min) = field.min {
                s["minimum"] = json!(min);
            }
            if let Some(max) = field.max {
                s["maximum"] = json!(max);
            }
            s
        }
        FieldType::Money => json!({ "$ref": "#/components/schemas/Money" }),
        FieldType::Date => json!({ "type": "string", "format": "date" }),
        FieldType::Datetime => json!({ "type": "string", "format": "date-time" }),
        FieldType::Enum => json!({ "type": "string", "enum": field.values.iter().map(|v| v.key.clone()).collect::<Vec<_>>() }),
        FieldType::Bool => json!({ "type": "boolean" }),
        FieldType::Email => json!({ "type": "string", "format": "email" }),
        FieldType::Phone => json!({ "type": "string", "pattern": "^\\+[0-9]{8,15}$" }),
        FieldType::Reference => {
            json!({ "type": "string", "format": "uuid", "description": format!("id of a {} record", field.collection.as_deref().unwrap_or("")) })
        }
        FieldType::File => json!({ "$ref": "#/components/schemas/File" }),
    };
    let mut schema = if field.multiple { json!({ "type": "array", "items": one }) } else { one };
    schema["title"] = json!(field.label.get("fr"));
    if let Some(permission) = &field.read_permission {
        schema["description"] = json!(format!("present only for callers holding `{permission}`"));
    }
    schema
}

fn collection_schema(collection: &CollectionDef) -> Value {
    let properties: Map<String, Value> = collection.fields.iter().map(|f| (f.name.clone(), field_schema(f))).collect();
    let required: Vec<&str> = collection.fields.iter().filter(|f| f.required).map(|f| f.name.as_str()).collect();
    json!({ "type": "object", "title": collection.label.get("fr"), "properties": properties, "required": required, "additionalProperties": false })
}

/// The OpenAPI document for these collections.
pub fn document(collections: &[CollectionDef]) -> Value {
    let mut schemas = Map::new();
    schemas.insert("Money".into(), json!({ "type": "object", "properties": { "amount": { "type": "integer", "description": "minor units (cents)" }, "currency": { "type": "string", "pattern": "^[A-Z]{3}$" } }, "required": ["amount"] }));
    schemas.insert("File".into(), json!({ "type": "object", "properties": { "id": { "type": "string", "format": "uuid" }, "name": { "type": "string" }, "size": { "type": "integer" }, "content_type": { "type": "string" } }, "required": ["id"] }));
    schemas.insert(
        "Errors".into(),
        json!({ "type": "object", "properties": { "errors": { "type": "array", "items": { "type": "object", "properties": {
        "code": { "type": "string" }, "detail": { "type": "string" }, "field": { "type": "string" } }, "required": ["code", "detail"] } } } }),
    );
    schemas.insert("Query".into(), json!({ "type": "object", "properties": {
        "filters": { "type": "array", "items": { "type": "object", "properties": { "field": { "type": "string" }, "op": { "enum": ["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "is_null"] }, "value": {} }, "required": ["field", "value"] } },
        "sort": { "type": "object", "properties": { "field": { "type": "string" }, "desc": { "type": "boolean" } } },
        "limit": { "type": "integer", "minimum": 1, "maximum": 500 }, "cursor": { "type": "string" }, "count": { "type": "boolean" } } }));
    for collection in collections {
        schemas.insert(format!("collection.{}", collection.name), collection_schema(collection));
    }
    let names: Vec<&str> = collections.iter().map(|c| c.name.as_str()).collect();
    let collection_param = json!({ "name": "collection", "in": "path", "required": true, "schema": { "type": "string", "enum": names } });
    let id_param = json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } });
    let errors = json!({ "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Errors" } } } });
    let ok = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": { "type": "object" } } } });
    let if_match = json!({ "name": "If-Match", "in": "header", "required": false, "schema": { "type": "string" }, "description": "the record's ETag (\"v<version>\"): the change applies only to that version (412 otherwise)" });
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Socle API", "version": "1.0.0", "description": "Records, collections, search and administration of a Socle tenant. Authenticate with the portal session cookie; unsafe methods carry the session's CSRF token in X-CSRF-Token (from GET /api/v1/me)." },
        "servers": [{ "url": "/api/v1" }],
        "paths": {
            "/me": { "get": { "summary": "The current user, roles, permissions and CSRF token", "responses": { "200": ok("the user"), "401": errors } } },
            "/collections": { "get": { "summary": "Collections the caller may read", "responses": { "200": ok("collections") } } },
            "/records/{collection}": {
                "parameters": [collection_param],
                "get": { "summary": "Query records (filter[field][op]=value, sort=-field, limit, cursor, count)", "responses": { "200": ok("a page"), "422": errors } },
                "post": { "summary": "Create a record", "requestBody": { "content": { "application/json": { "schema": { "type": "object" } } } }, "responses": { "201": ok("the record, with ETag"), "403": errors, "422": errors } }
            },
            "/records/{collection}/query": { "parameters": [collection_param], "post": { "summary": "Query records with a JSON query", "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Query" } } } }, "responses": { "200": ok("a page"), "422": errors } } },
            "/records/{collection}/bulk": { "parameters": [collection_param], "post": { "summary": "Mass action: {ids, op: update|transition|delete, patch|name}", "responses": { "200": ok("one result per record") } } },
            "/records/{collection}/export.csv": { "parameters": [collection_param], "get": { "summary": "CSV export (needs `exporter`)", "responses": { "200": { "description": "CSV", "content": { "text/csv": {} } }, "403": errors } } },
            "/records/{collection}/{id}": {
                "parameters": [collection_param, id_param],
                "get": { "summary": "One record (ETag)", "responses": { "200": ok("the record"), "404": errors } },
                "patch": { "summary": "Change fields (null removes)", "parameters": [if_match], "responses": { "200": ok("the record"), "409": errors, "412": errors, "422": errors } },
                "delete": { "summary": "Delete", "parameters": [if_match], "responses": { "204": { "description": "deleted" }, "412": errors } }
            },
            "/records/{collection}/{id}/transitions/{name}": { "parameters": [collection_param, id_param, { "name": "name", "in": "path", "required": true, "schema": { "type": "string" } }], "post": { "summary": "Fire a workflow transition", "responses": { "200": ok("the record"), "403": errors, "422": errors } } },
            "/records/{collection}/{id}/history": { "parameters": [collection_param, id_param], "get": { "summary": "Field-level history, newest first", "responses": { "200": ok("entries") } } },
            "/records/{collection}/{id}/links": { "parameters": [collection_param, id_param], "get": { "summary": "Linked records, both ways", "responses": { "200": ok("links") } }, "post": { "summary": "Link {to, kind}", "responses": { "201": ok("linked") } }, "delete": { "summary": "Unlink {to, kind}", "responses": { "204": { "description": "unlinked" } } } },
            "/search": { "get": { "summary": "Full-text search across readable collections", "parameters": [{ "name": "q", "in": "query", "required": true, "schema": { "type": "string", "maxLength": 200 } }], "responses": { "200": ok("hits") } } },
            "/files": { "post": { "summary": "Upload a file (raw body, Content-Type, X-File-Name)", "responses": { "201": { "description": "the value for a file field", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/File" } } } } } } },
            "/files/{id}": { "parameters": [id_param], "get": { "summary": "Download a file", "responses": { "200": { "description": "the file" } } } },
            "/admin/users": { "get": { "summary": "Users (needs `administrer`)", "responses": { "200": ok("users") } }, "post": { "summary": "Create a user", "responses": { "201": ok("the user") } } },
            "/admin/roles": { "get": { "summary": "Roles and their permissions", "responses": { "200": ok("roles") } }, "post": { "summary": "Create a role", "responses": { "201": ok("roles") } } },
            "/admin/audit": { "get": { "summary": "The tenant's audit journal", "responses": { "200": ok("entries") } } },
            "/admin/jobs": { "get": { "summary": "Jobs by status (dead letters by default)", "responses": { "200": ok("jobs") } } },
            "/admin/collections": { "post": { "summary": "Define one of the tenant's own collections (schema format)", "responses": { "201": ok("the collection") } } }
        },
        "components": { "schemas": schemas }
    })
}
