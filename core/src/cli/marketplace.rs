//! The marketplace from the command line: a partner packs, signs and publishes
//! (`socle plugin pack|keygen|sign|publish`); an operator manages publishers and the review queue
//! (`socle publisher …`, `socle marketplace …`); anyone with the server's configuration exports
//! and applies declarative tenants (`socle tenant export|apply`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use rand::RngCore as _;
use socle_marketplace::lockfile::Lockfile;
use socle_marketplace::package::{Digest, Package};
use socle_marketplace::resolve::Upgrade;
use socle_marketplace::signing::{PackageSignature, SecretKey};
use socle_tenants::{Actor, AssetKind, NewTenant, Tenant, TenantFile, TenantPatch, TenantSection};

use super::{MarketplaceCommand, PublisherCommand};
use crate::app::App;
use crate::marketplace::apply::{self, Change, Target};
use crate::marketplace::publishers;

/// Packs every built plugin of `dir` into `target/socle/<id>-<version>.socle`.
pub fn pack(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for built in super::plugin::built_plugins(dir)? {
        let component = std::fs::read(&built.component).with_context(|| format!("cannot read {}", built.component.display()))?;
        let package = Package::from_dir(&built.dir, component).map_err(|e| anyhow::anyhow!("{}: {e}", built.dir.display()))?;
        let out = built.component.with_file_name(package.file_name());
        let bytes = package.pack();
        std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("{}: {} bytes, {}", out.display(), bytes.len(), Digest::of(&bytes));
        written.push(out);
    }
    Ok(written)
}

/// Writes a new secret key (readable by its owner only) and prints the public key.
pub fn keygen(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists: refusing to overwrite a key (move it away first)", out.display());
    }
    let key = SecretKey::generate_with(|seed| rand::rng().fill_bytes(seed));
    write_private(out, &key.to_text())?;
    let public = key.public();
    println!("secret key written to {} — keep it private, never commit it", out.display());
    println!("public key: {public}");
    println!("key id:     {}", public.key_id());
    println!("register it: socle publisher add-key <publisher> {public}   (operator)");
    println!("         or: POST /api/v1/partners/keys {{\"public_key\": \"{public}\"}}   (with your token)");
    Ok(())
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    Ok(())
}

