//! The collections a tenant has: the core's CRM collections, plus the schema fragments the
//! tenant installed (its own custom collections, its plugins' collections and the fields they add
//! to others), assembled and checked together, with their indexes in place. Cached per tenant.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dashmap::DashSet;
use serde_json::Value;
use socle_marketplace::schema::{CollectionDef, FieldType, SchemaError, SchemaFile};
use socle_tenants::{Actor, TenantId};

use super::RecordError;
use super::query::{expr_kind, index_name};
use super::store::{IndexSpec, RecordStore};
use crate::error::StoreError;

const CORE_SCHEMA: &str = include_str!("../../schema/crm.toml");

/// The core's collections (parsed once; the file is part of the binary and tested).
pub fn core_schema() -> &'static SchemaFile {
    static CORE: OnceLock<SchemaFile> = OnceLock::new();
    CORE.get_or_init(|| match SchemaFile::parse(CORE_SCHEMA) {
        Ok(schema) => schema,
        // The file is compiled in and covered by tests: a failure here is a build defect.
        Err(err) => panic!("core/schema/crm.toml is invalid: {err}"),
    })
}

/// A tenant's assembled collections.
#[derive(Debug, Default)]
pub struct TenantCollections {
    by_name: BTreeMap<String, Arc<CollectionDef>>,
}

impl TenantCollections {
    /// The collection called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<CollectionDef>> {
        self.by_name.get(name)
    }

    /// Every collection, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<CollectionDef>> {
        self.by_name.values()
    }
}

/// Assembles `fragments` (in order) on top of the core collections and checks the result.
pub fn assemble(fragments: &[(String, SchemaFile)]) -> Result<TenantCollections, SchemaError> {
    let mut raw: BTreeMap<String, (String, CollectionDef)> = BTreeMap::new();
    for (source, file) in std::iter::once(&("core".to_owned(), core_schema().clone())).chain(fragments) {
        for collection in &file.collections {
            if let Some((other, _)) = raw.get(&collection.name) {
                return Err(SchemaError::new(
                    format!("{source}: collections.{}", collection.name),
                    format!("the collection `{}` is already defined by {other}", collection.name),
                ));
            }
            raw.insert(collection.name.clone(), (source.clone(), collection.clone()));
        }
    }
    // `extends`: a collection starts from its parent's fields (one level, no cycles).
    let parents: BTreeMap<String, CollectionDef> = raw.iter().map(|(k, (_, c))| (k.clone(), c.clone())).collect();
    for (source, collection) in raw.values_mut() {
        if let Some(parent_name) = collection.extends.clone() {
            let parent = parents
                .get(&parent_name)
                .ok_or_else(|| SchemaError::new(format!("{source}: collections.{}.extends", collection.name), format!("no collection `{parent_name}`")))?;
            if parent.extends.is_some() {
                return Err(SchemaError::new(
                    format!("{source}: collections.{}.extends", collection.name),
                    "a collection can only extend one that extends nothing",
                ));
            }
            let mut fields = parent.fields.clone();
            for field in &collection.fields {
                if fields.iter().any(|f| f.name == field.name) {
                    return Err(SchemaError::new(
                        format!("{source}: collections.{}.fields.{}", collection.name, field.name),
                        format!("`{}` is already a field of `{parent_name}`", field.name),
                    ));
                }
                fields.push(field.clone());
            }
            collection.fields = fields;
        }
    }
    for (source, file) in fragments {
        for extension in &file.extensions {
            let (_, target) = raw.get_mut(&extension.collection).ok_or_else(|| {
                SchemaError::new(format!("{source}: extensions.{}", extension.collection), format!("no collection `{}` to extend", extension.collection))
            })?;
            for field in &extension.fields {
                if target.field(&field.name).is_some() {
                    return Err(SchemaError::new(
                        format!("{source}: extensions.{}.fields.{}", extension.collection, field.name),
                        format!("`{}` already has a field `{}`", extension.collection, field.name),
                    ));
                }
                target.fields.push(field.clone());
            }
        }
    }
    for (source, collection) in raw.values() {
        let at = |e: SchemaError| SchemaError::new(format!("{source}: collections.{}.{}", collection.name, e.path), e.message);
        collection.validate_field_references().map_err(at)?;
        for field in &collection.fields {
            if let (FieldType::Reference, Some(target)) = (field.field_type, &field.collection)
                && !raw.contains_key(target)
            {
                return Err(at(SchemaError::new(format!("fields.{}.collection", field.name), format!("no collection `{target}`"))));
            }
        }
        for link in &collection.links {
            if !raw.contains_key(&link.to) {
                return Err(at(SchemaError::new(format!("links.{}.to", link.kind), format!("no collection `{}`", link.to))));
            }
        }
    }
    Ok(TenantCollections { by_name: raw.into_iter().map(|(k, (_, c))| (k, Arc::new(c))).collect() })
}

