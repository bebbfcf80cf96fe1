//! Backups and restores of the platform's database, which holds everything a restored instance
//! needs: tenants, users, records, uploaded files, plugin components and marketplace packages are
//! all rows (the plugin cache directory only holds compiled code, rebuilt on demand; mails
//! written to `mail.dir` are a copy of what was sent). The configuration — `DATABASE_URL`, the
//! secrets' keys — is not in a backup: keep it apart.
//!
//! - **SQLite**: `VACUUM INTO` on the live database (one read transaction: a consistent snapshot
//!   while the server keeps writing, in WAL mode without making writers wait).
//! - **PostgreSQL**: `pg_dump` in its custom format (one repeatable-read snapshot of every table,
//!   the schema as it stands) and `pg_restore` in a single transaction.
//!
//! An archive is one `socle-backup-<UTC time>.tar.gz` ([`archive`]): a manifest (time, Socle
//! version, schema version, SHA-256 of each part) and the database copy. A restore checks the
//! checksums, refuses an archive of a newer schema than the binary knows and a database that is
//! not empty (unless forced), then migrates the restored database to the binary's schema.
//!
//! The job worker takes scheduled backups (`backup.every`, checked every five minutes) and keeps
//! the newest `backup.keep`; every run — scheduled or `socle backup` — is journaled in
//! `backup_runs` ([`runs`]), which the operator console shows.

pub mod archive;
mod postgres;
pub mod runs;
mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use secrecy::ExposeSecret as _;
use serde::Serialize;
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::config::Settings;
use crate::db::{Backend, Db, DbOptions};
use crate::jobs::{Job, JobFailure, JobHandler, Registration};

pub use archive::Manifest;
pub use runs::{BackupRun, BackupRuns, Claim, Trigger};

/// The job that checks whether a scheduled backup is due.
pub const TICK_JOB: &str = "backup.tick";
/// Every five minutes.
pub const TICK_CRON: &str = "*/5 * * * *";
/// The migration that created the journal of runs: an older database is backed up unjournaled.
const JOURNAL_SINCE: i64 = 20261204150000;

/// A backup written.
#[derive(Debug, Clone)]
pub struct Written {
    /// The archive.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// What it holds.
    pub manifest: Manifest,
    /// Older archives retention deleted.
    pub removed: Vec<PathBuf>,
    /// How long it took.
    pub took: Duration,
}

/// Copies the database consistently and writes the archive into `dir` (created, private to its
/// owner, if missing). `run_id` goes into the manifest.
pub async fn write_backup(db: &Db, pg_bin_dir: &str, dir: &Path, now_ms: i64, run_id: Option<Uuid>) -> anyhow::Result<(PathBuf, Manifest)> {
    let schema_version = db.schema_version().await?.context("the database has no Socle schema yet (never migrated): there is nothing to back up")?;
    create_private_dir(dir)?;
    let work = dir.join(format!(".socle-backup-{}.work", Uuid::new_v4().simple()));
    std::fs::create_dir(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let written = async {
        let (part, tool) = match db {
            Db::Sqlite(pool) => (sqlite::PART, sqlite::snapshot(pool, &work.join(sqlite::PART)).await?),
            Db::Postgres { owner_url, .. } => {
                let client = postgres::Client { url: owner_url.clone(), bin_dir: pg_bin_dir.to_owned() };
                (postgres::PART, client.dump(&work.join(postgres::PART)).await?)
            }
        };
        let part_path = work.join(part);
        let digest_path = part_path.clone();
        let (bytes, sha256) = tokio::task::spawn_blocking(move || archive::digest(&digest_path)).await??;
        let manifest = Manifest {
            format: archive::FORMAT,
            created_at: archive::rfc3339(now_ms),
            created_at_ms: now_ms,
            socle_version: env!("CARGO_PKG_VERSION").to_owned(),
            backend: db.backend().as_str().to_owned(),
            schema_version,
            tool,
            run_id,
            parts: vec![archive::Part { name: part.to_owned(), bytes, sha256 }],
        };
        let (dir, written) = (dir.to_path_buf(), manifest.clone());
        let path = tokio::task::spawn_blocking(move || archive::write(&dir, &archive::file_name(now_ms), &written, &[(part.to_owned(), part_path)])).await??;
        anyhow::Ok((path, manifest))
    }
    .await;
    let _ = std::fs::remove_dir_all(&work);
    written
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("cannot create the backup directory {}", dir.display()))
}

