//! An in-memory host for unit tests and examples off WebAssembly: records, kv, config, events,
//! mails, HTTP answers and the clock live in thread-local state you arrange and inspect with the
//! functions below. It implements the host API's contract (versions, conflicts, not-found,
//! denials), not the platform's (no schemas, permissions or workflows): run `socle plugin test`
//! to exercise a plugin against the real host.
//!
//! ```
//! use socle_sdk::{records, testing};
//! testing::reset();
//! testing::deny("records");
//! assert!(matches!(records::get("x"), Err(socle_sdk::Error::Denied(_))));
//! ```

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

#[derive(Default)]
struct State {
    records: BTreeMap<String, crate::Record>,
    kv: BTreeMap<String, Vec<u8>>,
    config: BTreeMap<String, Value>,
    secrets: BTreeMap<String, String>,
    events: Vec<(String, Value)>,
    mails: Vec<(String, String, Value)>,
    logs: Vec<(u8, String)>,
    responses: BTreeMap<String, (u16, Vec<u8>)>,
    connector_answers: BTreeMap<(String, String), Result<Value, String>>,
    connector_calls: Vec<(String, String, Value)>,
    files: BTreeMap<String, crate::files::File>,
    denied: BTreeSet<String>,
    now: i64,
    next_id: u64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State { now: 1_700_000_000_000, ..State::default() });
}

fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// Arranges the answer of `connector` to `operation`: `Ok(json)`, or `Err(reason)` for a refusal
/// by the remote system (`Error::Invalid`).
///
/// ```
/// socle_sdk::testing::connector_answer("orange", "suspend-line", Ok(socle_sdk::json!({"reference": "OR-1"})));
/// let answer = socle_sdk::connectors::call("orange", "suspend-line", &socle_sdk::json!({"number": "+33612345678"})).unwrap();
/// assert_eq!(answer["reference"], "OR-1");
/// assert_eq!(socle_sdk::testing::connector_calls()[0].1, "suspend-line");
/// ```
pub fn connector_answer(connector: &str, operation: &str, answer: Result<Value, String>) {
    with(|s| s.connector_answers.insert((connector.into(), operation.into()), answer));
}

/// The connector calls made so far: `(connector, operation, input)`.
pub fn connector_calls() -> Vec<(String, String, Value)> {
    with(|s| s.connector_calls.clone())
}

/// Empties the in-memory host.
pub fn reset() {
    with(|s| *s = State { now: 1_700_000_000_000, ..State::default() });
}

/// Adds a record and returns its id.
pub fn insert(collection: &str, data: Value) -> String {
    host::records_create(collection, &data).map(|r| r.id).unwrap_or_default()
}

/// Adds a file the plugin may read (as if attached to one of its records) and returns its id.
pub fn add_file(name: &str, content_type: &str, content: &[u8]) -> String {
    with(|s| {
        s.next_id += 1;
        let id = format!("file-{}", s.next_id);
        let size = content.len() as u64;
        let file =
            crate::files::File { id: id.clone(), name: name.into(), content_type: content_type.into(), size, sha256: String::new(), content: content.to_vec() };
        s.files.insert(id.clone(), file);
        id
    })
}

/// Sets a configuration value.
pub fn set_config(key: &str, value: Value) {
    with(|s| s.config.insert(key.into(), value));
}

/// Sets a secret.
pub fn set_secret(key: &str, value: &str) {
    with(|s| s.secrets.insert(key.into(), value.into()));
}

/// Makes calls of a capability (`records`, `kv`, `config`, `http`, `mail`, `events`,
/// `connectors`, `files`) fail with
/// [`crate::Error::Denied`], as an ungranted capability does.
pub fn deny(capability: &str) {
    with(|s| s.denied.insert(capability.into()));
}

/// Answers `url` with `status` and `body`.
pub fn respond(url: &str, status: u16, body: &[u8]) {
    with(|s| s.responses.insert(url.into(), (status, body.to_vec())));
}

/// Sets the clock.
pub fn set_now(ms: i64) {
    with(|s| s.now = ms);
}

/// Events emitted so far.
pub fn emitted() -> Vec<(String, Value)> {
    with(|s| s.events.clone())
}

