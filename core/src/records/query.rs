//! The query shape shared by HTTP, the CLI and plugins — filters, sort, cursor pagination,
//! counts — and its translation to SQL for each backend. Field names come from the schema (never
//! from the caller verbatim into SQL); values are always bound.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socle_marketplace::schema::{CollectionDef, FieldDef, FieldType, normalize_value};

use socle_tenants::TenantId;

use super::{FieldError, RecordError};

/// Largest page.
pub const MAX_LIMIT: u32 = 500;
/// Default page.
pub const DEFAULT_LIMIT: u32 = 50;
const MAX_FILTERS: usize = 20;

/// A query over one collection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// All must match.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Sort (one field; ties broken by id). Default: newest first.
    #[serde(default)]
    pub sort: Option<Sort>,
    /// Page size (default 50, at most 500).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Also count every matching record.
    #[serde(default)]
    pub count: bool,
    /// Words every matching record's searchable text holds (as prefixes, accents and case
    /// folded): its title, searchable fields, the titles of the records it references, phone
    /// numbers however they are typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// A field of the collection, or `id`, `state`, `created_at`, `updated_at`.
    pub field: String,
    /// Comparison.
    #[serde(default)]
    pub op: Op,
    /// Value compared with (a list for `in`, a bool for `is_null`).
    pub value: Value,
}

/// Comparisons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal (for multi-valued fields: contains the value).
    #[default]
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// One of a list.
    In,
    /// Text contains, case-insensitive.
    Contains,
    /// Absent (`true`) or present (`false`).
    IsNull,
}

impl Op {
    /// Parses the name used in URLs (`eq`, `gte`, `in`…).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "in" => Self::In,
            "contains" => Self::Contains,
            "is_null" => Self::IsNull,
            _ => return None,
        })
    }
}

/// A sort.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sort {
    /// Field (or `created_at`, `updated_at`, `state`).
    pub field: String,
    /// Descending.
    #[serde(default)]
    pub desc: bool,
}

impl Sort {
    /// Parses `field` or `-field` (descending).
    pub fn parse(text: &str) -> Self {
        match text.strip_prefix('-') {
            Some(field) => Self { field: field.into(), desc: true },
            None => Self { field: text.into(), desc: false },
        }
    }
}

/// A bound SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// Text.
    Text(String),
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// Boolean.
    Bool(bool),
}

/// What a column expression holds, so each backend writes the right expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprKind {
    /// Text (and dates, ids, enums, emails, phones).
    Text,
    /// Numbers.
    Number,
    /// Money amounts (minor units).
    Amount,
    /// Booleans.
    Bool,
}

/// What differs between SQLite and PostgreSQL in generated SQL.
pub trait Dialect: Send + Sync {
    /// Expression reading a field out of `data`, identical to the one its index uses.
    fn field_expr(&self, name: &str, kind: ExprKind) -> String;
    /// Condition: the multi-valued field `name` contains the bound value `$n`.
    fn array_contains(&self, name: &str, placeholder: &str) -> String;
    /// The bound value of a "contains" condition for `needle`, as [`Dialect::contains`] reads it.
    fn contains_value(&self, needle: &str) -> String {
        needle.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
    }
    /// Case-insensitive "contains" on a text expression, with the bound value of
    /// [`Dialect::contains_value`] (by default lowercase and escaped for LIKE with `\\`).
    fn contains(&self, expr: &str, placeholder: &str) -> String;
    /// A placeholder compared with the `id` column (PostgreSQL stores UUIDs, binds text).
    fn id_param(&self, placeholder: &str) -> String {
        placeholder.to_owned()
    }
    /// The bound value of a [`Dialect::search`] condition: every term a prefix, all required,
    /// within the tenant `tenant` (its id in simple form).
    fn search_value(&self, tenant: &str, terms: &[String]) -> String;
    /// Condition: the record has a search document of `collection` matching `$match`, in one of
    /// the permission groups `$groups` (those the caller may read).
    fn search(&self, collection: &str, matching: &str, groups: &str) -> String;
    /// `NULLS FIRST`/`NULLS LAST` so both backends order the same way (nulls first ascending).
    fn nulls(&self, desc: bool) -> &'static str {
        if desc { " NULLS LAST" } else { " NULLS FIRST" }
    }
}

