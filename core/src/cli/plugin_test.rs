//! `socle plugin test`: builds the plugin, installs it (and the plugins it depends on, from the
//! same workspace) in a demo tenant of an in-process platform on a temporary database, and runs
//! the scenarios in its `tests/*.toml` against the real host.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Map, Value};
use socle_tenants::Actor;

use crate::app::{App, BuildOptions};
use crate::clock::ShiftedClock;
use crate::config::Settings;
use crate::plugins::build::BuiltPlugin;
use crate::plugins::{Call, Output};
use crate::records::{Caller, Principal};

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it checks.
    pub name: String,
    /// Steps, in order.
    pub steps: Vec<Step>,
}

/// One step: exactly one action key, and expectations.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    create: Option<String>,
    update: Option<String>,
    transition: Option<String>,
    name: Option<String>,
    data: Option<Map<String, Value>>,
    route: Option<String>,
    body: Option<Value>,
    action: Option<String>,
    ids: Option<Vec<String>>,
    params: Option<Value>,
    query: Option<String>,
    filters: Option<Vec<Value>>,
    set_setting: Option<Map<String, Value>>,
    run_jobs: Option<bool>,
    advance: Option<String>,
    expect: Option<Map<String, Value>>,
    expect_error: Option<String>,
    expect_status: Option<u16>,
    expect_json: Option<Value>,
    expect_count: Option<usize>,
    /// Acts as a new user holding this business role from here on (`admin`: back to the demo
    /// administrator); with `account`, a client user of that customer account.
    as_role: Option<String>,
    account: Option<String>,
    /// Mails queued for the tenant so far must include one to `to` whose subject (or text)
    /// contains `contains`.
    expect_mail: Option<ExpectMail>,
    /// No mail to this address may have been queued.
    expect_no_mail_to: Option<String>,
    /// Fields the answer must not carry (hidden by a read permission).
    expect_absent: Option<Vec<String>>,
}

/// A mail a step expects.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectMail {
    to: String,
    #[serde(default)]
    contains: Option<String>,
}

/// Whether `actual` contains everything in `expected` (objects recursively, other values equal).
pub fn subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().all(|(k, v)| a.get(k).is_some_and(|av| subset(v, av))),
        (e, a) => e == a,
    }
}

struct Context {
    app: Arc<App>,
    clock: Arc<ShiftedClock>,
    tenant: Arc<socle_tenants::Tenant>,
    caller: Caller,
    plugin: String,
    ids: Vec<String>,
    admin: Caller,
    users: usize,
}

impl Context {
    fn resolve(&self, id: &str) -> anyhow::Result<uuid::Uuid> {
        let text = match id {
            "$last" => self.ids.last().context("$last: no record created yet")?.clone(),
            other if other.starts_with('$') => {
                let n: usize = other[1..].parse().with_context(|| format!("`{other}` is not a step reference like $1"))?;
                self.ids.get(n.saturating_sub(1)).with_context(|| format!("{other}: no record created at that step"))?.clone()
            }
            other => other.to_owned(),
        };
        uuid::Uuid::parse_str(&text).with_context(|| format!("`{text}` is not a record id"))
    }

