//! The generic record screens, driven by each collection's schema and the plugins' views: a list
//! with filters, sort, views and pagination; multi-select with mass actions; the detail in a side
//! panel next to the list; fields that save themselves and show a conflict when someone else
//! changed the same field meanwhile; workflow buttons; history; linked records; attachments.
//!
//! URLs are plain links (`/c/<collection>?open=<id>`), so reloading or sharing a page shows the
//! same thing; htmx only avoids the full reload.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Map, Value};
use socle_marketplace::manifest::ViewDef;
use socle_marketplace::schema::{CollectionDef, FieldType};
use uuid::Uuid;

use super::fields::{self, Choice, Display, Input, Titles};
use super::shell::{UiUser, check_csrf, fragment, is_htmx, page, shell, trigger};
use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::http::extract::parse_id;
use crate::http::state::AppState;
use crate::plugins::host::LoadedPlugin;
use crate::records::engine::{Abilities, BulkOp};
use crate::records::{Caller, Filter, Op, Query, RecordError, RecordRef, Sort};

/// Rows per page of a list.
const PAGE_SIZE: u32 = 50;
/// Choices offered for a reference field.
const REFERENCE_CHOICES: u32 = 200;
/// Columns shown when no view says which.
const DEFAULT_COLUMNS: usize = 6;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{collection}", get(list).post(create))
        .route("/c/{collection}/new", get(new_form))
        .route("/c/{collection}/mass", post(mass))
        .route("/c/{collection}/views", post(save_view))
        .route("/c/{collection}/views/{id}/delete", post(delete_view))
        .route("/c/{collection}/{id}", get(show))
        .route("/c/{collection}/{id}/fields/{field}", post(save_field))
        .route("/c/{collection}/{id}/files/{field}", post(attach))
        .route("/c/{collection}/{id}/transitions/{name}", post(fire))
        .route("/c/{collection}/{id}/delete", post(remove))
        .route("/ui/chips.css", get(chips_css))
}

/// Decoded `application/x-www-form-urlencoded` pairs (repeated keys kept: multi-select, ids).
#[derive(Debug, Default)]
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    /// Parses a body or a query string.
    pub fn parse(bytes: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).take(5_000).collect())
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }
}

// ---- what the templates receive ----

#[derive(Debug, Serialize)]
struct CollectionView {
    name: String,
    label: String,
    label_one: String,
    href: String,
}

fn collection_view(auth: &Authenticated, def: &CollectionDef, lang: &str) -> CollectionView {
    CollectionView {
        name: def.name.clone(),
        label: def.label.get(lang).to_owned(),
        label_one: def.label_one.as_ref().unwrap_or(&def.label).get(lang).to_owned(),
        href: auth.tenant.link(&format!("/c/{}", def.name)),
    }
}

#[derive(Debug, Serialize)]
struct Column {
    name: String,
    label: String,
    /// `ascending`, `descending` or `none` (for `aria-sort`).
    sorted: &'static str,
    sort_href: String,
    numeric: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    id: String,
    href: String,
    title: String,
    cells: Vec<Display>,
    open: bool,
}

#[derive(Debug, Serialize)]
struct FilterInput {
    name: String,
    label: String,
    choices: Vec<Choice>,
}

#[derive(Debug, Serialize)]
struct ActionView {
    key: String,
    label: String,
    params: Vec<Input>,
}

#[derive(Debug, Serialize)]
struct MassView {
    transitions: Vec<Choice>,
    can_delete: bool,
    actions: Vec<ActionView>,
    set_fields: Vec<Input>,
}

#[derive(Debug, Serialize)]
struct ListData {
    collection: CollectionView,
    list_url: String,
    title_column: Option<Column>,
    columns: Vec<Column>,
    rows: Vec<Row>,
    total: Option<i64>,
    q: String,
    filters: Vec<FilterInput>,
    /// Parameters the filter form has no input for (the view, a filter on a reference from a
    /// related list) but must keep when the user changes a filter.
    kept_params: Vec<(String, String)>,
    views: Vec<super::shell::NavItem>,
    saved_views: Vec<SavedViewItem>,
    /// The list's current parameters (what "save this view" keeps).
    current_query: String,
    next_href: Option<String>,
    first_href: Option<String>,
    can_create: bool,
    mass: MassView,
    panel: Option<PanelData>,
}

#[derive(Debug, Serialize)]
struct SavedViewItem {
    name: String,
    href: String,
    current: bool,
    delete_url: String,
}

#[derive(Debug, Serialize)]
struct Transition {
    name: String,
    label: String,
}

#[derive(Debug, Serialize)]
struct HistoryItem {
    at: Stamp,
    actor: String,
    what: String,
    changes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct LinkItem {
    href: String,
    title: String,
    kind: String,
}

/// Records of another collection pointing at this one through a reference field: a ticket's
/// replies, an account's sites. The newest few, their count, and a form to add one already
/// pointing here.
#[derive(Debug, Serialize)]
struct RelatedList {
    label: String,
    count: Option<i64>,
    items: Vec<LinkItem>,
    all_href: String,
    add_href: Option<String>,
}

/// How many records of each related list the panel shows.
const RELATED_SHOWN: u32 = 8;

#[derive(Debug, Serialize)]
struct PluginPanel {
    url: String,
    label: String,
}

#[derive(Debug, Serialize)]
struct PanelData {
    id: String,
    collection: CollectionView,
    title: String,
    version: i64,
    href: String,
    close_href: String,
    state: Option<Display>,
    inputs: Vec<Input>,
    transitions: Vec<Transition>,
    can_delete: bool,
    history: Vec<HistoryItem>,
    links: Vec<LinkItem>,
    related: Vec<RelatedList>,
    timers: Vec<TimerLine>,
    panels: Vec<PluginPanel>,
    actions: Vec<ActionView>,
    created: Option<Stamp>,
    updated: Option<Stamp>,
    /// Set for a new record's form.
    is_new: bool,
    /// The creation form carries files (multipart).
    multipart: bool,
    /// For a new record's form opened from another record's related list: that record
    /// (`<collection>/<id>`), shown again once this one is created.
    return_to: Option<String>,
    errors: Vec<String>,
}

// ---- helpers ----

fn lang(auth: &Authenticated) -> &'static str {
    auth.locale().as_str()
}

