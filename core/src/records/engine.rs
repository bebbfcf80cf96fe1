//! The write path and the reads of records (see the module documentation of `records`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use socle_marketplace::schema::{CollectionDef, FieldType, NotifyOn, compute, normalize_value};
use socle_tenants::TenantId;
use uuid::Uuid;

use super::access::{Access, Scope};
use super::hooks::{HookRegistry, PendingWrite};
use super::query::{Query, QueryPlan, index_name};
use super::registry::CollectionRegistry;
use super::store::{RecordStore, RecordWrite, ReferenceCheck, StoredFile, StoredRecord, TimerRow, WriteOp, event_name};
use super::workflow::{EffectOutcome, TimerOp, apply_effects, apply_timer_ops};
use super::{Caller, FieldChange, FieldError, HistoryEntry, LinkView, Page, Principal, Record, RecordError, SearchHit, TimerView, search};
use crate::authz::Authorizer;
use crate::clock::SharedClock;
use crate::jobs::NewJob;

/// Jobs the write path enqueues.
pub mod job_kinds {
    /// Send the notification mails of a change.
    pub const NOTIFY: &str = "record.notify";
    /// A workflow timer's deadline.
    pub const TIMER: &str = "timer.fire";
}

/// Most ids in one bulk operation.
pub const MAX_BULK: usize = 1_000;
/// Most records re-indexed per referring field when a record's title changes (beyond, the
/// operator's `socle record reindex`).
const REFERRERS_REINDEXED: i64 = 1_000;
/// Largest uploaded file.
pub const MAX_FILE_BYTES: usize = 25 * 1024 * 1024;

/// A mass action on several records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum BulkOp {
    /// The same patch on each.
    Update {
        /// Fields to set (null removes).
        patch: Map<String, Value>,
    },
    /// The same transition on each.
    Transition {
        /// Transition name.
        name: String,
    },
    /// Delete each.
    Delete,
}

/// The outcome of a bulk operation on one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkResult {
    /// The record.
    pub id: Uuid,
    /// Whether it worked.
    pub ok: bool,
    /// Machine code of the failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// New version on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// The records engine.
pub struct RecordEngine {
    store: Arc<dyn RecordStore>,
    /// The tenants' collections.
    pub registry: Arc<CollectionRegistry>,
    authz: Arc<Authorizer>,
    clock: SharedClock,
    /// Filter hooks.
    pub hooks: HookRegistry,
}

struct Change {
    op: WriteOp,
    before: Option<StoredRecord>,
    data: Map<String, Value>,
    state: Option<String>,
    transition: Option<String>,
    expected_version: Option<i64>,
    outcome: EffectOutcome,
}

/// Which record an operation is about: its id and, when the caller reached it through a URL
/// naming its collection, that collection (a record of another collection is then not found,
/// like a missing one — no handler reads a record first to learn its collection).
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// The record.
    pub id: Uuid,
    /// The collection it must belong to, if the caller named one.
    pub collection: Option<&'a str>,
}

impl<'a> RecordRef<'a> {
    /// Record `id` of `collection`.
    pub fn new(collection: &'a str, id: Uuid) -> Self {
        Self { id, collection: Some(collection) }
    }
}

impl From<Uuid> for RecordRef<'_> {
    fn from(id: Uuid) -> Self {
        Self { id, collection: None }
    }
}

impl RecordEngine {
    /// An engine over `store`.
    pub fn new(store: Arc<dyn RecordStore>, authz: Arc<Authorizer>, clock: SharedClock, bus: Arc<dyn crate::bus::Bus>) -> Self {
        Self { registry: Arc::new(CollectionRegistry::new(store.clone(), bus)), store, authz, clock, hooks: HookRegistry::default() }
    }

    /// Now, in Unix milliseconds (the engine's clock).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The store (for tools and tests).
    pub fn store(&self) -> &Arc<dyn RecordStore> {
        &self.store
    }

    async fn definition(&self, tenant: TenantId, name: &str) -> Result<Arc<CollectionDef>, RecordError> {
        self.registry
            .for_tenant(tenant)
            .await?
            .get(name)
            .cloned()
            .ok_or_else(|| RecordError::NotFound(format!("collection `{name}` does not exist in this tenant")))
    }

    /// The collections the caller may read, each with only the fields the caller may read.
    pub async fn collections(&self, caller: &Caller) -> Result<Vec<CollectionDef>, RecordError> {
        let access = Access::new(&self.authz, caller);
        let mut visible = Vec::new();
        for collection in self.registry.for_tenant(caller.tenant).await?.iter() {
            if access.can(collection, "read").await? {
                visible.push(self.visible_definition(&access, collection).await?);
            }
        }
        Ok(visible)
    }

    /// One collection as the caller may see it.
    pub async fn collection(&self, caller: &Caller, name: &str) -> Result<CollectionDef, RecordError> {
        let collection = self.definition(caller.tenant, name).await?;
        let access = Access::new(&self.authz, caller);
        if !access.can(&collection, "read").await? {
            return Err(RecordError::NotFound(format!("collection `{name}` does not exist in this tenant")));
        }
        self.visible_definition(&access, &collection).await
    }

    /// What the caller may do with `name`, so screens show only the buttons and inputs that
    /// will work (the write path checks again; this is for display).
    pub async fn abilities(&self, caller: &Caller, name: &str) -> Result<Abilities, RecordError> {
        let collection = self.definition(caller.tenant, name).await?;
        let access = Access::new(&self.authz, caller);
        if !access.can(&collection, "read").await? {
            return Err(RecordError::NotFound(format!("collection `{name}` does not exist in this tenant")));
        }
        let update = access.can(&collection, "update").await?;
        let workflow_field = collection.workflow.as_ref().map(|w| w.field.as_str());
        let mut writable = HashSet::new();
        if update {
            for field in &collection.fields {
                if Some(field.name.as_str()) != workflow_field && access.may_write(field).await? {
                    writable.insert(field.name.clone());
                }
            }
        }
        let mut transitions = Vec::new();
        if let Some(workflow) = collection.workflow.as_ref().filter(|_| update) {
            for transition in &workflow.transitions {
                if access.may_fire(transition).await? {
                    transitions.push(transition.name.clone());
                }
            }
        }
        let create = access.can(&collection, "create").await? && !matches!(access.scope(&collection), Scope::Account { ref field, .. } if field == "id");
        Ok(Abilities { create, update, delete: access.can(&collection, "delete").await?, writable, transitions })
    }

    async fn visible_definition(&self, access: &Access<'_>, collection: &CollectionDef) -> Result<CollectionDef, RecordError> {
        let readable = access.readable(collection).await?;
        let mut visible = collection.clone();
        visible.fields.retain(|f| readable.contains(&f.name));
        Ok(visible)
    }