    /// Replaces `$n` and `$last` strings inside a value with the ids they name.
    fn substitute(&self, value: &Value) -> anyhow::Result<Value> {
        Ok(match value {
            Value::String(s) if s == "$last" || (s.len() > 1 && s.starts_with('$') && s[1..].bytes().all(|b| b.is_ascii_digit())) => {
                Value::String(self.resolve(s)?.to_string())
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.substitute(v)).collect::<anyhow::Result<_>>()?),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), self.substitute(v)?))).collect::<anyhow::Result<_>>()?),
            other => other.clone(),
        })
    }

    fn substitute_map(&self, map: Option<&Map<String, Value>>) -> anyhow::Result<Map<String, Value>> {
        match self.substitute(&Value::Object(map.cloned().unwrap_or_default()))? {
            Value::Object(map) => Ok(map),
            _ => Ok(Map::new()),
        }
    }

    /// Switches the identity of the following steps.
    async fn act_as(&mut self, role: &str, account: Option<&str>) -> anyhow::Result<Value> {
        if role == "admin" {
            self.caller = self.admin.clone();
            return Ok(Value::from("admin"));
        }
        let template = socle_tenants::roles::template(role).with_context(|| format!("`{role}` is not a business role"))?;
        let account = account.map(|a| self.resolve(a)).transpose()?;
        let user_type = if account.is_some() { socle_tenants::UserType::Client } else { template.user_types[0] };
        self.users += 1;
        let request = crate::identity::accounts::CreateUser {
            email: format!("{role}-{}@plugin-demo.localhost", self.users),
            display_name: format!("{} {}", template.name_fr, self.users),
            user_type,
            roles: vec![role.to_owned()],
            password: None,
            locale: None,
        };
        let (user, _) = self.app.accounts.create_user(self.tenant.id, request, &Actor::cli("socle plugin test")).await?;
        self.caller = Caller {
            tenant: self.tenant.id,
            actor: Actor { subject: format!("user:{}", user.id), label: user.email.clone(), ip: None, request_id: None },
            principal: Principal::User { id: user.id, user_type: user.user_type, account },
        };
        Ok(Value::from(user.email))
    }

    async fn step(&mut self, step: &Step) -> anyhow::Result<String> {
        if let Some(role) = &step.as_role {
            let who = self.act_as(role, step.account.as_deref()).await?;
            return Ok(format!("now acting as {who}"));
        }
        let data = self.substitute_map(step.data.as_ref())?;
        let expect = step.expect.as_ref().map(|e| self.substitute_map(Some(e))).transpose()?;
        let records = &self.app.records;
        let result: Result<Value, String> = if let Some(collection) = &step.create {
            records
                .create(&self.caller, collection, data)
                .await
                .map(|r| {
                    self.ids.push(r.id.to_string());
                    Value::Object(r.data)
                })
                .map_err(|e| e.to_string())
        } else if let Some(id) = &step.update {
            let id = self.resolve(id)?;
            records.update(&self.caller, id, data, None).await.map(|r| Value::Object(r.data)).map_err(|e| e.to_string())
        } else if let Some(id) = &step.transition {
            let id = self.resolve(id)?;
            let name = step.name.as_deref().context("a transition step needs `name`")?;
            records.transition(&self.caller, id, name, None).await.map(|r| Value::Object(r.data)).map_err(|e| e.to_string())
        } else if let Some(route) = &step.route {
            let (method, path) = route.split_once(' ').context("route is `METHOD /path`")?;
            let plugin = self.app.plugins.plugin(self.tenant.id, &self.plugin).await?.context("the plugin is not installed")?;
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            let request = crate::plugins::host::exports::socle::plugin::routes::Request {
                method: method.into(),
                path: path.into(),
                query: query.into(),
                headers: vec![("content-type".into(), "application/json".into())],
                body: step.body.as_ref().map(|b| self.substitute(b)).transpose()?.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
                user: self.caller.user_id().map(|u| format!("user:{u}")),
            };
            match self.app.plugins.call(&self.tenant, &plugin, Call::Route(request), self.caller.user_id().map(|u| format!("user:{u}"))).await {
                Ok(Output::Route(response)) => {
                    if let Some(status) = step.expect_status
                        && response.status != status
                    {
                        bail!("expected status {status}, got {} ({})", response.status, String::from_utf8_lossy(&response.body));
                    }
                    Ok(serde_json::from_slice(&response.body).unwrap_or(Value::String(String::from_utf8_lossy(&response.body).into_owned())))
                }
                Ok(_) => Err("the route answered something else".into()),
                Err(e) => Err(e.to_string()),
            }
        } else if let Some(action) = &step.action {
            let plugin = self.app.plugins.plugin(self.tenant.id, &self.plugin).await?.context("the plugin is not installed")?;
            let ids = step.ids.clone().unwrap_or_default().iter().map(|i| self.resolve(i).map(|u| u.to_string())).collect::<anyhow::Result<Vec<_>>>()?;
            let params = self.substitute(&step.params.clone().unwrap_or(Value::Object(Map::new())))?.to_string();
            match self.app.plugins.call(&self.tenant, &plugin, Call::RunAction { action: action.clone(), ids, params }, None).await {
                Ok(Output::Text(Ok(json))) => Ok(serde_json::from_str(&json).unwrap_or(Value::Null)),
                Ok(Output::Text(Err(e))) => Err(e),
                Ok(_) => Err("the action answered something else".into()),
                Err(e) => Err(e.to_string()),
            }
        } else if let Some(collection) = &step.query {
            let filters = self.substitute(&Value::Array(step.filters.clone().unwrap_or_default()))?;
            let query: crate::records::Query = serde_json::from_value(serde_json::json!({ "filters": filters, "count": true }))?;
            records.query(&self.caller, collection, &query).await.map(|p| Value::from(p.total.unwrap_or(0))).map_err(|e| e.to_string())
        } else if let Some(settings) = &step.set_setting {
            let installed = self.app.plugins.plugin(self.tenant.id, &self.plugin).await?.context("the plugin is not installed")?;
            for (key, value) in settings {
                let secret = installed.manifest.settings.iter().any(|s| &s.field.name == key && s.secret);
                self.app.plugins.store().set_setting(self.tenant.id, &self.plugin, key, value, secret, &Actor::cli("socle plugin test")).await?;
            }
            Ok(Value::Null)
        } else if let Some(expected) = &step.expect_mail {
            let mails = self.app.mailer.store().list(self.tenant.id, 500).await?;
            let found =
                mails.iter().find(|m| m.recipient == expected.to && expected.contains.as_deref().is_none_or(|c| m.subject.contains(c) || m.text.contains(c)));
            match found {
                Some(mail) => Ok(Value::String(format!("mail to {}: {}", mail.recipient, mail.subject))),
                None => {
                    let seen: Vec<String> = mails.iter().map(|m| format!("{} « {} »", m.recipient, m.subject)).collect();
                    bail!(
                        "no mail to {} containing {:?}; queued: {}",
                        expected.to,
                        expected.contains,
                        if seen.is_empty() { "none".into() } else { seen.join(", ") }
                    )
                }
            }
        } else if let Some(to) = &step.expect_no_mail_to {
            let mails = self.app.mailer.store().list(self.tenant.id, 500).await?;
            match mails.iter().find(|m| &m.recipient == to) {
                Some(mail) => bail!("expected no mail to {to}, found « {} »", mail.subject),
                None => Ok(Value::Null),
            }
        } else if step.run_jobs == Some(true) {
            let ran = self.app.worker().run_until_idle().await?;
            Ok(Value::from(ran))
        } else if let Some(duration) = &step.advance {
            let d = socle_marketplace::schema::parse_duration(duration).map_err(|e| anyhow::anyhow!(e))?;
            self.clock.advance(d);
            Ok(Value::Null)
        } else {
            bail!(
                "the step has no action (create, update, transition, route, action, query, set_setting, run_jobs, advance, as_role, expect_mail, expect_no_mail_to)"
            );
        };
        match (result, &step.expect_error) {
            (Err(error), Some(expected)) if error.contains(expected.as_str()) => Ok(format!("refused as expected: {error}")),
            (Err(error), Some(expected)) => bail!("expected an error containing `{expected}`, got `{error}`"),
            (Err(error), None) => bail!("{error}"),
            (Ok(value), Some(expected)) => bail!("expected an error containing `{expected}`, but it succeeded: {value}"),
            (Ok(value), None) => {
                if let Some(expected) = expect {
                    let expected = Value::Object(expected);
                    if !subset(&expected, &value) {
                        bail!("expected {expected}, got {value}");
                    }
                }
                if let Some(expected) = &step.expect_json
                    && !subset(expected, &value)
                {
                    bail!("expected {expected}, got {value}");
                }
                if let Some(absent) = &step.expect_absent
                    && let Some(present) = absent.iter().find(|f| value.get(f.as_str()).is_some())
                {
                    bail!("expected no `{present}` in {value}");
                }
                if let Some(count) = step.expect_count
                    && value.as_u64() != Some(count as u64)
                {
                    bail!("expected {count} records, got {value}");
                }
                Ok(format!("{value}").chars().take(120).collect())
            }
        }
    }
}

