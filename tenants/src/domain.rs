use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A custom domain a tenant's portal answers on, e.g. `portail.acme-telecom.fr`. Stored lowercase,
/// without port or trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    /// Validates a host name: at least two labels, each 1 to 63 characters of letters, digits and
    /// inner hyphens, 253 characters at most.
    ///
    /// ```
    /// use socle_tenants::DomainName;
    /// assert_eq!(DomainName::parse("Portail.Acme.fr.").unwrap().as_str(), "portail.acme.fr");
    /// assert!(DomainName::parse("acme").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let host = value.trim().trim_end_matches('.').to_ascii_lowercase();
        let invalid = |message: &str| Err(ValidationError::new("domain", format!("`{value}` {message}")));
        if host.is_empty() || host.len() > 253 {
            return invalid("must be 1 to 253 characters long");
        }
        let labels: Vec<&str> = host.split('.').collect();
        if labels.len() < 2 {
            return invalid("needs at least two labels, like `portail.example.fr`");
        }
        for label in &labels {
            let valid_chars = label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if label.is_empty() || label.len() > 63 || !valid_chars || label.starts_with('-') || label.ends_with('-') {
                return invalid("is not a valid host name (letters, digits and inner hyphens per label)");
            }
        }
        if labels.iter().all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
            return invalid("is an IP address; attach a host name instead");
        }
        Ok(Self(host))
    }

    /// The domain as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DomainName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> Self {
        d.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_validates() {
        assert_eq!(DomainName::parse(" CRM.Exemple.FR ").unwrap().as_str(), "crm.exemple.fr");
        for bad in ["", "localhost", "-a.fr", "a-.fr", "a..fr", "a_b.fr", "10.0.0.1", "é.fr"] {
            assert!(DomainName::parse(bad).is_err(), "{bad}");
        }
    }
}
