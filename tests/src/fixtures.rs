//! The fixture plugins of `tests/fixtures`, built by `socle plugin build tests/fixtures` (the
//! test command does it before the tests run).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use socle_core::plugins::install::InstallError;
use socle_core::plugins::store::Installed;
use socle_marketplace::manifest::Manifest;
use socle_tenants::{Actor, Tenant};

use crate::TestApp;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The component and manifest of fixture `name`.
pub fn fixture(name: &str) -> (Vec<u8>, Manifest) {
    let built = socle_core::plugins::build::built(&dir())
        .unwrap_or_else(|e| panic!("{e:#}: build the fixtures first with `cargo run --bin socle -- plugin build tests/fixtures`"));
    let plugin = built.into_iter().find(|b| b.manifest.plugin.id == name).unwrap_or_else(|| panic!("no fixture plugin `{name}`"));
    (std::fs::read(&plugin.component).unwrap(), plugin.manifest)
}

impl TestApp {
    /// Installs fixture `name` in `tenant`, granting `grants` (`None`: all it declares).
    pub async fn try_install(&self, tenant: &Tenant, name: &str, grants: Option<&[&str]>) -> Result<Installed, InstallError> {
        let (bytes, manifest) = fixture(name);
        let grants: Option<BTreeSet<String>> = grants.map(|g| g.iter().map(|s| (*s).to_owned()).collect());
        self.app.marketplace.install_component(&Arc::new(tenant.clone()), &bytes, &manifest, grants.as_ref(), &Actor::system("test")).await
    }

    /// Installs fixture `name` in `tenant` with everything it declares granted.
    pub async fn install(&self, tenant: &Tenant, name: &str) -> Installed {
        self.try_install(tenant, name, None).await.unwrap_or_else(|e| panic!("installing {name}: {e}"))
    }
}
