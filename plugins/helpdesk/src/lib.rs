//! Helpdesk (seed 003): projects, tickets tied to a project, threaded replies the client sees,
//! internal comments the client never sees, an SLA per ticket type that pauses while waiting for
//! the client, N1/N2 escalation and a knowledge base.
//!
//! The data model, workflow and SLA timer live in `socle.toml`; the host runs them. This code
//! fills in what depends on other records or on the tenant's settings (filter hooks), sends the
//! mails (action hooks), and implements the actions and panels.
//!
//! Who wrote a ticket or a reply: for users of type client the host sets the record's `account`
//! (the collection's scope field) before any filter runs, and refuses any other account; staff
//! leave it empty and the filter fills it in from the project or the ticket. So an `account`
//! present on create means the client wrote it — a client can never pass for the team.

use socle_sdk::{Error, Event, FilterOutcome, Plugin, Query, Record, Value, Write, clock, config, json, kv, log, mail, records};

mod time;

/// Collections.
pub const PROJECT: &str = "helpdesk.project";
/// Tickets.
pub const TICKET: &str = "helpdesk.ticket";
/// The client-visible thread.
pub const REPLY: &str = "helpdesk.reply";
/// Internal comments.
pub const COMMENT: &str = "helpdesk.comment";
/// Knowledge base.
pub const ARTICLE: &str = "helpdesk.article";

/// Ticket types and their default SLA in minutes (the tenant overrides them in the settings).
pub const TICKET_TYPES: [(&str, &str, i64); 3] = [("urgence", "Urgence", 240), ("maintenance", "Maintenance", 1440), ("evolution", "Évolution", 7200)];

/// Fields a client sees change on their ticket (changes to the others send no mail).
const CLIENT_VISIBLE: [&str; 7] = ["status", "subject", "description", "attachments", "ticket_type", "project", "resolved_at"];

/// Who the host says made a change when this plugin made it.
const SELF_ACTOR: &str = "plugin:helpdesk";

struct Helpdesk;

fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    data.get(field).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// The SLA of a ticket type, in minutes, from the tenant's settings (or the default).
pub fn sla_minutes(ticket_type: &str) -> Result<i64, String> {
    let (_, _, default) = TICKET_TYPES
        .iter()
        .find(|(key, _, _)| *key == ticket_type)
        .ok_or_else(|| format!("« {ticket_type} » n'est pas un type de ticket (urgence, maintenance, evolution)"))?;
    let configured: Option<f64> = config::get(&format!("sla_{ticket_type}_minutes")).map_err(|e| e.to_string())?;
    match configured {
        Some(m) if m >= 1.0 => Ok(m as i64),
        Some(_) => Err(format!("le SLA « {ticket_type} » des réglages doit être d'au moins une minute")),
        None => Ok(*default),
    }
}

/// The label of a status, as the client reads it.
pub fn status_label(status: &str) -> &str {
    match status {
        "ouvert" => "Ouvert",
        "en_cours" => "En cours",
        "attente_client" => "En attente client",
        "resolu" => "Résolu",
        "ferme" => "Fermé",
        other => other,
    }
}

fn type_label(ticket_type: &str) -> &str {
    TICKET_TYPES.iter().find(|(k, _, _)| *k == ticket_type).map_or(ticket_type, |(_, l, _)| l)
}

fn now_text() -> String {
    time::format_ms(clock::now_ms())
}

fn get_in(collection: &str, id: &str, what: &str) -> Result<Record, String> {
    match records::get(id) {
        Ok(r) if r.collection == collection => Ok(r),
        Ok(_) | Err(Error::NotFound(_)) => Err(format!("{what} {id} n'existe pas")),
        Err(e) => Err(format!("{what} {id} n'a pas pu être lu : {e}")),
    }
}

