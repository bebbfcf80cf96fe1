//! Packages from the command line: a partner packs, signs and publishes
//! (`socle plugin pack|keygen|sign|publish`); `socle marketplace publish-local` and the demo
//! publish built plugins straight into this server's marketplace.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use rand::RngCore as _;
use socle_marketplace::package::{Digest, Package};
use socle_marketplace::signing::{PackageSignature, SecretKey};

use crate::app::App;

/// Packs every built plugin of `dir` into `target/socle/<id>-<version>.socle`.
pub fn pack(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for built in crate::plugins::build::built(dir)? {
        let component = std::fs::read(&built.component).with_context(|| format!("cannot read {}", built.component.display()))?;
        let package = Package::from_dir(&built.dir, component).map_err(|e| anyhow::anyhow!("{}: {e}", built.dir.display()))?;
        let out = built.component.with_file_name(package.file_name());
        let bytes = package.pack();
        write_atomically(&out, &bytes)?;
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

pub(super) fn read_key(path: &Path) -> anyhow::Result<SecretKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the secret key {}", path.display()))?;
    SecretKey::from_text(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn signature_path(package: &Path) -> PathBuf {
    let mut name = package.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Writes `bytes` to `path` through a temporary file renamed over it: a reader (another `socle`
/// publishing the same plugin at the same moment) sees the old file or the new one, never half.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}-{}", std::process::id(), rand::rng().next_u64()));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Signs a package, writing `<package>.sig`.
pub fn sign(package: &Path, key: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(package).with_context(|| format!("cannot read {}", package.display()))?;
    let key = read_key(key)?;
    let signature = key.sign(&Digest::of(&bytes));
    let out = signature_path(package);
    write_atomically(&out, signature.to_json().as_bytes())?;
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

pub(super) fn print_report(report: &serde_json::Value) {
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

/// Packs, signs and submits the built plugins of `dir` (or the `.socle` package `dir` names)
/// into this server's marketplace as
/// `publisher` (created, with `key` generated and registered, when missing), then lists what
/// waits for review: what `socle demo` does with the first-party plugins. A version already
/// published is left as it is.
pub async fn publish_local(app: &Arc<App>, dir: &Path, publisher_id: &str, key_path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let publisher = match app.marketplace.store().publisher(publisher_id).await? {
        Some(p) => p,
        None => app.marketplace.create_publisher(publisher_id, publisher_id, &format!("marketplace@{publisher_id}.localhost")).await?.0,
    };
    if !key_path.exists() {
        keygen(key_path)?;
    }
    let key = read_key(key_path)?;
    if !app.marketplace.store().keys(&publisher.id).await?.iter().any(|k| k.status == "current" && k.key_id == key.public().key_id()) {
        app.marketplace.add_publisher_key(&publisher.id, &key.public().to_string()).await?;
    }
    let mut outcomes = Vec::new();
    let packages = if dir.is_file() { vec![dir.to_path_buf()] } else { pack(dir)? };
    for path in packages {
        let bytes = std::fs::read(&path)?;
        let package = Package::unpack(&bytes, &socle_marketplace::package::PackageLimits::default())?;
        let label = format!("{}@{}", package.manifest.plugin.id, package.manifest.plugin.version);
        if app.marketplace.store().version(&package.manifest.plugin.id, &package.manifest.plugin.version.to_string()).await?.is_some() {
            outcomes.push((label, "already published".into()));
            continue;
        }
        let signature: PackageSignature = key.sign(&Digest::of(&bytes));
        let report = app.marketplace.submit(&publisher, &bytes, &signature.to_json()).await?;
        if let Some(failure) = report.failure() {
            bail!("{label}: {} failed: {}", failure.check, failure.detail);
        }
        if report.outcome == "in_review" {
            app.marketplace
                .store()
                .decide(&package.manifest.plugin.id, &package.manifest.plugin.version.to_string(), "listed", "first-party", "socle demo")
                .await?;
        }
        outcomes.push((label, "listed".into()));
    }
    Ok(outcomes)
}
