//! The home page: what the person works on, drawn from the widgets the core and the installed
//! plugins declare (`[[widgets]]`, see [`socle_marketplace::workspace`]) — counts, short lists,
//! charts and shortcuts — each shown only to who holds its permission and may read its
//! collection, over the same queries (and so the same rights) as the lists they link to.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use socle_marketplace::manifest::ViewDef;
use socle_marketplace::schema::{CollectionDef, FieldType};
use socle_marketplace::workspace::{MAX_WIDGET_ROWS, WidgetDef, WidgetKind};

use super::list::view_filters;
use super::shared::{lang, reference_titles};
use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::http::state::AppState;
use crate::http::ui::fields::{self, Display};
use crate::http::ui::navigation::core_workspace;
use crate::records::{Caller, Filter, Op, Query, Sort};

/// Rows a list widget shows when it does not say.
const DEFAULT_ROWS: u32 = 5;
/// Bars a chart shows; the rest are summed into "others".
const MAX_BARS: usize = 8;
/// Records a chart on a reference field reads at most (an enum's values are counted one by one).
const CHART_SCAN: usize = 2000;

/// A widget as the template draws it.
#[derive(Debug, Serialize)]
pub struct WidgetView {
    kind: &'static str,
    label: String,
    /// The list the widget is about.
    href: String,
    count: Option<i64>,
    rows: Vec<WidgetRow>,
    bars: Vec<Bar>,
    /// Shortcuts: the link's text.
    action: Option<String>,
}

#[derive(Debug, Serialize)]
struct WidgetRow {
    title: String,
    href: String,
    cells: Vec<Display>,
}

#[derive(Debug, Serialize)]
struct Bar {
    label: String,
    count: i64,
    href: Option<String>,
    /// Width class step, 0 to 20 (5 % each): inline styles are forbidden by the CSP.
    width: u32,
    chip: Option<String>,
}

/// The widgets of `auth`'s home page, in order.
pub async fn widgets(state: &AppState, auth: &Authenticated) -> Result<Vec<WidgetView>, ApiError> {
    let caller = auth.caller();
    let installed = state.plugins.installed(auth.tenant.tenant.id).await?;
    let mut declared: Vec<(Option<&str>, &[ViewDef], &WidgetDef)> = core_workspace().widgets.iter().map(|w| (None, &[][..], w)).collect();
    for plugin in installed.iter() {
        declared.extend(plugin.manifest.widgets.iter().map(|w| (Some(plugin.id.as_str()), &plugin.manifest.views[..], w)));
    }
    declared.sort_by_key(|(_, _, w)| w.order);
    let mut out = Vec::new();
    for (plugin, views, widget) in declared {
        if let Some(permission) = &widget.permission
            && !state.records.holds(&caller, permission).await?
        {
            continue;
        }
        // Not readable (or not there): not shown.
        let Ok(def) = state.records.collection(&caller, &widget.collection).await else { continue };
        let view = widget.view.as_ref().and_then(|name| views.iter().find(|v| &v.name == name));
        if let Some(permission) = view.and_then(|v| v.permission.as_ref())
            && !state.records.holds(&caller, permission).await?
        {
            continue;
        }
        match draw(state, auth, &caller, plugin, &def, view, widget).await {
            Ok(Some(drawn)) => out.push(drawn),
            Ok(None) => {}
            // One widget that cannot be drawn (a view filtering on a field this person may not
            // read) must not take the home page down with it.
            Err(err) => tracing::warn!(widget = %widget.name, plugin = plugin.unwrap_or("core"), error = %err.detail, "home widget skipped"),
        }
    }
    Ok(out)
}

