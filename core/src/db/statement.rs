//! One statement in a transaction of its own — what most store methods run: a read on a
//! reading connection, a change in a writing transaction committed at once.

use super::options::Scope;
use super::pool::Db;
use super::sql::{Column, Params, Query, Row};
use crate::error::StoreError;

/// A statement bound to its database and scope, run by one of its methods.
pub struct Statement<'a> {
    db: &'a Db,
    scope: Scope,
    writes: bool,
    query: Query,
}

impl Db {
    /// A statement that only reads (`SELECT`), on a reading connection.
    pub fn reading(&self, scope: Scope, sql: &'static str) -> Statement<'_> {
        Statement { db: self, scope, writes: false, query: Query::for_backend(self.backend(), sql) }
    }

    /// A statement that changes data (or reads what it changed, `RETURNING`), committed at once.
    pub fn writing(&self, scope: Scope, sql: &'static str) -> Statement<'_> {
        Statement { db: self, scope, writes: true, query: Query::for_backend(self.backend(), sql) }
    }
}

impl Statement<'_> {
    /// Binds the next `$n` (one value), or the next ones (a tuple of values, in order).
    pub fn bind<P: Params>(mut self, values: P) -> Self {
        self.query = self.query.bind(values);
        self
    }

    async fn run<T>(self, run: impl AsyncFnOnce(Query, &mut super::Tx) -> Result<T, sqlx::Error>) -> Result<T, StoreError> {
        let mut tx = if self.writes { self.db.write(self.scope).await? } else { self.db.read(self.scope).await? };
        let out = run(self.query, &mut tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Every row.
    pub async fn all(self) -> Result<Vec<Row>, StoreError> {
        self.run(async |q, tx| q.fetch_all(tx).await).await
    }

    /// Every row, each made a value by `map`, collected (a `Vec`, a map…).
    pub async fn all_as<T, C: FromIterator<T>>(self, map: impl Fn(&Row) -> Result<T, StoreError>) -> Result<C, StoreError> {
        self.all().await?.iter().map(map).collect()
    }

    /// The first row, if any.
    pub async fn optional(self) -> Result<Option<Row>, StoreError> {
        self.run(async |q, tx| q.fetch_optional(tx).await).await
    }

    /// Exactly one row.
    pub async fn one(self) -> Result<Row, StoreError> {
        self.run(async |q, tx| q.fetch_one(tx).await).await
    }

    /// The first column of the first row, if there is a row.
    pub async fn scalar<C: Column>(self) -> Result<Option<C>, StoreError> {
        self.run(async |q, tx| q.scalar(tx).await).await
    }

    /// Runs it; the number of rows changed.
    pub async fn execute(self) -> Result<u64, StoreError> {
        self.run(async |q, tx| q.execute(tx).await).await
    }
}
