//! Typed configuration: defaults, then an optional TOML file, then `SOCLE__…` environment variables
//! (`SOCLE__SERVER__ADDR=0.0.0.0:8080`), then the conventional `DATABASE_URL` and `REDIS_URL`.
//! URLs that may embed passwords are [`SecretString`]s: they never reach a log line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Everything a node needs to run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP server.
    pub server: ServerSettings,
    /// Database.
    pub database: DatabaseSettings,
    /// Redis (cache, bus, rate limits across nodes). Absent: in-process.
    pub redis: RedisSettings,
    /// Background jobs.
    pub jobs: JobSettings,
    /// Outgoing mail.
    pub mail: MailSettings,
    /// The plugin runtime.
    pub plugins: PluginSettings,
    /// The marketplace.
    pub marketplace: MarketplaceSettings,
    /// Backups: where archives go, how often the job worker takes one, how many are kept.
    pub backup: BackupSettings,
    /// Logging.
    pub log: LogSettings,
    /// Keys sealing the secrets the platform stores.
    pub secrets: SecretsSettings,
}

/// The keys that seal stored secrets (plugin secret settings, TOTP seeds): `<id>:<base64 of 32
/// bytes>` each, the first sealing, the others only opening what they sealed (a rotation in
/// progress). `SOCLE__SECRETS__KEYS=2026-12:…,2026-01:…`; see `crypto`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsSettings {
    /// The key ring, current key first.
    pub keys: Vec<SecretString>,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// The platform's base domain: tenants answer on `<slug>.<base_domain>`.
    pub base_domain: String,
    /// Scheme and port used in links the platform writes (mails, reset links); the host part is
    /// built per tenant. `http://localhost:8080` gives `http://acme.localhost:8080/…`.
    pub public_url: String,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Requests taking longer are cut with 503.
    pub request_timeout_secs: u64,
    /// A connection that has not sent a request's complete headers within this many seconds
    /// (a slow client, or an idle kept-alive connection) is closed.
    pub header_timeout_secs: u64,
    /// Mark cookies `Secure` (defaults to true when `public_url` is https).
    pub secure_cookies: Option<bool>,
    /// Bearer token `/metrics` asks for. Without one, `/metrics` answers only connections from
    /// the machine itself (a scraper on loopback); with one, every scraper must send it.
    pub metrics_token: Option<SecretString>,
}

/// Database settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://./data/socle.db?mode=rwc` or `postgres://user@host/db`.
    pub url: SecretString,
    /// Pool size.
    pub max_connections: u32,
    /// Seconds a request waits for a connection before answering 503.
    pub acquire_timeout_secs: u64,
    /// PostgreSQL role without BYPASSRLS the server switches to (empty: stay the login role).
    pub app_role: String,
}

/// Redis settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:6379`; unset keeps the cache in-process and the bus in the database.
    pub url: Option<SecretString>,
    /// Prefix of every key and channel, so installations (or test runs) can share one Redis.
    pub prefix: String,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self { url: None, prefix: "socle:".into() }
    }
}

/// Background job settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    /// Whether `socle serve` also runs the job worker.
    pub run_in_serve: bool,
}

/// Outgoing mail settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// `smtp://host:port` (or `smtps://user:password@host`); unset writes `.eml` files to `dir`.
    pub smtp_url: Option<SecretString>,
    /// Platform sender address; tenants send under their own name from it.
    pub from: String,
    /// Where mails go without an SMTP server.
    pub dir: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self { smtp_url: None, from: "Socle <no-reply@socle.localhost>".into(), dir: "./data/mails".into() }
    }
}

/// Plugin runtime settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginSettings {
    /// Where compiled components are cached (by digest).
    pub cache_dir: String,
    /// Hosts plugins may reach even though they resolve to private addresses, over plain http
    /// too (a local fake operator API in development and tests). Empty in production.
    pub allow_private_hosts: Vec<String>,
    /// Plugin invocations running at once on this node (others wait).
    pub max_concurrent: usize,
    /// The platform's connectors to operator and billing systems (SNAIC, Alphalink, CFAST,
    /// Pennylane…), by name: plugins call them through the `connectors` capability and never
    /// see their endpoints or tokens (`SOCLE__PLUGINS__CONNECTORS__ALPHALINK__URL=https://…`).
    pub connectors: std::collections::BTreeMap<String, ConnectorSettings>,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self { cache_dir: "./data/plugin-cache".into(), allow_private_hosts: Vec::new(), max_concurrent: 64, connectors: Default::default() }
    }
}

