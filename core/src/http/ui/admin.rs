//! The tenant admin console (`/admin`): branding with a live preview, users and roles, the
//! permission matrix, the marketplace (catalogue, listing, install / upgrade / rollback /
//! uninstall), the approval inbox, installed plugins with their settings and health, the journal.
//!
//! Pages read through the same domain functions as the JSON API (so what the console shows is
//! what the API answers) after the same permission check, and their forms submit to that API:
//! one code path per operation, with its validation and its error messages. What a person reads
//! is said in words: capabilities as sentences, the journal as events with names and titles,
//! health as a summary, times in local time — never ids, codes or raw JSON.

mod capabilities;
mod journal;
mod when;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};
use socle_marketplace::lockfile::Lockfile;
use socle_marketplace::manifest::{DataClass, Pricing};
use socle_marketplace::schema::{CollectionDef, Label};
use socle_tenants::{ContrastUse, ContrastWarning, Locale, Permission, ThemeTokens, UserType};

use super::shell::{UiUser, page, shell};
use crate::audit::{self, AuditQuery};
use crate::http::error::ApiError;
use crate::http::extract::{Authenticated, Tenant};
use crate::http::state::AppState;
use crate::marketplace::catalogue;
use crate::records;
use capabilities::Vocabulary;
use when::{Moment, moment};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|Tenant(t): Tenant| async move { Redirect::to(&t.link("/admin/marketplace")) }))
        .route("/admin/branding", get(branding))
        .route("/admin/users", get(users))
        .route("/admin/roles", get(roles))
        .route("/admin/marketplace", get(catalogue_page))
        .route("/admin/marketplace/{plugin}", get(listing))
        .route("/admin/plugins", get(installed))
        .route("/admin/plugins/{plugin}", get(plugin))
        .route("/admin/approvals", get(approvals))
        .route("/admin/audit", get(audit))
        .route("/admin/notifications", get(notifications))
}

/// A console page: its section (for the menu) and what it shows.
#[derive(Debug, Serialize)]
struct AdminPage {
    section: &'static str,
    sections: Vec<Section>,
    data: Value,
}

#[derive(Debug, Serialize)]
struct Section {
    key: &'static str,
    label: &'static str,
    href: String,
    badge: usize,
}

const SECTIONS: &[&str] = &["notifications", "marketplace", "plugins", "approvals", "branding", "users", "roles", "audit"];

/// Every console page is for administrators only, checked before anything is read.
async fn admin(state: &AppState, auth: &Authenticated) -> Result<(), ApiError> {
    auth.require(state, Permission::Administrer).await
}

async fn render(state: &AppState, auth: &Authenticated, section: &'static str, template: &str, data: Value) -> Result<Response, ApiError> {
    let pending = state.marketplace.approval_inbox(&auth.tenant.tenant).await?.len();
    let unread = state.marketplace.store().notifications(auth.tenant.tenant.id, true, 1000).await?.len();
    let sections = SECTIONS
        .iter()
        .map(|key| Section {
            key,
            label: crate::i18n::text(auth.locale(), &format!("admin_{key}")),
            href: auth.tenant.link(&format!("/admin/{key}")),
            badge: match *key {
                "approvals" => pending,
                "notifications" => unread,
                _ => 0,
            },
        })
        .collect();
    let shell = shell(state, auth, "admin").await?;
    Ok(state.templates.render(template, page(auth, shell, AdminPage { section, sections, data })))
}

/// `fr` or `en` text by the reader's language.
fn pick(lang: Locale, fr: &str, en: &str) -> String {
    if lang == Locale::Fr { fr.to_owned() } else { en.to_owned() }
}

/// A moment as the tenant reads it.
fn at(auth: &Authenticated, ms: i64) -> Moment {
    moment(ms, auth.locale())
}

/// The collections the administrator may read (for labels and titles).
async fn collections(state: &AppState, auth: &Authenticated) -> Vec<CollectionDef> {
    state.records.collections(&auth.caller()).await.unwrap_or_default()
}

/// Collection names in words, for capability sentences.
fn vocabulary(collections: &[CollectionDef], lang: Locale) -> Vocabulary {
    Vocabulary { collections: collections.iter().map(|c| (c.name.clone(), c.label.get(lang.as_str()).to_owned())).collect() }
}

