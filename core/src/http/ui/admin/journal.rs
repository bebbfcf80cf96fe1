//! The journal as an administrator reads it: each entry a sentence ("Connexion réussie"), who
//! did it by name, what it concerned by its label and title (with a link to the record in the
//! portal), when in local time, and what changed in a few words. The stored journal keeps its
//! machine form (`login.succeeded`, `record:telecom.line:01a2…`); only the page speaks like this.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;
use socle_marketplace::schema::CollectionDef;
use socle_tenants::{Locale, UserType};
use uuid::Uuid;

use super::capabilities::{self, Vocabulary};
use super::when::Moment;
use crate::audit::AuditRecord;

/// What names things in the journal: people, roles, plugins, collections and records.
#[derive(Default)]
pub struct Names<'a> {
    /// Display names of the tenant's users, by id.
    pub users: HashMap<Uuid, String>,
    /// Display names of the tenant's users, by lowercase email.
    pub emails: HashMap<String, String>,
    /// Role names in the reader's language, by key.
    pub roles: HashMap<String, String>,
    /// Plugin names in the reader's language, by id.
    pub plugins: HashMap<String, String>,
    /// The collections the administrator may read, by name.
    pub collections: HashMap<String, &'a CollectionDef>,
    /// Titles of the records the administrator may read, by id.
    pub titles: HashMap<String, String>,
    /// The tenant's slug and name.
    pub tenant: (String, String),
    /// Grant targets in words.
    pub vocabulary: Vocabulary,
}

/// What an entry concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// Its kind ("Compte client", "Utilisateur"), when that helps.
    pub kind: Option<String>,
    /// Its name or title.
    pub text: String,
    /// Where to see it (the record in the portal), as a path under the tenant.
    pub path: Option<String>,
}

/// One journal line, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Position in the journal.
    pub id: i64,
    /// When, in local time.
    pub when: Moment,
    /// Who, by name.
    pub who: String,
    /// What happened, as a short sentence.
    pub what: String,
    /// A refusal or failure (a failed login), shown as such.
    pub alert: bool,
    /// What it concerned.
    pub target: Option<Target>,
    /// What changed, in a few words.
    pub detail: Option<String>,
}

/// `(action, French, English)`: the sentence of each journalled action.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("login.succeeded", "Connexion réussie", "Logged in"),
    ("login.failed", "Échec de connexion", "Failed login"),
    ("user.created", "Utilisateur créé", "User created"),
    ("user.updated", "Utilisateur modifié", "User changed"),
    ("user.deleted", "Utilisateur supprimé", "User deleted"),
    ("user.password_changed", "Mot de passe changé", "Password changed"),
    ("user.password_reset_requested", "Lien pour choisir un mot de passe envoyé", "Link to choose a password sent"),
    ("user.mfa_enabled", "Vérification en deux étapes activée", "Two-step verification turned on"),
    ("user.mfa_disabled", "Vérification en deux étapes désactivée", "Two-step verification turned off"),
    ("user.roles_changed", "Rôles modifiés", "Roles changed"),
    ("role.created", "Rôle créé", "Role created"),
    ("role.deleted", "Rôle supprimé", "Role deleted"),
    ("policy.granted", "Droits accordés", "Rights granted"),
    ("policy.revoked", "Droits retirés", "Rights withdrawn"),
    ("record.created", "Fiche créée", "Record created"),
    ("record.updated", "Fiche modifiée", "Record changed"),
    ("record.deleted", "Fiche supprimée", "Record deleted"),
    ("record.transitioned", "Étape franchie", "Step taken"),
    ("record.linked", "Liaison ajoutée", "Link added"),
    ("record.unlinked", "Liaison retirée", "Link removed"),
    ("schema.installed", "Modèle de données installé", "Data model installed"),
    ("schema.removed", "Modèle de données retiré", "Data model removed"),
    ("tenant.created", "Espace créé", "Workspace created"),
    ("tenant.updated", "Réglages de l'espace modifiés", "Workspace settings changed"),
    ("tenant.suspended", "Espace suspendu", "Workspace suspended"),
    ("tenant.reactivated", "Espace réactivé", "Workspace reactivated"),
    ("tenant.deleted", "Espace supprimé", "Workspace deleted"),
    ("tenant.domain_added", "Domaine ajouté", "Domain added"),
    ("tenant.domain_removed", "Domaine retiré", "Domain removed"),
    ("tenant.branding_asset_changed", "Logo ou icône changé", "Logo or icon changed"),
    ("plugin.installed", "Extension installée", "Extension installed"),
    ("plugin.uninstalled", "Extension désinstallée", "Extension uninstalled"),
    ("plugin.setting_changed", "Réglage d'extension modifié", "Extension setting changed"),
];

