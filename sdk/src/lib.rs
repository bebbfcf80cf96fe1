//! The Socle plugin SDK.
//!
//! A Socle plugin is a WebAssembly component that a tenant administrator installs from the
//! marketplace. With this crate, a plugin is a type implementing [`Plugin`] — every method has a
//! default, so you implement only what your manifest subscribes to — registered with
//! [`register_plugin!`]. From its methods, the plugin calls the host through the modules of this
//! crate: [`records`], [`kv`], [`config`], [`http`], [`mail`], [`events`], [`log`], [`clock`],
//! [`random`], [`connectors`] and [`files`]. Each call succeeds only if the plugin's manifest (`socle.toml`) declared the
//! capability and the tenant granted it; otherwise it returns [`Error::Denied`].
//!
//! ```
//! use socle_sdk::{FilterOutcome, Plugin, Write};
//!
//! struct Tickets;
//!
//! impl Plugin for Tickets {
//!     fn filter(write: &Write) -> FilterOutcome {
//!         // Every new ticket gets a priority.
//!         let mut data = write.data.clone();
//!         if write.op == "create" && data.get("priority").is_none() {
//!             data["priority"] = socle_sdk::json!(3);
//!             return FilterOutcome::Change(data);
//!         }
//!         FilterOutcome::Keep
//!     }
//! }
//!
//! socle_sdk::register_plugin!(Tickets);
//! # fn main() {
//! # let write = Write { hook: "tickets".into(), op: "create".into(), collection: "t.ticket".into(), id: "x".into(),
//! #     before: None, data: socle_sdk::json!({"subject": "Hello"}), transition: None, actor: "user:1".into() };
//! # assert!(matches!(Tickets::filter(&write), FilterOutcome::Change(d) if d["priority"] == 3));
//! # }
//! ```
//!
//! Off WebAssembly (unit tests, these docs), host calls go to an in-memory host: see
//! [`testing`]. `socle plugin test` runs your plugin against the real host.

#[doc(hidden)]
pub mod bindings;
mod error;
mod host;
mod plugin;

pub mod clock;
pub mod config;
pub mod connectors;
pub mod events;
pub mod files;
pub mod http;
pub mod kv;
pub mod log;
pub mod mail;
pub mod random;
pub mod records;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod text;

pub use error::{Error, FieldError};
#[doc(hidden)]
pub use plugin::glue as __glue;
pub use plugin::{Event, FilterOutcome, Plugin, Request, Response, Write};
pub use records::{Query, Record};
pub use serde_json::{Value, json};

/// The host API version this SDK speaks. [`register_plugin!`] embeds it in the component (custom
/// section `socle:api-version`); the host refuses a plugin whose version it does not serve.
pub const API_VERSION: &str = "1.2.0";

/// Registers `T: Plugin` as the component's implementation of the `socle:plugin` world, and embeds
/// the API version. Use it once per plugin crate.
///
/// ```
/// struct Hello;
/// impl socle_sdk::Plugin for Hello {}
/// socle_sdk::register_plugin!(Hello);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        pub struct __SoclePlugin;

        $crate::__impl_guests!(__SoclePlugin, $plugin);

        #[cfg(target_arch = "wasm32")]
        $crate::bindings::__export_socle_plugin!(__SoclePlugin with_types_in $crate::bindings);

        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "socle:api-version")]
        #[used]
        static __SOCLE_API_VERSION: [u8; 5] = *b"1.2.0";
    };
}