/// The ticket filter: project mandatory and active, account from the project, SLA from the type,
/// a number on creation, the resolution date on `resolve`.
fn ticket_rules(write: &Write) -> Result<Option<Value>, String> {
    let mut data = write.data.clone();
    let before = write.before.clone().unwrap_or(Value::Null);
    let creating = write.op == "create";
    let project_changed = creating || text(&data, "project") != text(&before, "project");
    if project_changed {
        let project_id = text(&data, "project").ok_or("choisissez le projet concerné par le ticket")?;
        let project = get_in(PROJECT, project_id, "le projet")?;
        let client = project.get::<String>("client").ok_or("ce projet n'est rattaché à aucun client")?;
        if project.get::<bool>("active") == Some(false) {
            let name = project.get::<String>("name").unwrap_or_default();
            return Err(format!("le projet « {name} » est archivé : choisissez un projet actif"));
        }
        match text(&data, "account") {
            // A client's own account (set by the host) must be the project's.
            Some(account) if account != client => return Err("ce projet n'appartient pas à votre compte client".into()),
            Some(_) if creating => data["origin"] = json!("client"),
            None if creating => data["origin"] = json!("equipe"),
            _ => {}
        }
        data["account"] = json!(client);
        if text(&data, "requester_email").is_none()
            && let Some(email) = project.get::<String>("contact_email")
        {
            data["requester_email"] = json!(email);
        }
    }
    if !creating {
        // Who opened the ticket does not change afterwards.
        match before.get("origin") {
            Some(origin) => data["origin"] = origin.clone(),
            None => {
                if let Some(map) = data.as_object_mut() {
                    map.remove("origin");
                }
            }
        }
    }
    let ticket_type = text(&data, "ticket_type").unwrap_or("maintenance").to_owned();
    if creating || text(&before, "ticket_type") != Some(ticket_type.as_str()) {
        data["sla_minutes"] = json!(sla_minutes(&ticket_type)?);
    }
    if creating && text(&data, "number").is_none() {
        let prefix: String = config::get("ticket_prefix").ok().flatten().unwrap_or_else(|| "T".into());
        let n = kv::increment("ticket_seq", 1).map_err(|e| format!("le numéro du ticket n'a pas pu être attribué : {e}"))?;
        data["number"] = json!(format!("{prefix}-{n:05}"));
    }
    if write.transition.as_deref() == Some("resolve") {
        data["resolved_at"] = json!(now_text());
    }
    if write.transition.as_deref() == Some("reopen") {
        data["resolved_at"] = Value::Null;
    }
    Ok((data != write.data).then_some(data))
}

/// The reply filter: the ticket exists and is not closed, the account and author side follow the
/// ticket, a threaded reply answers a message of the same ticket.
fn reply_rules(write: &Write) -> Result<Option<Value>, String> {
    let mut data = write.data.clone();
    let ticket_id = text(&data, "ticket").ok_or("précisez le ticket auquel vous répondez")?.to_owned();
    if write.op == "update" {
        let before = write.before.clone().unwrap_or(Value::Null);
        if text(&before, "ticket") != Some(ticket_id.as_str()) {
            return Err("une réponse ne change pas de ticket".into());
        }
        for field in ["author_side", "author", "account"] {
            if let Some(v) = before.get(field) {
                data[field] = v.clone();
            }
        }
        return Ok((data != write.data).then_some(data));
    }
    let ticket = get_in(TICKET, &ticket_id, "le ticket")?;
    if ticket.state.as_deref() == Some("ferme") {
        return Err("ce ticket est fermé : ouvrez un nouveau ticket".into());
    }
    let ticket_account = ticket.get::<String>("account").unwrap_or_default();
    let side = match text(&data, "account") {
        Some(account) if account != ticket_account => return Err("ce ticket n'appartient pas à votre compte client".into()),
        Some(_) => "client",
        None => "equipe",
    };
    if let Some(parent) = text(&data, "parent") {
        let parent = get_in(REPLY, parent, "le message")?;
        if parent.get::<String>("ticket").as_deref() != Some(ticket_id.as_str()) {
            return Err("on ne répond qu'à un message du même ticket".into());
        }
    }
    data["account"] = json!(ticket_account);
    data["author_side"] = json!(side);
    data["author"] = json!(write.actor);
    Ok(Some(data))
}

/// The comment filter: on an existing ticket, signed by its author.
fn comment_rules(write: &Write) -> Result<Option<Value>, String> {
    let mut data = write.data.clone();
    let ticket_id = text(&data, "ticket").ok_or("précisez le ticket commenté")?;
    get_in(TICKET, ticket_id, "le ticket")?;
    match write.op.as_str() {
        "create" => data["author"] = json!(write.actor),
        _ => {
            if let Some(author) = write.before.as_ref().and_then(|b| b.get("author")) {
                data["author"] = author.clone();
            }
        }
    }
    Ok((data != write.data).then_some(data))
}

fn alert_address() -> Option<String> {
    match config::get::<String>("alert_email") {
        Ok(Some(a)) if !a.trim().is_empty() => Some(a),
        _ => {
            log::warn("no internal alert address (setting `alert_email`): alert not sent");
            None
        }
    }
}

/// Mails `to` about `ticket`: the mail links to the ticket in the tenant's portal.
fn notify(to: &str, ticket: &Record, subject: &str, message: &str) -> Result<(), String> {
    mail::notify_about(to, subject, message, TICKET, &ticket.id).map_err(|e| format!("le mail à {to} n'a pas pu partir : {e}"))
}

/// The SLA deadline of a ticket as the reader's local time (the host writes it out), if it runs.
fn due_text(ticket: &Record) -> Option<String> {
    ticket.get::<String>("sla_due_at").filter(|d| time::parse_ms(d).is_some()).map(mail::time)
}

fn ticket_title(ticket: &Record) -> String {
    format!("{} – {}", ticket.get::<String>("number").unwrap_or_default(), ticket.get::<String>("subject").unwrap_or_default())
}

