//! What a plugin adds to each person's workspace: **navigation** (groups of collections and views,
//! ordered, each shown only to who holds its permission) and the **home page's widgets** (counts,
//! short lists, charts and shortcuts over its collections and views).
//!
//! Both are declared, like views: the portal renders them, checks every permission and read right
//! for the person looking, and never runs plugin code to draw a home page. A collection a plugin's
//! navigation leaves out is reached from its parent's page (replies from their ticket).
//!
//! Two pseudo-permissions target people rather than rights: `equipe` (the tenant's team: every
//! user who is not a client) and `client` (the tenant's clients only).
//!
//! ```toml
//! [[navigation]]
//! name = "support"
//! label = { fr = "Support", en = "Support" }
//! order = 10
//! items = [{ collection = "helpdesk.ticket" }, { view = "urgents" }]
//!
//! [[widgets]]
//! name = "tickets_par_statut"
//! kind = "chart"
//! label = { fr = "Tickets par statut", en = "Tickets by status" }
//! collection = "helpdesk.ticket"
//! group_by = "status"
//! permission = "equipe"
//! ```

use serde::{Deserialize, Serialize};

use crate::schema::{Label, SchemaError, check_permission};

/// The pseudo-permission held by the tenant's clients only (its opposite, `equipe`, by everyone
/// else).
pub const CLIENT_ONLY: &str = "client";

/// Values a view's or widget's filter may take from the person looking: their e-mail address
/// (`assignee = "$me.email"`) and, for a client, their customer account.
pub const PERSONAL_VALUES: &[&str] = &["$me.email", "$me.account"];

/// Most items in one navigation group.
pub const MAX_NAV_ITEMS: usize = 20;
/// Most rows a list widget shows.
pub const MAX_WIDGET_ROWS: u32 = 20;

/// A group of the navigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavGroupDef {
    /// Name (unique in the plugin).
    pub name: String,
    /// Heading.
    pub label: Label,
    /// Lower comes first (groups of every plugin and the core's are sorted together).
    #[serde(default = "default_order")]
    pub order: i32,
    /// Permission a person needs to see the group (`equipe`, `client` or a permission key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// Entries, in order. Each is shown only to who may read its collection (and see its view).
    pub items: Vec<NavItemDef>,
}

/// One entry of a navigation group: a collection's list, or one of the plugin's views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavItemDef {
    /// A collection (the plugin's own, or one it may read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// A view of the plugin, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// Text shown instead of the collection's or view's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
}

/// What a widget shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetKind {
    /// How many records match, linking to them.
    Count,
    /// The first few records that match.
    List,
    /// How many records match per value of a field (an enum, a yes/no or a reference), as bars.
    Chart,
    /// A link: the collection's creation form, or the view.
    Shortcut,
}

/// A widget of the home page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetDef {
    /// Name (unique in the plugin).
    pub name: String,
    /// What it shows.
    pub kind: WidgetKind,
    /// Title.
    pub label: Label,
    /// The collection it is about.
    pub collection: String,
    /// One of the plugin's views on that collection: its filters, sort and columns apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<String>,
    /// Charts: the field whose values are counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// Lists: how many records (1 to 20, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Permission a person needs to see it (`equipe`, `client` or a permission key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// Lower comes first.
    #[serde(default = "default_order")]
    pub order: i32,
}

fn default_order() -> i32 {
    100
}

/// A collection's fields by name, each with whether a chart can group by it.
pub type ChartableFields = Vec<(String, bool)>;

/// What the validation needs to know about the rest of the manifest.
pub struct Context<'a> {
    /// Whether the plugin may name `collection` (its own, or one it may read).
    pub may_read: &'a dyn Fn(&str) -> bool,
    /// The collection of the plugin's view `name`, if it declares one.
    pub view_collection: &'a dyn Fn(&str) -> Option<String>,
    /// The fields of the plugin's own collection `name` (`None` for other collections: checked
    /// when the page is drawn).
    pub own_fields: &'a dyn Fn(&str) -> Option<ChartableFields>,
}