/// Deletes the oldest archives of `dir` beyond the newest `keep` (only files named like an
/// archive; anything else there is left alone). Returns what it deleted.
pub fn retain(dir: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file()
            && let Some(name) = entry.file_name().to_str()
            && archive::is_archive_name(name)
        {
            names.push(name.to_owned());
        }
    }
    // Names carry their UTC time in a fixed width: sorted by name is sorted by age.
    names.sort();
    let excess = names.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for name in &names[..excess] {
        let path = dir.join(name);
        std::fs::remove_file(&path)?;
        removed.push(path);
    }
    Ok(removed)
}

/// Backups of this platform: the scheduled ones, `socle backup`, and their journal.
pub struct Backups {
    db: Db,
    settings: Arc<Settings>,
    clock: SharedClock,
    runs: BackupRuns,
    node: String,
}

/// What the operator console shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Whether the job worker takes backups.
    pub scheduled: bool,
    /// `backup.every`.
    pub every: String,
    /// `backup.keep`.
    pub keep: usize,
    /// `backup.dir`.
    pub dir: String,
    /// The latest successful run.
    pub last_success: Option<BackupRun>,
    /// Whether the last success is older than the schedule allows (or there is none while
    /// runs have failed).
    pub overdue: bool,
    /// The latest runs, newest first.
    pub runs: Vec<RunView>,
}

/// A run as the console shows it: the row and its archive's size as text.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// The run.
    #[serde(flatten)]
    pub run: BackupRun,
    /// `12.4 MB`, once an archive was written.
    pub size: Option<String>,
}

/// A size for people: `812 B`, `12.4 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