/// A moment as the portal shows it: UTC text from the server, turned into the reader's own time
/// zone by the browser (`<time data-local>`, socle.js).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
struct Stamp {
    /// RFC 3339, UTC.
    iso: String,
    /// The UTC text shown until (or without) JavaScript.
    text: String,
}

fn when(ms: i64, lang: &str) -> Stamp {
    Stamp { iso: crate::http::pages::iso_time(ms), text: crate::http::pages::format_time(ms, lang) }
}

/// One timer's line: text around an optional moment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
struct TimerLine {
    before: String,
    at: Option<Stamp>,
    after: String,
}

impl TimerLine {
    fn text(before: String) -> Self {
        Self { before, at: None, after: String::new() }
    }

    /// The line as plain text (UTC).
    #[cfg(test)]
    fn plain(&self) -> String {
        format!("{}{}{}", self.before, self.at.as_ref().map_or("", |a| a.text.as_str()), self.after)
    }
}

/// Titles of every record the reference fields of `records` point to, one query per target
/// collection, through the engine (targets the caller may not read stay untitled).
async fn reference_titles<'a>(state: &AppState, caller: &Caller, def: &CollectionDef, records: impl Iterator<Item = &'a Map<String, Value>> + Clone) -> Titles {
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

/// The records a reference field may point to, for its select.
async fn reference_choices(state: &AppState, caller: &Caller, def: &CollectionDef, abilities: &Abilities) -> HashMap<String, Vec<(String, String)>> {
    let mut out = HashMap::new();
    for field in def.fields.iter().filter(|f| f.field_type == FieldType::Reference && abilities.writable.contains(&f.name)) {
        let Some(target) = field.collection.as_deref() else { continue };
        let Ok(target_def) = state.records.collection(caller, target).await else { continue };
        let sort = target_def.title_field.clone().map(|field| Sort { field, desc: false });
        let query = Query { sort, limit: Some(REFERENCE_CHOICES), ..Query::default() };
        if let Ok(page) = state.records.query(caller, target, &query).await {
            let choices = page.items.iter().map(|r| (r.id.to_string(), fields::title(&target_def, &r.id.to_string(), &r.data))).collect();
            out.insert(field.name.clone(), choices);
        }
    }
    out
}

/// The plugins' actions on `collection` the user may run, with their parameter forms.
async fn plugin_actions(state: &AppState, auth: &Authenticated, collection: &str, mass_only: bool) -> Result<Vec<ActionView>, ApiError> {
    let lang = lang(auth);
    let mut out = Vec::new();
    for plugin in state.plugins.installed(auth.tenant.tenant.id).await?.iter() {
        for action in plugin.manifest.actions.iter().filter(|a| a.collection == collection && (a.mass || !mass_only)) {
            if let Some(permission) = &action.permission
                && !state.authz.has_permission(auth.tenant.tenant.id, auth.user.id, permission).await?
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

/// The views the installed plugins declare on `collection`, with the plugin that declares each.
fn plugin_views<'a>(installed: &'a [Arc<LoadedPlugin>], collection: &str) -> Vec<(&'a str, &'a ViewDef)> {
    installed.iter().flat_map(|p| p.manifest.views.iter().filter(|v| v.collection == collection).map(|v| (p.id.as_str(), v))).collect()
}

/// The view a list URL's `view=<plugin>/<view>` names, if any.
fn chosen_view<'a>(views: &[(&str, &'a ViewDef)], key: &str) -> Option<&'a ViewDef> {
    views.iter().find(|(plugin, v)| format!("{plugin}/{}", v.name) == key).map(|(_, v)| *v)
}

/// Builds the query of a list page from its URL: a view's filters and sort, `f.<field>` equality
/// filters, `q` (text in the title), `sort`, `cursor`.
fn list_query(def: &CollectionDef, params: &FormPairs, view: Option<&ViewDef>) -> Result<Query, ApiError> {
    let mut query = Query { limit: Some(PAGE_SIZE), count: true, ..Query::default() };
    if let Some(view) = view {
        for filter in &view.filters {
            let parsed: Filter = serde_json::from_value(filter.clone())
                .map_err(|e| ApiError::bad_request("invalid_view", format!("view `{}` has a filter the engine cannot read: {e}", view.name)))?;
            query.filters.push(parsed);
        }
        query.sort = view.sort.as_deref().map(Sort::parse);
    }
    for (key, value) in &params.0 {
        if let Some(field) = key.strip_prefix("f.") {
            if value.is_empty() {
                continue;
            }
            let known = field == "state" || def.fields.iter().any(|f| f.name == field);
            if !known {
                return Err(ApiError::bad_request("unknown_field", format!("{} has no field `{field}` to filter on", def.name)));
            }
            query.filters.push(Filter { field: field.to_owned(), op: Op::Eq, value: Value::String(value.clone()) });
        }
    }
    if let (Some(q), Some(title)) = (params.get("q").map(str::trim).filter(|q| !q.is_empty()), def.title_field.as_deref()) {
        query.filters.push(Filter { field: title.to_owned(), op: Op::Contains, value: Value::String(q.chars().take(200).collect()) });
    }
    if let Some(sort) = params.get("sort").filter(|s| !s.is_empty()) {
        query.sort = Some(Sort::parse(sort));
    }
    query.cursor = params.get("cursor").filter(|c| !c.is_empty()).map(str::to_owned);
    Ok(query)
}

