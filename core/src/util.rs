//! Small conversions shared by the SQLite stores, where UUIDs and JSON are stored as text.

use uuid::Uuid;

use crate::error::StoreError;

/// Parses a UUID read from a TEXT column.
pub fn parse_uuid(text: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Other(anyhow::anyhow!("corrupt id `{text}` in the database: {e}")))
}

/// Parses an optional UUID read from a TEXT column.
pub fn parse_uuid_opt(text: Option<String>) -> Result<Option<Uuid>, StoreError> {
    text.as_deref().map(parse_uuid).transpose()
}

/// JSON to the text SQLite stores.
pub fn opt_json_text(value: &Option<serde_json::Value>) -> Option<String> {
    value.as_ref().map(serde_json::Value::to_string)
}
