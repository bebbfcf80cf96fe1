//! Helpers several record screens share: the form pairs every handler reads, the reader's
//! language, time stamps, the collection as templates see it, titles of referenced records, the
//! plugins' actions and the htmx address-bar header.

use std::collections::BTreeMap;

use axum::http::HeaderValue;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};
use socle_marketplace::schema::{CollectionDef, FieldType};

use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::http::state::AppState;
use crate::http::ui::fields::{self, Input, Titles};
use crate::records::{Caller, Filter, Op, Query};
use uuid::Uuid;

#[derive(Debug, Serialize)]
pub(super) struct CollectionView {
    name: String,
    label: String,
    label_one: String,
    href: String,
}

pub(super) fn collection_view(auth: &Authenticated, def: &CollectionDef, lang: &str) -> CollectionView {
    CollectionView {
        name: def.name.clone(),
        label: def.label.get(lang).to_owned(),
        label_one: def.label_one.as_ref().unwrap_or(&def.label).get(lang).to_owned(),
        href: auth.tenant.link(&format!("/c/{}", def.name)),
    }
}

#[derive(Debug, Serialize)]
pub(super) struct ActionView {
    key: String,
    label: String,
    params: Vec<Input>,
}

pub(super) fn lang(auth: &Authenticated) -> &'static str {
    auth.locale().as_str()
}

/// A moment as the portal shows it: UTC text from the server, turned into the reader's own time
/// zone by the browser (`<time data-local>`, socle.js).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(super) struct Stamp {
    /// RFC 3339, UTC.
    pub(super) iso: String,
    /// The UTC text shown until (or without) JavaScript.
    pub(super) text: String,
}

pub(super) fn when(ms: i64, lang: &str) -> Stamp {
    Stamp { iso: crate::http::pages::iso_time(ms), text: crate::http::pages::format_time(ms, lang) }
}

/// Titles of every record the reference fields of `records` point to, one query per target
/// collection, through the engine (targets the caller may not read stay untitled).
pub(super) async fn reference_titles<'a>(
    state: &AppState,
    caller: &Caller,
    def: &CollectionDef,
    records: impl Iterator<Item = &'a Map<String, Value>> + Clone,
) -> Titles {
    let mut titles = Titles::new();
    let mut wanted: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for field in def.fields.iter().filter(|f| f.field_type == FieldType::Reference) {
        let Some(target) = field.collection.as_deref() else { continue };
        for data in records.clone() {
            match data.get(&field.name) {
                Some(Value::String(id)) => wanted.entry(target).or_default().push(Value::String(id.clone())),
                Some(Value::Array(ids)) => wanted.entry(target).or_default().extend(ids.iter().cloned()),
                _ => {}
            }
        }
    }
    for (target, mut ids) in wanted {
        ids.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        ids.dedup();
        ids.truncate(crate::records::query::MAX_LIMIT as usize);
        let Ok(target_def) = state.records.collection(caller, target).await else { continue };
        let query = Query {
            filters: vec![Filter { field: "id".into(), op: Op::In, value: Value::Array(ids.clone()) }],
            limit: Some(ids.len().max(1) as u32),
            ..Query::default()
        };
        if let Ok(page) = state.records.query(caller, target, &query).await {
            for record in page.items {
                let id = record.id.to_string();
                titles.insert(id.clone(), fields::title(&target_def, &id, &record.data));
            }
        }
    }
    titles
}

/// The plugins' actions on `collection` the user may run, with their parameter forms.
pub(super) async fn plugin_actions(state: &AppState, auth: &Authenticated, collection: &str, mass_only: bool) -> Result<Vec<ActionView>, ApiError> {
    let lang = lang(auth);
    let caller = auth.caller();
    let mut out = Vec::new();
    // Actions change the records they run on: offered only to who may change them.
    if !state.records.may(&caller, collection, "update").await? {
        return Ok(out);
    }
    for plugin in state.plugins.installed(auth.tenant.tenant.id).await?.iter() {
        for action in plugin.manifest.actions.iter().filter(|a| a.collection == collection && (a.mass || !mass_only)) {
            if let Some(permission) = &action.permission
                && !state.records.holds(&caller, permission).await?
            {
                continue;
            }
            let link = |p: &str| auth.tenant.link(p);
            let params = action.params.iter().map(|f| fields::input(f, f.default.as_ref(), true, lang, &Titles::new(), &[], &link)).collect();
            out.push(ActionView { key: format!("{}/{}", plugin.id, action.name), label: action.label.get(lang).to_owned(), params });
        }
    }
    Ok(out)
}

/// Tells htmx to show `url` in the address bar (history entry included).
pub(super) fn push_url(mut response: Response, url: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(url) {
        response.headers_mut().insert("hx-push-url", value);
    }
    response
}

/// The names of the people behind history entries' actors (`user:<id>`), by actor; actors that
/// are not a user of the tenant (the platform, a plugin) keep their label.
pub(super) async fn people(state: &AppState, auth: &Authenticated, actors: Vec<String>) -> std::collections::HashMap<String, String> {
    let mut names = std::collections::HashMap::new();
    for actor in &actors {
        if names.contains_key(actor) {
            continue;
        }
        let Some(id) = actor.strip_prefix("user:").and_then(|id| id.parse::<Uuid>().ok()) else { continue };
        if let Ok(Some(user)) = state.users.get(auth.tenant.tenant.id, id).await {
            names.insert(actor.clone(), user.display_name);
        }
    }
    names
}
