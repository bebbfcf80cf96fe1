//! The collection schema: how a collection of records is declared — typed fields with rules and
//! permissions, a workflow with timers, typed links, notifications. The core declares its shared
//! CRM collections in this format and plugins declare theirs in their manifests.
//!
//! ```
//! use socle_marketplace::schema::SchemaFile;
//! let file = SchemaFile::parse(r#"
//! [[collections]]
//! name = "site"
//! label = { fr = "Site", en = "Site" }
//! [[collections.fields]]
//! name = "city"
//! type = "text"
//! label = "Ville"
//! required = true
//! "#).unwrap();
//! assert_eq!(file.collections[0].fields[0].name, "city");
//! ```

pub mod compute;
mod value;
mod workflow;

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use value::{MAX_TEXT_LEN, format_datetime, normalize_value};
pub use workflow::{Effect, StateDef, TimerDef, TransitionDef, WorkflowDef, parse_duration};

/// A schema error: where (`collections[2].fields[0].type`, or `file:line:column`) and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SchemaError {
    /// Location of the problem.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl SchemaError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

/// A text in French and (optionally) English. Written either `"Texte"` or `{ fr = "…", en = "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Label {
    /// The same text in every language.
    Plain(String),
    /// Per language.
    Localized {
        /// French (required: French first).
        fr: String,
        /// English.
        #[serde(default)]
        en: Option<String>,
    },
}

impl Label {
    /// The text in `lang` (`fr` or `en`), falling back to French.
    pub fn get(&self, lang: &str) -> &str {
        match self {
            Label::Plain(text) => text,
            Label::Localized { fr, en } => match (lang, en) {
                ("en", Some(en)) => en,
                _ => fr,
            },
        }
    }

    pub(crate) fn check(&self, path: &str) -> Result<(), SchemaError> {
        let fr = self.get("fr");
        if fr.trim().is_empty() || fr.chars().count() > 200 {
            return Err(SchemaError::new(path, "labels must be 1 to 200 characters"));
        }
        Ok(())
    }
}

impl Default for Label {
    fn default() -> Self {
        Label::Plain(String::new())
    }
}

/// The type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Free text (`max_length`, `multiline`).
    Text,
    /// A number (`min`, `max`, `decimals`).
    Number,
    /// An amount in integer minor units with a currency: `{ "amount": 1990, "currency": "EUR" }`.
    Money,
    /// A calendar date `YYYY-MM-DD`.
    Date,
    /// An instant, normalised to UTC `YYYY-MM-DDTHH:MM:SS.sssZ`.
    Datetime,
    /// One of `values` (several with `multiple`).
    Enum,
    /// True or false.
    Bool,
    /// An email address.
    Email,
    /// A phone number, normalised to E.164 (`+33…`; French national numbers are converted).
    Phone,
    /// The id of a record of `collection` in the same tenant (several with `multiple`).
    Reference,
    /// An uploaded file: `{ "id": …, "name": …, "size": …, "content_type": … }`.
    File,
}

impl FieldType {
    /// The type's name in schemas.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Money => "money",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Enum => "enum",
            Self::Bool => "bool",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Reference => "reference",
            Self::File => "file",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value of an enum field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    /// Stored key.
    pub key: String,
    /// Displayed label.
    pub label: Label,
    /// Optional colour hint for badges (`#rrggbb`).
    #[serde(default)]
    pub color: Option<String>,
}

/// A field of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Key in the record's data: lowercase letters, digits and `_`, starting with a letter.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Displayed label.
    pub label: Label,
    /// Help text shown under the input.
    #[serde(default)]
    pub help: Option<Label>,
    /// A value must be present on create and cannot be removed.
    #[serde(default)]
    pub required: bool,
    /// No two records of the collection (in one tenant) share a value.
    #[serde(default)]
    pub unique: bool,
    /// Indexed for filters and sorts (unique and reference fields always are).
    #[serde(default)]
    pub index: bool,
    /// Included in global search.
    #[serde(default)]
    pub searchable: bool,
    /// Set when absent on create.
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// Permission needed to receive the field (absent from results otherwise), e.g. `voir_marge`.
    #[serde(default)]
    pub read_permission: Option<String>,
    /// Permission needed to set the field.
    #[serde(default)]
    pub write_permission: Option<String>,
    /// A formula over the collection's number and money fields (`sale_price - purchase_price`):
    /// the field is derived, recomputed on every write and never typed in (see [`compute`]).
    /// Whoever may not read one of its inputs may not read it either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<String>,
    /// Several values (enum, reference, file).
    #[serde(default)]
    pub multiple: bool,
    /// Text: longest value accepted (default and ceiling: 10 000 characters).
    #[serde(default)]
    pub max_length: Option<u32>,
    /// Text: shown as a multi-line area.
    #[serde(default)]
    pub multiline: bool,
    /// Number: smallest value.
    #[serde(default)]
    pub min: Option<f64>,
    /// Number: largest value.
    #[serde(default)]
    pub max: Option<f64>,
    /// Number: decimal places kept (0 for integers).
    #[serde(default)]
    pub decimals: Option<u8>,
    /// Money: the only currency accepted (ISO 4217), if fixed.
    #[serde(default)]
    pub currency: Option<String>,
    /// Enum: the values.
    #[serde(default)]
    pub values: Vec<EnumValue>,
    /// Reference: the target collection.
    #[serde(default)]
    pub collection: Option<String>,
    /// File: accepted MIME types (`image/*` allowed); empty accepts any.
    #[serde(default)]
    pub accept: Vec<String>,
    /// File: largest size in bytes (default 25 MiB).
    #[serde(default)]
    pub max_bytes: Option<u64>,
}

