//! PostgreSQL: `pg_dump` in its custom format (one repeatable-read snapshot of every table, the
//! schema as it stands — indexes built at run time included) and `pg_restore` in a single
//! transaction. Both run as the login role of `DATABASE_URL`, which owns the tables: its
//! password goes through the environment (never the command line), and `app.scope=platform`
//! lets it read every tenant's rows through their forced row-level security.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::{Connection as _, PgConnection};

/// The part's name in the archive.
pub const PART: &str = "database.pgdump";

/// How to run the client tools against the database.
pub struct Client {
    /// `DATABASE_URL`, password included.
    pub url: SecretString,
    /// Directory of `pg_dump` and `pg_restore`; empty for the `PATH`.
    pub bin_dir: String,
}

impl Client {
    fn tool(&self, name: &str) -> PathBuf {
        if self.bin_dir.is_empty() { PathBuf::from(name) } else { Path::new(&self.bin_dir).join(name) }
    }

    /// The URL without its password (for the command line), and the password (for `PGPASSWORD`).
    fn split(&self) -> anyhow::Result<(String, Option<String>)> {
        let mut url = url::Url::parse(self.url.expose_secret()).context("DATABASE_URL is not a valid postgres:// URL")?;
        let password = url.password().map(percent_decode);
        let _ = url.set_password(None);
        // Options only sqlx understands; libpq would refuse them.
        let kept: Vec<(String, String)> =
            url.query_pairs().filter(|(k, _)| k != "statement-cache-capacity").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
        Ok((url.to_string(), password))
    }

    fn command(&self, tool: &str) -> anyhow::Result<(tokio::process::Command, String)> {
        let (url, password) = self.split()?;
        let mut command = tokio::process::Command::new(self.tool(tool));
        command.env("PGOPTIONS", "-c app.scope=platform").stdin(std::process::Stdio::null()).kill_on_drop(true);
        match password {
            Some(password) => command.env("PGPASSWORD", password),
            None => command.env_remove("PGPASSWORD"),
        };
        Ok((command, url))
    }

    /// The major version of a client tool (`pg_dump (PostgreSQL) 15.20 (Debian …)` → 15).
    async fn tool_version(&self, tool: &str) -> anyhow::Result<(u32, String)> {
        let output = tokio::process::Command::new(self.tool(tool)).arg("--version").output().await.with_context(|| {
            format!("cannot run {tool}: install PostgreSQL's client tools (Debian: apt install postgresql-client) or set backup.pg_bin_dir")
        })?;
        let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let version = text.split_whitespace().find(|w| w.starts_with(|c: char| c.is_ascii_digit())).unwrap_or_default().to_owned();
        let major = version.split('.').next().and_then(|m| m.parse().ok()).with_context(|| format!("cannot read {tool}'s version from `{text}`"))?;
        Ok((major, version))
    }

    async fn connect(&self) -> anyhow::Result<PgConnection> {
        PgConnection::connect(self.url.expose_secret()).await.context("cannot connect to PostgreSQL as the login role of DATABASE_URL")
    }

    /// The server's major version (15 for 15.4).
    async fn server_major(&self) -> anyhow::Result<u32> {
        let mut conn = self.connect().await?;
        let number: String = sqlx::query_scalar("SHOW server_version_num").fetch_one(&mut conn).await?;
        conn.close().await.ok();
        let number: u32 = number.parse().context("unexpected server_version_num")?;
        Ok(number / 10_000)
    }

    /// Dumps the database into `into`. Returns the tool's description for the manifest.
    pub async fn dump(&self, into: &Path) -> anyhow::Result<String> {
        let (client, version) = self.tool_version("pg_dump").await?;
        let server = self.server_major().await?;
        if client < server {
            bail!(
                "pg_dump {version} cannot dump a PostgreSQL {server} server: install the client tools of version {server} or newer (Debian: postgresql-client-{server} from apt.postgresql.org) and set backup.pg_bin_dir to their directory (/usr/lib/postgresql/{server}/bin)"
            );
        }
        let (mut command, url) = self.command("pg_dump")?;
        // Custom format, uncompressed (the archive compresses it); the whole database in one
        // snapshot; rows read through row-level security with the platform scope (PGOPTIONS).
        command
            .args(["--format=custom", "--compress=0", "--enable-row-security", "--lock-wait-timeout=60000", "--no-password", "--file"])
            .arg(into)
            .arg("--dbname")
            .arg(url);
        run(command, "pg_dump").await?;
        Ok(format!("pg_dump {version} (custom format)"))
    }

    /// How many tables and views the database's `public` schema holds.
    pub async fn table_count(&self) -> anyhow::Result<i64> {
        let mut conn = self.connect().await?;
        let count = sqlx::query_scalar(
            "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        )
        .fetch_one(&mut conn)
        .await?;
        conn.close().await.ok();
        Ok(count)
    }

    /// Empties the database for a forced restore: its `public` schema dropped and created again.
    pub async fn clear(&self) -> anyhow::Result<()> {
        let mut conn = self.connect().await?;
        sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;").execute(&mut conn).await.context(
            "cannot empty the database (DROP SCHEMA public CASCADE): the login role must own its public schema; otherwise drop and create the database yourself and restore into the empty one",
        )?;
        conn.close().await.ok();
        Ok(())
    }

    /// Restores a dump into the (empty) database in one transaction: all of it or nothing.
    /// Ownership and grants are left to the login role and to the migrations that follow.
    pub async fn restore(&self, dump: &Path) -> anyhow::Result<()> {
        let (_, version) = self.tool_version("pg_restore").await?;
        let (mut command, url) = self.command("pg_restore")?;
        command.args(["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "--no-password", "--dbname"]).arg(url).arg(dump);
        run(command, &format!("pg_restore {version}")).await
    }
}

async fn run(mut command: tokio::process::Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().await.with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let message: String = stderr.lines().filter(|l| !l.trim().is_empty()).take(8).collect::<Vec<_>>().join(" | ");
        bail!("{what} failed ({}): {message}", output.status);
    }
    Ok(())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let client = Client {
            url: SecretString::from("postgres://socle:p%40ss%3Aw@db.internal:5433/socle?sslmode=require&statement-cache-capacity=10"),
            bin_dir: String::new(),
        };
        let (url, password) = client.split().unwrap();
        assert_eq!(url, "postgres://socle@db.internal:5433/socle?sslmode=require");
        assert_eq!(password.as_deref(), Some("p@ss:w"));
        let client = Client { url: SecretString::from("postgres://postgres@127.0.0.1/db"), bin_dir: "/usr/lib/postgresql/17/bin".into() };
        assert_eq!(client.split().unwrap(), ("postgres://postgres@127.0.0.1/db".to_owned(), None));
        assert_eq!(client.tool("pg_dump"), PathBuf::from("/usr/lib/postgresql/17/bin/pg_dump"));
    }
}
