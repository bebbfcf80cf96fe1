use std::io::BufRead as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use socle_tenants::roles::UserType;
use socle_tenants::{Actor, DomainName, NewTenant, Slug, Tenant, TenantStatus};

use super::demo;
use clap::Parser as _;

use super::{Cli, Command, OperatorCommand, RecordCommand, TenantCommand, UserCommand};
use crate::app::{App, BuildOptions};
use crate::config::Settings;
use crate::identity::accounts::CreateUser;
use crate::identity::secrets;
use crate::telemetry;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve(_) => {}
        // A developer's terminal: the server's log, readable.
        Command::Plugin(super::PluginCommand::Run { .. }) => settings.log.format = "pretty".into(),
        _ => {
            // Commands print their own results; only warnings go to the log.
            settings.log.format = "pretty".into();
            if std::env::var_os("RUST_LOG").is_none() {
                settings.log.level = "warn".into();
            }
        }
    }
    telemetry::init(&settings.log);
    match cli.command {
        Command::Serve(args) => serve(settings, args).await,
        Command::Worker => {
            let app = App::build(settings, BuildOptions::default()).await?;
            tracing::info!("socle worker started");
            app.worker().run(std::time::Duration::from_millis(500), shutdown_signal()).await;
            Ok(())
        }
        Command::Plugin(command) => super::plugin::run(settings, command).await,
        Command::Publisher(command) => super::marketplace::publisher(App::build(settings, BuildOptions::default()).await?, command).await,
        Command::Marketplace(command) => super::marketplace::marketplace(App::build(settings, BuildOptions::default()).await?, command).await,
        Command::Record(command) => record(App::build(settings, BuildOptions::default()).await?, command).await,
        Command::Backup(args) => super::backup::backup(settings, args).await,
        Command::Restore(args) => super::backup::restore(settings, args).await,
        Command::Migrate => {
            let app = App::build(settings, BuildOptions::default()).await?;
            println!("database migrated ({})", app.db.backend().as_str());
            Ok(())
        }
        Command::Tenant(command) => tenant(App::build(settings, BuildOptions::default()).await?, command).await,
        Command::User(command) => user(App::build(settings, BuildOptions::default()).await?, command).await,
        Command::Operator(command) => operator(App::build(settings, BuildOptions::default()).await?, command).await,
        Command::Secrets(command) => super::secrets::run(settings, command).await,
        Command::Demo => {
            let app = App::build(settings, BuildOptions::default()).await?;
            let report = demo::seed(&app).await?;
            print!("{report}");
            Ok(())
        }
    }
}

