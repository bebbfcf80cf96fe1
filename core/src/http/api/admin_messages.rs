//! The administration API's error messages in the asker's language. Domain code explains a
//! refusal in English (what the API has always answered, and what logs and tests read); a client
//! that asks for French (`Accept-Language: fr`, as the admin console does) gets the same errors,
//! same codes and fields, with each detail in French: a sentence that can stand next to the field
//! it concerns. Messages are matched on their English wording, with `{}` holes for what varies
//! (a value, a role, a ratio).

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{self, HeaderValue};
use serde_json::Value;
use socle_tenants::{Locale, Permission, UserType};

/// `(field, English, French)`: a detail whose field is `field` (`*`: any field, `-`: none)
/// and whose English wording matches (`{}` holes capture text) reads in French with the holes
/// put back in order (`{0}`, `{1}`…; `{0:user_type}`, `{0:user_types}` and `{0:permission}`
/// name what the key stands for).
const MESSAGES: &[(&str, &str, &str)] = &[
    // A record's fields, as the records engine checks them (the portal's forms show these).
    ("*", "is required", "Ce champ est obligatoire."),
    ("*", "`{}` is not an email address, e.g. prenom.nom@exemple.fr", "« {0} » n'est pas une adresse e-mail (par exemple prenom.nom@exemple.fr)."),
    (
        "*",
        "`{}` is not a phone number; write it +33 6 12 34 56 78 or 06 12 34 56 78",
        "« {0} » n'est pas un numéro de téléphone : écrivez-le 06 12 34 56 78 ou +33 6 12 34 56 78.",
    ),
    ("*", "`{}` is not a number", "« {0} » n'est pas un nombre."),
    ("*", "must be at least {}", "La valeur doit être d'au moins {0}."),
    ("*", "must be at most {}", "La valeur doit être d'au plus {0}."),
    ("*", "is {} characters long; at most {}", "Ce texte compte {0} caractères, {1} au plus."),
    ("*", "`{}` is not a date; write it YYYY-MM-DD, e.g. 2026-11-21", "« {0} » n'est pas une date valide."),
    ("*", "`{}` is not a date and time; write it like 2026-11-21T14:30:00+01:00", "« {0} » n'est pas une date et une heure valides."),
    ("*", "`{}` is not one of: {}", "« {0} » n'est pas un des choix proposés."),
    ("*", "another record already has this value", "Un autre enregistrement a déjà cette valeur."),
    ("*", "no {} record {} in this tenant", "Ce choix ne correspond à aucun enregistrement : il a peut-être été supprimé, ou vous n'y avez pas accès."),
    ("*", "file {} was not found: upload it again", "Ce fichier est introuvable : envoyez-le à nouveau."),
    ("*", "the file is {} bytes; at most {}", "Le fichier pèse {0} octets, {1} au plus."),
    ("*", "{} files are not accepted here (accepted: {})", "Ce type de fichier ({0}) n'est pas accepté ici (acceptés : {1})."),
    // The workspace: name, language, theme, logo.
    ("name", "must be 1 to 80 characters long", "Le nom doit compter de 1 à 80 caractères."),
    ("name", "must not contain control characters", "Le nom ne doit pas contenir de caractères de contrôle."),
    ("theme.radius_px", "must be between 0 and 24", "L'arrondi des coins doit être compris entre 0 et 24 px."),
    (
        "*",
        "text colour {} on {} has a contrast of {}:1; WCAG AA needs 4.5:1 — darken the text or lighten the background",
        "Le texte ({0}) sur ce fond ({1}) n'a qu'un contraste de {2}:1, or il faut au moins 4,5:1 pour qu'il reste lisible (norme WCAG AA) : foncez la couleur du texte ou éclaircissez ce fond.",
    ),
    ("*", "`{}` is not a colour; write it as #rrggbb, e.g. #1f6feb", "« {0} » n'est pas une couleur : écrivez-la sous la forme #rrggbb, par exemple #1f6feb."),
    ("*", "`{}` is not supported; use `fr` or `en`", "Cette langue n'est pas proposée : choisissez le français ou l'anglais."),
    ("*", "the file is empty", "Le fichier est vide."),
    ("*", "the file is {} KiB; the limit is {} KiB", "Le fichier pèse {0} Kio ; {1} Kio au plus."),
    ("*", "is not a PNG, JPEG, WebP, ICO or SVG image", "Ce fichier n'est pas une image PNG, JPEG, WebP, ICO ou SVG."),
    ("*", "the SVG is not valid UTF-8", "Cette image SVG est illisible (encodage invalide)."),
    (
        "*",
        "the SVG contains `{}`; remove scripts, external references and embedded content",
        "Cette image SVG contient « {0} » : retirez-en les scripts, les références externes et le contenu embarqué.",
    ),
    ("*", "the SVG contains event handler attributes (onload=…); remove them", "Cette image SVG contient des attributs de script (onload=…) : retirez-les."),
    // Users.
    ("display_name", "must be 1 to 100 characters without control characters", "Le nom doit compter de 1 à 100 caractères, sans caractères de contrôle."),
    ("email", "is not a valid email address, e.g. prenom.nom@exemple.fr", "Cette adresse e-mail n'est pas valide (exemple : prenom.nom@exemple.fr)."),
    ("-", "a user with the email {} already exists in this tenant", "Un utilisateur de cet espace a déjà l'adresse {0}."),
    ("roles", "unknown role `{}`; this tenant has {}", "Ce rôle n'existe pas dans cet espace."),
    (
        "roles",
        "the role `{}` cannot be given to a `{}` user (allowed: {})",
        "Ce rôle ne peut pas être donné à un utilisateur de type {1:user_type} : il convient aux types {2:user_types}.",
    ),
    ("account", "choose the customer account this client belongs to", "Choisissez le compte client auquel rattacher cet utilisateur."),
    ("account", "only client users belong to a customer account", "Seuls les utilisateurs de type Client sont rattachés à un compte client."),
    ("account", "{} is not a customer account of this tenant", "Ce compte client n'existe pas (ou plus) dans cet espace."),
    ("status", "`{}` is not a status; use active or disabled", "Ce statut n'existe pas : choisissez actif ou désactivé."),
    ("password", "must be at least {} characters long", "Le mot de passe doit compter au moins {0} caractères."),
    ("password", "must be at most {} bytes long", "Le mot de passe est trop long ({0} octets au plus)."),
    ("password", "must not be one repeated character", "Le mot de passe ne doit pas répéter un seul caractère."),
    (
        "*",
        "`{}` is not a user type; use interne, client, partenaire, revendeur or technicien",
        "Ce type d'utilisateur n'existe pas : choisissez Interne, Client, Partenaire, Revendeur ou Technicien.",
    ),
    ("-", "you cannot disable your own account", "Vous ne pouvez pas désactiver votre propre compte."),
    ("-", "you cannot delete your own account", "Vous ne pouvez pas supprimer votre propre compte."),
    ("-", "user `{}` does not exist in this tenant", "Cet utilisateur n'existe pas (ou plus) dans cet espace."),
    // Roles and permissions.
    ("permissions", "`{}` is not a permission; known: {}", "« {0} » n'est pas une permission connue."),
    ("*", "`{}` is not a known permission", "« {0} » n'est pas une permission connue."),
    (
        "-",
        "this would remove your own \"administrer\" permission; give it to you through another role first",
        "Vous vous retireriez à vous-même la permission « Administrer » : donnez-la-vous d'abord par un autre de vos rôles.",
    ),
    ("name_fr", "role names must be 1 to 80 characters", "Le nom du rôle doit compter de 1 à 80 caractères."),
    ("user_types", "a role must allow at least one user type", "Un rôle doit convenir à au moins un type d'utilisateur."),
    (
        "role",
        "`{}` is not a valid role key: use 2 to 40 lowercase letters, digits and underscores, starting with a letter",
        "« {0} » ne convient pas comme identifiant de rôle : de 2 à 40 lettres minuscules, chiffres et soulignés, en commençant par une lettre.",
    ),
    ("-", "role `{}` does not exist in this tenant", "Ce rôle n'existe pas (ou plus) dans cet espace."),
    // Plugin settings and grants.
    ("*", "{} has no setting `{}`", "Cette extension n'a pas de réglage « {1} »."),
    ("granted", "{} does not declare `{}`; its grants are: {}", "Cette extension ne demande pas cette permission."),
    ("*", "expected a number", "Saisissez un nombre."),
    ("*", "expected a finite number", "Saisissez un nombre."),
    ("*", "`{}` is not a number", "« {0} » n'est pas un nombre."),
    ("*", "must be at least {}", "La valeur doit être d'au moins {0}."),
    ("*", "must be at most {}", "La valeur doit être d'au plus {0}."),
    ("*", "is {} characters long; at most {}", "Le texte compte {0} caractères ; {1} au plus."),
    ("*", "must fit on one line", "Le texte doit tenir sur une seule ligne."),
    ("*", "contains control characters", "Le texte contient des caractères de contrôle."),
    ("*", "`{}` is not one of: {}", "« {0} » ne fait pas partie des choix proposés."),
    ("*", "expected true or false", "Choisissez oui ou non."),
    ("*", "expected text", "Saisissez un texte."),
    ("*", "`{}` is not an email address, e.g. prenom.nom@exemple.fr", "« {0} » n'est pas une adresse e-mail (exemple : prenom.nom@exemple.fr)."),
    (
        "*",
        "`{}` is not a phone number; write it +33 6 12 34 56 78 or 06 12 34 56 78",
        "« {0} » n'est pas un numéro de téléphone : écrivez-le 06 12 34 56 78 ou +33 6 12 34 56 78.",
    ),
    ("*", "`{}` is not a date; write it YYYY-MM-DD, e.g. 2026-11-21", "« {0} » n'est pas une date."),
    ("*", "`{}` is not a date and time; write it like 2026-11-21T14:30:00+01:00", "« {0} » n'est pas une date et une heure."),
    ("*", "`{}` is not a record id", "Cette fiche n'existe pas."),
    ("-", "no plugin `{}` is installed in this tenant", "Cette extension n'est pas installée dans cet espace."),
    // The marketplace: reviews and approvals.
    ("stars", "give 1 to 5 stars", "Donnez de 1 à 5 étoiles."),
    ("title", "a title has 1 to 120 characters", "Le titre doit compter de 1 à 120 caractères."),
    ("body", "a review has at most 5000 characters", "Un avis compte 5000 caractères au plus."),
    ("-", "no pending approval request `{}` in this tenant", "Cette demande d'autorisation n'existe pas ou a déjà été traitée."),
    ("-", "approval request `{}` was decided meanwhile", "Cette demande a été traitée entre-temps : rechargez la page."),
    ("-", "{} is no longer installed; this request is stale", "Cette version n'est plus installée : la demande ne s'applique plus."),
];