/// Mails sent so far: `(to, template, vars)`.
pub fn sent_mails() -> Vec<(String, String, Value)> {
    with(|s| s.mails.clone())
}

/// Log lines so far: `(level 0–3, message)`.
pub fn logs() -> Vec<(u8, String)> {
    with(|s| s.logs.clone())
}

pub(crate) mod host {
    use serde_json::Value;

    use super::with;
    use crate::records::{BulkResult, Page, Query, Record};
    use crate::{Error, http};

    fn check(capability: &str) -> Result<(), Error> {
        if with(|s| s.denied.contains(capability)) { Err(Error::Denied(format!("capability `{capability}` is not granted"))) } else { Ok(()) }
    }

    fn not_found(id: &str) -> Error {
        Error::NotFound(format!("record {id}"))
    }

    pub fn records_get(id: &str) -> Result<Record, Error> {
        check("records")?;
        with(|s| s.records.get(id).cloned()).ok_or_else(|| not_found(id))
    }

    pub fn records_query(collection: &str, q: &Query) -> Result<Page, Error> {
        check("records")?;
        let mut items: Vec<Record> = with(|s| s.records.values().filter(|r| r.collection == collection).cloned().collect());
        items.retain(|r| {
            q.filters.iter().all(|(field, op, value)| {
                let actual = r.data.get(field).unwrap_or(&Value::Null);
                match op.as_str() {
                    "eq" => actual == value || actual.as_array().is_some_and(|a| a.contains(value)),
                    "ne" => actual != value,
                    "is_null" => actual.is_null() == value.as_bool().unwrap_or(true),
                    "contains" => actual.as_str().zip(value.as_str()).is_some_and(|(a, v)| a.to_lowercase().contains(&v.to_lowercase())),
                    "in" => value.as_array().is_some_and(|v| v.contains(actual)),
                    op => {
                        let (a, v) = (actual.as_f64(), value.as_f64());
                        match (a, v) {
                            (Some(a), Some(v)) => match op {
                                "lt" => a < v,
                                "lte" => a <= v,
                                "gt" => a > v,
                                _ => a >= v,
                            },
                            _ => false,
                        }
                    }
                }
            })
        });
        if let Some((field, desc)) = &q.sort {
            items.sort_by(|a, b| {
                let (x, y) = (a.data.get(field).map(Value::to_string), b.data.get(field).map(Value::to_string));
                if *desc { y.cmp(&x) } else { x.cmp(&y) }
            });
        }
        let total = q.count.then_some(items.len() as i64);
        items.truncate(q.limit.unwrap_or(50) as usize);
        Ok(Page { items, next_cursor: None, total })
    }

    pub fn records_create(collection: &str, data: &Value) -> Result<Record, Error> {
        check("records")?;
        if !data.is_object() {
            return Err(Error::Invalid(vec![crate::FieldError { field: "data".into(), message: "expected an object".into() }]));
        }
        Ok(with(|s| {
            s.next_id += 1;
            let record = Record {
                id: format!("00000000-0000-7000-8000-{:012}", s.next_id),
                collection: collection.into(),
                version: 1,
                state: None,
                data: data.clone(),
                created_at: s.now,
                updated_at: s.now,
            };
            s.records.insert(record.id.clone(), record.clone());
            record
        }))
    }

    pub fn records_update(id: &str, patch: &Value, expected: Option<i64>) -> Result<Record, Error> {
        check("records")?;
        with(|s| {
            let now = s.now;
            let record = s.records.get_mut(id).ok_or_else(|| not_found(id))?;
            if expected.is_some_and(|v| v != record.version) {
                return Err(Error::Conflict(format!("record {id} is at version {}", record.version)));
            }
            if let (Some(data), Some(patch)) = (record.data.as_object_mut(), patch.as_object()) {
                for (k, v) in patch {
                    if v.is_null() {
                        data.remove(k);
                    } else {
                        data.insert(k.clone(), v.clone());
                    }
                }
            }
            record.version += 1;
            record.updated_at = now;
            Ok(record.clone())
        })
    }

    pub fn records_delete(id: &str, expected: Option<i64>) -> Result<(), Error> {
        check("records")?;
        with(|s| match s.records.get(id) {
            None => Err(not_found(id)),
            Some(r) if expected.is_some_and(|v| v != r.version) => Err(Error::Conflict(format!("record {id} is at version {}", r.version))),
            Some(_) => {
                s.records.remove(id);
                Ok(())
            }
        })
    }