fn ticket_created(event: &Event) -> Result<(), String> {
    let ticket = get_in(TICKET, &event.record_id, "le ticket")?;
    let ticket_type = ticket.get::<String>("ticket_type").unwrap_or_default();
    let minutes = ticket.get::<i64>("sla_minutes").unwrap_or(0);
    let due = due_text(&ticket).map(|d| format!(" (échéance : le {d})")).unwrap_or_default();
    if let Some(to) = ticket.get::<String>("requester_email") {
        let message = format!(
            "Votre demande « {} » a bien été enregistrée sous le numéro {}.\nType : {}. Délai de traitement visé : {}{due}.\nVous recevrez un e-mail à chaque mise à jour.",
            ticket.get::<String>("subject").unwrap_or_default(),
            ticket.get::<String>("number").unwrap_or_default(),
            type_label(&ticket_type),
            time::minutes_text(minutes),
        );
        notify(&to, &ticket, &format!("[{}] Demande enregistrée", ticket.get::<String>("number").unwrap_or_default()), &message)?;
    }
    if ticket.get::<String>("origin").as_deref() == Some("client")
        && let Some(alert) = alert_address()
    {
        let message = format!(
            "Nouveau ticket client {} ({}, SLA {}{due}).\n\n{}",
            ticket_title(&ticket),
            type_label(&ticket_type),
            time::minutes_text(minutes),
            ticket.get::<String>("description").unwrap_or_default()
        );
        notify(&alert, &ticket, &format!("Nouveau ticket client : {}", ticket_title(&ticket)), &message)?;
    }
    Ok(())
}

/// One mail to the client per change he can see: the status this change reached (a later change
/// mails its own), the fields it changed. Changes the helpdesk makes by itself are not mailed:
/// they follow the client's own action (his message resumes a ticket that waited for him), and
/// the team is alerted of that action already.
fn ticket_changed(event: &Event) -> Result<(), String> {
    let changed: Vec<String> = event.payload.get("changed").and_then(|c| serde_json::from_value(c.clone()).ok()).unwrap_or_default();
    let visible: Vec<&str> = changed.iter().map(String::as_str).filter(|c| CLIENT_VISIBLE.contains(c)).collect();
    if visible.is_empty() || event.payload.get("actor").and_then(Value::as_str) == Some(SELF_ACTOR) {
        return Ok(());
    }
    let ticket = get_in(TICKET, &event.record_id, "le ticket")?;
    let Some(to) = ticket.get::<String>("requester_email") else { return Ok(()) };
    let number = ticket.get::<String>("number").unwrap_or_default();
    let mut lines = vec![format!("Votre ticket {} a été mis à jour.", ticket_title(&ticket))];
    let subject = if visible.contains(&"status") {
        // The state this change reached, not the one the ticket has reached since.
        let status = event.payload.get("state").and_then(Value::as_str).map(str::to_owned).or_else(|| ticket.state.clone()).unwrap_or_default();
        lines.push(format!("Nouveau statut : {}.", status_label(&status)));
        if status == "resolu"
            && let Some(at) = ticket.get::<String>("resolved_at").filter(|d| time::parse_ms(d).is_some())
        {
            lines.push(format!("Résolu le {}.", mail::time(at)));
        }
        format!("[{number}] {}", status_label(&status))
    } else {
        format!("[{number}] Ticket mis à jour")
    };
    let other: Vec<&str> = visible.iter().copied().filter(|c| !matches!(*c, "status" | "resolved_at")).collect();
    if !other.is_empty() {
        lines.push(format!("Champs modifiés : {}.", other.iter().map(|c| field_label(c)).collect::<Vec<_>>().join(", ")));
    }
    notify(&to, &ticket, &subject, &lines.join("\n"))
}

fn field_label(field: &str) -> &str {
    match field {
        "subject" => "objet",
        "description" => "description",
        "attachments" => "pièces jointes",
        "ticket_type" => "type de demande",
        "project" => "projet",
        "resolved_at" => "date de résolution",
        other => other,
    }
}

/// Moves a ticket to N2 and leaves an internal comment saying why; false if it already was.
pub fn escalate(ticket_id: &str, reason: &str) -> Result<bool, String> {
    let ticket = get_in(TICKET, ticket_id, "le ticket")?;
    if ticket.get::<String>("level").as_deref() == Some("n2") {
        return Ok(false);
    }
    records::update(ticket_id, &json!({ "level": "n2", "escalated_at": now_text(), "escalation_reason": reason }), Some(ticket.version))
        .map_err(|e| format!("le ticket {} n'a pas pu être escaladé : {e}", ticket_title(&ticket)))?;
    records::create(COMMENT, &json!({ "ticket": ticket_id, "body": format!("Escaladé en N2 : {reason}"), "author": "plugin:helpdesk" }))
        .map_err(|e| format!("le commentaire d'escalade n'a pas pu être créé : {e}"))?;
    Ok(true)
}

