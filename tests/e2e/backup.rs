//! Backups end to end, on the suite's backend: `socle backup` taken by another process while
//! records are being written restores with `socle restore` into a fresh database where every
//! write acknowledged before the backup started is present and whole (its history and search
//! document match its version), and a server on the restored database answers the same reads;
//! what a restore refuses (a database with data, a newer schema, an altered or foreign archive);
//! scheduled backups with retention, one at a time, and their failures on the operator console.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use socle_core::backup::{Claim, Trigger};
use socle_core::db::{Row, Scope};
use socle_core::identity::secrets;
use socle_core::records::Caller;
use socle_tenants::Actor;
use socle_tests::{PASSWORD, TestApp, TestBackend, TestDb};
use uuid::Uuid;

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("socle-backup-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `socle` binary `cargo build --workspace` put beside this test executable.
fn socle_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let binary = exe.parent().and_then(Path::parent).map(|dir| dir.join("socle")).filter(|path| path.exists());
    binary.unwrap_or_else(|| panic!("no socle binary beside {}: run `cargo build --workspace` first", exe.display()))
}

/// Runs `socle <args>` on the database at `url`, as an operator would next to the server.
async fn socle(url: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(socle_binary())
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("REDIS_URL")
        .env_remove("RUST_LOG")
        .env("SOCLE__LOG__LEVEL", "warn")
        .output()
        .await
        .expect("socle runs")
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Runs `socle <args>` and expects success.
async fn socle_ok(url: &str, args: &[&str]) -> String {
    let output = socle(url, args).await;
    assert!(output.status.success(), "socle {}: {}", args.join(" "), text(&output));
    text(&output)
}

/// The only archive in `dir`.
fn archive_in(dir: &Path) -> PathBuf {
    let archives: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_string_lossy().ends_with(".tar.gz")).collect();
    assert_eq!(archives.len(), 1, "{archives:?}");
    archives.into_iter().next().unwrap()
}

/// The word a record's name carries at each version, so a stale search document shows.
fn word(version: i64) -> &'static str {
    if version == 1 { "premiere" } else { "seconde" }
}

/// A write the engine acknowledged.
#[derive(Debug, Clone)]
struct Ack {
    id: Uuid,
    version: i64,
}

async fn tables_in(db: &socle_core::db::Db) -> i64 {
    let sql = match db.backend() {
        socle_core::db::Backend::Sqlite => "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
        socle_core::db::Backend::Postgres => "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
    };
    db.reading(Scope::Platform, sql).scalar::<i64>().await.unwrap().unwrap_or(0)
}

