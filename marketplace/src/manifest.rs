//! The plugin manifest, `socle.toml`: who the plugin is, what it needs (host API range,
//! dependencies, capabilities with a reason each), what it brings (collections, hooks, actions,
//! panels, settings) and what data it stores. Validated with errors that name the field and line.
//!
//! ```
//! let manifest = socle_marketplace::manifest::Manifest::parse(r#"
//! [plugin]
//! id = "hello"
//! version = "1.0.0"
//! publisher = "acme"
//! name = "Hello"
//! description = "Says hello"
//! api = "^1.0"
//!
//! [[capabilities]]
//! capability = "kv"
//! reason = "Remember who was greeted"
//! "#).unwrap();
//! assert_eq!(manifest.plugin.id, "hello");
//! ```

use std::collections::BTreeSet;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::schema::{CollectionDef, CollectionExtension, FieldDef, Label, SchemaError, SchemaFile, check_collection_name, check_permission};
use crate::workspace::{NavGroupDef, WidgetDef};

/// A parsed and validated manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Identity.
    pub plugin: PluginInfo,
    /// Other plugins this one needs, by id, with a semver range.
    #[serde(default)]
    pub dependencies: std::collections::BTreeMap<String, VersionReq>,
    /// Host capabilities requested, each with a reason.
    #[serde(default)]
    pub capabilities: Vec<CapabilityRequest>,
    /// Collections the plugin brings (named `<plugin id>.<name>`).
    #[serde(default)]
    pub collections: Vec<CollectionDef>,
    /// Fields added to other collections (named `<plugin id>_<name>`).
    #[serde(default)]
    pub extensions: Vec<CollectionExtension>,
    /// Hook subscriptions.
    #[serde(default)]
    pub hooks: Vec<HookDef>,
    /// Actions on records.
    #[serde(default)]
    pub actions: Vec<ActionDef>,
    /// Panels shown in the portal.
    #[serde(default)]
    pub panels: Vec<PanelDef>,
    /// Views of the plugin's collections (list columns, filters, form layout).
    #[serde(default)]
    pub views: Vec<ViewDef>,
    /// Navigation groups the plugin adds to the portal (see [`crate::workspace`]).
    #[serde(default)]
    pub navigation: Vec<NavGroupDef>,
    /// Widgets the plugin adds to home pages (see [`crate::workspace`]).
    #[serde(default)]
    pub widgets: Vec<WidgetDef>,
    /// The tenant's settings for the plugin, rendered as a form.
    #[serde(default)]
    pub settings: Vec<SettingDef>,
    /// Kinds of data the plugin stores (shown to administrators before install).
    #[serde(default)]
    pub data_classes: Vec<DataClass>,
    /// Price.
    #[serde(default)]
    pub pricing: Pricing,
}

/// `[plugin]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginInfo {
    /// Lowercase letters, digits and `_`, 2 to 40 characters, starting with a letter.
    pub id: String,
    /// Semantic version.
    pub version: Version,
    /// Publisher account.
    pub publisher: String,
    /// Displayed name.
    pub name: Label,
    /// What it does.
    pub description: Label,
    /// Catalogue categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Business vertical (telecom, helpdesk, vidange, coworking, resort…), if any.
    #[serde(default)]
    pub vertical: Option<String>,
    /// Host API versions the plugin works with.
    pub api: VersionReq,
    /// Licence (SPDX).
    #[serde(default)]
    pub license: Option<String>,
    /// Project or support page.
    #[serde(default)]
    pub homepage: Option<String>,
}

/// A capability and why the plugin needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawCapability")]
pub struct CapabilityRequest {
    /// What is asked.
    #[serde(flatten)]
    pub capability: Capability,
    /// Why, for the administrator who approves it.
    pub reason: Label,
}

/// The flat TOML form of a capability request, checked key by key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapability {
    capability: String,
    reason: Label,
    #[serde(default)]
    collections: Option<Vec<String>>,
    #[serde(default)]
    hosts: Option<Vec<String>>,
    #[serde(default)]
    permissions: Option<Vec<String>>,
    #[serde(default)]
    connectors: Option<Vec<String>>,
}