/// A schema fragment and where it comes from (`core`, `plugin:<id>`, `custom:<name>`).
pub type Fragment = (String, SchemaFile);

/// Keeps the fragments that assemble together, whatever order the store returns them in: a
/// fragment referring to another's collections (telecom's lines to helpdesk's tickets) is tried
/// again once that one is in, so re-installing a dependency never drops its dependents. Returns
/// the fragments kept, in a working order, and the ones skipped with why.
pub fn assemble_fragments(mut pending: Vec<Fragment>) -> (Vec<Fragment>, Vec<(String, SchemaError)>) {
    let mut kept: Vec<Fragment> = Vec::new();
    loop {
        let mut progress = false;
        let mut failed = Vec::new();
        for (source, file) in pending {
            let mut candidate = kept.clone();
            candidate.push((source.clone(), file.clone()));
            match assemble(&candidate) {
                Ok(_) => {
                    kept = candidate;
                    progress = true;
                }
                Err(err) => failed.push((source, file, err)),
            }
        }
        if failed.is_empty() || !progress {
            return (kept, failed.into_iter().map(|(source, _, err)| (source, err)).collect());
        }
        pending = failed.into_iter().map(|(source, file, _)| (source, file)).collect();
    }
}

/// The indexes a collection needs, in the store's dialect.
pub fn indexes(store: &dyn RecordStore, collection: &CollectionDef) -> Vec<IndexSpec> {
    collection
        .fields
        .iter()
        .filter(|f| f.is_indexed() && !f.multiple)
        .map(|f| IndexSpec {
            name: index_name(&collection.name, &f.name, f.unique),
            collection: collection.name.clone(),
            expr: store.dialect().field_expr(&f.name, expr_kind(f)),
            unique: f.unique,
        })
        .collect()
}

/// Collections per tenant, cached.
pub struct CollectionRegistry {
    store: Arc<dyn RecordStore>,
    bus: Arc<dyn crate::bus::Bus>,
    cache: moka::future::Cache<TenantId, Arc<TenantCollections>>,
    ensured: DashSet<String>,
}

impl CollectionRegistry {
    /// A registry reading fragments from `store`; changes are announced on `bus`.
    pub fn new(store: Arc<dyn RecordStore>, bus: Arc<dyn crate::bus::Bus>) -> Self {
        Self { store, bus, cache: moka::future::Cache::builder().max_capacity(20_000).time_to_idle(Duration::from_secs(3600)).build(), ensured: DashSet::new() }
    }

    /// The tenant's collections. A fragment that no longer assembles (it should not happen:
    /// fragments are checked when installed) is skipped with an error in the log rather than
    /// taking the tenant down.
    pub async fn for_tenant(&self, tenant: TenantId) -> Result<Arc<TenantCollections>, StoreError> {
        if let Some(hit) = self.cache.get(&tenant).await {
            return Ok(hit);
        }
        let mut readable = Vec::new();
        for (source, json) in self.store.tenant_schemas(tenant).await? {
            match serde_json::from_value::<SchemaFile>(json) {
                Ok(file) => readable.push((source, file)),
                Err(err) => tracing::error!(tenant.id = %tenant, source = %source, error = %err, "unreadable schema fragment skipped"),
            }
        }
        let (fragments, skipped) = assemble_fragments(readable);
        for (source, err) in skipped {
            tracing::error!(tenant.id = %tenant, source = %source, error = %err, "schema fragment skipped");
        }
        let collections = Arc::new(assemble(&fragments).map_err(|e| StoreError::Other(anyhow::anyhow!("{e}")))?);
        for collection in collections.iter() {
            self.ensure_indexes(collection).await?;
        }
        self.cache.insert(tenant, collections.clone()).await;
        Ok(collections)
    }

    async fn ensure_indexes(&self, collection: &CollectionDef) -> Result<(), StoreError> {
        for index in indexes(self.store.as_ref(), collection) {
            if self.ensured.contains(&index.name) {
                continue;
            }
            self.store.ensure_index(&index).await?;
            self.ensured.insert(index.name);
        }
        Ok(())
    }

    /// Installs (or replaces) a schema fragment after checking it assembles with everything the
    /// tenant already has; `source` is `custom:<name>` or `plugin:<id>`.
    pub async fn install(&self, tenant: TenantId, source: &str, file: &SchemaFile, by: &Actor) -> Result<(), RecordError> {
        let mut fragments: Vec<(String, SchemaFile)> = Vec::new();
        for (existing, json) in self.store.tenant_schemas(tenant).await? {
            if existing != source
                && let Ok(f) = serde_json::from_value(json)
            {
                fragments.push((existing, f));
            }
        }
        fragments.push((source.to_owned(), file.clone()));
        let assembled = assemble(&fragments).map_err(|e| RecordError::invalid(e.path, e.message))?;
        for collection in assembled.iter() {
            self.ensure_indexes(collection).await.map_err(|e| match e {
                StoreError::Conflict(message) => RecordError::invalid("unique", message),
                other => RecordError::Store(other),
            })?;
        }
        let json: Value = serde_json::to_value(file).map_err(anyhow::Error::from)?;
        self.store.put_tenant_schema(tenant, source, &json, by).await?;
        self.changed(tenant).await;
        Ok(())
    }