/// What a person reads when no sentence above matches, by error code (`{detail}`: the English
/// detail, kept where only it can say what went wrong).
const BY_CODE: &[(&str, &str)] = &[
    ("unresolvable", "Ce changement n'est pas possible dans cet espace : une dépendance ou une version ne convient pas (détail : {detail})."),
    ("invalid_change", "Ce changement n'est pas possible (détail : {detail})."),
    ("operation_in_progress", "Une autre opération sur les extensions est en cours : réessayez dans un instant."),
    ("rolled_back", "Le changement a échoué et a été annulé : rien n'a changé (détail : {detail})."),
    ("uninstall_refused", "La désinstallation est refusée (détail : {detail})."),
    ("approval_stale", "Cette version n'est plus installée : la demande ne s'applique plus."),
    ("not_found", "Cet élément n'existe pas (ou plus)."),
    ("plugin_not_found", "Cette extension n'existe pas (ou plus)."),
    ("user_not_found", "Cet utilisateur n'existe pas (ou plus) dans cet espace."),
    ("role_not_found", "Ce rôle n'existe pas (ou plus) dans cet espace."),
    ("validation_failed", "Cette valeur n'est pas acceptée : vérifiez-la."),
    ("invalid_body", "La demande n'a pas pu être lue : rechargez la page et réessayez."),
    ("malformed_json", "La demande n'a pas pu être lue : rechargez la page et réessayez."),
    ("unsupported_media_type", "La demande n'a pas pu être lue : rechargez la page et réessayez."),
    ("payload_too_large", "Le fichier ou le texte envoyé est trop volumineux."),
    ("unauthenticated", "Votre session a expiré : reconnectez-vous."),
    ("forbidden", "Votre compte n'a pas la permission de faire cela."),
    ("cross_origin_refused", "La page a expiré : rechargez-la puis réessayez."),
    ("csrf_failed", "La page a expiré : rechargez-la puis réessayez."),
    ("conflict", "Cet élément a changé entre-temps : rechargez la page."),
    ("too_many_requests", "Trop de demandes en peu de temps : patientez un instant puis réessayez."),
    ("internal_error", "Une erreur inattendue s'est produite de notre côté ; elle a été enregistrée. Réessayez dans un instant."),
    ("service_unavailable", "Le service est momentanément indisponible. Réessayez dans quelques secondes."),
    ("plugin_busy", "L'extension est occupée : réessayez dans un instant."),
    ("plugin_failed", "L'extension n'a pas pu répondre ; l'erreur est visible dans sa santé."),
];

