//! The publishing pipeline: a signed `.socle` archive goes through automatic validation —
//! archive safety and size, signature against the publisher's current key, manifest and semver,
//! id ownership and version uniqueness, the component against every host API version this
//! server serves, capabilities scored for risk, and a smoke run in a throwaway tenant — then to
//! the review queue, or straight to the catalogue when the auto-approve policy allows it.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use sha2::Digest as _;
use socle_marketplace::manifest::{HookKind, Manifest};
use socle_marketplace::package::{Digest, Package, PackageLimits};
use socle_marketplace::signing::{PackageSignature, PublicKey};
use socle_tenants::{Actor, NewTenant, Slug};

use super::Marketplace;
use super::store::{Inserted, Publisher, VersionRow};
use crate::plugins::host::exports::socle::plugin::hooks::Event;
use crate::plugins::{Call, Output};

/// One check of the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub check: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was found, or what to fix.
    pub detail: String,
}

/// The report of a submission.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Plugin id, when the manifest could be read.
    pub plugin: Option<String>,
    /// Version, when the manifest could be read.
    pub version: Option<String>,
    /// Archive digest.
    pub digest: String,
    /// Every check, in order; the pipeline stops at the first failure.
    pub checks: Vec<Check>,
    /// Risk score of the capabilities (0–100).
    pub risk: i64,
    /// `rejected` (a check failed), `in_review` or `listed`.
    pub outcome: String,
}

impl Report {
    fn pass(&mut self, check: &'static str, detail: impl Into<String>) {
        self.checks.push(Check { check, passed: true, detail: detail.into() });
    }

    fn fail(mut self, check: &'static str, detail: impl Into<String>) -> Report {
        self.checks.push(Check { check, passed: false, detail: detail.into() });
        self.outcome = "rejected".into();
        self
    }

    /// The first failed check, if any.
    pub fn failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.passed)
    }
}

