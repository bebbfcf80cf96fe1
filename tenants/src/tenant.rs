use serde::{Deserialize, Serialize};

use crate::{DomainName, Locale, Plan, Slug, TenantId, ThemeTokens, ValidationError};

/// Whether a tenant's portal and API answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum TenantStatus {
    /// Serving requests.
    Active,
    /// Every request is refused with 403 until an operator reactivates the tenant.
    Suspended {
        /// Why, shown to operators and in the audit journal.
        reason: String,
    },
}

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    /// Stable id.
    pub id: TenantId,
    /// Short name used in host names and URLs.
    pub slug: Slug,
    /// Display name shown in the portal, mails and consoles.
    pub name: String,
    /// Commercial plan.
    pub plan: Plan,
    /// Active or suspended.
    pub status: TenantStatus,
    /// Default language of the portal and mails.
    pub locale: Locale,
    /// Design tokens.
    pub theme: ThemeTokens,
    /// Custom domains the portal answers on.
    pub domains: Vec<DomainName>,
    /// Whether users holding the "administrer" permission must use a second factor.
    pub require_mfa_for_admins: bool,
    /// sha256 of the current logo, if one was uploaded (changes when the logo does: cache key).
    pub logo_sha256: Option<String>,
    /// sha256 of the current favicon, if one was uploaded.
    pub favicon_sha256: Option<String>,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
    /// Last change, Unix milliseconds.
    pub updated_at: i64,
}

impl Tenant {
    /// Whether requests should be served.
    pub fn is_active(&self) -> bool {
        matches!(self.status, TenantStatus::Active)
    }
}

/// What it takes to create a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTenant {
    /// Short name, unique on the platform.
    pub slug: Slug,
    /// Display name.
    pub name: String,
    /// Commercial plan.
    #[serde(default)]
    pub plan: Plan,
    /// Default language.
    #[serde(default)]
    pub locale: Locale,
    /// Design tokens.
    #[serde(default)]
    pub theme: ThemeTokens,
}

impl NewTenant {
    /// A tenant with default plan, locale and theme.
    pub fn new(slug: Slug, name: impl Into<String>) -> Self {
        Self { slug, name: name.into(), plan: Plan::default(), locale: Locale::default(), theme: ThemeTokens::default() }
    }

    /// Checks the name and theme.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_name(&self.name)?;
        self.theme.validate()
    }
}

/// A partial update of a tenant's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    /// New display name.
    pub name: Option<String>,
    /// New plan.
    pub plan: Option<Plan>,
    /// New default language.
    pub locale: Option<Locale>,
    /// New design tokens.
    pub theme: Option<ThemeTokens>,
    /// Require a second factor for administrators.
    pub require_mfa_for_admins: Option<bool>,
}

impl TenantPatch {
    /// Checks every field present.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(name) = &self.name {
            validate_name(name)?;
        }
        if let Some(theme) = &self.theme {
            theme.validate()?;
        }
        Ok(())
    }

    /// Applies the patch to a tenant in memory (the stores persist the result).
    pub fn apply(&self, tenant: &mut Tenant) {
        if let Some(name) = &self.name {
            tenant.name = name.trim().to_owned();
        }
        if let Some(plan) = self.plan {
            tenant.plan = plan;
        }
        if let Some(locale) = self.locale {
            tenant.locale = locale;
        }
        if let Some(theme) = &self.theme {
            tenant.theme = theme.clone();
        }
        if let Some(require) = self.require_mfa_for_admins {
            tenant.require_mfa_for_admins = require;
        }
    }
}

/// A display name: 1 to 80 characters once trimmed, no control characters.
pub(crate) fn validate_name(name: &str) -> Result<(), ValidationError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 80 {
        return Err(ValidationError::new("name", "must be 1 to 80 characters long"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new("name", "must not contain control characters"));
    }
    Ok(())
}
