//! SQL written once for both databases.
//!
//! Stores open a [`Tx`] on the [`Db`](super::Db) ([`Db::read`](super::Db::read) or
//! [`Db::write`](super::Db::write), both scoped to a tenant or to the platform), build a
//! [`Query`] with `$1…$n` placeholders (both engines accept them), bind typed values and fetch
//! [`Row`]s. What differs between the engines is handled here, once:
//!
//! - ids are `uuid` in PostgreSQL and hyphenated text in SQLite ([`Param`] and [`Column`] for
//!   `Uuid` and `TenantId` do the conversion);
//! - JSON is `jsonb` in PostgreSQL and text in SQLite (`sqlx::types::Json` on both sides);
//! - a write transaction takes SQLite's write lock at its start (`BEGIN IMMEDIATE`, so two
//!   writers queue instead of failing on upgrade) and sets PostgreSQL's row-level-security scope
//!   for its duration; a read on SQLite is a plain pooled connection.
//!
//! Where the SQL itself differs (full-text search, `SKIP LOCKED`, array parameters), the store
//! picks its text with [`Tx::pick`]; everything else is one string.

use std::borrow::Cow;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::types::Json;
use sqlx::{Postgres, Row as _, Sqlite, Transaction};
use uuid::Uuid;

use super::options::Backend;

type SqliteQuery = sqlx::query::Query<'static, Sqlite, SqliteArguments>;
type PgQuery = sqlx::query::Query<'static, Postgres, PgArguments>;

/// An open unit of work on either database.
pub enum Tx {
    /// A pooled SQLite connection, outside any transaction (reads).
    SqliteRead(PoolConnection<Sqlite>),
    /// A SQLite transaction holding the write lock.
    Sqlite(Transaction<'static, Sqlite>),
    /// A PostgreSQL transaction with its row-level-security scope set.
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    /// Which engine this runs on.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::SqliteRead(_) | Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQL text for this engine, where the two differ.
    pub fn pick(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self.backend() {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// A statement for this engine.
    pub fn query(&self, sql: &'static str) -> Query {
        Query::new(self.backend(), Cow::Borrowed(sql))
    }

    /// A statement built at run time. The caller vouches that nothing in `sql` comes from input
    /// (identifiers are checked, values are bound).
    pub fn query_built(&self, sql: String) -> Query {
        Query::new(self.backend(), Cow::Owned(sql))
    }

    /// Makes the work durable (a no-op for a SQLite read).
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::SqliteRead(_) => Ok(()),
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
    }

    /// Several statements separated by `;`, without parameters (DDL, maintenance).
    pub async fn execute_script(&mut self, sql: String) -> Result<(), sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql);
        match self {
            Tx::SqliteRead(conn) => sqlx::raw_sql(sql).execute(&mut **conn).await.map(drop),
            Tx::Sqlite(tx) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop),
            Tx::Postgres(tx) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop),
        }
    }
}

/// A statement with its bound values, ready to run on a [`Tx`] of the same engine.
#[must_use = "a query does nothing until it is run on a transaction"]
pub enum Query {
    /// For SQLite.
    Sqlite(SqliteQuery),
    /// For PostgreSQL.
    Postgres(PgQuery),
}

fn sql_text(sql: Cow<'static, str>) -> sqlx::SqlStr {
    use sqlx::SqlSafeStr as _;
    match sql {
        Cow::Borrowed(text) => text.into_sql_str(),
        Cow::Owned(text) => sqlx::AssertSqlSafe(text).into_sql_str(),
    }
}

impl Query {
    /// A statement for `backend`.
    pub(super) fn for_backend(backend: Backend, sql: &'static str) -> Self {
        Self::new(backend, Cow::Borrowed(sql))
    }

    fn new(backend: Backend, sql: Cow<'static, str>) -> Self {
        match backend {
            Backend::Sqlite => Query::Sqlite(sqlx::query(sql_text(sql))),
            Backend::Postgres => Query::Postgres(sqlx::query(sql_text(sql))),
        }
    }

    /// Binds the next `$n` (one value), or the next ones (a tuple of values, in order).
    pub fn bind<P: Params>(self, values: P) -> Self {
        values.bind_to(self)
    }

    fn bind_one<P: Param>(self, value: P) -> Self {
        match self {
            Query::Sqlite(q) => Query::Sqlite(value.bind_sqlite(q)),
            Query::Postgres(q) => Query::Postgres(value.bind_postgres(q)),
        }
    }

    /// Runs it; the number of rows changed.
    pub async fn execute(self, tx: &mut Tx) -> Result<u64, sqlx::Error> {
        match (self, tx) {
            (Query::Sqlite(q), Tx::SqliteRead(conn)) => Ok(q.execute(&mut **conn).await?.rows_affected()),
            (Query::Sqlite(q), Tx::Sqlite(tx)) => Ok(q.execute(&mut **tx).await?.rows_affected()),
            (Query::Postgres(q), Tx::Postgres(tx)) => Ok(q.execute(&mut **tx).await?.rows_affected()),
            _ => Err(mismatch()),
        }
    }