/// The list URL with `changes` applied to its parameters (`None` removes one).
fn url_with(base: &str, params: &FormPairs, changes: &[(&str, Option<&str>)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &params.0 {
        if !changes.iter().any(|(c, _)| c == k) && !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    for (k, v) in changes {
        if let Some(v) = v {
            out.append_pair(k, v);
        }
    }
    let query = out.finish();
    if query.is_empty() { base.to_owned() } else { format!("{base}?{query}") }
}

async fn render_list(state: &AppState, auth: &Authenticated, collection: &str, params: FormPairs, open: Option<Uuid>) -> Result<Response, ApiError> {
    let lang = lang(auth);
    let caller = auth.caller();
    let def = state.records.collection(&caller, collection).await?;
    let abilities = state.records.abilities(&caller, collection).await?;
    let base = auth.tenant.link(&format!("/c/{collection}"));

    let installed = state.plugins.installed(auth.tenant.tenant.id).await?;
    let plugin_views = plugin_views(&installed, collection);
    let view_key = params.get("view").unwrap_or("");
    let view = chosen_view(&plugin_views, view_key);
    let query = list_query(&def, &params, view)?;
    let result = state.records.query(&caller, collection, &query).await?;

    let column_names: Vec<String> = match view.filter(|v| !v.columns.is_empty()) {
        Some(v) => v.columns.iter().filter(|c| def.fields.iter().any(|f| &&f.name == c)).cloned().collect(),
        None => def
            .fields
            .iter()
            .filter(|f| Some(&f.name) != def.title_field.as_ref() && f.field_type != FieldType::File && !f.multiline)
            .take(DEFAULT_COLUMNS)
            .map(|f| f.name.clone())
            .collect(),
    };
    let column_defs: Vec<_> = column_names.iter().filter_map(|n| def.fields.iter().find(|f| &f.name == n)).collect();
    let current_sort = query.sort.clone();
    let title_def = def.title_field.as_deref().and_then(|t| def.fields.iter().find(|f| f.name == t));
    let columns: Vec<Column> = title_def
        .into_iter()
        .chain(column_defs.iter().copied())
        .map(|f| {
            let (sorted, next) = match &current_sort {
                Some(s) if s.field == f.name && !s.desc => ("ascending", format!("-{}", f.name)),
                Some(s) if s.field == f.name => ("descending", f.name.clone()),
                _ => ("none", f.name.clone()),
            };
            Column {
                name: f.name.clone(),
                label: f.label.get(lang).to_owned(),
                sorted,
                sort_href: url_with(&base, &params, &[("sort", Some(&next)), ("cursor", None), ("open", None)]),
                numeric: matches!(f.field_type, FieldType::Number | FieldType::Money),
            }
        })
        .collect();
    // The title column comes first, apart (it holds the link that opens the panel).
    let (title_column, columns) = match title_def {
        Some(_) => {
            let mut columns = columns.into_iter();
            (columns.next(), columns.collect())
        }
        None => (None, columns),
    };
    let titles = reference_titles(state, &caller, &def, result.items.iter().map(|r| &r.data)).await;
    let link = |p: &str| auth.tenant.link(p);
    let open_text = open.map(|id| id.to_string());
    let rows = result
        .items
        .iter()
        .map(|r| {
            let id = r.id.to_string();
            Row {
                href: url_with(&base, &params, &[("open", Some(&id))]),
                title: fields::title(&def, &id, &r.data),
                cells: column_defs.iter().map(|f| fields::display(f, r.data.get(&f.name), lang, &titles, &link)).collect(),
                open: open_text.as_deref() == Some(id.as_str()),
                id,
            }
        })
        .collect();
    let filters: Vec<FilterInput> = def
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::Enum && !f.multiple)
        .map(|f| {
            let chosen = params.get(&format!("f.{}", f.name)).unwrap_or("");
            FilterInput {
                name: format!("f.{}", f.name),
                label: f.label.get(lang).to_owned(),
                choices: f.values.iter().map(|v| Choice { value: v.key.clone(), label: v.label.get(lang).to_owned(), selected: v.key == chosen }).collect(),
            }
        })
        .collect();
    let mut views = vec![super::shell::NavItem {
        href: url_with(&base, &FormPairs::default(), &[]),
        label: crate::i18n::text(auth.locale(), "view_all").to_owned(),
        current: view.is_none(),
    }];
    for (plugin, v) in &plugin_views {
        let key = format!("{plugin}/{}", v.name);
        views.push(super::shell::NavItem {
            href: url_with(&base, &FormPairs::default(), &[("view", Some(&key))]),
            current: key == view_key,
            label: v.label.get(lang).to_owned(),
        });
    }
    let saved = params.get("saved").unwrap_or("");
    let saved_views = state
        .saved_views
        .list(auth.tenant.tenant.id, auth.user.id, collection)
        .await?
        .into_iter()
        .map(|v| SavedViewItem {
            href: format!("{base}?{}{}saved={}", v.query, if v.query.is_empty() { "" } else { "&" }, v.id),
            current: v.id.to_string() == saved,
            delete_url: format!("{base}/views/{}/delete", v.id),
            name: v.name,
        })
        .collect();
    let current_query = {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params.0.iter().filter(|(k, v)| !v.is_empty() && !matches!(k.as_str(), "open" | "cursor" | "saved")) {
            out.append_pair(k, v);
        }
        out.finish()
    };
    let transitions = def
        .workflow
        .iter()
        .flat_map(|w| w.transitions.iter())
        .filter(|t| abilities.transitions.contains(&t.name))
        .map(|t| Choice { value: t.name.clone(), label: t.label.get(lang).to_owned(), selected: false })
        .collect();
    let set_fields = def
        .fields
        .iter()
        .filter(|f| {
            abilities.writable.contains(&f.name)
                && matches!(f.field_type, FieldType::Enum | FieldType::Bool | FieldType::Date | FieldType::Text | FieldType::Email)
                && !f.unique
                && !f.multiline
        })
        .map(|f| fields::input(f, None, true, lang, &Titles::new(), &[], &link))
        .collect();
    let mass = MassView { transitions, can_delete: abilities.delete, actions: plugin_actions(state, auth, collection, true).await?, set_fields };
    let panel = match open {
        Some(id) => Some(panel_data(state, auth, &def, &abilities, id, Vec::new()).await?),
        None => None,
    };
    let data = ListData {
        collection: collection_view(auth, &def, lang),
        list_url: url_with(&base, &params, &[("open", None)]),
        title_column,
        columns,
        rows,
        total: result.total,
        q: params.get("q").unwrap_or("").to_owned(),
        kept_params: params
            .0
            .iter()
            .filter(|(k, v)| !v.is_empty() && (k == "view" || k == "sort" || (k.starts_with("f.") && !filters.iter().any(|f| &f.name == k))))
            .cloned()
            .collect(),
        filters,
        views,
        saved_views,
        current_query,
        next_href: result.next_cursor.as_deref().map(|c| url_with(&base, &params, &[("cursor", Some(c)), ("open", None)])),
        first_href: query.cursor.is_some().then(|| url_with(&base, &params, &[("cursor", None), ("open", None)])),
        can_create: abilities.create,
        mass,
        panel,
    };
    let shell = shell(state, auth, collection).await?;
    Ok(state.templates.render("records/list.html", page(auth, shell, data)))
}

async fn panel_data(
    state: &AppState,
    auth: &Authenticated,
    def: &CollectionDef,
    abilities: &Abilities,
    id: Uuid,
    errors: Vec<String>,
) -> Result<PanelData, ApiError> {
    let lang = lang(auth);
    let caller = auth.caller();
    let record = state.records.get(&caller, RecordRef::new(&def.name, id)).await?;
    let titles = reference_titles(state, &caller, def, std::iter::once(&record.data)).await;
    let choices = reference_choices(state, &caller, def, abilities).await;
    let link = |p: &str| auth.tenant.link(p);
    let workflow_field = def.workflow.as_ref().map(|w| w.field.as_str());
    let inputs = def
        .fields
        .iter()
        .filter(|f| Some(f.name.as_str()) != workflow_field)
        .map(|f| {
            fields::input(
                f,
                record.data.get(&f.name),
                abilities.writable.contains(&f.name),
                lang,
                &titles,
                choices.get(&f.name).map_or(&[][..], Vec::as_slice),
                &link,
            )
        })
        .collect();
    let state_display =
        workflow_field.and_then(|w| def.fields.iter().find(|f| f.name == w)).map(|f| fields::display(f, record.data.get(&f.name), lang, &titles, &link));
    let transitions = def
        .workflow
        .iter()
        .flat_map(|w| w.transitions.iter())
        .filter(|t| abilities.transitions.contains(&t.name) && record.state.as_ref().is_some_and(|s| t.from.is_empty() || t.from.contains(s)))
        .map(|t| Transition { name: t.name.clone(), label: t.label.get(lang).to_owned() })
        .collect();
    let history = state
        .records
        .history(&caller, id, None, 20)
        .await?
        .into_iter()
        .rev()
        .map(|h| HistoryItem {
            at: when(h.at, lang),
            actor: h.actor_label,
            what: match (h.op.as_str(), &h.transition) {
                (_, Some(t)) => {
                    def.workflow.as_ref().and_then(|w| w.transitions.iter().find(|x| &x.name == t)).map_or(t.clone(), |x| x.label.get(lang).to_owned())
                }
                ("create", _) => crate::i18n::text(auth.locale(), "history_created").to_owned(),
                _ => crate::i18n::text(auth.locale(), "history_updated").to_owned(),
            },
            changes: h
                .changes
                .iter()
                .map(|c| {
                    let field = def.fields.iter().find(|f| f.name == c.field);
                    let label = field.map_or(c.field.clone(), |f| f.label.get(lang).to_owned());
                    let after = field.map(|f| fields::display(f, Some(&c.after), lang, &titles, &link).text).unwrap_or_default();
                    if after.is_empty() { format!("{label} : —") } else { format!("{label} : {after}") }
                })
                .collect(),
        })
        .collect();
    let mut links = Vec::new();
    for l in state.records.links(&caller, id).await? {
        links.push(LinkItem { href: link(&format!("/c/{}/{}", l.collection, l.record_id)), title: l.title, kind: l.kind });
    }
    let now = state.now_ms();
    let timers = record.timers.iter().map(|t| timer_text(t, now, auth.locale())).collect();
    let mut panels = Vec::new();
    for plugin in state.plugins.installed(auth.tenant.tenant.id).await?.iter() {
        for p in plugin.manifest.panels.iter().filter(|p| p.collection.as_deref() == Some(def.name.as_str())) {
            panels.push(PluginPanel {
                url: format!("{}?record={id}", link(&format!("/api/v1/x/{}/panels/{}", plugin.id, p.name))),
                label: p.label.get(lang).to_owned(),
            });
        }
    }
    let actions = if abilities.update { plugin_actions(state, auth, &def.name, false).await? } else { Vec::new() };
    Ok(PanelData {
        id: id.to_string(),
        collection: collection_view(auth, def, lang),
        title: fields::title(def, &id.to_string(), &record.data),
        version: record.version,
        href: link(&format!("/c/{}/{id}", def.name)),
        close_href: link(&format!("/c/{}", def.name)),
        state: state_display,
        inputs,
        transitions,
        can_delete: abilities.delete,
        history,
        links,
        related: related_lists(state, auth, def, id).await,
        timers,
        panels,
        actions,
        created: Some(when(record.created_at, lang)),
        updated: Some(when(record.updated_at, lang)),
        is_new: false,
        multipart: false,
        return_to: None,
        errors,
    })
}

/// Every collection the user may read whose (single) reference fields point at `def`, with the
/// records pointing at `id`. Collections the user may not read are left out, as are empty lists
/// the user could not add to.
async fn related_lists(state: &AppState, auth: &Authenticated, def: &CollectionDef, id: Uuid) -> Vec<RelatedList> {
    let lang = lang(auth);
    let caller = auth.caller();
    let link = |p: &str| auth.tenant.link(p);
    let Ok(collections) = state.records.collections(&caller).await else { return Vec::new() };
    let mut out = Vec::new();
    for other in &collections {
        let pointing =
            other.fields.iter().filter(|f| f.field_type == FieldType::Reference && !f.multiple && f.collection.as_deref() == Some(def.name.as_str()));
        for field in pointing {
            let query = Query {
                filters: vec![Filter { field: field.name.clone(), op: Op::Eq, value: Value::String(id.to_string()) }],
                limit: Some(RELATED_SHOWN),
                count: true,
                ..Query::default()
            };
            // A field the user may not filter on (not readable) hides the list, like the field.
            let Ok(page) = state.records.query(&caller, &other.name, &query).await else { continue };
            let can_add = state.records.abilities(&caller, &other.name).await.is_ok_and(|a| a.create && a.writable.contains(&field.name));
            if page.items.is_empty() && !can_add {
                continue;
            }
            let several =
                other.fields.iter().filter(|f| f.field_type == FieldType::Reference && f.collection.as_deref() == Some(def.name.as_str())).count() > 1;
            let label = if several { format!("{} ({})", other.label.get(lang), field.label.get(lang)) } else { other.label.get(lang).to_owned() };
            out.push(RelatedList {
                label,
                count: page.total,
                items: page
                    .items
                    .iter()
                    .map(|r| LinkItem {
                        href: link(&format!("/c/{}?open={}", other.name, r.id)),
                        title: fields::title(other, &r.id.to_string(), &r.data),
                        kind: String::new(),
                    })
                    .collect(),
                all_href: link(&format!("/c/{}?f.{}={id}", other.name, field.name)),
                add_href: can_add.then(|| link(&format!("/c/{}/new?{}={id}&return={}/{id}", other.name, field.name, def.name))),
            });
        }
    }
    out
}

/// A workflow timer in words: running with its deadline and what is left (or how late it is),
/// paused with what was left, or finished.
fn timer_text(timer: &crate::records::TimerView, now: i64, locale: socle_tenants::Locale) -> TimerLine {
    let lang = locale.as_str();
    let en = lang == "en";
    let duration = |ms: i64| {
        let minutes = ms.abs() / 60_000;
        let day = if en { "d" } else { "j" };
        if minutes >= 24 * 60 {
            format!("{} {day} {} h", minutes / (24 * 60), minutes % (24 * 60) / 60)
        } else {
            format!("{} h {:02} min", minutes / 60, minutes % 60)
        }
    };
    let name = timer.name.to_uppercase();
    match (timer.status.as_str(), timer.due_at) {
        ("running", Some(due)) if due >= now => TimerLine {
            before: format!("{name} — {} ", if en { "due" } else { "échéance" }),
            at: Some(when(due, lang)),
            after: format!(" ({} {})", duration(due - now), if en { "left" } else { "restantes" }),
        },
        ("running", Some(due)) => TimerLine::text(format!("{name} — {} {}", if en { "overdue by" } else { "dépassé de" }, duration(now - due))),
        ("paused", _) => TimerLine::text(format!(
            "{name} — {} ({} {})",
            if en { "paused" } else { "en pause" },
            duration(timer.remaining_ms.unwrap_or(0)),
            if en { "left" } else { "restantes" }
        )),
        ("fired", Some(due)) => TimerLine {
            before: format!("{name} — {} ", if en { "expired on" } else { "échu le" }),
            at: Some(when(due, lang)),
            after: format!(" ({} {})", if en { "overdue by" } else { "dépassé de" }, duration(now - due)),
        },
        ("fired", None) => TimerLine::text(format!("{name} — {}", if en { "expired" } else { "échu" })),
        _ => TimerLine::text(format!("{name} — {}", if en { "stopped" } else { "arrêté" })),
    }
}

async fn render_panel(state: &AppState, auth: &Authenticated, collection: &str, id: Uuid) -> Result<Response, ApiError> {
    let caller = auth.caller();
    let def = state.records.collection(&caller, collection).await?;
    let abilities = state.records.abilities(&caller, collection).await?;
    let data = panel_data(state, auth, &def, &abilities, id, Vec::new()).await?;
    Ok(state.templates.render("records/panel.html", fragment(auth, PanelOnly { panel: data })))
}

#[derive(Debug, Serialize)]
struct PanelOnly {
    panel: PanelData,
}

// ---- handlers ----

async fn list(State(state): State<AppState>, UiUser(auth): UiUser, Path(collection): Path<String>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = FormPairs::parse(raw.unwrap_or_default().as_bytes());
    let open = params.get("open").map(|id| parse_id(id, "record")).transpose()?;
    render_list(&state, &auth, &collection, params, open).await
}

/// Tells htmx to show `url` in the address bar (history entry included).
fn push_url(mut response: Response, url: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(url) {
        response.headers_mut().insert("hx-push-url", value);
    }
    response
}

/// A record: the side panel for htmx, else the list with the panel open (a shareable link).
async fn show(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "record")?;
    if is_htmx(&headers) {
        let response = render_panel(&state, &auth, &collection, id).await?;
        return Ok(push_url(response, &auth.tenant.link(&format!("/c/{collection}?open={id}"))));
    }
    render_list(&state, &auth, &collection, FormPairs::default(), Some(id)).await
}

