//! `socle secrets …`: how the stored secrets are sealed, sealing them again with the current key,
//! and new keys for `secrets.keys`.

use std::collections::BTreeMap;

use anyhow::Context as _;
use clap::Subcommand;
use serde::Serialize;

use crate::app::{App, BuildOptions};
use crate::config::Settings;
use crate::crypto::{self, Census};

/// `socle secrets …`.
#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// How many stored secrets are sealed with each key, and how many are still in clear.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Seal every stored secret in clear or under an older key again with the current key (the
    /// first of secrets.keys). Safe to run again: what is already sealed with it is left alone.
    Rotate,
    /// Print a new key for secrets.keys: `<id>:<base64 of 32 random bytes>` (keep it secret).
    NewKey {
        /// The key's id (letters, digits, `-`, `_`, `.`); today's date when absent.
        #[arg(long)]
        id: Option<String>,
    },
}

/// Runs a `socle secrets` command.
pub async fn run(settings: Settings, command: SecretsCommand) -> anyhow::Result<()> {
    match command {
        SecretsCommand::NewKey { id } => {
            let id = id.unwrap_or_else(|| time::OffsetDateTime::now_utc().date().to_string());
            println!("{}", crypto::new_key_entry(&id)?);
            Ok(())
        }
        SecretsCommand::Status { json } => {
            let app = App::build(settings, BuildOptions::default()).await?;
            let report = status(&app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.text());
            }
            Ok(())
        }
        SecretsCommand::Rotate => {
            let app = App::build(settings, BuildOptions::default()).await?;
            let current = app.secrets.current().to_owned();
            let mut resealed: BTreeMap<&'static str, u64> = BTreeMap::new();
            for tenant in app.tenants.list().await? {
                for holder in app.secret_holders() {
                    let n = holder
                        .reseal_secrets(tenant.id)
                        .await
                        .with_context(|| format!("failed to re-seal the {} of tenant {}", holder.secret_kind(), tenant.slug))?;
                    *resealed.entry(holder.secret_kind()).or_default() += n;
                }
            }
            let after = status(&app).await?;
            for (kind, census) in &after.secrets {
                println!("{kind}: {} re-sealed with key {current} ({} stored)", resealed.get(kind.as_str()).copied().unwrap_or(0), census.total());
            }
            let left: u64 = after.secrets.values().map(|c| c.outdated(&current)).sum();
            anyhow::ensure!(
                left == 0,
                "{left} secrets were written under another key meanwhile (a node still running with the previous secrets.keys?): \
                 give every node the new keys, then run `socle secrets rotate` again"
            );
            println!("every stored secret is sealed with key {current}");
            Ok(())
        }
    }
}

/// Where the stored secrets stand.
#[derive(Debug, Serialize)]
struct Status {
    /// The key that seals.
    current_key: String,
    /// Every key of the ring, current first.
    keys: Vec<String>,
    /// Per kind of secret, across tenants.
    secrets: BTreeMap<String, Census>,
}

impl Status {
    fn text(&self) -> String {
        let mut out = format!("current key: {} (secrets.keys: {})\n", self.current_key, self.keys.join(", "));
        for (kind, census) in &self.secrets {
            let mut parts: Vec<String> = census
                .sealed
                .iter()
                .map(|(id, n)| if self.keys.contains(id) { format!("{id}: {n}") } else { format!("{id}: {n} (not in secrets.keys: unreadable)") })
                .collect();
            if census.clear > 0 {
                parts.push(format!("in clear: {}", census.clear));
            }
            let detail = if parts.is_empty() { String::new() } else { format!(" — {}", parts.join(", ")) };
            out.push_str(&format!("{kind}: {} stored{detail}\n", census.total()));
        }
        let outdated: u64 = self.secrets.values().map(|c| c.outdated(&self.current_key)).sum();
        if outdated == 0 {
            out.push_str(&format!("every stored secret is sealed with key {}\n", self.current_key));
        } else {
            out.push_str(&format!("{outdated} to seal with key {}: run `socle secrets rotate`\n", self.current_key));
        }
        out
    }
}

async fn status(app: &App) -> anyhow::Result<Status> {
    let mut secrets: BTreeMap<String, Census> = app.secret_holders().iter().map(|h| (h.secret_kind().to_owned(), Census::default())).collect();
    for tenant in app.tenants.list().await? {
        for holder in app.secret_holders() {
            let census = holder.secret_census(tenant.id).await?;
            secrets.entry(holder.secret_kind().to_owned()).or_default().merge(&census);
        }
    }
    Ok(Status { current_key: app.secrets.current().to_owned(), keys: app.secrets.ids().map(str::to_owned).collect(), secrets })
}