    fn view(collection: &CollectionDef, record: StoredRecord, readable: &HashSet<String>) -> Record {
        let mut data = record.data;
        data.retain(|k, _| readable.contains(k));
        let _ = collection;
        Record {
            id: record.id,
            collection: record.collection,
            version: record.version,
            state: record.state,
            data,
            created_at: record.created_at,
            updated_at: record.updated_at,
            created_by: record.created_by,
            updated_by: record.updated_by,
            timers: Vec::new(),
        }
    }

    /// Loads a record the caller may read (hidden and missing records are both "not found").
    async fn load(&self, caller: &Caller, at: RecordRef<'_>, action: &str) -> Result<(Arc<CollectionDef>, StoredRecord), RecordError> {
        let id = at.id;
        let not_found = || match at.collection {
            Some(collection) => RecordError::NotFound(format!("record {id} is not in {collection}")),
            None => RecordError::NotFound(format!("record {id} does not exist in this tenant")),
        };
        let record = self.store.get(caller.tenant, id).await?.filter(|r| at.collection.is_none_or(|c| c == r.collection)).ok_or_else(not_found)?;
        let collection = self.definition(caller.tenant, &record.collection).await.map_err(|_| not_found())?;
        // A plugin is told what its manifest lacks rather than that the record does not exist:
        // the record is in its own tenant, and the partner needs to know what to declare.
        if let Principal::Plugin { reach, .. } = &caller.principal
            && let Err(missing) = reach.check(&collection.name, action)
        {
            return Err(RecordError::Denied(missing));
        }
        let access = Access::new(&self.authz, caller);
        if !access.can(&collection, "read").await? || !access.in_scope(&collection, record.id, &record.data) {
            return Err(not_found());
        }
        if action != "read" {
            access.require(&collection, action).await?;
        }
        Ok((collection, record))
    }

    /// Whether the caller holds `permission` (a role's permission, or `equipe`: every user who is
    /// not a client).
    pub async fn holds(&self, caller: &Caller, permission: &str) -> Result<bool, RecordError> {
        Access::new(&self.authz, caller).has(permission).await
    }

