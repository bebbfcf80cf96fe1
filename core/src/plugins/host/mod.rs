//! The host side of `socle:plugin`: one module per capability, same shape each time (a grant
//! check, then the work). Each capability is registered in the linker with its own narrow view
//! of the invocation: the [`Invocation`] (who calls, what it may still do) and only the platform
//! services it needs — so each can be built and tested without a wasm guest.
//!
//! Guest failures are values (`host-error`), host failures are traps: a plugin that exceeds its
//! host-call budget is stopped, not told.

/// Declares a capability: `$marker`, how the linker registers it, and `$view`, what its host
/// calls reach — the [`invocation::Invocation`] and the services listed (each `name: Type`, borrowed).
macro_rules! capability {
    ($marker:ident => $view:ident { $($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        /// How the linker registers the capability: its view below.
        pub struct $marker;

        impl wasmtime::component::HasData for $marker {
            type Data<'a> = $view<'a>;
        }

        /// What the capability's host calls reach.
        pub struct $view<'a> {
            /// The invocation: tenant, calling plugin, grants, host-call accounting.
            pub inv: &'a mut Invocation,
            $($(#[$doc])* pub $field: &'a $ty,)*
        }
    };
}

pub mod clock;
pub mod config;
pub mod connectors;
pub mod events;
pub mod files;
pub mod http;
pub mod invocation;
pub mod kv;
mod linker;
pub mod log;
pub mod mail;
pub mod random;
pub mod records;
pub mod state;

wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use invocation::{Guest, Invocation};
pub use linker::add_to_linker;
pub use socle::plugin::types::{FieldError as WitFieldError, HostError};
pub use state::{LoadedPlugin, MemoryLimit, PendingFile, PluginState};
