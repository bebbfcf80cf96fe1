//! `socle plugin new|build|test|run|install`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use socle_tenants::Slug;

use super::PluginCommand;
use crate::app::{App, BuildOptions};
use crate::config::Settings;

pub async fn run(settings: Settings, command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::New { name, dir } => new(&name, dir.unwrap_or_else(|| PathBuf::from(&name))),
        PluginCommand::Build { dir } => {
            let built = super::plugin_tools::build_all(&dir)?;
            for b in &built {
                println!("built {}@{} → {}", b.manifest.plugin.id, b.manifest.plugin.version, b.component.display());
            }
            Ok(())
        }
        PluginCommand::Install { tenant, dir } => {
            let app = App::build(settings, BuildOptions::default()).await?;
            let slug = Slug::parse(&tenant)?;
            let tenant = app.tenants.by_slug(&slug).await?.with_context(|| format!("tenant `{slug}` does not exist"))?;
            for built in crate::plugins::build::built(&dir)? {
                super::plugin_tools::install(&app, &Arc::new(tenant.clone()), &built, "socle plugin install").await?;
            }
            Ok(())
        }
        PluginCommand::Pack { dir } => {
            for path in super::package::pack(&dir)? {
                println!("packed {}", path.display());
            }
            Ok(())
        }
        PluginCommand::Keygen { out } => super::package::keygen(&out),
        PluginCommand::Sign { package, key } => super::package::sign(&package, &key),
        PluginCommand::Publish { package, server, token } => super::package::publish(&package, &server, &token).await,
        PluginCommand::Test { dir } => super::plugin_test::run(settings, &dir).await,
        PluginCommand::Run { dir, addr } => super::plugin_run::run(settings, &dir, addr).await,
    }
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
