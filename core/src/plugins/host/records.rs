//! `records`: the records engine, acting as `plugin:<id>` in the invocation's tenant. The engine
//! decides: a call succeeds only if the manifest declared the collection (and, for another
//! plugin's collection, a dependency on that plugin) — the reach on the caller — and the tenant
//! granted it (casbin).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::WitFieldError;
use super::invocation::Invocation;
use super::socle::plugin::records::Host;
use super::socle::plugin::records::RecordQuery;
use super::socle::plugin::types::{BulkResult, HostError, Page, Record};
use crate::records::RecordEngine;
use crate::records::engine::BulkOp;
use crate::records::{Filter, Op, Query, Sort};

capability!(Records => RecordsHost { #[doc = "The records engine."] records: RecordEngine });

fn record(r: crate::records::Record) -> Record {
    Record {
        id: r.id.to_string(),
        collection: r.collection,
        version: r.version,
        state: r.state,
        data: Value::Object(r.data).to_string(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn invalid(field: &str, message: impl Into<String>) -> HostError {
    HostError::Invalid(vec![WitFieldError { field: field.into(), message: message.into() }])
}

fn record_id(id: &str) -> Result<Uuid, HostError> {
    Uuid::parse_str(id).map_err(|_| HostError::NotFound(format!("record {id} does not exist in this tenant")))
}

fn object(json: &str) -> Result<Map<String, Value>, HostError> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("data", "expected a JSON object of field values")),
        Err(e) => Err(invalid("data", format!("not JSON: {e}"))),
    }
}

impl Host for RecordsHost<'_> {
    async fn get(&mut self, id: String) -> wasmtime::Result<Result<Record, HostError>> {
        self.inv.charge()?;
        let uuid = match record_id(&id) {
            Ok(uuid) => uuid,
            Err(e) => return Ok(Err(e)),
        };
        // The engine checks both halves: the manifest's reach (on the caller) and the tenant's
        // grant.
        Ok(self.records.get_fields(&self.inv.caller(), uuid).await.map(record).map_err(|e| self.inv.record_error(e)))
    }

    async fn query(&mut self, collection: String, q: RecordQuery) -> wasmtime::Result<Result<Page, HostError>> {
        self.inv.charge()?;
        let mut filters = Vec::new();
        for f in q.filters {
            let Some(op) = Op::parse(&f.op.replace('-', "_")) else {
                return Ok(Err(invalid("filters", format!("`{}` is not an operator", f.op))));
            };
            let value = serde_json::from_str(&f.value).unwrap_or(Value::String(f.value));
            filters.push(Filter { field: f.field, op, value });
        }
        let query =
            Query { filters, sort: q.sort.map(|s| Sort { field: s.field, desc: s.desc }), limit: q.limit, cursor: q.cursor, count: q.count, search: None };
        Ok(match self.records.query(&self.inv.caller(), &collection, &query).await {
            Ok(page) => Ok(Page { items: page.items.into_iter().map(record).collect(), next_cursor: page.next_cursor, total: page.total }),
            Err(e) => Err(self.inv.record_error(e)),
        })
    }

    async fn create(&mut self, collection: String, data: String) -> wasmtime::Result<Result<Record, HostError>> {
        self.inv.charge()?;
        let data = match object(&data) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.records.create(&self.inv.caller(), &collection, data).await {
            Ok(r) => Ok(record(r)),
            Err(e) => Err(self.inv.record_error(e)),
        })
    }

    async fn update(&mut self, id: String, patch: String, expected_version: Option<i64>) -> wasmtime::Result<Result<Record, HostError>> {
        self.inv.charge()?;
        let uuid = match record_id(&id) {
            Ok(uuid) => uuid,
            Err(e) => return Ok(Err(e)),
        };
        let patch = match object(&patch) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.records.update(&self.inv.caller(), uuid, patch, expected_version).await {
            Ok(r) => Ok(record(r)),
            Err(e) => Err(self.inv.record_error(e)),
        })
    }

    async fn delete(&mut self, id: String, expected_version: Option<i64>) -> wasmtime::Result<Result<(), HostError>> {
        self.inv.charge()?;
        let uuid = match record_id(&id) {
            Ok(uuid) => uuid,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.records.delete(&self.inv.caller(), uuid, expected_version).await.map_err(|e| self.inv.record_error(e)))
    }

    async fn transition(&mut self, id: String, name: String) -> wasmtime::Result<Result<Record, HostError>> {
        self.inv.charge()?;
        let uuid = match record_id(&id) {
            Ok(uuid) => uuid,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.records.transition(&self.inv.caller(), uuid, &name, None).await {
            Ok(r) => Ok(record(r)),
            Err(e) => Err(self.inv.record_error(e)),
        })
    }

    async fn link(&mut self, source: String, target: String, kind: String) -> wasmtime::Result<Result<(), HostError>> {
        self.inv.charge()?;
        let (from, to) = match record_id(&source).and_then(|from| Ok((from, record_id(&target)?))) {
            Ok(ids) => ids,
            Err(e) => return Ok(Err(e)),
        };
        Ok(self.records.link(&self.inv.caller(), from, to, &kind, true).await.map(drop).map_err(|e| self.inv.record_error(e)))
    }

    async fn bulk(&mut self, collection: String, ids: Vec<String>, op: String) -> wasmtime::Result<Result<Vec<BulkResult>, HostError>> {
        self.inv.charge()?;
        let op: BulkOp = match serde_json::from_str(&op) {
            Ok(op) => op,
            Err(e) => return Ok(Err(invalid("op", format!("not a bulk operation: {e}")))),
        };
        let ids: Vec<Uuid> = ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
        Ok(match self.records.bulk(&self.inv.caller(), &collection, &ids, &op).await {
            Ok(results) => Ok(results.into_iter().map(|r| BulkResult { id: r.id.to_string(), ok: r.ok, error: r.error, version: r.version }).collect()),
            Err(e) => Err(self.inv.record_error(e)),
        })
    }
}
