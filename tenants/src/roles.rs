//! The three levels of roles every tenant starts with (seed `001`): a **user type** says who a
//! person is to the tenant, a **business role** says what job they do, and **permissions** are the
//! fine-grained rights the code checks. Tenants can add roles and change grants; these templates
//! are only the starting point written into a new tenant's policies.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Locale, ValidationError};

/// Level 1: who a person is to the tenant. It bounds which business roles they may hold (a client
/// can never be made Direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    /// Staff of the tenant.
    Interne,
    /// A customer of the tenant.
    Client,
    /// A partner company.
    Partenaire,
    /// A reseller selling the tenant's offer.
    Revendeur,
    /// A field technician.
    Technicien,
}

impl UserType {
    /// Every user type.
    pub const ALL: [UserType; 5] = [Self::Interne, Self::Client, Self::Partenaire, Self::Revendeur, Self::Technicien];

    /// The key as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Interne => "interne",
            Self::Client => "client",
            Self::Partenaire => "partenaire",
            Self::Revendeur => "revendeur",
            Self::Technicien => "technicien",
        }
    }

    /// The label in `locale`.
    pub fn label(&self, locale: Locale) -> &'static str {
        match (self, locale) {
            (Self::Interne, Locale::Fr) => "Interne",
            (Self::Interne, Locale::En) => "Internal",
            (Self::Client, _) => "Client",
            (Self::Partenaire, Locale::Fr) => "Partenaire",
            (Self::Partenaire, Locale::En) => "Partner",
            (Self::Revendeur, Locale::Fr) => "Revendeur",
            (Self::Revendeur, Locale::En) => "Reseller",
            (Self::Technicien, Locale::Fr) => "Technicien",
            (Self::Technicien, Locale::En) => "Technician",
        }
    }
}

impl fmt::Display for UserType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserType {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ValidationError::new("user_type", format!("`{s}` is not a user type; use interne, client, partenaire, revendeur or technicien")))
    }
}

/// Level 3: a right the platform checks. Plugins declare more of their own; these are the ones the
/// core knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See margins and purchase prices.
    VoirMarge,
    /// Change a line's plan.
    ModifierForfait,
    /// Start a deployment.
    LancerDeploiement,
    /// See API identifiers and integration details.
    VoirApi,
    /// See billing-control anomalies.
    VoirAnomalies,
    /// See level-2 support tickets.
    VoirTicketsN2,
    /// Export data.
    Exporter,
    /// Administer the tenant: branding, users, roles, plugins.
    Administrer,
}

impl Permission {
    /// Every core permission.
    pub const ALL: [Permission; 8] = [
        Self::VoirMarge,
        Self::ModifierForfait,
        Self::LancerDeploiement,
        Self::VoirApi,
        Self::VoirAnomalies,
        Self::VoirTicketsN2,
        Self::Exporter,
        Self::Administrer,
    ];

    /// The key used in policies (`voir_marge`…).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::VoirMarge => "voir_marge",
            Self::ModifierForfait => "modifier_forfait",
            Self::LancerDeploiement => "lancer_deploiement",
            Self::VoirApi => "voir_api",
            Self::VoirAnomalies => "voir_anomalies",
            Self::VoirTicketsN2 => "voir_tickets_n2",
            Self::Exporter => "exporter",
            Self::Administrer => "administrer",
        }
    }

    /// The label in `locale`.
    pub fn label(&self, locale: Locale) -> &'static str {
        match (self, locale) {
            (Self::VoirMarge, Locale::Fr) => "Voir marge",
            (Self::VoirMarge, Locale::En) => "See margin",
            (Self::ModifierForfait, Locale::Fr) => "Modifier forfait",
            (Self::ModifierForfait, Locale::En) => "Change plan",
            (Self::LancerDeploiement, Locale::Fr) => "Lancer déploiement",
            (Self::LancerDeploiement, Locale::En) => "Start deployment",
            (Self::VoirApi, Locale::Fr) => "Voir API",
            (Self::VoirApi, Locale::En) => "See API",
            (Self::VoirAnomalies, Locale::Fr) => "Voir anomalies",
            (Self::VoirAnomalies, Locale::En) => "See anomalies",
            (Self::VoirTicketsN2, Locale::Fr) => "Voir tickets N2",
            (Self::VoirTicketsN2, Locale::En) => "See level-2 tickets",
            (Self::Exporter, Locale::Fr) => "Exporter",
            (Self::Exporter, Locale::En) => "Export",
            (Self::Administrer, Locale::Fr) => "Administrer",
            (Self::Administrer, Locale::En) => "Administer",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| ValidationError::new("permission", format!("`{s}` is not a known permission")))
    }
}

