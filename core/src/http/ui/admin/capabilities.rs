//! What a plugin may do, in words: a grant key (`records_read:customer_account`,
//! `connectors:snaic`, `mail`) becomes a sentence an administrator reads ("Lire les comptes
//! clients", "Appeler le connecteur SNAIC", "Envoyer des e-mails"). Keys stay what the API and
//! the journal store; only the console speaks like this.

use std::collections::HashMap;

use socle_tenants::{Locale, Permission};

/// What names the targets of grants: collection labels (plural), permission labels.
#[derive(Debug, Default)]
pub struct Vocabulary {
    /// Plural label of each collection the tenant has, by name (`customer_account` →
    /// "Comptes clients").
    pub collections: HashMap<String, String>,
}

impl Vocabulary {
    /// "comptes clients": a collection's plural label as it reads inside a sentence; an unknown
    /// collection keeps its name in quotes.
    fn collection(&self, name: &str, lang: Locale) -> String {
        match self.collections.get(name) {
            // "Comptes clients" reads inside a sentence; "Catalogue" (one list) does not take
            // "les": it is named as the list it is.
            Some(label) if lang == Locale::Fr && !label.split(' ').next().is_some_and(|w| w.ends_with(['s', 'x'])) => format!("fiches « {label} »"),
            Some(label) => lower_first(label),
            None => {
                let quoted = name.rsplit('.').next().unwrap_or(name).replace('_', " ");
                match lang {
                    Locale::Fr => format!("enregistrements « {quoted} »"),
                    Locale::En => format!("“{quoted}” records"),
                }
            }
        }
    }
}

/// Lowercases the first letter unless the word is an acronym ("Comptes clients" → "comptes
/// clients", "SLA des tickets" stays).
pub fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && second.is_lowercase() => first.to_lowercase().chain(text.chars().skip(1)).collect(),
        _ => text.to_owned(),
    }
}

/// A connector's name as people write it (`snaic` → SNAIC, `alphalink` → Alphalink).
pub fn connector_name(key: &str) -> String {
    match key {
        "snaic" => "SNAIC".into(),
        "cfast" => "CFAST".into(),
        "3cx" => "3CX".into(),
        "palo-alto" => "Palo Alto".into(),
        other => {
            let mut chars = other.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>().replace(['-', '_'], " ")).unwrap_or_default()
        }
    }
}

/// A business permission's label (`voir_marge` → "Voir marge"), its key if unknown.
fn permission_label(key: &str, lang: Locale) -> String {
    key.parse::<Permission>().map(|p| p.label(lang).to_owned()).unwrap_or_else(|_| key.to_owned())
}

/// The sentence of a grant key (`kind` or `kind:target`).
pub fn sentence(key: &str, vocabulary: &Vocabulary, lang: Locale) -> String {
    let (kind, target) = match key.split_once(':') {
        Some((kind, target)) => (kind, Some(target)),
        None => (key, None),
    };
    let fr = lang == Locale::Fr;
    match (kind, target) {
        ("records_read", Some("*")) => if fr { "Lire tous les enregistrements" } else { "Read every record" }.into(),
        ("records_write", Some("*")) => {
            if fr { "Créer, modifier et supprimer tous les enregistrements" } else { "Create, change and delete every record" }.into()
        }
        ("records_read", Some(c)) => {
            let c = vocabulary.collection(c, lang);
            if fr { format!("Lire les {c}") } else { format!("Read {c}") }
        }
        ("records_write", Some(c)) => {
            let c = vocabulary.collection(c, lang);
            if fr { format!("Créer, modifier et supprimer des {c}") } else { format!("Create, change and delete {c}") }
        }
        ("files_read", Some(c)) => {
            let c = vocabulary.collection(c, lang);
            if fr { format!("Lire les fichiers joints aux {c}") } else { format!("Read the files attached to {c}") }
        }
        ("http", Some(host)) => {
            if fr {
                format!("Échanger avec le service en ligne {host}")
            } else {
                format!("Exchange data with the online service {host}")
            }
        }
        ("connectors", Some(name)) => {
            let name = connector_name(name);
            if fr { format!("Appeler le connecteur {name}") } else { format!("Call the {name} connector") }
        }
        ("permissions", Some(p)) => {
            let p = permission_label(p, lang);
            if fr { format!("Agir avec la permission « {p} »") } else { format!("Act with the “{p}” permission") }
        }
        ("mail", _) => if fr { "Envoyer des e-mails" } else { "Send emails" }.into(),
        ("kv", _) => if fr { "Conserver ses propres données de travail" } else { "Keep its own working data" }.into(),
        ("config", _) => if fr { "Lire ses réglages dans cet espace" } else { "Read its settings in this workspace" }.into(),
        ("events", _) => if fr { "Prévenir les autres extensions de ce qui se passe" } else { "Tell other extensions what happens" }.into(),
        (kind, Some(target)) => format!("{kind} : {target}"),
        (kind, None) => kind.to_owned(),
    }
}

