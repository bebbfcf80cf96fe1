//! Which tenant a request is for: a `/t/<slug>/` prefix, a `<slug>.<base-domain>` host, or a
//! custom domain. Lookups are cached briefly on each node and dropped when any node changes a
//! tenant (bus topic `tenant.changed`).

pub mod branding;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use socle_tenants::{DomainName, Slug, Tenant, TenantError, TenantStore};

use crate::bus::{Bus, topics};

/// The tenant a request belongs to, with the URL prefix its links must carry.
#[derive(Debug, Clone)]
pub struct TenantContext {
    /// The tenant.
    pub tenant: Arc<Tenant>,
    /// `/t/<slug>` when the request came through the path prefix, empty on the tenant's own host.
    pub base_path: String,
}

impl TenantContext {
    /// A path inside the tenant's portal, with the prefix if any: `link("/login")`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }
}

/// Where a request goes.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// A tenant's portal or API; `path` is the request path without the `/t/<slug>` prefix.
    Tenant {
        /// The tenant and link prefix.
        context: TenantContext,
        /// Path to route.
        path: String,
    },
    /// The platform itself (operator console, health): the bare base domain or an IP address.
    Platform,
    /// A host or prefix that names no tenant (answer 404).
    Unknown(String),
}

/// Resolves requests to tenants, caching lookups.
pub struct TenantResolver {
    store: Arc<dyn TenantStore>,
    base_domain: String,
    cache: moka::future::Cache<String, Option<Arc<Tenant>>>,
}

impl TenantResolver {
    /// A resolver for tenants under `base_domain`.
    pub fn new(store: Arc<dyn TenantStore>, base_domain: &str) -> Self {
        Self {
            store,
            base_domain: base_domain.trim_end_matches('.').to_ascii_lowercase(),
            cache: moka::future::Cache::builder().max_capacity(50_000).time_to_live(Duration::from_secs(30)).build(),
        }
    }

    /// Resolves a request from its `Host` header and path. On the platform's own host (the
    /// base domain, an IP address, no host), `/t/<slug>/…` names the tenant. On a tenant's host
    /// (its subdomain or its own domain) that tenant answers, and a `/t/<slug>/` prefix may only
    /// name the same tenant: another tenant's portal is never served under a tenant's address.
    pub async fn resolve(&self, host: Option<&str>, path: &str) -> Result<Resolution, TenantError> {
        let prefixed = path.strip_prefix("/t/").map(|rest| rest.split_once('/').map_or((rest, ""), |(s, r)| (s, r)));
        let host = host.map(strip_port).map(|h| h.trim_end_matches('.').to_ascii_lowercase());
        let platform = match &host {
            None => true,
            Some(host) => host == &self.base_domain || host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('['),
        };
        if platform {
            let Some((slug, remainder)) = prefixed else { return Ok(Resolution::Platform) };
            let Ok(slug) = Slug::parse(slug) else { return Ok(Resolution::Unknown(format!("/t/{slug}"))) };
            return Ok(match self.by_slug(&slug).await? {
                Some(tenant) => Resolution::Tenant { context: TenantContext { tenant, base_path: format!("/t/{slug}") }, path: format!("/{remainder}") },
                None => Resolution::Unknown(format!("/t/{slug}")),
            });
        }
        let host = host.unwrap_or_default();
        let tenant = match host.strip_suffix(&self.base_domain).and_then(|h| h.strip_suffix('.')) {
            Some(label) if !label.contains('.') => match Slug::parse(label) {
                Ok(slug) => self.by_slug(&slug).await?,
                Err(_) => None,
            },
            _ => match DomainName::parse(&host) {
                Ok(domain) => self.by_domain(&domain).await?,
                Err(_) => None,
            },
        };
        Ok(match (tenant, prefixed) {
            (Some(tenant), Some((slug, remainder))) if slug == tenant.slug.as_str() => {
                Resolution::Tenant { context: TenantContext { tenant, base_path: format!("/t/{slug}") }, path: format!("/{remainder}") }
            }
            (Some(_), Some((slug, _))) => Resolution::Unknown(format!("{host}/t/{slug}")),
            (Some(tenant), None) => Resolution::Tenant { context: TenantContext { tenant, base_path: String::new() }, path: path.to_owned() },
            (None, _) => Resolution::Unknown(host),
        })
    }

    async fn by_slug(&self, slug: &Slug) -> Result<Option<Arc<Tenant>>, TenantError> {
        self.cached(format!("slug:{slug}"), self.store.by_slug(slug)).await
    }

    async fn by_domain(&self, domain: &DomainName) -> Result<Option<Arc<Tenant>>, TenantError> {
        self.cached(format!("domain:{domain}"), self.store.by_domain(domain)).await
    }

    /// The cached answer under `key`, or what `load` finds (a miss is cached too).
    async fn cached(
        &self,
        key: String,
        load: impl std::future::Future<Output = Result<Option<Tenant>, TenantError>>,
    ) -> Result<Option<Arc<Tenant>>, TenantError> {
        if let Some(hit) = self.cache.get(&key).await {
            return Ok(hit);
        }
        let found = load.await?.map(Arc::new);
        self.cache.insert(key, found.clone()).await;
        Ok(found)
    }

    /// Drops every cached lookup on this node.
    pub fn invalidate_local(&self) {
        self.cache.invalidate_all();
    }

    /// Call after changing a tenant: drops cached lookups here and on every node.
    pub async fn changed(&self, tenant: socle_tenants::TenantId, bus: &dyn Bus) {
        self.invalidate_local();
        if let Err(err) = bus.publish(topics::TENANT_CHANGED, &tenant.to_string()).await {
            tracing::error!(tenant.id = %tenant, error = format!("{err:#}"), "failed to broadcast a tenant change");
        }
    }

    /// Listens to the bus and drops lookups other nodes changed.
    pub fn listen(self: &Arc<Self>, bus: &dyn Bus) -> tokio::task::JoinHandle<()> {
        crate::bus::invalidate_on(bus, topics::TENANT_CHANGED, self)
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // IPv6 literal: keep it whole, it resolves to the platform anyway.
        return host;
    }
    host.rsplit_once(':').map_or(host, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { host })
}

#[async_trait::async_trait]
impl crate::bus::TenantCache for TenantResolver {
    // Lookups are keyed by host and slug, not tenant, and tenant changes are rare: drop all.
    async fn invalidate_tenant(&self, _tenant: socle_tenants::TenantId) {
        self.invalidate_local();
    }

    async fn invalidate_everything(&self) {
        self.invalidate_local();
    }
}
