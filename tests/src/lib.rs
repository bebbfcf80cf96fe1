//! Test harness: a real Socle server on a fresh database, and HTTP clients that behave like
//! browsers (cookies, forms, CSRF tokens).
//!
//! The backend comes from `SOCLE_TEST_DATABASE` (`sqlite`, the default, or `postgres`). With
//! `postgres`, each test gets its own database on `SOCLE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and Redis on `SOCLE_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`) carries the cache and bus. The README's test command runs the whole
//! suite once per backend.

#![allow(clippy::unwrap_used)]

pub mod client;
pub mod connector;
pub mod fixtures;
pub mod smtp;

use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::SecretString;
use socle_core::clock::ShiftedClock;
use socle_core::{App, BuildOptions, Settings};
use socle_tenants::{Actor, NewTenant, Slug, Tenant};
use sqlx::Connection as _;

pub use client::Browser;
pub use connector::FakeConnector;
pub use fixtures::fixture;
pub use smtp::SmtpSink;

/// Which database the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    /// A temporary SQLite file.
    Sqlite,
    /// A temporary PostgreSQL database, with Redis.
    Postgres,
}

impl TestBackend {
    /// From `SOCLE_TEST_DATABASE`.
    pub fn from_env() -> Self {
        match std::env::var("SOCLE_TEST_DATABASE").as_deref() {
            Ok("postgres") | Ok("postgresql") => Self::Postgres,
            Ok("sqlite") | Err(_) => Self::Sqlite,
            Ok(other) => panic!("SOCLE_TEST_DATABASE must be sqlite or postgres, not `{other}`"),
        }
    }
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("SOCLE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The Redis server of the PostgreSQL run.
pub fn redis_url() -> String {
    std::env::var("SOCLE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    /// URL the app connects with.
    pub url: String,
    backend: TestBackend,
    name: String,
    _dir: Option<tempdir::TempDir>,
}

mod tempdir {
    /// A directory removed on drop.
    pub struct TempDir(pub std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDb {
    /// A fresh, empty database on `backend`.
    pub async fn new(backend: TestBackend) -> Self {
        let name = format!("socle_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            TestBackend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}/socle.db", dir.display());
                Self { url, backend, name, _dir: Some(tempdir::TempDir(dir)) }
            }
            TestBackend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin} (set SOCLE_TEST_POSTGRES_URL): {e}"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&name);
                Self { url: url.to_string(), backend, name, _dir: None }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.backend != TestBackend::Postgres {
            return;
        }
        let name = self.name.clone();
        // Drop runs outside async context guarantees; use a short-lived runtime on a thread.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut conn).await;
                }
            });
        })
        .join();
    }
}

/// Changes a test app's settings before it starts (kept for restarts and second nodes).
pub type Configure = Arc<dyn Fn(&mut Settings) + Send + Sync>;

/// A running server on a fresh database.
pub struct TestApp {
    /// SMTP URL the app sends mail to, if any.
    smtp_url: Option<String>,
    configure: Option<Configure>,
    /// The platform (stores, authorizer…), for arranging and inspecting state directly.
    pub app: Arc<App>,
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The clock the app uses; advance it to age tokens and lockouts.
    pub clock: Arc<ShiftedClock>,
    /// Which backend.
    pub backend: TestBackend,
    server: tokio::task::JoinHandle<()>,
    // Declared last: dropped after the server stops.
    db: Arc<TestDb>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Settings for a test app on `db` (Redis when the backend is PostgreSQL).
pub fn test_settings(db: &TestDb, backend: TestBackend) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = SecretString::from(db.url.clone());
    settings.database.max_connections = 8;
    if backend == TestBackend::Postgres {
        settings.redis.url = Some(SecretString::from(redis_url()));
        // Nodes of one test share the database name, hence the Redis prefix: they see each
        // other's bus messages and no other test's.
        settings.redis.prefix = format!("socle-test-{}:", db.name);
    }
    settings.server.public_url = "http://localhost:8080".into();
    // Shared by every test: compiled components are keyed by digest and engine.
    settings.plugins.cache_dir = std::env::temp_dir().join("socle-test-plugin-cache").display().to_string();
    // No scheduled backups of test databases (tests/e2e/backup.rs turns them on where it tests them).
    settings.backup.every = "off".into();
    settings.backup.dir = std::env::temp_dir().join(format!("{}-backups", db.name)).display().to_string();
    settings
}

