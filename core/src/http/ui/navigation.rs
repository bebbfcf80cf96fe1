//! The portal's navigation, built for the person looking: the core's groups and every installed
//! plugin's (`[[navigation]]`, see [`socle_marketplace::workspace`]), ordered, each group and
//! entry shown only to who holds its permission and may read its collection. A collection no
//! navigation lists is reached from its parent (a ticket's replies from the ticket); a tenant's
//! own collections, and those of a plugin that declares no navigation, get a group of their own.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use socle_marketplace::manifest::ViewDef;
use socle_marketplace::schema::{CollectionDef, Label};
use socle_marketplace::workspace::{NavGroupDef, WidgetDef};

use crate::http::error::ApiError;
use crate::http::extract::Authenticated;
use crate::http::state::AppState;

/// The core's own navigation groups and home widgets (`core/schema/workspace.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreWorkspace {
    /// Groups.
    #[serde(default)]
    pub navigation: Vec<NavGroupDef>,
    /// Widgets.
    #[serde(default)]
    pub widgets: Vec<WidgetDef>,
}

/// The core's workspace, parsed once (the file is compiled in and tested).
pub fn core_workspace() -> &'static CoreWorkspace {
    static CORE: OnceLock<CoreWorkspace> = OnceLock::new();
    CORE.get_or_init(|| match toml::from_str(include_str!("../../../schema/workspace.toml")) {
        Ok(workspace) => workspace,
        Err(err) => panic!("core/schema/workspace.toml is invalid: {err}"),
    })
}

/// One entry of the navigation.
#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    /// Link.
    pub href: String,
    /// Text.
    pub label: String,
    /// The current page.
    pub current: bool,
    /// The plugin view it opens (`<plugin>/<view>`), if it is one.
    #[serde(skip)]
    pub view: Option<String>,
}

/// A group of the navigation as shown.
#[derive(Debug, Clone, Serialize)]
pub struct NavGroup {
    /// Heading.
    pub label: String,
    /// Entries.
    pub items: Vec<NavItem>,
}

/// Where a group comes from: the core (`None`) or a plugin, for its views' keys.
struct Source<'a> {
    plugin: Option<&'a str>,
    views: &'a [ViewDef],
    group: &'a NavGroupDef,
}

/// The navigation of `auth`, with `current` (a collection name) marked.
pub async fn navigation(state: &AppState, auth: &Authenticated, current: &str) -> Result<Vec<NavGroup>, ApiError> {
    let lang = auth.locale().as_str();
    let caller = auth.caller();
    let readable = state.records.collections(&caller).await?;
    let installed = state.plugins.installed(auth.tenant.tenant.id).await?;

    let mut sources: Vec<Source<'_>> = core_workspace().navigation.iter().map(|group| Source { plugin: None, views: &[], group }).collect();
    // Plugins without navigation of their own: one group of their collections, named after them.
    let mut fallback: Vec<(&str, NavGroupDef)> = Vec::new();
    for plugin in installed.iter() {
        if plugin.manifest.navigation.is_empty() {
            if !plugin.manifest.collections.is_empty() {
                let items = plugin
                    .manifest
                    .collections
                    .iter()
                    .map(|c| socle_marketplace::workspace::NavItemDef { collection: Some(c.name.clone()), view: None, label: None })
                    .collect();
                fallback.push((
                    plugin.id.as_str(),
                    NavGroupDef { name: plugin.id.clone(), label: plugin.manifest.plugin.name.clone(), order: 200, permission: None, items },
                ));
            }
        } else {
            sources.extend(plugin.manifest.navigation.iter().map(|group| Source { plugin: Some(plugin.id.as_str()), views: &plugin.manifest.views, group }));
        }
    }
    sources.extend(fallback.iter().map(|(plugin, group)| Source { plugin: Some(plugin), views: &[], group }));
    sources.sort_by(|a, b| a.group.order.cmp(&b.group.order).then_with(|| a.group.label.get(lang).cmp(b.group.label.get(lang))));

    let mut placed = BTreeSet::new();
    let mut groups = Vec::new();
    for source in sources {
        if let Some(permission) = &source.group.permission
            && !state.records.holds(&caller, permission).await?
        {
            continue;
        }
        let mut items = Vec::new();
        for item in &source.group.items {
            if let Some(entry) = entry(state, auth, &readable, &source, item, current, lang).await? {
                if item.view.is_none() && !placed.insert(entry.1.clone()) {
                    continue;
                }
                items.push(entry.0);
            }
        }
        if !items.is_empty() {
            groups.push(NavGroup { label: source.group.label.get(lang).to_owned(), items });
        }
    }
    // The tenant's own collections, which no navigation lists.
    let others: Vec<NavItem> = readable
        .iter()
        .filter(|c| c.name.starts_with("custom."))
        .filter(|c| !placed.contains(&c.name))
        .map(|c| collection_item(auth, c, None, current, lang))
        .collect();
    if !others.is_empty() {
        groups.push(NavGroup { label: crate::i18n::text(auth.locale(), "nav_other").to_owned(), items: others });
    }
    Ok(groups)
}

fn collection_item(auth: &Authenticated, def: &CollectionDef, label: Option<&Label>, current: &str, lang: &str) -> NavItem {
    NavItem {
        href: auth.tenant.link(&format!("/c/{}", def.name)),
        label: label.unwrap_or(&def.label).get(lang).to_owned(),
        current: def.name == current,
        view: None,
    }
}

/// One entry for `auth`, with the collection it opens; `None` when they may not see it.
async fn entry(
    state: &AppState,
    auth: &Authenticated,
    readable: &[CollectionDef],
    source: &Source<'_>,
    item: &socle_marketplace::workspace::NavItemDef,
    current: &str,
    lang: &str,
) -> Result<Option<(NavItem, String)>, ApiError> {
    if let Some(name) = &item.collection {
        return Ok(readable.iter().find(|c| &c.name == name).map(|def| (collection_item(auth, def, item.label.as_ref(), current, lang), def.name.clone())));
    }
    let (Some(plugin), Some(view_name)) = (source.plugin, &item.view) else { return Ok(None) };
    let Some(view) = source.views.iter().find(|v| &v.name == view_name) else { return Ok(None) };
    if !readable.iter().any(|c| c.name == view.collection) {
        return Ok(None);
    }
    if let Some(permission) = &view.permission
        && !state.records.holds(&auth.caller(), permission).await?
    {
        return Ok(None);
    }
    let key = format!("{plugin}/{}", view.name);
    let href =
        format!("{}?view={}", auth.tenant.link(&format!("/c/{}", view.collection)), url::form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>());
    Ok(Some((
        NavItem { href, label: item.label.as_ref().unwrap_or(&view.label).get(lang).to_owned(), current: false, view: Some(key) },
        view.collection.clone(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_workspace_is_valid() {
        let core = core_workspace();
        let schema = crate::records::registry::core_schema();
        let known = |c: &str| schema.collections.iter().any(|def| def.name == c);
        let cx = socle_marketplace::workspace::Context { may_read: &known, view_collection: &|_| None, own_fields: &|_| None };
        socle_marketplace::workspace::validate(&core.navigation, &core.widgets, &cx).unwrap();
        assert!(!core.navigation.is_empty());
    }
}
