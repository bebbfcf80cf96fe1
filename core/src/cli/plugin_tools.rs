//! What the plugin commands share: building with the detected toolchain, the local demo tenant,
//! installing a built plugin.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use socle_tenants::{Actor, NewTenant, Slug};

use crate::app::App;
use crate::plugins::build::{self, BuiltPlugin};

/// Builds with the detected toolchain, saying which.
pub fn build_all(dir: &Path) -> anyhow::Result<Vec<BuiltPlugin>> {
    let toolchain = build::detect()?;
    eprintln!("building with the {}", toolchain.describe());
    build::build(dir, &toolchain)
}

/// Installs a built plugin in a tenant and prints the outcome.
pub async fn install(app: &App, tenant: &Arc<socle_tenants::Tenant>, built: &BuiltPlugin, by: &str) -> anyhow::Result<()> {
    let bytes = std::fs::read(&built.component).with_context(|| format!("cannot read {}", built.component.display()))?;
    let installed = app.marketplace.install_component(tenant, &bytes, &built.manifest, None, &Actor::cli(by)).await?;
    println!("installed {}@{} in tenant {}", installed.plugin_id, installed.version, tenant.slug);
    Ok(())
}

/// The demo tenant plugin tooling installs into (created if missing).
pub async fn demo_tenant(app: &App) -> anyhow::Result<socle_tenants::Tenant> {
    let slug = Slug::parse("plugin-demo")?;
    if let Some(tenant) = app.tenants.by_slug(&slug).await? {
        return Ok(tenant);
    }
    let tenant = app.tenants.create(NewTenant::new(slug, "Démo extension"), &Actor::cli("socle plugin")).await?;
    let request = crate::identity::accounts::CreateUser {
        email: "admin@plugin-demo.localhost".into(),
        display_name: "Administratrice démo".into(),
        user_type: socle_tenants::UserType::Interne,
        roles: vec!["direction".into()],
        password: Some(super::demo::DEMO_PASSWORD.into()),
        locale: None,
    };
    app.accounts.create_user(tenant.id, request, &Actor::cli("socle plugin")).await?;
    Ok(tenant)
}