impl TryFrom<RawCapability> for CapabilityRequest {
    type Error = String;

    fn try_from(raw: RawCapability) -> Result<Self, String> {
        let RawCapability { capability, reason, collections, hosts, permissions, connectors } = raw;
        let expect = |name: &str, list: Option<Vec<String>>| list.ok_or_else(|| format!("`{capability}` needs `{name}`"));
        let extra = |present: bool, name: &str| if present { Err(format!("`{name}` does not apply to `{capability}`")) } else { Ok(()) };
        if connectors.is_some() && capability != "connectors" {
            return Err(format!("`connectors` does not apply to `{capability}`"));
        }
        let parsed = match capability.as_str() {
            "connectors" => {
                extra(collections.is_some(), "collections")?;
                extra(hosts.is_some(), "hosts")?;
                extra(permissions.is_some(), "permissions")?;
                Capability::Connectors { connectors: expect("connectors", connectors)? }
            }
            "records_read" | "records_write" | "files_read" => {
                extra(hosts.is_some(), "hosts")?;
                extra(permissions.is_some(), "permissions")?;
                let collections = expect("collections", collections)?;
                match capability.as_str() {
                    "records_read" => Capability::RecordsRead { collections },
                    "records_write" => Capability::RecordsWrite { collections },
                    _ => Capability::FilesRead { collections },
                }
            }
            "http" => {
                extra(collections.is_some(), "collections")?;
                extra(permissions.is_some(), "permissions")?;
                Capability::Http { hosts: expect("hosts", hosts)? }
            }
            "permissions" => {
                extra(collections.is_some(), "collections")?;
                extra(hosts.is_some(), "hosts")?;
                Capability::Permissions { permissions: expect("permissions", permissions)? }
            }
            "events" | "kv" | "config" | "mail" => {
                extra(collections.is_some(), "collections")?;
                extra(hosts.is_some(), "hosts")?;
                extra(permissions.is_some(), "permissions")?;
                match capability.as_str() {
                    "events" => Capability::Events,
                    "kv" => Capability::Kv,
                    "config" => Capability::Config,
                    _ => Capability::Mail,
                }
            }
            other => {
                return Err(format!(
                    "`{other}` is not a capability; use records_read, records_write, files_read, events, kv, config, http, mail, permissions or connectors"
                ));
            }
        };
        Ok(Self { capability: parsed, reason })
    }
}

/// Host capabilities a plugin may ask for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "capability", rename_all = "snake_case")]
pub enum Capability {
    /// Read records of these collections.
    RecordsRead {
        /// Collection names (`*` for all).
        collections: Vec<String>,
    },
    /// Create, change and delete records of these collections.
    RecordsWrite {
        /// Collection names.
        collections: Vec<String>,
    },
    /// Emit events.
    Events,
    /// The plugin's private key-value store.
    Kv,
    /// The tenant's settings and secrets for the plugin.
    Config,
    /// Outbound HTTP to these hosts.
    Http {
        /// Host names (`api.example.fr`), no wildcards.
        hosts: Vec<String>,
    },
    /// Send mails.
    Mail,
    /// Hold business permissions (to read fields such as margins).
    Permissions {
        /// Permission keys (`voir_marge`).
        permissions: Vec<String>,
    },
    /// Call operator and billing systems through these platform connectors (host API 1.1).
    Connectors {
        /// Connector names (`alphalink`, `cfast`…), as the platform configures them.
        connectors: Vec<String>,
    },
    /// Read the content of the files attached to records of these collections (host API 1.2).
    FilesRead {
        /// Collection names (never `*`: file contents are asked for collection by collection).
        collections: Vec<String>,
    },
}

