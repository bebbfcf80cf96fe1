use async_trait::async_trait;
use socle_tenants::TenantId;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row as _};
use uuid::Uuid;

use super::{Job, JobStore, NewJob, Schedule};
use crate::clock::SharedClock;
use crate::error::StoreError;
use crate::db::Scope;
use crate::db::postgres::begin;

/// The queue on PostgreSQL. Workers serve every tenant, so they act in the platform scope;
/// leasing takes rows `FOR UPDATE SKIP LOCKED`, so concurrent workers never lease the same job
/// and never wait on each other.
pub struct PgJobStore {
    pool: PgPool,
    clock: SharedClock,
}

impl PgJobStore {
    /// A store over this pool.
    pub fn new(pool: PgPool, clock: SharedClock) -> Self {
        Self { pool, clock }
    }
}

/// Enqueues `job` inside the caller's transaction; false if its dedupe key was taken.
pub async fn enqueue(conn: &mut PgConnection, job: &NewJob, now: i64) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        r#"INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, dedupe_key, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $8) ON CONFLICT (dedupe_key) DO NOTHING"#,
    )
    .bind(Uuid::now_v7())
    .bind(job.tenant.map(|t| t.as_uuid()))
    .bind(&job.kind)
    .bind(&job.payload)
    .bind(job.run_at)
    .bind(job.max_attempts)
    .bind(&job.dedupe_key)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

fn job(row: &PgRow) -> Result<Job, StoreError> {
    Ok(Job {
        id: row.try_get("id")?,
        tenant_id: row.try_get::<Option<Uuid>, _>("tenant_id")?.map(TenantId::from_uuid),
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        status: row.try_get("status")?,
        run_at: row.try_get("run_at")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl JobStore for PgJobStore {
    async fn enqueue(&self, job: &NewJob) -> Result<bool, StoreError> {
        let mut tx = begin(&self.pool, job.tenant.map_or(Scope::Platform, Scope::Tenant)).await?;
        let added = enqueue(&mut tx, job, self.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn lease(&self, worker: &str, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<Job>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        let rows = sqlx::query(
            r#"UPDATE jobs SET status = 'running', lease_until = $1, leased_by = $2, attempts = attempts + 1, updated_at = $3
               WHERE id IN (SELECT id FROM jobs
                            WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND lease_until < $3)
                            ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED)
               RETURNING *"#,
        )
        .bind(now + lease_ms)
        .bind(worker)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(job).collect()
    }

    async fn complete(&self, id: Uuid, worker: &str, now: i64) -> Result<(), StoreError> {
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        sqlx::query("UPDATE jobs SET status = 'done', finished_at = $3, updated_at = $3, lease_until = NULL WHERE id = $1 AND leased_by = $2 AND status = 'running'")
            .bind(id)
            .bind(worker)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fail(&self, id: Uuid, worker: &str, error: &str, now: i64, retry_at: Option<i64>) -> Result<(), StoreError> {
        let error: String = error.chars().take(2000).collect();
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        sqlx::query(
            r#"UPDATE jobs SET status = CASE WHEN $4::bigint IS NULL THEN 'dead' ELSE 'queued' END, run_at = COALESCE($4, run_at),
               last_error = $3, lease_until = NULL, updated_at = $5, finished_at = CASE WHEN $4::bigint IS NULL THEN $5 END
               WHERE id = $1 AND leased_by = $2 AND status = 'running'"#,
        )
        .bind(id)
        .bind(worker)
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, status: &str, limit: i64) -> Result<Vec<Job>, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let rows = sqlx::query("SELECT * FROM jobs WHERE tenant_id = $1 AND status = $2 ORDER BY updated_at DESC LIMIT $3")
            .bind(tenant.as_uuid())
            .bind(status)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(job).collect()
    }

    async fn retry(&self, tenant: TenantId, id: Uuid, now: i64) -> Result<bool, StoreError> {
        let mut tx = begin(&self.pool, Scope::Tenant(tenant)).await?;
        let result = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $3, updated_at = $3, finished_at = NULL WHERE tenant_id = $1 AND id = $2 AND status = 'dead'",
        )
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(result.rows_affected() == 1)
    }

    async fn upsert_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        sqlx::query(
            r#"INSERT INTO schedules (name, cron, kind, payload, next_run_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, payload = excluded.payload,
               next_run_at = CASE WHEN schedules.cron = excluded.cron THEN schedules.next_run_at ELSE excluded.next_run_at END,
               cron = excluded.cron"#,
        )
        .bind(&schedule.name)
        .bind(&schedule.cron)
        .bind(&schedule.kind)
        .bind(&schedule.payload)
        .bind(schedule.next_run_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn due_schedules(&self, now: i64) -> Result<Vec<Schedule>, StoreError> {
        let rows = sqlx::query("SELECT * FROM schedules WHERE enabled AND next_run_at <= $1").bind(now).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(Schedule {
                    name: r.try_get("name")?,
                    cron: r.try_get("cron")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                    next_run_at: r.try_get("next_run_at")?,
                })
            })
            .collect()
    }

    async fn fire_schedule(&self, schedule: &Schedule, to: i64, job: &NewJob) -> Result<bool, StoreError> {
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        let moved = sqlx::query("UPDATE schedules SET next_run_at = $3 WHERE name = $1 AND next_run_at = $2")
            .bind(&schedule.name)
            .bind(schedule.next_run_at)
            .bind(to)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if moved == 1 {
            enqueue(&mut tx, job, job.run_at).await?;
        }
        tx.commit().await?;
        Ok(moved == 1)
    }

    async fn purge_done(&self, before: i64) -> Result<u64, StoreError> {
        let mut tx = begin(&self.pool, Scope::Platform).await?;
        let result = sqlx::query("DELETE FROM jobs WHERE status = 'done' AND finished_at < $1").bind(before).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(result.rows_affected())
    }
}
