//! The worker: leases due jobs, runs their handlers, records the outcome, and fires due
//! schedules. Tests drive it step by step ([`Worker::run_once`]) with a moved clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Job, JobStore, NewJob, Schedule, backoff_ms, next_cron};
use crate::clock::SharedClock;

/// Why a job failed.
#[derive(Debug)]
pub enum JobFailure {
    /// Worth retrying later (network, a busy service).
    Retry(String),
    /// Retrying will not help (bad input, a deleted record): dead-letter now.
    Permanent(String),
}

impl<E: Into<anyhow::Error>> From<E> for JobFailure {
    fn from(err: E) -> Self {
        JobFailure::Retry(format!("{:#}", err.into()))
    }
}

/// Runs jobs of one kind. A handler holds what it needs (the module that registers it builds it
/// with its own services).
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Does the work. Handlers must be idempotent: a job runs at least once.
    async fn run(&self, job: &Job) -> Result<(), JobFailure>;
}

/// A job kind a module handles, and the schedule that enqueues it, if it recurs.
#[derive(Clone)]
pub struct Registration {
    /// Job kind, e.g. `mail.send`.
    pub kind: &'static str,
    /// Its handler.
    pub handler: Arc<dyn JobHandler>,
    /// A cron expression (5 fields, UTC) enqueuing it with an empty payload, for recurring work.
    pub cron: Option<&'static str>,
}

impl Registration {
    /// A kind that runs when something enqueues it.
    pub fn handler(kind: &'static str, handler: Arc<dyn JobHandler>) -> Self {
        Self { kind, handler, cron: None }
    }

    /// A kind that also recurs on `cron`.
    pub fn scheduled(kind: &'static str, cron: &'static str, handler: Arc<dyn JobHandler>) -> Self {
        Self { kind, handler, cron: Some(cron) }
    }
}

/// Every job kind of the process, gathered from the modules when the platform is built.
#[derive(Clone, Default)]
pub struct JobRegistry {
    handlers: HashMap<&'static str, Registration>,
}

impl JobRegistry {
    /// Adds a module's registrations. Two modules claiming one kind is a programming error.
    pub fn register(&mut self, registrations: Vec<Registration>) -> anyhow::Result<()> {
        for registration in registrations {
            let kind = registration.kind;
            anyhow::ensure!(self.handlers.insert(kind, registration).is_none(), "two handlers for jobs of kind `{kind}`");
        }
        Ok(())
    }

    /// The handler of `kind`.
    pub fn handler(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(kind).map(|r| &r.handler)
    }

    /// Creates or updates the schedule of every recurring kind (named after the kind).
    pub async fn schedule(&self, jobs: &dyn JobStore, now: i64) -> anyhow::Result<()> {
        for registration in self.handlers.values() {
            let Some(cron) = registration.cron else { continue };
            let schedule = Schedule {
                name: registration.kind.into(),
                cron: cron.into(),
                kind: registration.kind.into(),
                payload: serde_json::json!({}),
                next_run_at: next_cron(cron, now)?,
            };
            jobs.upsert_schedule(&schedule).await?;
        }
        Ok(())
    }
}

/// How long a leased job stays invisible to other workers.
const LEASE_MS: i64 = 5 * 60 * 1000;
/// Jobs leased per round.
const BATCH: i64 = 16;
/// A handler taking longer fails its attempt (and is retried).
const HANDLER_TIMEOUT: Duration = Duration::from_secs(120);

/// A job worker.
pub struct Worker {
    jobs: Arc<dyn JobStore>,
    clock: SharedClock,
    registry: Arc<JobRegistry>,
    id: String,
}

impl Worker {
    /// A worker running the registry's handlers on the queue of `jobs`.
    pub fn new(jobs: Arc<dyn JobStore>, clock: SharedClock, registry: Arc<JobRegistry>) -> Self {
        let id = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        Self { jobs, clock, registry, id }
    }

    /// Adds or replaces the handler of `kind` for this worker only (tests, tools).
    pub fn handle(&mut self, kind: &'static str, handler: Arc<dyn JobHandler>) {
        Arc::make_mut(&mut self.registry).handlers.insert(kind, Registration::handler(kind, handler));
    }

    /// This worker's id (recorded on the jobs it leases).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Fires due schedules, then leases and runs one batch; returns how many jobs ran.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let now = self.clock.now_ms();
        for schedule in self.jobs.due_schedules(now).await? {
            let next = next_cron(&schedule.cron, now)?;
            let job = NewJob::new(None, &schedule.kind, schedule.payload.clone(), now).dedupe(format!("schedule:{}:{}", schedule.name, schedule.next_run_at));
            self.jobs.fire_schedule(&schedule, next, &job).await?;
        }
        let jobs = self.jobs.lease(&self.id, now, LEASE_MS, BATCH).await?;
        let count = jobs.len();
        let runs = jobs.into_iter().map(|job| self.run_job(job));
        futures::future::join_all(runs).await;
        Ok(count)
    }

    /// Runs rounds until no job is due (tests; the clock does not move meanwhile).
    pub async fn run_until_idle(&self) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let ran = self.run_once().await?;
            total += ran;
            if ran == 0 {
                return Ok(total);
            }
        }
    }

    async fn run_job(&self, job: Job) {
        let started = std::time::Instant::now();
        let outcome = match self.registry.handler(&job.kind) {
            None => Err(JobFailure::Permanent(format!("no handler for jobs of kind `{}`", job.kind))),
            Some(handler) => match tokio::time::timeout(HANDLER_TIMEOUT, handler.run(&job)).await {
                Ok(result) => result,
                Err(_) => Err(JobFailure::Retry(format!("timed out after {}s", HANDLER_TIMEOUT.as_secs()))),
            },
        };
        let now = self.clock.now_ms();
        let tenant = job.tenant_id.map(|t| t.to_string()).unwrap_or_default();
        let result = match outcome {
            Ok(()) => {
                metrics::counter!("jobs_total", "kind" => job.kind.clone(), "outcome" => "done").increment(1);
                self.jobs.complete(job.id, &self.id, now).await
            }
            Err(failure) => {
                let (message, retry_at) = match failure {
                    JobFailure::Retry(m) if job.attempts < job.max_attempts => (m, Some(now + backoff_ms(job.attempts))),
                    JobFailure::Retry(m) | JobFailure::Permanent(m) => (m, None),
                };
                let outcome = if retry_at.is_some() { "retry" } else { "dead" };
                tracing::warn!(tenant.id = %tenant, job.id = %job.id, job.kind = %job.kind, attempt = job.attempts,
                    outcome, error = %message, "job failed");
                metrics::counter!("jobs_total", "kind" => job.kind.clone(), "outcome" => outcome).increment(1);
                self.jobs.fail(job.id, &self.id, &message, now, retry_at).await
            }
        };
        metrics::histogram!("job_duration_seconds", "kind" => job.kind.clone()).record(started.elapsed().as_secs_f64());
        if let Err(err) = result {
            tracing::error!(job.id = %job.id, error = %err, "failed to record a job's outcome; its lease will expire and it will run again");
        }
    }

    /// Runs until `shutdown` completes: a round every `interval`, immediately again while
    /// rounds are full.
    pub async fn run(self, interval: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let ran = match self.run_once().await {
                Ok(n) => n,
                Err(err) => {
                    tracing::warn!(error = format!("{err:#}"), "job worker round failed; retrying");
                    0
                }
            };
            if ran as i64 >= BATCH {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "worker".into())
}
