use std::str::FromStr;

use anyhow::Context as _;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::options::DbOptions;

/// Opens (creating if needed) the SQLite file with WAL, foreign keys and a busy timeout, so
/// concurrent writers wait for each other instead of failing.
pub(super) async fn connect(url: &str, options: &DbOptions) -> anyhow::Result<SqlitePool> {
    let connect = SqliteConnectOptions::from_str(url)
        .with_context(|| "DATABASE_URL is not a valid sqlite:// URL".to_owned())?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        // REGEXP, for case-insensitive "contains" beyond ASCII.
        .with_regexp()
        .busy_timeout(std::time::Duration::from_secs(10));
    if let Some(dir) = connect.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("failed to create the database directory {}", dir.display()))?;
    }
    SqlitePoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .connect_with(connect)
        .await
        .context("failed to open the SQLite database")
}
