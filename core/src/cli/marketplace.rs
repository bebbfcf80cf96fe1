//! The marketplace from the command line: an operator manages publishers and the review queue
//! (`socle publisher …`, `socle marketplace …`); anyone with the server's configuration exports
//! and applies declarative tenants (`socle tenant export|apply`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use socle_marketplace::lockfile::Lockfile;
use socle_marketplace::resolve::Upgrade;
use socle_tenants::{Actor, AssetKind, NewTenant, Tenant, TenantFile, TenantSection};

use super::{MarketplaceCommand, PublisherCommand};
use crate::app::App;
use crate::marketplace::apply::{Change, Target};

/// `socle publisher …`.
pub async fn publisher(app: Arc<App>, command: PublisherCommand) -> anyhow::Result<()> {
    match command {
        PublisherCommand::Create { id, name, email } => {
            let (publisher, token) = app.marketplace.create_publisher(&id, &name, &email).await?;
            println!("created publisher {} ({})", publisher.id, publisher.name);
            println!("API token (shown once): {token}");
        }
        PublisherCommand::AddKey { id, public_key } => {
            let key = app.marketplace.add_publisher_key(&id, &public_key).await?;
            println!("publisher {id} now signs with {} (previous key retired)", key.key_id);
        }
        PublisherCommand::AddToken { id, name } => {
            app.marketplace.store().publisher(&id).await?.with_context(|| format!("publisher `{id}` does not exist"))?;
            let token = app.marketplace.add_publisher_token(&id, &name).await?;
            println!("API token (shown once): {token}");
        }
    }
    Ok(())
}

/// `socle marketplace …`.
pub async fn marketplace(app: Arc<App>, command: MarketplaceCommand) -> anyhow::Result<()> {
    match command {
        MarketplaceCommand::Queue => {
            let queue = app.marketplace.store().review_queue().await?;
            if queue.is_empty() {
                println!("no version waiting for review");
            }
            for v in queue {
                println!("{}@{} by {} — risk {}", v.plugin_id, v.version, v.publisher_id, v.risk);
                super::package::print_report(&v.report);
            }
        }
        MarketplaceCommand::Kill { plugin, version, reason } => {
            let report = app.marketplace.kill(&plugin, &version, &reason).await.map_err(|e| anyhow::anyhow!("{e}"))?;
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
            let rollouts = app.marketplace.store().rollouts(None).await?;
            if rollouts.is_empty() {
                println!("no rollout");
            }
            for r in rollouts {
                let previous = r.previous.as_deref().unwrap_or("-");
                println!("{}@{} (from {previous}): {} at {}% {}", r.plugin_id, r.version, r.state, r.percent, r.note.as_deref().unwrap_or(""));
            }
        }
        MarketplaceCommand::Charge { period } => {
            let added = app.marketplace.charge_month(&period).await?;
            let total: i64 = added.iter().map(|e| e.amount_cents).sum();
            println!("{period}: {} ledger entries added, {}.{:02} in all", added.len(), total / 100, total % 100);
        }
        MarketplaceCommand::Statement { publisher, period } => {
            app.marketplace.store().publisher(&publisher).await?.with_context(|| format!("publisher `{publisher}` does not exist"))?;
            let statement = app.marketplace.statement(&publisher, &period).await?;
            print!("{}", socle_marketplace::billing::to_csv(&statement));
        }
        MarketplaceCommand::Reseller { tenant, reseller } => {
            let slug = socle_tenants::Slug::parse(&tenant).map_err(|e| anyhow::anyhow!("{e}"))?;
            let found = app.tenants.by_slug(&slug).await?.with_context(|| format!("tenant `{tenant}` does not exist"))?;
            app.marketplace.store().set_reseller(found.id, reseller.as_deref()).await?;
            match reseller {
                Some(r) => println!("{tenant} is now a customer of reseller {r}"),
                None => println!("{tenant} is now a direct customer"),
            }
        }
        MarketplaceCommand::RolloutTick => {
            for r in app.marketplace.tick_rollouts().await? {
                println!("{}@{}: {} at {}%", r.plugin_id, r.version, r.state, r.percent);
            }
        }
        MarketplaceCommand::Approve { plugin, version, note } => {
            if !app.marketplace.store().decide(&plugin, &version, "listed", &note, "cli").await? {
                bail!("{plugin}@{version} is not waiting for review (see `socle marketplace queue`)");
            }
            app.marketplace.notify_update_available(&plugin, &version).await;
            println!("{plugin}@{version} is listed");
        }
        MarketplaceCommand::Reject { plugin, version, reason } => {
            if !app.marketplace.store().decide(&plugin, &version, "rejected", &reason, "cli").await? {
                bail!("{plugin}@{version} is not waiting for review (see `socle marketplace queue`)");
            }
            println!("{plugin}@{version} is rejected: {reason}");
        }
        MarketplaceCommand::PublishLocal { dir, publisher, key } => {
            for (plugin, outcome) in super::package::publish_local(&app, &dir, &publisher, &key).await? {
                println!("{plugin}: {outcome}");
            }
        }
    }
    Ok(())
}

/// Writes `tenant.toml` and `tenant.lock` for a tenant.
pub async fn export(app: &App, tenant: &Tenant, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (wants, lock) = app.marketplace.current_lock(tenant.id).await?;
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
    let tenant = Arc::new(app.tenants.update(tenant.id, &section.patch(), &actor).await?);
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
    let (operation, plan) = app.marketplace.apply(&tenant, &change, &actor).await?;
    for step in &plan.steps {
        println!("{} {} {} → {}", step.action, step.plugin, step.from.as_deref().unwrap_or("-"), step.to.as_deref().unwrap_or("-"));
    }
    println!("tenant {} matches {} (operation {})", tenant.slug, dir.display(), operation.id);
    Ok(())
}