/// The families of actions an administrator can filter on: `(prefix, French, English)`.
pub const FAMILIES: &[(&str, &str, &str)] = &[
    ("login.", "Connexions", "Logins"),
    ("user.", "Utilisateurs", "Users"),
    ("role.", "Rôles", "Roles"),
    ("policy.", "Droits", "Rights"),
    ("record.", "Fiches", "Records"),
    ("plugin.", "Extensions", "Extensions"),
    ("tenant.", "Espace", "Workspace"),
];

fn pick(lang: Locale, fr: &str, en: &str) -> String {
    if lang == Locale::Fr { fr.to_owned() } else { en.to_owned() }
}

/// The sentence of an action; an unknown one reads as its words ("invoice.sent" → "Invoice
/// sent") rather than as a code.
pub fn action_text(action: &str, lang: Locale) -> String {
    match ACTIONS.iter().find(|(a, _, _)| *a == action) {
        Some((_, fr, en)) => pick(lang, fr, en),
        None => {
            let words = action.replace(['.', '_'], " ");
            let mut chars = words.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
        }
    }
}

impl Names<'_> {
    fn user(&self, id: &str) -> Option<String> {
        self.users.get(&id.parse::<Uuid>().ok()?).cloned()
    }

    fn collection_one(&self, name: &str, lang: &str) -> String {
        match self.collections.get(name) {
            Some(def) => def.label_one.as_ref().unwrap_or(&def.label).get(lang).to_owned(),
            None => name.rsplit('.').next().unwrap_or(name).replace('_', " "),
        }
    }

    fn field_label(&self, collection: &str, field: &str, lang: &str) -> String {
        self.collections
            .get(collection)
            .and_then(|def| def.fields.iter().find(|f| f.name == field))
            .map(|f| f.label.get(lang).to_owned())
            .unwrap_or_else(|| field.replace('_', " "))
    }

    fn role(&self, key: &str) -> String {
        self.roles.get(key).cloned().unwrap_or_else(|| key.replace('_', " "))
    }

    fn plugin(&self, id: &str) -> String {
        self.plugins.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }

    /// Who did it: a person by name, a plugin by its name, the platform in words.
    fn actor(&self, entry: &AuditRecord, lang: Locale) -> String {
        let subject = entry.actor.as_str();
        if let Some(id) = subject.strip_prefix("user:") {
            return self.user(id).or_else(|| self.emails.get(&entry.actor_label.to_lowercase()).cloned()).unwrap_or_else(|| entry.actor_label.clone());
        }
        if let Some(id) = subject.strip_prefix("plugin:") {
            return match lang {
                Locale::Fr => format!("Extension « {} »", self.plugin(id)),
                Locale::En => format!("Extension “{}”", self.plugin(id)),
            };
        }
        match subject {
            "anonymous" => pick(lang, "Personne non identifiée", "Unidentified person"),
            "cli" => pick(lang, "Administrateur de la plateforme", "Platform administrator"),
            "system" => pick(lang, "Traitement automatique", "Automatic process"),
            s if s.starts_with("operator:") => pick(lang, "Support de la plateforme", "Platform support"),
            _ => entry.actor_label.clone(),
        }
    }

    fn record_target(&self, collection: Option<&str>, id: &str, lang: Locale) -> Target {
        let l = lang.as_str();
        let kind = collection.map(|c| self.collection_one(c, l));
        match (self.titles.get(id), collection) {
            (Some(title), Some(c)) => Target { kind, text: title.clone(), path: Some(format!("/c/{c}/{id}")) },
            (Some(title), None) => Target { kind, text: title.clone(), path: None },
            // Deleted since, or out of the administrator's reach: say so, without the id.
            (None, _) => Target { kind, text: pick(lang, "fiche supprimée ou inaccessible", "deleted or out-of-reach record"), path: None },
        }
    }

    /// What the entry concerned.
    fn target(&self, entry: &AuditRecord, lang: Locale) -> Option<Target> {
        let target = entry.target.as_str();
        let kind = |fr: &str, en: &str| Some(pick(lang, fr, en));
        if let Some(rest) = target.strip_prefix("record:") {
            return Some(match rest.rsplit_once(':') {
                Some((collection, id)) => self.record_target(Some(collection), id, lang),
                None => self.record_target(None, rest, lang),
            });
        }
        if let Some(id) = target.strip_prefix("user:") {
            let text = self.user(id).or_else(|| {
                // A deleted user: the journal kept their state before.
                entry.before.as_ref().and_then(|b| b.get("display_name").and_then(Value::as_str)).map(str::to_owned)
            });
            return Some(Target {
                kind: kind("Utilisateur", "User"),
                text: text.unwrap_or_else(|| pick(lang, "utilisateur supprimé", "deleted user")),
                path: None,
            });
        }
        if let Some(key) = target.strip_prefix("role:") {
            return Some(Target { kind: kind("Rôle", "Role"), text: self.role(key), path: None });
        }
        if let Some(id) = target.strip_prefix("plugin:") {
            return Some(Target { kind: kind("Extension", "Extension"), text: self.plugin(id), path: None });
        }
        if target.strip_prefix("tenant:").is_some() {
            return Some(Target { kind: kind("Espace", "Workspace"), text: self.tenant.1.clone(), path: None });
        }
        match entry.action.as_str() {
            // Logins and password links name the address typed: the person's name when known.
            // A person's own login: the "who" says it all.
            "login.succeeded" if entry.actor.starts_with("user:") => None,
            "login.failed" | "login.succeeded" | "user.password_reset_requested" => {
                let text = self.emails.get(&target.to_lowercase()).map(|name| format!("{name} ({target})")).unwrap_or_else(|| target.to_owned());
                Some(Target { kind: None, text, path: None })
            }
            "role.deleted" => Some(Target { kind: kind("Rôle", "Role"), text: self.role(target), path: None }),
            "schema.installed" | "schema.removed" => {
                Some(Target { kind: kind("Données", "Data"), text: self.collection_one(target, lang.as_str()), path: None })
            }
            // Policy changes are described in the detail.
            _ if target == "policies" => None,
            _ if target.is_empty() => None,
            _ => Some(Target { kind: None, text: target.to_owned(), path: None }),
        }
    }

    /// What changed, in a few words.
    fn detail(&self, entry: &AuditRecord, lang: Locale) -> Option<String> {
        let l = lang.as_str();
        let after = entry.after.as_ref();
        let before = entry.before.as_ref();
        let list = |items: Vec<String>| (!items.is_empty()).then(|| items.join(", "));
        match entry.action.as_str() {
            "record.updated" | "record.created" => {
                let collection = entry.target.strip_prefix("record:").and_then(|r| r.rsplit_once(':')).map(|(c, _)| c)?;
                let fields: Vec<String> =
                    after?.get("fields")?.as_array()?.iter().filter_map(Value::as_str).map(|f| self.field_label(collection, f, l)).collect();
                if entry.action == "record.created" {
                    return None;
                }
                list(fields).map(|f| format!("{} : {f}", pick(lang, "Champs modifiés", "Fields changed")))
            }
            "record.transitioned" => {
                let collection = entry.target.strip_prefix("record:").and_then(|r| r.rsplit_once(':')).map(|(c, _)| c)?;
                let name = after?.get("transition")?.as_str()?;
                let label = self
                    .collections
                    .get(collection)
                    .and_then(|def| def.workflow.as_ref())
                    .and_then(|w| w.transitions.iter().find(|t| t.name == name))
                    .map(|t| t.label.get(l).to_owned())
                    .unwrap_or_else(|| name.replace('_', " "));
                Some(format!("« {label} »"))
            }
            "record.linked" | "record.unlinked" => {
                let link = after.or(before)?;
                let to = link.get("to")?.as_str()?;
                let title = self.titles.get(to).cloned().unwrap_or_else(|| pick(lang, "fiche inaccessible", "out-of-reach record"));
                Some(match lang {
                    Locale::Fr => format!("avec « {title} »"),
                    Locale::En => format!("with “{title}”"),
                })
            }
            "user.roles_changed" => {
                let roles = |v: Option<&Value>| -> Vec<String> {
                    v.and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).map(|r| self.role(r.strip_prefix("role:").unwrap_or(r))).collect())
                        .unwrap_or_default()
                };
                let now = roles(after);
                Some(if now.is_empty() {
                    pick(lang, "Plus aucun rôle", "No role left")
                } else {
                    format!("{} : {}", pick(lang, "Rôles", "Roles"), now.join(", "))
                })
            }
            "user.created" => {
                let roles: Vec<String> = after?.get("roles")?.as_array()?.iter().filter_map(Value::as_str).map(|r| self.role(r)).collect();
                let user_type = after?.get("user")?.get("user_type")?.as_str()?.parse::<UserType>().ok()?;
                let mut text = user_type.label(lang).to_owned();
                if !roles.is_empty() {
                    text.push_str(&format!(" — {}", roles.join(", ")));
                }
                Some(text)
            }
            "user.updated" => {
                let (b, a) = (before?, after?);
                let mut changes = Vec::new();
                let changed = |key: &str| b.get(key) != a.get(key);
                if changed("display_name") {
                    changes.push(format!("{} : {}", pick(lang, "Nom", "Name"), a.get("display_name")?.as_str()?));
                }
                if changed("status") {
                    let status = match a.get("status").and_then(Value::as_str) {
                        Some("active") => pick(lang, "réactivé", "reactivated"),
                        _ => pick(lang, "désactivé", "disabled"),
                    };
                    changes.push(format!("{} : {status}", pick(lang, "Compte", "Account")));
                }
                if changed("user_type")
                    && let Some(t) = a.get("user_type").and_then(Value::as_str).and_then(|t| t.parse::<UserType>().ok())
                {
                    changes.push(format!("{} : {}", pick(lang, "Type", "Type"), t.label(lang)));
                }
                if changed("account_id") {
                    changes.push(pick(lang, "Compte client changé", "Customer account changed"));
                }
                if changed("locale") {
                    changes.push(pick(lang, "Langue changée", "Language changed"));
                }
                list(changes)
            }
            "policy.granted" | "policy.revoked" => {
                let rules = if entry.action == "policy.granted" { after } else { before }?;
                let described: Vec<String> = rules.as_array()?.iter().filter_map(|r| self.rule(r, lang)).collect();
                let count = described.len();
                let mut shown: Vec<String> = described.into_iter().take(4).collect();
                if count > 4 {
                    shown.push(match lang {
                        Locale::Fr => format!("et {} de plus", count - 4),
                        Locale::En => format!("and {} more", count - 4),
                    });
                }
                list(shown)
            }
            "plugin.setting_changed" => {
                let keys: Vec<String> = after?.as_object()?.keys().map(|k| k.replace('_', " ")).collect();
                list(keys).map(|k| format!("{} : {k}", pick(lang, "Réglage", "Setting")))
            }
            "tenant.updated" => {
                let (b, a) = (before?, after?);
                let parts: &[(&str, &str, &str)] = &[
                    ("name", "nom", "name"),
                    ("locale", "langue", "language"),
                    ("theme", "couleurs et polices", "colours and fonts"),
                    ("require_mfa_for_admins", "vérification en deux étapes des administrateurs", "administrators' two-step verification"),
                    ("plan", "offre", "plan"),
                ];
                let changed: Vec<String> = parts.iter().filter(|(k, _, _)| b.get(*k) != a.get(*k)).map(|(_, fr, en)| pick(lang, fr, en)).collect();
                list(changed).map(|c| {
                    let mut chars = c.chars();
                    chars.next().map(|f| f.to_uppercase().chain(chars).collect()).unwrap_or_default()
                })
            }
            "plugin.installed" => after?.get("version").and_then(Value::as_str).map(|v| format!("version {v}")),
            _ => None,
        }
    }

    /// A policy rule in words: "Rôle « Technicien » : Voir marge", "Extension « Télécom » : Lire
    /// les comptes clients", "Claire Martin : rôle Administrateur".
    fn rule(&self, rule: &Value, lang: Locale) -> Option<String> {
        let values: Vec<&str> = rule.get("values")?.as_array()?.iter().filter_map(Value::as_str).collect();
        let ptype = rule.get("ptype").and_then(Value::as_str).unwrap_or("p");
        let quote = |kind_fr: &str, kind_en: &str, name: &str| match lang {
            Locale::Fr => format!("{kind_fr} « {name} »"),
            Locale::En => format!("{kind_en} “{name}”"),
        };
        if ptype == "g" {
            let (user, role) = (values.first()?, values.get(1)?);
            let who = user.strip_prefix("user:").and_then(|id| self.user(id)).unwrap_or_else(|| (*user).to_owned());
            return Some(format!("{who} : {}", quote("rôle", "role", &self.role(role.strip_prefix("role:").unwrap_or(role)))));
        }
        let (subject, object, action) = (values.first()?, values.get(2)?, values.get(3).copied().unwrap_or("use"));
        let who = if let Some(key) = subject.strip_prefix("role:") {
            quote("Rôle", "Role", &self.role(key))
        } else if let Some(id) = subject.strip_prefix("plugin:") {
            quote("Extension", "Extension", &self.plugin(id))
        } else if let Some(id) = subject.strip_prefix("user:") {
            self.user(id).unwrap_or_else(|| (*subject).to_owned())
        } else {
            (*subject).to_owned()
        };
        let what = match (subject.starts_with("role:") || subject.starts_with("user:"), object.strip_prefix("perm:")) {
            (true, Some(permission)) => {
                permission.parse::<socle_tenants::Permission>().map(|p| p.label(lang).to_owned()).unwrap_or_else(|_| permission.replace('_', " "))
            }
            _ => match capabilities::key_of_rule(object, action) {
                Some(key) => capabilities::lower_first(&capabilities::sentence(&key, &self.vocabulary, lang)),
                None => (*object).to_owned(),
            },
        };
        Some(format!("{who} : {what}"))
    }
}

