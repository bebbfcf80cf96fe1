//! The `socle` command line: run the server, migrate, manage tenants, users and operators, and
//! seed the demo. Every command has `--help`.

mod backup;
mod commands;
pub mod demo;
pub(crate) mod marketplace;
mod package;
pub(crate) mod plugin;
mod plugin_run;
mod plugin_template;
mod plugin_test;
mod plugin_tools;
mod secrets;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use commands::main;

/// Socle: a multi-tenant, white-label business platform.
#[derive(Debug, Parser)]
#[command(name = "socle", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Defaults to ./socle-server.toml when it exists. Environment variables
    /// `SOCLE__SECTION__KEY`, `DATABASE_URL` and `REDIS_URL` override it.
    #[arg(long, global = true, env = "SOCLE_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (and the job worker unless --no-worker).
    Serve(ServeArgs),
    /// Run background jobs (mails, workflow timers, notifications) without serving HTTP.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Back up the database while it serves (SQLite or PostgreSQL) into one archive.
    Backup(backup::BackupArgs),
    /// Restore a backup archive into an empty database (checksums and schema checked first).
    Restore(backup::RestoreArgs),
    /// Read records from the command line (the same query shape as the HTTP API).
    #[command(subcommand)]
    Record(RecordCommand),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users of a tenant.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage platform operators.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Build, test, run, package, sign and publish plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Manage marketplace publishers (operator, on the server).
    #[command(subcommand)]
    Publisher(PublisherCommand),
    /// The marketplace review queue (operator, on the server).
    #[command(subcommand)]
    Marketplace(MarketplaceCommand),
    /// Create (or refresh) the demo tenants with their branding and users, and print how to log in.
    Demo,
    /// Stored secrets (plugin secret settings, TOTP seeds): status, rotation to a new key, new keys.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
}

/// `socle serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides server.addr).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// Do not run background jobs in this process (run `socle worker` separately).
    #[arg(long)]
    pub no_worker: bool,
}