impl Backups {
    /// Backups of `db` as `settings.backup` says.
    pub fn new(db: Db, settings: Arc<Settings>, clock: SharedClock) -> Self {
        let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "node".into());
        Self { runs: BackupRuns::new(db.clone()), db, settings, clock, node: format!("{host}:{}", std::process::id()) }
    }

    /// The journal of runs.
    pub fn runs(&self) -> &BackupRuns {
        &self.runs
    }

    /// The time between scheduled backups, `None` when they are off.
    pub fn interval(&self) -> Option<Duration> {
        self.settings.backup.interval().ok().flatten()
    }

    fn every_ms(&self) -> Option<i64> {
        self.interval().map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    /// Takes a backup into `backup.dir` if one is due (and none is running on any node),
    /// keeping the newest `backup.keep`; `None` when off, not due or busy. Logged and journaled
    /// either way.
    pub async fn run_scheduled(&self) -> anyhow::Result<Option<Written>> {
        let Some(every_ms) = self.every_ms() else { return Ok(None) };
        match self.runs.claim(Trigger::Schedule, &self.node, self.clock.now_ms(), Some(every_ms)).await? {
            Claim::Claimed(id) => {
                let dir = PathBuf::from(&self.settings.backup.dir);
                self.run(Some(id), &dir, Some(self.settings.backup.keep)).await.map(Some)
            }
            Claim::Busy(_) | Claim::NotDue => Ok(None),
        }
    }

    /// `socle backup`: a backup now into `dir`, keeping the newest `keep` there if given.
    /// Refused while another backup runs.
    pub async fn run_now(&self, dir: &Path, keep: Option<usize>) -> anyhow::Result<Written> {
        if self.db.schema_version().await?.is_none_or(|v| v < JOURNAL_SINCE) {
            // A database not yet migrated to the journal (a backup before an upgrade).
            return self.run(None, dir, keep).await;
        }
        match self.runs.claim(Trigger::Command, &self.node, self.clock.now_ms(), None).await? {
            Claim::Claimed(id) => self.run(Some(id), dir, keep).await,
            Claim::Busy(other) => bail!(
                "another backup is in progress (started {} by {}, {}): wait for it to finish",
                archive::rfc3339(other.started_at),
                other.node,
                other.origin
            ),
            Claim::NotDue => bail!("no backup was started"),
        }
    }

    /// Takes a backup, journaled as run `id` (with a heartbeat while it lasts) when given.
    async fn run(&self, id: Option<Uuid>, dir: &Path, keep: Option<usize>) -> anyhow::Result<Written> {
        let started = std::time::Instant::now();
        let heartbeat = id.map(|id| {
            let (runs, clock) = (self.runs.clone(), self.clock.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(runs::HEARTBEAT_MS.unsigned_abs())).await;
                    if let Err(err) = runs.heartbeat(id, clock.now_ms()).await {
                        tracing::warn!(error = %err, "cannot record a running backup's heartbeat");
                    }
                }
            })
        });
        let written = write_backup(&self.db, &self.settings.backup.pg_bin_dir, dir, self.clock.now_ms(), id).await;
        if let Some(heartbeat) = heartbeat {
            heartbeat.abort();
        }
        let now = self.clock.now_ms();
        match written {
            Ok((path, manifest)) => {
                let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or_default();
                let (removed, warning) = match keep.map(|keep| retain(dir, keep)) {
                    None => (Vec::new(), None),
                    Some(Ok(removed)) => (removed, None),
                    Some(Err(err)) => (Vec::new(), Some(format!("the backup was written, but older archives could not be deleted: {err}"))),
                };
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
                if let Some(id) = id
                    && let Err(err) = self.runs.finish(id, now, Ok((&name, i64::try_from(bytes).unwrap_or(i64::MAX), warning.as_deref()))).await
                {
                    tracing::warn!(error = %err, "cannot record the end of a backup run");
                }
                let written = Written { path, bytes, manifest, removed, took: started.elapsed() };
                tracing::info!(archive = %written.path.display(), bytes, schema = written.manifest.schema_version, took_ms = written.took.as_millis() as u64,
                    removed = written.removed.len(), "backup written");
                if let Some(warning) = &warning {
                    tracing::error!(dir = %dir.display(), error = %warning, "backup retention failed");
                }
                metrics::counter!("backups_total", "outcome" => "done").increment(1);
                metrics::gauge!("backup_last_success_timestamp_seconds").set(now as f64 / 1000.0);
                metrics::gauge!("backup_last_size_bytes").set(bytes as f64);
                Ok(written)
            }
            Err(err) => {
                let message = format!("{err:#}");
                if let Some(id) = id
                    && let Err(record) = self.runs.finish(id, now, Err(&message)).await
                {
                    tracing::warn!(error = %record, "cannot record the failure of a backup run");
                }
                tracing::error!(dir = %dir.display(), error = %message, "backup failed");
                metrics::counter!("backups_total", "outcome" => "failed").increment(1);
                Err(err)
            }
        }
    }

    /// The schedule, the latest runs and whether backups are late.
    pub async fn status(&self) -> anyhow::Result<Status> {
        let runs = self.runs.recent(10).await?;
        let last_success = self.runs.last_success().await?;
        let now = self.clock.now_ms();
        let overdue = match (self.every_ms(), &last_success) {
            (None, _) => false,
            (Some(every), Some(success)) => now - success.started_at > every + runs::RETRY_MS,
            (Some(_), None) => runs.iter().any(|r: &BackupRun| r.status == "failed"),
        };
        let backup = &self.settings.backup;
        let runs = runs.into_iter().map(|run| RunView { size: run.bytes.map(|b| human_size(b.unsigned_abs())), run }).collect();
        Ok(Status {
            scheduled: self.interval().is_some(),
            every: backup.every.clone(),
            keep: backup.keep,
            dir: backup.dir.clone(),
            last_success,
            overdue,
            runs,
        })
    }
}

struct Tick(Arc<Backups>);

#[async_trait]
impl JobHandler for Tick {
    async fn run(&self, _job: &Job) -> Result<(), JobFailure> {
        if self.0.interval().is_none() {
            return Ok(());
        }
        // A backup can outlast a job's time limit: it runs on a task of its own, journaled in
        // backup_runs (and marked interrupted by the next claim if this process dies).
        let backups = self.0.clone();
        tokio::spawn(async move {
            if let Err(err) = backups.run_scheduled().await {
                tracing::warn!(error = format!("{err:#}"), "scheduled backup did not run");
            }
        });
        Ok(())
    }
}

