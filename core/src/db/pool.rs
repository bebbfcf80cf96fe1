//! The open database: one SQLite or PostgreSQL pool chosen from the URL scheme, its migrations,
//! and the units of work stores run on ([`Db::read`], [`Db::write`]).

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgPool, SqlitePool};

use super::options::{Backend, DbOptions, Scope};
use super::sql::Tx;
use super::{postgres, sqlite};

/// The migrations of each backend, embedded in the binary (append-only, same names on both sides).
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// An open database.
#[derive(Debug, Clone)]
pub enum Db {
    /// SQLite in WAL mode with foreign keys on.
    Sqlite(SqlitePool),
    /// PostgreSQL; connections run as the application role.
    Postgres {
        /// Pool of connections switched to the application role.
        app: PgPool,
        /// The login role's URL, kept for migrations (which create tables and policies).
        owner_url: SecretString,
        /// The application role the pool switched to.
        app_role: String,
    },
}

impl Db {
    /// Opens the database the URL names.
    pub async fn connect(options: &DbOptions) -> anyhow::Result<Self> {
        let url = options.url.expose_secret();
        if url.starts_with("sqlite:") {
            sqlite::connect(url, options).await.map(Db::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let app = postgres::connect_app_pool(url, options).await?;
            Ok(Db::Postgres { app, owner_url: options.url.clone(), app_role: options.app_role.clone() })
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite:// or postgres:// (got a URL with another scheme)")
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Applies pending migrations (idempotent), then, on PostgreSQL, the application role's grants.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await.context("failed to migrate the SQLite database"),
            Db::Postgres { owner_url, app_role, .. } => postgres::migrate(owner_url.expose_secret(), app_role, &POSTGRES_MIGRATIONS).await,
        }
    }

    /// Work that only reads, limited to `scope`: a pooled connection on SQLite, a transaction
    /// with its row-level-security scope on PostgreSQL (commit it, or drop it).
    pub async fn read(&self, scope: Scope) -> Result<Tx, sqlx::Error> {
        match self {
            Db::Sqlite(pool) => Ok(Tx::SqliteRead(pool.acquire().await?)),
            Db::Postgres { app, .. } => Ok(Tx::Postgres(postgres::begin(app, scope).await?)),
        }
    }

    /// A transaction that writes, limited to `scope`: it holds SQLite's write lock from its start
    /// (writers queue instead of failing when they upgrade), and sets PostgreSQL's scope. Nothing
    /// is kept unless it is committed.
    pub async fn write(&self, scope: Scope) -> Result<Tx, sqlx::Error> {
        match self {
            Db::Sqlite(pool) => Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Postgres { app, .. } => Ok(Tx::Postgres(postgres::begin(app, scope).await?)),
        }
    }

    /// Runs DDL (statements separated by `;`, no parameters) as the tables' owner: on PostgreSQL
    /// the application role may not create indexes, so this opens a connection as the login
    /// role; on SQLite it is the pool.
    pub async fn run_as_owner(&self, sql: String) -> Result<(), sqlx::Error> {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql);
        match self {
            Db::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(drop),
            Db::Postgres { owner_url, .. } => {
                let mut conn = sqlx::PgConnection::connect(owner_url.expose_secret()).await?;
                let done = sqlx::raw_sql(sql).execute(&mut conn).await.map(drop);
                conn.close().await.ok();
                done
            }
        }
    }

    /// The newest migration this binary carries for an engine (its version, e.g.
    /// `20261204000200`): the newest schema it can run on.
    pub fn latest_migration(backend: Backend) -> i64 {
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The newest migration applied to the database, `None` when it has no Socle schema yet.
    /// On PostgreSQL it is read as the login role (the application role may not see the table).
    pub async fn schema_version(&self) -> Result<Option<i64>, sqlx::Error> {
        use sqlx::Connection as _;
        const SQL: &str = "SELECT max(version) FROM _sqlx_migrations WHERE success";
        // No such table (SQLite's message, PostgreSQL's undefined_table): never migrated.
        let never_migrated =
            |err: &sqlx::Error| err.as_database_error().is_some_and(|e| e.message().starts_with("no such table") || e.code().as_deref() == Some("42P01"));
        let version = match self {
            Db::Sqlite(pool) => sqlx::query_scalar::<_, Option<i64>>(SQL).fetch_one(pool).await,
            Db::Postgres { owner_url, .. } => {
                let mut conn = sqlx::PgConnection::connect(owner_url.expose_secret()).await?;
                let version = sqlx::query_scalar::<_, Option<i64>>(SQL).fetch_one(&mut conn).await;
                conn.close().await.ok();
                version
            }
        };
        match version {
            Ok(version) => Ok(version),
            Err(err) if never_migrated(&err) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// A trivial round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        match self {
            Db::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            Db::Postgres { app, .. } => sqlx::query("SELECT 1").execute(app).await.map(drop),
        }
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool) => pool.close().await,
            Db::Postgres { app, .. } => app.close().await,
        }
    }

    /// The SQLite pool, if this is SQLite.
    pub fn sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Db::Sqlite(pool) => Some(pool),
            Db::Postgres { .. } => None,
        }
    }

    /// The PostgreSQL application pool, if this is PostgreSQL.
    pub fn postgres(&self) -> Option<&PgPool> {
        match self {
            Db::Sqlite(_) => None,
            Db::Postgres { app, .. } => Some(app),
        }
    }
}
