//! `socle plugin run`: a local platform with a demo tenant and the plugin installed, rebuilt and
//! reinstalled (as an upgrade) whenever its sources change.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;

use crate::app::{App, BuildOptions};
use crate::config::Settings;

fn newest_change(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack = vec![dir.join("src"), dir.join("socle.toml"), dir.join("Cargo.toml")];
    while let Some(path) = stack.pop() {
        if let Ok(meta) = std::fs::metadata(&path) {
            if meta.is_dir() {
                if let Ok(entries) = std::fs::read_dir(&path) {
                    stack.extend(entries.filter_map(Result::ok).map(|e| e.path()));
                }
            } else if let Ok(modified) = meta.modified() {
                newest = newest.max(modified);
            }
        }
    }
    newest
}

/// Serves until interrupted.
pub async fn run(mut settings: Settings, dir: &Path, addr: SocketAddr) -> anyhow::Result<()> {
    let dir: PathBuf = dir.canonicalize().with_context(|| format!("{} does not exist", dir.display()))?;
    let data = dir.join("target/socle/dev");
    std::fs::create_dir_all(&data)?;
    if std::env::var("DATABASE_URL").is_err() {
        settings.database.url = secrecy::SecretString::from(format!("sqlite://{}/socle.db", data.display()));
    }
    settings.mail.dir = data.join("mails").display().to_string();
    settings.server.addr = addr;
    settings.server.public_url = format!("http://localhost:{}", addr.port());
    let app = App::build(settings, BuildOptions::default()).await?;
    let tenant = Arc::new(super::plugin_tools::demo_tenant(&app).await?);
    let build_and_install = |app: Arc<App>, tenant: Arc<socle_tenants::Tenant>, dir: PathBuf| async move {
        // cargo runs for seconds: off the async workers.
        let built = tokio::task::spawn_blocking(move || super::plugin_tools::build_all(&dir)).await;
        match built.unwrap_or_else(|e| Err(anyhow::anyhow!("the build task failed: {e}"))) {
            Ok(built) => {
                for b in &built {
                    if let Err(err) = super::plugin_tools::install(&app, &tenant, b, "socle plugin run").await {
                        eprintln!("✗ install failed: {err:#}");
                    }
                }
            }
            Err(err) => eprintln!("✗ build failed: {err:#}"),
        }
    };
    build_and_install(app.clone(), tenant.clone(), dir.clone()).await;
    let server = crate::http::Server::bind(app.clone(), addr).await?;
    println!("\nserving on http://localhost:{0}/t/{1}/ (or http://{1}.localhost:{0}/)", addr.port(), tenant.slug);
    println!("log in as admin@plugin-demo.localhost / {}", super::demo::DEMO_PASSWORD);
    println!("watching {} for changes (Ctrl-C to stop)\n", dir.display());
    let worker = app.worker();
    tokio::spawn(worker.run(Duration::from_millis(500), std::future::pending()));
    let watcher = {
        let (app, tenant, dir) = (app.clone(), tenant.clone(), dir.clone());
        tokio::spawn(async move {
            let mut seen = newest_change(&dir);
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let now = newest_change(&dir);
                if now > seen {
                    seen = now;
                    println!("change detected: rebuilding…");
                    build_and_install(app.clone(), tenant.clone(), dir.clone()).await;
                }
            }
        })
    };
    let result = server
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    watcher.abort();
    result
}
