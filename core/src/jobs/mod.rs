//! Durable jobs: a queue in the database, written in the same transaction as the change that
//! needs the work (the outbox), leased by workers (PostgreSQL `FOR UPDATE SKIP LOCKED`, SQLite
//! `BEGIN IMMEDIATE`), retried with exponential backoff, and kept as dead letters — visible to
//! the tenant's administrators — when they keep failing. Cron-like schedules enqueue jobs too.
//! `socle worker` runs them; so does `socle serve` unless told not to.

pub mod store;
pub mod worker;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use socle_tenants::TenantId;
use uuid::Uuid;

use crate::error::StoreError;

pub use worker::{JobFailure, JobHandler, JobRegistry, Registration, Worker};

/// Attempts before a job becomes a dead letter, unless the job says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Tenant the work is for (`None` for platform work).
    pub tenant: Option<TenantId>,
    /// Handler name, e.g. `mail.send`.
    pub kind: String,
    /// Handler input.
    pub payload: Value,
    /// Not before (Unix ms).
    pub run_at: i64,
    /// Attempts before dead-lettering.
    pub max_attempts: i32,
    /// A job with the same key is enqueued only once (idempotent producers).
    pub dedupe_key: Option<String>,
}

impl NewJob {
    /// A job to run as soon as possible.
    pub fn new(tenant: Option<TenantId>, kind: &str, payload: Value, now: i64) -> Self {
        Self { tenant, kind: kind.into(), payload, run_at: now, max_attempts: DEFAULT_MAX_ATTEMPTS, dedupe_key: None }
    }

    /// Runs no earlier than `at`.
    pub fn at(mut self, at: i64) -> Self {
        self.run_at = at;
        self
    }

    /// Enqueued once per key.
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Option<TenantId>,
    /// Handler name.
    pub kind: String,
    /// Input.
    pub payload: Value,
    /// `queued`, `running`, `done` or `dead`.
    pub status: String,
    /// Next run (Unix ms).
    pub run_at: i64,
    /// Attempts so far (including a running one).
    pub attempts: i32,
    /// Attempts allowed.
    pub max_attempts: i32,
    /// Last failure.
    pub last_error: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
}

impl Job {
    /// The id at `key` of the payload (a permanent failure when missing: retrying will not add it).
    pub fn uuid(&self, key: &str) -> Result<Uuid, JobFailure> {
        self.payload
            .get(key)
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| JobFailure::Permanent(format!("payload has no valid `{key}`")))
    }

    /// The tenant of a job that needs one.
    pub fn tenant(&self) -> Result<TenantId, JobFailure> {
        self.tenant_id.ok_or_else(|| JobFailure::Permanent("this job needs a tenant".into()))
    }
}

/// Housekeeping of the queue itself: finished jobs are deleted after a week.
pub const PURGE_DONE_JOB: &str = "jobs.purge_done";

/// The queue's own jobs.
pub fn jobs(store: &std::sync::Arc<dyn JobStore>, clock: &crate::clock::SharedClock) -> Vec<Registration> {
    vec![Registration::scheduled(PURGE_DONE_JOB, "13 3 * * *", std::sync::Arc::new(PurgeDone { store: store.clone(), clock: clock.clone() }))]
}

struct PurgeDone {
    store: std::sync::Arc<dyn JobStore>,
    clock: crate::clock::SharedClock,
}

#[async_trait]
impl JobHandler for PurgeDone {
    async fn run(&self, _job: &Job) -> Result<(), JobFailure> {
        let week = 7 * 24 * 3600 * 1000;
        let purged = self.store.purge_done(self.clock.now_ms() - week).await?;
        tracing::info!(purged, "finished jobs purged");
        Ok(())
    }
}

/// A recurring job.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// Unique name.
    pub name: String,
    /// Cron expression (5 fields, UTC).
    pub cron: String,
    /// Job kind.
    pub kind: String,
    /// Job input.
    pub payload: Value,
    /// Next due time (Unix ms).
    pub next_run_at: i64,
}

/// Delay before retry `attempt` (1-based): 5 s, 10 s, 20 s… capped at one hour.
pub fn backoff_ms(attempt: i32) -> i64 {
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    (5_000i64.saturating_mul(1i64 << exponent)).min(3_600_000)
}

/// The next time a cron expression fires after `after_ms`.
pub fn next_cron(cron: &str, after_ms: i64) -> anyhow::Result<i64> {
    let pattern: croner::Cron = cron.parse().map_err(|e| anyhow::anyhow!("invalid cron expression `{cron}`: {e}"))?;
    let after = chrono::DateTime::from_timestamp_millis(after_ms).ok_or_else(|| anyhow::anyhow!("time out of range"))?;
    let next = pattern.find_next_occurrence(&after, false).map_err(|e| anyhow::anyhow!("cron `{cron}` has no next time: {e}"))?;
    Ok(next.timestamp_millis())
}

/// Storage of the queue and schedules.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Enqueues a job on its own; false if its dedupe key was already used.
    async fn enqueue(&self, job: &NewJob) -> Result<bool, StoreError>;
    /// Leases up to `limit` due jobs (and jobs whose lease expired: their worker died) for
    /// `worker`, until `now + lease_ms`. A job is leased by one worker at a time.
    async fn lease(&self, worker: &str, now: i64, lease_ms: i64, limit: i64) -> Result<Vec<Job>, StoreError>;
    /// Marks a leased job done.
    async fn complete(&self, id: Uuid, worker: &str, now: i64) -> Result<(), StoreError>;
    /// Records a failure: back to the queue at `retry_at`, or dead when `None`.
    async fn fail(&self, id: Uuid, worker: &str, error: &str, now: i64, retry_at: Option<i64>) -> Result<(), StoreError>;
    /// A tenant's jobs with this status, most recent first.
    async fn list(&self, tenant: TenantId, status: &str, limit: i64) -> Result<Vec<Job>, StoreError>;
    /// Puts a tenant's dead job back in the queue with fresh attempts; false if it was not dead.
    async fn retry(&self, tenant: TenantId, id: Uuid, now: i64) -> Result<bool, StoreError>;
    /// Creates a schedule, or updates its cron and input (keeping its next time if unchanged).
    async fn upsert_schedule(&self, schedule: &Schedule) -> Result<(), StoreError>;
    /// Schedules due at `now`.
    async fn due_schedules(&self, now: i64) -> Result<Vec<Schedule>, StoreError>;
    /// Moves a schedule from `from` to `to` and enqueues its job, once: false if another
    /// worker already did.
    async fn fire_schedule(&self, schedule: &Schedule, to: i64, job: &NewJob) -> Result<bool, StoreError>;
    /// Deletes finished jobs older than `before`.
    async fn purge_done(&self, before: i64) -> Result<u64, StoreError>;
}