async fn serve(mut settings: Settings, args: super::ServeArgs) -> anyhow::Result<()> {
    if let Some(addr) = args.addr {
        settings.server.addr = addr;
    }
    if args.no_worker {
        settings.jobs.run_in_serve = false;
    }
    let addr = settings.server.addr;
    #[allow(unused_mut)]
    let mut options = BuildOptions::default();
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("SOCLE_TEST_CLOCK_FILE") {
        tracing::warn!(file = %std::path::Path::new(&path).display(), "test clock: time is shifted by the offset in this file");
        options.clock = crate::clock::follow_offset_file(path.into());
    }
    let app = App::build(settings, options).await?;
    let server = crate::http::Server::bind(app.clone(), addr).await?;
    tracing::info!(addr = %server.local_addr(), backend = app.db.backend().as_str(), "socle is listening");
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = app.settings.jobs.run_in_serve.then(|| {
        let worker = app.worker();
        tokio::spawn(worker.run(std::time::Duration::from_millis(500), async move {
            let _ = worker_stopped.await;
        }))
    });
    let result = server.run(shutdown_signal()).await;
    let _ = stop_worker.send(());
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Adds (or removes) a domain the tenant answers on, and tells every node.
async fn change_domain(app: &App, actor: &Actor, slug: &str, domain: &str, add: bool) -> anyhow::Result<()> {
    let tenant = find_tenant(app, slug).await?;
    let domain = DomainName::parse(domain)?;
    if add {
        app.tenants.add_domain(tenant.id, &domain, actor).await?;
        println!("tenant {slug} now answers on {domain}");
    } else {
        app.tenants.remove_domain(tenant.id, &domain, actor).await?;
        println!("removed {domain} from tenant {slug}");
    }
    app.resolver.changed(tenant.id, app.bus.as_ref()).await;
    Ok(())
}

async fn find_tenant(app: &App, slug: &str) -> anyhow::Result<Tenant> {
    let slug = Slug::parse(slug)?;
    app.tenants.by_slug(&slug).await?.with_context(|| format!("tenant `{slug}` does not exist (see `socle tenant list`)"))
}

async fn tenant(app: std::sync::Arc<App>, command: TenantCommand) -> anyhow::Result<()> {
    let actor = Actor::cli("socle tenant");
    match command {
        TenantCommand::Create { slug, name, plan, locale } => {
            let mut new = NewTenant::new(Slug::parse(&slug)?, name);
            new.plan = plan.parse()?;
            new.locale = locale.parse()?;
            let tenant = app.tenants.create(new, &actor).await?;
            println!("created tenant {} ({}) — {}", tenant.slug, tenant.id, app.settings.tenant_url(tenant.slug.as_str()));
        }
        TenantCommand::List { json } => {
            let tenants = app.tenants.list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tenants)?);
            } else {
                println!("{:<24} {:<32} {:<11} {:<10} URL", "SLUG", "NAME", "PLAN", "STATUS");
                for t in tenants {
                    let status = if t.is_active() { "active" } else { "suspended" };
                    println!("{:<24} {:<32} {:<11} {:<10} {}", t.slug, t.name, t.plan, status, app.settings.tenant_url(t.slug.as_str()));
                }
            }
        }
        TenantCommand::Suspend { slug, reason } => {
            let tenant = find_tenant(&app, &slug).await?;
            app.tenants.set_status(tenant.id, TenantStatus::Suspended { reason }, &actor).await?;
            app.resolver.changed(tenant.id, app.bus.as_ref()).await;
            println!("suspended tenant {slug}");
        }
        TenantCommand::Reactivate { slug } => {
            let tenant = find_tenant(&app, &slug).await?;
            app.tenants.set_status(tenant.id, TenantStatus::Active, &actor).await?;
            app.resolver.changed(tenant.id, app.bus.as_ref()).await;
            println!("reactivated tenant {slug}");
        }
        TenantCommand::Delete { slug, yes } => {
            let tenant = find_tenant(&app, &slug).await?;
            if !yes {
                eprint!("Delete tenant {slug} and all its data? Type the slug to confirm: ");
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                if line.trim() != slug {
                    bail!("not confirmed; nothing was deleted");
                }
            }
            app.tenants.delete(tenant.id, &actor).await?;
            app.resolver.changed(tenant.id, app.bus.as_ref()).await;
            println!("deleted tenant {slug}");
        }
        TenantCommand::AddDomain { slug, domain } => change_domain(&app, &actor, &slug, &domain, true).await?,
        TenantCommand::RemoveDomain { slug, domain } => change_domain(&app, &actor, &slug, &domain, false).await?,
        TenantCommand::Export { slug, dir } => {
            let tenant = find_tenant(&app, &slug).await?;
            let dir = dir.unwrap_or_else(|| std::path::Path::new("tenants").join(&slug));
            super::marketplace::export(&app, &tenant, &dir).await?;
        }
        TenantCommand::Apply { dir } => super::marketplace::apply_dir(&app, &dir).await?,
    }
    Ok(())
}

fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("failed to read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    secrets::validate_new_password(&password)?;
    Ok(password)
}