/// The names of the plugins the tenant has installed, or the marketplace lists, by id.
async fn plugin_names(state: &AppState, auth: &Authenticated) -> Result<HashMap<String, String>, ApiError> {
    let lang = auth.locale();
    let mut names: HashMap<String, String> = state
        .marketplace
        .search_catalogue(&catalogue::Query::default())
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p.name.get(lang.as_str()).to_owned()))
        .collect();
    for p in state.plugins.installed_plugins(&auth.tenant.tenant).await? {
        names.insert(p.plugin.clone(), plugin_name(&p.name, lang, &p.plugin));
    }
    Ok(names)
}

/// A plugin's name in the reader's language (manifests store a label, plain or per language).
fn plugin_name(name: &Value, lang: Locale, fallback: &str) -> String {
    serde_json::from_value::<Label>(name.clone()).map(|l| l.get(lang.as_str()).to_owned()).unwrap_or_else(|_| fallback.to_owned())
}

// ---- branding ----

/// A contrast warning as the administrator reads it: what is wrong, and what to do.
#[derive(Debug, Serialize)]
struct ContrastNote {
    field: &'static str,
    text: String,
}

fn ratio_text(ratio: f64, lang: Locale) -> String {
    let text = format!("{ratio:.1}");
    if lang == Locale::Fr { text.replace('.', ",") } else { text }
}

fn contrast_notes(theme: &ThemeTokens, lang: Locale) -> Vec<ContrastNote> {
    theme.contrast_warnings().iter().map(|w| ContrastNote { field: w.field, text: contrast_text(w, lang) }).collect()
}

fn contrast_text(w: &ContrastWarning, lang: Locale) -> String {
    let color = crate::i18n::text(lang, if w.field == "theme.secondary" { "color_secondary" } else { "color_primary" });
    let ratio = ratio_text(w.ratio, lang);
    match (w.kind, lang) {
        (ContrastUse::Links, Locale::Fr) => format!(
            "{color} {} : les liens écrits de cette couleur sur le fond {} n'ont qu'un contraste de {ratio}:1, or il faut au moins 4,5:1 pour qu'un texte reste lisible (norme WCAG AA). \
             Choisissez une teinte plus foncée, par exemple {}. En attendant, le portail affiche les liens en {} pour qu'ils restent lisibles.",
            w.color, w.on, w.adjusted, w.adjusted
        ),
        (ContrastUse::Links, Locale::En) => format!(
            "{color} {}: links in this colour on the {} background have a contrast of only {ratio}:1, and text needs at least 4.5:1 to stay readable (WCAG AA). \
             Choose a darker shade, for instance {}. Meanwhile the portal shows links in {} so they stay readable.",
            w.color, w.on, w.adjusted, w.adjusted
        ),
        (ContrastUse::Background, Locale::Fr) => format!(
            "{color} {} : le texte des boutons et de la barre de titre n'y atteint qu'un contraste de {ratio}:1 (il faut 4,5:1). Choisissez une teinte plus marquée, par exemple {}.",
            w.color, w.adjusted
        ),
        (ContrastUse::Background, Locale::En) => format!(
            "{color} {}: the text of buttons and of the title bar only reaches {ratio}:1 on it (4.5:1 is needed). Choose a stronger shade, for instance {}.",
            w.color, w.adjusted
        ),
    }
}

async fn branding(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let lang = auth.locale();
    let fonts: Vec<Value> =
        socle_tenants::FontFamily::ALL.iter().map(|f| json!({ "key": f.as_str(), "stack": f.css_stack(), "label": font_label(f.as_str(), lang) })).collect();
    let theme = &auth.tenant.tenant.theme;
    let warnings = contrast_notes(theme, lang);
    // The sentences the page rewrites as colours change, with their blanks.
    let live = json!({
        "links": contrast_text(&ContrastWarning { field: "theme.primary", kind: ContrastUse::Links, color: socle_tenants::Color::rgb(1, 1, 1), on: socle_tenants::Color::rgb(2, 2, 2), ratio: 19.9, adjusted: socle_tenants::Color::rgb(3, 3, 3) }, lang),
        "background": contrast_text(&ContrastWarning { field: "theme.primary", kind: ContrastUse::Background, color: socle_tenants::Color::rgb(1, 1, 1), on: socle_tenants::Color::rgb(2, 2, 2), ratio: 19.9, adjusted: socle_tenants::Color::rgb(3, 3, 3) }, lang),
    });
    render(
        &state,
        &auth,
        "branding",
        "admin/branding.html",
        json!({ "tenant": auth.tenant.tenant, "fonts": fonts, "warnings": warnings, "link_color": theme.link_color(), "live": live }),
    )
    .await
}