fn sla_breached(event: &Event) -> Result<(), String> {
    let ticket = get_in(TICKET, &event.record_id, "le ticket")?;
    if let Some(alert) = alert_address() {
        let message = format!(
            "Le SLA du ticket {} ({}) est dépassé{}. Statut : {}. Niveau : {}.",
            ticket_title(&ticket),
            type_label(&ticket.get::<String>("ticket_type").unwrap_or_default()),
            due_text(&ticket).map(|d| format!(" depuis le {d}")).unwrap_or_default(),
            status_label(ticket.state.as_deref().unwrap_or_default()),
            ticket.get::<String>("level").unwrap_or_default().to_uppercase(),
        );
        notify(&alert, &ticket, &format!("SLA dépassé : {}", ticket_title(&ticket)), &message)?;
    }
    if config::get::<bool>("auto_escalate").ok().flatten().unwrap_or(true) {
        escalate(&event.record_id, "SLA dépassé")?;
    }
    Ok(())
}

fn reply_posted(event: &Event) -> Result<(), String> {
    let reply = get_in(REPLY, &event.record_id, "le message")?;
    let ticket_id = reply.get::<String>("ticket").ok_or("message sans ticket")?;
    let ticket = get_in(TICKET, &ticket_id, "le ticket")?;
    let body = reply.get::<String>("body").unwrap_or_default();
    let number = ticket.get::<String>("number").unwrap_or_default();
    if reply.get::<String>("author_side").as_deref() == Some("client") {
        if let Some(alert) = alert_address() {
            notify(
                &alert,
                &ticket,
                &format!("[{number}] Nouveau message client"),
                &format!("Nouveau message client sur {} :\n\n{body}", ticket_title(&ticket)),
            )?;
        }
        records::update(&ticket_id, &json!({ "unread": true, "last_client_message_at": time::format_ms(reply.created_at) }), None)
            .map_err(|e| format!("le ticket {number} n'a pas pu être marqué non lu : {e}"))?;
        // The client answered: the SLA countdown resumes.
        if ticket.state.as_deref() == Some("attente_client") {
            records::transition(&ticket_id, "client_replied").map_err(|e| format!("le ticket {number} n'a pas pu reprendre : {e}"))?;
        }
    } else {
        if let Some(to) = ticket.get::<String>("requester_email") {
            notify(
                &to,
                &ticket,
                &format!("[{number}] Nouvelle réponse"),
                &format!("Nouvelle réponse de l'équipe sur votre ticket {} :\n\n{body}", ticket_title(&ticket)),
            )?;
        }
        if ticket.get::<bool>("unread") == Some(true) {
            records::update(&ticket_id, &json!({ "unread": false }), None).map_err(|e| format!("le ticket {number} n'a pas pu être marqué lu : {e}"))?;
        }
    }
    Ok(())
}

