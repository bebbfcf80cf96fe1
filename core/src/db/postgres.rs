use anyhow::Context as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, Executor as _, PgConnection, PgPool, Postgres, Transaction};

use super::options::{DbOptions, Scope};

/// Opens the application pool. Every connection switches to the application role, which has no
/// BYPASSRLS, so row-level security applies to every query the server makes.
pub(super) async fn connect_app_pool(url: &str, options: &DbOptions) -> anyhow::Result<PgPool> {
    let connect: PgConnectOptions = url.parse().context("DATABASE_URL is not a valid postgres:// URL")?;
    let role = options.app_role.clone();
    Ok(PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .after_connect(move |conn, _meta| {
            let role = role.clone();
            Box::pin(async move {
                if !role.is_empty() {
                    conn.execute(sqlx::AssertSqlSafe(format!("SET ROLE {}", quote_ident(&role)))).await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(connect))
}

/// Runs the migrations as the login role, then grants the application role what it may do: read
/// and write every table, but only append to the audit journal.
pub(super) async fn migrate(url: &str, app_role: &str, migrator: &sqlx::migrate::Migrator) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect(url).await.context("failed to connect to PostgreSQL to migrate")?;
    // sqlx takes an advisory lock, so nodes starting at once migrate one after the other.
    migrator.run(&mut conn).await.context("failed to migrate the PostgreSQL database")?;
    if !app_role.is_empty() {
        let role = quote_ident(app_role);
        let grants = format!(
            "GRANT USAGE ON SCHEMA public TO {role};
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
             REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role};
             REVOKE ALL ON _sqlx_migrations FROM {role};"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(grants))
            .execute(&mut conn)
            .await
            .with_context(|| format!("failed to grant privileges to the application role {app_role}"))?;
    }
    conn.close().await.ok();
    Ok(())
}

/// A transaction limited to one scope by row-level security.
pub type PgScope<'c> = Transaction<'c, Postgres>;

/// Begins a transaction and sets its scope; the setting ends with the transaction, so a pooled
/// connection never carries one tenant's scope into another request.
pub async fn begin(pool: &PgPool, scope: Scope) -> Result<PgScope<'static>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    match scope {
        Scope::Tenant(tenant) => {
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)").bind(tenant.to_string()).execute(&mut *tx).await?;
        }
        Scope::Platform => {
            sqlx::query("SELECT set_config('app.scope', 'platform', true)").execute(&mut *tx).await?;
        }
    }
    Ok(tx)
}

fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}