    /// Every row.
    pub async fn fetch_all(self, tx: &mut Tx) -> Result<Vec<Row>, sqlx::Error> {
        match (self, tx) {
            (Query::Sqlite(q), Tx::SqliteRead(conn)) => Ok(q.fetch_all(&mut **conn).await?.into_iter().map(Row::Sqlite).collect()),
            (Query::Sqlite(q), Tx::Sqlite(tx)) => Ok(q.fetch_all(&mut **tx).await?.into_iter().map(Row::Sqlite).collect()),
            (Query::Postgres(q), Tx::Postgres(tx)) => Ok(q.fetch_all(&mut **tx).await?.into_iter().map(Row::Postgres).collect()),
            _ => Err(mismatch()),
        }
    }

    /// The first row, if any.
    pub async fn fetch_optional(self, tx: &mut Tx) -> Result<Option<Row>, sqlx::Error> {
        match (self, tx) {
            (Query::Sqlite(q), Tx::SqliteRead(conn)) => Ok(q.fetch_optional(&mut **conn).await?.map(Row::Sqlite)),
            (Query::Sqlite(q), Tx::Sqlite(tx)) => Ok(q.fetch_optional(&mut **tx).await?.map(Row::Sqlite)),
            (Query::Postgres(q), Tx::Postgres(tx)) => Ok(q.fetch_optional(&mut **tx).await?.map(Row::Postgres)),
            _ => Err(mismatch()),
        }
    }

    /// Exactly one row.
    pub async fn fetch_one(self, tx: &mut Tx) -> Result<Row, sqlx::Error> {
        self.fetch_optional(tx).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// The first column of the first row, if there is a row.
    pub async fn scalar<C: Column>(self, tx: &mut Tx) -> Result<Option<C>, sqlx::Error> {
        match self.fetch_optional(tx).await? {
            Some(row) => row.at(0).map(Some),
            None => Ok(None),
        }
    }
}

fn mismatch() -> sqlx::Error {
    sqlx::Error::Protocol("a statement built for one database engine was run on the other".into())
}

/// A row of either engine.
pub enum Row {
    /// From SQLite.
    Sqlite(SqliteRow),
    /// From PostgreSQL.
    Postgres(PgRow),
}

impl Row {
    /// The column `name`, decoded.
    pub fn get<C: Column>(&self, name: &str) -> Result<C, sqlx::Error> {
        match self {
            Row::Sqlite(row) => C::from_sqlite(row, name),
            Row::Postgres(row) => C::from_postgres(row, name),
        }
    }

    /// The column at `index`, decoded.
    pub fn at<C: Column>(&self, index: usize) -> Result<C, sqlx::Error> {
        match self {
            Row::Sqlite(row) => C::from_sqlite(row, index),
            Row::Postgres(row) => C::from_postgres(row, index),
        }
    }
}

/// A value that binds to a `$n` of either engine.
pub trait Param {
    /// Binds on SQLite.
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery;
    /// Binds on PostgreSQL.
    fn bind_postgres(self, query: PgQuery) -> PgQuery;
}

/// A column type read the same way from either engine.
pub trait Column: Sized {
    /// Reads it from a SQLite row.
    fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error>;
    /// Reads it from a PostgreSQL row.
    fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error>;
}

/// Types both drivers encode and decode alike.
macro_rules! same_on_both {
    ($($t:ty),* $(,)?) => {$(
        impl Param for $t {
            fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery { query.bind(self) }
            fn bind_postgres(self, query: PgQuery) -> PgQuery { query.bind(self) }
        }
        impl Param for Option<$t> {
            fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery { query.bind(self) }
            fn bind_postgres(self, query: PgQuery) -> PgQuery { query.bind(self) }
        }
    )*};
}

same_on_both!(String, &String, &str, i64, i32, bool, f64, Vec<u8>, &[u8]);

impl Param for &Option<String> {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        query.bind(self.as_deref())
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        query.bind(self.as_deref())
    }
}

macro_rules! same_column_on_both {
    ($($t:ty),* $(,)?) => {$(
        impl Column for $t {
            fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error> { row.try_get(index) }
            fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error> { row.try_get(index) }
        }
        impl Column for Option<$t> {
            fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error> { row.try_get(index) }
            fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error> { row.try_get(index) }
        }
    )*};
}

same_column_on_both!(String, i64, i32, bool, f64, Vec<u8>);

impl<T: serde::Serialize> Param for Json<T> {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        query.bind(self)
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        query.bind(self)
    }
}

impl<T: serde::Serialize> Param for Option<Json<T>> {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        query.bind(self)
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        query.bind(self)
    }
}

impl<T: serde::de::DeserializeOwned> Column for Json<T> {
    fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
    fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
}

impl<T: serde::de::DeserializeOwned> Column for Option<Json<T>> {
    fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
    fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
}

