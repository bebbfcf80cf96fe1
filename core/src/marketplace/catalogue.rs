//! The catalogue tenant administrators browse: listed plugins searched and filtered by category,
//! vertical, price and rating; a listing page with permissions and their reasons, versions and
//! changelog, reviews, install numbers and whether it fits this tenant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use socle_marketplace::manifest::{Manifest, Pricing};
use socle_marketplace::package::{Package, PackageLimits};
use socle_marketplace::schema::Label;
use socle_tenants::Tenant;

use super::Marketplace;
use super::store::{Rating, Review, VersionRow};
use crate::records::search::fold;

/// Filters of a catalogue search.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Words matched against id, name, description and categories (accents and case ignored).
    pub q: Option<String>,
    /// Category.
    pub category: Option<String>,
    /// Vertical.
    pub vertical: Option<String>,
    /// `free` or `paid`.
    pub price: Option<String>,
    /// Lowest average rating.
    pub min_rating: Option<f64>,
    /// `installs` (default), `rating`, `name`, `newest`.
    pub sort: Option<String>,
}

impl Query {
    /// Checks the search before it runs.
    pub fn check(&self) -> Result<(), socle_tenants::ValidationError> {
        if self.q.as_ref().is_some_and(|q| q.len() > 200) {
            return Err(socle_tenants::ValidationError::new("q", "a search has at most 200 characters"));
        }
        Ok(())
    }
}

/// A plugin in the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Plugin id.
    pub id: String,
    /// Name.
    pub name: Label,
    /// Description.
    pub description: Label,
    /// Publisher.
    pub publisher: String,
    /// Categories.
    pub categories: Vec<String>,
    /// Vertical.
    pub vertical: Option<String>,
    /// Price.
    pub pricing: Pricing,
    /// Newest stable version (or newest beta if it only has betas).
    pub latest: String,
    /// Average stars.
    pub rating: Option<f64>,
    /// Number of reviews.
    pub reviews: usize,
    /// Install numbers.
    pub installs: InstallStats,
    /// Deprecation message.
    pub deprecated: Option<String>,
}

/// A listing page.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The summary.
    #[serde(flatten)]
    pub summary: Summary,
    /// README of the latest version.
    pub readme: Option<String>,
    /// Every listed version, newest first.
    pub versions: Vec<VersionInfo>,
    /// Capabilities of the latest version, each with its reason and risk.
    pub permissions: Vec<crate::plugins::grants::Grant>,
    /// Kinds of data it stores.
    pub data_classes: Vec<socle_marketplace::manifest::DataClass>,
    /// Dependencies.
    pub dependencies: BTreeMap<String, String>,
    /// Screenshots and icon (paths under `assets/`).
    pub assets: Vec<String>,
    /// Reviews, newest first.
    pub reviews: Vec<Review>,
    /// Whether it resolves for the asking tenant, and what installing it would do.
    pub compatibility: Option<Compatibility>,
}

/// One version on a listing page.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// Version.
    pub version: String,
    /// Channel.
    pub channel: String,
    /// Yank message.
    pub yanked: Option<String>,
    /// Changelog.
    pub changelog: Option<String>,
    /// Submission time (ms).
    pub published_at: i64,
}

/// Whether a plugin fits a tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Compatibility {
    /// It resolves.
    pub compatible: bool,
    /// The plan (steps) or why not.
    pub detail: serde_json::Value,
}

fn newest(rows: &[&VersionRow]) -> Option<(Manifest, VersionRow)> {
    let parsed = |r: &&&VersionRow| semver::Version::parse(&r.version).ok();
    let stable = rows.iter().filter(|r| r.channel == "stable" && r.yanked.is_none()).max_by_key(parsed);
    let any = rows.iter().filter(|r| r.yanked.is_none()).max_by_key(parsed);
    let row = stable.or(any)?;
    Some((Manifest::parse(&row.manifest).ok()?, (*row).clone()))
}

/// The catalogue entry of a plugin from its listed versions, or `None` if none is installable.
fn summary(
    id: &str,
    rows: &[&VersionRow],
    stats: &BTreeMap<String, InstallStats>,
    ratings: &BTreeMap<String, Rating>,
) -> Option<(Manifest, VersionRow, Summary)> {
    let (manifest, row) = newest(rows)?;
    let rating = ratings.get(id);
    let summary = Summary {
        id: id.to_owned(),
        name: manifest.plugin.name.clone(),
        description: manifest.plugin.description.clone(),
        publisher: row.publisher_id.clone(),
        categories: manifest.plugin.categories.clone(),
        vertical: manifest.plugin.vertical.clone(),
        pricing: manifest.pricing.clone(),
        latest: row.version.clone(),
        rating: rating.map(|r| r.average),
        reviews: rating.map_or(0, |r| r.count),
        installs: stats.get(id).copied().unwrap_or_default(),
        deprecated: row.deprecated.clone(),
    };
    Some((manifest, row, summary))
}

fn matches(query: &Query, words: &[String], manifest: &Manifest, summary: &Summary) -> bool {
    let haystack = fold(&format!(
        "{} {} {} {} {} {}",
        summary.id,
        manifest.plugin.name.get("fr"),
        manifest.plugin.name.get("en"),
        manifest.plugin.description.get("fr"),
        manifest.plugin.description.get("en"),
        manifest.plugin.categories.join(" ")
    ));
    let free = matches!(manifest.pricing, Pricing::Free);
    words.iter().all(|w| haystack.contains(w.as_str()))
        && query.category.as_ref().is_none_or(|c| manifest.plugin.categories.contains(c))
        && (query.vertical.is_none() || query.vertical == manifest.plugin.vertical)
        && match query.price.as_deref() {
            Some("free") => free,
            Some("paid") => !free,
            _ => true,
        }
        && query.min_rating.is_none_or(|min| summary.rating.unwrap_or(0.0) >= min)
}

