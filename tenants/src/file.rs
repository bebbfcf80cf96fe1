//! The declarative tenant file, `tenant.toml`: what a tenant should look like (settings and
//! branding now; installed plugins and their lockfile come with the marketplace). `socle demo`
//! builds the demo tenants from these files.

use serde::{Deserialize, Serialize};

use crate::roles::UserType;
use crate::{Locale, Plan, Slug, ThemeTokens, ValidationError};

/// A parsed `tenant.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFile {
    /// The tenant's settings.
    pub tenant: TenantSection,
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