async fn user(app: std::sync::Arc<App>, command: UserCommand) -> anyhow::Result<()> {
    let actor = Actor::cli("socle user");
    match command {
        UserCommand::Create { tenant, email, roles, user_type, name, password_stdin } => {
            let tenant = find_tenant(&app, &tenant).await?;
            let user_type: UserType = user_type.parse()?;
            let password = if password_stdin { Some(password_from_stdin()?) } else { None };
            let display_name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
            let request = CreateUser { email, display_name, user_type, roles, password, locale: None };
            let (user, generated) = app.accounts.create_user(tenant.id, request, &actor).await?;
            println!("created user {} ({}) in tenant {}", user.email, user.id, tenant.slug);
            if let Some(password) = generated {
                println!("generated password (shown once): {password}");
            }
        }
        UserCommand::List { tenant } => {
            let tenant = find_tenant(&app, &tenant).await?;
            println!("{:<36} {:<12} {:<9} ROLES", "EMAIL", "TYPE", "STATUS");
            for user in app.users.list(tenant.id).await? {
                let roles = app.authz.user_roles(tenant.id, user.id).await?;
                println!("{:<36} {:<12} {:<9} {}", user.email, user.user_type, user.status.as_str(), roles.join(", "));
            }
        }
        UserCommand::ResetPassword { tenant, email } => {
            let tenant = find_tenant(&app, &tenant).await?;
            let (user, _) = app.users.by_email(tenant.id, &email).await?.with_context(|| format!("no user {email} in tenant {}", tenant.slug))?;
            let link = app.accounts.start_password_reset(&tenant, &user, &actor).await?;
            println!("{link}");
        }
    }
    Ok(())
}

async fn record(app: std::sync::Arc<App>, command: RecordCommand) -> anyhow::Result<()> {
    match command {
        RecordCommand::Query { tenant, collection, query } => {
            let tenant = find_tenant(&app, &tenant).await?;
            let query: crate::records::Query = serde_json::from_str(&query).context("--query is not a valid query (see --help)")?;
            let caller = crate::records::Caller::system(tenant.id, "socle record query");
            let page = app.records.query(&caller, &collection, &query).await?;
            for record in page.items {
                println!("{}", serde_json::to_string(&record)?);
            }
            if let Some(cursor) = page.next_cursor {
                eprintln!("more: add \"cursor\": \"{cursor}\" to the query");
            }
        }
        RecordCommand::Create { tenant, collection, data } => {
            let tenant = find_tenant(&app, &tenant).await?;
            let serde_json::Value::Object(data) = serde_json::from_str(&data).context("the record is not valid JSON")? else {
                anyhow::bail!("the record must be a JSON object of field values, e.g. '{{\"title\":\"Bonjour\"}}'");
            };
            let caller = crate::records::Caller::system(tenant.id, "socle record create");
            let record = app.records.create(&caller, &collection, data).await?;
            println!("{}", serde_json::to_string(&record)?);
        }
        RecordCommand::Reindex { tenant } => {
            let tenants = match tenant {
                Some(slug) => vec![find_tenant(&app, &slug).await?],
                None => app.tenants.list().await?,
            };
            for tenant in tenants {
                let count = app.records.reindex(tenant.id).await?;
                println!("{}: {count} records indexed", tenant.slug);
            }
        }
        RecordCommand::Collections { tenant } => {
            let tenant = find_tenant(&app, &tenant).await?;
            let caller = crate::records::Caller::system(tenant.id, "socle record collections");
            for collection in app.records.collections(&caller).await? {
                let fields: Vec<String> = collection.fields.iter().map(|f| format!("{}:{}", f.name, f.field_type)).collect();
                println!("{:<28} {}", collection.name, fields.join(" "));
            }
        }
    }
    Ok(())
}

async fn operator(app: std::sync::Arc<App>, command: OperatorCommand) -> anyhow::Result<()> {
    let OperatorCommand::Create { email, name, password_stdin } = command;
    let (password, generated) = if password_stdin { (password_from_stdin()?, false) } else { (secrets::random_password(), true) };
    let hash = secrets::hash_password(&password).await?;
    let display_name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_owned());
    let operator = app.operators.create(&email, &display_name, &hash, &Actor::cli("socle operator create")).await?;
    println!("created operator {} ({})", operator.email, operator.id);
    if generated {
        println!("generated password (shown once): {password}");
    }
    Ok(())
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
