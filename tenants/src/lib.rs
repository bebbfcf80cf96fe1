//! Socle's tenant model.
//!
//! A tenant is one white-label brand running on Socle: its id and slug, display name, plan and
//! quotas, branding (theme tokens, logo, favicon), locale, custom domains and the role templates
//! every new tenant starts from. This crate holds the model, its validation and the store trait;
//! it carries no SQL and no HTTP (the SQLite and PostgreSQL stores live in `socle-core`).
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod domain;
mod error;
mod file;
mod id;
mod locale;
mod plan;
pub mod roles;
mod slug;
mod store;
mod tenant;
mod theme;

pub use domain::DomainName;
pub use error::{TenantError, ValidationError};
pub use file::{DemoUser, DemoUsers, Pin, PluginWant, TenantFile, TenantSection, toml_error};
pub use id::TenantId;
pub use locale::Locale;
pub use plan::{Plan, PlanLimits};
pub use roles::{Permission, UserType};
pub use slug::Slug;
pub use store::{Actor, AssetKind, StoredAsset, TenantStore};
pub use tenant::{NewTenant, Tenant, TenantPatch, TenantStatus};
pub use theme::{Color, ContrastUse, ContrastWarning, FontFamily, ThemeTokens};
