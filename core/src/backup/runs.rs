//! The journal of backup runs (`backup_runs`): what the operator console shows, and the claim
//! that makes nodes sharing a database take one backup at a time. A run in progress beats a
//! heartbeat; one whose heartbeat stopped (its process died) is marked failed by the next claim.

use serde::Serialize;
use uuid::Uuid;

use crate::db::{Db, Row, Scope, from_row, is_unique_violation};
use crate::error::StoreError;

/// How often a running backup beats.
pub const HEARTBEAT_MS: i64 = 20_000;
/// A run silent for this long died with its process.
pub const STALE_MS: i64 = 3 * 60_000;
/// After a failure, the schedule tries again this soon (or after `backup.every` if shorter).
pub const RETRY_MS: i64 = 3_600_000;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The job worker's schedule.
    Schedule,
    /// `socle backup`.
    Command,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Command => "command",
        }
    }
}

/// One run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupRun {
    /// Id (also in the archive's manifest).
    pub id: Uuid,
    /// What started it: `schedule` or `command`.
    pub origin: String,
    /// `running`, `done` or `failed`.
    pub status: String,
    /// The node (host and process) that took it.
    pub node: String,
    /// Unix ms.
    pub started_at: i64,
    /// Unix ms of its last sign of life.
    pub heartbeat_at: i64,
    /// Unix ms.
    pub finished_at: Option<i64>,
    /// The archive's file name, once written.
    pub archive: Option<String>,
    /// The archive's size.
    pub bytes: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

fn run(row: &Row) -> Result<BackupRun, StoreError> {
    Ok(from_row!(row => BackupRun { id, origin, status, node, started_at, heartbeat_at, finished_at, archive, bytes, error }))
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This run may go ahead.
    Claimed(Uuid),
    /// Another run is in progress.
    Busy(BackupRun),
    /// The last backup is recent enough (scheduled runs only).
    NotDue,
}

/// Whether a scheduled backup is due at `now`, given the latest run (its status and start):
/// none yet, the last success older than `every`, or the last failure older than the retry
/// delay.
pub fn due(latest: Option<(&str, i64)>, now: i64, every_ms: i64) -> bool {
    match latest {
        None => true,
        Some(("failed", started_at)) => now - started_at >= every_ms.min(RETRY_MS),
        Some((_, started_at)) => now - started_at >= every_ms,
    }
}

/// The journal, over the platform's database.
#[derive(Clone)]
pub struct BackupRuns {
    db: Db,
}

