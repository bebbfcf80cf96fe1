//! Socle's core: the platform behind the `socle` binary.
//!
//! Storage ([`db`]) on SQLite or PostgreSQL, tenants ([`tenancy`]), identity ([`identity`]),
//! authorization with casbin ([`authz`]), the audit journal ([`audit`]), cache and bus
//! ([`cache`], [`bus`]), HTTP surfaces ([`http`]) and the command line ([`cli`]), composed in
//! [`app::App`].

pub mod app;
pub mod audit;
pub mod authz;
pub mod backup;
pub mod bus;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod email;
pub mod error;
pub mod http;
pub mod i18n;
pub mod identity;
pub mod jobs;
pub mod mail;
pub mod marketplace;
pub mod plugins;
pub mod records;
pub mod telemetry;
pub mod tenancy;

pub use app::{App, BuildOptions};
pub use config::Settings;
