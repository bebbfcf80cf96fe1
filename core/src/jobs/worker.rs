//! The worker: leases due jobs, runs their handlers, records the outcome, and fires due
//! schedules. Tests drive it step by step ([`Worker::run_once`]) with a moved clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{Job, NewJob, backoff_ms, next_cron};
use crate::app::App;

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

/// Runs jobs of one kind.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Does the work. Handlers must be idempotent: a job runs at least once.
    async fn run(&self, app: &App, job: &Job) -> Result<(), JobFailure>;
}

/// How long a leased job stays invisible to other workers.
const LEASE_MS: i64 = 5 * 60 * 1000;
/// Jobs leased per round.
const BATCH: i64 = 16;
/// A handler taking longer fails its attempt (and is retried).
const HANDLER_TIMEOUT: Duration = Duration::from_secs(120);

/// A job worker.
pub struct Worker {
    app: Arc<App>,
    id: String,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
}

impl Worker {
    /// A worker with the core's handlers.
    pub fn new(app: Arc<App>) -> Self {
        let id = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        let mut worker = Self { app, id, handlers: HashMap::new() };
        for (kind, handler) in crate::jobs_registry::core_handlers() {
            worker.handlers.insert(kind.to_owned(), handler);
        }
        worker
    }

    /// Adds or replaces the handler of `kind`.
    pub fn handle(&mut self, kind: &str, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(kind.to_owned(), handler);
    }

    /// This worker's id (recorded on the jobs it leases).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Fires due schedules, then leases and runs one batch; returns how many jobs ran.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let now = self.app.now_ms();
        for schedule in self.app.jobs.due_schedules(now).await? {
            let next = next_cron(&schedule.cron, now)?;
            let job = NewJob::new(None, &schedule.kind, schedule.payload.clone(), now).dedupe(format!("schedule:{}:{}", schedule.name, schedule.next_run_at));
            self.app.jobs.fire_schedule(&schedule, next, &job).await?;
        }
        let jobs = self.app.jobs.lease(&self.id, now, LEASE_MS, BATCH).await?;
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
        let outcome = match self.handlers.get(&job.kind) {
            None => Err(JobFailure::Permanent(format!("no handler for jobs of kind `{}`", job.kind))),
            Some(handler) => match tokio::time::timeout(HANDLER_TIMEOUT, handler.run(&self.app, &job)).await {
                Ok(result) => result,
                Err(_) => Err(JobFailure::Retry(format!("timed out after {}s", HANDLER_TIMEOUT.as_secs()))),
            },
        };
        let now = self.app.now_ms();
        let tenant = job.tenant_id.map(|t| t.to_string()).unwrap_or_default();
        let result = match outcome {
            Ok(()) => {
                metrics::counter!("jobs_total", "kind" => job.kind.clone(), "outcome" => "done").increment(1);
                self.app.jobs.complete(job.id, &self.id, now).await
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
                self.app.jobs.fail(job.id, &self.id, &message, now, retry_at).await
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