impl BackupRuns {
    /// The journal in `db`.
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Starts a run unless another is in progress (or, for the schedule with `every_ms`, unless
    /// the latest is recent enough). Runs whose heartbeat stopped are marked failed first.
    pub async fn claim(&self, trigger: Trigger, node: &str, now: i64, every_ms: Option<i64>) -> Result<Claim, StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        tx.query(
            "UPDATE backup_runs SET status = 'failed', running = NULL, finished_at = $1,
                    error = 'interrupted: its process stopped before the backup was written'
             WHERE status = 'running' AND heartbeat_at < $2",
        )
        .bind((now, now - STALE_MS))
        .execute(&mut tx)
        .await?;
        if let Some(row) = tx.query("SELECT * FROM backup_runs WHERE status = 'running' LIMIT 1").fetch_optional(&mut tx).await? {
            let busy = run(&row)?;
            tx.commit().await?;
            return Ok(Claim::Busy(busy));
        }
        if let Some(every_ms) = every_ms {
            let latest = tx.query("SELECT * FROM backup_runs ORDER BY started_at DESC LIMIT 1").fetch_optional(&mut tx).await?.map(|r| run(&r)).transpose()?;
            if !due(latest.as_ref().map(|r| (r.status.as_str(), r.started_at)), now, every_ms) {
                tx.commit().await?;
                return Ok(Claim::NotDue);
            }
        }
        let id = Uuid::now_v7();
        let inserted = tx
            .query(
                "INSERT INTO backup_runs (id, origin, status, running, node, started_at, heartbeat_at)
                 VALUES ($1, $2, 'running', 1, $3, $4, $4)",
            )
            .bind((id, trigger.as_str(), node, now))
            .execute(&mut tx)
            .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                Ok(Claim::Claimed(id))
            }
            // Another node claimed at the same moment (PostgreSQL; SQLite serialises writers).
            Err(err) if is_unique_violation(&err) => {
                drop(tx);
                match self.running().await? {
                    Some(other) => Ok(Claim::Busy(other)),
                    None => Ok(Claim::NotDue),
                }
            }
            Err(err) => Err(err.into()),
        }
    }

    /// The run in progress, if any.
    pub async fn running(&self) -> Result<Option<BackupRun>, StoreError> {
        self.db.reading(Scope::Platform, "SELECT * FROM backup_runs WHERE status = 'running' LIMIT 1").optional().await?.map(|r| run(&r)).transpose()
    }

    /// A sign of life from a run in progress.
    pub async fn heartbeat(&self, id: Uuid, now: i64) -> Result<(), StoreError> {
        self.db.writing(Scope::Platform, "UPDATE backup_runs SET heartbeat_at = $2 WHERE id = $1 AND status = 'running'").bind((id, now)).execute().await?;
        Ok(())
    }

    /// Records a run's end: the archive written and its size (with a warning, such as a
    /// retention that failed), or why it failed.
    pub async fn finish(&self, id: Uuid, now: i64, outcome: Result<(&str, i64, Option<&str>), &str>) -> Result<(), StoreError> {
        let (status, archive, bytes, error) = match outcome {
            Ok((archive, bytes, warning)) => ("done", Some(archive), Some(bytes), warning),
            Err(error) => ("failed", None, None, Some(error)),
        };
        self.db
            .writing(
                Scope::Platform,
                "UPDATE backup_runs SET status = $2, running = NULL, finished_at = $3, heartbeat_at = $3, archive = $4, bytes = $5, error = $6 WHERE id = $1",
            )
            .bind((id, status, now, archive, bytes, error))
            .execute()
            .await?;
        Ok(())
    }

    /// The latest runs, newest first.
    pub async fn recent(&self, limit: i64) -> Result<Vec<BackupRun>, StoreError> {
        self.db.reading(Scope::Platform, "SELECT * FROM backup_runs ORDER BY started_at DESC LIMIT $1").bind(limit).all_as(run).await
    }

    /// The latest successful run.
    pub async fn last_success(&self) -> Result<Option<BackupRun>, StoreError> {
        self.db
            .reading(Scope::Platform, "SELECT * FROM backup_runs WHERE status = 'done' ORDER BY started_at DESC LIMIT 1")
            .optional()
            .await?
            .map(|r| run(&r))
            .transpose()
    }

    /// After a restore: the run that wrote the archive, still running in its own snapshot, is
    /// recorded as the success it was; any other run caught in progress as interrupted.
    pub async fn restored(&self, run_id: Option<Uuid>, archive: &str, created_at_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.db.write(Scope::Platform).await?;
        if let Some(id) = run_id {
            tx.query("UPDATE backup_runs SET status = 'done', running = NULL, finished_at = $2, archive = $3 WHERE id = $1 AND status = 'running'")
                .bind((id, created_at_ms, archive))
                .execute(&mut tx)
                .await?;
        }
        tx.query(
            "UPDATE backup_runs SET status = 'failed', running = NULL, finished_at = $1,
                    error = 'interrupted: in progress when the restored backup was taken'
             WHERE status = 'running'",
        )
        .bind(created_at_ms)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_due_after_its_interval_and_a_failure_is_retried_sooner() {
        let day = 24 * 3_600_000;
        assert!(due(None, 0, day));
        assert!(!due(Some(("done", 0)), day - 1, day));
        assert!(due(Some(("done", 0)), day, day));
        // A failure is retried after an hour, not a day later…
        assert!(!due(Some(("failed", 0)), RETRY_MS - 1, day));
        assert!(due(Some(("failed", 0)), RETRY_MS, day));
        // …or after the interval when that is shorter.
        assert!(due(Some(("failed", 0)), 600_000, 600_000));
        // A run still in progress is the latest: not due until its interval has passed.
        assert!(!due(Some(("running", 0)), 1000, day));
    }
}