/// A `return` parameter, `<collection>/<id>`: a collection name and a record id, nothing else.
fn parse_return(raw: &str) -> Option<(String, Uuid)> {
    let (collection, id) = raw.split_once('/')?;
    let name_ok =
        !collection.is_empty() && collection.len() <= 80 && collection.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    Some((collection.to_owned(), id.parse().ok()?)).filter(|_| name_ok)
}

/// The form of a new record; `?<field>=<value>` fills fields in (a reply created from its
/// ticket points at it already).
async fn new_form(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = auth.caller();
    let def = state.records.collection(&caller, &collection).await?;
    let abilities = state.records.abilities(&caller, &collection).await?;
    if !abilities.create {
        return Err(ApiError::forbidden(format!("your roles do not let you create {}", def.label.get(lang(&auth)))));
    }
    let prefill = FormPairs::parse(raw.unwrap_or_default().as_bytes());
    let values: Map<String, Value> = def
        .fields
        .iter()
        .filter(|f| abilities.writable.contains(&f.name))
        .filter_map(|f| prefill.get(&f.name).filter(|v| !v.is_empty()).map(|v| (f.name.clone(), fields::from_form(f, &[v.to_owned()]))))
        .collect();
    let mut data = new_panel(&state, &auth, &def, &abilities, &values, Vec::new()).await;
    data.return_to = prefill.get("return").and_then(parse_return).map(|(collection, id)| format!("{collection}/{id}"));
    if is_htmx(&headers) {
        return Ok(state.templates.render("records/panel.html", fragment(&auth, PanelOnly { panel: data })));
    }
    let shell = shell(&state, &auth, &collection).await?;
    Ok(state.templates.render("records/new.html", page(&auth, shell, PanelOnly { panel: data })))
}