impl FieldDef {
    /// Whether queries can filter and sort on the field with an index.
    pub fn is_indexed(&self) -> bool {
        self.index || self.unique || self.field_type == FieldType::Reference
    }

    /// The label in `lang`.
    pub fn label(&self, lang: &str) -> &str {
        self.label.get(lang)
    }
}

/// A typed link a collection's records may have to another collection's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkDef {
    /// Link kind, e.g. `tickets`.
    pub kind: String,
    /// Target collection.
    pub to: String,
    /// Displayed label.
    pub label: Label,
}

/// When a notification mail goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyOn {
    /// A record was created.
    Create,
    /// A record was changed (including transitions).
    Update,
    /// A record moved through a workflow transition.
    Transition,
}

/// A mail sent when records change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationDef {
    /// Which changes.
    pub on: Vec<NotifyOn>,
    /// Recipient: an email field of the record, or a reference field to a record with an
    /// `email` field.
    pub to: String,
    /// Mail template key (`record_changed` is built in).
    #[serde(default = "default_template")]
    pub template: String,
    /// Skip the mail when the recipient made the change.
    #[serde(default = "yes")]
    pub skip_own_changes: bool,
}

fn default_template() -> String {
    "record_changed".into()
}

fn yes() -> bool {
    true
}

/// A collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionDef {
    /// `name` for the core's collections, `<plugin>.<name>` for a plugin's.
    pub name: String,
    /// Displayed name (plural).
    pub label: Label,
    /// Displayed name of one record.
    #[serde(default)]
    pub label_one: Option<Label>,
    /// What the collection holds.
    #[serde(default)]
    pub description: Option<Label>,
    /// Field shown as the record's title.
    #[serde(default)]
    pub title_field: Option<String>,
    /// Another collection whose fields this one starts from.
    #[serde(default)]
    pub extends: Option<String>,
    /// Permission needed to see the collection at all.
    #[serde(default)]
    pub read_permission: Option<String>,
    /// Permission needed to create, change or delete its records.
    #[serde(default)]
    pub write_permission: Option<String>,
    /// For users of type `client`: the reference field to the customer account their records must
    /// belong to (`id` for the customer account collection itself). A collection without one is
    /// hidden from them.
    #[serde(default)]
    pub scope_field: Option<String>,
    /// Fields.
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    /// Workflow.
    #[serde(default)]
    pub workflow: Option<WorkflowDef>,
    /// Typed links to other collections.
    #[serde(default)]
    pub links: Vec<LinkDef>,
    /// Notification mails.
    #[serde(default)]
    pub notifications: Vec<NotificationDef>,
    /// The columns of the collection's list when no view says which (after the title); the
    /// first few plain fields when absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list_columns: Vec<String>,
}

/// Fields added to another collection (a plugin adding fields to a core collection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionExtension {
    /// The collection extended.
    pub collection: String,
    /// The fields added.
    pub fields: Vec<FieldDef>,
}

/// A file of collections (`[[collections]]`) and extensions (`[[extensions]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaFile {
    /// Collections.
    #[serde(default)]
    pub collections: Vec<CollectionDef>,
    /// Extensions of other collections.
    #[serde(default)]
    pub extensions: Vec<CollectionExtension>,
}

impl SchemaFile {
    /// Parses and validates a TOML schema; errors carry `line:column` or the path of the field.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let file: SchemaFile = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        for (i, collection) in file.collections.iter().enumerate() {
            collection.validate().map_err(|e| SchemaError::new(format!("collections[{i}] ({}).{}", collection.name, e.path), e.message))?;
        }
        for (i, extension) in file.extensions.iter().enumerate() {
            check_collection_name(&extension.collection).map_err(|m| SchemaError::new(format!("extensions[{i}].collection"), m))?;
            let mut seen = BTreeSet::new();
            for (j, field) in extension.fields.iter().enumerate() {
                validate_field(field).map_err(|e| SchemaError::new(format!("extensions[{i}].fields[{j}].{}", e.path), e.message))?;
                if !seen.insert(&field.name) {
                    return Err(SchemaError::new(format!("extensions[{i}].fields[{j}].name"), format!("`{}` is declared twice", field.name)));
                }
            }
        }
        Ok(file)
    }
}

