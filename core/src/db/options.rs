//! How to open the database, which engine it is, whose rows a transaction sees, and what a
//! database error means.

use std::time::Duration;

use secrecy::SecretString;
use socle_tenants::TenantId;

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