/// One connector: where the platform's adapter for a remote system listens, and its credential.
/// An operation `op` is a `POST {url}/{op}` with a JSON body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSettings {
    /// Base URL of the connector (https; plain http only for hosts in `allow_private_hosts`).
    pub url: String,
    /// Bearer token sent to the connector.
    #[serde(default)]
    pub token: Option<SecretString>,
}

/// Marketplace settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketplaceSettings {
    /// List an update without review when an earlier version is listed, it asks for no new
    /// capability and its risk stays low.
    pub auto_approve_updates: bool,
    /// Seconds without a heartbeat after which a plugin operation being applied is taken for
    /// interrupted (its node crashed) and rolled back by any node.
    pub operation_lease_secs: u64,
    /// Days an uninstalled plugin's data (and its export) is kept before it is purged; a
    /// reinstall before then finds it again.
    pub retention_days: u64,
    /// Seconds each rollout step lasts at least before the health gate may promote it.
    pub rollout_step_secs: u64,
    /// How many percentage points above the previous version's error rate a rolled-out
    /// version may fail before it is halted and rolled back.
    pub rollout_threshold_points: f64,
    /// Calls of a rolled-out version needed before judging it.
    pub rollout_min_invocations: u64,
    /// The platform's commission on a partner's monthly gross, by bands (like tax brackets);
    /// the last band has no upper bound.
    pub commission_tiers: Vec<socle_marketplace::billing::Tier>,
    /// What a white-label reseller gets of its customers' payments, in basis points of the
    /// gross, out of the platform's commission.
    pub reseller_share_bp: u32,
}

impl Default for MarketplaceSettings {
    fn default() -> Self {
        Self {
            auto_approve_updates: true,
            operation_lease_secs: 30,
            retention_days: 30,
            rollout_step_secs: 3600,
            rollout_threshold_points: 2.0,
            rollout_min_invocations: 50,
            commission_tiers: vec![
                socle_marketplace::billing::Tier { up_to_cents: Some(1_000_000), rate_bp: 3000 },
                socle_marketplace::billing::Tier { up_to_cents: None, rate_bp: 1500 },
            ],
            reseller_share_bp: 1000,
        }
    }
}

/// Backup settings: `socle backup` writes to `dir` unless told otherwise; the job worker takes a
/// backup there every `every` and keeps the newest `keep` archives.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupSettings {
    /// Directory of the archives (`socle-backup-<UTC time>.tar.gz`).
    pub dir: String,
    /// How often the job worker takes a backup: `30m`, `6h`, `24h`, `7d`; `off` for never.
    pub every: String,
    /// Archives kept in `dir`: after each successful backup the older ones are deleted.
    pub keep: usize,
    /// Directory holding `pg_dump` and `pg_restore` (PostgreSQL); empty: found on the `PATH`.
    pub pg_bin_dir: String,
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self { dir: "./data/backups".into(), every: "24h".into(), keep: 7, pg_bin_dir: String::new() }
    }
}

impl BackupSettings {
    /// The time between scheduled backups; `None` when they are off (`off`, `0` or empty).
    pub fn interval(&self) -> anyhow::Result<Option<std::time::Duration>> {
        let every = self.every.trim();
        if every.is_empty() || every == "0" || every.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let invalid = || anyhow::anyhow!("backup.every must be a duration such as 30m, 6h, 24h or 7d, or off (got `{every}`)");
        let split = every.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
        let count: u64 = every[..split].parse().map_err(|_| invalid())?;
        let unit = match every[split..].trim() {
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(invalid()),
        };
        if count == 0 {
            return Err(invalid());
        }
        Ok(Some(std::time::Duration::from_secs(count.saturating_mul(unit))))
    }
}

/// Log settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `json` (one object per line) or `pretty`.
    pub format: String,
    /// `tracing` filter, e.g. `info,socle_core=debug`.
    pub level: String,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            base_domain: "localhost".into(),
            public_url: "http://localhost:8080".into(),
            max_body_bytes: 2 * 1024 * 1024,
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            secure_cookies: None,
            metrics_token: None,
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self { url: SecretString::from("sqlite://./data/socle.db"), max_connections: 16, acquire_timeout_secs: 3, app_role: "socle_app".into() }
    }
}

impl Default for JobSettings {
    fn default() -> Self {
        Self { run_in_serve: true }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: "json".into(), level: "info".into() }
    }
}