#[tokio::test]
async fn a_backup_taken_during_writes_restores_a_consistent_instance_that_serves_the_same_data() {
    let t = TestApp::spawn().await;
    let acme = t.create_tenant("acme", "Acme").await;
    t.create_user(&acme, "claire@acme.fr", "interne", &["direction"]).await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;

    // Data that does not move: accounts, a document with an uploaded file.
    let mut stable = Vec::new();
    for name in ["Boulangerie Kerjean", "Garage du Port", "Café de la Gare"] {
        let (status, account) = claire.api(Method::POST, "acme", "/records/customer_account", Some(json!({ "name": name }))).await;
        assert_eq!(status, StatusCode::CREATED, "{account}");
        stable.push(account["id"].as_str().unwrap().to_owned());
    }
    let pdf = b"%PDF-1.4 contrat de maintenance".to_vec();
    let (_, file) = claire.upload("acme", "contrat.pdf", "application/pdf", &pdf).await;
    let (status, document) =
        claire.api(Method::POST, "acme", "/records/document", Some(json!({ "title": "Contrat", "account": stable[0], "file": file }))).await;
    assert_eq!(status, StatusCode::CREATED, "{document}");
    let file_path = format!("/t/acme/api/v1/files/{}", file["id"].as_str().unwrap());

    // Writers: each creates an account then renames it (two versions), and records what the
    // engine acknowledged.
    let acks = Arc::new(std::sync::Mutex::new(Vec::<Ack>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..3 {
        let (app, acks, stop) = (t.app.clone(), acks.clone(), stop.clone());
        let caller = Caller::system(acme.id, "writer");
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                i += 1;
                let mut data = Map::new();
                data.insert("name".into(), json!(format!("Compte {writer}-{i} {}", word(1))));
                let created = app.records.create(&caller, "customer_account", data).await.unwrap();
                acks.lock().unwrap().push(Ack { id: created.id, version: created.version });
                let mut patch = Map::new();
                patch.insert("name".into(), json!(format!("Compte {writer}-{i} {}", word(2))));
                let updated = app.records.update(&caller, created.id, patch, Some(created.version)).await.unwrap();
                acks.lock().unwrap().push(Ack { id: updated.id, version: updated.version });
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The backup, from another process, while the writers keep going.
    let dir = Scratch::new();
    let before: Vec<Ack> = acks.lock().unwrap().clone();
    let output = socle_ok(t.database_url(), &["backup", "--to", dir.path().to_str().unwrap()]).await;
    assert!(output.contains("backup written"), "{output}");
    let during = acks.lock().unwrap().len() - before.len();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    assert!(before.len() >= 10, "writes happened before the backup: {}", before.len());
    assert!(during > 0, "writes went on while the backup ran");
    let archive = archive_in(dir.path());

    // Restored into a fresh, empty database.
    let target = TestDb::new(t.backend).await;
    let target_url = target.url.clone();
    let output = socle_ok(&target_url, &["restore", archive.to_str().unwrap(), "--yes"]).await;
    assert!(output.contains("restored"), "{output}");
    let restored = TestApp::spawn_on_db(target, t.backend).await;
    let engine = &restored.app.records;
    let system = Caller::system(acme.id, "check");

    // Every write acknowledged before the backup started is there (at that version or later).
    for ack in &before {
        let record = engine.get(&system, ack.id).await.unwrap_or_else(|e| panic!("record {} acknowledged before the backup is missing: {e}", ack.id));
        assert!(record.version >= ack.version, "record {} was at version {} before the backup, restored at {}", ack.id, ack.version, record.version);
    }
    // Nothing is half-written: each record's history and search document match its version.
    let rows: Vec<Row> = restored
        .app
        .db
        .reading(Scope::Platform, "SELECT id, version FROM records WHERE collection = 'customer_account' AND tenant_id = $1")
        .bind(acme.id)
        .all()
        .await
        .unwrap();
    let mut written = 0;
    for row in &rows {
        let (id, version): (Uuid, i64) = (row.get("id").unwrap(), row.get("version").unwrap());
        let record = engine.get(&system, id).await.unwrap();
        let name = record.data["name"].as_str().unwrap().to_owned();
        let history = engine.history(&system, id, None, 100).await.unwrap();
        assert_eq!(history.len() as i64, version, "record {name}: one history entry per version");
        assert_eq!(history.iter().map(|h| h.version).max(), Some(version), "record {name}");
        let docs: Vec<String> = restored
            .app
            .db
            .reading(Scope::Platform, "SELECT body FROM search_docs WHERE record_id = $1")
            .bind(id)
            .all()
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String>("body").unwrap().to_lowercase())
            .collect();
        assert!(!docs.is_empty(), "record {name} has its search document");
        if name.starts_with("Compte ") {
            written += 1;
            assert!(name.ends_with(word(version)), "record {name} at version {version}");
            assert!(
                docs.iter().all(|d| d.contains(word(version)) && !d.contains(word(3 - version))),
                "search document of {name} at version {version}: {docs:?}"
            );
        }
    }
    assert!(written >= before.len() / 2, "{written} written accounts restored for {} acknowledgements", before.len());

    // A server on the restored database answers the same reads, to the same person.
    let again = restored.logged_in("acme", "claire@acme.fr").await;
    let claire = t.logged_in("acme", "claire@acme.fr").await;
    for id in &stable {
        for path in [format!("/records/customer_account/{id}"), format!("/records/customer_account/{id}/history")] {
            let (status, original) = claire.api(Method::GET, "acme", &path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {original}");
            assert_eq!(again.api(Method::GET, "acme", &path, None).await, (StatusCode::OK, original), "{path}");
        }
    }
    let document_path = format!("/records/document/{}", document["id"].as_str().unwrap());
    assert_eq!(again.api(Method::GET, "acme", &document_path, None).await, claire.api(Method::GET, "acme", &document_path, None).await);
    let download = again.get(&file_path).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().to_vec(), pdf, "the uploaded file is restored");
    let (_, found) = again.api(Method::GET, "acme", "/search?q=Kerjean", None).await;
    assert!(found.to_string().contains(&stable[0]), "search answers on the restored instance: {found}");

    // The backup's own run, still running in its snapshot, is recorded as done after restore.
    let runs = restored.app.backups.runs().recent(5).await.unwrap();
    assert!(runs.iter().all(|r| r.status != "running"), "{runs:?}");
    assert!(runs.iter().any(|r| r.status == "done" && r.archive.as_deref() == archive.file_name().and_then(|n| n.to_str())), "{runs:?}");
}

/// Rewrites an archive: `edit` may change the manifest and the part's bytes.
fn forge(archive: &Path, into: &Path, edit: impl FnOnce(&mut Value, &mut Vec<u8>)) -> PathBuf {
    let mut entries = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(archive).unwrap()));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in entries.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.push((name, bytes));
    }
    assert_eq!(files[0].0, "manifest.json");
    let mut manifest: Value = serde_json::from_slice(&files[0].1).unwrap();
    edit(&mut manifest, &mut files[1].1);
    files[0].1 = serde_json::to_vec(&manifest).unwrap();
    let path = into.join(archive.file_name().unwrap());
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast()));
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        tar.append_data(&mut header, name, bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    path
}

