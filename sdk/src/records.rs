//! The tenant's records (capability `records`, per collection). Record data is JSON: read it
//! with [`Record::get`] or into your own types with [`Record::data_as`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, host};

/// A record as the plugin may see it (fields it may not read are absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Id.
    pub id: String,
    /// Collection.
    pub collection: String,
    /// Version (for optimistic updates).
    pub version: i64,
    /// Workflow state.
    pub state: Option<String>,
    /// Field values.
    pub data: Value,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Record {
    /// One field, converted.
    ///
    /// ```
    /// let record = socle_sdk::Record { id: "1".into(), collection: "site".into(), version: 1, state: None,
    ///     data: socle_sdk::json!({"city": "Brest", "floors": 3}), created_at: 0, updated_at: 0 };
    /// assert_eq!(record.get::<String>("city").as_deref(), Some("Brest"));
    /// assert_eq!(record.get::<u32>("floors"), Some(3));
    /// assert_eq!(record.get::<u32>("missing"), None);
    /// ```
    pub fn get<T: DeserializeOwned>(&self, field: &str) -> Option<T> {
        self.data.get(field).cloned().and_then(|v| serde_json::from_value(v).ok())
    }

    /// All fields, as your own type.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Site { city: String }
    /// let record = socle_sdk::Record { id: "1".into(), collection: "site".into(), version: 1, state: None,
    ///     data: socle_sdk::json!({"city": "Brest"}), created_at: 0, updated_at: 0 };
    /// assert_eq!(record.data_as::<Site>().unwrap().city, "Brest");
    /// ```
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        Ok(serde_json::from_value(self.data.clone())?)
    }
}

/// A query, built step by step (the same shape as the HTTP API's).
///
/// ```
/// use socle_sdk::Query;
/// let q = Query::new().eq("status", "ouvert").filter("priority", "gte", 3).sort_desc("updated_at").limit(20);
/// assert_eq!(q.filters.len(), 2);
/// assert_eq!(q.limit, Some(20));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// `(field, op, value)`; all must match.
    pub filters: Vec<(String, String, Value)>,
    /// `(field, descending)`.
    pub sort: Option<(String, bool)>,
    /// Page size (at most 500).
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Count every match too.
    pub count: bool,
}

impl Query {
    /// Every record.
    pub fn new() -> Self {
        Self::default()
    }

    /// `field == value` (for multi-valued fields: contains `value`).
    pub fn eq(self, field: &str, value: impl Into<Value>) -> Self {
        self.filter(field, "eq", value)
    }

    /// `field <op> value`, `op` being eq, ne, lt, lte, gt, gte, in, contains or is_null.
    pub fn filter(mut self, field: &str, op: &str, value: impl Into<Value>) -> Self {
        self.filters.push((field.into(), op.into(), value.into()));
        self
    }

    /// Ascending sort.
    pub fn sort(mut self, field: &str) -> Self {
        self.sort = Some((field.into(), false));
        self
    }

    /// Descending sort.
    pub fn sort_desc(mut self, field: &str) -> Self {
        self.sort = Some((field.into(), true));
        self
    }

    /// Page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The page after `cursor`.
    pub fn after(mut self, cursor: &str) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Also count every match.
    pub fn with_count(mut self) -> Self {
        self.count = true;
        self
    }
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records.
    pub items: Vec<Record>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
    /// Total matches, when counted.
    pub total: Option<i64>,
}

/// The outcome of a bulk operation on one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkResult {
    /// Record.
    pub id: String,
    /// Whether it worked.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
    /// New version.
    pub version: Option<i64>,
}

/// One record by id.
///
/// ```
/// let id = socle_sdk::testing::insert("site", socle_sdk::json!({"city": "Brest"}));
/// assert_eq!(socle_sdk::records::get(&id).unwrap().get::<String>("city").unwrap(), "Brest");
/// assert!(matches!(socle_sdk::records::get("nope"), Err(socle_sdk::Error::NotFound(_))));
/// ```
pub fn get(id: &str) -> Result<Record, Error> {
    host::records_get(id)
}