/// The backup module's jobs: the tick that takes scheduled backups.
pub fn jobs(backups: &Arc<Backups>) -> Vec<Registration> {
    vec![Registration::scheduled(TICK_JOB, TICK_CRON, Arc::new(Tick(backups.clone())))]
}

/// A restore checked and ready to run ([`plan_restore`], then [`RestorePlan::apply`]).
#[derive(Debug)]
pub struct RestorePlan {
    /// The archive.
    pub archive: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The database it goes into, without its password.
    pub target: String,
    /// Tables already in the target (only with `force`).
    pub tables: i64,
    backend: Backend,
}

/// A restore done.
#[derive(Debug)]
pub struct Restored {
    /// The schema version after migrating the restored database.
    pub schema_version: Option<i64>,
    /// Where the database that was there went (SQLite, forced).
    pub moved_aside: Option<PathBuf>,
}

/// Checks that `archive` can be restored into the database of `settings`: its format and
/// manifest, its engine, a schema no newer than this binary's, and an empty target (unless
/// `force`). Changes nothing.
pub async fn plan_restore(settings: &Settings, archive: &Path, force: bool) -> anyhow::Result<RestorePlan> {
    let path = archive.to_path_buf();
    let manifest = tokio::task::spawn_blocking(move || archive::read_manifest(&path)).await??;
    let url = settings.database.url.expose_secret();
    let backend = if url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
    anyhow::ensure!(
        manifest.backend == backend.as_str(),
        "{} is a {} backup but DATABASE_URL names a {} database: restore it into a {} database",
        archive.display(),
        manifest.backend,
        backend.as_str(),
        manifest.backend
    );
    let known = Db::latest_migration(backend);
    anyhow::ensure!(
        manifest.schema_version <= known,
        "{} holds schema {} (written by socle {}), newer than this socle knows ({known}): restore it with socle {} or newer",
        archive.display(),
        manifest.schema_version,
        manifest.socle_version,
        manifest.socle_version
    );
    let (target, tables) = match backend {
        Backend::Sqlite => {
            let file = sqlite::database_file(url)?;
            (file.display().to_string(), sqlite::table_count(&file).await?)
        }
        Backend::Postgres => (redacted(url), pg_client(settings).table_count().await?),
    };
    if tables > 0 && !force {
        let replaced = match backend {
            Backend::Sqlite => "the current file is moved aside, not deleted",
            Backend::Postgres => "its public schema is dropped first",
        };
        bail!(
            "the database {target} is not empty ({tables} tables): a restore only fills an empty database. Point DATABASE_URL at an empty one, or pass --force to replace this one's contents ({replaced})"
        );
    }
    Ok(RestorePlan { archive: archive.to_path_buf(), manifest, target, tables, backend })
}

fn pg_client(settings: &Settings) -> postgres::Client {
    postgres::Client { url: settings.database.url.clone(), bin_dir: settings.backup.pg_bin_dir.clone() }
}

/// A database URL without its password.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "the database of DATABASE_URL".into(),
    }
}