impl Capability {
    /// A short name for receipts and messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RecordsRead { .. } => "records_read",
            Self::RecordsWrite { .. } => "records_write",
            Self::Events => "events",
            Self::Kv => "kv",
            Self::Config => "config",
            Self::Http { .. } => "http",
            Self::Mail => "mail",
            Self::Permissions { .. } => "permissions",
            Self::Connectors { .. } => "connectors",
            Self::FilesRead { .. } => "files_read",
        }
    }

    /// The capability one target at a time (each collection, host, permission or connector), as
    /// a tenant grants it; a capability without targets comes back whole, with no target.
    pub fn per_target(&self) -> Vec<(Option<String>, Capability)> {
        let targets = match self {
            Self::RecordsRead { collections } | Self::RecordsWrite { collections } | Self::FilesRead { collections } => collections,
            Self::Http { hosts } => hosts,
            Self::Permissions { permissions } => permissions,
            Self::Connectors { connectors } => connectors,
            Self::Events | Self::Kv | Self::Config | Self::Mail => return vec![(None, self.clone())],
        };
        targets
            .iter()
            .map(|t| {
                let one = vec![t.clone()];
                let capability = match self {
                    Self::RecordsRead { .. } => Self::RecordsRead { collections: one },
                    Self::RecordsWrite { .. } => Self::RecordsWrite { collections: one },
                    Self::FilesRead { .. } => Self::FilesRead { collections: one },
                    Self::Http { .. } => Self::Http { hosts: one },
                    Self::Permissions { .. } => Self::Permissions { permissions: one },
                    Self::Connectors { .. } => Self::Connectors { connectors: one },
                    other => other.clone(),
                };
                (Some(t.clone()), capability)
            })
            .collect()
    }

    /// A risk score (0–10) shown to reviewers and administrators: what harm the capability could
    /// do if the plugin misbehaved.
    pub fn risk(&self) -> u8 {
        match self {
            Self::Kv | Self::Events => 1,
            Self::Config => 2,
            Self::RecordsRead { collections } if collections.iter().any(|c| c == "*") => 6,
            Self::RecordsRead { .. } => 3,
            Self::Mail => 5,
            Self::RecordsWrite { collections } if collections.iter().any(|c| c == "*") => 9,
            Self::RecordsWrite { .. } => 5,
            Self::Http { .. } => 7,
            Self::Permissions { permissions } if permissions.iter().any(|p| p == "administrer") => 10,
            Self::Permissions { .. } => 6,
            // Acts on the tenant's contracts with operators (suspend, terminate, order).
            Self::Connectors { .. } => 7,
            // Documents users upload (invoices, contracts) are often more sensitive than fields.
            Self::FilesRead { .. } => 4,
        }
    }
}

/// When a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    /// Inside the write, may change or veto it.
    Filter,
    /// After commit, from the outbox.
    Action,
}

/// A hook subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookDef {
    /// Name passed to the plugin.
    pub name: String,
    /// Filter or action.
    pub kind: HookKind,
    /// Collection watched.
    pub collection: String,
    /// Filters: `create`, `update`, `delete`. Actions: `record.created`, `record.updated`,
    /// `record.deleted`, `record.transitioned`, or a workflow event (`sla.breached`).
    pub on: Vec<String>,
    /// Lower runs first (filters).
    #[serde(default)]
    pub priority: i32,
}

/// An action on records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDef {
    /// Name.
    pub name: String,
    /// Button label.
    pub label: Label,
    /// Collection it acts on.
    pub collection: String,
    /// Offered on several selected records.
    #[serde(default)]
    pub mass: bool,
    /// Permission a user needs to run it.
    #[serde(default)]
    pub permission: Option<String>,
    /// Parameters asked before running (a form).
    #[serde(default)]
    pub params: Vec<FieldDef>,
}

/// A panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PanelDef {
    /// Name.
    pub name: String,
    /// Title.
    pub label: Label,
    /// Shown on records of this collection (or on the home page when absent).
    #[serde(default)]
    pub collection: Option<String>,
    /// Permission a user needs to see it (`equipe`: the tenant's team, never its clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// A view of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewDef {
    /// Name.
    pub name: String,
    /// Title.
    pub label: Label,
    /// Collection.
    pub collection: String,
    /// List columns.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Filters applied (the query shape).
    #[serde(default)]
    pub filters: Vec<serde_json::Value>,
    /// Sort, `field` or `-field`.
    #[serde(default)]
    pub sort: Option<String>,
    /// Permission a user needs to see it (`equipe`: an internal view the tenant's clients never
    /// see).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
}

