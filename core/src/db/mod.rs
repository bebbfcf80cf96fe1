//! Storage: one SQLite or PostgreSQL database chosen from the URL scheme, migrations for both, and
//! the per-transaction tenant scope PostgreSQL's row-level security relies on.

mod options;
mod pool;
pub mod postgres;
pub mod sql;
mod sqlite;
mod statement;

pub use options::{Backend, DbOptions, Millis, Scope, is_unavailable, is_unique_violation};
pub use pool::Db;
pub use postgres::PgScope;
pub(crate) use sql::from_row;
pub use sql::{Column, IdList, Param, Params, Query, Row, TextList, Tx};
pub use statement::Statement;