impl TestApp {
    /// A server on a fresh database of the backend chosen by the environment.
    pub async fn spawn() -> Self {
        Self::spawn_on(TestBackend::from_env()).await
    }

    /// A server on a fresh database of `backend`.
    pub async fn spawn_on(backend: TestBackend) -> Self {
        let db = Arc::new(TestDb::new(backend).await);
        Self::spawn_with(db, backend).await
    }

    /// Another node sharing this one's database (and Redis prefix), like a second `socle serve`
    /// behind a load balancer.
    pub async fn second_node(&self) -> Self {
        Self::start(self.db.clone(), self.backend, ShiftedClock::new(), None, self.configure.clone()).await
    }

    /// A server on a database the test prepared another way (restored from a backup, say).
    pub async fn spawn_on_db(db: TestDb, backend: TestBackend) -> Self {
        Self::start(Arc::new(db), backend, ShiftedClock::new(), None, None).await
    }

    /// The URL of this app's database (what `DATABASE_URL` would be).
    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    async fn spawn_with(db: Arc<TestDb>, backend: TestBackend) -> Self {
        Self::start(db, backend, ShiftedClock::new(), None, None).await
    }

    /// A server on a fresh database with settings changed by `configure`.
    pub async fn spawn_configured(configure: impl Fn(&mut Settings) + Send + Sync + 'static) -> Self {
        let backend = TestBackend::from_env();
        let db = Arc::new(TestDb::new(backend).await);
        Self::start(db, backend, ShiftedClock::new(), None, Some(Arc::new(configure))).await
    }

    /// A server on a fresh database that sends its mails to `smtp`.
    pub async fn spawn_with_smtp(smtp: &SmtpSink) -> Self {
        let backend = TestBackend::from_env();
        let db = Arc::new(TestDb::new(backend).await);
        Self::start(db, backend, ShiftedClock::new(), Some(smtp.url()), None).await
    }

    /// Stops this server without running its pending jobs (as a crash would) and starts a new
    /// one on the same database and clock.
    pub async fn restart(self) -> Self {
        let (db, backend, clock, smtp, configure) = (self.db.clone(), self.backend, self.clock.clone(), self.smtp_url.clone(), self.configure.clone());
        self.server.abort();
        self.app.db.close().await;
        drop(self);
        Self::start(db, backend, clock, smtp, configure).await
    }

    /// A job worker of this app.
    pub fn worker(&self) -> socle_core::jobs::Worker {
        self.app.worker()
    }

    /// Runs one platform-wide job of `kind` (no tenant, empty payload) with its registered handler
    /// now, as its schedule would: the hourly and nightly sweeps without waiting for their cron.
    pub async fn run_platform_job(&self, kind: &str) {
        let handler = self.app.job_registry.handler(kind).unwrap_or_else(|| panic!("no handler for jobs of kind `{kind}`")).clone();
        let now = self.app.now_ms();
        let job = socle_core::jobs::Job {
            id: uuid::Uuid::now_v7(),
            tenant_id: None,
            kind: kind.into(),
            payload: serde_json::json!({}),
            status: "running".into(),
            run_at: now,
            attempts: 1,
            max_attempts: 1,
            last_error: None,
            created_at: now,
            updated_at: now,
        };
        if let Err(failure) = handler.run(&job).await {
            panic!("job {kind} failed: {failure:?}");
        }
    }

