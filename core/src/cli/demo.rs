//! `socle demo`: creates (or refreshes) the demo tenants of `tenants/demo/` with their branding and
//! users, and an operator; publishes the first-party plugins (`plugins/`, built beforehand with
//! `socle plugin build plugins`) as signed packages of the demo partner to the local marketplace,
//! installs the plugins each tenant file wants through the normal resolver, then seeds the
//! tenant's demo records (`data.toml`). Idempotent: running it again brings the demo back to its
//! files (records already seeded are left as they are).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Deserialize;
use serde_json::{Map, Value};
use socle_tenants::{Actor, AssetKind, DemoUsers, NewTenant, Tenant, TenantFile};

use crate::app::App;
use crate::identity::accounts::CreateUser;
use crate::identity::secrets;
use crate::tenancy::branding::validate_image;

/// Every demo account's password (demo data only).
pub const DEMO_PASSWORD: &str = "socle-demo-2026";
/// The demo operator.
pub const DEMO_OPERATOR: &str = "ops@socle.demo";

/// The demo partner publishing the first-party plugins.
pub const DEMO_PUBLISHER: &str = "socle-verticals";

struct DemoTenant {
    tenant_toml: &'static str,
    users_toml: &'static str,
    data_toml: &'static str,
    logo: &'static [u8],
    /// Files the demo records attach (`files = { field = "name" }` in data.toml).
    files: &'static [(&'static str, &'static [u8])],
}

const DEMO_TENANTS: &[DemoTenant] = &[
    DemoTenant {
        tenant_toml: include_str!("../../../tenants/demo/connextoo/tenant.toml"),
        users_toml: include_str!("../../../tenants/demo/connextoo/users.toml"),
        data_toml: include_str!("../../../tenants/demo/connextoo/data.toml"),
        logo: include_bytes!("../../../tenants/demo/connextoo/logo.svg"),
        files: &[
            ("orange-business-2026-10.csv", include_bytes!("../../../tenants/demo/connextoo/files/orange-business-2026-10.csv")),
            ("cfast-export-2026-10.csv", include_bytes!("../../../tenants/demo/connextoo/files/cfast-export-2026-10.csv")),
        ],
    },
    DemoTenant {
        tenant_toml: include_str!("../../../tenants/demo/atelier-pixel/tenant.toml"),
        users_toml: include_str!("../../../tenants/demo/atelier-pixel/users.toml"),
        data_toml: include_str!("../../../tenants/demo/atelier-pixel/data.toml"),
        logo: include_bytes!("../../../tenants/demo/atelier-pixel/logo.svg"),
        files: &[],
    },
];

/// Where the first-party plugins are (`SOCLE_DEMO_PLUGINS`, else `./plugins`).
fn plugins_dir() -> PathBuf {
    std::env::var_os("SOCLE_DEMO_PLUGINS").map_or_else(|| PathBuf::from("plugins"), PathBuf::from)
}

/// Publishes the built first-party plugins as the demo partner (signed with a key kept in the
/// data directory) and lists them.
async fn publish_plugins(app: &Arc<App>, report: &mut String) -> anyhow::Result<()> {
    let dir = plugins_dir();
    let built = crate::plugins::build::built(&dir).unwrap_or_default();
    anyhow::ensure!(
        !built.is_empty(),
        "the demo installs the first-party plugins of {}: build them first with `socle plugin build {}`",
        dir.display(),
        dir.display()
    );
    let key = PathBuf::from(&app.settings.plugins.cache_dir).parent().map_or_else(|| PathBuf::from("data"), PathBuf::from).join("demo-partner.key");
    if let Some(parent) = key.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    for (plugin, outcome) in super::package::publish_local(app, &dir, DEMO_PUBLISHER, &key).await? {
        let _ = writeln!(report, "Marketplace: {plugin} — {outcome} (publisher {DEMO_PUBLISHER})");
    }
    report.push('\n');
    Ok(())
}

/// Installs (or upgrades to) what the tenant file wants, through the resolver.
async fn install_plugins(app: &Arc<App>, tenant: &Arc<Tenant>, file: &TenantFile, actor: &Actor) -> anyhow::Result<Vec<String>> {
    use crate::marketplace::apply::{Change, Target};
    if file.plugins.is_empty() {
        return Ok(Vec::new());
    }
    let change = Change {
        kind: "apply",
        summary: "socle demo".into(),
        target: Target::Resolve { wants: file.plugins.clone(), upgrade: socle_marketplace::resolve::Upgrade::None, locked: None },
    };
    let plan = app.marketplace.plan(tenant, &change).await.map_err(|e| anyhow::anyhow!("tenant {}: {e}", tenant.slug))?;
    if !plan.steps.is_empty() {
        app.marketplace.apply(tenant, &change, actor).await.map_err(|e| anyhow::anyhow!("tenant {}: {e}", tenant.slug))?;
    }
    let installed = app.marketplace.current_lock(tenant.id).await?.1;
    Ok(installed.plugins.iter().map(|p| format!("{}@{}", p.id, p.version)).collect())
}