    pub fn records_transition(id: &str, name: &str) -> Result<Record, Error> {
        check("records")?;
        with(|s| {
            let record = s.records.get_mut(id).ok_or_else(|| not_found(id))?;
            record.state = Some(name.into());
            record.version += 1;
            Ok(record.clone())
        })
    }

    pub fn records_link(from: &str, to: &str, _kind: &str) -> Result<(), Error> {
        records_get(from)?;
        records_get(to)?;
        Ok(())
    }

    pub fn records_bulk(_collection: &str, ids: &[String], op: &Value) -> Result<Vec<BulkResult>, Error> {
        check("records")?;
        let patch = op.get("patch").cloned().unwrap_or(Value::Null);
        let transition =
            (op.get("op").and_then(Value::as_str) == Some("transition")).then(|| op.get("name").and_then(Value::as_str).unwrap_or_default().to_owned());
        Ok(ids
            .iter()
            .map(|id| match transition.as_deref().map_or_else(|| records_update(id, &patch, None), |name| records_transition(id, name)) {
                Ok(r) => BulkResult { id: id.clone(), ok: true, error: None, version: Some(r.version) },
                Err(e) => BulkResult { id: id.clone(), ok: false, error: Some(e.to_string()), version: None },
            })
            .collect())
    }

    pub fn kv_get(key: &str) -> Result<Option<Vec<u8>>, Error> {
        check("kv")?;
        Ok(with(|s| s.kv.get(key).cloned()))
    }

    pub fn kv_set(key: &str, value: &[u8]) -> Result<(), Error> {
        check("kv")?;
        with(|s| s.kv.insert(key.into(), value.to_vec()));
        Ok(())
    }

    pub fn kv_delete(key: &str) -> Result<(), Error> {
        check("kv")?;
        with(|s| s.kv.remove(key));
        Ok(())
    }

    pub fn kv_keys(prefix: &str) -> Result<Vec<String>, Error> {
        check("kv")?;
        Ok(with(|s| s.kv.keys().filter(|k| k.starts_with(prefix)).cloned().collect()))
    }

