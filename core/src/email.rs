//! Email addresses as Socle stores them: trimmed, lowercase, checked once (users, operators,
//! publishers, recipients of mails, the platform sender).

use socle_tenants::ValidationError;

/// Normalises and checks an email address: trimmed, lowercase, one `@`, a dot in the domain,
/// at most 254 characters.
pub fn normalize(email: &str) -> Result<String, ValidationError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        });
    if valid { Ok(email) } else { Err(ValidationError::new("email", "is not a valid email address, e.g. prenom.nom@exemple.fr")) }
}