fn read_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the secret key {}", path.display()))?;
    SecretKey::from_text(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn signature_path(package: &Path) -> PathBuf {
    let mut name = package.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Signs a package, writing `<package>.sig`.
pub fn sign(package: &Path, key: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(package).with_context(|| format!("cannot read {}", package.display()))?;
    let key = read_key(key)?;
    let signature = key.sign(&Digest::of(&bytes));
    let out = signature_path(package);
    std::fs::write(&out, signature.to_json()).with_context(|| format!("cannot write {}", out.display()))?;
    println!("signed {} ({}) with {} → {}", package.display(), signature.digest, signature.key_id, out.display());
    Ok(())
}

/// Submits a signed package to a server and prints the report.
pub async fn publish(package: &Path, server: &str, token: &str) -> anyhow::Result<()> {
    let bytes = std::fs::read(package).with_context(|| format!("cannot read {}", package.display()))?;
    let sig_path = signature_path(package);
    let signature =
        std::fs::read_to_string(&sig_path).with_context(|| format!("cannot read {}: sign the package first with `socle plugin sign`", sig_path.display()))?;
    let url = format!("{}/api/v1/partners/packages", server.trim_end_matches('/'));
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(300)).build()?;
    let response = client
        .post(&url)
        .bearer_auth(token)
        .header(crate::http::api::partners_signature_header(), base64::engine::general_purpose::STANDARD.encode(signature.trim()))
        .header(reqwest::header::CONTENT_TYPE, "application/vnd.socle.package")
        .body(bytes)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.with_context(|| format!("{url} answered {status} without JSON"))?;
    if let Some(report) = body.get("report") {
        print_report(report);
    }
    if !status.is_success() {
        if let Some(detail) = body.get("detail").and_then(|d| d.as_str()) {
            eprintln!("{detail}");
        }
        bail!("the submission was refused ({status})");
    }
    Ok(())
}

fn print_report(report: &serde_json::Value) {
    let text = |k: &str| report.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_owned();
    println!("{}@{} ({})", text("plugin"), text("version"), text("digest"));
    for check in report.get("checks").and_then(|c| c.as_array()).into_iter().flatten() {
        let passed = check.get("passed").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let name = check.get("check").and_then(|v| v.as_str()).unwrap_or("?");
        let detail = check.get("detail").and_then(|v| v.as_str()).unwrap_or("");
        println!("  {} {name}: {detail}", if passed { "✓" } else { "✗" });
    }
    println!("outcome: {} (risk {})", text("outcome"), report.get("risk").and_then(serde_json::Value::as_i64).unwrap_or(0));
}

/// `socle publisher …`.
pub async fn publisher(app: Arc<App>, command: PublisherCommand) -> anyhow::Result<()> {
    match command {
        PublisherCommand::Create { id, name, email } => {
            let (publisher, token) = publishers::create(&app, &id, &name, &email).await?;
            println!("created publisher {} ({})", publisher.id, publisher.name);
            println!("API token (shown once): {token}");
        }
        PublisherCommand::AddKey { id, public_key } => {
            let key = publishers::add_key(&app, &id, &public_key).await?;
            println!("publisher {id} now signs with {} (previous key retired)", key.key_id);
        }
        PublisherCommand::AddToken { id, name } => {
            app.marketplace.publisher(&id).await?.with_context(|| format!("publisher `{id}` does not exist"))?;
            let token = publishers::add_token(&app, &id, &name).await?;
            println!("API token (shown once): {token}");
        }
    }
    Ok(())
}

/// `socle marketplace …`.
pub async fn marketplace(app: Arc<App>, command: MarketplaceCommand) -> anyhow::Result<()> {
    match command {
        MarketplaceCommand::Queue => {
            let queue = app.marketplace.review_queue().await?;
            if queue.is_empty() {
                println!("no version waiting for review");
            }
            for v in queue {
                println!("{}@{} by {} — risk {}", v.plugin_id, v.version, v.publisher_id, v.risk);
                print_report(&v.report);
            }
        }
        MarketplaceCommand::Kill { plugin, version, reason } => {
            let report = crate::marketplace::rollout::kill(&app, &plugin, &version, &reason).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{plugin}@{version} is withdrawn (yanked): {reason}");
            for (tenant, to) in &report.rolled_back {
                println!("  {tenant}: rolled back to {plugin} {to}");
            }
            for (tenant, why) in &report.failed {
                println!("  {tenant}: NOT rolled back — {why}");
            }
            if !report.failed.is_empty() {
                bail!("{} tenant(s) could not be rolled back; see above", report.failed.len());
            }
        }
        MarketplaceCommand::Rollouts => {
            let rollouts = app.marketplace.rollouts(None).await?;
            if rollouts.is_empty() {
                println!("no rollout");
            }
            for r in rollouts {
                let previous = r.previous.as_deref().unwrap_or("-");
                println!("{}@{} (from {previous}): {} at {}% {}", r.plugin_id, r.version, r.state, r.percent, r.note.as_deref().unwrap_or(""));
            }
        }
        MarketplaceCommand::Charge { period } => {
            let added = crate::marketplace::billing::charge(&app, &period).await?;
            let total: i64 = added.iter().map(|e| e.amount_cents).sum();
            println!("{period}: {} ledger entries added, {}.{:02} in all", added.len(), total / 100, total % 100);
        }
        MarketplaceCommand::Statement { publisher, period } => {
            app.marketplace.publisher(&publisher).await?.with_context(|| format!("publisher `{publisher}` does not exist"))?;
            let statement = crate::marketplace::billing::statement(&app, &publisher, &period).await?;
            print!("{}", socle_marketplace::billing::to_csv(&statement));
        }
        MarketplaceCommand::Reseller { tenant, reseller } => {
            let slug = socle_tenants::Slug::parse(&tenant).map_err(|e| anyhow::anyhow!("{e}"))?;
            let found = app.tenants.by_slug(&slug).await?.with_context(|| format!("tenant `{tenant}` does not exist"))?;
            app.marketplace.set_reseller(found.id, reseller.as_deref()).await?;
            match reseller {
                Some(r) => println!("{tenant} is now a customer of reseller {r}"),
                None => println!("{tenant} is now a direct customer"),
            }
        }
        MarketplaceCommand::RolloutTick => {
            for r in crate::marketplace::rollout::tick(&app).await? {
                println!("{}@{}: {} at {}%", r.plugin_id, r.version, r.state, r.percent);
            }
        }
        MarketplaceCommand::Approve { plugin, version, note } => {
            if !app.marketplace.decide(&plugin, &version, "listed", &note, "cli").await? {
                bail!("{plugin}@{version} is not waiting for review (see `socle marketplace queue`)");
            }
            crate::marketplace::notify::update_available(&app, &plugin, &version).await;
            println!("{plugin}@{version} is listed");
        }
        MarketplaceCommand::Reject { plugin, version, reason } => {
            if !app.marketplace.decide(&plugin, &version, "rejected", &reason, "cli").await? {
                bail!("{plugin}@{version} is not waiting for review (see `socle marketplace queue`)");
            }
            println!("{plugin}@{version} is rejected: {reason}");
        }
        MarketplaceCommand::PublishLocal { dir, publisher, key } => {
            for (plugin, outcome) in publish_local(&app, &dir, &publisher, &key).await? {
                println!("{plugin}: {outcome}");
            }
        }
    }
    Ok(())
}

/// Packs, signs and submits the built plugins of `dir` (or the `.socle` package `dir` names)
/// into this server's marketplace as
/// `publisher` (created, with `key` generated and registered, when missing), then lists what
/// waits for review: what `socle demo` does with the first-party plugins. A version already
/// published is left as it is.
pub async fn publish_local(app: &Arc<App>, dir: &Path, publisher_id: &str, key_path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let publisher = match app.marketplace.publisher(publisher_id).await? {
        Some(p) => p,
        None => publishers::create(app, publisher_id, publisher_id, &format!("marketplace@{publisher_id}.localhost")).await?.0,
    };
    if !key_path.exists() {
        keygen(key_path)?;
    }
    let key = read_key(key_path)?;
    if !app.marketplace.keys(&publisher.id).await?.iter().any(|k| k.status == "current" && k.key_id == key.public().key_id()) {
        publishers::add_key(app, &publisher.id, &key.public().to_string()).await?;
    }
    let mut outcomes = Vec::new();
    let packages = if dir.is_file() { vec![dir.to_path_buf()] } else { pack(dir)? };
    for path in packages {
        let bytes = std::fs::read(&path)?;
        let package = Package::unpack(&bytes, &socle_marketplace::package::PackageLimits::default())?;
        let label = format!("{}@{}", package.manifest.plugin.id, package.manifest.plugin.version);
        if app.marketplace.version(&package.manifest.plugin.id, &package.manifest.plugin.version.to_string()).await?.is_some() {
            outcomes.push((label, "already published".into()));
            continue;
        }
        let signature: PackageSignature = key.sign(&Digest::of(&bytes));
        let report = crate::marketplace::publish::submit(app, &publisher, &bytes, &signature.to_json()).await?;
        if let Some(failure) = report.failure() {
            bail!("{label}: {} failed: {}", failure.check, failure.detail);
        }
        if report.outcome == "in_review" {
            app.marketplace.decide(&package.manifest.plugin.id, &package.manifest.plugin.version.to_string(), "listed", "first-party", "socle demo").await?;
        }
        outcomes.push((label, "listed".into()));
    }
    Ok(outcomes)
}

/// Writes `tenant.toml` and `tenant.lock` for a tenant.
pub async fn export(app: &App, tenant: &Tenant, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (wants, lock) = apply::current(app, tenant.id).await?;
    let mut logo = None;
    let mut favicon = None;
    for (kind, name, slot) in [(AssetKind::Logo, "logo", &mut logo), (AssetKind::Favicon, "favicon", &mut favicon)] {
        if let Some(asset) = app.tenants.asset(tenant.id, kind).await? {
            let extension = match asset.content_type.as_str() {
                "image/svg+xml" => "svg",
                "image/png" => "png",
                "image/jpeg" => "jpg",
                "image/webp" => "webp",
                _ => "ico",
            };
            let file = format!("{name}.{extension}");
            std::fs::write(dir.join(&file), &asset.bytes)?;
            *slot = Some(file);
        }
    }
    let file = TenantFile {
        tenant: TenantSection {
            slug: tenant.slug.clone(),
            name: tenant.name.clone(),
            plan: tenant.plan,
            locale: tenant.locale,
            require_mfa_for_admins: tenant.require_mfa_for_admins,
            theme: tenant.theme.clone(),
            logo,
            favicon,
        },
        plugins: wants,
    };
    let toml = format!("# Socle tenant `{}`: apply with `socle tenant apply {}`.\n{}", tenant.slug, dir.display(), toml::to_string_pretty(&file)?);
    write_atomically(&dir.join("tenant.toml"), &toml)?;
    write_atomically(&dir.join("tenant.lock"), &lock.to_toml())?;
    println!("wrote {0}/tenant.toml and {0}/tenant.lock", dir.display());
    Ok(())
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Makes a tenant match a directory's `tenant.toml` (+ `tenant.lock`).
pub async fn apply_dir(app: &Arc<App>, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("tenant.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let file = TenantFile::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let lock_path = dir.join("tenant.lock");
    let locked = match std::fs::read_to_string(&lock_path) {
        Ok(text) => Some(Lockfile::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", lock_path.display()))?),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", lock_path.display())),
    };
    let actor = Actor::cli("socle tenant apply");
    let section = &file.tenant;
    let tenant = match app.tenants.by_slug(&section.slug).await? {
        Some(tenant) => tenant,
        None => {
            let mut new = NewTenant::new(section.slug.clone(), section.name.clone());
            new.plan = section.plan;
            new.locale = section.locale;
            new.theme = section.theme.clone();
            let tenant = app.tenants.create(new, &actor).await?;
            println!("created tenant {}", tenant.slug);
            tenant
        }
    };
    let patch = TenantPatch {
        name: Some(section.name.clone()),
        plan: Some(section.plan),
        locale: Some(section.locale),
        theme: Some(section.theme.clone()),
        require_mfa_for_admins: Some(section.require_mfa_for_admins),
    };
    let tenant = Arc::new(app.tenants.update(tenant.id, &patch, &actor).await?);
    for (kind, file_name) in [(AssetKind::Logo, &section.logo), (AssetKind::Favicon, &section.favicon)] {
        if let Some(file_name) = file_name {
            let bytes = std::fs::read(dir.join(file_name)).with_context(|| format!("cannot read {}", dir.join(file_name).display()))?;
            let content_type = crate::tenancy::branding::validate_image(kind, &bytes).map_err(|e| anyhow::anyhow!("{file_name}: {e}"))?;
            app.tenants.put_asset(tenant.id, kind, content_type, &bytes, &actor).await?;
        }
    }
    app.resolver.changed(tenant.id, app.bus.as_ref()).await;
    let change = Change {
        kind: "apply",
        summary: format!("apply {}", path.display()),
        target: Target::Resolve { wants: file.plugins.clone(), upgrade: Upgrade::None, locked },
    };
    let (operation, plan) = apply::apply(app, &tenant, &change, &actor).await?;
    for step in &plan.steps {
        println!("{} {} {} → {}", step.action, step.plugin, step.from.as_deref().unwrap_or("-"), step.to.as_deref().unwrap_or("-"));
    }
    println!("tenant {} matches {} (operation {})", tenant.slug, dir.display(), operation.id);
    Ok(())
}
