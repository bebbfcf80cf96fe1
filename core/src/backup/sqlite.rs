//! SQLite: an online copy with `VACUUM INTO` (one read transaction, so a consistent snapshot,
//! while the server keeps writing: in WAL mode readers and the writer do not wait for each
//! other), and a restore that puts the copy in place of the database file.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{ConnectOptions as _, Connection as _};

/// The part's name in the archive.
pub const PART: &str = "database.sqlite";

/// Copies the live database into `into` (which must not exist) and checks the copy. Returns
/// the tool's description for the manifest.
pub async fn snapshot(pool: &SqlitePool, into: &Path) -> anyhow::Result<String> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(pool).await?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Still consistent, but writers wait for the copy to finish.
        tracing::warn!(journal_mode = %mode, "the SQLite database is not in WAL mode: writes wait while the backup reads it");
    }
    let version: String = sqlx::query_scalar("SELECT sqlite_version()").fetch_one(pool).await?;
    let target = into.to_str().context("the backup directory's path is not valid UTF-8")?;
    sqlx::query("VACUUM INTO ?").bind(target).execute(pool).await.context("VACUUM INTO failed")?;
    check(into).await.context("the copy of the database is damaged")?;
    Ok(format!("SQLite {version} VACUUM INTO"))
}

/// `PRAGMA quick_check` of a database file.
async fn check(path: &Path) -> anyhow::Result<()> {
    let mut conn = SqliteConnectOptions::new().filename(path).read_only(true).connect().await?;
    let result: String = sqlx::query_scalar("PRAGMA quick_check").fetch_one(&mut conn).await?;
    conn.close().await.ok();
    anyhow::ensure!(result == "ok", "quick_check: {result}");
    Ok(())
}

/// The file a `sqlite://` URL names.
pub fn database_file(url: &str) -> anyhow::Result<PathBuf> {
    let options = SqliteConnectOptions::from_str(url).context("DATABASE_URL is not a valid sqlite:// URL")?;
    Ok(options.get_filename().to_path_buf())
}

/// How many tables the database at `path` holds (0 when the file is missing or empty).
pub async fn table_count(path: &Path) -> anyhow::Result<i64> {
    if std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(true) {
        return Ok(0);
    }
    let mut conn = SqliteConnectOptions::new().filename(path).read_only(true).connect().await.with_context(|| format!("cannot open {}", path.display()))?;
    let count = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").fetch_one(&mut conn).await?;
    conn.close().await.ok();
    Ok(count)
}

/// Puts the restored copy `copy` in place of `target`. With `aside` (a forced restore over a
/// database with data), the database there is moved aside with its WAL as
/// `<target>.before-restore-<aside>`, never deleted, and that path is returned; otherwise an
/// empty database file there is replaced.
pub async fn put_in_place(copy: &Path, target: &Path, aside: Option<&str>) -> anyhow::Result<Option<PathBuf>> {
    check(copy).await.context("the restored database is damaged")?;
    let sidecars = ["-wal", "-shm", "-journal"];
    let with = |path: &Path, suffix: &str| PathBuf::from(format!("{}{suffix}", path.display()));
    let mut moved = None;
    match aside {
        Some(stamp) if target.exists() => {
            let to = with(target, &format!(".before-restore-{stamp}"));
            std::fs::rename(target, &to).with_context(|| format!("cannot move {} aside", target.display()))?;
            for suffix in sidecars {
                let sidecar = with(target, suffix);
                if sidecar.exists() {
                    std::fs::rename(&sidecar, with(&to, suffix)).with_context(|| format!("cannot move {} aside", sidecar.display()))?;
                }
            }
            moved = Some(to);
        }
        _ => {
            for suffix in sidecars {
                let _ = std::fs::remove_file(with(target, suffix));
            }
        }
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::rename(copy, target).with_context(|| format!("cannot move the restored database to {}", target.display()))?;
    Ok(moved)
}