/// Matches `text` against `template` (`{}` holes), returning the holes.
fn captures(template: &str, text: &str) -> Option<Vec<String>> {
    let pieces: Vec<&str> = template.split("{}").collect();
    if pieces.len() == 1 {
        return (template == text).then(Vec::new);
    }
    let mut rest = text.strip_prefix(pieces[0])?;
    let mut holes = Vec::new();
    for (i, piece) in pieces.iter().enumerate().skip(1) {
        if i == pieces.len() - 1 {
            holes.push(rest.strip_suffix(piece)?.to_owned());
        } else {
            // Two holes side by side could split anywhere: templates never have them.
            let at = (!piece.is_empty()).then(|| rest.find(piece)).flatten()?;
            holes.push(rest[..at].to_owned());
            rest = &rest[at + piece.len()..];
        }
    }
    Some(holes)
}

/// `text` reworded: when it matches `english` (`{}` holes), `target` with the holes put back.
pub(crate) fn words(english: &str, target: &str, text: &str) -> Option<String> {
    captures(english, text).map(|holes| fill(target, &holes))
}

/// A captured hole as French reads it.
fn hole(value: &str, kind: Option<&str>) -> String {
    let key = value.trim_matches('`');
    match kind {
        Some("user_type") => key.parse::<UserType>().map(|t| t.label(Locale::Fr).to_owned()).unwrap_or_else(|_| key.to_owned()),
        Some("user_types") => key
            .split(", ")
            .map(|t| t.parse::<UserType>().map(|t| t.label(Locale::Fr).to_owned()).unwrap_or_else(|_| t.to_owned()))
            .collect::<Vec<_>>()
            .join(", "),
        Some("permission") => key.parse::<Permission>().map(|p| p.label(Locale::Fr).to_owned()).unwrap_or_else(|_| key.to_owned()),
        // Numbers the French way.
        _ if !key.is_empty() && key.chars().all(|c| c.is_ascii_digit() || c == '.') && key.matches('.').count() == 1 => key.replace('.', ","),
        _ => key.to_owned(),
    }
}