    pub fn kv_compare_and_swap(key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool, Error> {
        check("kv")?;
        Ok(with(|s| {
            if s.kv.get(key).map(Vec::as_slice) != expected {
                return false;
            }
            s.kv.insert(key.into(), value.to_vec());
            true
        }))
    }

    pub fn kv_increment(key: &str, delta: i64) -> Result<i64, Error> {
        check("kv")?;
        with(|s| {
            let current = match s.kv.get(key) {
                None => 0,
                Some(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or_else(|| Error::Invalid(vec![crate::FieldError { field: "key".into(), message: format!("`{key}` does not hold an integer") }]))?,
            };
            let next = current
                .checked_add(delta)
                .ok_or_else(|| Error::Invalid(vec![crate::FieldError { field: "delta".into(), message: "the sum overflows".into() }]))?;
            s.kv.insert(key.into(), next.to_string().into_bytes());
            Ok(next)
        })
    }

    pub fn config_get(key: &str) -> Result<Option<Value>, Error> {
        check("config")?;
        Ok(with(|s| s.config.get(key).cloned()))
    }

    pub fn config_secret(key: &str) -> Result<Option<String>, Error> {
        check("config")?;
        Ok(with(|s| s.secrets.get(key).cloned()))
    }

    pub fn events_emit(name: &str, payload: &Value) -> Result<(), Error> {
        check("events")?;
        with(|s| s.events.push((name.into(), payload.clone())));
        Ok(())
    }

    pub fn mail_send(to: &str, template: &str, vars: &Value) -> Result<(), Error> {
        check("mail")?;
        // The same rules as the real host.
        if template != "notification" {
            return Err(Error::NotFound(format!("plugins send the `notification` template (vars: subject, message), not `{template}`")));
        }
        let invalid = |field: &str, message: String| Error::Invalid(vec![crate::FieldError { field: field.into(), message }]);
        for (key, max) in [("subject", 200), ("message", 10_000)] {
            let text = vars.get(key).and_then(Value::as_str).unwrap_or_default().trim();
            if text.is_empty() || text.chars().count() > max {
                return Err(invalid(&format!("vars.{key}"), format!("give 1 to {max} characters of plain text")));
            }
            if let Some((bad, kind)) = bad_placeholder(text) {
                return Err(invalid(&format!("vars.{key}"), format!("`{bad}` holds no valid {kind}")));
            }
        }
        match vars.get("record") {
            None | Some(Value::Null) => {}
            Some(Value::Object(record)) => {
                let collection = record.get("collection").and_then(Value::as_str).unwrap_or_default();
                let id = record.get("id").and_then(Value::as_str).unwrap_or_default();
                if collection.trim().is_empty() {
                    return Err(invalid("vars.record.collection", "name the collection of the record the mail is about".into()));
                }
                if !is_uuid(id) {
                    return Err(invalid("vars.record.id", format!("`{id}` is not a record id (a UUID)")));
                }
                // The real host also checks the plugin may read the collection.
                if with(|s| s.records.get(id).map(|r| r.collection != collection).unwrap_or(true)) {
                    return Err(not_found(id));
                }
            }
            Some(_) => return Err(invalid("vars.record", r#"give {"collection": "…", "id": "…"} of the record the mail is about"#.into())),
        }
        with(|s| s.mails.push((to.into(), template.into(), vars.clone())));
        Ok(())
    }

    fn is_uuid(id: &str) -> bool {
        id.len() == 36 && id.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
    }

    /// The first `{{time:…}}` or `{{date:…}}` of `text` the host would refuse (the host parses
    /// them fully; this checks their shape).
    fn bad_placeholder(text: &str) -> Option<(String, &'static str)> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let day = |s: &str| s.len() == 10 && s.split('-').map(str::len).eq([4, 2, 2]) && s.split('-').all(digits);
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            let inner = &after[..end];
            let refused = match inner.split_once(':') {
                Some(("time", v)) => {
                    let v = v.trim();
                    let rfc3339 = v.len() >= 20 && v.get(..10).is_some_and(day) && v.get(10..11) == Some("T");
                    (!digits(v) && !rfc3339).then_some("time")
                }
                Some(("date", v)) => (!day(v.trim())).then_some("date"),
                _ => None,
            };
            if let Some(kind) = refused {
                return Some((format!("{{{{{inner}}}}}"), kind));
            }
            rest = &after[end + 2..];
        }
        None
    }

    pub fn http_fetch(request: &http::Request) -> Result<http::Response, Error> {
        check("http")?;
        match with(|s| s.responses.get(&request.url).cloned()) {
            Some((status, body)) => Ok(http::Response { status, headers: Vec::new(), body }),
            None => Err(Error::Unavailable(format!("no answer arranged for {} (testing::respond)", request.url))),
        }
    }

    pub fn connectors_call(connector: &str, operation: &str, input: &Value) -> Result<Value, Error> {
        check("connectors")?;
        with(|s| {
            s.connector_calls.push((connector.into(), operation.into(), input.clone()));
            match s.connector_answers.get(&(connector.to_owned(), operation.to_owned())) {
                Some(Ok(answer)) => Ok(answer.clone()),
                Some(Err(reason)) => Err(Error::Invalid(vec![crate::FieldError { field: "operation".into(), message: reason.clone() }])),
                None => Err(Error::Unavailable(format!("no answer arranged for {connector}/{operation} (testing::connector_answer)"))),
            }
        })
    }

    pub fn files_read(id: &str) -> Result<crate::files::File, Error> {
        check("files")?;
        let file = with(|s| s.files.get(id).cloned()).ok_or_else(|| Error::NotFound(format!("file {id}")))?;
        if file.size > crate::files::MAX_READ_BYTES {
            return Err(Error::Invalid(vec![crate::FieldError { field: "file".into(), message: "larger than 8 MiB".into() }]));
        }
        Ok(file)
    }

    pub fn log(level: u8, message: &str) {
        with(|s| s.logs.push((level, message.into())));
    }

    pub fn now() -> i64 {
        with(|s| s.now)
    }

    pub fn random(len: u32) -> Vec<u8> {
        // Deterministic in tests: reproducible failures beat entropy here.
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(7)).collect()
    }
}
