//! Interface strings, French first, English second. Templates read them as `tr.<key>`; a missing
//! key fails rendering in tests (templates run with strict undefined behaviour).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use socle_tenants::Locale;

/// `(key, French, English)`.
const STRINGS: &[(&str, &str, &str)] = &[
    ("login_title", "Connexion", "Log in"),
    ("email", "Adresse e-mail", "Email address"),
    ("password", "Mot de passe", "Password"),
    ("login_submit", "Se connecter", "Log in"),
    ("logout", "Se déconnecter", "Log out"),
    ("login_invalid", "Adresse e-mail ou mot de passe incorrect.", "Wrong email address or password."),
    ("login_throttled", "Trop de tentatives. Réessayez dans {secs} secondes.", "Too many attempts. Try again in {secs} seconds."),
    ("forgot_password", "Mot de passe oublié ?", "Forgot your password?"),
    ("forgot_title", "Mot de passe oublié", "Forgotten password"),
    ("forgot_intro", "Indiquez l'adresse e-mail de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de passe.", "Enter your account's email address: we will send you a link to choose a new password."),
    ("forgot_submit", "Envoyer le lien", "Send the link"),
    ("forgot_sent", "Si un compte existe pour cette adresse, un e-mail vient de lui être envoyé. Le lien est valable une heure.", "If an account exists for this address, an email was just sent to it. The link is valid for one hour."),
    ("back_to_login", "Retour à la connexion", "Back to login"),
    ("mfa_title", "Vérification en deux étapes", "Two-step verification"),
    ("mfa_help", "Saisissez le code à 6 chiffres affiché par votre application d'authentification.", "Enter the 6-digit code shown by your authenticator app."),
    ("mfa_code", "Code de vérification", "Verification code"),
    ("mfa_submit", "Vérifier", "Verify"),
    ("mfa_invalid", "Code incorrect ou déjà utilisé.", "Wrong or already used code."),
    ("mfa_setup_title", "Activer la vérification en deux étapes", "Turn on two-step verification"),
    ("mfa_setup_help", "Ajoutez ce compte à votre application d'authentification (clé ci-dessous ou lien), puis saisissez le code affiché.", "Add this account to your authenticator app (key below or link), then enter the code it shows."),
    ("mfa_setup_required", "Votre rôle exige la vérification en deux étapes avant d'accéder à l'espace.", "Your role requires two-step verification before you can continue."),
    ("mfa_secret", "Clé secrète", "Secret key"),
    ("mfa_enabled", "La vérification en deux étapes est activée.", "Two-step verification is on."),
    ("reset_title", "Nouveau mot de passe", "New password"),
    ("reset_submit", "Enregistrer le mot de passe", "Save password"),
    ("reset_invalid", "Ce lien de réinitialisation est invalide, expiré ou déjà utilisé.", "This reset link is invalid, expired or already used."),
    ("reset_done", "Mot de passe modifié. Vous pouvez vous connecter.", "Password changed. You can log in."),
    ("password_rules", "Au moins 10 caractères.", "At least 10 characters."),
    ("welcome", "Bienvenue", "Welcome"),
    ("home_intro", "Votre espace de travail est prêt.", "Your workspace is ready."),
    ("your_roles", "Vos rôles", "Your roles"),
    ("your_permissions", "Vos permissions", "Your permissions"),
    ("none", "Aucun", "None"),
    ("account_security", "Sécurité du compte", "Account security"),
    ("enable_mfa", "Activer la vérification en deux étapes", "Turn on two-step verification"),
    ("skip_to_content", "Aller au contenu", "Skip to content"),
    ("error_title", "Une erreur est survenue", "Something went wrong"),
    ("back_home", "Retour à l'accueil", "Back to home"),
    ("tenant_suspended", "Cet espace est suspendu. Contactez votre fournisseur.", "This workspace is suspended. Contact your provider."),
    ("not_found", "Page introuvable.", "Page not found."),
    ("ops_title", "Console opérateur", "Operator console"),
    ("ops_tenants", "Espaces clients", "Tenants"),
    ("slug", "Identifiant", "Slug"),
    ("name", "Nom", "Name"),
    ("plan", "Offre", "Plan"),
    ("status", "Statut", "Status"),
    ("active", "Actif", "Active"),
    ("suspended", "Suspendu", "Suspended"),
    ("language", "Langue", "Language"),
];

/// The strings of one language, by key.
pub fn strings(locale: Locale) -> &'static BTreeMap<&'static str, &'static str> {
    static FR: OnceLock<BTreeMap<&str, &str>> = OnceLock::new();
    static EN: OnceLock<BTreeMap<&str, &str>> = OnceLock::new();
    match locale {
        Locale::Fr => FR.get_or_init(|| STRINGS.iter().map(|(k, fr, _)| (*k, *fr)).collect()),
        Locale::En => EN.get_or_init(|| STRINGS.iter().map(|(k, _, en)| (*k, *en)).collect()),
    }
}

/// One string, for Rust code (errors rendered as pages).
pub fn text(locale: Locale, key: &str) -> &'static str {
    strings(locale).get(key).copied().unwrap_or("")
}

/// The language a request prefers among French and English, from `Accept-Language`, falling back
/// to `default`.
pub fn negotiate(accept_language: Option<&str>, default: Locale) -> Locale {
    let Some(header) = accept_language else { return default };
    let mut best: Option<(f32, Locale)> = None;
    for part in header.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
            .unwrap_or(1.0);
        let locale = if tag.starts_with("fr") {
            Locale::Fr
        } else if tag.starts_with("en") {
            Locale::En
        } else {
            continue;
        };
        if best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, locale));
        }
    }
    best.map_or(default, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_translated() {
        for (key, fr, en) in STRINGS {
            assert!(!fr.is_empty() && !en.is_empty(), "{key}");
        }
    }

    #[test]
    fn negotiates_by_quality() {
        assert_eq!(negotiate(Some("en-GB,en;q=0.9,fr;q=0.8"), Locale::Fr), Locale::En);
        assert_eq!(negotiate(Some("de-DE,fr;q=0.5"), Locale::En), Locale::Fr);
        assert_eq!(negotiate(Some("de-DE"), Locale::Fr), Locale::Fr);
        assert_eq!(negotiate(None, Locale::En), Locale::En);
    }
}