#[tokio::test]
async fn a_restore_refuses_a_database_with_data_a_newer_schema_and_an_altered_or_foreign_archive() {
    let t = TestApp::spawn().await;
    t.create_tenant("acme", "Acme").await;
    let dir = Scratch::new();
    socle_ok(t.database_url(), &["backup", "--to", dir.path().to_str().unwrap()]).await;
    let archive = archive_in(dir.path());
    let archive_arg = archive.to_str().unwrap();

    // Into the database it came from, which has data: refused, saying how to go on.
    let refused = socle(t.database_url(), &["restore", archive_arg, "--yes"]).await;
    assert!(!refused.status.success());
    let message = text(&refused);
    assert!(message.contains("is not empty") && message.contains("--force"), "{message}");

    let target = TestDb::new(t.backend).await;
    let forged = Scratch::new();
    let refusals = [
        (forge(&archive, forged.path(), |m, _| m["schema_version"] = json!(99_990_101_000_000_i64)), "newer than this socle knows"),
        (forge(&archive, &tempdir_in(forged.path(), "changed"), |_, part| flip_middle(part)), "does not match its manifest"),
        (
            forge(&archive, &tempdir_in(forged.path(), "foreign"), |m, _| {
                m["backend"] = json!(if t.backend == TestBackend::Sqlite { "postgres" } else { "sqlite" })
            }),
            "backup but DATABASE_URL names",
        ),
    ];
    for (path, expected) in &refusals {
        let output = socle(&target.url, &["restore", path.to_str().unwrap(), "--yes"]).await;
        assert!(!output.status.success(), "{}", text(&output));
        assert!(text(&output).contains(expected), "{expected}: {}", text(&output));
    }
    // Nothing was written by the refused restores: the target is still empty, and takes the
    // genuine archive.
    socle_ok(&target.url, &["restore", archive_arg, "--yes"]).await;
    // Without --yes, a restore asks, and anything but "yes" leaves the database alone.
    let declined = socle(&target.url, &["restore", archive_arg, "--force"]).await;
    assert!(!declined.status.success() && text(&declined).contains("not confirmed"), "{}", text(&declined));
    // --force replaces a database with data.
    let output = socle_ok(&target.url, &["restore", archive_arg, "--yes", "--force"]).await;
    if t.backend == TestBackend::Sqlite {
        assert!(output.contains("is kept as"), "the replaced SQLite file is moved aside: {output}");
    }
    let restored = TestApp::spawn_on_db(target, t.backend).await;
    assert_eq!(restored.app.tenants.list().await.unwrap().len(), 1);
    assert!(tables_in(&restored.app.db).await > 10);
}