fn font_label(key: &str, lang: Locale) -> String {
    let (fr, en) = match key {
        "system" => ("Police du système", "System font"),
        "humanist" => ("Humaniste (sans empattement)", "Humanist sans-serif"),
        "geometric" => ("Géométrique (sans empattement)", "Geometric sans-serif"),
        "serif" => ("Classique (avec empattements)", "Classic serif"),
        "mono" => ("Chasse fixe", "Monospace"),
        other => (other, other),
    };
    pick(lang, fr, en)
}

// ---- users and roles ----

async fn users(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let tenant = auth.tenant.tenant.id;
    let (users, roles) = (state.accounts.members(tenant).await?, state.accounts.roles(tenant).await?);
    let locale = auth.locale();
    let types: Vec<Value> = UserType::ALL.iter().map(|t| json!({ "key": t.as_str(), "label": t.label(locale) })).collect();
    // The customer accounts a new client user can belong to (by name).
    let query = records::Query { sort: Some(records::Sort { field: "name".into(), desc: false }), limit: Some(500), ..records::Query::default() };
    let accounts: Vec<Value> = match state.records.query(&auth.caller(), "customer_account", &query).await {
        Ok(page) => page.items.iter().map(|r| json!({ "id": r.id, "name": r.data.get("name").and_then(Value::as_str).unwrap_or_default() })).collect(),
        Err(_) => Vec::new(),
    };
    let account_names: HashMap<String, String> = accounts.iter().filter_map(|a| Some((a["id"].as_str()?.to_owned(), a["name"].as_str()?.to_owned()))).collect();
    let users: Vec<Value> = users
        .into_iter()
        .map(|m| {
            let account = m.user.account_id.map(|a| account_names.get(&a.to_string()).cloned().unwrap_or_default());
            json!({ "user": m.user, "roles": m.roles, "type_label": m.user.user_type.label(locale), "account": account })
        })
        .collect();
    render(&state, &auth, "users", "admin/users.html", json!({ "users": users, "roles": roles, "types": types, "accounts": accounts })).await
}

async fn roles(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let roles = state.accounts.roles(auth.tenant.tenant.id).await?;
    let lang = auth.locale();
    let permissions: Vec<Value> = Permission::ALL.iter().map(|p| json!({ "key": p.as_str(), "label": p.label(lang) })).collect();
    render(&state, &auth, "roles", "admin/roles.html", json!({ "roles": roles, "permissions": permissions })).await
}

// ---- marketplace and plugins ----

/// One capability asked for, in words.
#[derive(Debug, Serialize)]
struct GrantItem {
    key: String,
    sentence: String,
    risk: &'static str,
    risk_label: String,
    granted: bool,
}

/// Capabilities asked for one reason (a manifest asks several targets for one purpose): the
/// reason said once, each target on its own line.
#[derive(Debug, Serialize)]
struct GrantGroup {
    reason: String,
    items: Vec<GrantItem>,
}

fn risk_level(risk: u8, lang: Locale) -> (&'static str, String) {
    match risk {
        7.. => ("high", pick(lang, "risque élevé", "high risk")),
        4..=6 => ("mid", pick(lang, "risque modéré", "moderate risk")),
        _ => ("low", pick(lang, "risque faible", "low risk")),
    }
}

/// Grants as groups under their reason, in the manifest's order.
fn grant_groups<'a>(grants: impl IntoIterator<Item = (&'a str, &'a Label, u8, bool)>, vocabulary: &Vocabulary, lang: Locale) -> Vec<GrantGroup> {
    let mut groups: Vec<GrantGroup> = Vec::new();
    for (key, reason, risk, granted) in grants {
        let reason = match reason.get(lang.as_str()).trim() {
            "" => pick(lang, "(aucune raison donnée)", "(no reason given)"),
            given => given.to_owned(),
        };
        let (risk, risk_label) = risk_level(risk, lang);
        let item = GrantItem { key: key.to_owned(), sentence: capabilities::sentence(key, vocabulary, lang), risk, risk_label, granted };
        match groups.last_mut() {
            Some(group) if group.reason == reason => group.items.push(item),
            _ => groups.push(GrantGroup { reason, items: vec![item] }),
        }
    }
    groups
}

async fn catalogue_page(State(state): State<AppState>, UiUser(auth): UiUser, Query(query): Query<catalogue::Query>) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    query.check()?;
    let echo = json!({ "q": query.q, "category": query.category, "price": query.price, "sort": query.sort, "min_rating": query.min_rating, "vertical": query.vertical });
    let plugins = state.marketplace.search_catalogue(&query).await?;
    let installed = state.plugins.installed_plugins(&auth.tenant.tenant).await?;
    let lang = auth.locale();
    let verticals: HashMap<String, String> = plugins.iter().filter_map(|p| p.vertical.clone()).map(|v| (v.clone(), vertical_label(&v, lang))).collect();
    render(&state, &auth, "marketplace", "admin/catalogue.html", json!({ "plugins": plugins, "query": echo, "installed": installed, "verticals": verticals }))
        .await
}