    async fn start(db: Arc<TestDb>, backend: TestBackend, clock: Arc<ShiftedClock>, smtp_url: Option<String>, configure: Option<Configure>) -> Self {
        // Internal errors are logged, never returned: show them when a test fails.
        socle_core::telemetry::init(&socle_core::config::LogSettings { format: "pretty".into(), level: "error".into() });
        let mut settings = test_settings(&db, backend);
        settings.mail.dir = std::env::temp_dir().join(format!("{}-mails", db.name)).display().to_string();
        settings.mail.smtp_url = smtp_url.clone().map(SecretString::from);
        if let Some(configure) = &configure {
            configure(&mut settings);
        }
        let options = BuildOptions { clock: clock.clone() };
        let app = App::build(settings, options).await.unwrap();
        let server = socle_core::http::Server::bind(app.clone(), SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let addr = server.local_addr();
        let server = tokio::spawn(async move {
            let _ = server.run(std::future::pending()).await;
        });
        Self { app, addr, clock, backend, server, db, smtp_url, configure }
    }

    /// Runs the `socle` binary on this app's database (and Redis), as an operator in a terminal
    /// next to the running server would; panics unless it succeeds. The binary is the one `cargo
    /// build --workspace` put beside this test executable.
    pub async fn socle(&self, args: &[&str]) -> std::process::Output {
        let exe = std::env::current_exe().expect("the test executable has a path");
        let binary = exe.parent().and_then(std::path::Path::parent).map(|dir| dir.join("socle")).filter(|path| path.exists());
        let Some(binary) = binary else { panic!("no socle binary beside {}: run `cargo build --workspace` first", exe.display()) };
        let mut command = tokio::process::Command::new(binary);
        command.args(args).env("DATABASE_URL", &self.db.url).env_remove("REDIS_URL").env("SOCLE__LOG__LEVEL", "warn");
        if self.backend == TestBackend::Postgres {
            command.env("REDIS_URL", redis_url()).env("SOCLE__REDIS__PREFIX", format!("socle-test-{}:", self.db.name));
        }
        let output = command.output().await.expect("socle runs");
        assert!(output.status.success(), "socle {}: {}{}", args.join(" "), String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        output
    }

    /// Lists a version waiting for review the way a platform operator does: logged in to the
    /// operator console, approving it in the review queue (the operator account is created the
    /// first time).
    pub async fn operator_approves(&self, plugin: &str, version: &str) {
        const EMAIL: &str = "operateur@socle.test";
        if self.app.operators.by_email(EMAIL).await.unwrap().is_none() {
            let hash = socle_core::identity::secrets::hash_password(PASSWORD).await.unwrap();
            self.app.operators.create(EMAIL, "Opérateur", &hash, &Actor::system("test")).await.unwrap();
        }
        let console = self.browser();
        let login = console.submit("/ops/login", "/ops/login", &[("email", EMAIL), ("password", PASSWORD)]).await;
        assert_eq!(login.status(), 303, "operator login");
        let queue = console.get("/ops/reviews").await.text().await.unwrap();
        assert!(queue.contains(plugin), "{plugin} {version} is in the review queue: {queue}");
        let decided = console.submit("/ops/reviews", "/ops/reviews", &[("plugin", plugin), ("version", version), ("decision", "approve"), ("note", "")]).await;
        assert_eq!(decided.status(), 303, "approving {plugin} {version}: {}", decided.text().await.unwrap_or_default());
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The portal URL of a tenant through the path prefix: `http://127.0.0.1:<port>/t/<slug>`.
    pub fn tenant_url(&self, slug: &str) -> String {
        format!("http://{}/t/{slug}", self.addr)
    }

    /// A new browser-like client (own cookie jar).
    pub fn browser(&self) -> Browser {
        Browser::new(self.addr)
    }

    /// Creates a tenant.
    pub async fn create_tenant(&self, slug: &str, name: &str) -> Tenant {
        self.app.tenants.create(NewTenant::new(Slug::parse(slug).unwrap(), name), &Actor::system("test")).await.unwrap()
    }

    /// Creates a user with a known password and roles; returns their id.
    pub async fn create_user(&self, tenant: &Tenant, email: &str, user_type: &str, roles: &[&str]) -> uuid::Uuid {
        let request = socle_core::identity::accounts::CreateUser {
            email: email.into(),
            display_name: email.split('@').next().unwrap().into(),
            user_type: user_type.parse().unwrap(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            password: Some(PASSWORD.into()),
            locale: None,
        };
        let (user, _) = self.app.accounts.create_user(tenant.id, request, &Actor::system("test")).await.unwrap();
        user.id
    }

    /// A browser logged in as `email` on `slug`.
    pub async fn logged_in(&self, slug: &str, email: &str) -> Browser {
        let browser = self.browser();
        let response = browser.login(slug, email, PASSWORD).await;
        assert_eq!(response.status(), 303, "login of {email} on {slug} failed");
        browser
    }
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";