// Ids: `uuid` in PostgreSQL, hyphenated text in SQLite (sqlx would bind a bare `Uuid` to SQLite
// as a 16-byte blob, which matches nothing stored).
impl Param for Uuid {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        query.bind(self.hyphenated())
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        query.bind(self)
    }
}

impl Param for Option<Uuid> {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        query.bind(self.map(Uuid::hyphenated))
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        query.bind(self)
    }
}

impl Param for socle_tenants::TenantId {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        self.as_uuid().bind_sqlite(query)
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        self.as_uuid().bind_postgres(query)
    }
}

impl Param for Option<socle_tenants::TenantId> {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        self.map(|t| t.as_uuid()).bind_sqlite(query)
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        self.map(|t| t.as_uuid()).bind_postgres(query)
    }
}

impl Column for Uuid {
    fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error> {
        Ok(row.try_get::<uuid::fmt::Hyphenated, _>(index)?.into_uuid())
    }
    fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
}

impl Column for Option<Uuid> {
    fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error> {
        Ok(row.try_get::<Option<uuid::fmt::Hyphenated>, _>(index)?.map(uuid::fmt::Hyphenated::into_uuid))
    }
    fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
}

impl Column for socle_tenants::TenantId {
    fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error> {
        Uuid::from_sqlite(row, index).map(socle_tenants::TenantId::from_uuid)
    }
    fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error> {
        Uuid::from_postgres(row, index).map(socle_tenants::TenantId::from_uuid)
    }
}

impl Column for Option<socle_tenants::TenantId> {
    fn from_sqlite<I: sqlx::ColumnIndex<SqliteRow>>(row: &SqliteRow, index: I) -> Result<Self, sqlx::Error> {
        Ok(Option::<Uuid>::from_sqlite(row, index)?.map(socle_tenants::TenantId::from_uuid))
    }
    fn from_postgres<I: sqlx::ColumnIndex<PgRow>>(row: &PgRow, index: I) -> Result<Self, sqlx::Error> {
        Ok(Option::<Uuid>::from_postgres(row, index)?.map(socle_tenants::TenantId::from_uuid))
    }
}

/// A list of ids bound as one parameter: a PostgreSQL `uuid[]` (`= ANY($n)`), a JSON array of
/// text in SQLite (`IN (SELECT value FROM json_each($n))`); the SQL differs, so pick it with
/// [`Tx::pick`].
pub struct IdList<'a>(pub &'a [Uuid]);

impl Param for IdList<'_> {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        query.bind(Json(self.0.iter().map(|id| id.hyphenated()).collect::<Vec<_>>()))
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        query.bind(self.0.to_vec())
    }
}

/// A list of strings bound as one parameter (see [`IdList`]).
pub struct TextList<'a>(pub &'a [String]);

impl Param for TextList<'_> {
    fn bind_sqlite(self, query: SqliteQuery) -> SqliteQuery {
        query.bind(Json(self.0))
    }
    fn bind_postgres(self, query: PgQuery) -> PgQuery {
        query.bind(self.0.to_vec())
    }
}

/// Values bound to the next `$n` in order: one value, or a tuple of them.
pub trait Params {
    /// Binds them to `query`.
    fn bind_to(self, query: Query) -> Query;
}

impl<P: Param> Params for P {
    fn bind_to(self, query: Query) -> Query {
        query.bind_one(self)
    }
}

macro_rules! tuple_params {
    ($($name:ident),+) => {
        impl<$($name: Param),+> Params for ($($name,)+) {
            #[allow(non_snake_case)]
            fn bind_to(self, query: Query) -> Query {
                let ($($name,)+) = self;
                $(let query = query.bind_one($name);)+
                query
            }
        }
    };
}

tuple_params!(A, B);
tuple_params!(A, B, C);
tuple_params!(A, B, C, D);
tuple_params!(A, B, C, D, E);
tuple_params!(A, B, C, D, E, F);
tuple_params!(A, B, C, D, E, F, G);
tuple_params!(A, B, C, D, E, F, G, H);
tuple_params!(A, B, C, D, E, F, G, H, I);
tuple_params!(A, B, C, D, E, F, G, H, I, J);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
tuple_params!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);

/// Builds `Type { … }` from a row whose columns are named like the fields: `field` reads the
/// column `field`, `field = expr` takes a value computed otherwise (a conversion, a constant).
/// Errors of a column become the enclosing function's (`?`).
///
/// ```ignore
/// Ok(from_row!(r => Schedule { name, cron, next_at, payload = r.get::<Json<Value>>("payload")?.0 }))
/// ```
macro_rules! from_row {
    ($row:expr => $ty:ident { $($field:ident $(= $value:expr)?),* $(,)? }) => {
        $ty { $($field: $crate::db::from_row!(@field $row, $field $(, $value)?)),* }
    };
    (@field $row:expr, $field:ident) => {
        $row.get(stringify!($field))?
    };
    (@field $row:expr, $field:ident, $value:expr) => {
        $value
    };
}
pub(crate) use from_row;
