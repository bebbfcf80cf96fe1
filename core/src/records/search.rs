//! What goes into the search index for a record, and how a query becomes terms.

use std::collections::BTreeMap;

use serde_json::Value;
use socle_marketplace::schema::{CollectionDef, FieldType};

use super::store::SearchDoc;

/// Most words in a query.
const MAX_TERMS: usize = 8;
/// Longest word kept.
const MAX_TERM_LEN: usize = 40;

/// The record's searchable text, split by the permission needed to read it (fields needing
/// "voir marge" go in their own document, so only callers holding it can match on them).
pub fn documents(collection: &CollectionDef, data: &serde_json::Map<String, Value>) -> Vec<SearchDoc> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for field in &collection.fields {
        let is_title = collection.title_field.as_deref() == Some(field.name.as_str());
        if !field.searchable && !is_title {
            continue;
        }
        let Some(value) = data.get(&field.name) else { continue };
        let text = text_of(field, value);
        if text.is_empty() {
            continue;
        }
        let mut needs: Vec<&str> = [collection.read_permission.as_deref(), field.read_permission.as_deref()].into_iter().flatten().collect();
        needs.sort_unstable();
        needs.dedup();
        groups.entry(needs.join(",")).or_default().push(text);
    }
    groups.into_iter().map(|(permission, texts)| SearchDoc { permission, body: texts.join("\n") }).collect()
}

fn text_of(field: &socle_marketplace::schema::FieldDef, value: &Value) -> String {
    let one = |v: &Value| -> String {
        match (field.field_type, v) {
            (FieldType::Enum, Value::String(key)) => {
                field.values.iter().find(|e| &e.key == key).map(|e| format!("{} {}", e.label.get("fr"), e.label.get("en"))).unwrap_or_else(|| key.clone())
            }
            (FieldType::Money, Value::Object(m)) => {
                let amount = m.get("amount").and_then(Value::as_i64).unwrap_or(0);
                format!("{},{:02}", amount / 100, (amount % 100).abs())
            }
            (FieldType::File, Value::Object(m)) => m.get("name").and_then(Value::as_str).unwrap_or("").to_owned(),
            (FieldType::Reference | FieldType::Bool, _) => String::new(),
            (_, Value::String(s)) => s.clone(),
            (_, Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    match value {
        Value::Array(items) => items.iter().map(one).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "),
        other => one(other),
    }
}

/// The words of a query (letters and digits, lowercase), at most eight.
pub fn terms(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().take(MAX_TERM_LEN).collect::<String>().to_lowercase())
        .take(MAX_TERMS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_are_bounded_and_stripped_of_syntax() {
        assert_eq!(terms("  Boulangerie \"Kerjean\" OR*  NEAR(x) "), ["boulangerie", "kerjean", "or", "near", "x"]);
        assert_eq!(terms(&"mot ".repeat(20)).len(), 8);
        assert!(terms("*** ---").is_empty());
    }

    #[test]
    fn fields_needing_a_permission_are_indexed_apart() {
        let accounts = super::super::registry::core_schema().collections.iter().find(|c| c.name == "customer_account").unwrap();
        let data = serde_json::json!({
            "name": "Boulangerie Kerjean", "status": "actif", "external_refs": "CFAST-88412", "notes": "Client fidèle"
        });
        let docs = documents(accounts, data.as_object().unwrap());
        assert_eq!(docs.len(), 2);
        let public = docs.iter().find(|d| d.permission.is_empty()).unwrap();
        assert!(public.body.contains("Boulangerie Kerjean") && public.body.contains("Client fidèle"));
        assert!(!public.body.contains("CFAST-88412"));
        let api = docs.iter().find(|d| d.permission == "voir_api").unwrap();
        assert_eq!(api.body, "CFAST-88412");
    }
}
