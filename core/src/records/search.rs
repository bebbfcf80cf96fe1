//! What goes into the search index for a record, and how a query becomes terms.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use socle_marketplace::schema::{CollectionDef, FieldDef, FieldType};

use super::store::SearchDoc;

/// Most words in a query.
const MAX_TERMS: usize = 8;
/// Longest word kept.
const MAX_TERM_LEN: usize = 40;

/// The record's searchable text, split by the permission needed to read it (fields needing
/// "voir marge" go in their own document, so only callers holding it can match on them). The
/// title of a record a searchable reference points to is found in `titles` (by id).
pub fn documents(collection: &CollectionDef, data: &serde_json::Map<String, Value>, titles: &HashMap<String, String>) -> Vec<SearchDoc> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for field in collection.fields.iter().filter(|f| indexed(collection, f)) {
        let Some(value) = data.get(&field.name) else { continue };
        let text = match field.field_type {
            FieldType::Reference => ids(value).filter_map(|id| titles.get(id).cloned()).collect::<Vec<_>>().join(" "),
            _ => text_of(field, value),
        };
        if text.is_empty() {
            continue;
        }
        groups.entry(group(collection, field)).or_default().push(text);
    }
    groups.into_iter().map(|(permission, texts)| SearchDoc { permission, body: texts.join("\n") }).collect()
}

/// Whether `field` goes into the search index: the title and the fields marked searchable.
fn indexed(collection: &CollectionDef, field: &FieldDef) -> bool {
    field.searchable || collection.title_field.as_deref() == Some(field.name.as_str())
}

/// The permissions needed to read `field`'s text, as the document group key (`a,b`; empty for
/// none).
fn group(collection: &CollectionDef, field: &FieldDef) -> String {
    let mut needs: Vec<&str> = [collection.read_permission.as_deref(), field.read_permission.as_deref()].into_iter().flatten().collect();
    needs.sort_unstable();
    needs.dedup();
    needs.join(",")
}

/// Every document group a record of `collection` can have.
pub fn permission_groups(collection: &CollectionDef) -> Vec<String> {
    let mut groups: Vec<String> = collection.fields.iter().filter(|f| indexed(collection, f)).map(|f| group(collection, f)).collect();
    groups.sort();
    groups.dedup();
    groups
}

/// The ids a searchable reference field points to, whose titles its record's search text holds.
pub fn referenced(collection: &CollectionDef, data: &serde_json::Map<String, Value>) -> Vec<String> {
    collection
        .fields
        .iter()
        .filter(|f| f.field_type == FieldType::Reference && indexed(collection, f))
        .filter_map(|f| data.get(&f.name))
        .flat_map(|v| ids(v).map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

fn ids(value: &Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match value {
        Value::String(id) => Box::new(std::iter::once(id.as_str())),
        Value::Array(items) => Box::new(items.iter().filter_map(Value::as_str)),
        _ => Box::new(std::iter::empty()),
    }
}

/// A phone number as people type it: stored `+33612907010`, also found as `0612907010`,
/// `06 12 90 70 10` and `+33 6 12 90 70 10`.
fn phone_forms(stored: &str) -> String {
    let Some(national) = stored.strip_prefix("+33").filter(|n| n.len() == 9 && n.bytes().all(|b| b.is_ascii_digit())) else {
        return stored.to_owned();
    };
    let pairs: Vec<&str> = (1..9).step_by(2).map(|i| &national[i..i + 2]).collect();
    // Without the `+`: PostgreSQL's parser keeps it on a signed number, which a typed
    // `+33 …` (searched as `33 …`) would then not match.
    format!("33{national} 0{national} 0{} {} 33 {} {}", &national[..1], pairs.join(" "), &national[..1], pairs.join(" "))
}

fn text_of(field: &FieldDef, value: &Value) -> String {
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
            // Phone fields, and text holding a number in international form (a line's number).
            (FieldType::Phone | FieldType::Text, Value::String(s)) if s.starts_with("+33") => phone_forms(s),
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

/// A word without its accents (`Crêperie` → `creperie`), as the index folds them.
pub fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' => 'a',
            'ç' => 'c',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' | 'ì' => 'i',
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => 'o',
            'ù' | 'û' | 'ü' | 'ú' => 'u',
            'ÿ' => 'y',
            'ñ' => 'n',
            other => other,
        })
        .collect()
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
        let docs = documents(accounts, data.as_object().unwrap(), &HashMap::new());
        assert_eq!(docs.len(), 2);
        let public = docs.iter().find(|d| d.permission.is_empty()).unwrap();
        assert!(public.body.contains("Boulangerie Kerjean") && public.body.contains("Client fidèle"));
        assert!(!public.body.contains("CFAST-88412"));
        let api = docs.iter().find(|d| d.permission == "voir_api").unwrap();
        assert_eq!(api.body, "CFAST-88412");
    }
}

#[cfg(test)]
mod phone_tests {
    use super::*;

    #[test]
    fn a_french_number_is_found_however_it_is_typed() {
        let forms = phone_forms("+33612907010");
        for typed in ["06 12 90 70 10", "0612907010", "+33 6 12 90 70 10", "+33612907010"] {
            let wanted = terms(typed);
            let indexed: Vec<&str> = forms.split_whitespace().collect();
            assert!(wanted.iter().all(|w| indexed.iter().any(|h| h.starts_with(w.as_str()))), "{typed} in {forms}");
        }
        assert_eq!(phone_forms("+4930123456"), "+4930123456", "other countries as stored");
    }
}