async fn draw(
    state: &AppState,
    auth: &Authenticated,
    caller: &Caller,
    plugin: Option<&str>,
    def: &CollectionDef,
    view: Option<&ViewDef>,
    widget: &WidgetDef,
) -> Result<Option<WidgetView>, ApiError> {
    let lang = lang(auth);
    let base = auth.tenant.link(&format!("/c/{}", def.name));
    let view_key = view.zip(plugin).map(|(v, p)| format!("{p}/{}", v.name));
    let list_href = |extra: Option<(&str, &str)>| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(key) = &view_key {
            query.append_pair("view", key);
        }
        if let Some((k, v)) = extra {
            query.append_pair(k, v);
        }
        let query = query.finish();
        if query.is_empty() { base.clone() } else { format!("{base}?{query}") }
    };
    let filters = match view {
        Some(v) => view_filters(auth, v)?,
        None => Vec::new(),
    };
    let label = widget.label.get(lang).to_owned();
    let mut drawn = WidgetView { kind: "", label, href: list_href(None), count: None, rows: Vec::new(), bars: Vec::new(), action: None };
    match widget.kind {
        WidgetKind::Count => {
            let page = state.records.query(caller, &def.name, &Query { filters, limit: Some(1), count: true, ..Query::default() }).await?;
            drawn.kind = "count";
            drawn.count = page.total;
        }
        WidgetKind::List => {
            let limit = widget.limit.unwrap_or(DEFAULT_ROWS).clamp(1, MAX_WIDGET_ROWS);
            let sort = view.and_then(|v| v.sort.as_deref()).map(Sort::parse);
            let page = state.records.query(caller, &def.name, &Query { filters, sort, limit: Some(limit), count: true, ..Query::default() }).await?;
            let columns: Vec<_> = view
                .map(|v| {
                    v.columns.iter().filter(|c| Some(*c) != def.title_field.as_ref()).filter_map(|c| def.fields.iter().find(|f| &f.name == c)).take(3).collect()
                })
                .unwrap_or_default();
            let titles = reference_titles(state, caller, def, page.items.iter().map(|r| &r.data)).await;
            let link = |p: &str| auth.tenant.link(p);
            drawn.kind = "list";
            drawn.count = page.total;
            drawn.rows = page
                .items
                .iter()
                .map(|r| {
                    let id = r.id.to_string();
                    WidgetRow {
                        title: fields::title(def, &id, &r.data),
                        href: auth.tenant.link(&format!("/c/{}/{id}", def.name)),
                        cells: columns.iter().map(|f| fields::display(f, r.data.get(&f.name), lang, &titles, &link)).filter(|d| !d.text.is_empty()).collect(),
                    }
                })
                .collect();
        }
        WidgetKind::Chart => {
            let Some(field) = widget.group_by.as_ref().and_then(|g| def.fields.iter().find(|f| &f.name == g)) else { return Ok(None) };
            drawn.kind = "chart";
            let mut counted: Vec<(String, Option<Value>, i64, Option<String>)> = Vec::new();
            match field.field_type {
                FieldType::Enum | FieldType::Bool => {
                    let values: Vec<(String, Value, Option<String>)> = if field.field_type == FieldType::Enum {
                        field
                            .values
                            .iter()
                            .map(|v| (v.label.get(lang).to_owned(), Value::String(v.key.clone()), v.color.as_deref().and_then(fields::chip_class)))
                            .collect()
                    } else {
                        vec![(fields::yes(lang).to_owned(), Value::Bool(true), None), (fields::no(lang).to_owned(), Value::Bool(false), None)]
                    };
                    for (label, value, chip) in values {
                        let mut filters = filters.clone();
                        filters.push(Filter { field: field.name.clone(), op: Op::Eq, value: value.clone() });
                        let page = state.records.query(caller, &def.name, &Query { filters, limit: Some(1), count: true, ..Query::default() }).await?;
                        counted.push((label, Some(value), page.total.unwrap_or(0), chip));
                    }
                }
                FieldType::Reference => {
                    let mut per: BTreeMap<String, i64> = BTreeMap::new();
                    let mut query = Query { filters, limit: Some(crate::records::query::MAX_LIMIT), ..Query::default() };
                    let mut seen = 0;
                    loop {
                        let page = state.records.query(caller, &def.name, &query).await?;
                        seen += page.items.len();
                        for record in &page.items {
                            let key = record.data.get(&field.name).and_then(Value::as_str).unwrap_or_default().to_owned();
                            *per.entry(key).or_default() += 1;
                        }
                        match page.next_cursor {
                            Some(cursor) if seen < CHART_SCAN => query.cursor = Some(cursor),
                            _ => break,
                        }
                    }
                    let titles = reference_titles(
                        state,
                        caller,
                        def,
                        per.keys().map(|id| serde_json::Map::from_iter([(field.name.clone(), Value::String(id.clone()))])).collect::<Vec<_>>().iter(),
                    )
                    .await;
                    for (id, count) in per {
                        let label = if id.is_empty() {
                            crate::i18n::text(auth.locale(), "chart_none").to_owned()
                        } else {
                            match titles.get(&id) {
                                Some(title) => title.clone(),
                                // A record this person may not read: counted, never named.
                                None => crate::i18n::text(auth.locale(), "chart_hidden").to_owned(),
                            }
                        };
                        counted.push((label, (!id.is_empty()).then_some(Value::String(id)), count, None));
                    }
                    counted.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
                }
                _ => return Ok(None),
            }
            counted.retain(|(_, _, count, _)| *count > 0);
            if counted.len() > MAX_BARS {
                let rest: i64 = counted.drain(MAX_BARS - 1..).map(|(_, _, c, _)| c).sum();
                counted.push((crate::i18n::text(auth.locale(), "chart_others").to_owned(), None, rest, None));
            }
            let max = counted.iter().map(|(_, _, c, _)| *c).max().unwrap_or(0).max(1);
            drawn.count = Some(counted.iter().map(|(_, _, c, _)| *c).sum());
            drawn.bars = counted
                .into_iter()
                .map(|(label, value, count, chip)| {
                    let value_text = value.map(|v| match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    });
                    Bar {
                        href: value_text.map(|v| list_href(Some((&format!("f.{}", field.name), &v)))),
                        width: ((count * 20 + max - 1) / max) as u32,
                        label,
                        count,
                        chip,
                    }
                })
                .collect();
        }
        WidgetKind::Shortcut => {
            drawn.kind = "shortcut";
            if view.is_none() && state.records.may(caller, &def.name, "create").await? {
                drawn.href = format!("{base}/new");
            }
            drawn.action = Some(widget.label.get(lang).to_owned());
        }
    }
    Ok(Some(drawn))
}
