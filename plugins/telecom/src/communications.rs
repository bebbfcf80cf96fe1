//! Communications (seed 001 §5.3 and §8): calls, mails, SMS… with a customer, tied to its account
//! and, when known, to the line, site, ticket or deployment they concern.
//!
//! Calls are fetched from the telephony through a connector (the `communications_connector`
//! setting, `3cx` by default) — no telephony API is coded here. Its `list-calls` operation takes
//! `{"number", "since"}` and answers `{"calls": [{"id", "started_at", "direction", "party",
//! "duration_seconds", "summary"}]}`; each call becomes one communication whose `source_ref`
//! (`<connector>:<id>`) is unique, so fetching again never imports a call twice.

use std::collections::BTreeSet;

use socle_sdk::{Query, Record, Value, Write, clock, config, connectors, json, records};

use crate::{DEPLOYMENT, LINE, get_in, lines, number, same_account, text};

/// Communications.
pub const COMMUNICATION: &str = "telecom.communication";

/// Calls kept per line and fetch.
const MAX_CALLS_PER_LINE: usize = 500;

/// The communication filter: the account comes from the line when it is not given, and the line,
/// site, deployment and contact must belong to it.
pub fn rules(write: &Write) -> Result<Option<Value>, String> {
    let mut data = write.data.clone();
    if let Some(line_id) = text(&data, "line") {
        let line = get_in(LINE, line_id, "la ligne")?;
        let line_account = line.get::<String>("account").unwrap_or_default();
        match text(&data, "account") {
            None => data["account"] = json!(line_account),
            Some(account) if account != line_account => {
                return Err(format!("la ligne {} n'appartient pas au compte client de la communication", number(&line)));
            }
            Some(_) => {}
        }
    }
    let account = text(&data, "account").ok_or("choisissez le compte client (ou la ligne) de la communication")?.to_owned();
    same_account(&data, "site", "site", &account, "le site")?;
    same_account(&data, "deployment", DEPLOYMENT, &account, "le déploiement")?;
    same_account(&data, "contact", "contact", &account, "le contact")?;
    Ok((data != write.data).then_some(data))
}

/// One call as the telephony connector describes it, checked.
struct Call {
    source_ref: String,
    data: Value,
}

fn call_of(connector: &str, line: &Record, raw: &Value) -> Result<Call, String> {
    let id = raw.get("id").and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 100).ok_or("un appel sans identifiant")?;
    let started_at = raw.get("started_at").and_then(Value::as_str).ok_or_else(|| format!("l'appel {id} n'a pas de date"))?;
    let direction = match raw.get("direction").and_then(Value::as_str) {
        Some("entrant" | "inbound" | "in") => "entrant",
        Some("sortant" | "outbound" | "out") => "sortant",
        _ => return Err(format!("l'appel {id} n'a pas de sens (entrant ou sortant)")),
    };
    let party = raw.get("party").and_then(Value::as_str).unwrap_or_default();
    let summary = raw.get("summary").and_then(Value::as_str).unwrap_or_default();
    let subject = if summary.is_empty() {
        format!("Appel {direction} {}", if party.is_empty() { number(line) } else { party.to_owned() })
    } else {
        summary.chars().take(200).collect()
    };
    let source_ref = format!("{connector}:{id}");
    Ok(Call {
        data: json!({
            "subject": subject, "channel": "appel", "direction": direction, "occurred_at": started_at,
            "account": line.get::<String>("account"), "line": line.id, "party": party,
            "duration_seconds": raw.get("duration_seconds").and_then(Value::as_u64).unwrap_or(0),
            "content": summary, "source_ref": source_ref,
        }),
        source_ref,
    })
}

/// Mass action on lines: fetches each line's calls of the last `days` days from the telephony and
/// records the new ones.
pub fn fetch_calls(ids: &[String], params: &Value) -> Result<Value, String> {
    let lines = lines(ids)?;
    let days = params.get("days").and_then(Value::as_f64).unwrap_or(30.0).clamp(1.0, 90.0) as i64;
    let connector = config::get::<String>("communications_connector").ok().flatten().filter(|c| !c.is_empty()).unwrap_or_else(|| "3cx".into());
    let since = crate::money::date_of_ms(clock::now_ms() - days * 86_400_000);
    let (mut done, mut failed, mut calls) = (0, Vec::new(), Vec::new());
    for line in &lines {
        let answer = match connectors::call(&connector, "list-calls", &json!({ "number": number(line), "since": since })) {
            Ok(answer) => answer,
            Err(e) => {
                failed.push(format!("{} : {}", number(line), crate::operator::describe(&e)));
                continue;
            }
        };
        let listed = answer.get("calls").and_then(Value::as_array).cloned().unwrap_or_default();
        let checked: Result<Vec<Call>, String> = listed.iter().take(MAX_CALLS_PER_LINE).map(|raw| call_of(&connector, line, raw)).collect();
        match checked {
            Ok(found) => {
                calls.extend(found);
                done += 1;
            }
            Err(e) => failed.push(format!("{} : la téléphonie a répondu un appel illisible ({e})", number(line))),
        }
    }
    let refs: Vec<&String> = calls.iter().map(|c| &c.source_ref).collect();
    let mut known = BTreeSet::new();
    for chunk in refs.chunks(100) {
        let page = records::query(COMMUNICATION, &Query::new().filter("source_ref", "in", json!(chunk)).limit(500))
            .map_err(|e| format!("les communications n'ont pas pu être lues : {e}"))?;
        known.extend(page.items.iter().filter_map(|c| c.get::<String>("source_ref")));
    }
    let (mut created, mut already) = (0, 0);
    for call in calls {
        if !known.insert(call.source_ref.clone()) {
            already += 1;
            continue;
        }
        match records::create(COMMUNICATION, &call.data) {
            Ok(_) => created += 1,
            Err(e) => failed.push(format!("appel {} : {e}", call.source_ref)),
        }
    }
    let message = format!(
        "{} sur {}, {} déjà {}{}",
        socle_sdk::text::count(created as i64, "appel récupéré", "appels récupérés"),
        socle_sdk::text::count(done as i64, "ligne", "lignes"),
        already,
        if already > 1 { "connus" } else { "connu" },
        if failed.is_empty() { String::new() } else { format!(", {} en échec", failed.len()) }
    );
    Ok(json!({ "done": done, "failed": failed, "created": created, "already_known": already, "message": message }))
}

/// How many communications a line has, for its summary panel.
pub fn count_for_line(line_id: &str) -> u64 {
    records::query(COMMUNICATION, &Query::new().eq("line", line_id).limit(1).with_count())
        .ok()
        .and_then(|page| page.total)
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(0)
}
