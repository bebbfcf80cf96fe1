use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// Slugs that would collide with platform host names or URL prefixes.
const RESERVED: &[&str] = &[
    "admin", "api", "app", "assets", "auth", "healthz", "metrics", "oauth", "ops", "partners", "platform", "readyz", "socle", "static", "status", "t", "www",
    "mail", "smtp",
];

/// Prefix of the slugs of the marketplace's review sandboxes.
pub const REVIEW_SANDBOX_PREFIX: &str = "smoke-";

/// A tenant's short name: lowercase ASCII letters, digits and single hyphens, 2 to 40 characters,
/// usable as a DNS label (`<slug>.<base-domain>`) and a URL prefix (`/t/<slug>/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Validates `value` as a slug.
    ///
    /// ```
    /// use socle_tenants::Slug;
    /// assert!(Slug::parse("acme-telecom").is_ok());
    /// assert!(Slug::parse("Acme").is_err());
    /// assert!(Slug::parse("ops").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        if value.starts_with(REVIEW_SANDBOX_PREFIX) {
            return Err(ValidationError::new("slug", format!("`{REVIEW_SANDBOX_PREFIX}…` is reserved for the marketplace's review sandboxes, choose another")));
        }
        Self::checked(value)
    }

    /// The slug of a throwaway tenant the marketplace's review runs a submitted plugin in: its
    /// plugins get sandbox connectors, no network and no mail (see [`Slug::is_review_sandbox`]).
    pub fn review_sandbox(suffix: &str) -> Result<Self, ValidationError> {
        Self::checked(&format!("{REVIEW_SANDBOX_PREFIX}{suffix}"))
    }

    /// A slug read back from storage (a review sandbox's included).
    pub fn stored(value: &str) -> Result<Self, ValidationError> {
        Self::checked(value)
    }

    /// Whether this is a review sandbox's slug, which no customer's tenant can take.
    pub fn is_review_sandbox(&self) -> bool {
        self.0.starts_with(REVIEW_SANDBOX_PREFIX)
    }

    fn checked(value: &str) -> Result<Self, ValidationError> {
        let invalid = |message: &str| Err(ValidationError::new("slug", message));
        if value.len() < 2 || value.len() > 40 {
            return invalid("must be 2 to 40 characters long");
        }
        if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return invalid("may only contain lowercase letters a-z, digits and hyphens");
        }
        if value.starts_with('-') || value.ends_with('-') || value.contains("--") {
            return invalid("must not start or end with a hyphen, nor contain two in a row");
        }
        if value.as_bytes()[0].is_ascii_digit() {
            return invalid("must start with a letter");
        }
        if RESERVED.contains(&value) {
            return Err(ValidationError::new("slug", format!("`{value}` is reserved by the platform, choose another")));
        }
        Ok(Self(value.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels_and_refuses_the_rest() {
        for ok in ["ab", "acme", "web-agency-42", "a1"] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "-acme", "acme-", "ac--me", "1acme", "ACME", "acmé", "ac me", "api", &"x".repeat(41)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