/// Install numbers of a plugin.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct InstallStats {
    /// Tenants that have it installed now.
    pub active: i64,
    /// Tenants that ever installed it.
    pub total: i64,
}

impl Marketplace {
    /// Install numbers per plugin: active from the plugin runtime's installs, total from the
    /// marketplace's install events.
    pub async fn install_stats(&self) -> anyhow::Result<BTreeMap<String, InstallStats>> {
        let mut stats = BTreeMap::<String, InstallStats>::new();
        for (plugin, active) in self.plugins.store().install_counts().await? {
            stats.entry(plugin).or_default().active = active;
        }
        for (plugin, total) in self.store.install_totals().await? {
            stats.entry(plugin).or_default().total = total;
        }
        Ok(stats)
    }

    /// Catalogue search.
    pub async fn search_catalogue(&self, query: &Query) -> anyhow::Result<Vec<Summary>> {
        let listed = self.store.listed().await?;
        let stats = self.install_stats().await?;
        let ratings = self.store.ratings().await?;
        let mut by_plugin: BTreeMap<&str, Vec<&VersionRow>> = BTreeMap::new();
        for row in &listed {
            by_plugin.entry(&row.plugin_id).or_default().push(row);
        }
        let words: Vec<String> = query.q.as_deref().map(fold).unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        let mut found: Vec<(i64, Summary)> = by_plugin
            .into_iter()
            .filter_map(|(id, rows)| summary(id, &rows, &stats, &ratings))
            .filter(|(manifest, _, summary)| matches(query, &words, manifest, summary))
            .map(|(_, row, summary)| (row.submitted_at, summary))
            .collect();
        match query.sort.as_deref().unwrap_or("installs") {
            "name" => found.sort_by(|a, b| a.1.id.cmp(&b.1.id)),
            "rating" => found.sort_by(|a, b| b.1.rating.unwrap_or(0.0).total_cmp(&a.1.rating.unwrap_or(0.0))),
            "newest" => found.sort_by_key(|f| std::cmp::Reverse(f.0)),
            _ => found.sort_by(|a, b| b.1.installs.active.cmp(&a.1.installs.active).then(a.1.id.cmp(&b.1.id))),
        }
        Ok(found.into_iter().map(|(_, s)| s).collect())
    }

    /// A listing page, with its compatibility for `tenant`.
    pub async fn listing(&self, id: &str, tenant: Option<&Tenant>) -> anyhow::Result<Option<Listing>> {
        let versions = self.store.versions(id).await?;
        let listed: Vec<&VersionRow> = versions.iter().filter(|v| v.status == "listed").collect();
        let (stats, ratings) = (self.install_stats().await?, self.store.ratings().await?);
        let Some((manifest, row, summary)) = summary(id, &listed, &stats, &ratings) else { return Ok(None) };
        let archive = self.store.archive(&row.digest).await?.unwrap_or_default();
        let assets = Package::unpack(&archive, &PackageLimits::default()).map(|p| p.assets.into_keys().collect()).unwrap_or_default();
        let compatibility = match tenant {
            None => None,
            Some(tenant) => {
                let mut wants = self.wants(tenant.id).await?;
                wants.entry(id.to_owned()).or_insert_with(socle_tenants::PluginWant::any).subscribed = true;
                let change = super::Change {
                    kind: "install",
                    summary: format!("install {id}"),
                    target: super::Target::Resolve { wants, upgrade: socle_marketplace::resolve::Upgrade::None, locked: None },
                };
                Some(match self.plan(tenant, &change).await {
                    Ok(plan) => Compatibility { compatible: true, detail: serde_json::to_value(plan.steps)? },
                    Err(err) => Compatibility { compatible: false, detail: serde_json::Value::String(err.to_string()) },
                })
            }
        };
        Ok(Some(Listing {
            summary,
            readme: row.readme.clone(),
            versions: listed
                .iter()
                .map(|v| VersionInfo {
                    version: v.version.clone(),
                    channel: v.channel.clone(),
                    yanked: v.yanked.clone(),
                    changelog: v.changelog.clone(),
                    published_at: v.submitted_at,
                })
                .collect(),
            permissions: crate::plugins::grants::declared(&manifest),
            data_classes: manifest.data_classes.clone(),
            dependencies: manifest.dependencies.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            assets,
            reviews: self.store.reviews(id).await?,
            compatibility,
        }))
    }

    /// An asset of a listed plugin's latest version (icon, screenshot), with its content type.
    pub async fn listing_asset(&self, id: &str, path: &str) -> anyhow::Result<Option<(Vec<u8>, &'static str)>> {
        let versions = self.store.versions(id).await?;
        let listed: Vec<&VersionRow> = versions.iter().filter(|v| v.status == "listed").collect();
        let Some((_, row)) = newest(&listed) else { return Ok(None) };
        let Some(archive) = self.store.archive(&row.digest).await? else { return Ok(None) };
        let mut package = Package::unpack(&archive, &PackageLimits::default())?;
        let Some(bytes) = package.assets.remove(path) else { return Ok(None) };
        let content_type = match path.rsplit('.').next().unwrap_or_default() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "svg" => "image/svg+xml",
            "webp" => "image/webp",
            _ => "text/plain; charset=utf-8",
        };
        Ok(Some((bytes, content_type)))
    }
}