impl Settings {
    /// Loads settings: defaults, then `file` if given (or `./socle-server.toml` if it exists),
    /// then the environment. (`socle.toml` is a plugin's manifest, never the server's settings.)
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        let default_file = PathBuf::from("socle-server.toml");
        match file {
            Some(path) => {
                anyhow::ensure!(path.exists(), "configuration file {} does not exist", path.display());
                builder = builder.add_source(config::File::from(path));
            }
            None if default_file.exists() => builder = builder.add_source(config::File::from(default_file)),
            None => {}
        }
        builder = builder.add_source(
            config::Environment::with_prefix("SOCLE")
                .prefix_separator("__")
                .separator("__")
                // Lists are comma-separated: SOCLE__PLUGINS__ALLOW_PRIVATE_HOSTS=localhost,fake-operator
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("plugins.allow_private_hosts")
                .with_list_parse_key("secrets.keys"),
        );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database.url", url)?;
        }
        if let Ok(url) = std::env::var("REDIS_URL") {
            builder = builder.set_override("redis.url", url)?;
        }
        if let Ok(url) = std::env::var("SMTP_URL") {
            builder = builder.set_override("mail.smtp_url", url)?;
        }
        let settings: Settings = builder.build().context("failed to read the configuration")?.try_deserialize().context("the configuration is invalid")?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that would otherwise fail late and obscurely.
    pub fn validate(&self) -> anyhow::Result<()> {
        let url = url::Url::parse(&self.server.public_url).with_context(|| format!("server.public_url `{}` is not a URL", self.server.public_url))?;
        anyhow::ensure!(matches!(url.scheme(), "http" | "https"), "server.public_url must start with http:// or https://");
        anyhow::ensure!(!self.server.base_domain.is_empty(), "server.base_domain must not be empty");
        anyhow::ensure!(self.server.max_body_bytes >= 1024, "server.max_body_bytes must be at least 1024");
        let db = self.database.url.expose_secret();
        anyhow::ensure!(
            db.starts_with("sqlite:") || db.starts_with("postgres:") || db.starts_with("postgresql:"),
            "database.url (DATABASE_URL) must start with sqlite:// or postgres://"
        );
        anyhow::ensure!(
            crate::email::normalize(self.mail.from.rsplit_once('<').map_or(self.mail.from.as_str(), |(_, a)| a.trim_end_matches('>'))).is_ok(),
            "mail.from must be an address like `Socle <no-reply@example.fr>`"
        );
        self.backup.interval()?;
        anyhow::ensure!(self.backup.keep >= 1, "backup.keep must be at least 1");
        if let Some(redis) = &self.redis.url {
            anyhow::ensure!(
                redis.expose_secret().starts_with("redis://") || redis.expose_secret().starts_with("rediss://"),
                "redis.url (REDIS_URL) must start with redis:// or rediss://"
            );
        }
        Ok(())
    }

    /// Whether this is a development setup: `server.public_url` is on this machine (`localhost`,
    /// a `*.localhost` name or a loopback address), as for the demo, `socle plugin run|test` and
    /// the tests. Only there may secrets be sealed with the public development key.
    pub fn is_development(&self) -> bool {
        match url::Url::parse(&self.server.public_url).ok().as_ref().and_then(url::Url::host) {
            Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost") || domain.to_ascii_lowercase().ends_with(".localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    /// Whether cookies get the `Secure` attribute.
    pub fn secure_cookies(&self) -> bool {
        self.server.secure_cookies.unwrap_or_else(|| self.server.public_url.starts_with("https://"))
    }

    /// The portal URL of a tenant: `http://<slug>.<base_domain>:<port>`.
    pub fn tenant_url(&self, slug: &str) -> String {
        match url::Url::parse(&self.server.public_url) {
            Ok(url) => {
                let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{}://{slug}.{}{port}", url.scheme(), self.server.base_domain)
            }
            Err(_) => format!("http://{slug}.{}", self.server.base_domain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let mut settings = Settings::default();
        settings.database.url = SecretString::from("postgres://socle:hunter2@db/socle");
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn only_a_public_url_on_this_machine_is_development() {
        let mut settings = Settings::default();
        for (url, development) in [
            ("http://localhost:8080", true),
            ("http://acme.localhost:8080", true),
            ("http://127.0.0.1:8080", true),
            ("http://[::1]:8080", true),
            ("https://portail.example.fr", false),
            ("http://10.0.0.5:8080", false),
            ("http://localhost.example.fr", false),
        ] {
            settings.server.public_url = url.into();
            assert_eq!(settings.is_development(), development, "{url}");
        }
    }

    #[test]
    fn tenant_urls_keep_scheme_and_port() {
        let settings = Settings::default();
        assert_eq!(settings.tenant_url("acme"), "http://acme.localhost:8080");
    }
}