/// A vertical's name for people (`telecom` → "Télécoms").
fn vertical_label(key: &str, lang: Locale) -> String {
    match key {
        "telecom" => pick(lang, "Télécoms", "Telecoms"),
        "helpdesk" => pick(lang, "Support client", "Customer support"),
        other => {
            let words = other.replace(['_', '-'], " ");
            let mut chars = words.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

/// An amount of `currency` in the reader's writing (`12,50 €`, `€12.50`), with up to
/// `decimals` decimals (trailing zeros past the cents dropped).
fn amount_text(units: f64, currency: &str, decimals: usize, lang: Locale) -> String {
    let mut text = format!("{units:.decimals$}");
    while decimals > 2 && text.ends_with('0') && text.split_once('.').is_some_and(|(_, f)| f.len() > 2) {
        text.pop();
    }
    let symbol = match currency {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        other => other,
    };
    if lang == Locale::Fr { format!("{}\u{a0}{symbol}", text.replace('.', ",")) } else { format!("{symbol}{text}") }
}

/// A price in words.
fn price_text(pricing: &Pricing, lang: Locale) -> String {
    match pricing {
        Pricing::Free => pick(lang, "gratuit", "free"),
        Pricing::Monthly { cents, currency } => {
            let amount = amount_text(*cents as f64 / 100.0, currency, 2, lang);
            pick(lang, &format!("{amount} par mois"), &format!("{amount} per month"))
        }
        Pricing::PerUse { millicents, currency } => {
            let amount = amount_text(*millicents as f64 / 100_000.0, currency, 5, lang);
            pick(lang, &format!("{amount} par appel"), &format!("{amount} per call"))
        }
    }
}

async fn listing(State(state): State<AppState>, UiUser(auth): UiUser, Path(plugin): Path<String>) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let lang = auth.locale();
    let listing = state.marketplace.listing(&plugin, Some(&auth.tenant.tenant)).await?.ok_or_else(|| ApiError::not_listed(&plugin))?;
    let installed = state.plugins.installed_plugins(&auth.tenant.tenant).await?.into_iter().find(|p| p.plugin == plugin);
    let vocabulary = vocabulary(&collections(&state, &auth).await, lang);
    let grants = grant_groups(listing.permissions.iter().map(|g| (g.key.as_str(), &g.reason, g.risk, true)), &vocabulary, lang);
    let versions: Vec<Value> = listing.versions.iter().map(|v| json!({ "published": at(&auth, v.published_at) })).collect();
    let price = price_text(&listing.summary.pricing, lang);
    let data_classes: Vec<String> = listing.data_classes.iter().map(|d| data_class_text(*d, lang)).collect();
    let names = plugin_names(&state, &auth).await?;
    let dependencies: Vec<String> = listing
        .dependencies
        .iter()
        .map(|(id, range)| {
            let name = names.get(id).cloned().unwrap_or_else(|| id.clone());
            // `^1.0` and `>=1.0` are "1.0 or later" to a person.
            match range.trim_start_matches(['^', '>', '=', '~']).trim() {
                version if version != range.as_str() => {
                    pick(lang, &format!("{name} (version {version} ou ultérieure)"), &format!("{name} (version {version} or later)"))
                }
                _ => format!("{name} ({range})"),
            }
        })
        .collect();
    render(
        &state,
        &auth,
        "marketplace",
        "admin/listing.html",
        json!({ "listing": listing, "installed": installed, "grants": grants, "versions": versions, "price": price, "data_classes": data_classes, "dependencies": dependencies }),
    )
    .await
}

/// What a kind of stored data means.
fn data_class_text(class: DataClass, lang: Locale) -> String {
    let (fr, en) = match class {
        DataClass::Personal => ("Données personnelles : noms, e-mails, téléphones", "Personal data: names, emails, phones"),
        DataClass::Financial => ("Données financières : prix, factures, coordonnées bancaires", "Financial data: prices, invoices, bank details"),
        DataClass::Business => ("Données de l'activité : tickets, lignes…", "Business data: tickets, lines…"),
        DataClass::Credentials => ("Identifiants d'accès à d'autres systèmes", "Credentials to other systems"),
    };
    pick(lang, fr, en)
}

/// Plugin health over a day, said in words.
#[derive(Debug, Serialize)]
struct Health {
    calls: i64,
    errors: i64,
    denials: i64,
    /// "95 % des appels en moins de 12 ms".
    speed: Option<String>,
    /// The latest failure: when, during what, and what happened.
    last_error: Option<LastError>,
}

#[derive(Debug, Serialize)]
struct LastError {
    when: Moment,
    during: String,
    what: String,
}

/// `(English, French)` wordings of a stopped invocation, `{}` holes as in the API's messages.
const TRAPS: &[(&str, &str, &str)] = &[
    ("stopped: it ran longer than its deadline of {} ms", "elle a dépassé son temps de calcul maximal ({0} ms).", "it ran longer than its {0} ms limit."),
    (
        "stopped: stack overflow (recursion too deep)",
        "elle s'est arrêtée sur une récursion trop profonde (une erreur dans l'extension).",
        "it stopped on a recursion too deep (a bug in the extension).",
    ),
    (
        "stopped: out-of-bounds memory access (a recursion deeper than its stack, or a bug in the plugin)",
        "elle s'est arrêtée sur un accès mémoire invalide (une erreur dans l'extension).",
        "it stopped on an invalid memory access (a bug in the extension).",
    ),
    ("stopped: it ran out of memory (limit {} MiB)", "elle a manqué de mémoire (limite de {0} Mio).", "it ran out of memory ({0} MiB limit)."),
];

fn failure_text(outcome: &str, error: Option<&str>, lang: Locale) -> String {
    let error = error.unwrap_or_default();
    if outcome == "trap" {
        for (english, fr, en) in TRAPS {
            if let Some(text) = crate::http::api::admin_messages::words(english, if lang == Locale::Fr { fr } else { en }, error) {
                return text;
            }
        }
        return pick(lang, "elle s'est arrêtée de façon inattendue.", "it stopped unexpectedly.");
    }
    // The plugin's own explanation, as it gave it.
    let said = error.trim();
    if said.is_empty() {
        return pick(lang, "elle a signalé une erreur sans explication.", "it reported an error without explanation.");
    }
    match lang {
        Locale::Fr => format!("elle a répondu : « {said} »"),
        Locale::En => format!("it answered: “{said}”"),
    }
}

/// What a receipt was doing, in words.
fn during_text(kind: &str, target: &str, actions: &HashMap<String, String>, lang: Locale) -> String {
    match kind {
        "run_action" | "action_run" => match actions.get(target) {
            Some(label) => pick(lang, &format!("Pendant l'action « {label} »"), &format!("During the “{label}” action")),
            None => pick(lang, "Pendant une action", "During an action"),
        },
        "filter" => pick(lang, "Pendant la vérification d'une fiche enregistrée", "While checking a record being saved"),
        "action" => pick(lang, "En réagissant à un changement", "While reacting to a change"),
        "route" => pick(lang, "En répondant à une adresse web", "While answering a web address"),
        "panel" => pick(lang, "En affichant un panneau", "While showing a panel"),
        "lifecycle" => pick(lang, "À l'installation ou à la mise à jour", "On install or upgrade"),
        _ => pick(lang, "Pendant un appel", "During a call"),
    }
}

fn speed_text(p95_us: i64, calls: i64, lang: Locale) -> Option<String> {
    if calls == 0 {
        return None;
    }
    let ms = (p95_us + 999) / 1000;
    Some(match lang {
        Locale::Fr => format!("95 % des appels ont répondu en moins de {ms} ms"),
        Locale::En => format!("95% of calls answered within {ms} ms"),
    })
}

async fn installed(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let lang = auth.locale();
    let tenant = &auth.tenant.tenant;
    let installed = state.plugins.installed_plugins(tenant).await?;
    let names: HashMap<String, String> = installed.iter().map(|p| (p.plugin.clone(), plugin_name(&p.name, lang, &p.plugin))).collect();
    let plugins: Vec<Value> = installed
        .iter()
        .map(|p| {
            let (calls, errors, p95) = p.health.as_ref().map_or((0, 0, 0), |h| (h.invocations, h.failures, h.p95_us));
            json!({
                "plugin": p.plugin,
                "name": names.get(&p.plugin),
                "version": p.version,
                "active": p.status == "active",
                "calls": calls,
                "errors": errors,
                "speed": (calls > 0).then(|| format!("{} ms", (p95 + 999) / 1000)),
                "installed": at(&auth, p.installed_at),
            })
        })
        .collect();
    let operations: Vec<Value> = state.marketplace.store().operations(tenant.id, 100).await?.iter().map(|o| operation(o, &names, &auth)).collect();
    let (_, lock) = state.marketplace.current_lock(tenant.id).await?;
    render(&state, &auth, "plugins", "admin/plugins.html", json!({ "plugins": plugins, "operations": operations, "lock": lock.to_toml() })).await
}

/// An operation on the tenant's plugins in words: what it did to each plugin, and how it ended.
fn operation(o: &crate::marketplace::store::Operation, names: &HashMap<String, String>, auth: &Authenticated) -> Value {
    let lang = auth.locale();
    let versions = |text: &str| -> Vec<(String, String)> {
        Lockfile::parse(text).map(|l| l.plugins.into_iter().map(|p| (p.id, p.version.to_string())).collect()).unwrap_or_default()
    };
    let (before, after) = (versions(&o.from_lock), versions(&o.to_lock));
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let mut changes = Vec::new();
    for (id, version) in &after {
        match before.iter().find(|(b, _)| b == id) {
            None => changes.push(pick(lang, &format!("{} installée (version {version})", name(id)), &format!("{} installed (version {version})", name(id)))),
            Some((_, old)) if old != version => changes.push(format!("{} : {old} → {version}", name(id))),
            _ => {}
        }
    }
    for (id, _) in before.iter().filter(|(b, _)| !after.iter().any(|(a, _)| a == b)) {
        changes.push(pick(lang, &format!("{} désinstallée", name(id)), &format!("{} uninstalled", name(id))));
    }
    let kind = match (o.kind.as_str(), lang) {
        ("install", Locale::Fr) => "Installation",
        ("upgrade", Locale::Fr) => "Mise à jour",
        ("rollback", Locale::Fr) => "Retour en arrière",
        ("uninstall", Locale::Fr) => "Désinstallation",
        (_, Locale::Fr) => "Changement d'extensions",
        ("install", Locale::En) => "Install",
        ("upgrade", Locale::En) => "Upgrade",
        ("rollback", Locale::En) => "Roll back",
        ("uninstall", Locale::En) => "Uninstall",
        (_, Locale::En) => "Change of extensions",
    };
    let (state, ok) = match (o.state.as_str(), lang) {
        ("done", _) => (pick(lang, "terminé", "done"), true),
        ("applying", _) => (pick(lang, "en cours", "in progress"), true),
        (_, _) => (pick(lang, "annulé, rien n'a changé", "cancelled, nothing changed"), false),
    };
    let changes = if changes.is_empty() { pick(lang, "aucun changement", "no change") } else { changes.join(", ") };
    json!({ "when": at(auth, o.started_at), "kind": kind, "changes": changes, "state": state, "ok": ok })
}

async fn plugin(State(state): State<AppState>, UiUser(auth): UiUser, Path(plugin): Path<String>) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let lang = auth.locale();
    let detail = state.plugins.plugin_detail(&auth.tenant.tenant, &plugin).await?;
    let vocabulary = vocabulary(&collections(&state, &auth).await, lang);
    let grants = grant_groups(detail.grants.iter().map(|g| (g.grant.key.as_str(), &g.grant.reason, g.grant.risk, g.granted)), &vocabulary, lang);
    let health = match &detail.health {
        Some(h) => {
            let last = state.plugins.store().receipts(auth.tenant.tenant.id, &plugin, 200).await?.into_iter().find(|r| r.outcome != "ok");
            let actions: HashMap<String, String> = detail.actions.iter().map(|a| (a.name.clone(), a.label.get(lang.as_str()).to_owned())).collect();
            Some(Health {
                calls: h.invocations,
                errors: h.failures,
                denials: h.denials,
                speed: speed_text(h.p95_us, h.invocations, lang),
                last_error: last.map(|r| LastError {
                    when: at(&auth, r.started_at),
                    during: during_text(&r.kind, &r.target, &actions, lang),
                    what: failure_text(&r.outcome, r.error.as_deref(), lang),
                }),
            })
        }
        None => None,
    };
    render(&state, &auth, "plugins", "admin/plugin.html", json!({ "plugin": detail, "grants": grants, "health": health })).await
}

async fn approvals(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let lang = auth.locale();
    let inbox = state.marketplace.approval_inbox(&auth.tenant.tenant).await?;
    let installed = state.plugins.installed_plugins(&auth.tenant.tenant).await?;
    let vocabulary = vocabulary(&collections(&state, &auth).await, lang);
    let approvals: Vec<Value> = inbox
        .iter()
        .map(|item| {
            let id = &item.approval.plugin_id;
            let name = installed.iter().find(|p| &p.plugin == id).map_or_else(|| id.clone(), |p| plugin_name(&p.name, lang, id));
            let grants = grant_groups(item.adds.iter().map(|a| (a.key.as_str(), &a.reason, a.risk, false)), &vocabulary, lang);
            json!({ "id": item.approval.id, "name": name, "version": item.approval.version, "grants": grants })
        })
        .collect();
    render(&state, &auth, "approvals", "admin/approvals.html", json!({ "approvals": approvals })).await
}

/// Updates, rollbacks and approvals waiting, newest first (also sent by mail).
async fn notifications(State(state): State<AppState>, UiUser(auth): UiUser) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let lang = auth.locale();
    let installed = state.plugins.installed_plugins(&auth.tenant.tenant).await?;
    let list: Vec<Value> = state
        .marketplace
        .store()
        .notifications(auth.tenant.tenant.id, false, 200)
        .await?
        .into_iter()
        .map(|n| {
            let name = installed.iter().find(|p| p.plugin == n.plugin_id).map_or_else(|| n.plugin_id.clone(), |p| plugin_name(&p.name, lang, &n.plugin_id));
            json!({ "id": n.id, "name": name, "version": n.version, "message": n.message, "when": at(&auth, n.created_at), "unread": n.read_at.is_none() })
        })
        .collect();
    render(&state, &auth, "notifications", "admin/notifications.html", json!({ "notifications": list })).await
}

