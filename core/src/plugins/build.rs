//! Building plugins: a guest crate (or a workspace of them) → a WebAssembly component ready to
//! install. Works with a rustup `wasm32-unknown-unknown` target, or with Debian's `rustc-web`,
//! `cargo-web`, `rust-web-src` and `lld` (the standard library built from source with
//! `-Zbuild-std`); says exactly what is missing when neither is there.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use socle_marketplace::manifest::Manifest;

const TARGET: &str = "wasm32-unknown-unknown";

/// How guest crates get compiled here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Toolchain {
    /// rustup's toolchain with the wasm32 target installed.
    Rustup {
        /// `cargo`.
        cargo: PathBuf,
    },
    /// Debian's rustc-web/cargo-web: the standard library is compiled from rust-web-src.
    Debian {
        /// `/usr/bin/cargo`.
        cargo: PathBuf,
        /// `/usr/bin/rustc`.
        rustc: PathBuf,
    },
}

impl Toolchain {
    /// A one-line description.
    pub fn describe(&self) -> String {
        match self {
            Self::Rustup { .. } => "rustup toolchain with the wasm32-unknown-unknown target".into(),
            Self::Debian { .. } => "Debian rustc-web with the standard library built from source (-Zbuild-std)".into(),
        }
    }
}

fn output(command: &mut Command) -> Option<String> {
    command.output().ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(program)).find(|p| p.is_file()))
}

/// Finds a toolchain, preferring rustup's (`SOCLE_WASM_TOOLCHAIN=rustup|debian` forces one);
/// the error lists what to install.
pub fn detect() -> anyhow::Result<Toolchain> {
    let forced = std::env::var("SOCLE_WASM_TOOLCHAIN").ok();
    match forced.as_deref() {
        None | Some("" | "rustup" | "debian") => {}
        Some(other) => bail!("SOCLE_WASM_TOOLCHAIN is `{other}`; use `rustup` or `debian`"),
    }
    let rustup_target = forced.as_deref() != Some("debian")
        && output(Command::new("rustup").args(["target", "list", "--installed"])).is_some_and(|t| t.lines().any(|l| l.trim() == TARGET));
    if forced.as_deref() == Some("rustup") && !rustup_target {
        bail!("SOCLE_WASM_TOOLCHAIN=rustup, but rustup has no {TARGET} target: run `rustup target add {TARGET}`");
    }
    if rustup_target && let Some(cargo) = on_path("cargo") {
        return Ok(Toolchain::Rustup { cargo });
    }
    let (cargo, rustc) = (PathBuf::from("/usr/bin/cargo"), PathBuf::from("/usr/bin/rustc"));
    let mut missing = Vec::new();
    if !rustc.is_file() || !output(Command::new(&rustc).arg("--version")).is_some_and(|v| v.starts_with("rustc 1.")) {
        missing.push("rustc-web");
    }
    if !cargo.is_file() {
        missing.push("cargo-web");
    }
    let sysroot = output(Command::new(&rustc).args(["--print", "sysroot"])).map(PathBuf::from);
    if !sysroot.is_some_and(|s| s.join("lib/rustlib/src/rust/library/std").is_dir()) {
        missing.push("rust-web-src");
    }
    if on_path("wasm-ld").is_none() {
        missing.push("lld");
    }
    if missing.is_empty() {
        return Ok(Toolchain::Debian { cargo, rustc });
    }
    bail!(
        "no toolchain can build WebAssembly plugins here. Either run `rustup target add {TARGET}`, or install Debian's packages: \
         `apt-get install {}` (missing: {})",
        ["rustc-web", "cargo-web", "rust-web-src", "lld"].join(" "),
        missing.join(", ")
    )
}

/// A plugin built from a guest crate.
#[derive(Debug, Clone)]
pub struct BuiltPlugin {
    /// Its manifest.
    pub manifest: Manifest,
    /// The component file written.
    pub component: PathBuf,
    /// The crate's directory.
    pub dir: PathBuf,
}

/// The guest crates under `dir`: the crate itself, or the members of its workspace that have a
/// `socle.toml`.
fn plugin_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let dir = &dir.canonicalize().with_context(|| format!("{} does not exist", dir.display()))?;
    if dir.join("socle.toml").is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).with_context(|| format!("no socle.toml nor Cargo.toml in {}", dir.display()))?;
    let cargo: toml::Value = toml::from_str(&manifest).context("Cargo.toml is not valid TOML")?;
    let members = cargo
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .with_context(|| format!("{} has neither a socle.toml nor a workspace of plugins", dir.display()))?;
    let dirs: Vec<PathBuf> = members.iter().filter_map(|m| m.as_str()).map(|m| dir.join(m)).filter(|d| d.join("socle.toml").is_file()).collect();
    anyhow::ensure!(!dirs.is_empty(), "no member of the workspace in {} has a socle.toml", dir.display());
    Ok(dirs)
}