    /// Whether the caller may `action` (`read`, `create`, `update`, `delete`) records of
    /// `collection` (false for a collection that does not exist).
    pub async fn may(&self, caller: &Caller, collection: &str, action: &str) -> Result<bool, RecordError> {
        match self.definition(caller.tenant, collection).await {
            Ok(def) => Access::new(&self.authz, caller).can(&def, action).await,
            Err(RecordError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Fails unless the caller may change the record `at` (a plugin action runs on it for them:
    /// what they could not do by hand, they cannot do through a plugin either).
    pub async fn check_update(&self, caller: &Caller, at: impl Into<RecordRef<'_>>) -> Result<(), RecordError> {
        self.load(caller, at.into(), "update").await.map(|_| ())
    }

    /// Whether `id` is a record of `collection` in `tenant` (a check of the platform's, such as
    /// a client user's customer account; no caller's rights apply).
    pub async fn exists(&self, tenant: TenantId, collection: &str, id: Uuid) -> Result<bool, RecordError> {
        Ok(self.store.get(tenant, id).await?.is_some_and(|r| r.collection == collection))
    }

    /// One record, with its timers.
    pub async fn get(&self, caller: &Caller, at: impl Into<RecordRef<'_>>) -> Result<Record, RecordError> {
        let at = at.into();
        let id = at.id;
        let mut view = self.get_fields(caller, at).await?;
        view.timers = self
            .store
            .timers(caller.tenant, id)
            .await?
            .into_iter()
            .map(|t| TimerView { name: t.name, status: t.status, due_at: t.due_at, remaining_ms: t.remaining_ms })
            .collect();
        Ok(view)
    }

    /// A record the caller may read, its fields only (no timers: one query less, for callers
    /// such as plugins that do not show them).
    pub async fn get_fields(&self, caller: &Caller, at: impl Into<RecordRef<'_>>) -> Result<Record, RecordError> {
        let (collection, record) = self.load(caller, at.into(), "read").await?;
        let readable = Access::new(&self.authz, caller).readable(&collection).await?;
        Ok(Self::view(&collection, record, &readable))
    }

    /// A page of records of `collection` matching `query`.
    pub async fn query(&self, caller: &Caller, collection: &str, query: &Query) -> Result<Page, RecordError> {
        let collection = self.definition(caller.tenant, collection).await?;
        let access = Access::new(&self.authz, caller);
        access.require(&collection, "read").await?;
        let readable = access.readable(&collection).await?;
        let mut plan = QueryPlan::new(&collection, query, &|f| readable.contains(&f.name))?;
        if let Scope::Account { field, account } = access.scope(&collection) {
            plan.restrict_to(&field, &account.to_string());
        }
        if let Some(text) = query.search.as_deref().filter(|t| !t.trim().is_empty()) {
            let mut groups = Vec::new();
            for group in search::permission_groups(&collection) {
                let mut holds = true;
                for permission in group.split(',').filter(|p| !p.is_empty()) {
                    holds = holds && access.has(permission).await?;
                }
                if holds {
                    groups.push(group);
                }
            }
            plan.search(caller.tenant, search::terms(text), groups);
        }
        let (rows, total) = self.store.query(caller.tenant, &plan).await?;
        let next_cursor = (rows.len() == plan.limit as usize)
            .then(|| rows.last().map(|r| plan.cursor_after(&r.data, &r.id.to_string(), r.updated_at, r.state.as_deref())))
            .flatten();
        let items = rows.into_iter().map(|r| Self::view(&collection, r, &readable)).collect();
        Ok(Page { items, next_cursor, total })
    }

    /// Creates a record.
    pub async fn create(&self, caller: &Caller, collection: &str, input: Map<String, Value>) -> Result<Record, RecordError> {
        let collection = self.definition(caller.tenant, collection).await?;
        let access = Access::new(&self.authz, caller);
        access.require(&collection, "create").await?;
        let mut data = self.validate_input(&access, &collection, &input, WriteOp::Create).await?;
        for field in &collection.fields {
            if !data.contains_key(&field.name)
                && let Some(default) = &field.default
            {
                let value = normalize_value(field, default).map_err(|m| RecordError::invalid(&field.name, m))?;
                data.insert(field.name.clone(), value);
            }
        }
        match access.scope(&collection) {
            Scope::Account { field, .. } if field == "id" => {
                return Err(RecordError::Denied(format!("you may not create records of {}", collection.name)));
            }
            Scope::Account { field, account } => match data.get(&field).and_then(Value::as_str) {
                None => {
                    data.insert(field, Value::String(account.to_string()));
                }
                Some(value) if value == account.to_string() => {}
                Some(_) => return Err(RecordError::Denied("you may only create records for your own account".into())),
            },
            _ => {}
        }
        let mut outcome = EffectOutcome::default();
        let mut state = None;
        if let Some(workflow) = &collection.workflow {
            data.insert(workflow.field.clone(), Value::String(workflow.initial.clone()));
            state = Some(workflow.initial.clone());
            if let Some(s) = workflow.state(&workflow.initial) {
                apply_effects(&collection, &s.on_enter, &mut data, &mut outcome)?;
            }
        }
        let change = Change { op: WriteOp::Create, before: None, data, state, transition: None, expected_version: None, outcome };
        self.write(caller, &collection, Uuid::now_v7(), change).await
    }

    /// Changes fields of a record; `expected_version` makes it conditional (If-Match). Without
    /// one, a concurrent change is merged by applying the patch again on the new state.
    pub async fn update(
        &self,
        caller: &Caller,
        at: impl Into<RecordRef<'_>>,
        patch: Map<String, Value>,
        expected_version: Option<i64>,
    ) -> Result<Record, RecordError> {
        let at = at.into();
        let id = at.id;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (collection, before) = self.load(caller, at, "update").await?;
            let access = Access::new(&self.authz, caller);
            let normalized = self.validate_input(&access, &collection, &patch, WriteOp::Update).await?;
            let mut data = before.data.clone();
            for (k, v) in normalized {
                if v.is_null() {
                    data.remove(&k);
                } else {
                    data.insert(k, v);
                }
            }
            if !access.in_scope(&collection, id, &data) {
                return Err(RecordError::Denied("you may not move a record out of your account".into()));
            }
            let version = expected_version.unwrap_or(before.version);
            let state = before.state.clone();
            let change = Change {
                op: WriteOp::Update,
                before: Some(before),
                data,
                state,
                transition: None,
                expected_version: Some(version),
                outcome: EffectOutcome::default(),
            };
            match self.write(caller, &collection, id, change).await {
                Err(RecordError::Conflict { .. }) if expected_version.is_none() && attempts < 3 => continue,
                other => return other,
            }
        }
    }

    /// Fires a workflow transition.
    pub async fn transition(&self, caller: &Caller, at: impl Into<RecordRef<'_>>, name: &str, expected_version: Option<i64>) -> Result<Record, RecordError> {
        let at = at.into();
        let id = at.id;
        let (collection, before) = self.load(caller, at, "update").await?;
        let workflow = collection.workflow.as_ref().ok_or_else(|| RecordError::invalid("transition", format!("{} has no workflow", collection.name)))?;
        let transition =
            workflow.transition(name).ok_or_else(|| RecordError::invalid("transition", format!("`{name}` is not a transition of {}", collection.name)))?;
        if !Access::new(&self.authz, caller).may_fire(transition).await? {
            return Err(RecordError::Denied(format!("you may not fire `{name}` (it needs `{}`)", transition.permission.as_deref().unwrap_or(""))));
        }
        let current = before.state.clone().unwrap_or_default();
        if !transition.from.contains(&current) {
            return Err(RecordError::invalid("transition", format!("`{name}` cannot start from `{current}` (only from {})", transition.from.join(", "))));
        }
        let mut data = before.data.clone();
        let mut outcome = EffectOutcome::default();
        if let Some(s) = workflow.state(&current) {
            apply_effects(&collection, &s.on_exit, &mut data, &mut outcome)?;
        }
        data.insert(workflow.field.clone(), Value::String(transition.to.clone()));
        if let Some(s) = workflow.state(&transition.to) {
            apply_effects(&collection, &s.on_enter, &mut data, &mut outcome)?;
        }
        let version = expected_version.unwrap_or(before.version);
        let change = Change {
            op: WriteOp::Update,
            before: Some(before),
            data,
            state: Some(transition.to.clone()),
            transition: Some(name.to_owned()),
            expected_version: Some(version),
            outcome,
        };
        self.write(caller, &collection, id, change).await
    }

    /// Deletes a record.
    pub async fn delete(&self, caller: &Caller, at: impl Into<RecordRef<'_>>, expected_version: Option<i64>) -> Result<(), RecordError> {
        let at = at.into();
        let id = at.id;
        let (collection, before) = self.load(caller, at, "delete").await?;
        let version = expected_version.unwrap_or(before.version);
        let change = Change {
            op: WriteOp::Delete,
            data: before.data.clone(),
            state: before.state.clone(),
            before: Some(before),
            transition: None,
            expected_version: Some(version),
            outcome: EffectOutcome::default(),
        };
        self.write(caller, &collection, id, change).await.map(drop)
    }

    /// Applies one operation to each of `ids` independently; one result per id.
    pub async fn bulk(&self, caller: &Caller, collection: &str, ids: &[Uuid], op: &BulkOp) -> Result<Vec<BulkResult>, RecordError> {
        if ids.is_empty() || ids.len() > MAX_BULK {
            return Err(RecordError::invalid("ids", format!("give 1 to {MAX_BULK} record ids")));
        }
        let definition = self.definition(caller.tenant, collection).await?;
        if let Principal::Plugin { reach, .. } = &caller.principal {
            let action = if matches!(op, BulkOp::Delete) { "delete" } else { "update" };
            reach.check(&definition.name, action).map_err(RecordError::Denied)?;
        }
        let mut results = Vec::with_capacity(ids.len());
        for &id in ids {
            // A record the caller may not read (another account's, another collection's, or
            // none at all) gets one answer, so a bulk edit cannot probe which ids exist.
            let readable = match self.store.get(caller.tenant, id).await? {
                Some(r) if r.collection == definition.name => self.get(caller, id).await.is_ok(),
                _ => false,
            };
            let outcome = match readable {
                false => Err(RecordError::NotFound(format!("no record {id} in {collection}"))),
                true => match op {
                    BulkOp::Update { patch } => self.update(caller, id, patch.clone(), None).await.map(|r| Some(r.version)),
                    BulkOp::Transition { name } => self.transition(caller, id, name, None).await.map(|r| Some(r.version)),
                    BulkOp::Delete => self.delete(caller, id, None).await.map(|()| None),
                },
            };
            results.push(match outcome {
                Ok(version) => BulkResult { id, ok: true, code: None, error: None, version },
                Err(err) => BulkResult { id, ok: false, code: Some(error_code(&err)), error: Some(err.to_string()), version: None },
            });
        }
        Ok(results)
    }

    async fn validate_input(
        &self,
        access: &Access<'_>,
        collection: &CollectionDef,
        input: &Map<String, Value>,
        op: WriteOp,
    ) -> Result<Map<String, Value>, RecordError> {
        let mut errors = Vec::new();
        let mut out = Map::new();
        let state_field = collection.workflow.as_ref().map(|w| w.field.as_str());
        for (name, value) in input {
            let Some(field) = collection.field(name) else {
                errors.push(FieldError { field: name.clone(), message: format!("{} has no field `{name}`", collection.name) });
                continue;
            };
            if Some(name.as_str()) == state_field {
                errors.push(FieldError { field: name.clone(), message: "the state changes through the workflow's transitions".into() });
                continue;
            }
            if let Some(formula) = &field.compute {
                errors.push(FieldError { field: name.clone(), message: format!("is computed ({formula}) and cannot be set") });
                continue;
            }
            if !access.may_write(field).await? {
                return Err(RecordError::Denied(format!("you may not set `{name}`")));
            }
            match normalize_value(field, value) {
                Ok(Value::Null) if field.required && op == WriteOp::Update => {
                    errors.push(FieldError { field: name.clone(), message: "is required and cannot be removed".into() })
                }
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(message) => errors.push(FieldError { field: name.clone(), message }),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(RecordError::Invalid(errors)) }
    }

    /// Checks the files a write attaches as they are stored, not as the client describes them, so
    /// a field's `max_bytes` and `accept` hold whatever size and type the client claims (and
    /// hooks only ever see files that fit).
    async fn check_stored_files(
        &self,
        caller: &Caller,
        collection: &CollectionDef,
        record: Uuid,
        files: &[(Uuid, String)],
        by_hooks: bool,
    ) -> Result<(), RecordError> {
        let mut errors = Vec::new();
        for (file_id, field_name) in files {
            let Some(field) = collection.field(field_name) else { continue };
            // A person attaches only what they uploaded themselves (filter hooks, what the plugin
            // chose) and is not yet attached elsewhere; anything else answers as if it did not
            // exist (an id is no capability).
            let stored = self.store.file(caller.tenant, *file_id).await?.filter(|stored| {
                let own = by_hooks || !matches!(caller.principal, Principal::User { .. }) || stored.created_by == caller.actor.subject;
                own && stored.record_id.is_none_or(|r| r == record)
            });
            let Some(stored) = stored else {
                errors.push(FieldError { field: field_name.clone(), message: format!("file {file_id} was not found: upload it again") });
                continue;
            };
            let actual = json!({ "id": stored.id.to_string(), "name": stored.name, "content_type": stored.content_type, "size": stored.size });
            if let Err(message) = normalize_value(field, &if field.multiple { json!([actual]) } else { actual }) {
                errors.push(FieldError { field: field_name.clone(), message });
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(RecordError::Invalid(errors)) }
    }

    /// The one write path: hooks, checks, then everything in one transaction.
    async fn write(&self, caller: &Caller, collection: &CollectionDef, id: Uuid, change: Change) -> Result<Record, RecordError> {
        let Change { op, before, data, state, transition, expected_version, outcome } = change;
        // 1. Files the client attached must be its own uploads, of the right kind for the field.
        let attached = new_files(collection, before.as_ref().map(|b| &b.data), &data);
        self.check_stored_files(caller, collection, id, &attached, false).await?;
        // 1b. A person points only to records they may see: another account's ticket is as
        // unknown to them as an id that exists nowhere (and no plugin hook gets to read it for
        // them, then tell them about it in a refusal).
        if matches!(caller.principal, Principal::User { .. }) && op != WriteOp::Delete {
            let empty = Map::new();
            let mut errors = Vec::new();
            for reference in new_references(collection, &diff(before.as_ref().map_or(&empty, |b| &b.data), &data)) {
                if self.get(caller, RecordRef::new(&reference.collection, reference.id)).await.is_err() {
                    // The words of a reference to nothing (see the store), whatever the cause.
                    errors.push(FieldError {
                        field: reference.field.clone(),
                        message: format!("no {} record {} in this tenant", reference.collection, reference.id),
                    });
                }
            }
            if !errors.is_empty() {
                // A missing required field is said first, as for any other write.
                check_required(collection, &data)?;
                return Err(RecordError::Invalid(errors));
            }
        }
        // 2. Filter hooks (plugins, the platform) may veto or change the data.
        let mut data = self.run_filter_hooks(caller, collection, id, op, before.as_ref(), data, &transition, &attached).await?;
        // 2b. Derived fields follow what they are computed from (hooks cannot set them either).
        if op != WriteOp::Delete {
            compute::recompute(collection, &mut data).map_err(|e| RecordError::invalid(&e.path, e.message))?;
        }
        // 3. What is stored must be complete.
        if op != WriteOp::Delete {
            check_required(collection, &data)?;
        }
        // 4. Timers started, paused or stopped by the transition's effects.
        let now = self.clock.now_ms();
        let (timers, state) = self.apply_timers(caller.tenant, collection, id, op, &outcome, &mut data, state, now).await?;
        // 5. The change itself; an update that changes nothing writes nothing.
        let empty = Map::new();
        let changes = diff(before.as_ref().map_or(&empty, |b| &b.data), if op == WriteOp::Delete { &empty } else { &data });
        if op == WriteOp::Update && changes.is_empty() && transition.is_none() {
            let record = before.ok_or_else(|| RecordError::NotFound(format!("record {id} vanished")))?;
            let readable = Access::new(&self.authz, caller).readable(collection).await?;
            return Ok(Self::view(collection, record, &readable));
        }
        // 6. Files a filter hook put there fit their field too; new references must exist.
        let files = if op == WriteOp::Delete { Vec::new() } else { new_files(collection, before.as_ref().map(|b| &b.data), &data) };
        let set_by_hooks: Vec<(Uuid, String)> = files.iter().filter(|f| !attached.contains(f)).cloned().collect();
        self.check_stored_files(caller, collection, id, &set_by_hooks, true).await?;
        let references = if op == WriteOp::Delete { Vec::new() } else { new_references(collection, &changes) };
        let record = StoredRecord {
            id,
            collection: collection.name.clone(),
            version: before.as_ref().map_or(1, |b| b.version + 1),
            state,
            data,
            created_at: before.as_ref().map_or(now, |b| b.created_at),
            updated_at: now,
            created_by: before.as_ref().map_or_else(|| caller.actor.subject.clone(), |b| b.created_by.clone()),
            updated_by: caller.actor.subject.clone(),
        };
        let renamed = op == WriteOp::Update && collection.title_field.as_ref().is_some_and(|t| changes.iter().any(|c| &c.field == t));
        // 7. What follows it, committed with it (the outbox): notifications, events, timers.
        let jobs = self.follow_up_jobs(caller, collection, &record, op, transition.as_deref(), &changes, &outcome.events, &timers, now).await;
        // 8. One transaction: the record, its history and journal entry, search, links, jobs.
        let write = RecordWrite {
            op,
            search_docs: if op == WriteOp::Delete {
                Vec::new()
            } else {
                search::documents(collection, &record.data, &self.titles_of(caller.tenant, &record.data, collection).await?)
            },
            record,
            expected_version: if op == WriteOp::Create { None } else { expected_version },
            changes,
            transition,
            actor: caller.actor.clone(),
            references,
            files,
            timers,
            jobs,
            unique_indexes: collection.fields.iter().filter(|f| f.unique).map(|f| (index_name(&collection.name, &f.name, true), f.name.clone())).collect(),
        };
        let stored = self.store.commit(caller.tenant, &write).await?;
        // 9. Records whose search text carries this one's title follow its new title (the index
        // is not the record: a failure here is logged, and `socle record reindex` repairs it).
        if renamed && let Err(err) = self.refresh_referrers(caller.tenant, collection, id).await {
            tracing::warn!(record = %id, error = %err, "the records pointing to a renamed record keep its old title in their search text");
        }
        let readable = Access::new(&self.authz, caller).readable(collection).await?;
        Ok(Self::view(collection, stored, &readable))
    }

    /// Re-indexes the records whose searchable references point to `target` (at most
    /// [`REFERRERS_REINDEXED`] per referring field).
    async fn refresh_referrers(&self, tenant: TenantId, target_collection: &CollectionDef, target: Uuid) -> Result<(), RecordError> {
        let collections = self.registry.for_tenant(tenant).await?;
        for def in collections.iter() {
            let fields = def.fields.iter().filter(|f| {
                f.field_type == FieldType::Reference && !f.multiple && f.collection.as_deref() == Some(target_collection.name.as_str()) && f.searchable
            });
            for field in fields {
                let rows = self.store.referencing(tenant, &def.name, &field.name, target, REFERRERS_REINDEXED).await?;
                let mut batch = Vec::with_capacity(rows.len());
                for row in &rows {
                    let titles = self.titles_of(tenant, &row.data, def).await?;
                    batch.push((row.id, def.name.clone(), search::documents(def, &row.data, &titles)));
                }
                if !batch.is_empty() {
                    self.store.reindex(tenant, &batch).await?;
                }
            }
        }
        Ok(())
    }

    /// Rebuilds the search documents of every record of `tenant` with today's rules (after an
    /// upgrade changed what the index holds, or to refresh the titles of referenced records a
    /// record's text carries), a page at a time; returns how many records were indexed.
    pub async fn reindex(&self, tenant: TenantId) -> Result<usize, RecordError> {
        let collections = self.registry.for_tenant(tenant).await?;
        let mut done = 0;
        for def in collections.iter() {
            let mut query = Query { limit: Some(super::query::MAX_LIMIT), sort: Some(super::Sort::parse("created_at")), ..Query::default() };
            loop {
                let plan = QueryPlan::new(def, &query, &|_| true)?;
                let (rows, _) = self.store.query(tenant, &plan).await?;
                let mut batch = Vec::with_capacity(rows.len());
                for row in &rows {
                    let titles = self.titles_of(tenant, &row.data, def).await?;
                    batch.push((row.id, def.name.clone(), search::documents(def, &row.data, &titles)));
                }
                self.store.reindex(tenant, &batch).await?;
                done += rows.len();
                match rows.last().filter(|_| rows.len() == plan.limit as usize) {
                    Some(last) => query.cursor = Some(plan.cursor_after(&last.data, &last.id.to_string(), last.updated_at, last.state.as_deref())),
                    None => break,
                }
            }
        }
        Ok(done)
    }

    /// The titles of the records `data`'s searchable references point to (for its search text).
    async fn titles_of(&self, tenant: TenantId, data: &Map<String, Value>, collection: &CollectionDef) -> Result<HashMap<String, String>, RecordError> {
        let mut titles = HashMap::new();
        for id in search::referenced(collection, data).into_iter().take(50) {
            let Ok(uuid) = Uuid::parse_str(&id) else { continue };
            let Some(target) = self.store.get(tenant, uuid).await? else { continue };
            let Ok(def) = self.definition(tenant, &target.collection).await else { continue };
            // A title behind a permission stays out of other records' search text.
            let title_field = def.title_field.as_deref().and_then(|t| def.field(t)).filter(|f| f.read_permission.is_none() && def.read_permission.is_none());
            if let Some(Value::String(title)) = title_field.and_then(|f| target.data.get(&f.name)) {
                titles.insert(id, title.clone());
            }
        }
        Ok(titles)
    }

    /// Runs the filter hooks that apply to the caller and collection: a veto stops the write;
    /// data they change must fit the schema like user input, and may not move the state.
    #[allow(clippy::too_many_arguments)]
    async fn run_filter_hooks(
        &self,
        caller: &Caller,
        collection: &CollectionDef,
        id: Uuid,
        op: WriteOp,
        before: Option<&StoredRecord>,
        data: Map<String, Value>,
        transition: &Option<String>,
        attached: &[(Uuid, String)],
    ) -> Result<Map<String, Value>, RecordError> {
        let mut pending = PendingWrite {
            op,
            collection: collection.name.clone(),
            id,
            before: before.map(|b| b.data.clone()),
            data: data.clone(),
            transition: transition.clone(),
            files: attached.iter().map(|(id, _)| *id).collect(),
        };
        for hook in self.hooks.applicable(caller, &collection.name) {
            if let Err(veto) = hook.before_write(caller, &mut pending).await {
                return Err(RecordError::Vetoed { hook: veto.by.unwrap_or_else(|| hook.name()), reason: veto.reason });
            }
        }
        if op == WriteOp::Delete || pending.data == data {
            return Ok(data);
        }
        let mut errors = Vec::new();
        let mut checked = Map::new();
        for (k, v) in &pending.data {
            match collection.field(k) {
                Some(f) => match normalize_value(f, v) {
                    Ok(Value::Null) => {}
                    Ok(v) => {
                        checked.insert(k.clone(), v);
                    }
                    Err(m) => errors.push(FieldError { field: k.clone(), message: format!("set by a hook: {m}") }),
                },
                None => errors.push(FieldError { field: k.clone(), message: "set by a hook, but not a field".into() }),
            }
        }
        if !errors.is_empty() {
            return Err(RecordError::Invalid(errors));
        }
        if let Some(w) = &collection.workflow
            && checked.get(&w.field) != data.get(&w.field)
        {
            return Err(RecordError::invalid(&w.field, "hooks cannot change the state"));
        }
        Ok(checked)
    }

    /// Applies the timer operations of a transition's effects; returns the timer rows to write
    /// and the record's state (its workflow field after the effects).
    #[allow(clippy::too_many_arguments)]
    async fn apply_timers(
        &self,
        tenant: TenantId,
        collection: &CollectionDef,
        id: Uuid,
        op: WriteOp,
        outcome: &EffectOutcome,
        data: &mut Map<String, Value>,
        state: Option<String>,
        now: i64,
    ) -> Result<(Vec<TimerRow>, Option<String>), RecordError> {
        let Some(workflow) = &collection.workflow else { return Ok((Vec::new(), state)) };
        let mut timers = Vec::new();
        if !outcome.timers.is_empty() {
            let current = if op == WriteOp::Create { Vec::new() } else { self.store.timers(tenant, id).await? };
            timers = apply_timer_ops(collection, workflow, &current, &outcome.timers, data, now);
        }
        let state = data.get(&workflow.field).and_then(Value::as_str).map(str::to_owned).or(state);
        Ok((timers, state))
    }

    /// The jobs a write commits with it: the collection's notification rules that match, what
    /// the change subscribers (plugins' action hooks) ask for, and the due time of each running
    /// timer.
    #[allow(clippy::too_many_arguments)]
    async fn follow_up_jobs(
        &self,
        caller: &Caller,
        collection: &CollectionDef,
        record: &StoredRecord,
        op: WriteOp,
        transition: Option<&str>,
        changes: &[FieldChange],
        effect_events: &[String],
        timers: &[TimerRow],
        now: i64,
    ) -> Vec<NewJob> {
        let id = record.id;
        let changed: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
        let mut jobs = Vec::new();
        let notify_on = match (op, transition) {
            (WriteOp::Create, _) => Some(NotifyOn::Create),
            (WriteOp::Update, Some(_)) => Some(NotifyOn::Transition),
            (WriteOp::Update, None) => Some(NotifyOn::Update),
            (WriteOp::Delete, _) => None,
        };
        // One notification job per change, with every rule that matches it: the job mails each
        // recipient once, however many rules name them.
        let rules: Vec<usize> = collection
            .notifications
            .iter()
            .enumerate()
            .filter(|(_, rule)| notify_on.is_some_and(|on| rule.on.contains(&on) || (on == NotifyOn::Transition && rule.on.contains(&NotifyOn::Update))))
            .map(|(index, _)| index)
            .collect();
        if !rules.is_empty() {
            // The values this change wrote: the mail tells this change, not what the record
            // has become by the time the job runs.
            let after: Map<String, Value> = changes.iter().map(|c| (c.field.clone(), c.after.clone())).collect();
            let payload = json!({
                "record_id": id, "collection": collection.name, "version": record.version, "rules": rules,
                "op": op.as_str(), "transition": transition, "actor": caller.actor.subject, "changed": changed, "after": after,
            });
            jobs.push(NewJob::new(Some(caller.tenant), job_kinds::NOTIFY, payload, now).dedupe(format!("notify:{id}:{}", record.version)));
        }
        let events: Vec<String> = std::iter::once(event_name(op, transition).to_owned()).chain(effect_events.iter().cloned()).collect();
        let change_event = super::hooks::ChangeEvent {
            collection: &collection.name,
            record_id: id,
            version: record.version,
            events: &events,
            changed: &changed,
            transition,
            state: record.state.as_deref(),
        };
        for subscriber in self.hooks.subscribers() {
            jobs.extend(subscriber.jobs(caller, &change_event, now).await);
        }
        for timer in timers.iter().filter(|t| t.status == "running") {
            if let Some(due) = timer.due_at {
                let payload = json!({ "record_id": id, "timer": timer.name, "due_at": due });
                jobs.push(NewJob::new(Some(caller.tenant), job_kinds::TIMER, payload, now).at(due).dedupe(format!("timer:{id}:{}:{due}", timer.name)));
            }
        }
        jobs
    }

    /// A record's history, newest first, with only the changes the caller may read.
    pub async fn history(&self, caller: &Caller, at: impl Into<RecordRef<'_>>, before: Option<i64>, limit: i64) -> Result<Vec<HistoryEntry>, RecordError> {
        let at = at.into();
        let id = at.id;
        let (collection, _) = self.load(caller, at, "read").await?;
        let readable = Access::new(&self.authz, caller).readable(&collection).await?;
        let rows = self.store.history(caller.tenant, id, before, limit.clamp(1, 200)).await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let changes: Vec<FieldChange> = row.changes.into_iter().filter(|c| readable.contains(&c.field)).collect();
                // An update whose every change is hidden says nothing the caller may know.
                if changes.is_empty() && row.op == "update" && row.transition.is_none() {
                    return None;
                }
                Some(HistoryEntry { changes, ..row })
            })
            .collect())
    }

    /// The records linked to a record: explicit links both ways, and reference fields both ways.
    pub async fn links(&self, caller: &Caller, at: impl Into<RecordRef<'_>>) -> Result<Vec<LinkView>, RecordError> {
        let (collection, record) = self.load(caller, at.into(), "read").await?;
        let id = record.id;
        let access = Access::new(&self.authz, caller);
        let collections = self.registry.for_tenant(caller.tenant).await?;
        let mut found: Vec<(String, &'static str, &'static str, Uuid)> = Vec::new();
        for link in self.store.links(caller.tenant, id).await? {
            if link.from_id == id {
                found.push((link.kind, "outgoing", "link", link.to_id));
            } else {
                found.push((link.kind, "incoming", "link", link.from_id));
            }
        }
        let readable = access.readable(&collection).await?;
        for field in collection.fields.iter().filter(|f| f.field_type == FieldType::Reference && readable.contains(&f.name)) {
            let targets: Vec<Uuid> = match record.data.get(&field.name) {
                Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str()).filter_map(|s| Uuid::parse_str(s).ok()).collect(),
                Some(Value::String(s)) => Uuid::parse_str(s).into_iter().collect(),
                _ => Vec::new(),
            };
            found.extend(targets.into_iter().map(|t| (field.name.clone(), "outgoing", "reference", t)));
        }
        for other in collections.iter() {
            for field in
                other.fields.iter().filter(|f| f.field_type == FieldType::Reference && !f.multiple && f.collection.as_deref() == Some(&collection.name))
            {
                for r in self.store.referencing(caller.tenant, &other.name, &field.name, id, 100).await? {
                    found.push((field.name.clone(), "incoming", "reference", r.id));
                }
            }
        }
        let ids: Vec<Uuid> = found.iter().map(|f| f.3).collect();
        let others = self.store.get_many(caller.tenant, &ids).await?;
        let mut views = Vec::new();
        for (kind, direction, via, other_id) in found {
            let Some(other) = others.iter().find(|r| r.id == other_id) else { continue };
            let Some(other_def) = collections.get(&other.collection) else { continue };
            if !access.can(other_def, "read").await? || !access.in_scope(other_def, other.id, &other.data) {
                continue;
            }
            views.push(LinkView {
                kind,
                direction,
                via,
                record_id: other.id,
                collection: other.collection.clone(),
                title: self.title(&access, other_def, other).await?,
            });
        }
        Ok(views)
    }

    async fn title(&self, access: &Access<'_>, collection: &CollectionDef, record: &StoredRecord) -> Result<String, RecordError> {
        if let Some(field) = collection.title_field.as_ref().and_then(|t| collection.field(t))
            && access.may_read(field).await?
            && let Some(Value::String(s)) = record.data.get(&field.name)
        {
            return Ok(s.clone());
        }
        Ok(format!("{} {}", collection.label_one("fr"), &record.id.to_string()[..8]))
    }

    /// Links two records (the caller updates `from` and reads `to`). `kind` must be declared by
    /// `from`'s collection for `to`'s collection, or be `related`.
    pub async fn link(&self, caller: &Caller, from: impl Into<RecordRef<'_>>, to: Uuid, kind: &str, add: bool) -> Result<bool, RecordError> {
        let from = from.into();
        let (from_def, _) = self.load(caller, from, "update").await?;
        let from = from.id;
        let (to_def, _) = self.load(caller, to.into(), "read").await?;
        let declared = kind == "related" || from_def.links.iter().any(|l| l.kind == kind && l.to == to_def.name);
        if !declared {
            let kinds: Vec<String> = from_def.links.iter().filter(|l| l.to == to_def.name).map(|l| l.kind.clone()).collect();
            return Err(RecordError::invalid(
                "kind",
                format!(
                    "{} does not link to {} as `{kind}` (declared: {})",
                    from_def.name,
                    to_def.name,
                    if kinds.is_empty() { "related".into() } else { kinds.join(", ") + ", related" }
                ),
            ));
        }
        let link = super::store::LinkRow { from_id: from, to_id: to, kind: kind.to_owned() };
        Ok(if add {
            self.store.add_link(caller.tenant, &link, &caller.actor).await?
        } else {
            self.store.remove_link(caller.tenant, &link, &caller.actor).await?
        })
    }

    /// Full-text search across the collections the caller may read, returning only records and
    /// text the caller may see.
    pub async fn search(&self, caller: &Caller, text: &str, limit: usize) -> Result<Vec<SearchHit>, RecordError> {
        let terms = search::terms(text);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let limit = limit.clamp(1, 50);
        let access = Access::new(&self.authz, caller);
        let collections = self.registry.for_tenant(caller.tenant).await?;
        let rows = self.store.search(caller.tenant, &terms, (limit * 4) as i64).await?;
        let mut permitted = std::collections::HashMap::new();
        let mut candidates = Vec::new();
        for row in rows {
            if candidates.iter().any(|(r, _): &(Uuid, String)| *r == row.record_id) {
                continue;
            }
            let mut allowed = true;
            for permission in row.permission.split(',').filter(|p| !p.is_empty()) {
                let held = match permitted.get(permission) {
                    Some(held) => *held,
                    None => {
                        let held = access.has(permission).await?;
                        permitted.insert(permission.to_owned(), held);
                        held
                    }
                };
                allowed &= held;
            }
            if allowed {
                candidates.push((row.record_id, row.snippet));
            }
        }
        let ids: Vec<Uuid> = candidates.iter().map(|(id, _)| *id).collect();
        let records = self.store.get_many(caller.tenant, &ids).await?;
        let mut hits = Vec::new();
        for (id, snippet) in candidates {
            let Some(record) = records.iter().find(|r| r.id == id) else { continue };
            let Some(def) = collections.get(&record.collection) else { continue };
            if !access.can(def, "read").await? || !access.in_scope(def, record.id, &record.data) {
                continue;
            }
            hits.push(SearchHit { record_id: id, collection: record.collection.clone(), title: self.title(&access, def, record).await?, snippet });
        }
        // A record whose own title holds every word comes before records that only mention it
        // (an account before its lines, which carry its name), the closest title first (the
        // account « Transports Le Goff » before « Facturation Transports Le Goff »); otherwise
        // the index's ranking.
        let folded: Vec<String> = terms.iter().map(|t| search::fold(t)).collect();
        let rank = |hit: &SearchHit| -> (bool, usize) {
            let title = search::terms(&hit.title).iter().map(|w| search::fold(w)).collect::<Vec<_>>();
            let holds = folded.iter().all(|t| title.iter().any(|w| w.starts_with(t.as_str())));
            (!holds, if holds { title.len().saturating_sub(folded.len()) } else { 0 })
        };
        hits.sort_by_key(|h| rank(h));
        hits.truncate(limit);
        Ok(hits)
    }

    /// Fires a timer whose deadline passed (the `timer.fire` job). Stale jobs (the timer was
    /// paused, stopped or restarted since) do nothing.
    pub async fn fire_timer(&self, tenant: TenantId, id: Uuid, timer: &str, due_at: i64) -> Result<(), RecordError> {
        let caller = Caller::system(tenant, "workflow timer");
        let Some(record) = self.store.get(tenant, id).await? else { return Ok(()) };
        let current = self.store.timers(tenant, id).await?;
        let Some(row) = current.iter().find(|t| t.name == timer) else { return Ok(()) };
        if row.status != "running" || row.due_at != Some(due_at) || due_at > self.clock.now_ms() {
            return Ok(());
        }
        let collection = self.definition(tenant, &record.collection).await?;
        let Some(workflow) = &collection.workflow else { return Ok(()) };
        let Some(def) = workflow.timer(timer) else { return Ok(()) };
        let mut data = record.data.clone();
        let mut outcome = EffectOutcome { timers: vec![(timer.to_owned(), TimerOp::Fired)], events: Vec::new() };
        apply_effects(&collection, &def.on_fire, &mut data, &mut outcome)?;
        let change = Change {
            op: WriteOp::Update,
            state: record.state.clone(),
            expected_version: Some(record.version),
            before: Some(record),
            data,
            transition: None,
            outcome,
        };
        match self.write(&caller, &collection, id, change).await {
            // Changed meanwhile: the job runs again and re-checks.
            Err(RecordError::Conflict { .. }) => Err(RecordError::Store(crate::error::StoreError::Conflict("record changed while its timer fired".into()))),
            other => other.map(drop),
        }
    }

    /// Stores an uploaded file for the caller.
    pub async fn upload(&self, caller: &Caller, name: &str, content_type: &str, bytes: &[u8]) -> Result<StoredFile, RecordError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(RecordError::invalid("file", format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20)));
        }
        let name: String = name.chars().filter(|c| !c.is_control() && *c != '/' && *c != '\\').take(200).collect();
        let name = if name.trim().is_empty() { "fichier".to_owned() } else { name };
        let content_type = stored_content_type(content_type);
        let content_type = content_type.as_str();
        use sha2::Digest as _;
        let file = StoredFile {
            id: Uuid::now_v7(),
            name,
            content_type: content_type.to_owned(),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(sha2::Sha256::digest(bytes)),
            created_by: caller.actor.subject.clone(),
            record_id: None,
            field: None,
        };
        self.store.put_file(caller.tenant, &file, bytes).await?;
        Ok(file)
    }

    /// A file's description, whoever may read it: for the plugin host, which checks the plugin's
    /// grants itself (see `plugins::host::files`).
    pub async fn file_info(&self, tenant: TenantId, id: Uuid) -> Result<Option<StoredFile>, RecordError> {
        Ok(self.store.file(tenant, id).await?)
    }

    /// A file's content, whoever may read it (see [`RecordEngine::file_info`]).
    pub async fn file_content(&self, tenant: TenantId, id: Uuid) -> Result<Option<Vec<u8>>, RecordError> {
        Ok(self.store.file_bytes(tenant, id).await?)
    }

    /// Deletes the files uploaded before `before` (ms) that no record took, in every tenant.
    pub async fn purge_unattached_files(&self, before: i64) -> Result<u64, RecordError> {
        Ok(self.store.purge_unattached_files(before).await?)
    }

    /// A file's description if the caller may read it — attached to a field of a record they may
    /// read, or uploaded by them and not attached yet — with the collection of the record holding
    /// it, if any. Anything else is `NotFound`, as a file that does not exist.
    pub async fn readable_file(&self, caller: &Caller, id: Uuid) -> Result<(StoredFile, Option<String>), RecordError> {
        let not_found = || RecordError::NotFound(format!("file {id} does not exist in this tenant"));
        let file = self.store.file(caller.tenant, id).await?.ok_or_else(not_found)?;
        match (file.record_id, &file.field) {
            (Some(record), Some(field)) => {
                let (collection, _) = self.load(caller, record.into(), "read").await.map_err(|_| not_found())?;
                let readable = Access::new(&self.authz, caller).readable(&collection).await?;
                if !readable.contains(field) {
                    return Err(not_found());
                }
                let name = collection.name.clone();
                Ok((file, Some(name)))
            }
            _ if file.created_by == caller.actor.subject => Ok((file, None)),
            _ => Err(not_found()),
        }
    }

    /// A file and its content, if the caller may read it (see [`RecordEngine::readable_file`]).
    pub async fn download(&self, caller: &Caller, id: Uuid) -> Result<(StoredFile, Vec<u8>), RecordError> {
        let (file, _) = self.readable_file(caller, id).await?;
        let bytes = self.store.file_bytes(caller.tenant, id).await?.ok_or_else(|| RecordError::NotFound(format!("file {id} does not exist in this tenant")))?;
        Ok((file, bytes))
    }
}