/// SQLite's SQL: JSON through `json_extract`.
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn field_expr(&self, name: &str, kind: ExprKind) -> String {
        match kind {
            ExprKind::Amount => format!("json_extract(data, '$.{name}.amount')"),
            _ => format!("json_extract(data, '$.{name}')"),
        }
    }

    fn array_contains(&self, name: &str, placeholder: &str) -> String {
        format!("EXISTS (SELECT 1 FROM json_each(data, '$.{name}') WHERE value = {placeholder})")
    }

    // SQLite's lower() and LIKE fold ASCII only ("ÉCRAN" would not contain "écran"): a
    // case-insensitive regular expression folds every letter.
    fn contains_value(&self, needle: &str) -> String {
        format!("(?i){}", regex::escape(needle))
    }

    fn contains(&self, expr: &str, placeholder: &str) -> String {
        format!("{expr} REGEXP {placeholder}")
    }

    // Terms are letters and digits only (see `search::terms`): safe inside a match expression.
    fn search_value(&self, tenant: &str, terms: &[String]) -> String {
        let words: Vec<String> = terms.iter().map(|t| format!("\"{t}\"*")).collect();
        format!("tenant_key : t{tenant} AND body : ({})", words.join(" AND "))
    }

    fn search(&self, collection: &str, matching: &str, groups: &str) -> String {
        format!(
            "id IN (SELECT d.record_id FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid \
             WHERE search_fts MATCH {matching} AND d.tenant_id = records.tenant_id AND d.collection = '{collection}' AND d.permission IN ({groups}))"
        )
    }
}

/// PostgreSQL's SQL: `jsonb` operators, with casts for numbers and booleans (the same
/// expressions as the indexes, so the indexes apply).
pub struct PgDialect;

impl Dialect for PgDialect {
    fn field_expr(&self, name: &str, kind: ExprKind) -> String {
        match kind {
            // The LEAKPROOF accessors of the field_accessors migration: with plain `->>` row-level
            // security would keep these conditions off the indexes.
            ExprKind::Text => format!("socle_text(data, '{name}')"),
            ExprKind::Number => format!("socle_number(data, '{name}')"),
            ExprKind::Bool => format!("socle_bool(data, '{name}')"),
            ExprKind::Amount => format!("socle_amount(data, '{name}')"),
        }
    }

    fn array_contains(&self, name: &str, placeholder: &str) -> String {
        format!("(data->'{name}') @> jsonb_build_array({placeholder})")
    }

    fn contains(&self, expr: &str, placeholder: &str) -> String {
        format!("{expr} ILIKE '%' || {placeholder} || '%' ESCAPE '\\'")
    }

    fn search_value(&self, _tenant: &str, terms: &[String]) -> String {
        terms.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ")
    }

    fn search(&self, collection: &str, matching: &str, groups: &str) -> String {
        format!(
            "id IN (SELECT d.record_id FROM search_docs d WHERE d.tenant_id = records.tenant_id AND d.collection = '{collection}' \
             AND d.permission IN ({groups}) AND d.tsv @@ to_tsquery('socle_french', {matching}))"
        )
    }

    fn id_param(&self, placeholder: &str) -> String {
        format!("{placeholder}::uuid")
    }
}

/// How a field is read in SQL.
pub fn expr_kind(field: &FieldDef) -> ExprKind {
    match field.field_type {
        FieldType::Number => ExprKind::Number,
        FieldType::Money => ExprKind::Amount,
        FieldType::Bool => ExprKind::Bool,
        _ => ExprKind::Text,
    }
}

/// Name of the index of a field (stable, at most 63 bytes for PostgreSQL).
pub fn index_name(collection: &str, field: &str, unique: bool) -> String {
    let prefix = if unique { "ux" } else { "rx" };
    let name = format!("{prefix}_{}__{field}", collection.replace('.', "_"));
    if name.len() <= 63 {
        return name;
    }
    use sha2::Digest as _;
    let digest = hex::encode(sha2::Sha256::digest(format!("{collection}.{field}").as_bytes()));
    format!("{prefix}_{}", &digest[..24])
}

/// A query checked against the collection, ready to become SQL.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// Collection name (inlined as a literal so partial indexes apply; it is validated).
    pub collection: String,
    /// Conditions in SQL with `{}` placeholders for numbering, and their values.
    conditions: Vec<(Condition, Vec<SqlValue>)>,
    order: Order,
    after: Option<Cursor>,
    /// Page size.
    pub limit: u32,
    /// Count every match too.
    pub count: bool,
}