impl Marketplace {
    /// Runs the pipeline on a submission by `publisher` and stores it when every check passes.
    pub async fn submit(self: &Arc<Self>, publisher: &Publisher, archive: &[u8], signature: &str) -> anyhow::Result<Report> {
        let digest = Digest::of(archive);
        let mut report = Report { plugin: None, version: None, digest: digest.to_string(), checks: Vec::new(), risk: 0, outcome: "in_review".into() };
        let limits = PackageLimits::default();

        let package = match Package::unpack(archive, &limits) {
            Ok(package) => package,
            Err(err) => return Ok(report.fail("archive", err.to_string())),
        };
        report.plugin = Some(package.manifest.plugin.id.clone());
        report.version = Some(package.manifest.plugin.version.to_string());
        report.pass("archive", format!("{} bytes, {} assets, safe paths and sizes", archive.len(), package.assets.len()));

        // Signature: by the publisher's current key, over this exact archive.
        let signature = match PackageSignature::from_json(signature) {
            Ok(signature) => signature,
            Err(err) => return Ok(report.fail("signature", format!("the signature file is unreadable: {err}; produce it with `socle plugin sign`"))),
        };
        let keys = self.store.keys(&publisher.id).await?;
        let Some(current) = keys.iter().find(|k| k.status == "current") else {
            return Ok(report.fail(
                "signature",
                format!("publisher {} has no signing key: add one with `socle plugin keygen` then `socle publisher key add`", publisher.id),
            ));
        };
        let key: PublicKey = match current.public_key.parse() {
            Ok(key) => key,
            Err(err) => return Ok(report.fail("signature", format!("the publisher's current key is unreadable: {err}"))),
        };
        if let Err(err) = key.verify(&digest, &signature) {
            return Ok(report.fail("signature", err.to_string()));
        }
        report.pass("signature", format!("signed by {} (the publisher's current key)", key.key_id()));

        // Manifest: who publishes it, its version.
        let manifest = &package.manifest;
        if manifest.plugin.publisher != publisher.id {
            return Ok(report.fail(
                "manifest",
                format!("the manifest says publisher `{}` but this token belongs to `{}`: fix [plugin].publisher", manifest.plugin.publisher, publisher.id),
            ));
        }
        report.pass("manifest", format!("{}@{} by {}", manifest.plugin.id, manifest.plugin.version, publisher.id));
        let existing = self.store.versions(&manifest.plugin.id).await?;
        if let Some(owner) = existing.first().map(|v| v.publisher_id.clone()).filter(|o| o != &publisher.id) {
            return Ok(report.fail("version", format!("plugin id `{}` belongs to publisher {owner}: choose another id", manifest.plugin.id)));
        }
        if existing.iter().any(|v| v.version == manifest.plugin.version.to_string()) {
            return Ok(report.fail(
                "version",
                format!("{}@{} was already submitted and versions are immutable: bump the version", manifest.plugin.id, manifest.plugin.version),
            ));
        }
        report.pass("version", "new, semver".to_string());

        // The component against every host API version this server serves.
        let sha256 = hex::encode(sha2::Sha256::digest(&package.component));
        let api = match crate::plugins::runtime::check_api_version(&package.component) {
            Ok(api) => api,
            Err(err) => return Ok(report.fail("host_api", format!("{err:#}"))),
        };
        let served: Vec<semver::Version> = crate::plugins::runtime::host_api_versions();
        let fits: Vec<String> = served.iter().filter(|v| manifest.plugin.api.matches(v)).map(ToString::to_string).collect();
        if fits.is_empty() {
            return Ok(report.fail(
                "host_api",
                format!(
                    "the manifest's api range {} matches none of the host API versions this server serves ({})",
                    manifest.plugin.api,
                    served.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        if let Err(err) = self.plugins.prepare(&sha256, &package.component) {
            return Ok(report.fail("host_api", format!("{err:#}")));
        }
        report.pass("host_api", format!("built for socle:plugin@{api}; imports and exports fit host API {}", fits.join(", ")));

        // Capabilities: each with its reason (the manifest enforces it), scored.
        report.risk = risk_score(manifest);
        report.pass("capabilities", capability_summary(manifest));

        // A smoke run in a throwaway tenant, within the smallest plan's limits.
        match self.smoke_run(&package).await {
            Ok(detail) => report.pass("smoke_run", detail),
            Err(err) => return Ok(report.fail("smoke_run", format!("{err:#}"))),
        }

        let auto = self.auto_approval(manifest, &existing, report.risk).await?;
        report.outcome = if auto.is_some() { "listed".into() } else { "in_review".into() };
        let row = VersionRow {
            plugin_id: manifest.plugin.id.clone(),
            version: manifest.plugin.version.to_string(),
            publisher_id: publisher.id.clone(),
            digest: digest.to_string(),
            component_sha256: sha256,
            manifest: package.manifest_text.clone(),
            readme: package.readme.clone(),
            changelog: package.changelog.clone(),
            signature: signature.to_json(),
            key_id: signature.key_id.clone(),
            channel: if manifest.plugin.version.pre.is_empty() { "stable".into() } else { "beta".into() },
            status: report.outcome.clone(),
            risk: report.risk,
            report: serde_json::to_value(&report)?,
            review_note: auto.clone(),
            reviewed_by: auto.as_ref().map(|_| "policy:auto-approve".to_owned()),
            reviewed_at: auto.as_ref().map(|_| self.now_ms()),
            yanked: None,
            deprecated: None,
            submitted_at: self.now_ms(),
        };
        // The component goes to the plugin runtime's store first: content-addressed, so a
        // submission that fails below leaves at most bytes a later one reuses.
        self.plugins.store().put_component(&row.component_sha256, &package.component).await?;
        match self.store.insert_version(&row, archive).await? {
            Inserted::Stored => {}
            Inserted::VersionExists => return Ok(report.fail("version", "this version was submitted meanwhile: bump the version")),
            Inserted::OwnedBy(owner) => return Ok(report.fail("version", format!("plugin id belongs to publisher {owner}"))),
        }
        tracing::info!(publisher = %publisher.id, plugin.id = %row.plugin_id, plugin.version = %row.version, outcome = %report.outcome, risk = report.risk, "package submitted");
        if row.status == "listed" {
            self.notify_update_available(&row.plugin_id, &row.version).await;
        }
        Ok(report)
    }
}

/// The risk of a manifest's capabilities, 0–100: the riskiest grant dominates, each further
/// grant adds a little.
pub fn risk_score(manifest: &Manifest) -> i64 {
    let grants = crate::plugins::grants::declared(manifest);
    let max = grants.iter().map(|g| i64::from(g.risk)).max().unwrap_or(0);
    let rest: i64 = grants.iter().map(|g| i64::from(g.risk)).sum::<i64>() - max;
    (max * 7 + rest).min(100)
}

fn capability_summary(manifest: &Manifest) -> String {
    let grants = crate::plugins::grants::declared(manifest);
    if grants.is_empty() {
        return "no host capability requested".into();
    }
    grants.iter().map(|g| format!("{} (risk {}): {}", g.key, g.risk, g.reason.get("fr"))).collect::<Vec<_>>().join("; ")
}

impl Marketplace {
    /// An update is listed without a human when the policy allows it: an earlier version of the
    /// plugin was listed by a reviewer and the update asks for no capability that version did not
    /// have — the risk it adds is nil, whatever the plugin's overall score.
    async fn auto_approval(&self, manifest: &Manifest, existing: &[VersionRow], risk: i64) -> anyhow::Result<Option<String>> {
        if !self.settings.marketplace.auto_approve_updates {
            return Ok(None);
        }
        let Some(previous) = existing.iter().find(|v| v.status == "listed") else { return Ok(None) };
        let previous = Manifest::parse(&previous.manifest)?;
        let before: BTreeSet<String> = crate::plugins::grants::declared(&previous).into_iter().map(|g| g.key).collect();
        let after: BTreeSet<String> = crate::plugins::grants::declared(manifest).into_iter().map(|g| g.key).collect();
        if !after.is_subset(&before) {
            return Ok(None);
        }
        Ok(Some(format!("auto-approved: an update of listed {} asking for no new capability, risk {risk}", previous.plugin.version)))
    }

    /// Installs the plugin in a throwaway tenant (its dependencies from the catalogue first), calls a
    /// hook if it has one, uninstalls it and deletes the tenant.
    async fn smoke_run(self: &Arc<Self>, package: &Package) -> anyhow::Result<String> {
        let manifest = &package.manifest;
        // A review sandbox: its plugins reach sandbox connectors only, no network, no mail.
        let slug = Slug::review_sandbox(&crate::identity::secrets::random_token()[..10].to_ascii_lowercase().replace(['_', '-'], "x"))?;
        let actor = Actor::system("marketplace smoke run");
        let tenant = Arc::new(self.tenants.create(NewTenant::new(slug, "Smoke run"), &actor).await?);
        let outcome = async {
            let mut steps = Vec::new();
            // Its dependencies as a fresh tenant would get them from the catalogue, in order.
            let lock = self
                .resolve_fresh(manifest.dependencies.clone())
                .await
                .map_err(|e| anyhow::anyhow!("its dependencies do not resolve from the listed versions: {e}"))?;
            for locked in super::apply::order_dependencies_first(&lock) {
                let row = self
                    .store
                    .version(&locked.id, &locked.version.to_string())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("dependency {}@{} vanished", locked.id, locked.version))?;
                let bytes =
                    self.plugins.store().component(&row.component_sha256).await?.ok_or_else(|| anyhow::anyhow!("component of {} is missing", locked.id))?;
                self.plugins.install(&tenant, &bytes, &Manifest::parse(&row.manifest)?, None, &actor).await?;
            }
            self.plugins.install(&tenant, &package.component, manifest, None, &actor).await?;
            steps.push("installed");
            let plugin = self.plugins.plugin(tenant.id, &manifest.plugin.id).await?.ok_or_else(|| anyhow::anyhow!("not loadable after install"))?;
            if let Some(panel) = manifest.panels.first() {
                match self.plugins.call(&tenant, &plugin, Call::Panel { panel: panel.name.clone(), record_id: None }, None).await {
                    Ok(_) => steps.push("panel rendered"),
                    Err(err) => anyhow::bail!("its panel `{}` failed: {err}", panel.name),
                }
            } else if let Some(hook) = manifest.hooks.iter().find(|h| h.kind == HookKind::Action) {
                // A synthetic event on a record that does not exist: a plugin must cope with a
                // record deleted before its hook runs, so this must not crash it.
                let event = Event {
                    hook: hook.name.clone(),
                    name: hook.on.first().cloned().unwrap_or_default(),
                    collection: hook.collection.clone(),
                    record_id: "smoke-run".into(),
                    version: 1,
                    payload: "{}".into(),
                };
                match self.plugins.call(&tenant, &plugin, Call::Action(event), None).await {
                    Ok(Output::Done(_)) => steps.push("action hook ran"),
                    Ok(_) => anyhow::bail!("its action hook `{}` answered something else", hook.name),
                    Err(err) => anyhow::bail!("its action hook `{}` failed: {err}", hook.name),
                }
            }
            self.plugins.uninstall(&tenant, &manifest.plugin.id, &actor).await?;
            steps.push("uninstalled");
            Ok(steps.join(", "))
        }
        .await;
        // Its receipts go to the database before the tenant they belong to disappears.
        self.plugins.flush_receipts().await;
        if let Err(err) = self.tenants.delete(tenant.id, &actor).await {
            tracing::warn!(tenant.id = %tenant.id, error = %err, "could not delete the smoke-run tenant");
        }
        outcome
    }
}