/// A setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SettingDef {
    /// The field (the schema's field format).
    #[serde(flatten)]
    pub field: FieldDef,
    /// Stored as a secret: never shown back, never logged.
    #[serde(default)]
    pub secret: bool,
}

/// Kinds of data stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Names, emails, phones of people.
    Personal,
    /// Prices, invoices, bank details.
    Financial,
    /// Data of the business (tickets, lines…).
    Business,
    /// Credentials to other systems.
    Credentials,
}

/// How the plugin is priced.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pricing {
    /// Free.
    #[default]
    Free,
    /// A monthly price per tenant, in cents.
    Monthly {
        /// Cents per month.
        cents: u64,
        /// ISO 4217.
        #[serde(default = "euro")]
        currency: String,
    },
    /// A price per invocation, in thousandths of a cent.
    PerUse {
        /// Millicents per call.
        millicents: u64,
        /// ISO 4217.
        #[serde(default = "euro")]
        currency: String,
    },
}

fn euro() -> String {
    "EUR".into()
}

/// Hook events an action hook can subscribe to besides workflow events.
pub const RECORD_EVENTS: &[&str] = &["record.created", "record.updated", "record.deleted", "record.transitioned"];

/// Ids no plugin may take: `custom.*` collections are the tenant's own, the others name the
/// platform's parts.
pub const RESERVED_IDS: &[&str] = &["custom", "core", "socle", "system", "platform", "plugin", "plugins"];