/// `socle plugin …`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate from the template (a working plugin with a test).
    New {
        /// Plugin id: lowercase letters, digits and `_`.
        name: String,
        /// Directory to create (default: ./<name>).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Build a plugin (or a workspace of plugins) into components under target/socle/.
    Build {
        /// The plugin's directory (or a workspace of plugins).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Build the plugin, install it in an in-process demo tenant and run its tests/*.toml scenarios.
    Test {
        /// The plugin's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Serve a local Socle with a demo tenant and the plugin installed; rebuilds and reinstalls
    /// when its sources change.
    Run {
        /// The plugin's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
    },
    /// Package a built plugin as a reproducible `.socle` archive (under target/socle/).
    Pack {
        /// The plugin's directory (built with `socle plugin build`).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Generate a publisher signing key: writes the secret key file (keep it private) and prints
    /// the public key to register.
    Keygen {
        /// Where to write the secret key.
        #[arg(long, default_value = "socle-signing.key")]
        out: PathBuf,
    },
    /// Sign a `.socle` package with your secret key (writes `<package>.sig`).
    Sign {
        /// The package.
        package: PathBuf,
        /// The secret key file from `socle plugin keygen`.
        #[arg(long, env = "SOCLE_SIGNING_KEY_FILE")]
        key: PathBuf,
    },
    /// Submit a signed package to a Socle server's marketplace and print its validation report.
    Publish {
        /// The package (its `.sig` must sit beside it).
        package: PathBuf,
        /// The server, e.g. https://socle.example.fr
        #[arg(long, env = "SOCLE_SERVER_URL")]
        server: String,
        /// Your publisher token.
        #[arg(long, env = "SOCLE_PUBLISHER_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Install a built plugin in a tenant (granting what its manifest declares).
    Install {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// The plugin's directory (built with `socle plugin build`).
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

/// `socle publisher …`.
#[derive(Debug, Subcommand)]
pub enum PublisherCommand {
    /// Create a publisher account and print its first API token.
    Create {
        /// Publisher id (the `publisher` of its manifests).
        id: String,
        /// Displayed name.
        #[arg(long)]
        name: String,
        /// Contact email.
        #[arg(long)]
        email: String,
    },
    /// Register a public key as the publisher's current signing key (rotating the previous one).
    AddKey {
        /// Publisher id.
        id: String,
        /// `ed25519:…` as printed by `socle plugin keygen`.
        public_key: String,
    },
    /// Issue another API token.
    AddToken {
        /// Publisher id.
        id: String,
        /// What it is for.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// `socle marketplace …`.
#[derive(Debug, Subcommand)]
pub enum MarketplaceCommand {
    /// Versions waiting for review, with their validation reports.
    Queue,
    /// The kill switch: yank a version and roll every tenant on it back to the version before,
    /// telling their administrators why.
    Kill {
        /// Plugin id.
        plugin: String,
        /// Version to withdraw.
        version: String,
        /// Why (tenants read it).
        #[arg(long)]
        reason: String,
    },
    /// Rollouts in progress and past, with their step and state.
    Rollouts,
    /// Judge active rollouts now (what the periodic job does): promote, or halt and roll back.
    RolloutTick,
    /// Charge a month into the ledger (what the monthly job does for the month before).
    Charge {
        /// `YYYY-MM`.
        period: String,
    },
    /// Print a publisher's statement of a month as CSV.
    Statement {
        /// Publisher id.
        publisher: String,
        /// `YYYY-MM`.
        period: String,
    },
    /// Make a tenant a white-label reseller's customer (its payments are split three ways).
    Reseller {
        /// Tenant slug.
        tenant: String,
        /// Reseller name; omit to make the tenant direct again.
        reseller: Option<String>,
    },
    /// List a version in review.
    Approve {
        /// Plugin id.
        plugin: String,
        /// Version.
        version: String,
        /// Note for the publisher.
        #[arg(long, default_value = "approved")]
        note: String,
    },
    /// Reject a version in review, saying why.
    Reject {
        /// Plugin id.
        plugin: String,
        /// Version.
        version: String,
        /// What the publisher must fix.
        #[arg(long)]
        reason: String,
    },
    /// Publish a plugin directory, or a `.socle` package, straight into this server's marketplace
    /// as a listed version (packed, signed with the publisher's key file, validated like any
    /// submission).
    PublishLocal {
        /// The plugin's directory (built), or a `.socle` package file.
        dir: PathBuf,
        /// Publisher id (created if missing).
        #[arg(long)]
        publisher: String,
        /// Secret key file (created and registered if missing).
        #[arg(long)]
        key: PathBuf,
    },
}

/// `socle record …`.
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Print the records of a collection matching a query, one JSON object per line.
    Query {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Collection, e.g. customer_account.
        collection: String,
        /// Query as JSON: {"filters":[{"field":"status","op":"eq","value":"actif"}],"sort":{"field":"name"},"limit":50}
        #[arg(long, default_value = "{}")]
        query: String,
    },
    /// Create a record from a JSON object of field values and print it (as the platform itself,
    /// so every validation and hook still runs): `socle record create --tenant acme good.note '{"title":"Bonjour"}'`.
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Collection, e.g. customer_account.
        collection: String,
        /// Field values as a JSON object.
        data: String,
    },
    /// Print the collections of a tenant and their fields.
    Collections {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
    },
    /// Rebuild the search index of one tenant's records, or every tenant's (after an upgrade
    /// that changed what search finds, or to refresh the referenced titles records carry).
    Reindex {
        /// Tenant slug; every tenant when absent.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// `socle tenant …`.
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant with the default role templates.
    Create {
        /// Short name used in URLs: lowercase letters, digits, hyphens.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Plan: starter, business or enterprise.
        #[arg(long, default_value = "starter")]
        plan: String,
        /// Default language: fr or en.
        #[arg(long, default_value = "fr")]
        locale: String,
    },
    /// List tenants.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Suspend a tenant: every request gets 403 until reactivated.
    Suspend {
        /// Tenant slug.
        slug: String,
        /// Why (kept in the audit journal).
        #[arg(long)]
        reason: String,
    },
    /// Reactivate a suspended tenant.
    Reactivate {
        /// Tenant slug.
        slug: String,
    },
    /// Delete a tenant and all its data (the audit journal keeps its history).
    Delete {
        /// Tenant slug.
        slug: String,
        /// Confirm without prompting.
        #[arg(long)]
        yes: bool,
    },
    /// Attach a custom domain to a tenant.
    AddDomain {
        /// Tenant slug.
        slug: String,
        /// Host name, e.g. portail.exemple.fr.
        domain: String,
    },
    /// Detach a custom domain.
    RemoveDomain {
        /// Tenant slug.
        slug: String,
        /// Host name.
        domain: String,
    },
    /// Write a tenant's settings, branding and wanted plugins to `<dir>/tenant.toml` and its
    /// resolved versions to `<dir>/tenant.lock`.
    Export {
        /// Tenant slug.
        slug: String,
        /// Directory (default: tenants/<slug>).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Make a tenant match `<dir>/tenant.toml` (and `tenant.lock` when present): created if
    /// missing, settings updated, plugins installed, upgraded or removed as one atomic set.
    Apply {
        /// Directory holding tenant.toml.
        dir: PathBuf,
    },
}

/// `socle user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from stdin with --password-stdin, otherwise generated
    /// and printed once.
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Business role (repeatable), e.g. direction, support_n1.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// User type: interne, client, partenaire, revendeur or technicien.
        #[arg(long = "type", default_value = "interne")]
        user_type: String,
        /// Display name (defaults to the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a tenant's users.
    List {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
    },
    /// Print a single-use password reset link (valid one hour).
    ResetPassword {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// Email address.
        #[arg(long)]
        email: String,
    },
}

/// `socle operator …`.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create a platform operator (password from stdin with --password-stdin, otherwise generated).
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}