/// Installs `target` after the plugins it depends on (from `available`).
async fn install_with_dependencies(app: &App, tenant: &Arc<socle_tenants::Tenant>, target: &BuiltPlugin, available: &[BuiltPlugin]) -> anyhow::Result<()> {
    let mut order: Vec<&BuiltPlugin> = Vec::new();
    fn visit<'a>(p: &'a BuiltPlugin, available: &'a [BuiltPlugin], order: &mut Vec<&'a BuiltPlugin>, depth: usize) -> anyhow::Result<()> {
        anyhow::ensure!(depth < 20, "dependency cycle around {}", p.manifest.plugin.id);
        for dep in p.manifest.dependencies.keys() {
            let found = available
                .iter()
                .find(|a| &a.manifest.plugin.id == dep)
                .with_context(|| format!("{} depends on {dep}, which is not in this workspace", p.manifest.plugin.id))?;
            visit(found, available, order, depth + 1)?;
        }
        if !order.iter().any(|o| o.manifest.plugin.id == p.manifest.plugin.id) {
            order.push(p);
        }
        Ok(())
    }
    visit(target, available, &mut order, 0)?;
    for plugin in order {
        super::plugin_tools::install(app, tenant, plugin, "socle plugin test").await?;
    }
    Ok(())
}

/// A scratch directory removed when dropped, whatever happened.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the plugin's unit tests natively (against the SDK's in-memory host).
fn unit_tests(dir: &Path) -> anyhow::Result<()> {
    println!("unit tests (cargo test, in-memory host)");
    let status = std::process::Command::new("cargo").arg("test").arg("--quiet").current_dir(dir).status().context("failed to run cargo test")?;
    anyhow::ensure!(status.success(), "the plugin's unit tests failed (see cargo's output above)");
    Ok(())
}