/// A policy rule's object as a grant key (`collection:customer_account` read →
/// `records_read:customer_account`), for the journal; `None` for what is not a plugin grant.
pub fn key_of_rule(object: &str, action: &str) -> Option<String> {
    if let Some(collection) = object.strip_prefix("collection:") {
        return Some(match action {
            "read" => format!("records_read:{collection}"),
            _ => format!("records_write:{collection}"),
        });
    }
    if let Some(permission) = object.strip_prefix("perm:") {
        return Some(format!("permissions:{permission}"));
    }
    let cap = object.strip_prefix("cap:")?;
    Some(if let Some(host) = cap.strip_prefix("http:") {
        format!("http:{host}")
    } else if let Some(name) = cap.strip_prefix("connector:") {
        format!("connectors:{name}")
    } else if let Some(collection) = cap.strip_prefix("files:") {
        format!("files_read:{collection}")
    } else {
        cap.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary {
            collections: HashMap::from([("customer_account".to_owned(), "Comptes clients".to_owned()), ("catalogue_item".to_owned(), "Catalogue".to_owned())]),
        }
    }

    #[test]
    fn grant_keys_read_as_sentences() {
        let v = vocabulary();
        let fr = |k: &str| sentence(k, &v, Locale::Fr);
        assert_eq!(fr("records_read:customer_account"), "Lire les comptes clients");
        assert_eq!(fr("records_write:customer_account"), "Créer, modifier et supprimer des comptes clients");
        assert_eq!(fr("records_read:helpdesk.ticket"), "Lire les enregistrements « ticket »");
        assert_eq!(fr("records_read:catalogue_item"), "Lire les fiches « Catalogue »");
        assert_eq!(fr("mail"), "Envoyer des e-mails");
        assert_eq!(fr("connectors:snaic"), "Appeler le connecteur SNAIC");
        assert_eq!(fr("connectors:alphalink"), "Appeler le connecteur Alphalink");
        assert_eq!(fr("permissions:voir_marge"), "Agir avec la permission « Voir marge »");
        assert_eq!(fr("http:api.example.fr"), "Échanger avec le service en ligne api.example.fr");
        assert_eq!(fr("files_read:customer_account"), "Lire les fichiers joints aux comptes clients");
        let en = Vocabulary { collections: HashMap::from([("customer_account".to_owned(), "Customer accounts".to_owned())]) };
        assert_eq!(sentence("records_read:customer_account", &en, Locale::En), "Read customer accounts");
        assert_eq!(sentence("mail", &v, Locale::En), "Send emails");
    }

    #[test]
    fn acronyms_keep_their_capitals() {
        assert_eq!(lower_first("Comptes clients"), "comptes clients");
        assert_eq!(lower_first("SLA"), "SLA");
        assert_eq!(lower_first("É"), "É");
    }

    #[test]
    fn policy_objects_map_back_to_grant_keys() {
        assert_eq!(key_of_rule("collection:customer_account", "read").as_deref(), Some("records_read:customer_account"));
        assert_eq!(key_of_rule("collection:customer_account", "update").as_deref(), Some("records_write:customer_account"));
        assert_eq!(key_of_rule("cap:connector:snaic", "use").as_deref(), Some("connectors:snaic"));
        assert_eq!(key_of_rule("cap:mail", "use").as_deref(), Some("mail"));
        assert_eq!(key_of_rule("perm:voir_marge", "use").as_deref(), Some("permissions:voir_marge"));
        assert_eq!(key_of_rule("role:technicien", "use"), None);
    }
}
