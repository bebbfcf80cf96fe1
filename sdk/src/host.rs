//! Where host calls go: the real host through the component's imports on WebAssembly, the
//! in-memory [`crate::testing`] host elsewhere.

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::host::*;
#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::*;

#[cfg(target_arch = "wasm32")]
mod wasm {
    use serde_json::Value;

    use crate::bindings::socle::plugin::{clock, config, connectors, events, files, http as whttp, kv, log as wlog, mail, random as wrandom, records, types};
    use crate::records::{BulkResult, Page, Query, Record};
    use crate::{Error, http};

    fn record(r: types::Record) -> Record {
        Record {
            id: r.id,
            collection: r.collection,
            version: r.version,
            state: r.state,
            data: serde_json::from_str(&r.data).unwrap_or(Value::Null),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }

    fn query(q: &Query) -> types::Query {
        types::Query {
            filters: q.filters.iter().map(|(f, op, v)| types::Filter { field: f.clone(), op: op.clone(), value: v.to_string() }).collect(),
            sort: q.sort.as_ref().map(|(field, desc)| types::Sort { field: field.clone(), desc: *desc }),
            limit: q.limit,
            cursor: q.cursor.clone(),
            count: q.count,
        }
    }

    pub fn records_get(id: &str) -> Result<Record, Error> {
        records::get(id).map(record).map_err(Error::from)
    }

    pub fn records_query(collection: &str, q: &Query) -> Result<Page, Error> {
        let page = records::query(collection, &query(q)).map_err(Error::from)?;
        Ok(Page { items: page.items.into_iter().map(record).collect(), next_cursor: page.next_cursor, total: page.total })
    }

    pub fn records_create(collection: &str, data: &Value) -> Result<Record, Error> {
        records::create(collection, &data.to_string()).map(record).map_err(Error::from)
    }

    pub fn records_update(id: &str, patch: &Value, expected: Option<i64>) -> Result<Record, Error> {
        records::update(id, &patch.to_string(), expected).map(record).map_err(Error::from)
    }

    pub fn records_delete(id: &str, expected: Option<i64>) -> Result<(), Error> {
        records::delete(id, expected).map_err(Error::from)
    }

    pub fn records_transition(id: &str, name: &str) -> Result<Record, Error> {
        records::transition(id, name).map(record).map_err(Error::from)
    }

    pub fn records_link(from: &str, to: &str, kind: &str) -> Result<(), Error> {
        records::link(from, to, kind).map_err(Error::from)
    }

    pub fn records_bulk(collection: &str, ids: &[String], op: &Value) -> Result<Vec<BulkResult>, Error> {
        let results = records::bulk(collection, ids, &op.to_string()).map_err(Error::from)?;
        Ok(results.into_iter().map(|r| BulkResult { id: r.id, ok: r.ok, error: r.error, version: r.version }).collect())
    }

    pub fn kv_get(key: &str) -> Result<Option<Vec<u8>>, Error> {
        kv::get(key).map_err(Error::from)
    }

    pub fn kv_set(key: &str, value: &[u8]) -> Result<(), Error> {
        kv::set(key, value).map_err(Error::from)
    }

    pub fn kv_delete(key: &str) -> Result<(), Error> {
        kv::delete(key).map_err(Error::from)
    }

    pub fn kv_keys(prefix: &str) -> Result<Vec<String>, Error> {
        kv::keys(prefix).map_err(Error::from)
    }

    pub fn kv_compare_and_swap(key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool, Error> {
        kv::compare_and_swap(key, expected, value).map_err(Error::from)
    }

    pub fn kv_increment(key: &str, delta: i64) -> Result<i64, Error> {
        kv::increment(key, delta).map_err(Error::from)
    }

    pub fn config_get(key: &str) -> Result<Option<Value>, Error> {
        let value = config::get(key).map_err(Error::from)?;
        Ok(value.map(|v| serde_json::from_str(&v).unwrap_or(Value::Null)))
    }

    pub fn config_secret(key: &str) -> Result<Option<String>, Error> {
        config::secret(key).map_err(Error::from)
    }

    pub fn events_emit(name: &str, payload: &Value) -> Result<(), Error> {
        events::emit(name, &payload.to_string()).map_err(Error::from)
    }

    pub fn mail_send(to: &str, template: &str, vars: &Value) -> Result<(), Error> {
        mail::send(to, template, &vars.to_string()).map_err(Error::from)
    }

    pub fn connectors_call(connector: &str, operation: &str, input: &Value) -> Result<Value, Error> {
        let answer = connectors::call(connector, operation, &input.to_string()).map_err(Error::from)?;
        Ok(serde_json::from_str(&answer).unwrap_or(Value::String(answer)))
    }

    pub fn files_read(id: &str) -> Result<crate::files::File, Error> {
        let f = files::read(id).map_err(Error::from)?;
        Ok(crate::files::File { id: f.id, name: f.name, content_type: f.content_type, size: f.size, sha256: f.sha256, content: f.content })
    }

    pub fn http_fetch(request: &http::Request) -> Result<http::Response, Error> {
        let req = whttp::Request { method: request.method.clone(), url: request.url.clone(), headers: request.headers.clone(), body: request.body.clone() };
        let res = whttp::fetch(&req).map_err(Error::from)?;
        Ok(http::Response { status: res.status, headers: res.headers, body: res.body })
    }

    pub fn log(level: u8, message: &str) {
        let level = match level {
            0 => wlog::Level::Debug,
            1 => wlog::Level::Info,
            2 => wlog::Level::Warn,
            _ => wlog::Level::Error,
        };
        wlog::log(level, message);
    }

    pub fn now() -> i64 {
        clock::now()
    }

    pub fn random(len: u32) -> Vec<u8> {
        wrandom::bytes(len)
    }
}
