//! Storage: one SQLite or PostgreSQL database chosen from the URL scheme, migrations for both, and
//! the per-transaction tenant scope PostgreSQL's row-level security relies on.

pub mod postgres;
pub mod sql;
mod sqlite;

use std::time::Duration;

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};
use socle_tenants::TenantId;
use sqlx::{PgPool, SqlitePool};

pub use postgres::PgScope;
pub use sql::{Column, IdList, Param, Query, Row, TextList, Tx};

/// The migrations of each backend, embedded in the binary (append-only, same names on both sides).
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database engine serves this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one machine.
    Sqlite,
    /// Shared by every node.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// `sqlite://path` (created if missing) or `postgres://…`.
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
    /// PostgreSQL role the application switches to on every connection (row-level security
    /// applies to it). Empty to stay the login role, when that role already is the app role.
    pub app_role: String,
}

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

/// Whose rows a PostgreSQL transaction may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One tenant's rows only.
    Tenant(TenantId),
    /// Every tenant's rows: routing by domain, the job queue, operator consoles, tenant deletion.
    /// Only platform code paths ask for it, never a request handler acting for a tenant user.
    Platform,
}

/// Whether a database error means "the database is unreachable" (answer 503, retry later) rather
/// than "this query is wrong".
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed) || matches!(err, sqlx::Error::Tls(_))
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error().is_some_and(|e| e.is_unique_violation())
}

/// Unix milliseconds → the value bound for SQLite's INTEGER and PostgreSQL's bigint columns.
pub type Millis = i64;