#[derive(Debug, Clone)]
enum Condition {
    Compare {
        target: Target,
        op: Op,
        arity: usize,
    },
    ArrayContains {
        field: String,
    },
    IsNull {
        target: Target,
        null: bool,
    },
    /// Full-text search in the record's search documents (bound: the permission groups).
    Search {
        tenant: String,
        terms: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Target {
    Column(&'static str),
    Field(String, ExprKind),
}

#[derive(Debug, Clone)]
struct Order {
    target: Target,
    desc: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    /// Sort value of the last row (null when it had none).
    v: Value,
    /// Id of the last row.
    id: String,
}

fn builtin(field: &str) -> Option<(Target, ExprKind)> {
    Some(match field {
        "id" => (Target::Column("id"), ExprKind::Text),
        "state" => (Target::Column("state"), ExprKind::Text),
        "updated_at" => (Target::Column("updated_at"), ExprKind::Number),
        // Ids are time-ordered (UUID v7): creation order is id order, on the primary key.
        "created_at" => (Target::Column("id"), ExprKind::Text),
        _ => return None,
    })
}

/// Values from URLs arrive as text: read them as the field's kind.
fn coerce(value: &Value, kind: ExprKind) -> Value {
    match (kind, value) {
        (ExprKind::Bool, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (ExprKind::Amount, Value::String(s)) => s.trim().parse::<i64>().map_or_else(|_| value.clone(), Value::from),
        (ExprKind::Text, Value::Number(n)) => Value::String(n.to_string()),
        _ => value.clone(),
    }
}

fn sql_value(value: &Value, kind: ExprKind) -> Option<SqlValue> {
    match (kind, value) {
        (ExprKind::Bool, Value::Bool(b)) => Some(SqlValue::Bool(*b)),
        (ExprKind::Number, Value::Number(n)) => n.as_i64().map(SqlValue::Int).or_else(|| n.as_f64().map(SqlValue::Float)),
        (ExprKind::Amount, Value::Number(n)) => n.as_i64().map(SqlValue::Int),
        (ExprKind::Amount, Value::Object(m)) => m.get("amount").and_then(Value::as_i64).map(SqlValue::Int),
        (ExprKind::Text, Value::String(s)) => Some(SqlValue::Text(s.clone())),
        _ => None,
    }
}

impl QueryPlan {
    /// Checks `query` against `collection`: known fields the caller may read (`readable`),
    /// values of the right type, bounded sizes.
    pub fn new(collection: &CollectionDef, query: &Query, readable: &dyn Fn(&FieldDef) -> bool) -> Result<Self, RecordError> {
        let mut errors = Vec::new();
        if query.filters.len() > MAX_FILTERS {
            return Err(RecordError::invalid("filters", format!("at most {MAX_FILTERS} filters")));
        }
        let resolve = |name: &str| -> Result<(Target, ExprKind, Option<&FieldDef>), String> {
            if let Some((target, kind)) = builtin(name) {
                return Ok((target, kind, None));
            }
            match collection.field(name) {
                Some(def) if readable(def) => Ok((Target::Field(def.name.clone(), expr_kind(def)), expr_kind(def), Some(def))),
                _ => Err(format!("`{name}` is not a field of {} you can query", collection.name)),
            }
        };
        let mut conditions = Vec::new();
        for (i, filter) in query.filters.iter().enumerate() {
            let at = format!("filters[{i}]");
            let (target, kind, def) = match resolve(&filter.field) {
                Ok(r) => r,
                Err(message) => {
                    errors.push(FieldError { field: at, message });
                    continue;
                }
            };
            let is_id = target == Target::Column("id");
            let normalize = |v: &Value| -> Result<SqlValue, String> {
                // An id that is no record's id (any text a URL filter may carry) matches no
                // record: compared as the nil id, which none has, on both backends.
                if is_id && v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_err()) {
                    return Ok(SqlValue::Text(uuid::Uuid::nil().to_string()));
                }
                let v = &coerce(v, kind);
                let normalized = match def {
                    // Compare with the stored form: a phone typed "06…" matches "+336…".
                    Some(def) if def.field_type != FieldType::Text => {
                        let single = FieldDef { multiple: false, ..def.clone() };
                        normalize_value(&single, v)?
                    }
                    _ => v.clone(),
                };
                sql_value(&normalized, kind).ok_or_else(|| format!("`{v}` cannot be compared with `{}`", filter.field))
            };
            let condition = match filter.op {
                Op::IsNull => match filter.value.as_bool() {
                    Some(null) => Ok((Condition::IsNull { target, null }, Vec::new())),
                    None => Err("is_null takes true or false".to_owned()),
                },
                Op::In => match &filter.value {
                    Value::Array(items) if !items.is_empty() && items.len() <= 100 => {
                        items.iter().map(normalize).collect::<Result<Vec<_>, _>>().map(|values| {
                            let arity = values.len();
                            (Condition::Compare { target, op: Op::In, arity }, values)
                        })
                    }
                    _ => Err("in takes a list of 1 to 100 values".to_owned()),
                },
                Op::Contains => match (&filter.value, kind) {
                    (Value::String(s), ExprKind::Text) if !s.is_empty() && s.len() <= 200 => {
                        Ok((Condition::Compare { target, op: Op::Contains, arity: 1 }, vec![SqlValue::Text(s.clone())]))
                    }
                    _ => Err("contains takes a non-empty text on a text field".to_owned()),
                },
                op if def.is_some_and(|d| d.multiple) => {
                    if op != Op::Eq {
                        Err("multi-valued fields take eq (contains the value), in or is_null".to_owned())
                    } else {
                        normalize(&filter.value).map(|v| (Condition::ArrayContains { field: filter.field.clone() }, vec![v]))
                    }
                }
                op => normalize(&filter.value).map(|v| (Condition::Compare { target, op, arity: 1 }, vec![v])),
            };
            match condition {
                Ok(c) => conditions.push(c),
                Err(message) => errors.push(FieldError { field: at, message }),
            }
        }
        let sort = query.sort.clone().unwrap_or(Sort { field: "created_at".into(), desc: true });
        let order = match resolve(&sort.field) {
            Ok((target, _, def)) if def.is_none_or(|d| !d.multiple) => Order { target, desc: sort.desc },
            _ => {
                errors.push(FieldError { field: "sort".into(), message: format!("cannot sort on `{}`", sort.field) });
                Order { target: Target::Column("id"), desc: true }
            }
        };
        let after = match &query.cursor {
            None => None,
            Some(text) => match URL_SAFE_NO_PAD.decode(text).ok().and_then(|b| serde_json::from_slice::<Cursor>(&b).ok()) {
                Some(cursor) => Some(cursor),
                None => {
                    errors.push(FieldError { field: "cursor".into(), message: "the cursor is invalid; start from the first page".into() });
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(RecordError::Invalid(errors));
        }
        Ok(Self {
            collection: collection.name.clone(),
            conditions,
            order,
            after,
            limit: query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
            count: query.count,
        })
    }

    /// Keeps only records whose searchable text (title, searchable fields, references' titles,
    /// phone numbers in their national form) matches every term, counting only the text of
    /// permission `groups` the caller may read.
    pub fn search(&mut self, tenant: TenantId, terms: Vec<String>, groups: Vec<String>) {
        if terms.is_empty() || groups.is_empty() {
            if !terms.is_empty() {
                // Nothing the caller may read can match.
                self.conditions.push((Condition::IsNull { target: Target::Column("id"), null: true }, Vec::new()));
            }
            return;
        }
        let bound = groups.into_iter().map(SqlValue::Text).collect();
        self.conditions.push((Condition::Search { tenant: tenant.as_uuid().simple().to_string(), terms }, bound));
    }

    /// Adds a condition the caller cannot remove (a client's account scope).
    pub fn restrict_to(&mut self, field: &str, value: &str) {
        let target = if field == "id" { Target::Column("id") } else { Target::Field(field.into(), ExprKind::Text) };
        self.conditions.push((Condition::Compare { target, op: Op::Eq, arity: 1 }, vec![SqlValue::Text(value.into())]));
    }

    /// The cursor pointing after `row` (its sort value and id).
    pub fn cursor_after(&self, data: &serde_json::Map<String, Value>, id: &str, updated_at: i64, state: Option<&str>) -> String {
        let value = match &self.order.target {
            Target::Column("id") => Value::String(id.into()),
            Target::Column("updated_at") => Value::from(updated_at),
            Target::Column(_) => state.map_or(Value::Null, |s| Value::String(s.into())),
            Target::Field(name, ExprKind::Amount) => data.get(name).and_then(|m| m.get("amount")).cloned().unwrap_or(Value::Null),
            Target::Field(name, _) => data.get(name).cloned().unwrap_or(Value::Null),
        };
        let cursor = Cursor { v: value, id: id.into() };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }

    fn target_sql(dialect: &dyn Dialect, target: &Target) -> String {
        match target {
            Target::Column(c) => (*c).to_owned(),
            Target::Field(name, kind) => dialect.field_expr(name, *kind),
        }
    }

    /// The `WHERE` clause (after `tenant_id = $1 AND collection = '<name>'`) and its values,
    /// numbered from `$first`. With `paged`, includes the cursor condition.
    pub fn where_sql(&self, dialect: &dyn Dialect, first: usize, paged: bool) -> (String, Vec<SqlValue>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        let mut next = first;
        let mut placeholder = || {
            let p = format!("${next}");
            next += 1;
            p
        };
        for (condition, bound) in &self.conditions {
            sql.push_str(" AND ");
            match condition {
                Condition::IsNull { target, null } => {
                    sql.push_str(&format!("{} IS {}NULL", Self::target_sql(dialect, target), if *null { "" } else { "NOT " }));
                }
                Condition::ArrayContains { field } => sql.push_str(&dialect.array_contains(field, &placeholder())),
                Condition::Search { tenant, terms } => {
                    let matching = placeholder();
                    values.push(SqlValue::Text(dialect.search_value(tenant, terms)));
                    let groups: Vec<String> = bound.iter().map(|_| placeholder()).collect();
                    sql.push_str(&dialect.search(&self.collection, &matching, &groups.join(", ")));
                }
                Condition::Compare { target, op, arity } => {
                    let expr = Self::target_sql(dialect, target);
                    let is_id = *target == Target::Column("id");
                    let mut placeholder = || if is_id { dialect.id_param(&placeholder()) } else { placeholder() };
                    match op {
                        Op::In => {
                            let list: Vec<String> = (0..*arity).map(|_| placeholder()).collect();
                            sql.push_str(&format!("{expr} IN ({})", list.join(", ")));
                        }
                        Op::Contains => sql.push_str(&dialect.contains(&expr, &placeholder())),
                        op => {
                            let symbol = match op {
                                Op::Eq => "=",
                                Op::Ne => "<>",
                                Op::Lt => "<",
                                Op::Lte => "<=",
                                Op::Gt => ">",
                                _ => ">=",
                            };
                            if *op == Op::Ne {
                                sql.push_str(&format!("({expr} IS NULL OR {expr} {symbol} {})", placeholder()));
                            } else {
                                sql.push_str(&format!("{expr} {symbol} {}", placeholder()));
                            }
                        }
                    }
                }
            }
            match (condition, bound.as_slice()) {
                (Condition::Compare { op: Op::Contains, .. }, [SqlValue::Text(needle)]) => values.push(SqlValue::Text(dialect.contains_value(needle))),
                _ => values.extend(bound.iter().cloned()),
            }
        }
        if paged && let Some(cursor) = &self.after {
            let expr = Self::target_sql(dialect, &self.order.target);
            let after = if self.order.desc { "<" } else { ">" };
            let kind = match &self.order.target {
                Target::Field(_, kind) => *kind,
                Target::Column("updated_at") => ExprKind::Number,
                Target::Column(_) => ExprKind::Text,
            };
            let id_value = SqlValue::Text(cursor.id.clone());
            if expr == "id" {
                sql.push_str(&format!(" AND id {after} {}", dialect.id_param(&placeholder())));
                values.push(id_value);
            } else {
                match sql_value(&cursor.v, kind) {
                    // Nulls come first ascending, last descending.
                    None if !self.order.desc => {
                        let p = dialect.id_param(&placeholder());
                        sql.push_str(&format!(" AND (({expr} IS NULL AND id {after} {p}) OR {expr} IS NOT NULL)"));
                        values.push(id_value);
                    }
                    None => {
                        let p = dialect.id_param(&placeholder());
                        sql.push_str(&format!(" AND ({expr} IS NULL AND id {after} {p})"));
                        values.push(id_value);
                    }
                    Some(v) => {
                        let (p1, p2, p3) = (placeholder(), placeholder(), dialect.id_param(&placeholder()));
                        let tail = if self.order.desc { format!(" OR {expr} IS NULL") } else { String::new() };
                        sql.push_str(&format!(" AND ({expr} {after} {p1} OR ({expr} = {p2} AND id {after} {p3}){tail})"));
                        values.push(v.clone());
                        values.push(v);
                        values.push(id_value);
                    }
                }
            }
        }
        (sql, values)
    }

    /// The `ORDER BY` clause.
    pub fn order_sql(&self, dialect: &dyn Dialect) -> String {
        let expr = Self::target_sql(dialect, &self.order.target);
        let direction = if self.order.desc { "DESC" } else { "ASC" };
        if expr == "id" {
            format!(" ORDER BY id {direction}")
        } else {
            format!(" ORDER BY {expr} {direction}{}, id {direction}", dialect.nulls(self.order.desc))
        }
    }
}