// ---- the journal ----

async fn audit(State(state): State<AppState>, UiUser(auth): UiUser, Query(query): Query<AuditQuery>) -> Result<Response, ApiError> {
    admin(&state, &auth).await?;
    let lang = auth.locale();
    let tenant = &auth.tenant.tenant;
    let page = audit::page(state.audit.as_ref(), tenant.id, &query).await?;
    let members = state.accounts.members(tenant.id).await?;
    let roles = state.accounts.roles(tenant.id).await?;
    let installed = state.plugins.installed_plugins(tenant).await?;
    let collections = collections(&state, &auth).await;
    let mut names = journal::Names {
        users: members.iter().map(|m| (m.user.id, m.user.display_name.clone())).collect(),
        emails: members.iter().map(|m| (m.user.email.to_lowercase(), m.user.display_name.clone())).collect(),
        roles: roles.iter().map(|r| (r.role.key.clone(), r.role.name(lang).to_owned())).collect(),
        plugins: installed.iter().map(|p| (p.plugin.clone(), plugin_name(&p.name, lang, &p.plugin))).collect(),
        collections: collections.iter().map(|c| (c.name.clone(), c)).collect(),
        titles: HashMap::new(),
        tenant: (tenant.slug.to_string(), tenant.name.clone()),
        vocabulary: vocabulary(&collections, lang),
    };
    names.titles = record_titles(&state, &auth, &collections, journal::records_named(&page.entries)).await;
    let moment = |ms: i64| at(&auth, ms);
    let rows: Vec<Value> = journal::rows(&page.entries, &names, lang, &moment)
        .into_iter()
        .map(|row| {
            let href = row.target.as_ref().and_then(|t| t.path.as_deref()).map(|p| auth.tenant.link(p));
            json!({ "row": row, "href": href })
        })
        .collect();
    let families: Vec<Value> = journal::FAMILIES
        .iter()
        .map(|(prefix, fr, en)| json!({ "prefix": prefix, "label": pick(lang, fr, en), "selected": query.action_prefix.as_deref() == Some(*prefix) }))
        .collect();
    let next = page.next_before.map(|before| match &query.action_prefix {
        Some(prefix) => format!("?action={}&before={before}", urlencoding(prefix)),
        None => format!("?before={before}"),
    });
    render(&state, &auth, "audit", "admin/audit.html", json!({ "rows": rows, "families": families, "next": next, "filtered": query.action_prefix.is_some() }))
        .await
}

