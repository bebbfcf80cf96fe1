use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The languages the portal speaks. French first: Socle's customers are French.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// French (the default).
    #[default]
    Fr,
    /// English.
    En,
}

impl Locale {
    /// The BCP 47 tag (`fr`, `en`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Locale {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" | "fr-fr" => Ok(Self::Fr),
            "en" | "en-gb" | "en-us" => Ok(Self::En),
            other => Err(ValidationError::new("locale", format!("`{other}` is not supported; use `fr` or `en`"))),
        }
    }
}