/// Level 2: a business role as every new tenant receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleTemplate {
    /// Key used in policies (`support_n1`…).
    pub key: &'static str,
    /// French name.
    pub name_fr: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// User types allowed to hold the role.
    pub user_types: &'static [UserType],
    /// Permissions granted.
    pub permissions: &'static [Permission],
    /// What the role may do with records of every collection (`read`, `create`, `update`,
    /// `delete`, or `*`). Collections and fields can require more (a permission such as
    /// "voir marge"), and client users only reach their own account's records.
    pub records: &'static [&'static str],
}

const ALL_RECORDS: &[&str] = &["*"];
const EDIT_RECORDS: &[&str] = &["read", "create", "update"];
const READ_RECORDS: &[&str] = &["read"];

use Permission::*;
use UserType::*;

/// The eight business roles of seed `001`.
pub const TEMPLATES: &[RoleTemplate] = &[
    RoleTemplate {
        key: "direction",
        name_fr: "Direction",
        name_en: "Management",
        user_types: &[Interne],
        permissions: &[VoirMarge, ModifierForfait, LancerDeploiement, VoirApi, VoirAnomalies, VoirTicketsN2, Exporter, Administrer],
        records: ALL_RECORDS,
    },
    RoleTemplate {
        key: "gestionnaire",
        name_fr: "Gestionnaire",
        name_en: "Account manager",
        user_types: &[Interne],
        permissions: &[ModifierForfait, LancerDeploiement, VoirAnomalies, VoirTicketsN2, Exporter],
        records: ALL_RECORDS,
    },
    RoleTemplate {
        key: "support_n1",
        name_fr: "Support N1",
        name_en: "Support level 1",
        user_types: &[Interne, Technicien],
        permissions: &[],
        records: EDIT_RECORDS,
    },
    RoleTemplate {
        key: "support_n2",
        name_fr: "Support N2",
        name_en: "Support level 2",
        user_types: &[Interne, Technicien],
        permissions: &[VoirTicketsN2, VoirApi, LancerDeploiement],
        records: EDIT_RECORDS,
    },
    RoleTemplate {
        key: "commercial",
        name_fr: "Commercial",
        name_en: "Sales",
        user_types: &[Interne, Revendeur],
        permissions: &[ModifierForfait, Exporter],
        records: EDIT_RECORDS,
    },
    RoleTemplate {
        key: "comptabilite",
        name_fr: "Comptabilité",
        name_en: "Accounting",
        user_types: &[Interne],
        permissions: &[VoirMarge, VoirAnomalies, Exporter],
        records: EDIT_RECORDS,
    },
    RoleTemplate { key: "client", name_fr: "Client", name_en: "Customer", user_types: &[Client], permissions: &[], records: EDIT_RECORDS },
    RoleTemplate {
        key: "partenaire",
        name_fr: "Partenaire",
        name_en: "Partner",
        user_types: &[Partenaire, Revendeur],
        permissions: &[VoirApi],
        records: READ_RECORDS,
    },
];

/// The template with this key.
pub fn template(key: &str) -> Option<&'static RoleTemplate> {
    TEMPLATES.iter().find(|t| t.key == key)
}

/// Validates a role key a tenant admin types for a new role: 2 to 40 lowercase letters, digits and
/// underscores, starting with a letter.
pub fn validate_role_key(key: &str) -> Result<(), ValidationError> {
    let ok = (2..=40).contains(&key.len())
        && key.as_bytes()[0].is_ascii_lowercase()
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "role",
            format!("`{key}` is not a valid role key: use 2 to 40 lowercase letters, digits and underscores, starting with a letter"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_for_direction_and_accounting_only() {
        let with_margin: Vec<_> = TEMPLATES.iter().filter(|t| t.permissions.contains(&VoirMarge)).map(|t| t.key).collect();
        assert_eq!(with_margin, ["direction", "comptabilite"]);
    }

    #[test]
    fn every_role_allows_at_least_one_user_type_and_keys_are_valid() {
        for t in TEMPLATES {
            assert!(!t.user_types.is_empty(), "{}", t.key);
            validate_role_key(t.key).unwrap();
        }
    }
}