/// Encodes a filter value for a link (prefixes are lowercase words and dots; anything else is
/// percent-encoded).
fn urlencoding(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Titles of the records the journal names, as the administrator may read them (one query per
/// collection; records named without their collection are looked for in each).
async fn record_titles(state: &AppState, auth: &Authenticated, collections: &[CollectionDef], named: Vec<(Option<String>, String)>) -> HashMap<String, String> {
    let mut wanted: HashMap<&str, Vec<Value>> = HashMap::new();
    let loose: Vec<Value> = named.iter().filter(|(c, _)| c.is_none()).map(|(_, id)| Value::String(id.clone())).collect();
    for (collection, id) in &named {
        if let Some(c) = collection {
            wanted.entry(c.as_str()).or_default().push(Value::String(id.clone()));
        }
    }
    if !loose.is_empty() {
        for c in collections {
            wanted.entry(c.name.as_str()).or_default().extend(loose.iter().cloned());
        }
    }
    let caller = auth.caller();
    let mut titles = HashMap::new();
    for (name, mut ids) in wanted {
        let Some(def) = collections.iter().find(|c| c.name == name) else { continue };
        ids.retain(|v| v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()));
        ids.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        ids.dedup();
        ids.truncate(records::query::MAX_LIMIT as usize);
        if ids.is_empty() {
            continue;
        }
        let query = records::Query {
            filters: vec![records::Filter { field: "id".into(), op: records::Op::In, value: Value::Array(ids.clone()) }],
            limit: Some(ids.len() as u32),
            ..records::Query::default()
        };
        if let Ok(page) = state.records.query(&caller, name, &query).await {
            for record in page.items {
                let id = record.id.to_string();
                titles.insert(id.clone(), super::fields::title(def, &id, &record.data));
            }
        }
    }
    titles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugins_failures_read_as_words() {
        let fr = Locale::Fr;
        assert_eq!(
            failure_text("trap", Some("stopped: it ran longer than its deadline of 2000 ms"), fr),
            "elle a dépassé son temps de calcul maximal (2000 ms)."
        );
        assert_eq!(failure_text("trap", Some("stopped: it ran out of memory (limit 64 MiB)"), fr), "elle a manqué de mémoire (limite de 64 Mio).");
        assert_eq!(failure_text("trap", Some("stopped: wasm trap: integer divide by zero"), fr), "elle s'est arrêtée de façon inattendue.");
        assert_eq!(failure_text("error", Some("le numéro n'existe pas chez l'opérateur"), fr), "elle a répondu : « le numéro n'existe pas chez l'opérateur »");
        let actions = HashMap::from([("suspend".to_owned(), "Suspendre la ligne".to_owned())]);
        assert_eq!(during_text("run_action", "suspend", &actions, fr), "Pendant l'action « Suspendre la ligne »");
        assert_eq!(during_text("filter", "check_line", &actions, fr), "Pendant la vérification d'une fiche enregistrée");
        assert_eq!(speed_text(1_500, 10, fr).as_deref(), Some("95 % des appels ont répondu en moins de 2 ms"));
        assert_eq!(speed_text(0, 0, fr), None);
    }

    #[test]
    fn prices_read_as_amounts() {
        assert_eq!(price_text(&Pricing::Free, Locale::Fr), "gratuit");
        assert_eq!(price_text(&Pricing::Monthly { cents: 1990, currency: "EUR".into() }, Locale::Fr), "19,90\u{a0}€ par mois");
        assert_eq!(price_text(&Pricing::Monthly { cents: 1990, currency: "EUR".into() }, Locale::En), "€19.90 per month");
        assert_eq!(price_text(&Pricing::PerUse { millicents: 500, currency: "EUR".into() }, Locale::Fr), "0,005\u{a0}€ par appel");
    }

    #[test]
    fn grants_group_under_their_reason_as_sentences() {
        let vocabulary = Vocabulary { collections: HashMap::from([("site".to_owned(), "Sites".to_owned()), ("contact".to_owned(), "Contacts".to_owned())]) };
        let why = Label::Plain("Rattacher les lignes".into());
        let mail = Label::Plain("Prévenir le client".into());
        let groups =
            grant_groups([("records_read:site", &why, 2, true), ("records_read:contact", &why, 2, false), ("mail", &mail, 5, true)], &vocabulary, Locale::Fr);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].reason, "Rattacher les lignes");
        assert_eq!(groups[0].items.iter().map(|i| i.sentence.as_str()).collect::<Vec<_>>(), ["Lire les sites", "Lire les contacts"]);
        assert_eq!((groups[1].items[0].sentence.as_str(), groups[1].items[0].risk_label.as_str()), ("Envoyer des e-mails", "risque modéré"));
        assert_eq!(groups[0].items[1].key, "records_read:contact", "the form still sends the key");
    }

    #[test]
    fn contrast_warnings_say_what_to_fix() {
        let theme = ThemeTokens { primary: socle_tenants::Color::parse("#f1c40f").unwrap(), ..ThemeTokens::default() };
        let notes = contrast_notes(&theme, Locale::Fr);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].text.starts_with("Couleur principale #f1c40f : les liens"), "{}", notes[0].text);
        assert!(notes[0].text.contains("4,5:1") && notes[0].text.contains("Choisissez une teinte plus foncée"), "{}", notes[0].text);
    }
}