async fn new_panel(
    state: &AppState,
    auth: &Authenticated,
    def: &CollectionDef,
    abilities: &Abilities,
    values: &Map<String, Value>,
    errors: Vec<String>,
) -> PanelData {
    let lang = lang(auth);
    let caller = auth.caller();
    let choices = reference_choices(state, &caller, def, abilities).await;
    let link = |p: &str| auth.tenant.link(p);
    let workflow_field = def.workflow.as_ref().map(|w| w.field.as_str());
    // On creation every field the user may write is offered (create implies writing them),
    // files included: the form is then sent as multipart.
    let inputs: Vec<fields::Input> = def
        .fields
        .iter()
        .filter(|f| Some(f.name.as_str()) != workflow_field && abilities.writable.contains(&f.name))
        .map(|f| {
            fields::input(f, values.get(&f.name).or(f.default.as_ref()), true, lang, &Titles::new(), choices.get(&f.name).map_or(&[][..], Vec::as_slice), &link)
        })
        .collect();
    let multipart = inputs.iter().any(|i| i.kind == "file");
    PanelData {
        id: String::new(),
        collection: collection_view(auth, def, lang),
        title: def.label_one.as_ref().unwrap_or(&def.label).get(lang).to_owned(),
        version: 0,
        href: link(&format!("/c/{}/new", def.name)),
        close_href: link(&format!("/c/{}", def.name)),
        state: None,
        inputs,
        transitions: Vec::new(),
        can_delete: false,
        history: Vec::new(),
        links: Vec::new(),
        related: Vec::new(),
        timers: Vec::new(),
        panels: Vec::new(),
        actions: Vec::new(),
        created: None,
        updated: None,
        is_new: true,
        multipart,
        return_to: None,
        errors,
    }
}