/// A TOML error with its line and column.
pub fn toml_error(text: &str, err: &toml::de::Error) -> SchemaError {
    let path = err
        .span()
        .map(|span| {
            let before = &text[..span.start.min(text.len())];
            format!("line {}, column {}", before.matches('\n').count() + 1, before.rsplit('\n').next().map_or(0, str::len) + 1)
        })
        .unwrap_or_else(|| "schema".into());
    SchemaError::new(path, err.message().to_owned())
}

fn is_identifier(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty() && bytes.len() <= 63 && bytes[0].is_ascii_lowercase() && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// Checks a collection name: `name` or `plugin.name`, each part an identifier.
pub fn check_collection_name(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|p| is_identifier(p)) {
        return Err(format!(
            "`{name}` is not a collection name: use lowercase letters, digits and `_` (e.g. `site`), prefixed by the plugin id for plugins (`helpdesk.ticket`)"
        ));
    }
    Ok(())
}

/// Checks a permission key.
pub fn check_permission(key: &str) -> Result<(), String> {
    let valid = !key.is_empty() && key.len() <= 100 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if valid { Ok(()) } else { Err(format!("`{key}` is not a permission key (lowercase letters, digits, `_` and `.`)")) }
}

/// Field names every record has; a schema cannot declare them.
pub const RESERVED_FIELDS: &[&str] = &["id", "collection", "version", "created_at", "updated_at", "created_by", "updated_by", "state"];

fn validate_field(field: &FieldDef) -> Result<(), SchemaError> {
    let err = |path: &str, message: String| Err(SchemaError::new(path, message));
    if !is_identifier(&field.name) {
        return err("name", format!("`{}` is not a field name: lowercase letters, digits and `_`, starting with a letter", field.name));
    }
    if RESERVED_FIELDS.contains(&field.name.as_str()) {
        return err("name", format!("`{}` is reserved for the record itself", field.name));
    }
    field.label.check("label")?;
    let t = field.field_type;
    let only = |present: bool, key: &str, types: &[FieldType]| -> Result<(), SchemaError> {
        if present && !types.contains(&t) {
            let names: Vec<&str> = types.iter().map(FieldType::as_str).collect();
            return Err(SchemaError::new(key, format!("`{key}` only applies to {} fields, not {t}", names.join(" and "))));
        }
        Ok(())
    };
    only(field.max_length.is_some(), "max_length", &[FieldType::Text])?;
    only(field.multiline, "multiline", &[FieldType::Text])?;
    only(field.min.is_some(), "min", &[FieldType::Number])?;
    only(field.max.is_some(), "max", &[FieldType::Number])?;
    only(field.decimals.is_some(), "decimals", &[FieldType::Number])?;
    only(field.currency.is_some(), "currency", &[FieldType::Money])?;
    only(!field.values.is_empty(), "values", &[FieldType::Enum])?;
    only(field.collection.is_some(), "collection", &[FieldType::Reference])?;
    only(!field.accept.is_empty(), "accept", &[FieldType::File])?;
    only(field.max_bytes.is_some(), "max_bytes", &[FieldType::File])?;
    only(field.multiple, "multiple", &[FieldType::Enum, FieldType::Reference, FieldType::File])?;
    if field.unique && field.multiple {
        return err("unique", "a field with several values cannot be unique".into());
    }
    if field.unique && matches!(t, FieldType::File | FieldType::Bool) {
        return err("unique", format!("{t} fields cannot be unique"));
    }
    if let Some(max) = field.max_length
        && (max == 0 || max as usize > MAX_TEXT_LEN)
    {
        return err("max_length", format!("must be between 1 and {MAX_TEXT_LEN}"));
    }
    if let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        return err("min", format!("min ({min}) is greater than max ({max})"));
    }
    if field.decimals.is_some_and(|d| d > 9) {
        return err("decimals", "at most 9 decimal places".into());
    }
    if let Some(currency) = &field.currency
        && (currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return err("currency", format!("`{currency}` is not an ISO 4217 code like EUR"));
    }
    match t {
        FieldType::Enum => {
            if field.values.is_empty() {
                return err("values", "an enum field needs its values, e.g. values = [{ key = \"ouvert\", label = \"Ouvert\" }]".into());
            }
            let mut keys = BTreeSet::new();
            for (i, v) in field.values.iter().enumerate() {
                if !is_identifier(&v.key) {
                    return err(&format!("values[{i}].key"), format!("`{}` is not a valid key (lowercase letters, digits, `_`)", v.key));
                }
                if !keys.insert(&v.key) {
                    return err(&format!("values[{i}].key"), format!("`{}` appears twice", v.key));
                }
                v.label.check(&format!("values[{i}].label"))?;
            }
        }
        FieldType::Reference => {
            let Some(target) = &field.collection else {
                return err("collection", "a reference field names the collection it points to".into());
            };
            check_collection_name(target).map_err(|m| SchemaError::new("collection", m))?;
        }
        _ => {}
    }
    for (key, permission) in [("read_permission", &field.read_permission), ("write_permission", &field.write_permission)] {
        if let Some(p) = permission {
            check_permission(p).map_err(|m| SchemaError::new(key, m))?;
        }
    }
    if let Some(default) = &field.default {
        normalize_value(field, default).map_err(|m| SchemaError::new("default", m))?;
    }
    Ok(())
}