fn fill(template: &str, holes: &[String]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else { break };
        let inner = &rest[start + 1..start + end];
        let (index, kind) = inner.split_once(':').map_or((inner, None), |(i, k)| (i, Some(k)));
        match index.parse::<usize>().ok().and_then(|i| holes.get(i)) {
            Some(value) => out.push_str(&hole(value, kind)),
            None => out.push_str(&rest[start..=start + end]),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The French of one error: its detail (without the `field: ` prefix English details carry),
/// matched on its field and wording, else a sentence for its code; `None` keeps the English.
pub fn french(code: &str, field: Option<&str>, detail: &str) -> Option<String> {
    let bare = field.and_then(|f| detail.strip_prefix(f)).and_then(|d| d.strip_prefix(": ")).unwrap_or(detail);
    // A value's own check may name itself too (`color: `noir` is not a colour…`).
    let inner =
        bare.split_once(": ").filter(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')).map(|(_, m)| m);
    for text in [Some(bare), inner].into_iter().flatten() {
        if let Some(french) = french_of(field, text) {
            return Some(french);
        }
    }
    BY_CODE.iter().find(|(c, _)| *c == code).map(|(_, fr)| fr.replace("{detail}", bare))
}

/// The sentence of one wording, matched on its field.
fn french_of(field: Option<&str>, bare: &str) -> Option<String> {
    for (on, english, french) in MESSAGES {
        let field_fits = match *on {
            "*" => true,
            "-" => field.is_none(),
            exact => field == Some(exact),
        };
        if !field_fits {
            continue;
        }
        if let Some(holes) = captures(english, bare) {
            return Some(fill(french, &holes));
        }
    }
    None
}

/// Axum's JSON rejection says which field failed to read (`…target type: theme.primary: `jaune`
/// is not a colour… at line 1 column 40`): the field and the message alone.
fn body_error(detail: &str) -> Option<(String, String)> {
    let rest = detail.split_once("target type: ")?.1;
    let (path, message) = rest.split_once(": ")?;
    if path.contains(' ') || path == "." {
        return None;
    }
    let message = message.rsplit_once(" at line ").map_or(message, |(m, _)| m);
    Some((path.to_owned(), message.to_owned()))
}

/// Rewrites an error envelope in French. Returns `None` when nothing changed.
pub fn translate_envelope(body: &[u8]) -> Option<Vec<u8>> {
    let mut envelope: Value = serde_json::from_slice(body).ok()?;
    let errors = envelope.get_mut("errors")?.as_array_mut()?;
    let mut changed = false;
    for error in errors.iter_mut() {
        let Some(object) = error.as_object_mut() else { continue };
        let code = object.get("code").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut field = object.get("field").and_then(Value::as_str).map(str::to_owned);
        let mut detail = object.get("detail").and_then(Value::as_str).unwrap_or_default().to_owned();
        if field.is_none()
            && code == "invalid_body"
            && let Some((path, message)) = body_error(&detail)
        {
            object.insert("field".into(), Value::String(path.clone()));
            field = Some(path);
            detail = message;
        }
        // A duplicate address is the email field's problem.
        if field.is_none() && detail.starts_with("a user with the email ") {
            object.insert("field".into(), Value::String("email".into()));
        }
        if let Some(text) = french(&code, field.as_deref(), &detail) {
            object.insert("detail".into(), Value::String(text));
            changed = true;
        }
    }
    if changed { serde_json::to_vec(&envelope).ok() } else { None }
}

/// Whether the request asks for French: only an explicit `Accept-Language` does (the admin
/// console sends the page's language); without one the API answers in English as always.
fn asks_french(request: &Request) -> bool {
    request.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).is_some_and(|h| crate::i18n::negotiate(Some(h), Locale::En) == Locale::Fr)
}

/// Largest error body rewritten (envelopes are small; anything larger passes untouched).
const MAX_ENVELOPE: usize = 64 * 1024;

/// Middleware of the administration routes: their error envelopes in French for a client that
/// asks for French.
pub async fn localize(request: Request, next: Next) -> Response {
    if !asks_french(&request) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let is_json = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.starts_with("application/json"));
    if !(response.status().is_client_error() || response.status().is_server_error()) || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ENVELOPE).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match translate_envelope(&bytes) {
        Some(french) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("fr"));
            Body::from(french)
        }
        None => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fr(code: &str, field: Option<&str>, detail: &str) -> String {
        french(code, field, detail).unwrap_or_else(|| panic!("no French for {detail:?}"))
    }

    #[test]
    fn admin_validation_messages_read_in_french_without_the_field_prefix() {
        assert_eq!(fr("validation_failed", Some("name"), "name: must be 1 to 80 characters long"), "Le nom doit compter de 1 à 80 caractères.");
        assert_eq!(
            fr("validation_failed", Some("display_name"), "display_name: must be 1 to 100 characters without control characters"),
            "Le nom doit compter de 1 à 100 caractères, sans caractères de contrôle."
        );
        assert_eq!(
            fr("validation_failed", Some("email"), "email: is not a valid email address, e.g. prenom.nom@exemple.fr"),
            "Cette adresse e-mail n'est pas valide (exemple : prenom.nom@exemple.fr)."
        );
        assert_eq!(
            fr("validation_failed", Some("roles"), "roles: the role `support_n1` cannot be given to a `client` user (allowed: interne, technicien)"),
            "Ce rôle ne peut pas être donné à un utilisateur de type Client : il convient aux types Interne, Technicien."
        );
        assert_eq!(
            fr(
                "validation_failed",
                Some("theme.background"),
                "theme.background: text colour #cccccc on #f7f8fa has a contrast of 1.5:1; WCAG AA needs 4.5:1 — darken the text or lighten the background"
            ),
            "Le texte (#cccccc) sur ce fond (#f7f8fa) n'a qu'un contraste de 1,5:1, or il faut au moins 4,5:1 pour qu'il reste lisible (norme WCAG AA) : foncez la couleur du texte ou éclaircissez ce fond."
        );
        assert_eq!(fr("validation_failed", Some("tolerance"), "tolerance: `abc` is not a number"), "« abc » n'est pas un nombre.");
        assert_eq!(fr("conflict", None, "you cannot disable your own account"), "Vous ne pouvez pas désactiver votre propre compte.");
        // Nothing matched: a sentence for the code, never the English alone.
        assert_eq!(fr("validation_failed", Some("x"), "x: something new"), "Cette valeur n'est pas acceptée : vérifiez-la.");
        assert_eq!(
            fr("unresolvable", None, "telecom needs helpdesk ^1.0"),
            "Ce changement n'est pas possible dans cet espace : une dépendance ou une version ne convient pas (détail : telecom needs helpdesk ^1.0)."
        );
    }

    #[test]
    fn every_message_the_admin_forms_can_meet_has_its_own_french() {
        // Each English wording above, with its holes filled, finds its own sentence (not the
        // code's fallback).
        for (field, english, french_text) in MESSAGES {
            let sample = english.replace("{}", "x1");
            let field = match *field {
                "*" => Some("f"),
                "-" => None,
                f => Some(f),
            };
            let got = french_of(field, &sample);
            assert!(got.as_deref().is_some_and(|g| !g.contains('{')), "{english} -> {got:?} ({french_text})");
        }
    }

    #[test]
    fn unreadable_bodies_name_their_field() {
        let envelope = serde_json::json!({ "errors": [{
            "code": "invalid_body",
            "detail": "Failed to deserialize the JSON body into the target type: theme.primary: `jaune` is not a colour; write it as #rrggbb, e.g. #1f6feb at line 1 column 40"
        }]});
        let out: Value = serde_json::from_slice(&translate_envelope(&serde_json::to_vec(&envelope).unwrap()).unwrap()).unwrap();
        assert_eq!(out["errors"][0]["field"], "theme.primary");
        assert_eq!(out["errors"][0]["detail"], "« jaune » n'est pas une couleur : écrivez-la sous la forme #rrggbb, par exemple #1f6feb.");
        assert_eq!(out["errors"][0]["code"], "invalid_body", "codes stay what clients match on");
        // The colour's own check names itself first.
        let envelope = serde_json::json!({ "errors": [{
            "code": "invalid_body",
            "detail": "Failed to deserialize the JSON body into the target type: theme.text: color: `noir` is not a colour; write it as #rrggbb, e.g. #1f6feb at line 1 column 163"
        }]});
        let out: Value = serde_json::from_slice(&translate_envelope(&serde_json::to_vec(&envelope).unwrap()).unwrap()).unwrap();
        assert_eq!(out["errors"][0]["field"], "theme.text");
        assert_eq!(out["errors"][0]["detail"], "« noir » n'est pas une couleur : écrivez-la sous la forme #rrggbb, par exemple #1f6feb.");
    }

    #[test]
    fn a_duplicate_email_is_attached_to_the_email_field() {
        let envelope = serde_json::json!({ "errors": [{ "code": "conflict", "detail": "a user with the email a@b.fr already exists in this tenant" }]});
        let out: Value = serde_json::from_slice(&translate_envelope(&serde_json::to_vec(&envelope).unwrap()).unwrap()).unwrap();
        assert_eq!(out["errors"][0]["field"], "email");
        assert_eq!(out["errors"][0]["detail"], "Un utilisateur de cet espace a déjà l'adresse a@b.fr.");
    }

    #[test]
    fn record_field_errors_read_in_french() {
        assert_eq!(
            french("", Some("email"), "`pas un mail` is not an email address, e.g. prenom.nom@exemple.fr").as_deref(),
            Some("« pas un mail » n'est pas une adresse e-mail (par exemple prenom.nom@exemple.fr).")
        );
        assert_eq!(french("", Some("subject"), "is required").as_deref(), Some("Ce champ est obligatoire."));
        assert_eq!(french("", Some("subject"), "is 250 characters long; at most 200").as_deref(), Some("Ce texte compte 250 caractères, 200 au plus."));
        assert!(french("", Some("project"), "no helpdesk.project record 01a2 in this tenant").is_some_and(|f| !f.contains("01a2")));
        assert_eq!(french("", Some("x"), "something nobody wrote down"), None);
    }

    #[test]
    fn templates_match_whole_messages_only() {
        assert_eq!(captures("must be at least {}", "must be at least 3"), Some(vec!["3".to_owned()]));
        assert_eq!(captures("must be at least {}", "it must be at least 3"), None);
        assert_eq!(captures("expected a number", "expected a number!"), None);
        assert_eq!(captures("{} has no setting `{}`", "telecom@1.1.0 has no setting `x`"), Some(vec!["telecom@1.1.0".to_owned(), "x".to_owned()]));
    }
}