/// A page of records of `collection`.
///
/// ```
/// use socle_sdk::{Query, records, testing};
/// testing::insert("site", socle_sdk::json!({"city": "Brest"}));
/// testing::insert("site", socle_sdk::json!({"city": "Quimper"}));
/// let page = records::query("site", &Query::new().eq("city", "Quimper")).unwrap();
/// assert_eq!(page.items.len(), 1);
/// ```
pub fn query(collection: &str, query: &Query) -> Result<Page, Error> {
    host::records_query(collection, query)
}

/// Creates a record.
///
/// ```
/// let record = socle_sdk::records::create("site", &socle_sdk::json!({"city": "Lorient"})).unwrap();
/// assert_eq!(record.version, 1);
/// ```
pub fn create(collection: &str, data: &impl Serialize) -> Result<Record, Error> {
    host::records_create(collection, &serde_json::to_value(data)?)
}

/// Changes fields of a record (`null` removes a field); with `expected_version`, only if the
/// record is still at that version ([`Error::Conflict`] otherwise).
///
/// ```
/// use socle_sdk::records;
/// let site = records::create("site", &socle_sdk::json!({"city": "Vannes"})).unwrap();
/// let moved = records::update(&site.id, &socle_sdk::json!({"city": "Auray"}), Some(site.version)).unwrap();
/// assert_eq!(moved.version, 2);
/// assert!(matches!(records::update(&site.id, &socle_sdk::json!({}), Some(1)), Err(socle_sdk::Error::Conflict(_))));
/// ```
pub fn update(id: &str, patch: &impl Serialize, expected_version: Option<i64>) -> Result<Record, Error> {
    host::records_update(id, &serde_json::to_value(patch)?, expected_version)
}

/// Deletes a record.
///
/// ```
/// let site = socle_sdk::records::create("site", &socle_sdk::json!({"city": "Brest"})).unwrap();
/// socle_sdk::records::delete(&site.id, None).unwrap();
/// assert!(socle_sdk::records::get(&site.id).is_err());
/// ```
pub fn delete(id: &str, expected_version: Option<i64>) -> Result<(), Error> {
    host::records_delete(id, expected_version)
}

/// Fires a workflow transition.
///
/// ```
/// // The in-memory host records the transition name as the new state.
/// let id = socle_sdk::testing::insert("t.ticket", socle_sdk::json!({}));
/// assert_eq!(socle_sdk::records::transition(&id, "resolve").unwrap().state.as_deref(), Some("resolve"));
/// ```
pub fn transition(id: &str, name: &str) -> Result<Record, Error> {
    host::records_transition(id, name)
}

/// Links two records (`kind` declared in the manifest, or `related`).
///
/// ```
/// let a = socle_sdk::testing::insert("site", socle_sdk::json!({}));
/// let b = socle_sdk::testing::insert("site", socle_sdk::json!({}));
/// socle_sdk::records::link(&a, &b, "related").unwrap();
/// ```
pub fn link(from: &str, to: &str, kind: &str) -> Result<(), Error> {
    host::records_link(from, to, kind)
}

/// The same patch on several records, each independently.
///
/// ```
/// let ids: Vec<String> = (0..3).map(|_| socle_sdk::testing::insert("site", socle_sdk::json!({}))).collect();
/// let results = socle_sdk::records::bulk_update("site", &ids, &socle_sdk::json!({"active": false})).unwrap();
/// assert!(results.iter().all(|r| r.ok));
/// ```
pub fn bulk_update(collection: &str, ids: &[String], patch: &impl Serialize) -> Result<Vec<BulkResult>, Error> {
    let op = serde_json::json!({ "op": "update", "patch": serde_json::to_value(patch)? });
    host::records_bulk(collection, ids, &op)
}

/// The same workflow transition on several records, each independently (a record whose state
/// does not allow it fails alone).
///
/// ```
/// let ids: Vec<String> = (0..2).map(|_| socle_sdk::testing::insert("t.line", socle_sdk::json!({}))).collect();
/// let results = socle_sdk::records::bulk_transition("t.line", &ids, "suspend").unwrap();
/// assert!(results.iter().all(|r| r.ok));
/// assert_eq!(socle_sdk::records::get(&ids[0]).unwrap().state.as_deref(), Some("suspend"));
/// ```
pub fn bulk_transition(collection: &str, ids: &[String], name: &str) -> Result<Vec<BulkResult>, Error> {
    host::records_bulk(collection, ids, &serde_json::json!({ "op": "transition", "name": name }))
}