fn link_article(ids: &[String], params: &Value) -> Result<Value, String> {
    let article_id = text(params, "article").ok_or("choisissez l'article à lier")?;
    let article = get_in(ARTICLE, article_id, "l'article")?;
    let mut linked = 0;
    for id in ids {
        let ticket = get_in(TICKET, id, "le ticket")?;
        let mut articles: Vec<String> = ticket.get("articles").unwrap_or_default();
        if articles.iter().any(|a| a == article_id) {
            continue;
        }
        articles.push(article_id.to_owned());
        records::update(id, &json!({ "articles": articles }), Some(ticket.version))
            .map_err(|e| format!("le ticket {} n'a pas pu être lié : {e}", ticket_title(&ticket)))?;
        records::link(id, article_id, "articles").map_err(|e| e.to_string())?;
        linked += 1;
    }
    Ok(json!({ "linked": linked, "article": article.get::<String>("title") }))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn sla_panel(ticket: &Record) -> String {
    let minutes = ticket.get::<i64>("sla_minutes").unwrap_or(0);
    let state = ticket.state.as_deref().unwrap_or_default();
    let due = ticket.get::<String>("sla_due_at");
    let breached = ticket.get::<bool>("sla_breached") == Some(true);
    let situation = if breached {
        "<strong>SLA dépassé</strong>".to_owned()
    } else if matches!(state, "attente_client" | "resolu") {
        "Compte à rebours en pause".to_owned()
    } else if state == "ferme" {
        "Ticket fermé".to_owned()
    } else {
        match due.as_deref().and_then(time::parse_ms) {
            Some(due) => format!("Reste {}", time::minutes_text((due - clock::now_ms()).max(0) / 60_000)),
            None => "Échéance inconnue".to_owned(),
        }
    };
    format!(
        "<dl><dt>Type</dt><dd>{}</dd><dt>Délai SLA</dt><dd>{}</dd><dt>Échéance</dt><dd>{}</dd><dt>Situation</dt><dd>{situation}</dd><dt>Niveau</dt><dd>{}</dd></dl>",
        escape(type_label(&ticket.get::<String>("ticket_type").unwrap_or_default())),
        time::minutes_text(minutes),
        due.map_or_else(|| "—".to_owned(), |due| socle_sdk::text::time(escape(&due))),
        escape(&ticket.get::<String>("level").unwrap_or_default().to_uppercase()),
    )
}

fn thread_panel(ticket: &Record) -> Result<String, String> {
    // Replies only: internal comments never reach a panel a client may see.
    let page = records::query(REPLY, &Query::new().eq("ticket", ticket.id.as_str()).sort("created_at").limit(200)).map_err(|e| e.to_string())?;
    if page.items.is_empty() {
        return Ok("<p>Aucun message pour l'instant.</p>".into());
    }
    let mut html = String::from("<ol>");
    for reply in &page.items {
        let who = if reply.get::<String>("author_side").as_deref() == Some("client") { "Client" } else { "Équipe projet" };
        let when = time::format_ms(reply.created_at);
        let files = reply.get::<Vec<Value>>("attachments").map_or(0, |f| f.len());
        let indent = if reply.get::<String>("parent").is_some() { " style-reply" } else { "" };
        html.push_str(&format!(
            "<li class=\"message{indent}\"><p><b>{who}</b> — {}</p><p>{}</p>{}</li>",
            socle_sdk::text::time(&when),
            escape(&reply.get::<String>("body").unwrap_or_default()).replace('\n', "<br>"),
            if files > 0 { format!("<p>{}</p>", socle_sdk::text::count(files as i64, "pièce jointe", "pièces jointes")) } else { String::new() },
        ));
    }
    html.push_str("</ol>");
    Ok(html)
}

impl Plugin for Helpdesk {
    fn upgrade(from_version: &str) -> Result<(), String> {
        log::info(&format!("helpdesk upgraded from {from_version}: no data migration needed"));
        Ok(())
    }

    fn filter(write: &Write) -> FilterOutcome {
        if write.op == "delete" {
            return FilterOutcome::Keep;
        }
        let outcome = match write.hook.as_str() {
            "ticket_rules" => ticket_rules(write),
            "reply_rules" => reply_rules(write),
            "comment_rules" => comment_rules(write),
            _ => Ok(None),
        };
        match outcome {
            Ok(None) => FilterOutcome::Keep,
            Ok(Some(data)) => FilterOutcome::Change(data),
            Err(reason) => FilterOutcome::Veto(reason),
        }
    }

    fn action(event: &Event) -> Result<(), String> {
        match event.hook.as_str() {
            "ticket_created" => ticket_created(event),
            "ticket_changed" => ticket_changed(event),
            "sla_breached" => sla_breached(event),
            "reply_posted" => reply_posted(event),
            other => Err(format!("helpdesk has no action hook `{other}`")),
        }
    }

    fn run_action(action: &str, ids: &[String], params: &Value) -> Result<Value, String> {
        if ids.is_empty() {
            return Err("sélectionnez au moins un ticket".into());
        }
        match action {
            "escalate" => {
                let reason = text(params, "reason").ok_or("indiquez le motif de l'escalade")?;
                let mut escalated = 0;
                for id in ids {
                    if escalate(id, reason)? {
                        escalated += 1;
                    }
                }
                Ok(json!({ "escalated": escalated, "already_n2": ids.len() - escalated }))
            }
            "link_article" => link_article(ids, params),
            "mark_read" => {
                let results = records::bulk_update(TICKET, ids, &json!({ "unread": false })).map_err(|e| e.to_string())?;
                let failed: Vec<String> = results.iter().filter(|r| !r.ok).map(|r| format!("{} : {}", r.id, r.error.clone().unwrap_or_default())).collect();
                if failed.is_empty() { Ok(json!({ "read": results.len() })) } else { Err(format!("non marqués : {}", failed.join(" ; "))) }
            }
            other => Err(format!("helpdesk has no action `{other}`")),
        }
    }

    fn render_panel(panel: &str, record_id: Option<&str>) -> Result<String, String> {
        let id = record_id.ok_or("ce panneau s'affiche sur un ticket")?;
        let ticket = get_in(TICKET, id, "le ticket")?;
        match panel {
            "sla" => Ok(sla_panel(&ticket)),
            "thread" => thread_panel(&ticket),
            other => Err(format!("helpdesk has no panel `{other}`")),
        }
    }
}

socle_sdk::register_plugin!(Helpdesk);

#[cfg(test)]
mod tests {
    use socle_sdk::testing;

    use super::*;

    fn write(hook: &str, op: &str, data: Value, before: Option<Value>) -> Write {
        Write { hook: hook.into(), op: op.into(), collection: TICKET.into(), id: "t1".into(), before, data, transition: None, actor: "user:staff".into() }
    }

    fn project(active: bool) -> (String, String) {
        let account = testing::insert("customer_account", json!({ "name": "Boulangerie Martin" }));
        let project =
            testing::insert(PROJECT, json!({ "name": "Site vitrine", "client": account, "active": active, "contact_email": "paul@boulangerie-martin.fr" }));
        (account, project)
    }

    #[test]
    fn a_ticket_gets_its_account_number_and_sla_from_the_project_and_settings() {
        testing::reset();
        testing::set_config("sla_urgence_minutes", json!(60));
        let (account, project) = project(true);
        let FilterOutcome::Change(data) =
            Helpdesk::filter(&write("ticket_rules", "create", json!({ "project": project, "subject": "Panne", "ticket_type": "urgence" }), None))
        else {
            panic!("expected a change")
        };
        assert_eq!(data["account"], json!(account));
        assert_eq!(data["origin"], "equipe");
        assert_eq!(data["sla_minutes"], 60);
        assert_eq!(data["number"], "T-00001");
        assert_eq!(data["requester_email"], "paul@boulangerie-martin.fr");
        // Unset settings fall back to the defaults.
        let FilterOutcome::Change(data) =
            Helpdesk::filter(&write("ticket_rules", "create", json!({ "project": project, "subject": "Logo", "ticket_type": "evolution" }), None))
        else {
            panic!("expected a change")
        };
        assert_eq!((data["sla_minutes"].as_i64(), data["number"].as_str()), (Some(7200), Some("T-00002")));
    }

    #[test]
    fn a_client_cannot_file_a_ticket_on_another_clients_project() {
        testing::reset();
        let (account, project) = project(true);
        let outcome = Helpdesk::filter(&write("ticket_rules", "create", json!({ "project": project, "subject": "x", "account": "someone-else" }), None));
        assert_eq!(outcome, FilterOutcome::Veto("ce projet n'appartient pas à votre compte client".into()));
        let FilterOutcome::Change(data) =
            Helpdesk::filter(&write("ticket_rules", "create", json!({ "project": project, "subject": "x", "account": account }), None))
        else {
            panic!("expected a change")
        };
        assert_eq!(data["origin"], "client", "the host-set account marks a client's ticket");
    }

    #[test]
    fn the_project_is_mandatory_existing_and_active() {
        testing::reset();
        let (_, archived) = project(false);
        let veto = |data| match Helpdesk::filter(&write("ticket_rules", "create", data, None)) {
            FilterOutcome::Veto(r) => r,
            other => panic!("expected a veto, got {other:?}"),
        };
        assert!(veto(json!({ "subject": "x" })).contains("choisissez le projet"));
        assert!(veto(json!({ "subject": "x", "project": "nope" })).contains("n'existe pas"));
        assert!(veto(json!({ "subject": "x", "project": archived })).contains("archivé"));
    }

    #[test]
    fn changing_the_type_recomputes_the_sla_and_the_origin_is_kept() {
        testing::reset();
        let (account, project) = project(true);
        let before =
            json!({ "project": project, "account": account, "ticket_type": "maintenance", "sla_minutes": 1440, "origin": "client", "number": "T-00009" });
        let mut after = before.clone();
        after["ticket_type"] = json!("urgence");
        after["origin"] = json!("equipe");
        let FilterOutcome::Change(data) = Helpdesk::filter(&write("ticket_rules", "update", after, Some(before))) else { panic!("expected a change") };
        assert_eq!((data["sla_minutes"].as_i64(), data["origin"].as_str()), (Some(240), Some("client")));
    }

    #[test]
    fn replies_follow_their_ticket_and_say_who_wrote_them() {
        testing::reset();
        let (account, project) = project(true);
        let ticket = testing::insert(TICKET, json!({ "project": project, "account": account, "subject": "x", "number": "T-00001" }));
        let reply = |data: Value| Helpdesk::filter(&Write { collection: REPLY.into(), ..write("reply_rules", "create", data, None) });
        let FilterOutcome::Change(staff) = reply(json!({ "ticket": ticket, "body": "Bonjour" })) else { panic!() };
        assert_eq!((staff["author_side"].as_str(), staff["account"].as_str()), (Some("equipe"), Some(account.as_str())));
        let FilterOutcome::Change(client) = reply(json!({ "ticket": ticket, "body": "Merci", "account": account })) else { panic!() };
        assert_eq!(client["author_side"], "client");
        assert_eq!(
            reply(json!({ "ticket": ticket, "body": "x", "account": "other" })),
            FilterOutcome::Veto("ce ticket n'appartient pas à votre compte client".into())
        );
        let other_ticket = testing::insert(TICKET, json!({ "project": project, "account": account, "subject": "y" }));
        let parent = testing::insert(REPLY, json!({ "ticket": other_ticket, "body": "ailleurs" }));
        assert_eq!(
            reply(json!({ "ticket": ticket, "body": "x", "parent": parent })),
            FilterOutcome::Veto("on ne répond qu'à un message du même ticket".into())
        );
    }

    #[test]
    fn a_client_message_alerts_the_team_and_a_team_reply_mails_the_client() {
        testing::reset();
        testing::set_config("alert_email", json!("support@agence.fr"));
        let (account, project) = project(true);
        let ticket = testing::insert(
            TICKET,
            json!({ "project": project, "account": account, "subject": "Bug", "number": "T-00004", "requester_email": "paul@boulangerie-martin.fr" }),
        );
        let client = testing::insert(REPLY, json!({ "ticket": ticket, "body": "Toujours en panne", "author_side": "client" }));
        let event = |id: &str| Event {
            hook: "reply_posted".into(),
            name: "record.created".into(),
            collection: REPLY.into(),
            record_id: id.into(),
            version: 1,
            payload: json!({}),
        };
        Helpdesk::action(&event(&client)).unwrap();
        let mails = testing::sent_mails();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].0, "support@agence.fr");
        assert!(mails[0].2["message"].as_str().unwrap().contains("Toujours en panne"));
        assert_eq!(records::get(&ticket).unwrap().get::<bool>("unread"), Some(true));
        let team = testing::insert(REPLY, json!({ "ticket": ticket, "body": "Corrigé", "author_side": "equipe" }));
        Helpdesk::action(&event(&team)).unwrap();
        let mails = testing::sent_mails();
        assert_eq!(mails[1].0, "paul@boulangerie-martin.fr");
        assert_eq!(records::get(&ticket).unwrap().get::<bool>("unread"), Some(false));
    }

    #[test]
    fn only_client_visible_changes_mail_the_client() {
        testing::reset();
        let (account, project) = project(true);
        let ticket = testing::insert(
            TICKET,
            json!({ "project": project, "account": account, "subject": "Bug", "number": "T-00001", "requester_email": "paul@boulangerie-martin.fr" }),
        );
        let event = |changed: Value| Event {
            hook: "ticket_changed".into(),
            name: "record.updated".into(),
            collection: TICKET.into(),
            record_id: ticket.clone(),
            version: 2,
            payload: json!({ "changed": changed }),
        };
        Helpdesk::action(&event(json!(["unread", "level"]))).unwrap();
        assert!(testing::sent_mails().is_empty());
        Helpdesk::action(&event(json!(["subject"]))).unwrap();
        assert_eq!(testing::sent_mails().len(), 1);
        let (_, _, vars) = &testing::sent_mails()[0];
        assert!(vars["message"].as_str().unwrap().contains("objet"));
        assert_eq!(vars["subject"], "[T-00001] Ticket mis à jour", "no status is announced when none changed");
        assert_eq!(vars["record"], json!({ "collection": TICKET, "id": ticket }), "the mail links to the ticket");
    }

    fn changed(ticket: &str, version: i64, transition: Option<&str>, state: &str, changed: Value, actor: &str) -> Event {
        Event {
            hook: "ticket_changed".into(),
            name: if transition.is_some() { "record.transitioned" } else { "record.updated" }.into(),
            collection: TICKET.into(),
            record_id: ticket.into(),
            version,
            payload: json!({ "changed": changed, "transition": transition, "state": state, "actor": actor }),
        }
    }

    /// (recipient, subject) of each mail sent so far.
    fn mailed() -> Vec<(String, String)> {
        testing::sent_mails().into_iter().map(|(to, _, vars)| (to, vars["subject"].as_str().unwrap_or_default().to_owned())).collect()
    }

    #[test]
    fn each_status_change_mails_the_client_once_with_the_status_it_reached() {
        testing::reset();
        let (account, project) = project(true);
        let ticket = testing::insert(
            TICKET,
            json!({ "project": project, "account": account, "subject": "Bug", "number": "T-00001", "requester_email": "paul@boulangerie-martin.fr",
                    "resolved_at": "2026-12-04T13:05:00.000Z" }),
        );
        // The team takes the ticket, resolves it and closes it before the hooks run: each hook
        // reads a closed ticket (the in-memory host sets the state it is given), yet each mails
        // the status its own change reached — three changes, three different mails, not three
        // « Fermé ».
        records::transition(&ticket, "ferme").unwrap();
        Helpdesk::action(&changed(&ticket, 2, Some("start"), "en_cours", json!(["status"]), "user:thomas")).unwrap();
        Helpdesk::action(&changed(&ticket, 3, Some("resolve"), "resolu", json!(["status", "resolved_at"]), "user:thomas")).unwrap();
        Helpdesk::action(&changed(&ticket, 4, Some("close"), "ferme", json!(["status"]), "user:thomas")).unwrap();
        let to = "paul@boulangerie-martin.fr".to_owned();
        assert_eq!(mailed(), [(to.clone(), "[T-00001] En cours".to_owned()), (to.clone(), "[T-00001] Résolu".to_owned()), (to, "[T-00001] Fermé".to_owned())]);
        let mails = testing::sent_mails();
        let resolved = mails[1].2["message"].as_str().unwrap();
        assert!(resolved.contains("Résolu le {{time:2026-12-04T13:05:00.000Z}}."), "the host writes the time out locally: {resolved}");
        assert!(!resolved.contains("Champs modifiés"), "the resolution date is said once: {resolved}");
        assert!(mails.iter().all(|(_, _, vars)| vars["record"]["id"] == json!(ticket)));
    }

    #[test]
    fn a_client_message_on_a_waiting_ticket_mails_the_team_once_and_the_client_never() {
        testing::reset();
        testing::set_config("alert_email", json!("support@agence.fr"));
        let (account, project) = project(true);
        let ticket = testing::insert(
            TICKET,
            json!({ "project": project, "account": account, "subject": "Bug", "number": "T-00004", "requester_email": "paul@boulangerie-martin.fr" }),
        );
        records::transition(&ticket, "attente_client").unwrap();
        let reply = testing::insert(REPLY, json!({ "ticket": ticket, "body": "Voici la capture", "author_side": "client" }));
        let posted =
            Event { hook: "reply_posted".into(), name: "record.created".into(), collection: REPLY.into(), record_id: reply, version: 1, payload: json!({}) };
        Helpdesk::action(&posted).unwrap();
        // What the hook did to the ticket (unread, then resuming it) comes back as two changes
        // made by the helpdesk itself: the client wrote, he is not told that he did.
        Helpdesk::action(&changed(&ticket, 3, None, "attente_client", json!(["unread", "last_client_message_at"]), "plugin:helpdesk")).unwrap();
        Helpdesk::action(&changed(&ticket, 4, Some("client_replied"), "en_cours", json!(["status"]), "plugin:helpdesk")).unwrap();
        assert_eq!(mailed(), [("support@agence.fr".to_owned(), "[T-00004] Nouveau message client".to_owned())]);
        assert_eq!(testing::sent_mails()[0].2["record"], json!({ "collection": TICKET, "id": ticket }));
    }

    #[test]
    fn the_acknowledgment_and_the_alerts_give_the_sla_deadline_in_local_time() {
        testing::reset();
        testing::set_config("alert_email", json!("support@agence.fr"));
        let (account, project) = project(true);
        let ticket = testing::insert(
            TICKET,
            json!({ "project": project, "account": account, "subject": "Panne", "number": "T-00007", "ticket_type": "urgence", "sla_minutes": 240,
                    "origin": "client", "requester_email": "paul@boulangerie-martin.fr", "sla_due_at": "2026-12-04T13:05:00.000Z", "level": "n1" }),
        );
        let created = Event {
            hook: "ticket_created".into(),
            name: "record.created".into(),
            collection: TICKET.into(),
            record_id: ticket.clone(),
            version: 1,
            payload: json!({}),
        };
        Helpdesk::action(&created).unwrap();
        let mails = testing::sent_mails();
        assert_eq!(mails.len(), 2, "the client's acknowledgment and the team's alert");
        for (_, _, vars) in &mails {
            let message = vars["message"].as_str().unwrap();
            assert!(message.contains("(échéance : le {{time:2026-12-04T13:05:00.000Z}})"), "{message}");
            let as_text = message.replace("{{time:2026-12-04T13:05:00.000Z}}", "");
            assert!(!as_text.contains("13:05") && !as_text.contains("2026-12-04"), "never a UTC or ISO time as text: {message}");
        }
        let breached = Event { hook: "sla_breached".into(), name: "helpdesk.sla_breached".into(), ..created };
        testing::set_config("auto_escalate", json!(false));
        Helpdesk::action(&breached).unwrap();
        let alert = &testing::sent_mails()[2].2;
        assert!(alert["message"].as_str().unwrap().contains("est dépassé depuis le {{time:2026-12-04T13:05:00.000Z}}."), "{alert}");
    }

    #[test]
    fn escalation_moves_to_n2_once_and_leaves_an_internal_comment() {
        testing::reset();
        let (account, project) = project(true);
        let ticket = testing::insert(TICKET, json!({ "project": project, "account": account, "subject": "Bug", "level": "n1" }));
        assert_eq!(Helpdesk::run_action("escalate", std::slice::from_ref(&ticket), &json!({})), Err("indiquez le motif de l'escalade".into()));
        let result = Helpdesk::run_action("escalate", std::slice::from_ref(&ticket), &json!({ "reason": "base de données" })).unwrap();
        assert_eq!(result, json!({ "escalated": 1, "already_n2": 0 }));
        assert_eq!(records::get(&ticket).unwrap().get::<String>("level").as_deref(), Some("n2"));
        let again = Helpdesk::run_action("escalate", std::slice::from_ref(&ticket), &json!({ "reason": "encore" })).unwrap();
        assert_eq!(again["escalated"], 0);
        let comments = records::query(COMMENT, &Query::new().eq("ticket", ticket.as_str())).unwrap();
        assert_eq!(comments.items.len(), 1);
    }
}
