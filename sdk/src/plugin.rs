use serde_json::Value;

/// A write about to happen, as a filter hook sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The hook name from the manifest.
    pub hook: String,
    /// `create`, `update` or `delete`.
    pub op: String,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub id: String,
    /// Data before (updates, deletes).
    pub before: Option<Value>,
    /// Data after.
    pub data: Value,
    /// The transition being fired, if any.
    pub transition: Option<String>,
    /// Who writes (`user:<id>`, `plugin:<id>`, `system`).
    pub actor: String,
}

/// What a filter hook decides.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterOutcome {
    /// Let the write through.
    Keep,
    /// Replace the data (checked against the schema again).
    Change(Value),
    /// Refuse the write; the reason is shown to the user.
    Veto(String),
}

/// Something that happened, as an action hook receives it (after commit, at least once).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The hook name from the manifest.
    pub hook: String,
    /// `record.created`, `record.updated`, `record.deleted`, `record.transitioned` or a workflow
    /// event (`sla.breached`).
    pub name: String,
    /// Collection.
    pub collection: String,
    /// Record id.
    pub record_id: String,
    /// Version after the change.
    pub version: i64,
    /// Details. For a record's change: `changed` (field names), `transition` (fired, if any),
    /// `state` (the workflow state this change reached — the record may have moved on by the
    /// time the hook runs) and `actor` (`user:<id>`, `plugin:<id>`, `system`).
    pub payload: Value,
}

/// An HTTP request to one of the plugin's routes (`/api/v1/x/<plugin>/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Path after `/api/v1/x/<plugin>`.
    pub path: String,
    /// Query string (without `?`).
    pub query: String,
    /// Headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// The logged-in user (`user:<id>`), if any.
    pub user: Option<String>,
}

/// The answer to a [`Request`].
///
/// ```
/// let ok = socle_sdk::Response::json(200, &socle_sdk::json!({"ok": true}));
/// assert_eq!(ok.headers, vec![("content-type".to_string(), "application/json".to_string())]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &Value) -> Self {
        Self { status, headers: vec![("content-type".into(), "application/json".into())], body: value.to_string().into_bytes() }
    }

    /// A plain text response.
    ///
    /// ```
    /// assert_eq!(socle_sdk::Response::text(404, "no such route").status, 404);
    /// ```
    pub fn text(status: u16, text: &str) -> Self {
        Self { status, headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())], body: text.as_bytes().to_vec() }
    }
}

/// A plugin: implement the methods your manifest subscribes to; the others keep their defaults.
///
/// ```
/// use socle_sdk::{Event, Plugin};
///
/// struct Audit;
///
/// impl Plugin for Audit {
///     fn action(event: &Event) -> Result<(), String> {
///         socle_sdk::log::info(&format!("{} on {}", event.name, event.record_id));
///         Ok(())
///     }
/// }
/// # let event = Event { hook: "h".into(), name: "record.created".into(), collection: "c".into(),
/// #     record_id: "r".into(), version: 1, payload: socle_sdk::json!({}) };
/// # assert!(Audit::action(&event).is_ok());
/// ```
pub trait Plugin {
    /// Called once when a tenant installs the plugin (create defaults, seed data).
    fn install() -> Result<(), String> {
        Ok(())
    }

    /// Called when a tenant moves to this version from `from_version` (migrate data).
    fn upgrade(from_version: &str) -> Result<(), String> {
        let _ = from_version;
        Ok(())
    }

    /// Called when a tenant uninstalls the plugin (its data is kept for a grace period).
    fn uninstall() -> Result<(), String> {
        Ok(())
    }

    /// A filter hook: runs inside a write and may change or veto it.
    fn filter(write: &Write) -> FilterOutcome {
        let _ = write;
        FilterOutcome::Keep
    }

    /// An action hook: runs after a change committed. An error makes the host retry later.
    fn action(event: &Event) -> Result<(), String> {
        let _ = event;
        Ok(())
    }

    /// An action on records (a button or a mass action declared in the manifest).
    fn run_action(action: &str, ids: &[String], params: &Value) -> Result<Value, String> {
        let _ = (ids, params);
        Err(format!("this plugin has no action `{action}`"))
    }