impl CollectionDef {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The label of one record in `lang`.
    pub fn label_one(&self, lang: &str) -> &str {
        self.label_one.as_ref().unwrap_or(&self.label).get(lang)
    }

    /// Checks the collection on its own (references to other collections are checked when the
    /// registry assembles every collection of a tenant).
    pub fn validate(&self) -> Result<(), SchemaError> {
        check_collection_name(&self.name).map_err(|m| SchemaError::new("name", m))?;
        self.label.check("label")?;
        if let Some(extends) = &self.extends {
            check_collection_name(extends).map_err(|m| SchemaError::new("extends", m))?;
        }
        let mut names = BTreeSet::new();
        for (i, field) in self.fields.iter().enumerate() {
            validate_field(field).map_err(|e| SchemaError::new(format!("fields[{i}].{}", e.path), e.message))?;
            if !names.insert(field.name.as_str()) {
                return Err(SchemaError::new(format!("fields[{i}].name"), format!("`{}` is declared twice", field.name)));
            }
        }
        if self.fields.len() > 200 {
            return Err(SchemaError::new("fields", "at most 200 fields per collection"));
        }
        // With `extends`, fields may come from the parent: checked after assembly.
        if self.extends.is_none() {
            self.validate_field_references()?;
        }
        for (key, permission) in [("read_permission", &self.read_permission), ("write_permission", &self.write_permission)] {
            if let Some(p) = permission {
                check_permission(p).map_err(|m| SchemaError::new(key, m))?;
            }
        }
        for (i, link) in self.links.iter().enumerate() {
            if !is_identifier(&link.kind) {
                return Err(SchemaError::new(format!("links[{i}].kind"), format!("`{}` is not a valid link kind", link.kind)));
            }
            check_collection_name(&link.to).map_err(|m| SchemaError::new(format!("links[{i}].to"), m))?;
            link.label.check(&format!("links[{i}].label"))?;
        }
        Ok(())
    }

    /// Checks that everything naming a field of this collection names one that exists (title,
    /// scope, workflow, notifications). Run on the assembled collection.
    pub fn validate_field_references(&self) -> Result<(), SchemaError> {
        if let Some(title) = &self.title_field
            && self.field(title).is_none()
        {
            return Err(SchemaError::new("title_field", format!("`{title}` is not a field of this collection")));
        }
        for (i, column) in self.list_columns.iter().enumerate() {
            if self.field(column).is_none() {
                return Err(SchemaError::new(format!("list_columns[{i}]"), format!("`{column}` is not a field of this collection")));
            }
        }
        if let Some(scope) = self.scope_field.as_ref().filter(|s| *s != "id") {
            match self.field(scope) {
                Some(f) if f.field_type == FieldType::Reference && !f.multiple => {}
                _ => return Err(SchemaError::new("scope_field", format!("`{scope}` must be a single reference field of this collection"))),
            }
        }
        compute::check_formulas(self)?;
        if let Some(workflow) = &self.workflow {
            workflow.validate(self).map_err(|e| SchemaError::new(format!("workflow.{}", e.path), e.message))?;
        }
        for (i, n) in self.notifications.iter().enumerate() {
            match self.field(&n.to) {
                Some(f) if matches!(f.field_type, FieldType::Email | FieldType::Reference) => {}
                _ => {
                    return Err(SchemaError::new(
                        format!("notifications[{i}].to"),
                        format!("`{}` must be an email field or a reference field of this collection", n.to),
                    ));
                }
            }
            if n.on.is_empty() {
                return Err(SchemaError::new(format!("notifications[{i}].on"), "name at least one of create, update, transition"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
