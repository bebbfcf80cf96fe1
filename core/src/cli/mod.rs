//! The `socle` command line: run the server, migrate, manage tenants, users and operators, and
//! seed the demo. Every command has `--help`.

mod commands;
mod plugin;
mod plugin_run;
mod plugin_template;
mod plugin_test;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

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
    /// Build, test and run plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Create (or refresh) the demo tenants with their branding and users, and print how to log in.
    Demo,
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
    /// Print the collections of a tenant and their fields.
    Collections {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
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

/// Parses arguments and runs the command; errors are printed with their causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: failed to start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