/// Where a crate builds: its workspace's root and cargo's target directory, as cargo itself
/// reports them (workspaces, `CARGO_TARGET_DIR` and `.cargo/config.toml` all honoured).
struct Layout {
    root: PathBuf,
    target: PathBuf,
}

fn layout(dir: &Path) -> Layout {
    let cargo = on_path("cargo").unwrap_or_else(|| PathBuf::from("cargo"));
    let metadata = output(Command::new(cargo).args(["metadata", "--format-version", "1", "--no-deps", "--offline"]).current_dir(dir))
        .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok());
    let path = |key: &str| metadata.as_ref().and_then(|m| m.get(key)).and_then(|v| v.as_str()).map(PathBuf::from);
    let root = path("workspace_root").unwrap_or_else(|| dir.to_path_buf());
    let target = path("target_directory").unwrap_or_else(|| root.join("target"));
    Layout { root, target }
}

fn crate_name(dir: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).with_context(|| format!("{} has no Cargo.toml", dir.display()))?;
    let cargo: toml::Value = toml::from_str(&text)?;
    let package = cargo.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str()).context("Cargo.toml has no package name")?;
    let lib = cargo.get("lib").and_then(|l| l.get("name")).and_then(|n| n.as_str());
    Ok(lib.unwrap_or(package).replace('-', "_"))
}

/// Builds every plugin under `dir` with `toolchain`; components go to `<target dir>/socle/`.
pub fn build(dir: &Path, toolchain: &Toolchain) -> anyhow::Result<Vec<BuiltPlugin>> {
    let dirs = plugin_dirs(dir)?;
    let mut manifests = Vec::new();
    for d in &dirs {
        let text = std::fs::read_to_string(d.join("socle.toml"))?;
        let manifest = Manifest::parse(&text).map_err(|e| anyhow::anyhow!("{}/socle.toml: {e}", d.display()))?;
        manifests.push(manifest);
    }
    let Layout { root, target } = layout(&dirs[0]);
    let mut command = match toolchain {
        Toolchain::Rustup { cargo } => {
            let mut c = Command::new(cargo);
            c.args(["build", "--release", "--target", TARGET]);
            c
        }
        Toolchain::Debian { cargo, rustc } => {
            let mut c = Command::new(cargo);
            c.args(["build", "--release", "--target", TARGET, "-Zbuild-std=std,panic_abort"])
                .env("RUSTC_BOOTSTRAP", "1")
                .env("RUSTC", rustc)
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld");
            c
        }
    };
    command.current_dir(&root);
    if dirs.len() > 1 || dirs[0] != root {
        for d in &dirs {
            command.arg("-p").arg(crate_name_package(d)?);
        }
    }
    let status = command.status().with_context(|| format!("failed to run cargo ({})", toolchain.describe()))?;
    anyhow::ensure!(status.success(), "cargo could not build the plugin(s) in {} (see its output above)", dir.display());
    let out = target.join("socle");
    std::fs::create_dir_all(&out)?;
    let mut built = Vec::new();
    for (d, manifest) in dirs.into_iter().zip(manifests) {
        let module = target.join(format!("{TARGET}/release/{}.wasm", crate_name(&d)?));
        let bytes = std::fs::read(&module).with_context(|| format!("cargo produced no {} (is the crate a `cdylib`?)", module.display()))?;
        let component = componentize(&bytes).with_context(|| format!("{} is not a valid socle plugin module", module.display()))?;
        let path = out.join(format!("{}.wasm", manifest.plugin.id));
        std::fs::write(&path, component)?;
        built.push(BuiltPlugin { manifest, component: path, dir: d });
    }
    Ok(built)
}

fn crate_name_package(dir: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml"))?;
    let cargo: toml::Value = toml::from_str(&text)?;
    Ok(cargo.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str()).context("Cargo.toml has no package name")?.to_owned())
}

/// The components a previous `build` wrote for the plugins under `dir`.
pub fn built(dir: &Path) -> anyhow::Result<Vec<BuiltPlugin>> {
    let dirs = plugin_dirs(dir)?;
    let Layout { target, .. } = layout(&dirs[0]);
    dirs.into_iter()
        .map(|d| {
            let text = std::fs::read_to_string(d.join("socle.toml"))?;
            let manifest = Manifest::parse(&text).map_err(|e| anyhow::anyhow!("{}/socle.toml: {e}", d.display()))?;
            let component = target.join(format!("socle/{}.wasm", manifest.plugin.id));
            anyhow::ensure!(component.is_file(), "{} is not built yet: run `socle plugin build {}`", manifest.plugin.id, dir.display());
            Ok(BuiltPlugin { manifest, component, dir: d })
        })
        .collect()
}

/// Turns a core module built with wit-bindgen into a component.
pub fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(module)
        .context("the module does not carry the socle:plugin component type (build it with socle-sdk)")?
        .validate(true)
        .encode()
        .context("encoding the component failed")
}