    /// Removes a schema fragment (its records stay, out of reach until it is installed again).
    pub async fn uninstall(&self, tenant: TenantId, source: &str, by: &Actor) -> Result<bool, StoreError> {
        let removed = self.store.delete_tenant_schema(tenant, source, by).await?;
        self.changed(tenant).await;
        Ok(removed)
    }

    /// Drops the tenant's cached collections on this node.
    pub async fn invalidate(&self, tenant: TenantId) {
        self.cache.invalidate(&tenant).await;
    }

    async fn changed(&self, tenant: TenantId) {
        self.invalidate(tenant).await;
        if let Err(err) = self.bus.publish(crate::bus::topics::SCHEMA_CHANGED, &tenant.to_string()).await {
            tracing::error!(tenant.id = %tenant, error = format!("{err:#}"), "failed to broadcast a schema change");
        }
    }

    /// Listens to the bus and drops collections other nodes changed.
    pub fn listen(self: &Arc<Self>, bus: &dyn crate::bus::Bus) -> tokio::task::JoinHandle<()> {
        crate::bus::invalidate_on(bus, crate::bus::topics::SCHEMA_CHANGED, self)
    }
}

#[async_trait::async_trait]
impl crate::bus::TenantCache for CollectionRegistry {
    async fn invalidate_tenant(&self, tenant: TenantId) {
        self.invalidate(tenant).await;
    }

    async fn invalidate_everything(&self) {
        self.cache.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_collections_assemble() {
        let collections = assemble(&[]).unwrap();
        for name in ["customer_account", "contact", "site", "billing_site", "document", "catalogue_item"] {
            assert!(collections.get(name).is_some(), "{name}");
        }
        let item = collections.get("catalogue_item").unwrap();
        assert_eq!(item.field("purchase_price").unwrap().read_permission.as_deref(), Some("voir_marge"));
    }

    #[test]
    fn fragments_extend_and_are_checked_together() {
        let plugin = SchemaFile::parse(
            r#"
[[collections]]
name = "telecom.line"
label = "Lignes"
[[collections.fields]]
name = "site"
type = "reference"
label = "Site"
collection = "site"

[[extensions]]
collection = "customer_account"
[[extensions.fields]]
name = "telecom_cfast_id"
type = "text"
label = "ID CFAST"
"#,
        )
        .unwrap();
        let assembled = assemble(&[("plugin:telecom".into(), plugin.clone())]).unwrap();
        assert!(assembled.get("customer_account").unwrap().field("telecom_cfast_id").is_some());
        let clash = assemble(&[("plugin:telecom".into(), plugin.clone()), ("plugin:other".into(), plugin)]).unwrap_err();
        assert!(clash.message.contains("already defined by plugin:telecom"), "{clash}");
        let dangling = SchemaFile::parse("[[collections]]\nname = \"x.y\"\nlabel = \"Y\"\n[[collections.fields]]\nname = \"r\"\ntype = \"reference\"\nlabel = \"R\"\ncollection = \"nowhere\"\n").unwrap();
        let err = assemble(&[("custom:y".into(), dangling)]).unwrap_err();
        assert!(err.message.contains("no collection `nowhere`"), "{err}");
    }

    #[test]
    fn a_fragment_referring_to_a_later_one_is_kept_whatever_the_order() {
        let parse = |text: &str| SchemaFile::parse(text).unwrap();
        let base = parse(
            "[[collections]]\nname = \"helpdesk.ticket\"\nlabel = \"Tickets\"\n[[collections.fields]]\nname = \"subject\"\ntype = \"text\"\nlabel = \"Objet\"\n",
        );
        let dependent = parse(
            "[[collections]]\nname = \"telecom.line\"\nlabel = \"Lignes\"\n[[collections.fields]]\nname = \"tickets\"\ntype = \"reference\"\ncollection = \"helpdesk.ticket\"\nlabel = \"Tickets\"\nmultiple = true\n",
        );
        let broken = parse(
            "[[collections]]\nname = \"x.y\"\nlabel = \"Y\"\n[[collections.fields]]\nname = \"z\"\ntype = \"reference\"\ncollection = \"nowhere\"\nlabel = \"Z\"\n",
        );
        let (kept, skipped) = assemble_fragments(vec![("plugin:telecom".into(), dependent), ("plugin:x".into(), broken), ("plugin:helpdesk".into(), base)]);
        let sources: Vec<&str> = kept.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(sources, ["plugin:helpdesk", "plugin:telecom"]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].0, "plugin:x");
        assert!(assemble(&kept).unwrap().get("telecom.line").is_some());
    }
}
