//! Mass actions on the records selected in a list (or every record it matches): a transition, a
//! field set, a delete or a plugin's mass action, each record succeeding or failing on its own.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};
use socle_marketplace::schema::CollectionDef;

use super::list::{chosen_view, list_query, plugin_views};
use crate::http::error::ApiError;
use crate::http::extract::{Authenticated, parse_id};
use crate::http::state::AppState;
use crate::http::ui::fields;
use crate::http::ui::form::{FormPairs, UiForm};
use crate::http::ui::shell::{fragment, trigger};
use crate::records::engine::BulkOp;

#[derive(Debug, Serialize)]
struct MassResult {
    succeeded: usize,
    failed: Vec<String>,
    message: Option<String>,
}

/// Runs one operation on the selected records: a transition, a field set, a delete or a plugin's
/// mass action. Each record succeeds or fails on its own; the user sees which failed and why.
pub(super) async fn mass(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    UiForm { auth, form, headers: _ }: UiForm,
) -> Result<Response, ApiError> {
    let caller = auth.caller();
    let def = state.records.collection(&caller, &collection).await?;
    let raw_ids = match form.get("all_matching") {
        Some(list_params) => matching_ids(&state, &auth, &def, list_params).await?,
        None => form.all("ids"),
    };
    if raw_ids.is_empty() || raw_ids.len() > MASS_LIMIT {
        return Err(socle_tenants::ValidationError::new("ids", format!("select 1 to {MASS_LIMIT} records")).into());
    }
    let ids = raw_ids.iter().map(|id| parse_id(id, "record")).collect::<Result<Vec<_>, _>>()?;
    let operation = form.get("op").unwrap_or("");
    let result = if let Some(action) = operation.strip_prefix("action:") {
        let (plugin, name) = action.split_once('/').ok_or_else(|| ApiError::bad_request("invalid_operation", "an action is `action:<plugin>/<name>`"))?;
        let declared = state.plugins.plugin(auth.tenant.tenant.id, plugin).await?.and_then(|p| p.manifest.actions.iter().find(|a| a.name == name).cloned());
        let mut params = Map::new();
        for field in declared.iter().flat_map(|a| a.params.iter()) {
            let value = fields::from_form(field, &form.all(&format!("param.{action}.{}", field.name)));
            params.insert(field.name.clone(), value);
        }
        let outcome = state.plugins.run_action(&auth.tenant.tenant, &caller, plugin, name, raw_ids.clone(), &params).await?;
        // A plugin reports partial outcomes the same way the bulk operations do: `message`, the
        // records it could not handle in `failed` (text), and how many it did in `done`.
        let message = outcome.get("message").and_then(Value::as_str).map(str::to_owned);
        let failed: Vec<String> = outcome
            .get("failed")
            .and_then(Value::as_array)
            .map(|f| f.iter().filter_map(Value::as_str).map(str::to_owned).take(100).collect())
            .unwrap_or_default();
        let succeeded =
            outcome.get("done").and_then(Value::as_u64).map_or_else(|| ids.len().saturating_sub(failed.len()), |d| usize::try_from(d).unwrap_or(usize::MAX));
        MassResult { succeeded, failed, message }
    } else {
        let op = match operation {
            "delete" => BulkOp::Delete,
            t if t.starts_with("transition:") => BulkOp::Transition { name: t["transition:".len()..].to_owned() },
            s if s.starts_with("set:") => {
                let name = &s["set:".len()..];
                let field = def
                    .fields
                    .iter()
                    .find(|f| f.name == name)
                    .ok_or_else(|| ApiError::bad_request("unknown_field", format!("{collection} has no field `{name}`")))?;
                let mut patch = Map::new();
                patch.insert(field.name.clone(), fields::from_form(field, &form.all(&format!("set.{name}"))));
                BulkOp::Update { patch }
            }
            other => return Err(ApiError::bad_request("invalid_operation", format!("`{other}` is not an operation; choose one in the list"))),
        };
        let results = state.records.bulk(&caller, &collection, &ids, &op).await?;
        let failed: Vec<String> =
            results.iter().filter(|r| !r.ok).map(|r| format!("#{} : {}", &r.id.to_string()[..8], r.error.clone().unwrap_or_default())).collect();
        MassResult { succeeded: results.len() - failed.len(), failed, message: None }
    };
    let response = state.templates.render("records/mass_result.html", fragment(&auth, result));
    // The open panel may show one of the changed records: it reloads too.
    Ok(trigger(response, "records-changed, panel-stale"))
}

/// The most records one mass action takes: a bound on the work (and the transaction) a single
/// click can start.
const MASS_LIMIT: usize = 1000;

/// The ids of every record the list with these parameters shows, across its pages ("select all
/// N results"): the same filters, search, view and permissions as the list the user saw.
async fn matching_ids(state: &AppState, auth: &Authenticated, def: &CollectionDef, list_params: &str) -> Result<Vec<String>, ApiError> {
    let params = FormPairs::parse(list_params.as_bytes());
    let installed = state.plugins.installed(auth.tenant.tenant.id).await?;
    let views = plugin_views(state, &auth.caller(), &installed, &def.name).await?;
    let view = chosen_view(&views, params.get("view").unwrap_or(""));
    let mut query = list_query(auth, def, &params, view)?;
    query.cursor = None;
    query.count = false;
    query.limit = Some(200);
    let caller = auth.caller();
    let mut ids = Vec::new();
    loop {
        let page = state.records.query(&caller, &def.name, &query).await?;
        ids.extend(page.items.iter().map(|r| r.id.to_string()));
        if ids.len() > MASS_LIMIT {
            return Err(socle_tenants::ValidationError::new(
                "ids",
                format!("more than {MASS_LIMIT} records match: a mass action takes at most {MASS_LIMIT}; narrow the filter and run it again"),
            )
            .into());
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => return Ok(ids),
        }
    }
}
