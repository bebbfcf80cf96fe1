//! The plugin runtime: every vertical and every partner extension runs here, as a sandboxed
//! WebAssembly component with the capabilities its manifest declared and its tenant granted.

pub mod build;
pub mod engine;
pub mod grants;
pub mod hooks;
pub mod host;
pub mod install;
pub mod overview;
pub mod receipts;
pub mod runtime;
pub mod services;
pub mod store;
pub mod uses;

pub use runtime::{Call, Entitlements, Output, PluginError, PluginRuntime};
pub use services::Services;