/// A tenant's demo records: records created in order (`@ref` strings name earlier records),
/// plugin settings, and plugin actions run at the end.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoData {
    #[serde(default)]
    settings: BTreeMap<String, Map<String, Value>>,
    #[serde(default)]
    records: Vec<DemoRecord>,
    #[serde(default)]
    actions: Vec<DemoAction>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoRecord {
    #[serde(default, rename = "ref")]
    name: Option<String>,
    collection: String,
    data: Map<String, Value>,
    /// Created by this demo user (a client user's records fall in their account).
    #[serde(default, rename = "as")]
    as_user: Option<String>,
    /// Transitions fired after creation, in order.
    #[serde(default)]
    transitions: Vec<String>,
    /// Fields changed after the transitions.
    #[serde(default)]
    then: Option<Map<String, Value>>,
    /// Client users (by email) attached to this customer account.
    #[serde(default)]
    users: Vec<String>,
    /// Files to upload into file fields: field → name of a file in the tenant's `files/`.
    #[serde(default)]
    files: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAction {
    plugin: String,
    action: String,
    ids: Vec<String>,
    #[serde(default)]
    params: Map<String, Value>,
}

fn substitute(value: &Value, refs: &BTreeMap<String, String>) -> anyhow::Result<Value> {
    Ok(match value {
        Value::String(s) if s.starts_with('@') => Value::String(refs.get(&s[1..]).cloned().with_context(|| format!("`{s}` names no earlier record"))?),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, refs)).collect::<anyhow::Result<_>>()?),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), substitute(v, refs)?))).collect::<anyhow::Result<_>>()?),
        other => other.clone(),
    })
}

