//! The files `socle plugin new <name>` writes: a working plugin with a collection, a filter hook,
//! a route, a setting, and a test scenario.

/// `(path, content)` of each file.
pub fn files(name: &str, sdk: &str) -> Vec<(&'static str, String)> {
    let title = name.replace('_', " ");
    vec![
        (
            "Cargo.toml",
            format!(
                r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
socle-sdk = {sdk}
serde_json = "1"

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = "debuginfo"

# A workspace of its own, so the plugin builds wherever it is created. To keep several plugins
# in one workspace, remove this and list them as members of yours.
[workspace]
"#
            ),
        ),
        (
            "socle.toml",
            format!(
                r#"[plugin]
id = "{name}"
version = "0.1.0"
publisher = "me"
name = {{ fr = "{title}", en = "{title}" }}
description = {{ fr = "Salue les gens avec le message choisi par chaque client.", en = "Greets people with the message each tenant chooses." }}
categories = ["exemple"]
api = "^1.0"

[[capabilities]]
capability = "config"
reason = {{ fr = "Lire le message d'accueil choisi par le client", en = "Read the greeting the tenant chose" }}

# The plugin's own collection (it may read and write it without asking).
[[collections]]
name = "{name}.greeting"
label = {{ fr = "Salutations", en = "Greetings" }}
title_field = "name"

[[collections.fields]]
name = "name"
type = "text"
label = {{ fr = "Nom", en = "Name" }}
required = true

[[collections.fields]]
name = "message"
type = "text"
label = {{ fr = "Message", en = "Message" }}

# Runs inside every write of a greeting: fills in the message, refuses empty names.
[[hooks]]
name = "compose"
kind = "filter"
collection = "{name}.greeting"
on = ["create", "update"]

[[settings]]
name = "greeting"
type = "text"
label = {{ fr = "Message d'accueil", en = "Greeting" }}
default = "Bonjour"
"#
            ),
        ),
        (
            "src/lib.rs",
            format!(
                r#"//! {title}: a Socle plugin.

use socle_sdk::{{FilterOutcome, Plugin, Request, Response, Value, Write, json}};

struct Greeter;

impl Plugin for Greeter {{
    /// Fills in `message` from the tenant's greeting setting.
    fn filter(write: &Write) -> FilterOutcome {{
        let name = write.data.get("name").and_then(Value::as_str).unwrap_or_default().trim().to_owned();
        if name.is_empty() {{
            return FilterOutcome::Veto("donnez un nom à saluer".into());
        }}
        let greeting: String = socle_sdk::config::get("greeting").ok().flatten().unwrap_or_else(|| "Bonjour".into());
        let mut data = write.data.clone();
        data["message"] = json!(format!("{{greeting}}, {{name}} !"));
        FilterOutcome::Change(data)
    }}

    /// `GET /api/v1/x/{name}/hello`.
    fn handle(request: &Request) -> Response {{
        match (request.method.as_str(), request.path.as_str()) {{
            ("GET", "/hello") => Response::json(200, &json!({{ "hello": request.user }})),
            _ => Response::text(404, "no such route"),
        }}
    }}
}}

socle_sdk::register_plugin!(Greeter);

#[cfg(test)]
mod tests {{
    use super::*;

    // Unit tests run natively against the SDK's in-memory host; `socle plugin test` runs the
    // scenarios in tests/ against the real host.
    #[test]
    fn composes_the_message_from_the_setting() {{
        socle_sdk::testing::set_config("greeting", json!("Salut"));
        let write = Write {{
            hook: "compose".into(), op: "create".into(), collection: "{name}.greeting".into(), id: "1".into(),
            before: None, data: json!({{ "name": "Anne" }}), transition: None, actor: "user:1".into(),
        }};
        assert_eq!(Greeter::filter(&write), FilterOutcome::Change(json!({{ "name": "Anne", "message": "Salut, Anne !" }})));
    }}
}}
"#
            ),
        ),
        (
            "tests/greeting.toml",
            format!(
                r#"# A scenario `socle plugin test` runs against the real host, in a demo tenant.
name = "a greeting gets its message"

[[steps]]
create = "{name}.greeting"
data = {{ name = "monde" }}
expect = {{ message = "Bonjour, monde !" }}

[[steps]]
set_setting = {{ greeting = "Salut" }}

[[steps]]
create = "{name}.greeting"
data = {{ name = "Anne" }}
expect = {{ message = "Salut, Anne !" }}

[[steps]]
create = "{name}.greeting"
data = {{ name = " " }}
expect_error = "donnez un nom"

[[steps]]
route = "GET /hello"
expect_status = 200
"#
            ),
        ),
        (
            "README.md",
            format!(
                "# {title}\n\nA Socle plugin. `socle plugin test` runs its scenarios; `socle plugin run` serves it in a demo tenant; `socle plugin build` writes `target/socle/{name}.wasm`.\n"
            ),
        ),
        (".gitignore", "/target\n".into()),
    ]
}
