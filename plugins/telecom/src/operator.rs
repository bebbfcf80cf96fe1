//! Operator and billing systems, reached only through the host's connectors (host API 1.1): the
//! mass "operator API action" on lines, and the execution of a deployment's operations. No
//! remote API is coded here — the connector named by the parc (or the billing setting) does it.

use socle_sdk::{Error, Query, Record, Value, config, connectors, json, records};

use crate::{CATALOGUE, DEPLOYMENT, LINE, OPERATION, PARC, get_in, lines, number, parcs_of, text};

/// The connector operation of an operation kind.
pub fn operation_name(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "creer_ligne" => "create-line",
        "modifier_ligne" => "modify-line",
        "resilier_ligne" => "terminate-line",
        "commander_sim" => "order-sim",
        "modifier_options" => "change-options",
        "suspendre_ligne" => "suspend-line",
        "creer_service" => "create-service",
        "modifier_abonnement" => "change-subscription",
        "ajouter_option" => "add-option",
        "ajouter_materiel" => "add-hardware",
        "frais_ponctuels" => "one-off-fee",
        _ => return None,
    })
}

fn code_of(id: &str) -> Option<String> {
    records::get(id).ok().filter(|r| r.collection == CATALOGUE).and_then(|r| r.get::<String>("code"))
}

/// What a connector needs to know about a line.
fn line_input(line: &Record) -> Value {
    json!({
        "number": number(line),
        "operator_ref": line.get::<String>("operator_ref"),
        "user": line.get::<String>("user_name"),
        "plan": line.get::<String>("plan").and_then(|p| code_of(&p)),
        "options": line.get::<Vec<String>>("options").unwrap_or_default().iter().filter_map(|o| code_of(o)).collect::<Vec<_>>(),
    })
}

pub(crate) fn describe(err: &Error) -> String {
    match err {
        Error::Invalid(fields) => fields.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join(" ; "),
        other => other.to_string(),
    }
}

/// Mass action: one operation at the operator for each selected line, through its parc's
/// connector; the operator's reference is kept on the line.
pub fn line_action(ids: &[String], params: &Value) -> Result<Value, String> {
    let operation = match text(params, "operation") {
        Some("get_status") => "get-status",
        Some("suspend_line") => "suspend-line",
        Some("reactivate_line") => "reactivate-line",
        Some("change_options") => "change-options",
        Some(other) => return Err(format!("« {other} » n'est pas une action opérateur (get_status, suspend_line, reactivate_line, change_options)")),
        None => return Err("choisissez l'action à lancer chez l'opérateur".into()),
    };
    let lines = lines(ids)?;
    let parcs = parcs_of(&lines)?;
    let (mut done, mut failed, mut answers) = (0, Vec::new(), Vec::new());
    for line in &lines {
        let parc = parcs.get(&line.get::<String>("parc").unwrap_or_default());
        let Some(connector) = parc.and_then(|p| p.get::<String>("connector")) else {
            failed.push(format!("{} : son parc n'a pas de connecteur opérateur", number(line)));
            continue;
        };
        match connectors::call(&connector, operation, &line_input(line)) {
            Ok(answer) => {
                if let Some(reference) = answer.get("reference").and_then(Value::as_str)
                    && line.get::<String>("operator_ref").as_deref() != Some(reference)
                {
                    records::update(&line.id, &json!({ "operator_ref": reference }), None)
                        .map_err(|e| format!("la ligne {} n'a pas pu être mise à jour : {e}", number(line)))?;
                }
                answers.push(json!({ "number": number(line), "answer": answer }));
                done += 1;
            }
            Err(e) => failed.push(format!("{} : {}", number(line), describe(&e))),
        }
    }
    let message = format!(
        "{} chez l'opérateur{}",
        socle_sdk::text::count(done as i64, "ligne traitée", "lignes traitées"),
        if failed.is_empty() { String::new() } else { format!(", {} en échec", failed.len()) }
    );
    Ok(json!({ "done": done, "failed": failed, "answers": answers, "message": message }))
}

/// Runs the operations still to do of one deployment (launched first), supplier side through the
/// line's parc connector, billing side through the billing connector; terminated lines are
/// terminated here too. When nothing is left, the deployment is provisioned.
pub fn execute(ids: &[String]) -> Result<Value, String> {
    let [id] = ids else { return Err("exécutez les opérations d'un déploiement à la fois".into()) };
    let deployment = get_in(DEPLOYMENT, id, "le déploiement")?;
    if deployment.state.as_deref() != Some("en_cours") {
        return Err(format!(
            "le déploiement « {} » doit être lancé (étape « en cours ») avant d'exécuter ses opérations",
            deployment.get::<String>("title").unwrap_or_default()
        ));
    }
    let billing_connector: String = config::get("billing_connector").ok().flatten().unwrap_or_else(|| "cfast".into());
    let operations = records::query(OPERATION, &Query::new().eq("deployment", id.as_str()).eq("op_status", "a_faire").limit(500)).map_err(|e| e.to_string())?;
    let (mut done, mut failed) = (0, Vec::new());
    for op in &operations.items {
        let kind = op.get::<String>("kind").unwrap_or_default();
        let Some(operation) = operation_name(&kind) else { continue };
        let line = op.get::<String>("line").and_then(|l| get_in(LINE, &l, "la ligne").ok());
        let (connector, input) = if op.get::<String>("side").as_deref() == Some("fournisseur") {
            let Some(line) = &line else {
                failed.push(format!("{kind} : opération fournisseur sans ligne"));
                continue;
            };
            let parc = get_in(PARC, &line.get::<String>("parc").unwrap_or_default(), "le parc")?;
            match parc.get::<String>("connector") {
                Some(c) => (c, line_input(line)),
                None => {
                    failed.push(format!("{} : son parc n'a pas de connecteur opérateur", number(line)));
                    continue;
                }
            }
        } else {
            let lines: Vec<String> = deployment.get::<Vec<String>>("lines").unwrap_or_default();
            (
                billing_connector.clone(),
                json!({ "account": deployment.get::<String>("account"), "deployment": deployment.get::<String>("title"), "lines": lines.len(), "summary": op.get::<String>("summary") }),
            )
        };
        match connectors::call(&connector, operation, &input) {
            Ok(answer) => {
                records::update(&op.id, &json!({ "op_status": "fait", "result": answer.to_string() }), None).map_err(|e| e.to_string())?;
                if kind == "resilier_ligne"
                    && let Some(line) = &line
                    && line.state.as_deref() != Some("resiliee")
                {
                    records::transition(&line.id, "terminate").map_err(|e| format!("la ligne {} n'a pas pu être résiliée : {e}", number(line)))?;
                }
                done += 1;
            }
            Err(e) => {
                let reason = describe(&e);
                records::update(&op.id, &json!({ "op_status": "erreur", "result": reason }), None).map_err(|e| e.to_string())?;
                failed.push(format!("{} : {reason}", op.get::<String>("summary").unwrap_or(kind)));
            }
        }
    }
    let left = records::query(OPERATION, &Query::new().eq("deployment", id.as_str()).filter("op_status", "ne", "fait").with_count().limit(1))
        .map_err(|e| e.to_string())?;
    let provisioned = left.total == Some(0);
    if provisioned {
        records::transition(id, "provisioned").map_err(|e| format!("le déploiement n'a pas pu passer à « provisionné » : {e}"))?;
    }
    Ok(json!({ "done": done, "failed": failed, "provisioned": provisioned }))
}
