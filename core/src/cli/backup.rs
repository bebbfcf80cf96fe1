//! `socle backup` and `socle restore`: run next to a serving platform (backup) or before
//! starting one (restore), on the database of `DATABASE_URL`, without building the platform.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use clap::Args;

use crate::backup::{self, Backups};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::db::{Db, DbOptions};

/// `socle backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Directory to write the archive to (default: backup.dir, where backup.keep archives are
    /// kept; a directory given here keeps everything).
    #[arg(long)]
    pub to: Option<PathBuf>,
}

/// `socle restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The archive written by `socle backup` (socle-backup-<time>.tar.gz).
    pub archive: PathBuf,
    /// Restore without asking for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Replace the contents of a database that is not empty (SQLite: its file is moved aside;
    /// PostgreSQL: its public schema is dropped first). Stop every node before.
    #[arg(long)]
    pub force: bool,
}

/// `socle backup [--to <dir>]`: a consistent copy of the live database, as one archive.
pub async fn backup(settings: Settings, args: BackupArgs) -> anyhow::Result<()> {
    let settings = Arc::new(settings);
    let db = Db::connect(&DbOptions {
        url: settings.database.url.clone(),
        max_connections: 2,
        acquire_timeout: Duration::from_secs(settings.database.acquire_timeout_secs.max(10)),
        app_role: settings.database.app_role.clone(),
    })
    .await?;
    let (dir, keep) = match args.to {
        Some(dir) => (dir, None),
        None => (PathBuf::from(&settings.backup.dir), Some(settings.backup.keep)),
    };
    let backups = Backups::new(db.clone(), settings, Arc::new(SystemClock));
    let written = backups.run_now(&dir, keep).await;
    db.close().await;
    let written = written?;
    println!(
        "backup written: {} ({}, {} database, schema {}, {:.1} s)",
        written.path.display(),
        backup::human_size(written.bytes),
        written.manifest.backend,
        written.manifest.schema_version,
        written.took.as_secs_f64()
    );
    for removed in &written.removed {
        println!("removed an older backup: {}", removed.display());
    }
    Ok(())
}

/// `socle restore <archive> [--yes] [--force]`.
pub async fn restore(settings: Settings, args: RestoreArgs) -> anyhow::Result<()> {
    let plan = backup::plan_restore(&settings, &args.archive, args.force).await?;
    let manifest = &plan.manifest;
    eprintln!(
        "archive: {} — taken {} by socle {} ({} database, schema {}, {})",
        plan.archive.display(),
        manifest.created_at,
        manifest.socle_version,
        manifest.backend,
        manifest.schema_version,
        manifest.parts.iter().map(|p| backup::human_size(p.bytes)).collect::<Vec<_>>().join(" + ")
    );
    eprintln!("into: {}", plan.target);
    if plan.tables > 0 {
        eprintln!("its {} tables will be replaced; stop every socle serve and socle worker on it first", plan.tables);
    }
    if !args.yes {
        eprint!("Restore? Type yes to continue: ");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if line.trim() != "yes" {
            bail!("not confirmed; nothing was restored");
        }
    }
    let target = plan.target.clone();
    let restored = plan.apply(&settings).await?;
    println!(
        "restored {} into {target} (schema {} after migrations); start socle serve on it",
        args.archive.display(),
        restored.schema_version.map_or_else(|| "unknown".into(), |v| v.to_string())
    );
    if let Some(aside) = restored.moved_aside {
        println!("the database that was there is kept as {}", aside.display());
    }
    Ok(())
}
