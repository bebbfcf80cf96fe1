//! `records`: the records engine, acting as `plugin:<id>` in the invocation's tenant. A call
//! succeeds only if the manifest declared the collection (and, for another plugin's collection,
//! a dependency on that plugin) and the tenant granted it (casbin, checked by the engine).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::socle::plugin::records::Host;
use super::socle::plugin::records::RecordQuery;
use super::socle::plugin::types::{BulkResult, FieldError, HostError, Page, Record};
use super::{PluginState, WitFieldError};
use crate::records::engine::BulkOp;
use crate::records::{Filter, Op, Query, RecordError, Sort};

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

fn object(json: &str) -> Result<Map<String, Value>, HostError> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("data", "expected a JSON object of field values")),
        Err(e) => Err(invalid("data", format!("not JSON: {e}"))),
    }
}

impl PluginState {
    pub(super) fn error(&mut self, err: RecordError) -> HostError {
        match err {
            RecordError::NotFound(m) => HostError::NotFound(m),
            RecordError::Invalid(errors) => HostError::Invalid(errors.into_iter().map(|e| FieldError { field: e.field, message: e.message }).collect()),
            RecordError::Denied(m) => self.deny(m),
            e @ RecordError::Conflict { .. } => HostError::Conflict(e.to_string()),
            e @ RecordError::Vetoed { .. } => HostError::Vetoed(e.to_string()),
            RecordError::Store(e) => {
                tracing::error!(tenant.id = %self.tenant.id, plugin.id = %self.plugin.id, error = %e, "a plugin's records call failed");
                HostError::Unavailable("the platform could not complete the call; retry later".into())
            }
        }
    }

    /// Checks the manifest lets the plugin reach `collection` (declaration, and a dependency for
    /// another plugin's collections).
    fn reach(&mut self, collection: &str, write: bool) -> Result<(), HostError> {
        // `custom.*` collections are the tenant's own: declared and granted is enough.
        if let Some((owner, _)) = collection.split_once('.')
            && owner != "custom"
            && owner != self.plugin.id
            && !self.plugin.manifest.dependencies.contains_key(owner)
        {
            return Err(self.deny(format!("`{collection}` belongs to the plugin `{owner}`, which this plugin does not depend on")));
        }
        let declared = self.declared(|c| match c {
            socle_marketplace::manifest::Capability::RecordsWrite { collections } => collections.iter().any(|x| x == "*" || x == collection),
            socle_marketplace::manifest::Capability::RecordsRead { collections } if !write => collections.iter().any(|x| x == "*" || x == collection),
            _ => false,
        });
        if declared {
            Ok(())
        } else {
            let kind = if write { "records_write" } else { "records_read" };
            Err(self.deny(format!("the manifest does not declare `{kind}` on `{collection}`")))
        }
    }

    /// The collection of a record of the tenant, to check access before touching it.
    async fn collection_of(&mut self, id: &str) -> Result<(Uuid, String), HostError> {
        let not_found = || HostError::NotFound(format!("record {id} does not exist in this tenant"));
        let uuid = Uuid::parse_str(id).map_err(|_| not_found())?;
        match self.app.records.store().get(self.tenant.id, uuid).await {
            Ok(Some(r)) => Ok((uuid, r.collection)),
            Ok(None) => Err(not_found()),
            Err(e) => Err(self.error(e.into())),
        }
    }
}

impl Host for PluginState {
    async fn get(&mut self, id: String) -> wasmtime::Result<Result<Record, HostError>> {
        self.charge()?;
        let Ok(uuid) = Uuid::parse_str(&id) else { return Ok(Err(HostError::NotFound(format!("record {id} does not exist in this tenant")))) };
        // The engine checks the tenant's grant; the manifest's declaration (and dependency) is
        // checked before anything is returned.
        Ok(match self.app.records.get_fields(&self.caller(), uuid).await {
            Ok(r) => match self.reach(&r.collection, false) {
                Ok(()) => Ok(record(r)),
                Err(e) => Err(e),
            },
            Err(e) => Err(self.error(e)),
        })
    }