fn tempdir_in(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn flip_middle(bytes: &mut [u8]) {
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
}

#[tokio::test]
async fn scheduled_backups_keep_the_newest_run_one_at_a_time_and_show_their_failures_to_the_operator() {
    let dir = Scratch::new();
    let backups = dir.path().join("backups");
    let configured = backups.display().to_string();
    let t = TestApp::spawn_configured(move |s| {
        s.backup.every = "1h".into();
        s.backup.keep = 2;
        s.backup.dir = configured.clone();
    })
    .await;
    t.create_tenant("acme", "Acme").await;
    let service = &t.app.backups;
    let hour = Duration::from_secs(3600);

    // Due at once, then not before the hour is up.
    let first = service.run_scheduled().await.unwrap().expect("a first backup is due");
    assert!(first.path.starts_with(&backups) && first.bytes > 0);
    assert!(service.run_scheduled().await.unwrap().is_none(), "not due again within the hour");
    let mut names = Vec::new();
    for _ in 0..2 {
        t.clock.advance(hour);
        let written = service.run_scheduled().await.unwrap().expect("due after an hour");
        names.push(written.path.file_name().unwrap().to_owned());
    }
    // Retention kept the newest two.
    let mut kept: Vec<_> = std::fs::read_dir(&backups).unwrap().map(|e| e.unwrap().file_name()).collect();
    kept.sort();
    assert_eq!(kept, names, "the oldest archive was deleted");
    assert!(!first.path.exists());

    // One backup at a time across nodes: a run in progress blocks others until its heartbeat
    // stops, then it is recorded as interrupted.
    let other = service.runs().claim(Trigger::Command, "other-node:1", t.app.now_ms(), None).await.unwrap();
    let Claim::Claimed(_) = other else { panic!("{other:?}") };
    let err = service.run_now(&backups, None).await.unwrap_err().to_string();
    assert!(err.contains("another backup is in progress") && err.contains("other-node:1"), "{err}");
    t.clock.advance(hour);
    assert!(service.run_scheduled().await.unwrap().is_some(), "the silent run no longer blocks");
    let runs = service.runs().recent(10).await.unwrap();
    assert!(runs.iter().any(|r| r.node == "other-node:1" && r.status == "failed" && r.error.as_deref().is_some_and(|e| e.contains("interrupted"))), "{runs:?}");

    // A failure is journaled with its cause (the directory is now a file).
    std::fs::remove_dir_all(&backups).unwrap();
    std::fs::write(&backups, b"not a directory").unwrap();
    t.clock.advance(hour);
    let err = format!("{:#}", service.run_scheduled().await.unwrap_err());
    assert!(err.contains("cannot create the backup directory"), "{err}");
    let latest = service.runs().recent(1).await.unwrap().remove(0);
    assert_eq!(latest.status, "failed");
    assert!(latest.error.as_deref().unwrap().contains("cannot create the backup directory"), "{latest:?}");

    // The operator sees it on the platform's health page, and that backups are late once the
    // last success is older than the schedule allows.
    t.clock.advance(hour * 2);
    assert!(service.run_scheduled().await.is_err(), "retried after an hour, failing again");
    let hash = secrets::hash_password(PASSWORD).await.unwrap();
    t.app.operators.create("ops@socle.fr", "Ops", &hash, &Actor::system("test")).await.unwrap();
    let ops = t.browser();
    let login = ops.submit("/ops/login", "/ops/login", &[("email", "ops@socle.fr"), ("password", PASSWORD)]).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let page = ops.get("/ops/health").await.text().await.unwrap();
    assert!(page.contains("Sauvegardes") && page.contains("toutes les 1h"), "{page}");
    assert!(page.contains("échec") && page.contains("cannot create the backup directory"), "{page}");
    assert!(page.contains("en retard ou échouent"), "{page}");
    assert!(page.contains(names[1].to_str().unwrap()), "the last success is named: {page}");

    // The job worker's tick takes the next backup once the directory is usable again.
    std::fs::remove_file(&backups).unwrap();
    t.clock.advance(hour);
    t.run_platform_job(socle_core::backup::TICK_JOB).await;
    let mut done = false;
    for _ in 0..100 {
        let latest = service.runs().recent(1).await.unwrap().remove(0);
        if latest.status == "done" && latest.origin == "schedule" && latest.started_at >= t.app.now_ms() - 60_000 {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(done, "the tick took a backup: {:?}", service.runs().recent(3).await.unwrap());
    let page = ops.get("/ops/health").await.text().await.unwrap();
    assert!(!page.contains("en retard ou échouent"), "{page}");
}