fn check_name(name: &str, path: &str) -> Result<(), SchemaError> {
    let valid = (1..=40).contains(&name.len())
        && name.as_bytes()[0].is_ascii_lowercase()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid { Ok(()) } else { Err(SchemaError::new(path, format!("`{name}` is not a name: lowercase letters, digits and `_`, starting with a letter"))) }
}

fn check_permission_at(permission: &Option<String>, path: &str) -> Result<(), SchemaError> {
    match permission {
        Some(p) => check_permission(p).map_err(|m| SchemaError::new(path, m)),
        None => Ok(()),
    }
}

/// Checks the navigation groups and widgets of a manifest.
pub fn validate(navigation: &[NavGroupDef], widgets: &[WidgetDef], cx: &Context<'_>) -> Result<(), SchemaError> {
    let mut names = std::collections::BTreeSet::new();
    for (i, group) in navigation.iter().enumerate() {
        let at = format!("navigation[{i}]");
        check_name(&group.name, &format!("{at}.name"))?;
        if !names.insert(&group.name) {
            return Err(SchemaError::new(format!("{at}.name"), format!("`{}` names two navigation groups", group.name)));
        }
        group.label.check(&format!("{at}.label"))?;
        check_permission_at(&group.permission, &format!("{at}.permission"))?;
        if group.items.is_empty() || group.items.len() > MAX_NAV_ITEMS {
            return Err(SchemaError::new(format!("{at}.items"), format!("a group holds 1 to {MAX_NAV_ITEMS} entries")));
        }
        for (j, item) in group.items.iter().enumerate() {
            let at = format!("{at}.items[{j}]");
            if let Some(label) = &item.label {
                label.check(&format!("{at}.label"))?;
            }
            match (&item.collection, &item.view) {
                (Some(collection), None) => {
                    if !(cx.may_read)(collection) {
                        return Err(SchemaError::new(
                            format!("{at}.collection"),
                            format!("`{collection}` is neither a collection of the plugin nor one it declares `records_read` on"),
                        ));
                    }
                }
                (None, Some(view)) => {
                    if (cx.view_collection)(view).is_none() {
                        return Err(SchemaError::new(format!("{at}.view"), format!("the plugin declares no view `{view}` (see `[[views]]`)")));
                    }
                }
                _ => return Err(SchemaError::new(at, "an entry names either a `collection` or a `view`, not both".to_owned())),
            }
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, widget) in widgets.iter().enumerate() {
        let at = format!("widgets[{i}]");
        check_name(&widget.name, &format!("{at}.name"))?;
        if !names.insert(&widget.name) {
            return Err(SchemaError::new(format!("{at}.name"), format!("`{}` names two widgets", widget.name)));
        }
        widget.label.check(&format!("{at}.label"))?;
        check_permission_at(&widget.permission, &format!("{at}.permission"))?;
        if !(cx.may_read)(&widget.collection) {
            return Err(SchemaError::new(
                format!("{at}.collection"),
                format!("`{}` is neither a collection of the plugin nor one it declares `records_read` on", widget.collection),
            ));
        }
        if let Some(view) = &widget.view {
            match (cx.view_collection)(view) {
                None => return Err(SchemaError::new(format!("{at}.view"), format!("the plugin declares no view `{view}` (see `[[views]]`)"))),
                Some(c) if c != widget.collection => {
                    return Err(SchemaError::new(format!("{at}.view"), format!("the view `{view}` is on `{c}`, not on `{}`", widget.collection)));
                }
                Some(_) => {}
            }
        }
        if let Some(limit) = widget.limit
            && !(1..=MAX_WIDGET_ROWS).contains(&limit)
        {
            return Err(SchemaError::new(format!("{at}.limit"), format!("a list widget shows 1 to {MAX_WIDGET_ROWS} records")));
        }
        match (widget.kind, &widget.group_by) {
            (WidgetKind::Chart, None) => {
                return Err(SchemaError::new(format!("{at}.group_by"), "a chart counts records per value of a field: name it in `group_by`".to_owned()));
            }
            (WidgetKind::Chart, Some(field)) => {
                if let Some(fields) = (cx.own_fields)(&widget.collection) {
                    match fields.iter().find(|(name, _)| name == field) {
                        None => {
                            return Err(SchemaError::new(format!("{at}.group_by"), format!("`{}` has no field `{field}`", widget.collection)));
                        }
                        Some((_, false)) => {
                            return Err(SchemaError::new(
                                format!("{at}.group_by"),
                                format!("`{field}` cannot be charted: choose a single-choice, yes/no or reference field"),
                            ));
                        }
                        Some(_) => {}
                    }
                }
            }
            (_, Some(_)) => return Err(SchemaError::new(format!("{at}.group_by"), "only charts group records".to_owned())),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx_check(navigation: &str) -> Result<(), SchemaError> {
        #[derive(Deserialize)]
        struct File {
            #[serde(default)]
            navigation: Vec<NavGroupDef>,
            #[serde(default)]
            widgets: Vec<WidgetDef>,
        }
        let file: File = toml::from_str(navigation).unwrap();
        let cx = Context {
            may_read: &|c| c == "shop.order" || c == "customer_account",
            view_collection: &|v| (v == "late").then(|| "shop.order".to_owned()),
            own_fields: &|c| (c == "shop.order").then(|| vec![("status".to_owned(), true), ("notes".to_owned(), false)]),
        };
        validate(&file.navigation, &file.widgets, &cx)
    }

    #[test]
    fn a_complete_workspace_is_accepted() {
        cx_check(
            r#"
[[navigation]]
name = "sales"
label = "Ventes"
permission = "equipe"
items = [{ collection = "shop.order" }, { view = "late", label = "En retard" }, { collection = "customer_account" }]

[[widgets]]
name = "by_status"
kind = "chart"
label = "Commandes par statut"
collection = "shop.order"
group_by = "status"

[[widgets]]
name = "late"
kind = "list"
label = "En retard"
collection = "shop.order"
view = "late"
limit = 8
permission = "client"
"#,
        )
        .unwrap();
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("[[navigation]]\nname = \"a\"\nlabel = \"A\"\nitems = [{ collection = \"shop.invoice\" }]", "navigation[0].items[0].collection"),
            ("[[navigation]]\nname = \"a\"\nlabel = \"A\"\nitems = [{ view = \"missing\" }]", "navigation[0].items[0].view"),
            ("[[navigation]]\nname = \"a\"\nlabel = \"A\"\nitems = []", "navigation[0].items"),
            ("[[navigation]]\nname = \"a\"\nlabel = \"A\"\nitems = [{ view = \"late\", collection = \"shop.order\" }]", "navigation[0].items[0]"),
            ("[[widgets]]\nname = \"w\"\nkind = \"chart\"\nlabel = \"W\"\ncollection = \"shop.order\"", "widgets[0].group_by"),
            ("[[widgets]]\nname = \"w\"\nkind = \"chart\"\nlabel = \"W\"\ncollection = \"shop.order\"\ngroup_by = \"notes\"", "widgets[0].group_by"),
            ("[[widgets]]\nname = \"w\"\nkind = \"chart\"\nlabel = \"W\"\ncollection = \"shop.order\"\ngroup_by = \"nope\"", "widgets[0].group_by"),
            ("[[widgets]]\nname = \"w\"\nkind = \"list\"\nlabel = \"W\"\ncollection = \"shop.order\"\nlimit = 0", "widgets[0].limit"),
            ("[[widgets]]\nname = \"w\"\nkind = \"count\"\nlabel = \"W\"\ncollection = \"customer_account\"\nview = \"late\"", "widgets[0].view"),
            ("[[widgets]]\nname = \"w\"\nkind = \"count\"\nlabel = \"W\"\ncollection = \"shop.order\"\npermission = \"Voir\"", "widgets[0].permission"),
        ];
        for (text, path) in cases {
            let err = cx_check(text).unwrap_err();
            assert_eq!(err.path, path, "{text}: {err}");
        }
    }
}