/// The journal's entries as lines to show.
pub fn rows(entries: &[AuditRecord], names: &Names<'_>, lang: Locale, moment: &dyn Fn(i64) -> Moment) -> Vec<Row> {
    entries
        .iter()
        .map(|e| Row {
            id: e.id,
            when: moment(e.at),
            who: names.actor(e, lang),
            what: action_text(&e.action, lang),
            alert: e.action.ends_with(".failed") || e.action.ends_with("_failed"),
            target: names.target(e, lang),
            detail: names.detail(e, lang),
        })
        .collect()
}

/// The records the entries name, by collection (`None` when the entry does not say which), so
/// their titles can be read in one query per collection.
pub fn records_named(entries: &[AuditRecord]) -> Vec<(Option<String>, String)> {
    let mut out: Vec<(Option<String>, String)> = Vec::new();
    for e in entries {
        if let Some(rest) = e.target.strip_prefix("record:") {
            match rest.rsplit_once(':') {
                Some((c, id)) => out.push((Some(c.to_owned()), id.to_owned())),
                None => out.push((None, rest.to_owned())),
            }
        }
        if e.action == "record.linked" || e.action == "record.unlinked" {
            let link = e.after.as_ref().or(e.before.as_ref());
            if let Some(to) = link.and_then(|l| l.get("to")).and_then(Value::as_str) {
                out.push((None, to.to_owned()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str, actor: &str, target: &str) -> AuditRecord {
        AuditRecord {
            id: 1,
            tenant_id: None,
            at: 1_796_389_500_000,
            actor: actor.into(),
            actor_label: "claire.martin@connextoo.demo".into(),
            action: action.into(),
            target: target.into(),
            ip: None,
            request_id: None,
            before: None,
            after: None,
        }
    }

    fn collection() -> CollectionDef {
        toml::from_str(
            r#"
            name = "telecom.line"
            label = { fr = "Lignes", en = "Lines" }
            label_one = { fr = "Ligne", en = "Line" }
            title_field = "number"
            [[fields]]
            name = "number"
            type = "text"
            label = { fr = "Numéro", en = "Number" }
            [[fields]]
            name = "plan"
            type = "text"
            label = { fr = "Forfait", en = "Plan" }
            "#,
        )
        .unwrap()
    }

    fn moment(ms: i64) -> Moment {
        super::super::when::moment(ms, Locale::Fr)
    }

    #[test]
    fn entries_read_as_sentences_with_names_titles_and_local_times() {
        let line = collection();
        let claire = Uuid::new_v4();
        let record = Uuid::new_v4().to_string();
        let mut names = Names { collections: HashMap::from([("telecom.line".to_owned(), &line)]), ..Names::default() };
        names.users.insert(claire, "Claire Martin".into());
        names.emails.insert("claire.martin@connextoo.demo".into(), "Claire Martin".into());
        names.titles.insert(record.clone(), "06 12 90 70 10".into());
        let mut updated = entry("record.updated", &format!("user:{claire}"), &format!("record:telecom.line:{record}"));
        updated.after = Some(serde_json::json!({ "version": 3, "transition": null, "fields": ["plan"] }));
        let entries = [entry("login.succeeded", &format!("user:{claire}"), "claire.martin@connextoo.demo"), updated];
        let rows = rows(&entries, &names, Locale::Fr, &moment);
        assert_eq!(rows[0].what, "Connexion réussie");
        assert_eq!(rows[0].who, "Claire Martin");
        assert_eq!(rows[0].when.text, "04/12/2026 14:05");
        assert!(rows[0].target.is_none(), "one's own login names no one else");
        assert_eq!(rows[1].what, "Fiche modifiée");
        let target = rows[1].target.as_ref().unwrap();
        assert_eq!((target.kind.as_deref(), target.text.as_str()), (Some("Ligne"), "06 12 90 70 10"));
        assert_eq!(target.path.as_deref(), Some(format!("/c/telecom.line/{record}").as_str()));
        assert_eq!(rows[1].detail.as_deref(), Some("Champs modifiés : Forfait"));
        // Nothing a person reads holds an id, a code or UTC (the link's address is not read).
        let shown =
            |r: &Row| (r.who.clone(), r.what.clone(), r.target.as_ref().map(|t| (t.kind.clone(), t.text.clone())), r.detail.clone(), r.when.text.clone());
        let text = serde_json::to_string(&rows.iter().map(shown).collect::<Vec<_>>()).unwrap();
        assert!(!text.contains(&record) && !text.contains("login.") && !text.contains("UTC"), "{text}");
    }

    #[test]
    fn unreadable_records_and_platform_actors_are_named_without_ids() {
        let names = Names::default();
        let id = Uuid::new_v4().to_string();
        let rows = rows(
            &[entry("record.deleted", "system", &format!("record:customer_account:{id}")), entry("login.failed", "anonymous", "inconnu@exemple.fr")],
            &names,
            Locale::Fr,
            &moment,
        );
        assert_eq!(rows[0].who, "Traitement automatique");
        let target = rows[0].target.as_ref().unwrap();
        assert_eq!(target.text, "fiche supprimée ou inaccessible");
        assert_eq!(target.kind.as_deref(), Some("customer account"));
        assert!(target.path.is_none());
        assert_eq!((rows[1].who.as_str(), rows[1].what.as_str(), rows[1].alert), ("Personne non identifiée", "Échec de connexion", true));
    }

    #[test]
    fn policy_changes_say_who_got_what() {
        let mut names = Names::default();
        names.roles.insert("technicien".into(), "Technicien".into());
        names.plugins.insert("telecom".into(), "Télécom".into());
        names.vocabulary.collections.insert("customer_account".into(), "Comptes clients".into());
        let mut granted = entry("policy.granted", "cli", "policies");
        granted.after = Some(serde_json::json!([
            { "ptype": "p", "values": ["role:technicien", "t1", "perm:voir_marge", "use"] },
            { "ptype": "p", "values": ["plugin:telecom", "t1", "collection:customer_account", "read"] },
        ]));
        let rows = rows(&[granted], &names, Locale::Fr, &moment);
        assert_eq!(rows[0].what, "Droits accordés");
        assert_eq!(rows[0].who, "Administrateur de la plateforme");
        assert_eq!(rows[0].detail.as_deref(), Some("Rôle « Technicien » : Voir marge, Extension « Télécom » : lire les comptes clients"));
        assert!(rows[0].target.is_none());
    }

    #[test]
    fn every_known_action_has_both_languages_and_unknown_ones_read_as_words() {
        for (action, fr, en) in ACTIONS {
            assert!(!fr.is_empty() && !en.is_empty(), "{action}");
        }
        assert_eq!(action_text("invoice.sent", Locale::Fr), "Invoice sent");
    }
}