fn substitute_map(map: &Map<String, Value>, refs: &BTreeMap<String, String>) -> anyhow::Result<Map<String, Value>> {
    match substitute(&Value::Object(map.clone()), refs)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

/// Seeds a tenant's demo records once (skipped when its first record already exists).
async fn seed_records(app: &Arc<App>, tenant: &Arc<Tenant>, text: &str, files: &[(&str, &[u8])], actor: &Actor) -> anyhow::Result<String> {
    use crate::records::{Caller, Principal};
    let data: DemoData = toml::from_str(text).map_err(|e| anyhow::anyhow!("data.toml of {}: {e}", tenant.slug))?;
    let system = Caller::system(tenant.id, "socle demo");
    for (plugin, settings) in &data.settings {
        for (key, value) in settings {
            app.plugins.store().set_setting(tenant.id, plugin, key, value, false, actor).await?;
        }
    }
    let Some(first) = data.records.first() else { return Ok(String::new()) };
    let probe = crate::records::Query {
        filters: first
            .data
            .iter()
            .filter(|(_, v)| v.is_string())
            .take(1)
            .map(|(k, v)| crate::records::query::Filter { field: k.clone(), op: Default::default(), value: v.clone() })
            .collect(),
        ..Default::default()
    };
    if !app.records.query(&system, &first.collection, &probe).await?.items.is_empty() {
        return Ok("demo records already there".into());
    }
    let mut refs: BTreeMap<String, String> = BTreeMap::new();
    let mut accounts: BTreeMap<String, uuid::Uuid> = BTreeMap::new();
    let mut count = 0;
    for (i, record) in data.records.iter().enumerate() {
        let at = || format!("tenant {}: data.toml record {} ({})", tenant.slug, i + 1, record.collection);
        let caller = match &record.as_user {
            None => system.clone(),
            Some(email) => {
                let (user, _) = app.users.by_email(tenant.id, email).await?.with_context(|| format!("{}: no demo user {email}", at()))?;
                Caller {
                    tenant: tenant.id,
                    actor: Actor { subject: format!("user:{}", user.id), label: user.email.clone(), ip: None, request_id: None },
                    principal: Principal::User { id: user.id, user_type: user.user_type, account: accounts.get(email).copied().or(user.account_id) },
                }
            }
        };
        let mut input = substitute_map(&record.data, &refs).with_context(at)?;
        for (field, name) in &record.files {
            let (_, bytes) = files.iter().find(|(n, _)| n == name).with_context(|| format!("{}: no demo file {name}", at()))?;
            let content_type = if name.ends_with(".csv") { "text/csv" } else { "application/octet-stream" };
            let file = app.records.upload(&caller, name, content_type, bytes).await.with_context(at)?;
            input.insert(field.clone(), file.field_value());
        }
        let created = app.records.create(&caller, &record.collection, input).await.with_context(at)?;
        for name in &record.transitions {
            app.records.transition(&system, created.id, name, None).await.with_context(|| format!("{}: transition {name}", at()))?;
        }
        if let Some(patch) = &record.then {
            app.records.update(&system, created.id, substitute_map(patch, &refs)?, None).await.with_context(at)?;
        }
        for email in &record.users {
            let (user, _) = app.users.by_email(tenant.id, email).await?.with_context(|| format!("{}: no demo user {email}", at()))?;
            let update = crate::identity::UserUpdate {
                display_name: user.display_name.clone(),
                user_type: user.user_type,
                locale: user.locale,
                status: user.status,
                account_id: Some(created.id),
            };
            app.users.update(tenant.id, user.id, &update, actor).await?;
            accounts.insert(email.clone(), created.id);
        }
        if let Some(name) = &record.name {
            refs.insert(name.clone(), created.id.to_string());
        }
        count += 1;
    }
    let mut done = vec![format!("{count} demo records")];
    for action in &data.actions {
        let plugin = app
            .plugins
            .plugin(tenant.id, &action.plugin)
            .await?
            .with_context(|| format!("tenant {}: plugin {} is not installed", tenant.slug, action.plugin))?;
        let ids = action
            .ids
            .iter()
            .map(|i| substitute(&Value::String(i.clone()), &refs).map(|v| v.as_str().unwrap_or_default().to_owned()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let params = substitute(&Value::Object(action.params.clone()), &refs)?.to_string();
        let call = crate::plugins::Call::RunAction { action: action.action.clone(), ids, params };
        match app.plugins.call(tenant, &plugin, call, None).await {
            Ok(crate::plugins::Output::Text(Ok(result))) => done.push(format!("{} {}: {result}", action.plugin, action.action)),
            Ok(crate::plugins::Output::Text(Err(e))) => anyhow::bail!("tenant {}: plugin {} refused {}: {e}", tenant.slug, plugin.label(), action.action),
            Ok(_) => anyhow::bail!("tenant {}: plugin {} answered {} with something else", tenant.slug, plugin.label(), action.action),
            Err(e) => anyhow::bail!("tenant {}: {} failed: {e}", tenant.slug, action.action),
        }
    }
    Ok(done.join("; "))
}

/// Seeds the demo and returns what to print (URLs and accounts).
pub async fn seed(app: &Arc<App>) -> anyhow::Result<String> {
    let actor = Actor::system("socle demo");
    let mut report = String::from("Demo ready. Every demo account's password is: ");
    report.push_str(DEMO_PASSWORD);
    report.push_str("\n\n");
    if DEMO_TENANTS.iter().any(|d| d.tenant_toml.contains("[plugins.")) {
        publish_plugins(app, &mut report).await?;
    }
    for demo in DEMO_TENANTS {
        let file = TenantFile::parse(demo.tenant_toml)?;
        let users = DemoUsers::parse(demo.users_toml)?;
        let section = &file.tenant;
        let tenant = match app.tenants.by_slug(&section.slug).await? {
            Some(existing) => app.tenants.update(existing.id, &section.patch(), &actor).await?,
            None => {
                let mut new = NewTenant::new(section.slug.clone(), section.name.clone());
                new.plan = section.plan;
                new.locale = section.locale;
                new.theme = section.theme.clone();
                app.tenants.create(new, &actor).await?
            }
        };
        let content_type = validate_image(AssetKind::Logo, demo.logo)?;
        app.tenants.put_asset(tenant.id, AssetKind::Logo, content_type, demo.logo, &actor).await?;
        app.resolver.changed(tenant.id, app.bus.as_ref()).await;

        let url = app.settings.tenant_url(tenant.slug.as_str());
        let _ = writeln!(report, "{} — {url}/  (or http://localhost:{}/t/{}/)", tenant.name, port(app), tenant.slug);
        for user in &users.users {
            match app.users.by_email(tenant.id, &user.email).await? {
                Some((existing, _)) => {
                    app.accounts.set_user_roles(tenant.id, &existing, &user.roles, &actor).await?;
                    let hash = secrets::hash_password(DEMO_PASSWORD).await?;
                    app.users.set_password(tenant.id, existing.id, &hash, &actor).await?;
                }
                None => {
                    let request = CreateUser {
                        email: user.email.clone(),
                        display_name: user.name.clone(),
                        user_type: user.user_type,
                        roles: user.roles.clone(),
                        password: Some(DEMO_PASSWORD.into()),
                        locale: None,
                    };
                    app.accounts.create_user(tenant.id, request, &actor).await?;
                }
            }
            let _ = writeln!(report, "  {:<40} {}", user.email, user.roles.join(", "));
        }
        let tenant = Arc::new(tenant);
        let installed = install_plugins(app, &tenant, &file, &actor).await?;
        if !installed.is_empty() {
            let _ = writeln!(report, "  plugins: {}", installed.join(", "));
        }
        let seeded = seed_records(app, &tenant, demo.data_toml, demo.files, &actor).await?;
        if !seeded.is_empty() {
            let _ = writeln!(report, "  data: {seeded}");
        }
        report.push('\n');
    }
    if app.operators.by_email(DEMO_OPERATOR).await?.is_none() {
        let hash = secrets::hash_password(DEMO_PASSWORD).await?;
        app.operators.create(DEMO_OPERATOR, "Opérateur démo", &hash, &actor).await?;
    }
    let _ = writeln!(report, "Operator console — http://localhost:{}/ops  ({DEMO_OPERATOR})", port(app));
    Ok(report)
}

fn port(app: &App) -> u16 {
    url::Url::parse(&app.settings.server.public_url).ok().and_then(|u| u.port_or_known_default()).unwrap_or(8080)
}