fn is_plugin_id(id: &str) -> bool {
    (2..=40).contains(&id.len()) && id.as_bytes()[0].is_ascii_lowercase() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A connector name: 2 to 40 lowercase letters, digits, `-` and `_` (`alphalink`, `3cx`).
pub fn is_connector_name(name: &str) -> bool {
    (2..=40).contains(&name.len())
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn is_host(host: &str) -> bool {
    if host == "localhost" {
        // Development only: the runtime refuses it unless the node allows private hosts.
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        && !labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

impl Manifest {
    /// Parses `socle.toml` and validates it.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| crate::schema::toml_error(text, &e))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The plugin's collections and extensions as a schema fragment.
    pub fn schema(&self) -> SchemaFile {
        SchemaFile { collections: self.collections.clone(), extensions: self.extensions.clone() }
    }

    /// The capabilities, with the plugin's own collections (implicitly read and written).
    pub fn effective_capabilities(&self) -> Vec<Capability> {
        let mut capabilities: Vec<Capability> = self.capabilities.iter().map(|c| c.capability.clone()).collect();
        let own: Vec<String> = self.collections.iter().map(|c| c.name.clone()).collect();
        if !own.is_empty() {
            capabilities.push(Capability::RecordsWrite { collections: own });
        }
        capabilities
    }

    /// Checks everything that can be checked without other plugins.
    pub fn validate(&self) -> Result<(), SchemaError> {
        let err = |path: &str, message: String| Err(SchemaError::new(path, message));
        let id = &self.plugin.id;
        if !is_plugin_id(id) {
            return err("plugin.id", format!("`{id}` is not a plugin id: 2 to 40 lowercase letters, digits and `_`, starting with a letter"));
        }
        if RESERVED_IDS.contains(&id.as_str()) {
            return err("plugin.id", format!("`{id}` is reserved by the platform; choose another id"));
        }
        if !is_plugin_id(&self.plugin.publisher.replace('-', "_")) {
            return err("plugin.publisher", format!("`{}` is not a publisher account name", self.plugin.publisher));
        }
        for (path, label) in [("plugin.name", &self.plugin.name), ("plugin.description", &self.plugin.description)] {
            if label.get("fr").trim().is_empty() || label.get("fr").chars().count() > 500 {
                return err(path, "must be 1 to 500 characters".into());
            }
        }
        if self.plugin.categories.len() > 10 {
            return err("plugin.categories", "at most 10 categories".into());
        }
        for dep in self.dependencies.keys() {
            if !is_plugin_id(dep) {
                return err(&format!("dependencies.{dep}"), format!("`{dep}` is not a plugin id"));
            }
            if dep == id {
                return err(&format!("dependencies.{dep}"), "a plugin cannot depend on itself".into());
            }
        }
        let mut seen = BTreeSet::new();
        for (i, request) in self.capabilities.iter().enumerate() {
            let at = format!("capabilities[{i}]");
            if request.reason.get("fr").trim().len() < 5 {
                return err(&format!("{at}.reason"), "explain in a sentence why the plugin needs this capability".into());
            }
            if !seen.insert(request.capability.clone()) {
                return err(&at, "this capability is requested twice".into());
            }
            match &request.capability {
                Capability::RecordsRead { collections } | Capability::RecordsWrite { collections } => {
                    if collections.is_empty() {
                        return err(&format!("{at}.collections"), "name the collections".into());
                    }
                    for c in collections.iter().filter(|c| *c != "*") {
                        check_collection_name(c).map_err(|m| SchemaError::new(format!("{at}.collections"), m))?;
                    }
                }
                Capability::FilesRead { collections } => {
                    if collections.is_empty() || collections.iter().any(|c| c == "*") {
                        return err(&format!("{at}.collections"), "name the collections whose files the plugin reads (`*` is not allowed)".into());
                    }
                    for c in collections {
                        check_collection_name(c).map_err(|m| SchemaError::new(format!("{at}.collections"), m))?;
                        if !self.may_read(c) && !self.collections.iter().any(|own| &own.name == c) {
                            return err(
                                &format!("{at}.collections"),
                                format!("reading the files of `{c}` needs `records_read` on `{c}` (or `{c}` among the plugin's collections)"),
                            );
                        }
                    }
                }
                Capability::Http { hosts } => {
                    if hosts.is_empty() {
                        return err(&format!("{at}.hosts"), "name the hosts the plugin calls".into());
                    }
                    if let Some(bad) = hosts.iter().find(|h| !is_host(h)) {
                        return err(&format!("{at}.hosts"), format!("`{bad}` is not a host name (lowercase, no scheme, no wildcard, no IP address)"));
                    }
                }
                Capability::Permissions { permissions } => {
                    for p in permissions {
                        check_permission(p).map_err(|m| SchemaError::new(format!("{at}.permissions"), m))?;
                    }
                }
                Capability::Connectors { connectors } => {
                    if connectors.is_empty() {
                        return err(&format!("{at}.connectors"), "name the connectors the plugin calls".into());
                    }
                    if let Some(bad) = connectors.iter().find(|c| !is_connector_name(c)) {
                        return err(&format!("{at}.connectors"), format!("`{bad}` is not a connector name (lowercase letters, digits, `-` and `_`)"));
                    }
                }
                _ => {}
            }
        }
        for (i, collection) in self.collections.iter().enumerate() {
            if !collection.name.starts_with(&format!("{id}.")) {
                return err(&format!("collections[{i}].name"), format!("`{}` must be named `{id}.<name>`", collection.name));
            }
        }
        for (i, extension) in self.extensions.iter().enumerate() {
            for (j, field) in extension.fields.iter().enumerate() {
                if !field.name.starts_with(&format!("{id}_")) {
                    return err(
                        &format!("extensions[{i}].fields[{j}].name"),
                        format!("fields added to other collections are named `{id}_<name>` (got `{}`)", field.name),
                    );
                }
            }
        }
        self.schema_validate()?;
        let mut names = BTreeSet::new();
        for (i, hook) in self.hooks.iter().enumerate() {
            let at = format!("hooks[{i}]");
            if !names.insert(hook.name.clone()) {
                return err(&format!("{at}.name"), format!("`{}` is used twice", hook.name));
            }
            check_collection_name(&hook.collection).map_err(|m| SchemaError::new(format!("{at}.collection"), m))?;
            if hook.on.is_empty() {
                return err(&format!("{at}.on"), "name what the hook runs on".into());
            }
            for on in &hook.on {
                let valid = match hook.kind {
                    HookKind::Filter => ["create", "update", "delete"].contains(&on.as_str()),
                    HookKind::Action => RECORD_EVENTS.contains(&on.as_str()) || (on.contains('.') && on.len() <= 100),
                };
                if !valid {
                    return err(&format!("{at}.on"), format!("`{on}` is not something a {:?} hook can run on", hook.kind).to_lowercase());
                }
            }
            if !self.may_read(&hook.collection) {
                return err(&format!("{at}.collection"), format!("the plugin must declare `records_read` on `{}` to hook it", hook.collection));
            }
        }
        for (i, action) in self.actions.iter().enumerate() {
            if !names.insert(action.name.clone()) {
                return err(&format!("actions[{i}].name"), format!("`{}` is used twice", action.name));
            }
            if let Some(p) = &action.permission {
                check_permission(p).map_err(|m| SchemaError::new(format!("actions[{i}].permission"), m))?;
            }
        }
        for (kind, permissions) in
            [("panels", self.panels.iter().map(|p| &p.permission).collect::<Vec<_>>()), ("views", self.views.iter().map(|v| &v.permission).collect::<Vec<_>>())]
        {
            for (i, permission) in permissions.into_iter().enumerate() {
                if let Some(p) = permission {
                    check_permission(p).map_err(|m| SchemaError::new(format!("{kind}[{i}].permission"), m))?;
                }
            }
        }
        self.workspace_validate()?;
        for (i, setting) in self.settings.iter().enumerate() {
            if !setting.field.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return err(&format!("settings[{i}].name"), format!("`{}` is not a setting name", setting.field.name));
            }
        }
        Ok(())
    }

    fn workspace_validate(&self) -> Result<(), SchemaError> {
        let may_read = |c: &str| self.may_read(c);
        let view_collection = |v: &str| self.views.iter().find(|view| view.name == v).map(|view| view.collection.clone());
        let own_fields = |c: &str| {
            self.collections.iter().find(|own| own.name == c).map(|own| {
                own.fields
                    .iter()
                    .map(|f| {
                        let chartable = !f.multiple
                            && matches!(f.field_type, crate::schema::FieldType::Enum | crate::schema::FieldType::Bool | crate::schema::FieldType::Reference);
                        (f.name.clone(), chartable)
                    })
                    .collect()
            })
        };
        let cx = crate::workspace::Context { may_read: &may_read, view_collection: &view_collection, own_fields: &own_fields };
        crate::workspace::validate(&self.navigation, &self.widgets, &cx)
    }

    fn schema_validate(&self) -> Result<(), SchemaError> {
        let text = toml::to_string(&self.schema()).map_err(|e| SchemaError::new("collections", e.to_string()))?;
        SchemaFile::parse(&text).map(drop)
    }

    /// Whether the manifest lets the plugin read `collection`.
    pub fn may_read(&self, collection: &str) -> bool {
        self.effective_capabilities().iter().any(|c| match c {
            Capability::RecordsRead { collections } | Capability::RecordsWrite { collections } => collections.iter().any(|x| x == "*" || x == collection),
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[plugin]
id = "helpdesk"
version = "1.2.0"
publisher = "socle"
name = { fr = "Support client", en = "Helpdesk" }
description = "Tickets, SLA, base de connaissances"
categories = ["support"]
api = "^1.0"

[dependencies]
crm_extra = "^2.1"

[[capabilities]]
capability = "records_read"
collections = ["customer_account"]
reason = "Rattacher les tickets au compte client"

[[capabilities]]
capability = "http"
hosts = ["api.pennylane.com"]
reason = "Synchroniser les factures"

[[collections]]
name = "helpdesk.ticket"
label = "Tickets"
[[collections.fields]]
name = "subject"
type = "text"
label = "Objet"

[[hooks]]
name = "sla"
kind = "filter"
collection = "helpdesk.ticket"
on = ["create"]

[[settings]]
name = "sla_minutes"
type = "number"
label = "SLA (minutes)"
default = 240
"#;

    #[test]
    fn a_complete_manifest_parses_with_its_implicit_capabilities() {
        let m = Manifest::parse(GOOD).unwrap();
        assert_eq!(m.plugin.version.to_string(), "1.2.0");
        assert!(m.effective_capabilities().contains(&Capability::RecordsWrite { collections: vec!["helpdesk.ticket".into()] }));
        assert!(m.may_read("helpdesk.ticket") && m.may_read("customer_account") && !m.may_read("site"));
    }

    #[test]
    fn mistakes_name_the_field_and_line() {
        let cases = [
            (GOOD.replace("version = \"1.2.0\"", "version = \"1.2\""), "line 4"),
            (GOOD.replace("id = \"helpdesk\"", "id = \"Help Desk\""), "plugin.id"),
            (GOOD.replace("id = \"helpdesk\"", "id = \"custom\""), "plugin.id"),
            (GOOD.replace("hosts = [\"api.pennylane.com\"]", "hosts = [\"https://api.pennylane.com\"]"), "capabilities[1].hosts"),
            (GOOD.replace("reason = \"Synchroniser les factures\"", "reason = \"\""), "capabilities[1].reason"),
            (GOOD.replace("name = \"helpdesk.ticket\"", "name = \"ticket\""), "collections[0].name"),
            (GOOD.replace("collection = \"helpdesk.ticket\"\non = [\"create\"]", "collection = \"site\"\non = [\"create\"]"), "hooks[0].collection"),
            (GOOD.replace("on = [\"create\"]", "on = [\"created\"]"), "hooks[0].on"),
            (GOOD.replace("capability = \"http\"", "capability = \"shell\""), "line"),
        ];
        for (text, path) in cases {
            let err = Manifest::parse(&text).unwrap_err();
            assert!(err.path.starts_with(path), "expected {path}, got {err}");
        }
    }

    #[test]
    fn file_contents_are_requested_collection_by_collection() {
        let with = |collections: &str| {
            GOOD.replace(
                "[[collections]]",
                &format!(
                    "[[capabilities]]\ncapability = \"files_read\"\ncollections = {collections}\nreason = \"Lire les factures importées\"\n\n[[collections]]"
                ),
            )
        };
        let m = Manifest::parse(&with(r#"["helpdesk.ticket", "customer_account"]"#)).unwrap();
        let files = Capability::FilesRead { collections: vec!["helpdesk.ticket".into(), "customer_account".into()] };
        assert!(m.effective_capabilities().contains(&files));
        assert_eq!(files.kind(), "files_read");
        // Never every collection at once, and never one the plugin cannot read.
        let star = Manifest::parse(&with(r#"["*"]"#)).unwrap_err();
        assert!(star.path.ends_with(".collections") && star.message.contains("`*`"), "{star}");
        let unreadable = Manifest::parse(&with(r#"["site"]"#)).unwrap_err();
        assert!(unreadable.message.contains("needs `records_read` on `site`"), "{unreadable}");
    }

    #[test]
    fn connectors_are_requested_by_name() {
        let text = GOOD.replace(
            "[[collections]]",
            "[[capabilities]]\ncapability = \"connectors\"\nconnectors = [\"alphalink\", \"cfast\"]\nreason = \"Piloter les lignes chez l'opérateur\"\n\n[[collections]]",
        );
        let m = Manifest::parse(&text).unwrap();
        assert!(m.effective_capabilities().contains(&Capability::Connectors { connectors: vec!["alphalink".into(), "cfast".into()] }));
        assert_eq!(Capability::Connectors { connectors: vec![] }.kind(), "connectors");
        let bad = text.replace("\"cfast\"]", "\"https://cfast.fr\"]");
        assert!(Manifest::parse(&bad).unwrap_err().path.ends_with(".connectors"));
        let misplaced = GOOD.replace("hosts = [\"api.pennylane.com\"]", "hosts = [\"api.pennylane.com\"]\nconnectors = [\"cfast\"]");
        assert!(Manifest::parse(&misplaced).is_err());
    }

    #[test]
    fn risk_grows_with_what_a_capability_reaches() {
        assert!(Capability::Kv.risk() < Capability::RecordsRead { collections: vec!["site".into()] }.risk());
        assert!(Capability::RecordsWrite { collections: vec!["*".into()] }.risk() > Capability::Mail.risk());
        assert_eq!(Capability::Permissions { permissions: vec!["administrer".into()] }.risk(), 10);
    }
}
