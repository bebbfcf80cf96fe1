//! The record panel and what it shows: fields as inputs, workflow state and transitions, history,
//! links, related lists, timers, the plugins' panels and actions; the form of a new record too.

use std::collections::HashMap;

use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};
use socle_marketplace::schema::{CollectionDef, FieldType};
use uuid::Uuid;

use super::shared::{ActionView, CollectionView, Stamp, collection_view, lang, people, plugin_actions, reference_titles, when};
use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::http::state::AppState;
use crate::http::ui::fields::{self, Display, Input, Titles};
use crate::http::ui::shell::fragment;
use crate::records::engine::Abilities;
use crate::records::{Caller, Filter, Op, Query, RecordRef, Sort};

/// Choices offered for a reference field.
const REFERENCE_CHOICES: u32 = 200;

// ---- what the templates receive ----

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
pub(super) struct PanelData {
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
    pub(super) return_to: Option<String>,
    errors: Vec<String>,
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

// ---- the panel's data ----

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

pub(super) async fn panel_data(
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
    let entries = state.records.history(&caller, id, None, 20).await?;
    let names = people(state, auth, entries.iter().map(|h| h.actor.clone()).collect()).await;
    let history = entries
        .into_iter()
        .rev()
        .map(|h| HistoryItem {
            at: when(h.at, lang),
            actor: names.get(&h.actor).cloned().unwrap_or(h.actor_label),
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
        // The link's label as the schema names it (never its code).
        let kind = def.links.iter().find(|d| d.kind == l.kind).map(|d| d.label.get(lang).to_owned()).unwrap_or_default();
        links.push(LinkItem { href: link(&format!("/c/{}/{}", l.collection, l.record_id)), title: l.title, kind });
    }
    let now = state.now_ms();
    let timers = record.timers.iter().map(|t| timer_text(t, now, auth.locale())).collect();
    let mut panels = Vec::new();
    for plugin in state.plugins.installed(auth.tenant.tenant.id).await?.iter() {
        for p in plugin.manifest.panels.iter().filter(|p| p.collection.as_deref() == Some(def.name.as_str())) {
            if let Some(permission) = &p.permission
                && !state.records.holds(&caller, permission).await?
            {
                continue;
            }
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

pub(super) async fn render_panel(state: &AppState, auth: &Authenticated, collection: &str, id: Uuid) -> Result<Response, ApiError> {
    let caller = auth.caller();
    let def = state.records.collection(&caller, collection).await?;
    let abilities = state.records.abilities(&caller, collection).await?;
    let data = panel_data(state, auth, &def, &abilities, id, Vec::new()).await?;
    Ok(state.templates.render("records/panel.html", fragment(auth, PanelOnly { panel: data })))
}

#[derive(Debug, Serialize)]
pub(super) struct PanelOnly {
    pub(super) panel: PanelData,
}

pub(super) async fn new_panel(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::TimerView;

    #[test]
    fn timers_read_as_deadlines_pauses_and_delays() {
        let hour = 3_600_000;
        let running = TimerView { name: "sla".into(), status: "running".into(), due_at: Some(5 * hour), remaining_ms: None };
        let line = timer_text(&running, 3 * hour, socle_tenants::Locale::Fr);
        assert_eq!(line.plain(), "SLA — échéance 01/01/1970 06:00 (2 h 00 min restantes)");
        // The moment travels as UTC for the browser to show in the reader's time zone.
        assert_eq!(line.at.unwrap().iso, "1970-01-01T05:00:00Z");
        assert_eq!(timer_text(&running, 6 * hour + 60_000, socle_tenants::Locale::Fr).plain(), "SLA — dépassé de 1 h 01 min");
        let fired = TimerView { status: "fired".into(), ..running.clone() };
        assert_eq!(timer_text(&fired, 6 * hour + 120_000, socle_tenants::Locale::Fr).plain(), "SLA — échu le 01/01/1970 06:00 (dépassé de 1 h 02 min)");
        let paused = TimerView { status: "paused".into(), remaining_ms: Some(26 * hour), ..running };
        assert_eq!(timer_text(&paused, 0, socle_tenants::Locale::En).plain(), "SLA — paused (1 d 2 h left)");
    }
}