/// Runs the plugin's unit tests, then its scenarios against the real host in a demo tenant.
pub async fn run(mut settings: Settings, dir: &Path) -> anyhow::Result<()> {
    unit_tests(dir)?;
    let built = super::plugin_tools::build_all(&workspace_of(dir))?;
    let target_manifest = socle_marketplace::manifest::Manifest::parse(&std::fs::read_to_string(dir.join("socle.toml")).context("no socle.toml here")?)
        .map_err(|e| anyhow::anyhow!("socle.toml: {e}"))?;
    let target = built.iter().find(|b| b.manifest.plugin.id == target_manifest.plugin.id).context("the plugin was not built")?;
    let scratch = Scratch(std::env::temp_dir().join(format!("socle-plugin-test-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&scratch.0)?;
    let scratch = &scratch.0;
    settings.database.url = SecretString::from(format!("sqlite://{}/test.db", scratch.display()));
    settings.redis.url = None;
    settings.mail.smtp_url = None;
    settings.mail.dir = scratch.join("mails").display().to_string();
    settings.plugins.cache_dir = std::env::temp_dir().join("socle-plugin-cache").display().to_string();
    let clock = ShiftedClock::new();
    let app = App::build(settings, BuildOptions { clock: clock.clone() }).await?;
    let tenant = Arc::new(super::plugin_tools::demo_tenant(&app).await?);
    install_with_dependencies(&app, &tenant, target, &built).await?;
    let (admin, _) = app.users.by_email(tenant.id, "admin@plugin-demo.localhost").await?.context("demo administrator missing")?;
    let caller = Caller {
        tenant: tenant.id,
        actor: Actor { subject: format!("user:{}", admin.id), label: admin.email.clone(), ip: None, request_id: None },
        principal: Principal::User { id: admin.id, user_type: admin.user_type, account: None },
    };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("tests"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect())
        .unwrap_or_default();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "no scenarios: add tests/*.toml (see the template of `socle plugin new`)");
    let mut failures = 0;
    let mut users_created = 0;
    let mut results: BTreeMap<String, bool> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let scenario: Scenario =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", file.display(), socle_marketplace::schema::toml_error(&text, &e)))?;
        let mut context = Context {
            app: app.clone(),
            clock: clock.clone(),
            tenant: tenant.clone(),
            caller: caller.clone(),
            plugin: target.manifest.plugin.id.clone(),
            ids: Vec::new(),
            admin: caller.clone(),
            users: users_created,
        };
        println!("scenario: {} ({})", scenario.name, file.file_name().and_then(|n| n.to_str()).unwrap_or(""));
        let mut ok = true;
        for (i, step) in scenario.steps.iter().enumerate() {
            match context.step(step).await {
                Ok(summary) => println!("  ✓ step {}: {summary}", i + 1),
                Err(err) => {
                    println!("  ✗ step {}: {err:#}", i + 1);
                    ok = false;
                    break;
                }
            }
        }
        users_created = context.users;
        if !ok {
            failures += 1;
        }
        results.insert(scenario.name, ok);
    }
    if failures > 0 {
        bail!("{failures} of {} scenarios failed", results.len());
    }
    println!("all {} scenarios passed", results.len());
    Ok(())
}

/// The directory to build: the plugin's workspace if it is a member of one, else itself.
fn workspace_of(dir: &Path) -> std::path::PathBuf {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    match dir.parent() {
        Some(parent) if std::fs::read_to_string(parent.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]")) => parent.to_path_buf(),
        _ => dir,
    }
}