    /// An HTTP request to the plugin's routes.
    fn handle(request: &Request) -> Response {
        Response::text(404, &format!("no route {} {}", request.method, request.path))
    }

    /// An HTML panel for the portal (sanitised and themed by the host).
    fn render_panel(panel: &str, record_id: Option<&str>) -> Result<String, String> {
        let _ = record_id;
        Err(format!("this plugin has no panel `{panel}`"))
    }
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

#[doc(hidden)]
pub mod glue {
    //! Conversions between the generated bindings and the SDK's types, used by
    //! `register_plugin!`.

    use super::{Event, FilterOutcome, Request, Response, Write, parse};
    use crate::bindings::exports::socle::plugin::{hooks, routes};

    pub fn write(w: hooks::Write) -> Write {
        Write {
            hook: w.hook,
            op: w.op,
            collection: w.collection,
            id: w.id,
            before: w.before.as_deref().map(parse),
            data: parse(&w.data),
            transition: w.transition,
            actor: w.actor,
        }
    }

    pub fn outcome(o: FilterOutcome) -> hooks::FilterOutcome {
        match o {
            FilterOutcome::Keep => hooks::FilterOutcome::Keep,
            FilterOutcome::Change(v) => hooks::FilterOutcome::Change(v.to_string()),
            FilterOutcome::Veto(r) => hooks::FilterOutcome::Veto(r),
        }
    }

    pub fn event(e: hooks::Event) -> Event {
        Event { hook: e.hook, name: e.name, collection: e.collection, record_id: e.record_id, version: e.version, payload: parse(&e.payload) }
    }

    pub fn request(r: routes::Request) -> Request {
        Request { method: r.method, path: r.path, query: r.query, headers: r.headers, body: r.body, user: r.user }
    }

    pub fn response(r: Response) -> routes::Response {
        routes::Response { status: r.status, headers: r.headers, body: r.body }
    }

    pub fn params(json: &str) -> serde_json::Value {
        parse(json)
    }
}

#[doc(hidden)]
#[macro_export]
macro_rules! __impl_guests {
    ($wrapper:ident, $plugin:ty) => {
        impl $crate::bindings::exports::socle::plugin::lifecycle::Guest for $wrapper {
            fn install() -> Result<(), String> {
                <$plugin as $crate::Plugin>::install()
            }
            fn upgrade(from_version: String) -> Result<(), String> {
                <$plugin as $crate::Plugin>::upgrade(&from_version)
            }
            fn uninstall() -> Result<(), String> {
                <$plugin as $crate::Plugin>::uninstall()
            }
        }
        impl $crate::bindings::exports::socle::plugin::hooks::Guest for $wrapper {
            fn filter(w: $crate::bindings::exports::socle::plugin::hooks::Write) -> $crate::bindings::exports::socle::plugin::hooks::FilterOutcome {
                $crate::__glue::outcome(<$plugin as $crate::Plugin>::filter(&$crate::__glue::write(w)))
            }
            fn action(e: $crate::bindings::exports::socle::plugin::hooks::Event) -> Result<(), String> {
                <$plugin as $crate::Plugin>::action(&$crate::__glue::event(e))
            }
        }
        impl $crate::bindings::exports::socle::plugin::actions::Guest for $wrapper {
            fn run(action: String, ids: Vec<String>, params: String) -> Result<String, String> {
                <$plugin as $crate::Plugin>::run_action(&action, &ids, &$crate::__glue::params(&params)).map(|v| v.to_string())
            }
        }
        impl $crate::bindings::exports::socle::plugin::routes::Guest for $wrapper {
            fn handle(r: $crate::bindings::exports::socle::plugin::routes::Request) -> $crate::bindings::exports::socle::plugin::routes::Response {
                $crate::__glue::response(<$plugin as $crate::Plugin>::handle(&$crate::__glue::request(r)))
            }
        }
        impl $crate::bindings::exports::socle::plugin::panels::Guest for $wrapper {
            fn render(panel: String, record_id: Option<String>) -> Result<String, String> {
                <$plugin as $crate::Plugin>::render_panel(&panel, record_id.as_deref())
            }
        }
    };
}
