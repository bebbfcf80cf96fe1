//! The list of a collection: filters, search, sort, the plugins' views and the user's saved views,
//! pagination and the mass-action bar; a record's own address (the list with its panel open); the
//! enum colours style sheet.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use serde_json::Value;
use socle_marketplace::manifest::ViewDef;
use socle_marketplace::schema::{CollectionDef, FieldDef, FieldType};
use socle_tenants::Permission;
use uuid::Uuid;

use super::panel::{PanelData, panel_data, render_panel};
use super::shared::{ActionView, CollectionView, collection_view, lang, plugin_actions, push_url, reference_titles};
use crate::http::error::ApiError;
use crate::http::extract::{Authenticated, parse_id};
use crate::http::state::AppState;
use crate::http::ui::fields::{self, Choice, Display, Input, Titles};
use crate::http::ui::form::{FormPairs, UiForm};
use crate::http::ui::shell::{NavItem, UiUser, is_htmx, page, shell};
use crate::plugins::host::LoadedPlugin;
use crate::records::engine::Abilities;
use crate::records::{Caller, Filter, Op, Query, Sort};

/// Rows per page of a list.
const PAGE_SIZE: u32 = 50;
/// Columns shown when no view says which.
const DEFAULT_COLUMNS: usize = 6;

// ---- what the templates receive ----

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
    /// How many filters besides the search box apply (the filter panel opens when some do).
    active_filters: usize,
    /// The "created between" filter's days.
    created_from: String,
    created_to: String,
    filters: Vec<FilterInput>,
    /// Parameters the filter form has no input for (the view, a filter on a reference from a
    /// related list) but must keep when the user changes a filter.
    kept_params: Vec<(String, String)>,
    views: Vec<NavItem>,
    saved_views: Vec<SavedViewItem>,
    /// The list's current parameters (what "save this view" keeps).
    current_query: String,
    next_href: Option<String>,
    first_href: Option<String>,
    can_create: bool,
    /// The same records as a spreadsheet, for who may export.
    export_href: Option<String>,
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

// ---- the list ----

/// The views the installed plugins declare on `collection`, with the plugin that declares each.
pub(super) async fn plugin_views<'a>(
    state: &AppState,
    caller: &Caller,
    installed: &'a [Arc<LoadedPlugin>],
    collection: &str,
) -> Result<Vec<(&'a str, &'a ViewDef)>, ApiError> {
    let mut views = Vec::new();
    for plugin in installed {
        for view in plugin.manifest.views.iter().filter(|v| v.collection == collection) {
            if let Some(permission) = &view.permission
                && !state.records.holds(caller, permission).await?
            {
                continue;
            }
            views.push((plugin.id.as_str(), view));
        }
    }
    Ok(views)
}

/// The view a list URL's `view=<plugin>/<view>` names, if any.
pub(super) fn chosen_view<'a>(views: &[(&str, &'a ViewDef)], key: &str) -> Option<&'a ViewDef> {
    views.iter().find(|(plugin, v)| format!("{plugin}/{}", v.name) == key).map(|(_, v)| *v)
}

