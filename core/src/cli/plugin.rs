//! `socle plugin new|build|test|run|install`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use socle_tenants::{Actor, NewTenant, Slug};

use super::PluginCommand;
use crate::app::{App, BuildOptions};
use crate::config::Settings;
use crate::plugins::build::{self, BuiltPlugin};

pub async fn run(settings: Settings, command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::New { name, dir } => new(&name, dir.unwrap_or_else(|| PathBuf::from(&name))),
        PluginCommand::Build { dir } => {
            let built = build_all(&dir)?;
            for b in &built {
                println!("built {}@{} → {}", b.manifest.plugin.id, b.manifest.plugin.version, b.component.display());
            }
            Ok(())
        }
        PluginCommand::Install { tenant, dir } => {
            let app = App::build(settings, BuildOptions::default()).await?;
            let slug = Slug::parse(&tenant)?;
            let tenant = app.tenants.by_slug(&slug).await?.with_context(|| format!("tenant `{slug}` does not exist"))?;
            for built in built_plugins(&dir)? {
                install(&app, &Arc::new(tenant.clone()), &built, "socle plugin install").await?;
            }
            Ok(())
        }
        PluginCommand::Pack { dir } => {
            for path in super::marketplace::pack(&dir)? {
                println!("packed {}", path.display());
            }
            Ok(())
        }
        PluginCommand::Keygen { out } => super::marketplace::keygen(&out),
        PluginCommand::Sign { package, key } => super::marketplace::sign(&package, &key),
        PluginCommand::Publish { package, server, token } => super::marketplace::publish(&package, &server, &token).await,
        PluginCommand::Test { dir } => super::plugin_test::run(settings, &dir).await,
        PluginCommand::Run { dir, addr } => super::plugin_run::run(settings, &dir, addr).await,
    }
}

/// Builds with the detected toolchain, saying which.
pub fn build_all(dir: &Path) -> anyhow::Result<Vec<BuiltPlugin>> {
    let toolchain = build::detect()?;
    eprintln!("building with the {}", toolchain.describe());
    build::build(dir, &toolchain)
}

/// The components `socle plugin build` already wrote for `dir`.
pub fn built_plugins(dir: &Path) -> anyhow::Result<Vec<BuiltPlugin>> {
    build::built(dir)
}

/// Installs a built plugin in a tenant and prints the outcome.
pub async fn install(app: &App, tenant: &Arc<socle_tenants::Tenant>, built: &BuiltPlugin, by: &str) -> anyhow::Result<()> {
    let bytes = std::fs::read(&built.component).with_context(|| format!("cannot read {}", built.component.display()))?;
    let installed = crate::plugins::install::install(app, tenant, &bytes, &built.manifest, None, &Actor::cli(by)).await?;
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
        password: Some(crate::demo::DEMO_PASSWORD.into()),
        locale: None,
    };
    crate::identity::accounts::create_user(app, tenant.id, request, &Actor::cli("socle plugin")).await?;
    Ok(tenant)
}

fn new(name: &str, dir: PathBuf) -> anyhow::Result<()> {
    let id_ok = (2..=40).contains(&name.len())
        && name.as_bytes()[0].is_ascii_lowercase()
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !id_ok {
        bail!("`{name}` is not a plugin id: 2 to 40 lowercase letters, digits and `_`, starting with a letter");
    }
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} already exists and is not empty", dir.display());
    }
    let sdk = sdk_dependency()?;
    for (path, content) in super::plugin_template::files(name, &sdk) {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, content).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("created the plugin `{name}` in {}", dir.display());
    println!("next: cd {} && socle plugin test", dir.display());
    Ok(())
}

/// How a new plugin depends on the SDK: `SOCLE_SDK_PATH`, else the SDK beside this binary's
/// sources, else the published crate.
fn sdk_dependency() -> anyhow::Result<String> {
    if let Ok(path) = std::env::var("SOCLE_SDK_PATH") {
        return Ok(format!("{{ path = \"{path}\" }}"));
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk");
    if beside.join("Cargo.toml").is_file() {
        let path = beside.canonicalize()?;
        return Ok(format!("{{ path = \"{}\" }}", path.display()));
    }
    Ok("\"1\"".into())
}