/// Human messages of a failed write, naming fields by their labels.
fn error_messages(def: &CollectionDef, err: &RecordError, lang: &str) -> Vec<String> {
    match err {
        RecordError::Invalid(errors) => errors
            .iter()
            .map(|e| {
                let label = def.fields.iter().find(|f| f.name == e.field).map_or(e.field.clone(), |f| f.label.get(lang).to_owned());
                format!("{label} : {}", e.message)
            })
            .collect(),
        other => vec![other.to_string()],
    }
}

/// A creation form as sent: its fields, and the files chosen in its file inputs.
struct SentForm {
    pairs: FormPairs,
    /// (field, file name, content type, bytes), non-empty files only.
    files: Vec<(String, String, String, Bytes)>,
}

/// Reads a form sent urlencoded or, when it carries files, as multipart.
async fn read_form(state: &AppState, headers: &HeaderMap, request: axum::extract::Request) -> Result<SentForm, ApiError> {
    use axum::extract::FromRequest as _;
    let multipart = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if !multipart {
        let body = Bytes::from_request(request, state).await.map_err(|e| ApiError::bad_request("invalid_form", e.body_text()))?;
        return Ok(SentForm { pairs: FormPairs::parse(&body), files: Vec::new() });
    }
    let invalid = |e: axum::extract::multipart::MultipartError| ApiError::bad_request("invalid_upload", e.body_text());
    let mut form = Multipart::from_request(request, state).await.map_err(|e| ApiError::bad_request("invalid_upload", e.body_text()))?;
    let mut sent = SentForm { pairs: FormPairs(Vec::new()), files: Vec::new() };
    while let Some(part) = form.next_field().await.map_err(invalid)? {
        let Some(name) = part.name().map(str::to_owned) else { continue };
        match part.file_name().map(str::to_owned) {
            Some(file_name) => {
                let content_type = part.content_type().unwrap_or("application/octet-stream").to_owned();
                let bytes = part.bytes().await.map_err(invalid)?;
                // An empty file input still sends a part, with no name and no bytes.
                if !bytes.is_empty() {
                    sent.files.push((name, file_name, content_type, bytes));
                }
            }
            None if sent.pairs.0.len() < 5_000 => sent.pairs.0.push((name, part.text().await.map_err(invalid)?)),
            None => return Err(ApiError::bad_request("invalid_form", "the form has more than 5 000 fields")),
        }
    }
    Ok(sent)
}

