//! The declarative tenant file, `tenant.toml`: what a tenant should look like — settings,
//! branding and the plugins it wants (semver ranges, channel, pins, grants). Beside it,
//! `tenant.lock` pins what those wants resolved to. `socle tenant export` writes both, `socle
//! tenant apply` makes a tenant match them, `socle demo` builds the demo tenants from them.

use std::collections::{BTreeMap, BTreeSet};

use semver::VersionReq;
use serde::{Deserialize, Serialize};

use crate::roles::UserType;
use crate::{Locale, Plan, Slug, ThemeTokens, ValidationError};

/// A parsed `tenant.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    /// The tenant's settings.
    pub tenant: TenantSection,
    /// Plugins the tenant wants, by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub plugins: BTreeMap<String, PluginWant>,
}

/// A plugin a tenant wants (`[plugins.<id>]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginWant {
    /// Acceptable versions (semver range); any by default.
    #[serde(default = "any_version")]
    pub version: VersionReq,
    /// Follow the beta channel (prereleases) for this plugin.
    #[serde(default, skip_serializing_if = "is_false")]
    pub beta: bool,
    /// Hold the plugin to these versions whatever else asks, with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<Pin>,
    /// The capabilities granted (grant keys); absent: every capability its manifest declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<BTreeSet<String>>,
    /// For a paid plugin: the tenant accepted its price.
    #[serde(default, skip_serializing_if = "is_false")]
    pub subscribed: bool,
}

impl PluginWant {
    /// Any version, default channel, every declared capability.
    pub fn any() -> Self {
        Self { version: any_version(), beta: false, pin: None, grants: None, subscribed: false }
    }
}

/// A pin and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// Allowed versions, usually `=x.y.z`.
    pub version: VersionReq,
    /// Why, shown when the pin blocks a resolution.
    pub reason: String,
}

fn any_version() -> VersionReq {
    VersionReq::STAR
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(value: &bool) -> bool {
    !*value
}

/// `[tenant]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSection {
    /// Slug.
    pub slug: Slug,
    /// Display name.
    pub name: String,
    /// Plan.
    #[serde(default)]
    pub plan: Plan,
    /// Default language.
    #[serde(default)]
    pub locale: Locale,
    /// Whether administrators must use a second factor.
    #[serde(default)]
    pub require_mfa_for_admins: bool,
    /// Design tokens.
    #[serde(default)]
    pub theme: ThemeTokens,
    /// Logo file, relative to the tenant file.
    pub logo: Option<String>,
    /// Favicon file, relative to the tenant file.
    pub favicon: Option<String>,
}

impl TenantSection {
    /// The change that makes a stored tenant match this section (its name, plan, language,
    /// second-factor rule and theme; the slug and assets are not part of it).
    pub fn patch(&self) -> crate::TenantPatch {
        crate::TenantPatch {
            name: Some(self.name.clone()),
            plan: Some(self.plan),
            locale: Some(self.locale),
            theme: Some(self.theme.clone()),
            require_mfa_for_admins: Some(self.require_mfa_for_admins),
        }
    }
}

/// Demo users of a tenant (`users.toml` beside a demo tenant file; never used for real tenants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoUsers {
    /// The users.
    pub users: Vec<DemoUser>,
}

/// One demo user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoUser {
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// User type.
    #[serde(rename = "type")]
    pub user_type: UserType,
    /// Business roles.
    pub roles: Vec<String>,
}

impl TenantFile {
    /// Parses and validates a tenant file; errors name the line and field.
    ///
    /// ```
    /// let file = socle_tenants::TenantFile::parse("[tenant]\nslug = \"acme\"\nname = \"Acme\"\n").unwrap();
    /// assert_eq!(file.tenant.slug.as_str(), "acme");
    /// assert!(socle_tenants::TenantFile::parse("[tenant]\nslug = \"Acme\"\nname = \"x\"\n").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let file: TenantFile = toml::from_str(text).map_err(|e| toml_error("tenant.toml", text, &e))?;
        crate::tenant::validate_name(&file.tenant.name)?;
        file.tenant.theme.validate()?;
        Ok(file)
    }
}

impl DemoUsers {
    /// Parses a demo users file.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        toml::from_str(text).map_err(|e| toml_error("users.toml", text, &e))
    }
}

/// A TOML error as a validation error naming the file, line and column.
pub fn toml_error(file: &str, text: &str, err: &toml::de::Error) -> ValidationError {
    let location = err
        .span()
        .map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, str::len) + 1;
            format!("{file}:{line}:{column}")
        })
        .unwrap_or_else(|| file.to_owned());
    ValidationError::new(location, err.message().to_owned())
}
