use async_trait::async_trait;
use socle_tenants::TenantId;
use uuid::Uuid;

use super::{Job, JobStore, NewJob, Schedule};
use crate::clock::SharedClock;
use crate::db::from_row;
use crate::db::{Db, Row, Scope, Tx};
use crate::error::StoreError;
use sqlx::types::Json;

/// The queue in the database. Workers serve every tenant, so they act in the platform scope.
/// Leasing takes rows `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent workers never lease
/// the same job and never wait on each other; on SQLite the lease runs in a write transaction,
/// and SQLite has one writer at a time.
pub struct SqlJobStore {
    db: Db,
    clock: SharedClock,
}

impl SqlJobStore {
    /// A store over this pool.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }
}

/// Enqueues `job` inside the caller's transaction; false if its dedupe key was taken.
pub async fn enqueue(tx: &mut Tx, job: &NewJob, now: i64) -> Result<bool, sqlx::Error> {
    let result = tx
        .query(
            r#"INSERT INTO jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, dedupe_key, created_at, updated_at)
           VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $8) ON CONFLICT (dedupe_key) DO NOTHING"#,
        )
        .bind((Uuid::now_v7(), job.tenant, &job.kind, Json(&job.payload), job.run_at, job.max_attempts, job.dedupe_key.as_deref(), now))
        .execute(tx)
        .await?;
    Ok(result == 1)
}

fn job(row: &Row) -> Result<Job, StoreError> {
    Ok(from_row!(row => Job {
        id, tenant_id, kind, payload = row.get::<Json<serde_json::Value>>("payload")?.0, status, run_at, attempts, max_attempts, last_error, created_at,
        updated_at
    }))
}

#[async_trait]
impl JobStore for SqlJobStore {
    async fn enqueue(&self, job: &NewJob) -> Result<bool, StoreError> {
        let mut tx = self.db.write(job.tenant.map_or(Scope::Platform, Scope::Tenant)).await?;
        let added = enqueue(&mut tx, job, self.clock.now_ms()).await?;
        tx.commit().await?;
        Ok(added)
    }

    async fn lease(&self, worker: &str, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<Job>, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let rows = tx
            .query(tx.pick(
                r#"UPDATE jobs SET status = 'running', lease_until = $1, leased_by = $2, attempts = attempts + 1, updated_at = $3
                   WHERE id IN (SELECT id FROM jobs
                                WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND lease_until < $3)
                                ORDER BY run_at LIMIT $4)
                   RETURNING *"#,
                r#"UPDATE jobs SET status = 'running', lease_until = $1, leased_by = $2, attempts = attempts + 1, updated_at = $3
                   WHERE id IN (SELECT id FROM jobs
                                WHERE (status = 'queued' AND run_at <= $3) OR (status = 'running' AND lease_until < $3)
                                ORDER BY run_at LIMIT $4 FOR UPDATE SKIP LOCKED)
                   RETURNING *"#,
            ))
            .bind((now + lease_ms, worker, now, limit))
            .fetch_all(&mut tx)
            .await?;
        tx.commit().await?;
        rows.iter().map(job).collect()
    }

    async fn complete(&self, id: Uuid, worker: &str, now: i64) -> Result<(), StoreError> {
        self.db.writing(Scope::Platform,
            "UPDATE jobs SET status = 'done', finished_at = $3, updated_at = $3, lease_until = NULL WHERE id = $1 AND leased_by = $2 AND status = 'running'",
        )
        .bind((id, worker, now))
        .execute()
        .await?;
        Ok(())
    }

    async fn fail(&self, id: Uuid, worker: &str, error: &str, now: i64, retry_at: Option<i64>) -> Result<(), StoreError> {
        let error: String = error.chars().take(2000).collect();
        self.db
            .writing(
                Scope::Platform,
                r#"UPDATE jobs SET status = CASE WHEN CAST($4 AS BIGINT) IS NULL THEN 'dead' ELSE 'queued' END, run_at = COALESCE($4, run_at),
               last_error = $3, lease_until = NULL, updated_at = $5, finished_at = CASE WHEN CAST($4 AS BIGINT) IS NULL THEN $5 END
               WHERE id = $1 AND leased_by = $2 AND status = 'running'"#,
            )
            .bind((id, worker, error, retry_at, now))
            .execute()
            .await?;
        Ok(())
    }

    async fn list(&self, tenant: TenantId, status: &str, limit: i64) -> Result<Vec<Job>, StoreError> {
        self.db
            .reading(Scope::Tenant(tenant), "SELECT * FROM jobs WHERE tenant_id = $1 AND status = $2 ORDER BY updated_at DESC LIMIT $3")
            .bind((tenant, status, limit))
            .all_as(job)
            .await
    }

    async fn retry(&self, tenant: TenantId, id: Uuid, now: i64) -> Result<bool, StoreError> {
        let result = self.db.writing(Scope::Tenant(tenant),
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $3, updated_at = $3, finished_at = NULL WHERE tenant_id = $1 AND id = $2 AND status = 'dead'",
        )
        .bind((tenant, id, now))
        .execute()
        .await?;
        Ok(result == 1)
    }

    async fn upsert_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        self.db
            .writing(
                Scope::Platform,
                r#"INSERT INTO schedules (name, cron, kind, payload, next_run_at) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, payload = excluded.payload,
               next_run_at = CASE WHEN schedules.cron = excluded.cron THEN schedules.next_run_at ELSE excluded.next_run_at END,
               cron = excluded.cron"#,
            )
            .bind((&schedule.name, &schedule.cron, &schedule.kind, Json(&schedule.payload), schedule.next_run_at))
            .execute()
            .await?;
        Ok(())
    }

    async fn due_schedules(&self, now: i64) -> Result<Vec<Schedule>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT * FROM schedules WHERE enabled AND next_run_at <= $1")
            .bind(now)
            .all_as(|r| Ok(from_row!(r => Schedule { name, cron, kind, payload = r.get::<Json<serde_json::Value>>("payload")?.0, next_run_at })))
            .await
    }

    async fn fire_schedule(&self, schedule: &Schedule, to: i64, job: &NewJob) -> Result<bool, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        let moved = tx
            .query("UPDATE schedules SET next_run_at = $3 WHERE name = $1 AND next_run_at = $2")
            .bind((&schedule.name, schedule.next_run_at, to))
            .execute(&mut tx)
            .await?;
        if moved == 1 {
            enqueue(&mut tx, job, job.run_at).await?;
        }
        tx.commit().await?;
        Ok(moved == 1)
    }

    async fn purge_done(&self, before: i64) -> Result<u64, StoreError> {
        let result = self.db.writing(Scope::Platform, "DELETE FROM jobs WHERE status = 'done' AND finished_at < $1").bind(before).execute().await?;
        Ok(result)
    }
}