/// Builds the query of a list page from its URL: a view's filters and sort, `f.<field>` equality
/// filters, `q` (text in the title), `sort`, `cursor`.
pub(super) fn list_query(auth: &Authenticated, def: &CollectionDef, params: &FormPairs, view: Option<&ViewDef>) -> Result<Query, ApiError> {
    let mut query = Query { limit: Some(PAGE_SIZE), count: true, ..Query::default() };
    if let Some(view) = view {
        query.filters = view_filters(auth, view)?;
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
    // Created between two days (inclusive), from the filter form's date inputs.
    if let Some(from) = params.get("created_from").filter(|d| !d.is_empty()) {
        query.filters.push(Filter { field: "created_at".into(), op: Op::Gte, value: Value::String(first_id_on(from, "created_from")?) });
    }
    if let Some(to) = params.get("created_to").filter(|d| !d.is_empty()) {
        let next = time::Date::parse(to, time::macros::format_description!("[year]-[month]-[day]"))
            .ok()
            .and_then(|d| d.next_day())
            .ok_or_else(|| socle_tenants::ValidationError::new("created_to", format!("`{to}` is not a date (YYYY-MM-DD)")))?;
        let next = next.to_string();
        query.filters.push(Filter { field: "created_at".into(), op: Op::Lt, value: Value::String(first_id_on(&next, "created_to")?) });
    }
    // The list's search box searches what the record's search text holds: its title, its
    // searchable fields, the titles of the records it points to, phone numbers as typed.
    if let Some(q) = params.get("q").map(str::trim).filter(|q| !q.is_empty()) {
        query.search = Some(q.chars().take(200).collect());
    }
    if let Some(sort) = params.get("sort").filter(|s| !s.is_empty()) {
        query.sort = Some(Sort::parse(sort));
    }
    query.cursor = params.get("cursor").filter(|c| !c.is_empty()).map(str::to_owned);
    Ok(query)
}

/// A view's filters for `auth`, with the values that name the person looking (`$me.email`,
/// `$me.account`) replaced by theirs.
pub(crate) fn view_filters(auth: &Authenticated, view: &ViewDef) -> Result<Vec<Filter>, ApiError> {
    let personal = |value: &mut Value| {
        let replacement = match value.as_str() {
            Some("$me.email") => Value::String(auth.user.email.clone()),
            // Someone without an account matches no record (the nil id is never a record's).
            Some("$me.account") => Value::String(auth.user.account_id.unwrap_or_default().to_string()),
            _ => return,
        };
        *value = replacement;
    };
    view.filters
        .iter()
        .map(|filter| {
            let mut parsed: Filter = serde_json::from_value(filter.clone())
                .map_err(|e| ApiError::bad_request("invalid_view", format!("view `{}` has a filter the engine cannot read: {e}", view.name)))?;
            match &mut parsed.value {
                Value::Array(values) => values.iter_mut().for_each(personal),
                value => personal(value),
            }
            Ok(parsed)
        })
        .collect()
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

/// The list's columns: the title column apart (it holds the link that opens the panel), then the
/// view's columns or the first few plain fields, each with its sort state and the link that
/// toggles it; also the field definitions of the cells, in column order.
fn list_columns<'d>(
    def: &'d CollectionDef,
    view: Option<&ViewDef>,
    current_sort: Option<&Sort>,
    base: &str,
    params: &FormPairs,
    lang: &str,
) -> (Option<Column>, Vec<Column>, Vec<&'d FieldDef>) {
    let column_defs: Vec<&FieldDef> = match view.map(|v| &v.columns).filter(|c| !c.is_empty()).or(Some(&def.list_columns).filter(|c| !c.is_empty())) {
        Some(columns) => columns.iter().filter(|c| Some(*c) != def.title_field.as_ref()).filter_map(|c| def.fields.iter().find(|f| &f.name == c)).collect(),
        None => def
            .fields
            .iter()
            .filter(|f| Some(&f.name) != def.title_field.as_ref() && f.field_type != FieldType::File && !f.multiline)
            .take(DEFAULT_COLUMNS)
            .collect(),
    };
    let column = |f: &FieldDef| {
        let (sorted, next) = match current_sort {
            Some(s) if s.field == f.name && !s.desc => ("ascending", format!("-{}", f.name)),
            Some(s) if s.field == f.name => ("descending", f.name.clone()),
            _ => ("none", f.name.clone()),
        };
        Column {
            name: f.name.clone(),
            label: f.label.get(lang).to_owned(),
            sorted,
            sort_href: url_with(base, params, &[("sort", Some(&next)), ("cursor", None), ("open", None)]),
            numeric: matches!(f.field_type, FieldType::Number | FieldType::Money),
        }
    };
    let title_column = def.title_field.as_deref().and_then(|t| def.fields.iter().find(|f| f.name == t)).map(column);
    let columns = column_defs.iter().map(|f| column(f)).collect();
    (title_column, columns, column_defs)
}

/// Most records a reference filter offers in its select (beyond, the search box finds them).
const REFERENCE_CHOICES: usize = 200;

/// One select per single-choice field, indexed yes/no field and single reference to a small
/// collection (a ticket's client and project, a line's account), each showing the choice the
/// request filters on.
async fn filter_inputs(state: &AppState, caller: &Caller, def: &CollectionDef, params: &FormPairs, lang: &str) -> Vec<FilterInput> {
    let mut inputs = Vec::new();
    for f in def.fields.iter().filter(|f| !f.multiple) {
        let chosen = params.get(&format!("f.{}", f.name)).unwrap_or("");
        let choices: Vec<Choice> = match f.field_type {
            FieldType::Enum => {
                f.values.iter().map(|v| Choice { value: v.key.clone(), label: v.label.get(lang).to_owned(), selected: v.key == chosen }).collect()
            }
            FieldType::Bool if f.index => [("true", fields::yes(lang)), ("false", fields::no(lang))]
                .into_iter()
                .map(|(value, label)| Choice { value: value.to_owned(), label: label.to_owned(), selected: value == chosen })
                .collect(),
            // Only references the schema marks as something to find records by (indexed or
            // searchable): each costs a query per list page.
            FieldType::Reference if f.index || f.searchable => {
                let Some(target) = f.collection.as_deref() else { continue };
                let Ok(target_def) = state.records.collection(caller, target).await else { continue };
                let query = Query { limit: Some(REFERENCE_CHOICES as u32 + 1), sort: target_def.title_field.as_deref().map(Sort::parse), ..Query::default() };
                let Ok(page) = state.records.query(caller, target, &query).await else { continue };
                // One choice (a client's own account) filters nothing; too many belong to search.
                if page.items.len() <= 1 || page.items.len() > REFERENCE_CHOICES {
                    continue;
                }
                page.items
                    .iter()
                    .map(|r| {
                        let id = r.id.to_string();
                        Choice { label: fields::title(&target_def, &id, &r.data), selected: id == chosen, value: id }
                    })
                    .collect()
            }
            _ => continue,
        };
        inputs.push(FilterInput { name: format!("f.{}", f.name), label: f.label.get(lang).to_owned(), choices });
    }
    inputs
}

/// The first instant of `date` (`YYYY-MM-DD`, UTC) as the smallest record id created from then
/// on: ids are UUID v7, ordered by creation time, and `created_at` filters compare ids.
fn first_id_on(date: &str, field: &str) -> Result<String, ApiError> {
    let day = time::Date::parse(date, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| socle_tenants::ValidationError::new(field, format!("`{date}` is not a date (YYYY-MM-DD)")))?;
    let ms = (day.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Ok(Uuid::from_bytes(bytes).to_string())
}

/// "All", then the views plugins declare on the collection.
fn view_nav(base: &str, plugin_views: &[(&str, &ViewDef)], view_key: &str, all: bool, auth: &Authenticated, lang: &str) -> Vec<NavItem> {
    let mut views = vec![NavItem {
        href: url_with(base, &FormPairs::default(), &[]),
        label: crate::i18n::text(auth.locale(), "view_all").to_owned(),
        current: all,
        view: None,
    }];
    for (plugin, v) in plugin_views {
        let key = format!("{plugin}/{}", v.name);
        views.push(NavItem {
            href: url_with(base, &FormPairs::default(), &[("view", Some(&key))]),
            current: key == view_key,
            label: v.label.get(lang).to_owned(),
            view: Some(key),
        });
    }
    views
}

/// The workflow transitions the user may apply to a selection.
fn mass_transitions(def: &CollectionDef, abilities: &Abilities, lang: &str) -> Vec<Choice> {
    def.workflow
        .iter()
        .flat_map(|w| w.transitions.iter())
        .filter(|t| abilities.transitions.contains(&t.name))
        .map(|t| Choice { value: t.name.clone(), label: t.label.get(lang).to_owned(), selected: false })
        .collect()
}

/// The fields the user may set on a whole selection at once: writable, short, not unique.
fn mass_fields(def: &CollectionDef, abilities: &Abilities, lang: &str, link: &dyn Fn(&str) -> String) -> Vec<Input> {
    def.fields
        .iter()
        .filter(|f| {
            abilities.writable.contains(&f.name)
                && matches!(f.field_type, FieldType::Enum | FieldType::Bool | FieldType::Date | FieldType::Text | FieldType::Email)
                && !f.unique
                && !f.multiline
        })
        .map(|f| fields::input(f, None, true, lang, &Titles::new(), &[], link))
        .collect()
}

async fn render_list(state: &AppState, auth: &Authenticated, collection: &str, params: FormPairs, open: Option<Uuid>) -> Result<Response, ApiError> {
    let lang = lang(auth);
    let caller = auth.caller();
    let def = state.records.collection(&caller, collection).await?;
    let abilities = state.records.abilities(&caller, collection).await?;
    let base = auth.tenant.link(&format!("/c/{collection}"));

    let installed = state.plugins.installed(auth.tenant.tenant.id).await?;
    let plugin_views = plugin_views(state, &caller, &installed, collection).await?;
    let view_key = params.get("view").unwrap_or("");
    let view = chosen_view(&plugin_views, view_key);
    let query = list_query(auth, &def, &params, view)?;
    let result = state.records.query(&caller, collection, &query).await?;

    let (title_column, columns, column_defs) = list_columns(&def, view, query.sort.as_ref(), &base, &params, lang);
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
    let filters = filter_inputs(state, &caller, &def, &params, lang).await;
    let views = view_nav(&base, &plugin_views, view_key, view.is_none(), auth, lang);
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
    let mass = MassView {
        transitions: mass_transitions(&def, &abilities, lang),
        can_delete: abilities.delete,
        actions: plugin_actions(state, auth, collection, true).await?,
        set_fields: mass_fields(&def, &abilities, lang, &link),
    };
    let panel = match open {
        Some(id) => Some(panel_data(state, auth, &def, &abilities, id, Vec::new()).await?),
        None => None,
    };
    let export_href = state
        .authz
        .has_permission(auth.tenant.tenant.id, auth.user.id, Permission::Exporter.as_str())
        .await?
        .then(|| if current_query.is_empty() { format!("{base}/export.csv") } else { format!("{base}/export.csv?{current_query}") });
    let data = ListData {
        collection: collection_view(auth, &def, lang),
        list_url: url_with(&base, &params, &[("open", None)]),
        title_column,
        columns,
        rows,
        total: result.total,
        q: params.get("q").unwrap_or("").to_owned(),
        active_filters: params.0.iter().filter(|(k, v)| !v.is_empty() && (k.starts_with("f.") || k == "created_from" || k == "created_to")).count(),
        created_from: params.get("created_from").unwrap_or("").to_owned(),
        created_to: params.get("created_to").unwrap_or("").to_owned(),
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
        export_href,
        mass,
        panel,
    };
    let mut shell = shell(state, auth, collection).await?;
    shell.mark_view(view_key);
    Ok(state.templates.render("records/list.html", page(auth, shell, data)))
}

// ---- handlers ----

pub(super) async fn list(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = FormPairs::parse(raw.unwrap_or_default().as_bytes());
    let open = params.get("open").map(|id| parse_id(id, "record")).transpose()?;
    render_list(&state, &auth, &collection, params, open).await
}

/// A record: the side panel for htmx, else the list with the panel open (a shareable link).
pub(super) async fn show(
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

/// Saves the list's current parameters under a name (the same name replaces the older view).
pub(super) async fn save_view(
    State(state): State<AppState>,
    Path(collection): Path<String>,
    UiForm { auth, form, headers: _ }: UiForm,
) -> Result<Response, ApiError> {
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

pub(super) async fn delete_view(
    State(state): State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    UiForm { auth, form: _, headers: _ }: UiForm,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "view")?;
    if !state.saved_views.delete(auth.tenant.tenant.id, auth.user.id, id).await? {
        return Err(ApiError::not_found("view_not_found", format!("you have no saved view {id}")));
    }
    Ok(Redirect::to(&auth.tenant.link(&format!("/c/{collection}"))).into_response())
}

/// The colours of the tenant's enum values as classes (inline styles are forbidden by the CSP).
pub(super) async fn chips_css(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    let collections = state.records.collections(&auth.caller()).await?;
    Ok(([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=60")], fields::chip_css(collections.iter()))
        .into_response())
}

/// The list as a spreadsheet (`;`-separated, with a byte-order mark so French spreadsheets read
/// it as UTF-8): the same filters, search and view as the list, the columns the user may read
/// with their labels, values as a person reads them (labels, titles, `14,90`), up to 10 000 rows.
/// For users holding the `exporter` permission.
pub(super) async fn export(
    State(state): State<AppState>,
    UiUser(auth): UiUser,
    Path(collection): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    auth.require(&state, Permission::Exporter).await?;
    let lang = lang(&auth);
    let caller = auth.caller();
    let def = state.records.collection(&caller, &collection).await?;
    let params = FormPairs::parse(raw.unwrap_or_default().as_bytes());
    let installed = state.plugins.installed(auth.tenant.tenant.id).await?;
    let views = plugin_views(&state, &caller, &installed, &collection).await?;
    let mut query = list_query(&auth, &def, &params, chosen_view(&views, params.get("view").unwrap_or("")))?;
    query.limit = Some(500);
    query.count = false;
    query.cursor = None;
    let columns: Vec<&FieldDef> = def.fields.iter().filter(|f| f.field_type != FieldType::File).collect();
    let mut out = String::from("\u{feff}");
    out.push_str(&csv_line(columns.iter().map(|f| f.label.get(lang).to_owned())));
    let link = |p: &str| auth.tenant.link(p);
    let mut exported = 0;
    loop {
        let page = state.records.query(&caller, &collection, &query).await?;
        let titles = reference_titles(&state, &caller, &def, page.items.iter().map(|r| &r.data)).await;
        for record in &page.items {
            out.push_str(&csv_line(columns.iter().map(|f| csv_cell(f, record.data.get(&f.name), lang, &titles, &link))));
        }
        exported += page.items.len();
        match page.next_cursor {
            Some(cursor) if exported < 10_000 => query.cursor = Some(cursor),
            _ => break,
        }
    }
    let name = def.label.get(lang).chars().map(|c| if c.is_alphanumeric() { c } else { '-' }).collect::<String>();
    let disposition = format!("attachment; filename=\"{}.csv\"; filename*=UTF-8''{}.csv", collection.replace('.', "-"), urlencoding(&name));
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)], out).into_response())
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

/// A value as a spreadsheet reads it: amounts and numbers with a decimal comma and no symbol or
/// grouping (so they stay numbers), the rest as the screen shows it.
fn csv_cell(field: &FieldDef, value: Option<&Value>, lang: &str, titles: &Titles, link: &dyn Fn(&str) -> String) -> String {
    let decimal = |text: String| if lang == "en" { text } else { text.replace('.', ",") };
    match (field.field_type, value) {
        (_, None | Some(Value::Null)) => String::new(),
        (FieldType::Money, Some(v)) => v
            .get("amount")
            .and_then(Value::as_i64)
            .map(|c| decimal(format!("{}{}.{:02}", if c < 0 { "-" } else { "" }, c.abs() / 100, c.abs() % 100)))
            .unwrap_or_default(),
        (FieldType::Number, Some(Value::Number(n))) => decimal(n.to_string()),
        (_, Some(v)) => fields::display(field, Some(v), lang, titles, link).text,
    }
}

/// One `;`-separated line; cells that a spreadsheet would run as a formula are neutralised.
fn csv_line(cells: impl Iterator<Item = String>) -> String {
    let cells: Vec<String> = cells
        .map(|c| {
            let c = if c.starts_with(['=', '+', '-', '@']) && c.parse::<f64>().is_err() && c.replace(',', ".").parse::<f64>().is_err() {
                format!("'{c}")
            } else {
                c
            };
            if c.contains([';', '"', '\n', '\r']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c }
        })
        .collect();
    format!("{}\r\n", cells.join(";"))
}