impl RestorePlan {
    /// Restores: extracts the parts (checking each checksum), puts the database in place, then
    /// migrates it to this binary's schema (and, on PostgreSQL, grants the application role its
    /// rights). Stop every node first: nothing may use the database meanwhile.
    pub async fn apply(self, settings: &Settings) -> anyhow::Result<Restored> {
        let url = settings.database.url.expose_secret();
        let stamp = archive::file_name(crate::clock::Clock::now_ms(&crate::clock::SystemClock));
        let stamp = stamp.trim_start_matches(archive::PREFIX).trim_end_matches(archive::SUFFIX).to_owned();
        let mut moved_aside = None;
        match self.backend {
            Backend::Sqlite => {
                let target = sqlite::database_file(url)?;
                // Extracted beside the target, so putting it in place is a rename.
                let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let work = dir.join(format!(".socle-restore-{}", Uuid::new_v4().simple()));
                std::fs::create_dir(&work).with_context(|| format!("cannot create {}", work.display()))?;
                let restored = async {
                    let copy = self.extract(&work, sqlite::PART).await?;
                    sqlite::put_in_place(&copy, &target, (self.tables > 0).then_some(stamp.as_str())).await
                }
                .await;
                let _ = std::fs::remove_dir_all(&work);
                moved_aside = restored?;
            }
            Backend::Postgres => {
                let work = std::env::temp_dir().join(format!("socle-restore-{}", Uuid::new_v4().simple()));
                create_private_dir(&work)?;
                let restored = async {
                    let dump = self.extract(&work, postgres::PART).await?;
                    let client = pg_client(settings);
                    if self.tables > 0 {
                        client.clear().await?;
                    }
                    client.restore(&dump).await
                }
                .await;
                let _ = std::fs::remove_dir_all(&work);
                restored?;
            }
        }
        let db = Db::connect(&DbOptions {
            url: settings.database.url.clone(),
            max_connections: 2,
            acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_secs),
            app_role: settings.database.app_role.clone(),
        })
        .await?;
        let done = async {
            db.migrate().await.context("the database was restored, but migrating it to this socle's schema failed")?;
            let name = self.archive.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            BackupRuns::new(db.clone()).restored(self.manifest.run_id, name, self.manifest.created_at_ms).await?;
            anyhow::Ok(db.schema_version().await?)
        }
        .await;
        db.close().await;
        Ok(Restored { schema_version: done?, moved_aside })
    }

    async fn extract(&self, into: &Path, part: &'static str) -> anyhow::Result<PathBuf> {
        let (archive, into) = (self.archive.clone(), into.to_path_buf());
        let (manifest, parts) = tokio::task::spawn_blocking(move || archive::extract(&archive, &into)).await??;
        anyhow::ensure!(manifest == self.manifest, "{} changed while it was being restored", self.archive.display());
        parts.into_iter().find(|(p, _)| p.name == part).map(|(_, path)| path).with_context(|| format!("{} holds no {part}", self.archive.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str) {
        std::fs::write(dir.join(name), name).unwrap();
    }

    #[test]
    fn retention_deletes_the_oldest_archives_only() {
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = [3, 1, 5, 2, 4].iter().map(|day| archive::file_name(1_796_000_000_000 + day * 86_400_000)).collect();
        for name in &names {
            touch(dir.path(), name);
        }
        // Not archives: left alone whatever their names sort as.
        for other in ["notes.txt", "socle-backup-old.tar.gz", ".socle-backup-19700101T000000.000Z.tar.gz.partial"] {
            touch(dir.path(), other);
        }
        let removed = retain(dir.path(), 3).unwrap();
        let removed: Vec<String> = removed.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect();
        assert_eq!(removed, vec![archive::file_name(1_796_000_000_000 + 86_400_000), archive::file_name(1_796_000_000_000 + 2 * 86_400_000)]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left.len(), 6, "{left:?}");
        for day in [3, 4, 5] {
            assert!(left.contains(&archive::file_name(1_796_000_000_000 + day * 86_400_000)), "{left:?}");
        }
        // Nothing more to delete; keeping zero still keeps the newest.
        assert!(retain(dir.path(), 3).unwrap().is_empty());
        assert_eq!(retain(dir.path(), 0).unwrap().len(), 2);
    }

    #[test]
    fn the_schedule_reads_durations() {
        let mut settings = crate::config::BackupSettings::default();
        for (every, secs) in [("24h", Some(86_400)), ("30m", Some(1800)), ("7d", Some(604_800)), ("off", None), ("0", None), ("", None)] {
            settings.every = every.into();
            assert_eq!(settings.interval().unwrap().map(|d| d.as_secs()), secs, "{every}");
        }
        for wrong in ["24", "h", "1w", "-1h", "0h", "1.5h"] {
            settings.every = wrong.into();
            assert!(settings.interval().is_err(), "{wrong}");
        }
    }

    #[test]
    fn sizes_read_like_a_file_manager() {
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(12 * 1024 * 1024 + 400 * 1024), "12.4 MB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GB");
    }

    #[test]
    fn urls_are_shown_without_passwords() {
        assert_eq!(redacted("postgres://socle:hunter2@db.internal:5432/socle?sslmode=require"), "postgres://socle@db.internal:5432/socle");
    }
}
