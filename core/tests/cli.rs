//! The `socle` binary as an operator uses it: every command answers `--help`, tenants and users
//! are created and listed, mistakes get a clear message and a failing exit code.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

struct Cli {
    dir: std::path::PathBuf,
}

impl Cli {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("socle-cli-{}{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_socle"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env("DATABASE_URL", format!("sqlite://{}/socle.db", self.dir.display()))
            // `socle demo` installs the first-party plugins, built by the test command.
            .env("SOCLE_DEMO_PLUGINS", concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins"))
            .env_remove("REDIS_URL")
            .env_remove("RUST_LOG");
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("-{nanos}")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn every_command_has_help() {
    let cli = Cli::new();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["tenant", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["tenant", "suspend", "--help"],
        vec!["user", "create", "--help"],
        vec!["user", "reset-password", "--help"],
        vec!["operator", "create", "--help"],
        vec!["demo", "--help"],
        vec!["plugin", "pack", "--help"],
        vec!["plugin", "publish", "--help"],
        vec!["publisher", "create", "--help"],
        vec!["marketplace", "queue", "--help"],
        vec!["marketplace", "kill", "--help"],
        vec!["marketplace", "rollouts", "--help"],
        vec!["marketplace", "charge", "--help"],
        vec!["marketplace", "statement", "--help"],
        vec!["marketplace", "reseller", "--help"],
        vec!["tenant", "apply", "--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
    ] {
        let output = cli.run(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(stdout(&output).contains("Usage:"), "{args:?}");
    }
}

#[test]
fn a_backup_goes_to_the_backup_directory_and_restores_elsewhere() {
    let cli = Cli::new();
    assert!(cli.run(&["tenant", "create", "acme", "--name", "Acme Télécom"]).status.success());
    let written = cli.run(&["backup"]);
    assert!(written.status.success(), "{}", stderr(&written));
    assert!(stdout(&written).contains("backup written: ./data/backups/socle-backup-"), "{}", stdout(&written));
    let archives: Vec<_> = std::fs::read_dir(cli.dir.join("data/backups")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(archives.len(), 1, "{archives:?}");

    let elsewhere = format!("sqlite://{}/restored/socle.db", cli.dir.display());
    let restored = cli.command(&["restore", archives[0].to_str().unwrap(), "--yes"]).env("DATABASE_URL", &elsewhere).output().unwrap();
    assert!(restored.status.success(), "{}", stderr(&restored));
    let listed = cli.command(&["tenant", "list"]).env("DATABASE_URL", &elsewhere).output().unwrap();
    assert!(stdout(&listed).contains("acme"), "{}", stdout(&listed));

    let wrong = cli.command(&["backup"]).env("SOCLE__BACKUP__EVERY", "sometimes").output().unwrap();
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("backup.every must be a duration"), "{}", stderr(&wrong));
}

#[test]
fn tenants_and_users_are_managed_from_the_command_line() {
    let cli = Cli::new();
    let created = cli.run(&["tenant", "create", "acme", "--name", "Acme Télécom", "--plan", "business"]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stdout(&created).contains("http://acme.localhost:8080"));

    let duplicate = cli.run(&["tenant", "create", "acme", "--name", "Again"]);
    assert!(!duplicate.status.success());
    assert!(stderr(&duplicate).contains("the slug `acme` is already taken"), "{}", stderr(&duplicate));
    let bad_slug = cli.run(&["tenant", "create", "Acme!", "--name", "x"]);
    assert!(!bad_slug.status.success());
    assert!(stderr(&bad_slug).contains("slug: may only contain lowercase letters"), "{}", stderr(&bad_slug));

    let user = cli.run_with_stdin(
        &["user", "create", "--tenant", "acme", "--email", "claire@acme.fr", "--role", "direction", "--password-stdin"],
        "a long enough password\n",
    );
    assert!(user.status.success(), "{}", stderr(&user));
    assert!(!stdout(&user).contains("generated password"));
    let generated = cli.run(&["user", "create", "--tenant", "acme", "--email", "lucas@acme.fr", "--role", "support_n1"]);
    assert!(stdout(&generated).contains("generated password (shown once): "), "{}", stdout(&generated));
    let wrong_type = cli.run(&["user", "create", "--tenant", "acme", "--email", "c@client.fr", "--role", "direction", "--type", "client"]);
    assert!(!wrong_type.status.success());
    assert!(stderr(&wrong_type).contains("cannot be given to a `client` user"), "{}", stderr(&wrong_type));

    let listed = stdout(&cli.run(&["user", "list", "--tenant", "acme"]));
    assert!(listed.contains("claire@acme.fr") && listed.contains("direction") && listed.contains("support_n1"), "{listed}");

    let link = stdout(&cli.run(&["user", "reset-password", "--tenant", "acme", "--email", "claire@acme.fr"]));
    assert!(link.trim().starts_with("http://acme.localhost:8080/reset-password?token="), "{link}");

    let suspended = cli.run(&["tenant", "suspend", "acme", "--reason", "unpaid invoices"]);
    assert!(suspended.status.success());
    assert!(stdout(&cli.run(&["tenant", "list"])).contains("suspended"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&cli.run(&["tenant", "list", "--json"]))).unwrap();
    assert_eq!(json[0]["status"]["reason"], "unpaid invoices");

    let missing = cli.run(&["tenant", "delete", "nope", "--yes"]);
    assert!(stderr(&missing).contains("tenant `nope` does not exist"));
    assert!(cli.run(&["tenant", "delete", "acme", "--yes"]).status.success());
    assert!(!stdout(&cli.run(&["tenant", "list"])).contains("acme"));
}

#[test]
fn the_demo_seeds_two_branded_tenants_and_can_run_again() {
    let cli = Cli::new();
    for _ in 0..2 {
        let output = cli.run(&["demo"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let report = stdout(&output);
        assert!(report.contains("Connextoo Télécom — http://connextoo.localhost:8080/"), "{report}");
        assert!(report.contains("Atelier Pixel — http://atelier-pixel.localhost:8080/"), "{report}");
    }
    let listed = stdout(&cli.run(&["tenant", "list"]));
    assert_eq!(listed.lines().count(), 3, "{listed}");
}

#[test]
fn configuration_mistakes_are_explained() {
    let cli = Cli::new();
    let output = cli.command(&["migrate"]).env("DATABASE_URL", "mysql://nope").output().unwrap();
    assert!(!output.status.success());
    assert!(stderr(&output).contains("must start with sqlite:// or postgres://"), "{}", stderr(&output));
    let output = cli.command(&["migrate"]).env("SOCLE__SERVER__PUBLIC_URL", "not a url").output().unwrap();
    assert!(stderr(&output).contains("server.public_url"), "{}", stderr(&output));
}

#[test]
fn records_are_queried_from_the_command_line_with_the_api_query_shape() {
    let cli = Cli::new();
    assert!(cli.run(&["tenant", "create", "acme", "--name", "Acme"]).status.success());
    let collections = stdout(&cli.run(&["record", "collections", "--tenant", "acme"]));
    assert!(collections.contains("customer_account") && collections.contains("purchase_price:money"), "{collections}");
    let empty = cli.run(&["record", "query", "--tenant", "acme", "customer_account"]);
    assert!(empty.status.success(), "{}", stderr(&empty));
    assert_eq!(stdout(&empty), "");
    let bad = cli.run(&["record", "query", "--tenant", "acme", "customer_account", "--query", "{\"filters\":[{\"field\":\"nope\",\"value\":1}]}"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("`nope` is not a field of customer_account"), "{}", stderr(&bad));
    let garbage = cli.run(&["record", "query", "--tenant", "acme", "customer_account", "--query", "{"]);
    assert!(stderr(&garbage).contains("--query is not a valid query"), "{}", stderr(&garbage));
}

/// A partner's first steps: `socle plugin new`, then `socle plugin test` (unit tests natively,
/// scenarios against the real host), then a broken scenario reported as such, then `build` and
/// `install` into a tenant. Needs a WebAssembly toolchain (the test command sets one up).
#[test]
fn a_new_plugin_passes_its_own_tests_and_installs() {
    let cli = Cli::new();
    // Builds are incremental across runs: the plugin's artifacts live beside the workspace's.
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugin-cli-test");
    let plugin = |args: &[&str], dir: &std::path::Path| cli.command(args).current_dir(dir).env("CARGO_TARGET_DIR", &target).output().unwrap();

    let bad = cli.run(&["plugin", "new", "Bad-Name"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("is not a plugin id"), "{}", stderr(&bad));
    let created = cli.run(&["plugin", "new", "atelier"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let dir = cli.dir.join("atelier");
    for file in ["Cargo.toml", "socle.toml", "src/lib.rs", "tests/greeting.toml", "README.md"] {
        assert!(dir.join(file).is_file(), "{file} is missing");
    }
    let again = cli.run(&["plugin", "new", "atelier"]);
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));

    let tested = plugin(&["plugin", "test"], &dir);
    assert!(tested.status.success(), "{}\n{}", stdout(&tested), stderr(&tested));
    assert!(stdout(&tested).contains("all 1 scenarios passed"), "{}", stdout(&tested));

    // A scenario whose expectation no longer holds fails, saying which step and why.
    let scenario = dir.join("tests/greeting.toml");
    let text = std::fs::read_to_string(&scenario).unwrap().replace("Salut, Anne !", "Hello, Anne!");
    std::fs::write(&scenario, text).unwrap();
    let failed = plugin(&["plugin", "test"], &dir);
    assert!(!failed.status.success());
    assert!(stdout(&failed).contains("✗ step 3"), "{}", stdout(&failed));
    assert!(stderr(&failed).contains("1 of 1 scenarios failed"), "{}", stderr(&failed));

    // The built component installs in a tenant (as `socle plugin run` does on every change).
    assert!(cli.run(&["tenant", "create", "acme", "--name", "Acme"]).status.success());
    let installed = plugin(&["plugin", "install", "--tenant", "acme", "."], &dir);
    assert!(installed.status.success(), "{}", stderr(&installed));
    assert!(stdout(&installed).contains("installed atelier@0.1.0 in tenant acme"), "{}", stdout(&installed));
    let collections = stdout(&cli.run(&["record", "collections", "--tenant", "acme"]));
    assert!(collections.contains("atelier.greeting"), "{collections}");

    // `socle plugin run` serves it in a demo tenant and reloads it when the source changes.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = cli
        .command(&["plugin", "run", "--addr", &format!("127.0.0.1:{port}")])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let hello = format!("http://127.0.0.1:{port}/t/plugin-demo/api/v1/x/atelier/hello");
    let served = wait_for_body(&hello, |body| body.contains("\"hello\""));
    let source = dir.join("src/lib.rs");
    let code = std::fs::read_to_string(&source).unwrap().replace("json!({ \"hello\": request.user })", "json!({ \"bonjour\": request.user })");
    std::fs::write(&source, code).unwrap();
    let reloaded = wait_for_body(&hello, |body| body.contains("\"bonjour\""));
    let _ = server.kill();
    let _ = server.wait();
    assert!(served.is_some(), "the plugin was never served at {hello}");
    assert!(reloaded.is_some(), "the changed plugin was never reloaded");
}

/// Polls `url` (plain HTTP/1.1 over a socket) for up to three minutes until its body passes `ok`.
fn wait_for_body(url: &str, ok: impl Fn(&str) -> bool) -> Option<String> {
    use std::io::Read as _;
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while std::time::Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(host) {
            let request = format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            let mut response = String::new();
            if stream.write_all(request.as_bytes()).is_ok() && stream.read_to_string(&mut response).is_ok() && ok(&response) {
                return Some(response);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    None
}

/// The fixture plugins, built by the test command before the tests run.
fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

#[test]
fn a_crash_while_applying_a_tenant_leaves_the_old_set_and_a_declarative_tenant_round_trips() {
    let cli = Cli::new();
    let key = cli.dir.join("signing.key");
    for plugin in ["good", "addon"] {
        let dir = fixtures().join(plugin);
        let output = cli.run(&["marketplace", "publish-local", dir.to_str().unwrap(), "--publisher", "socle-tests", "--key", key.to_str().unwrap()]);
        assert!(output.status.success(), "publishing {plugin}: {}{}", stdout(&output), stderr(&output));
        assert!(stdout(&output).contains("listed"), "{}", stdout(&output));
    }
    let tenant_dir = cli.dir.join("acme");
    std::fs::create_dir_all(&tenant_dir).unwrap();
    std::fs::write(tenant_dir.join("tenant.toml"), "[tenant]\nslug = \"acme\"\nname = \"Acme SAS\"\n\n[plugins.addon]\nversion = \"^1\"\n").unwrap();
    let collections = |cli: &Cli| stdout(&cli.run(&["record", "collections", "--tenant", "acme"]));

    // Killed at each point of the operation, the tenant comes back with its old set once the
    // operation's lease runs out.
    for point in ["marketplace.apply.first_step", "marketplace.apply.before_commit"] {
        let output = cli.command(&["tenant", "apply", tenant_dir.to_str().unwrap()]).env("SOCLE_FAILPOINT", point).output().unwrap();
        assert!(!output.status.success(), "{point}: the process was meant to die");
        assert!(stderr(&output).contains(&format!("failpoint {point}")), "{point}: {}", stderr(&output));
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        let after = cli.command(&["record", "collections", "--tenant", "acme"]).env("SOCLE__MARKETPLACE__OPERATION_LEASE_SECS", "1").output().unwrap();
        assert!(after.status.success(), "{}", stderr(&after));
        assert!(!stdout(&after).contains("good.note"), "{point}: good must be rolled back: {}", stdout(&after));
        // The next start is what rolled it back (not a step that never ran), and says so.
        assert!(stderr(&after).contains("interrupted plugin operation rolled back"), "{point}: {}", stderr(&after));
    }

    // Applied for real, then exported: the files describe the tenant and its exact versions.
    let output = cli.run(&["tenant", "apply", tenant_dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("install good - → 1.0.0") && stdout(&output).contains("install addon - → 1.0.0"), "{}", stdout(&output));
    assert!(collections(&cli).contains("good.note"));
    let export_dir = cli.dir.join("export");
    let output = cli.run(&["tenant", "export", "acme", "--dir", export_dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let toml = std::fs::read_to_string(export_dir.join("tenant.toml")).unwrap();
    assert!(toml.contains("[plugins.addon]") && toml.contains("slug = \"acme\""), "{toml}");
    let lock = std::fs::read_to_string(export_dir.join("tenant.lock")).unwrap();
    assert!(lock.contains("\"good\"") && lock.contains("\"addon\"") && lock.contains("sha256:"), "{lock}");

    // Applying the export again changes nothing; a broken file is refused with its line.
    let output = cli.run(&["tenant", "apply", export_dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).contains("install "), "nothing to do: {}", stdout(&output));
    std::fs::write(export_dir.join("tenant.toml"), "[tenant]\nslug = \"acme\"\nname = \"Acme\"\n[plugins.addon]\nversion = \"pas une version\"\n").unwrap();
    let output = cli.run(&["tenant", "apply", export_dir.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("tenant.toml:5"), "{}", stderr(&output));
}

/// `good` at another version: the built fixture's component under an edited manifest, packed
/// as a partner would upload it.
fn good_package_at(version: &str, dir: &std::path::Path) -> std::path::PathBuf {
    use socle_marketplace::manifest::Manifest;
    use socle_marketplace::package::Package;
    let built = socle_core::plugins::build::built(&fixtures()).unwrap();
    let good = built.into_iter().find(|b| b.manifest.plugin.id == "good").unwrap();
    let text = std::fs::read_to_string(good.dir.join("socle.toml")).unwrap().replacen("version = \"1.0.0\"", &format!("version = \"{version}\""), 1);
    let manifest = Manifest::parse(&text).unwrap();
    let component = std::fs::read(&good.component).unwrap();
    let package = Package {
        manifest,
        manifest_text: text,
        component,
        readme: Some("# good\n".into()),
        changelog: Some(format!("- {version}\n")),
        assets: Default::default(),
    };
    let path = dir.join(package.file_name());
    std::fs::write(&path, package.pack()).unwrap();
    path
}

/// The version of `plugin` in the tenant's lockfile, as `socle tenant export` writes it.
fn locked_version(cli: &Cli, plugin: &str, env: &[(&str, &str)]) -> String {
    let dir = cli.dir.join(format!("export-{}", rand_suffix()));
    let mut command = cli.command(&["tenant", "export", "acme", "--dir", dir.to_str().unwrap()]);
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let lock = socle_marketplace::lockfile::Lockfile::parse(&std::fs::read_to_string(dir.join("tenant.lock")).unwrap()).unwrap();
    lock.get(plugin).map(|p| p.version.to_string()).unwrap_or_default()
}

#[test]
fn a_kill_9_in_the_middle_of_an_upgrade_leaves_the_old_version_or_the_new_one_and_the_data() {
    use std::io::BufRead as _;
    let cli = Cli::new();
    let key = cli.dir.join("signing.key");
    let publish = |path: &std::path::Path| {
        let output = cli.run(&["marketplace", "publish-local", path.to_str().unwrap(), "--publisher", "socle-tests", "--key", key.to_str().unwrap()]);
        assert!(output.status.success(), "publishing {}: {}{}", path.display(), stdout(&output), stderr(&output));
    };
    publish(&fixtures().join("good"));
    publish(&fixtures().join("addon"));
    let tenant_dir = cli.dir.join("acme");
    std::fs::create_dir_all(&tenant_dir).unwrap();
    let tenant_toml =
        |good: &str| format!("[tenant]\nslug = \"acme\"\nname = \"Acme SAS\"\n\n[plugins.addon]\nversion = \"^1\"\n\n[plugins.good]\nversion = \"{good}\"\n");
    std::fs::write(tenant_dir.join("tenant.toml"), tenant_toml("^1")).unwrap();
    let output = cli.run(&["tenant", "apply", tenant_dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    let output = cli.run(&["record", "create", "--tenant", "acme", "good.note", r#"{"title":"Relancer la facture 2026-114"}"#]);
    assert!(output.status.success(), "{}", stderr(&output));
    let notes = |cli: &Cli| stdout(&cli.run(&["record", "query", "--tenant", "acme", "good.note"]));
    assert!(notes(&cli).contains("Relancer la facture 2026-114"));

    // good 1.1.0 is published; the tenant asks for it: an upgrade under addon.
    publish(&good_package_at("1.1.0", &cli.dir));
    std::fs::write(tenant_dir.join("tenant.toml"), tenant_toml("^1.1")).unwrap();
    let lease = [("SOCLE__MARKETPLACE__OPERATION_LEASE_SECS", "1")];

    // SIGKILLed at each step of the upgrade, then restarted: good is back at 1.0.0 with its note.
    // Killed right after the commit: 1.1.0 stands, with its note.
    for (point, expected) in [
        ("marketplace.apply.journaled", "1.0.0"),
        ("marketplace.apply.first_step", "1.0.0"),
        ("marketplace.apply.before_commit", "1.0.0"),
        ("marketplace.apply.committed", "1.1.0"),
    ] {
        let mut child = cli
            .command(&["tenant", "apply", tenant_dir.to_str().unwrap()])
            .env("SOCLE_FAILPOINT", point)
            .env("SOCLE_FAILPOINT_ACTION", "pause")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr_lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let paused = stderr_lines.by_ref().map_while(Result::ok).any(|line| line.contains(&format!("failpoint {point}: paused")));
        assert!(paused, "{point}: the upgrade never reached its failpoint");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        assert_eq!(locked_version(&cli, "good", &lease), expected, "{point}");
        assert_eq!(locked_version(&cli, "addon", &lease), "1.0.0", "{point}");
        assert!(notes(&cli).contains("Relancer la facture 2026-114"), "{point}: the note is lost");
        if expected == "1.0.0" {
            // The good plugin still runs as 1.0.0: its hook still fires on a new note.
            let output = cli.run(&["record", "create", "--tenant", "acme", "good.note", &format!(r#"{{"title":"après {point}"}}"#)]);
            assert!(output.status.success(), "{point}: {}", stderr(&output));
        }
    }

    // Applying again changes nothing: the upgrade that survived the crash is complete.
    let output = cli.run(&["tenant", "apply", tenant_dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).contains("upgrade "), "nothing left to do: {}", stdout(&output));
}

#[test]
fn the_kill_switch_and_the_monthly_charge_run_from_the_command_line() {
    let cli = Cli::new();
    let key = cli.dir.join("signing.key");
    let output =
        cli.run(&["marketplace", "publish-local", fixtures().join("good").to_str().unwrap(), "--publisher", "socle-tests", "--key", key.to_str().unwrap()]);
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    let tenant_dir = cli.dir.join("acme");
    std::fs::create_dir_all(&tenant_dir).unwrap();
    std::fs::write(tenant_dir.join("tenant.toml"), "[tenant]\nslug = \"acme\"\nname = \"Acme SAS\"\n\n[plugins.good]\nversion = \"^1\"\n").unwrap();
    let output = cli.run(&["tenant", "apply", tenant_dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));

    // Bad input is refused with what to fix.
    let output = cli.run(&["marketplace", "kill", "good", "9.9.9", "--reason", "bug"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("good@9.9.9 is not in the marketplace"), "{}", stderr(&output));
    let output = cli.run(&["marketplace", "charge", "2026-13"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("write YYYY-MM"), "{}", stderr(&output));

    // Killing the only version: it is withdrawn, and the tenant that cannot go anywhere else is
    // named, with the command failing so an operator notices.
    let output = cli.run(&["marketplace", "kill", "good", "1.0.0", "--reason", "fuite de données"]);
    assert!(!output.status.success(), "{}", stdout(&output));
    assert!(stdout(&output).contains("good@1.0.0 is withdrawn (yanked): fuite de données"), "{}", stdout(&output));
    assert!(stdout(&output).contains("acme: NOT rolled back"), "{}", stdout(&output));
    assert!(stderr(&output).contains("1 tenant(s) could not be rolled back"), "{}", stderr(&output));
    let output = cli.run(&["marketplace", "rollouts"]);
    assert!(stdout(&output).contains("good@1.0.0 (from -): killed at 0% fuite de données"), "{}", stdout(&output));

    // A free plugin charges nothing; the statement is an empty CSV with its total line.
    let output = cli.run(&["marketplace", "reseller", "acme", "revendeur"]);
    assert!(output.status.success() && stdout(&output).contains("acme is now a customer of reseller revendeur"), "{}", stderr(&output));
    let output = cli.run(&["marketplace", "charge", "2026-11"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("2026-11: 0 ledger entries added, 0.00 in all"), "{}", stdout(&output));
    let output = cli.run(&["marketplace", "statement", "socle-tests", "2026-11"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 2, "header and total: {}", stdout(&output));
}