async fn create(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path(collection): Path<String>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let SentForm { pairs: form, files } = read_form(&state, &headers, request).await?;
    check_csrf(&auth, &headers, form.get("_csrf"))?;
    let caller = auth.caller();
    let def = state.records.collection(&caller, &collection).await?;
    let abilities = state.records.abilities(&caller, &collection).await?;
    let mut input = Map::new();
    for field in def.fields.iter().filter(|f| abilities.writable.contains(&f.name)) {
        if field.field_type == FieldType::File {
            // Stored now, attached by the write below (a refused write leaves them unattached,
            // readable only by this user).
            let mut stored = Vec::new();
            for (_, file_name, content_type, bytes) in files.iter().filter(|(name, ..)| name == &field.name) {
                let file = state.records.upload(&caller, file_name, content_type, bytes).await?;
                stored.push(file.field_value());
            }
            match (field.multiple, stored.len()) {
                (_, 0) => {}
                (true, _) => {
                    input.insert(field.name.clone(), Value::Array(stored));
                }
                (false, _) => {
                    input.insert(field.name.clone(), stored.swap_remove(0));
                }
            }
            continue;
        }
        let sent = form.all(&field.name);
        let value = fields::from_form(field, &sent);
        if !value.is_null() {
            input.insert(field.name.clone(), value);
        }
    }
    let return_to = form.get("_return").and_then(parse_return);
    match state.records.create(&caller, &collection, input.clone()).await {
        Ok(record) => {
            // Created from another record's related list: back to that record, which now lists
            // this one; otherwise the new record.
            let (shown_collection, shown_id) = match &return_to {
                Some((parent, id)) => (parent.as_str(), *id),
                None => (collection.as_str(), record.id),
            };
            let shown_url = auth.tenant.link(&format!("/c/{shown_collection}?open={shown_id}"));
            if !is_htmx(&headers) {
                return Ok(Redirect::to(&shown_url).into_response());
            }
            let response = match render_panel(&state, &auth, shown_collection, shown_id).await {
                Ok(response) => push_url(response, &shown_url),
                // The parent went away meanwhile (or is no longer readable): show the new record.
                Err(_) => {
                    push_url(render_panel(&state, &auth, &collection, record.id).await?, &auth.tenant.link(&format!("/c/{collection}?open={}", record.id)))
                }
            };
            // The address shows what the panel shows, so a reload keeps it open.
            Ok(trigger(response, "records-changed"))
        }
        Err(err @ (RecordError::Invalid(_) | RecordError::Vetoed { .. } | RecordError::Denied(_))) => {
            let errors = error_messages(&def, &err, lang(&auth));
            let mut data = new_panel(&state, &auth, &def, &abilities, &input, errors).await;
            data.return_to = return_to.map(|(parent, id)| format!("{parent}/{id}"));
            let mut response = if is_htmx(&headers) {
                state.templates.render("records/panel.html", fragment(&auth, PanelOnly { panel: data }))
            } else {
                let shell = shell(&state, &auth, &collection).await?;
                state.templates.render("records/new.html", page(&auth, shell, PanelOnly { panel: data }))
            };
            // htmx swaps 2xx only; a plain form shows the page with its errors either way.
            if !is_htmx(&headers) {
                *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// What a field save answers: out-of-band swaps of the record's version, the field's status line,
/// its error and its conflict box.
#[derive(Debug, Serialize)]
struct FieldSaved {
    record_id: String,
    field: String,
    version: i64,
    saved_at: Option<String>,
    /// The field's value as saved (the new "original" for the next conflict check).
    saved_value: String,
    error: Option<String>,
    conflict: Option<Conflict>,
}

#[derive(Debug, Serialize)]
struct Conflict {
    by: String,
    theirs: String,
    mine: String,
    mine_text: String,
    theirs_text: String,
    save_url: String,
    version: i64,
}

/// Saves one field. The form sends the value, the record's version and the field's value when
/// the page was drawn. If the record moved on but this field did not, the change is applied on
/// top (other people's changes to other fields are kept); if someone changed this very field,
/// nothing is written and the user sees both values and chooses.
async fn save_field(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path((collection, id, field_name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = FormPairs::parse(&body);
    check_csrf(&auth, &headers, form.get("_csrf"))?;
    let lang = lang(&auth);
    let id = parse_id(&id, "record")?;
    let caller = auth.caller();
    let def = state.records.collection(&caller, &collection).await?;
    let field = def
        .fields
        .iter()
        .find(|f| f.name == field_name)
        .ok_or_else(|| ApiError::not_found("unknown_field", format!("{collection} has no field `{field_name}`")))?;
    let current = state.records.get_fields(&caller, RecordRef::new(&collection, id)).await?;
    let sent_version: i64 = form.get("version").and_then(|v| v.parse().ok()).unwrap_or(current.version);
    let original = form.get("original").unwrap_or("");
    let sent: Vec<String> = form.all("value");
    let value = fields::from_form(field, &sent);
    let theirs_text = fields::form_text(field, current.data.get(&field.name));
    let mut saved = FieldSaved {
        record_id: id.to_string(),
        field: field_name.clone(),
        version: current.version,
        saved_at: None,
        saved_value: String::new(),
        error: None,
        conflict: None,
    };
    if sent_version != current.version && theirs_text != original && fields::form_text(field, Some(&value)) != theirs_text {
        let link = |p: &str| auth.tenant.link(p);
        let titles = reference_titles(&state, &caller, &def, std::iter::once(&current.data)).await;
        let by = state.records.history(&caller, id, None, 1).await?.into_iter().next().map(|h| h.actor_label).unwrap_or_default();
        saved.conflict = Some(Conflict {
            by,
            theirs: fields::display(field, current.data.get(&field.name), lang, &titles, &link).text,
            mine: fields::display(field, Some(&value), lang, &titles, &link).text,
            mine_text: sent.join(","),
            theirs_text,
            save_url: link(&format!("/c/{collection}/{id}/fields/{field_name}")),
            version: current.version,
        });
    } else {
        let mut patch = Map::new();
        patch.insert(field.name.clone(), value);
        match state.records.update(&caller, id, patch, Some(current.version)).await {
            Ok(record) => {
                saved.version = record.version;
                saved.saved_at = Some(when(record.updated_at, lang).text);
                saved.saved_value = fields::form_text(field, record.data.get(&field.name));
            }
            Err(err @ (RecordError::Invalid(_) | RecordError::Vetoed { .. } | RecordError::Denied(_) | RecordError::Conflict { .. })) => {
                saved.error = Some(error_messages(&def, &err, lang).join(" ; "));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let changed = saved.saved_at.is_some();
    let response = state.templates.render("records/field_saved.html", fragment(&auth, saved));
    Ok(if changed { trigger(response, "records-changed") } else { response })
}

/// Uploads a file into a file field (multipart, one file).
async fn attach(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path((collection, id, field_name)): Path<(String, String, String)>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    check_csrf(&auth, &headers, None)?;
    let id = parse_id(&id, "record")?;
    let caller = auth.caller();
    let def = state.records.collection(&caller, &collection).await?;
    let field = def
        .fields
        .iter()
        .find(|f| f.name == field_name && f.field_type == FieldType::File)
        .ok_or_else(|| ApiError::not_found("unknown_field", format!("{collection} has no file field `{field_name}`")))?;
    let current = state.records.get_fields(&caller, RecordRef::new(&collection, id)).await?;
    let sent = read_form(&state, &headers, request).await?;
    let (_, name, content_type, bytes) = sent
        .files
        .iter()
        .find(|(part, ..)| part == "file")
        .ok_or_else(|| ApiError::bad_request("invalid_upload", "send the file in a form field named `file`"))?;
    let value = state.records.upload(&caller, name, content_type, bytes).await?.field_value();
    // A field of several files (a ticket's attachments) gains this one; a single file replaces.
    let value = if field.multiple {
        let mut files = current.data.get(&field.name).and_then(Value::as_array).cloned().unwrap_or_default();
        files.push(value);
        Value::Array(files)
    } else {
        value
    };
    let mut patch = Map::new();
    patch.insert(field.name.clone(), value);
    state.records.update(&caller, id, patch, Some(current.version)).await?;
    let response = render_panel(&state, &auth, &collection, id).await?;
    Ok(trigger(response, "records-changed"))
}

async fn fire(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path((collection, id, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = FormPairs::parse(&body);
    check_csrf(&auth, &headers, form.get("_csrf"))?;
    let id = parse_id(&id, "record")?;
    let caller = auth.caller();
    let expected = form.get("version").and_then(|v| v.parse().ok());
    match state.records.transition(&caller, RecordRef::new(&collection, id), &name, expected).await {
        Ok(_) => {}
        Err(RecordError::Conflict { .. }) => {
            // The state the user saw is gone: show the record as it is now, with a notice.
            let def = state.records.collection(&caller, &collection).await?;
            let abilities = state.records.abilities(&caller, &collection).await?;
            let notice = crate::i18n::text(auth.locale(), "changed_meanwhile").to_owned();
            let data = panel_data(&state, &auth, &def, &abilities, id, vec![notice]).await?;
            return Ok(state.templates.render("records/panel.html", fragment(&auth, PanelOnly { panel: data })));
        }
        Err(other) => return Err(other.into()),
    }
    if !is_htmx(&headers) {
        return Ok(Redirect::to(&auth.tenant.link(&format!("/c/{collection}?open={id}"))).into_response());
    }
    let response = render_panel(&state, &auth, &collection, id).await?;
    Ok(trigger(response, "records-changed"))
}

async fn remove(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = FormPairs::parse(&body);
    check_csrf(&auth, &headers, form.get("_csrf"))?;
    let id = parse_id(&id, "record")?;
    let caller = auth.caller();
    state.records.delete(&caller, RecordRef::new(&collection, id), form.get("version").and_then(|v| v.parse().ok())).await?;
    if !is_htmx(&headers) {
        return Ok(Redirect::to(&auth.tenant.link(&format!("/c/{collection}"))).into_response());
    }
    Ok(trigger((StatusCode::OK, "").into_response(), "records-changed"))
}

#[derive(Debug, Serialize)]
struct MassResult {
    succeeded: usize,
    failed: Vec<String>,
    message: Option<String>,
}

/// Runs one operation on the selected records: a transition, a field set, a delete or a plugin's
/// mass action. Each record succeeds or fails on its own; the user sees which failed and why.
async fn mass(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = FormPairs::parse(&body);
    check_csrf(&auth, &headers, form.get("_csrf"))?;
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
    let view = chosen_view(&plugin_views(&installed, &def.name), params.get("view").unwrap_or(""));
    let mut query = list_query(def, &params, view)?;
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

/// Saves the list's current parameters under a name (the same name replaces the older view).
async fn save_view(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = FormPairs::parse(&body);
    check_csrf(&auth, &headers, form.get("_csrf"))?;
    // The collection must exist and be readable by this user.
    state.records.collection(&auth.caller(), &collection).await?;
    let name = form.get("name").unwrap_or("").trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(socle_tenants::ValidationError::new("name", "give the view a name of 1 to 60 characters").into());
    }
    let query = form.get("query").unwrap_or("");
    if query.len() > 2000 {
        return Err(socle_tenants::ValidationError::new("query", "a view keeps at most 2000 characters of filters").into());
    }
    // Only list parameters are kept, whatever the form sent.
    let clean_query = {
        let kept = FormPairs::parse(query.as_bytes());
        let mut clean = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in kept.0.iter().filter(|(k, _)| k.starts_with("f.") || matches!(k.as_str(), "q" | "sort" | "view")) {
            clean.append_pair(k, v);
        }
        clean.finish()
    };
    let existing = state.saved_views.list(auth.tenant.tenant.id, auth.user.id, &collection).await?;
    if existing.len() >= crate::records::saved_views::MAX_PER_COLLECTION && !existing.iter().any(|v| v.name == name) {
        return Err(socle_tenants::ValidationError::new("name", format!("you already keep {} views of this list; delete one first", existing.len())).into());
    }
    let view = crate::records::saved_views::SavedView {
        id: Uuid::now_v7(),
        user_id: auth.user.id,
        collection: collection.clone(),
        name: name.to_owned(),
        query: clean_query,
        created_at: state.now_ms(),
    };
    state.saved_views.save(auth.tenant.tenant.id, &view).await?;
    let saved = state.saved_views.list(auth.tenant.tenant.id, auth.user.id, &collection).await?.into_iter().find(|v| v.name == view.name).unwrap_or(view);
    let target = auth.tenant.link(&format!("/c/{collection}?{}{}saved={}", saved.query, if saved.query.is_empty() { "" } else { "&" }, saved.id));
    Ok(Redirect::to(&target).into_response())
}

async fn delete_view(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path((collection, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let form = FormPairs::parse(&body);
    check_csrf(&auth, &headers, form.get("_csrf"))?;
    let id = parse_id(&id, "view")?;
    if !state.saved_views.delete(auth.tenant.tenant.id, auth.user.id, id).await? {
        return Err(ApiError::not_found("view_not_found", format!("you have no saved view {id}")));
    }
    Ok(Redirect::to(&auth.tenant.link(&format!("/c/{collection}"))).into_response())
}

/// The colours of the tenant's enum values as classes (inline styles are forbidden by the CSP).
async fn chips_css(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    let collections = state.records.collections(&auth.caller()).await?;
    Ok(([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=60")], fields::chip_css(collections.iter()))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::TimerView;

    #[test]
    fn timers_read_as_deadlines_pauses_and_delays() {
        let hour = 3_600_000;
        let running = TimerView { name: "sla".into(), status: "running".into(), due_at: Some(5 * hour), remaining_ms: None };
        let line = timer_text(&running, 3 * hour, socle_tenants::Locale::Fr);
        assert_eq!(line.plain(), "SLA — échéance 01/01/1970 05:00 UTC (2 h 00 min restantes)");
        // The moment travels as UTC for the browser to show in the reader's time zone.
        assert_eq!(line.at.unwrap().iso, "1970-01-01T05:00:00Z");
        assert_eq!(timer_text(&running, 6 * hour + 60_000, socle_tenants::Locale::Fr).plain(), "SLA — dépassé de 1 h 01 min");
        let fired = TimerView { status: "fired".into(), ..running.clone() };
        assert_eq!(timer_text(&fired, 6 * hour + 120_000, socle_tenants::Locale::Fr).plain(), "SLA — échu le 01/01/1970 05:00 UTC (dépassé de 1 h 02 min)");
        let paused = TimerView { status: "paused".into(), remaining_ms: Some(26 * hour), ..running };
        assert_eq!(timer_text(&paused, 0, socle_tenants::Locale::En).plain(), "SLA — paused (1 d 2 h left)");
    }
}