/// Required fields left empty, as field errors.
/// The type an upload is stored with: the client's claim reduced to `type/subtype` (parameters
/// dropped, lowercase, plain characters), and never a type a browser would run (scripts, HTML,
/// SVG, XML): those become `application/octet-stream`.
pub fn stored_content_type(claimed: &str) -> String {
    const ACTIVE: &[&str] = &[
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/ecmascript",
        "text/xml",
        "application/xml",
        "text/xsl",
    ];
    let essence = claimed.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let plain = essence.len() <= 100
        && essence.split_once('/').is_some_and(|(t, s)| !t.is_empty() && !s.is_empty())
        && essence.bytes().all(|b| b.is_ascii_alphanumeric() || b"/.+-_".contains(&b));
    if !plain || ACTIVE.contains(&essence.as_str()) { "application/octet-stream".to_owned() } else { essence }
}

fn check_required(collection: &CollectionDef, data: &Map<String, Value>) -> Result<(), RecordError> {
    let missing: Vec<FieldError> = collection
        .fields
        .iter()
        .filter(|f| f.required && data.get(&f.name).is_none_or(Value::is_null))
        .map(|f| FieldError { field: f.name.clone(), message: "is required".into() })
        .collect();
    if missing.is_empty() { Ok(()) } else { Err(RecordError::Invalid(missing)) }
}