    async fn query(&mut self, collection: String, q: RecordQuery) -> wasmtime::Result<Result<Page, HostError>> {
        self.charge()?;
        if let Err(e) = self.reach(&collection, false) {
            return Ok(Err(e));
        }
        let mut filters = Vec::new();
        for f in q.filters {
            let Some(op) = Op::parse(&f.op.replace('-', "_")) else {
                return Ok(Err(invalid("filters", format!("`{}` is not an operator", f.op))));
            };
            let value = serde_json::from_str(&f.value).unwrap_or(Value::String(f.value));
            filters.push(Filter { field: f.field, op, value });
        }
        let query = Query { filters, sort: q.sort.map(|s| Sort { field: s.field, desc: s.desc }), limit: q.limit, cursor: q.cursor, count: q.count };
        Ok(match self.app.records.query(&self.caller(), &collection, &query).await {
            Ok(page) => Ok(Page { items: page.items.into_iter().map(record).collect(), next_cursor: page.next_cursor, total: page.total }),
            Err(e) => Err(self.error(e)),
        })
    }

    async fn create(&mut self, collection: String, data: String) -> wasmtime::Result<Result<Record, HostError>> {
        self.charge()?;
        if let Err(e) = self.reach(&collection, true) {
            return Ok(Err(e));
        }
        let data = match object(&data) {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.app.records.create(&self.caller(), &collection, data).await {
            Ok(r) => Ok(record(r)),
            Err(e) => Err(self.error(e)),
        })
    }

    async fn update(&mut self, id: String, patch: String, expected_version: Option<i64>) -> wasmtime::Result<Result<Record, HostError>> {
        self.charge()?;
        let (uuid, collection) = match self.collection_of(&id).await {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = self.reach(&collection, true) {
            return Ok(Err(e));
        }
        let patch = match object(&patch) {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match self.app.records.update(&self.caller(), uuid, patch, expected_version).await {
            Ok(r) => Ok(record(r)),
            Err(e) => Err(self.error(e)),
        })
    }

    async fn delete(&mut self, id: String, expected_version: Option<i64>) -> wasmtime::Result<Result<(), HostError>> {
        self.charge()?;
        let (uuid, collection) = match self.collection_of(&id).await {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = self.reach(&collection, true) {
            return Ok(Err(e));
        }
        Ok(self.app.records.delete(&self.caller(), uuid, expected_version).await.map_err(|e| self.error(e)))
    }

    async fn transition(&mut self, id: String, name: String) -> wasmtime::Result<Result<Record, HostError>> {
        self.charge()?;
        let (uuid, collection) = match self.collection_of(&id).await {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = self.reach(&collection, true) {
            return Ok(Err(e));
        }
        Ok(match self.app.records.transition(&self.caller(), uuid, &name, None).await {
            Ok(r) => Ok(record(r)),
            Err(e) => Err(self.error(e)),
        })
    }

    async fn link(&mut self, source: String, target: String, kind: String) -> wasmtime::Result<Result<(), HostError>> {
        self.charge()?;
        let (from, from_collection) = match self.collection_of(&source).await {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let (to, to_collection) = match self.collection_of(&target).await {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        if let Err(e) = self.reach(&from_collection, true).and_then(|()| self.reach(&to_collection, false)) {
            return Ok(Err(e));
        }
        Ok(self.app.records.link(&self.caller(), from, to, &kind, true).await.map(drop).map_err(|e| self.error(e)))
    }

    async fn bulk(&mut self, collection: String, ids: Vec<String>, op: String) -> wasmtime::Result<Result<Vec<BulkResult>, HostError>> {
        self.charge()?;
        if let Err(e) = self.reach(&collection, true) {
            return Ok(Err(e));
        }
        let op: BulkOp = match serde_json::from_str(&op) {
            Ok(op) => op,
            Err(e) => return Ok(Err(invalid("op", format!("not a bulk operation: {e}")))),
        };
        let ids: Vec<Uuid> = ids.iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
        Ok(match self.app.records.bulk(&self.caller(), &collection, &ids, &op).await {
            Ok(results) => Ok(results.into_iter().map(|r| BulkResult { id: r.id.to_string(), ok: r.ok, error: r.error, version: r.version }).collect()),
            Err(e) => Err(self.error(e)),
        })
    }
}