/// The references a change adds (values of reference fields that were not there before): each
/// must point to an existing record of the field's collection when the write commits.
fn new_references(collection: &CollectionDef, changes: &[FieldChange]) -> Vec<ReferenceCheck> {
    let values = |v: &Value| -> Vec<Value> {
        match v {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            v => vec![v.clone()],
        }
    };
    let mut references = Vec::new();
    for change in changes {
        let Some(field) = collection.field(&change.field) else { continue };
        let (FieldType::Reference, Some(target)) = (field.field_type, &field.collection) else { continue };
        let old = values(&change.before);
        for value in values(&change.after).into_iter().filter(|v| !old.contains(v)) {
            if let Some(target_id) = value.as_str().and_then(|s| Uuid::parse_str(s).ok()) {
                references.push(ReferenceCheck { field: field.name.clone(), id: target_id, collection: target.clone() });
            }
        }
    }
    references
}

/// The files a write attaches, with their fields: ids in its file fields that the record did not
/// hold before.
fn new_files(collection: &CollectionDef, before: Option<&Map<String, Value>>, after: &Map<String, Value>) -> Vec<(Uuid, String)> {
    let ids = |value: Option<&Value>| -> Vec<Uuid> {
        let values: Vec<&Value> = match value {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v) => vec![v],
            None => Vec::new(),
        };
        values.into_iter().filter_map(|v| v.get("id")?.as_str()).filter_map(|s| Uuid::parse_str(s).ok()).collect()
    };
    let mut files = Vec::new();
    for field in collection.fields.iter().filter(|f| f.field_type == FieldType::File) {
        let old = ids(before.and_then(|b| b.get(&field.name)));
        files.extend(ids(after.get(&field.name)).into_iter().filter(|id| !old.contains(id)).map(|id| (id, field.name.clone())));
    }
    files
}

fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<FieldChange> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (b, a) = (before.get(k).cloned().unwrap_or(Value::Null), after.get(k).cloned().unwrap_or(Value::Null));
            (b != a).then(|| FieldChange { field: k.clone(), before: b, after: a })
        })
        .collect()
}

/// What a caller may do with one collection (see [`RecordEngine::abilities`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Abilities {
    /// May create records.
    pub create: bool,
    /// May change records.
    pub update: bool,
    /// May delete records.
    pub delete: bool,
    /// Fields the caller may set (never the workflow's state field: it moves by transitions).
    pub writable: HashSet<String>,
    /// Transitions the caller may fire (names, in the workflow's order).
    pub transitions: Vec<String>,
}

/// The stable machine code of an error.
pub fn error_code(err: &RecordError) -> &'static str {
    match err {
        RecordError::NotFound(_) => "not_found",
        RecordError::Invalid(_) => "validation_failed",
        RecordError::Denied(_) => "forbidden",
        RecordError::Conflict { .. } => "version_conflict",
        RecordError::Vetoed { .. } => "vetoed",
        RecordError::Store(_) => "internal_error",
    }
}
