//! Telecom (seed 001): the hierarchy customer account → contacts → billing sites → sites → parcs
//! (type + operator) → lines, SIMs, plans and options from the tenant's catalogue, mass actions on
//! selected lines, deployments with their supplier-side and billing-side operations, and billing
//! control V1 (terminated lines still billed, purchase-price gaps).
//!
//! Prices: a line's sale and purchase prices are the sums of its plan and options from the
//! catalogue; the margin is their difference. Purchase prices and margins are fields with
//! `read_permission = "voir_marge"`: the host strips them for Support N1 and clients.
//!
//! Operator APIs are not coded here: supplier-side operations go through the host's connectors.

use std::collections::{BTreeMap, BTreeSet};

use socle_sdk::{Error, FilterOutcome, Plugin, Query, Record, Value, Write, clock, config, json, records};

pub mod billing;
pub mod communications;
mod money;
pub mod operator;

pub use money::{cents, format_cents, money};

/// Collections.
pub const PARC: &str = "telecom.parc";
/// Lines and services.
pub const LINE: &str = "telecom.line";
/// SIM cards.
pub const SIM: &str = "telecom.sim";
/// Deployments.
pub const DEPLOYMENT: &str = "telecom.deployment";
/// Deployment operations.
pub const OPERATION: &str = "telecom.operation";
/// Billing imports.
pub const IMPORT: &str = "telecom.import";
/// Billing anomalies.
pub const ANOMALY: &str = "telecom.anomaly";
/// The tenant's catalogue (core collection).
pub const CATALOGUE: &str = "catalogue_item";

struct Telecom;

pub(crate) fn text<'a>(data: &'a Value, field: &str) -> Option<&'a str> {
    data.get(field).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

pub(crate) fn get_in(collection: &str, id: &str, what: &str) -> Result<Record, String> {
    match records::get(id) {
        Ok(r) if r.collection == collection => Ok(r),
        Ok(_) | Err(Error::NotFound(_)) => Err(format!("{what} {id} n'existe pas")),
        Err(e) => Err(format!("{what} {id} n'a pas pu être lu : {e}")),
    }
}

fn type_label(key: &str) -> &str {
    match key {
        "mobile" => "Mobile",
        "internet" => "Internet",
        "fixe" => "Fixe",
        "cyber" => "Cyber",
        other => other,
    }
}

fn operator_label(key: &str) -> &str {
    match key {
        "orange" => "Orange",
        "sfr" => "SFR",
        "bouygues" => "Bouygues Telecom",
        "alphalink" => "Alphalink",
        "threecx" => "3CX",
        "palo_alto" => "Palo Alto",
        "autre" => "Autre",
        other => other,
    }
}

/// The platform connector that drives an operator's lines by default.
pub fn default_connector(operator: &str) -> Option<&'static str> {
    match operator {
        "orange" | "sfr" | "bouygues" => Some("snaic"),
        "alphalink" => Some("alphalink"),
        "threecx" => Some("3cx"),
        "palo_alto" => Some("palo-alto"),
        _ => None,
    }
}

/// Today's date, `YYYY-MM-DD`, from the host's clock.
pub fn today() -> String {
    money::date_of_ms(clock::now_ms())
}

/// Checks that a record referenced by `field` belongs to `account`.
pub(crate) fn same_account(data: &Value, field: &str, collection: &str, account: &str, what: &str) -> Result<(), String> {
    if let Some(id) = text(data, field) {
        let record = get_in(collection, id, what)?;
        if record.get::<String>("account").as_deref() != Some(account) {
            let person = || {
                let full = [record.get::<String>("first_name"), record.get::<String>("last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
                (!full.is_empty()).then_some(full)
            };
            let name = record.get::<String>("name").or_else(person).unwrap_or_else(|| id.to_owned());
            return Err(format!("{what} « {name} » n'appartient pas à ce compte client"));
        }
    }
    Ok(())
}

/// The parc filter: the site (and billing site) belong to the account; the name says
/// "Type / Opérateur"; the connector defaults to the operator.
fn parc_rules(write: &Write) -> Result<Option<Value>, String> {
    let mut data = write.data.clone();
    let account = text(&data, "account").ok_or("choisissez le compte client du parc")?.to_owned();
    same_account(&data, "site", "site", &account, "le site")?;
    same_account(&data, "billing_site", "billing_site", &account, "le site de facturation")?;
    let line_type = text(&data, "line_type").unwrap_or_default().to_owned();
    let operator = text(&data, "operator").unwrap_or_default().to_owned();
    data["name"] = json!(format!("{} / {}", type_label(&line_type), operator_label(&operator)));
    if text(&data, "connector").is_none()
        && let Some(connector) = default_connector(&operator)
    {
        data["connector"] = json!(connector);
    }
    Ok((data != write.data).then_some(data))
}

/// Catalogue items read once per invocation.
#[derive(Default)]
pub struct Catalogue {
    items: BTreeMap<String, Record>,
}

impl Catalogue {
    /// The item `id`, which must be of `kind` (`forfait`, `option`).
    pub fn item(&mut self, id: &str, kind: &str) -> Result<&Record, String> {
        if !self.items.contains_key(id) {
            let item = get_in(CATALOGUE, id, "l'article du catalogue")?;
            self.items.insert(id.to_owned(), item);
        }
        let item = &self.items[id];
        if item.get::<String>("kind").as_deref() != Some(kind) {
            let what = if kind == "forfait" { "un forfait" } else { "une option" };
            return Err(format!("« {} » n'est pas {what} du catalogue", item.get::<String>("label").unwrap_or_default()));
        }
        Ok(item)
    }

    /// Sale and purchase price of a plan with options, as the record's money fields (the margin
    /// follows from them); checks each item's kind and that it fits the parc's line type.
    pub fn prices(&mut self, plan: Option<&str>, options: &[String], line_type: Option<&str>) -> Result<Value, String> {
        let (mut sale, mut purchase) = (0i64, 0i64);
        let mut wanted: Vec<(&str, &str)> = options.iter().map(|o| (o.as_str(), "option")).collect();
        if let Some(plan) = plan {
            wanted.insert(0, (plan, "forfait"));
        }
        for (id, kind) in wanted {
            let item = self.item(id, kind)?;
            if let (Some(item_type), Some(line_type)) = (item.get::<String>("telecom_line_type"), line_type)
                && item_type != line_type
            {
                return Err(format!(
                    "« {} » est prévu pour les lignes {}, pas {}",
                    item.get::<String>("label").unwrap_or_default(),
                    type_label(&item_type),
                    type_label(line_type)
                ));
            }
            sale += item.get::<Value>("sale_price").map_or(0, |v| cents(&v));
            purchase += item.get::<Value>("purchase_price").map_or(0, |v| cents(&v));
        }
        // The margin is a computed field (`sale_price - purchase_price`): the platform derives it.
        Ok(json!({ "sale_price": money(sale), "purchase_price": money(purchase) }))
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default()
}

/// The line filter: account and site from the parc, prices from the catalogue, dates on
/// transitions.
fn line_rules(write: &Write) -> Result<Option<Value>, String> {
    let mut data = write.data.clone();
    let before = write.before.clone().unwrap_or(Value::Null);
    let creating = write.op == "create";
    let parc_id = text(&data, "parc").ok_or("choisissez le parc de la ligne")?.to_owned();
    let parc = get_in(PARC, &parc_id, "le parc")?;
    let parc_account = parc.get::<String>("account").unwrap_or_default();
    if creating && text(&data, "account").is_some() {
        // Only client users arrive with an account already set (see helpdesk for the rule).
        return Err("les lignes sont créées par votre opérateur, pas depuis l'espace client".into());
    }
    if !creating && text(&before, "parc") != Some(parc_id.as_str()) && text(&before, "account") != Some(parc_account.as_str()) {
        return Err("une ligne ne change pas de compte client : résiliez-la et créez-en une nouvelle".into());
    }
    data["account"] = json!(parc_account);
    if let Some(number) = text(&data, "number") {
        data["number"] = json!(billing::normalize_number(number));
    }
    if let Some(site) = parc.get::<String>("site") {
        data["site"] = json!(site);
    }
    let plan = text(&data, "plan").map(str::to_owned);
    let options = string_list(data.get("options"));
    if creating || plan.as_deref() != text(&before, "plan") || options != string_list(before.get("options")) {
        let prices = Catalogue::default().prices(plan.as_deref(), &options, parc.get::<String>("line_type").as_deref())?;
        for (k, v) in prices.as_object().into_iter().flatten() {
            data[k] = v.clone();
        }
    }
    match write.transition.as_deref() {
        Some("terminate") => data["terminated_on"] = json!(today()),
        Some("resume") => data["suspension_reason"] = Value::Null,
        _ => {}
    }
    if creating && text(&data, "activated_on").is_none() {
        data["activated_on"] = json!(today());
    }
    Ok((data != write.data).then_some(data))
}

fn deployment_rules(write: &Write) -> Result<Option<Value>, String> {
    let data = &write.data;
    let account = text(data, "account").ok_or("choisissez le compte client du déploiement")?.to_owned();
    same_account(data, "site", "site", &account, "le site")?;
    let lines = string_list(data.get("lines"));
    let before = string_list(write.before.as_ref().and_then(|b| b.get("lines")));
    for id in lines.iter().filter(|l| !before.contains(l)) {
        let line = get_in(LINE, id, "la ligne")?;
        if line.get::<String>("account").as_deref() != Some(account.as_str()) {
            return Err(format!("la ligne {} n'appartient pas au compte client du déploiement", line.get::<String>("number").unwrap_or_default()));
        }
    }
    Ok(None)
}

fn import_rules(write: &Write) -> Result<Option<Value>, String> {
    let mut data = write.data.clone();
    let period = text(&data, "period").unwrap_or_default();
    billing::check_period(period)?;
    // Read and count the rows only when what they come from changed: renaming an import must
    // not re-read a 2 MiB file.
    let source_unchanged = write
        .before
        .as_ref()
        .is_some_and(|before| ["file", "content"].iter().all(|f| before.get(*f) == data.get(*f)) && before.get("rows").is_some_and(|r| !r.is_null()));
    data["rows"] = match (&write.before, source_unchanged) {
        (Some(before), true) => before["rows"].clone(),
        _ => json!(billing::import_rows(&data)?.len()),
    };
    Ok((data != write.data).then_some(data))
}

/// The lines `ids`, each read once; refuses ids that are not lines.
pub(crate) fn lines(ids: &[String]) -> Result<Vec<Record>, String> {
    if ids.is_empty() {
        return Err("sélectionnez au moins une ligne".into());
    }
    if ids.len() > 500 {
        return Err("sélectionnez au plus 500 lignes à la fois".into());
    }
    ids.iter().map(|id| get_in(LINE, id, "la ligne")).collect()
}

pub(crate) fn parcs_of(lines: &[Record]) -> Result<BTreeMap<String, Record>, String> {
    let mut parcs = BTreeMap::new();
    for line in lines {
        let id = line.get::<String>("parc").unwrap_or_default();
        if !parcs.contains_key(&id) {
            parcs.insert(id.clone(), get_in(PARC, &id, "le parc")?);
        }
    }
    Ok(parcs)
}

pub(crate) fn number(line: &Record) -> String {
    line.get::<String>("number").unwrap_or_else(|| line.id.clone())
}

/// Applies one patch per line, grouped so lines sharing a patch go in one bulk call; returns the
/// lines changed and the failures (`number : reason`).
fn apply_patches(patches: Vec<(Record, Value)>) -> Result<(usize, Vec<String>), String> {
    let mut groups: BTreeMap<String, (Value, Vec<String>, Vec<String>)> = BTreeMap::new();
    for (line, patch) in patches {
        let entry = groups.entry(patch.to_string()).or_insert_with(|| (patch, Vec::new(), Vec::new()));
        entry.1.push(line.id.clone());
        entry.2.push(number(&line));
    }
    let (mut changed, mut failed) = (0, Vec::new());
    for (_, (patch, ids, numbers)) in groups {
        let results = records::bulk_update(LINE, &ids, &patch).map_err(|e| e.to_string())?;
        for (result, number) in results.iter().zip(numbers) {
            if result.ok {
                changed += 1;
            } else {
                failed.push(format!("{number} : {}", result.error.clone().unwrap_or_default()));
            }
        }
    }
    Ok((changed, failed))
}

fn report(action: &str, changed: usize, skipped: Vec<String>, failed: Vec<String>) -> Value {
    json!({ action: changed, "skipped": skipped, "failed": failed })
}

/// Mass action: a new plan on each line, prices recomputed with the line's options.
pub fn change_plan(ids: &[String], params: &Value) -> Result<Value, String> {
    let plan = text(params, "plan").ok_or("choisissez le nouveau forfait")?;
    let lines = lines(ids)?;
    let parcs = parcs_of(&lines)?;
    let mut catalogue = Catalogue::default();
    catalogue.item(plan, "forfait")?;
    let (mut patches, mut skipped) = (Vec::new(), Vec::new());
    for line in lines {
        if line.state.as_deref() == Some("resiliee") {
            skipped.push(format!("{} : ligne résiliée", number(&line)));
            continue;
        }
        let line_type = parcs.get(&line.get::<String>("parc").unwrap_or_default()).and_then(|p| p.get::<String>("line_type"));
        match catalogue.prices(Some(plan), &line.get::<Vec<String>>("options").unwrap_or_default(), line_type.as_deref()) {
            Ok(mut patch) => {
                patch["plan"] = json!(plan);
                patches.push((line, patch));
            }
            Err(reason) => skipped.push(format!("{} : {reason}", number(&line))),
        }
    }
    let (changed, failed) = apply_patches(patches)?;
    Ok(report("changed", changed, skipped, failed))
}

/// Mass action: options added to each line (kept once), prices recomputed.
pub fn add_options(ids: &[String], params: &Value) -> Result<Value, String> {
    let added = string_list(params.get("options"));
    if added.is_empty() {
        return Err("choisissez au moins une option".into());
    }
    let lines = lines(ids)?;
    let parcs = parcs_of(&lines)?;
    let mut catalogue = Catalogue::default();
    for option in &added {
        catalogue.item(option, "option")?;
    }
    let (mut patches, mut skipped) = (Vec::new(), Vec::new());
    for line in lines {
        if line.state.as_deref() == Some("resiliee") {
            skipped.push(format!("{} : ligne résiliée", number(&line)));
            continue;
        }
        let mut options: Vec<String> = line.get("options").unwrap_or_default();
        let before = options.len();
        for option in &added {
            if !options.contains(option) {
                options.push(option.clone());
            }
        }
        if options.len() == before {
            skipped.push(format!("{} : options déjà présentes", number(&line)));
            continue;
        }
        let line_type = parcs.get(&line.get::<String>("parc").unwrap_or_default()).and_then(|p| p.get::<String>("line_type"));
        match catalogue.prices(line.get::<String>("plan").as_deref(), &options, line_type.as_deref()) {
            Ok(mut patch) => {
                patch["options"] = json!(options);
                patches.push((line, patch));
            }
            Err(reason) => skipped.push(format!("{} : {reason}", number(&line))),
        }
    }
    let (changed, failed) = apply_patches(patches)?;
    Ok(report("changed", changed, skipped, failed))
}

/// Mass action: suspends the active lines, with the reason.
pub fn suspend(ids: &[String], params: &Value) -> Result<Value, String> {
    let reason = text(params, "reason").ok_or("indiquez le motif de la suspension")?;
    let lines = lines(ids)?;
    let (active, others): (Vec<Record>, Vec<Record>) = lines.into_iter().partition(|l| l.state.as_deref() == Some("active"));
    let skipped: Vec<String> = others.iter().map(|l| format!("{} : ligne {}", number(l), l.state.as_deref().unwrap_or("?"))).collect();
    if active.is_empty() {
        return Ok(report("suspended", 0, skipped, Vec::new()));
    }
    let ids: Vec<String> = active.iter().map(|l| l.id.clone()).collect();
    let results = records::bulk_transition(LINE, &ids, "suspend").map_err(|e| e.to_string())?;
    let done: Vec<String> = results.iter().filter(|r| r.ok).map(|r| r.id.clone()).collect();
    let failed: Vec<String> =
        results.iter().zip(&active).filter(|(r, _)| !r.ok).map(|(r, l)| format!("{} : {}", number(l), r.error.clone().unwrap_or_default())).collect();
    if !done.is_empty() {
        records::bulk_update(LINE, &done, &json!({ "suspension_reason": reason })).map_err(|e| e.to_string())?;
    }
    Ok(report("suspended", done.len(), skipped, failed))
}

/// The one account all `lines` belong to.
fn single_account(lines: &[Record]) -> Result<String, String> {
    let accounts: BTreeSet<String> = lines.iter().filter_map(|l| l.get::<String>("account")).collect();
    match accounts.len() {
        1 => Ok(accounts.into_iter().next().unwrap_or_default()),
        0 => Err("les lignes sélectionnées n'ont pas de compte client".into()),
        n => Err(format!("les lignes sélectionnées appartiennent à {n} comptes clients : un déploiement concerne un seul compte")),
    }
}

/// Supplier-side and billing-side operations for a deployment of `kind`.
fn operation_kinds(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "resiliation" => ("resilier_ligne", "modifier_abonnement"),
        "portabilite" => ("creer_ligne", "creer_service"),
        "commande_sim" => ("commander_sim", "ajouter_materiel"),
        _ => ("modifier_ligne", "modifier_abonnement"),
    }
}

/// Creates a deployment over `lines` with one supplier-side operation per line and one
/// billing-side operation; links it from each line. Returns its id.
fn deploy(lines: &[Record], title: &str, kind: &str, parcs: &BTreeMap<String, Record>) -> Result<String, String> {
    let account = single_account(lines)?;
    let sites: BTreeSet<String> = lines.iter().filter_map(|l| l.get::<String>("site")).collect();
    let suppliers: BTreeSet<String> = lines
        .iter()
        .filter_map(|l| parcs.get(&l.get::<String>("parc").unwrap_or_default()))
        .filter_map(|p| p.get::<String>("operator"))
        .map(|o| operator_label(&o).to_owned())
        .collect();
    let ids: Vec<String> = lines.iter().map(|l| l.id.clone()).collect();
    let mut deployment = json!({
        "title": title, "account": account, "kind": kind, "lines": ids,
        "supplier": suppliers.into_iter().collect::<Vec<_>>().join(", "),
    });
    if sites.len() == 1 {
        deployment["site"] = json!(sites.into_iter().next());
    }
    let deployment = records::create(DEPLOYMENT, &deployment).map_err(|e| format!("le déploiement n'a pas pu être créé : {e}"))?;
    let (supplier_kind, billing_kind) = operation_kinds(kind);
    for line in lines {
        records::create(
            OPERATION,
            &json!({ "deployment": deployment.id, "account": account, "side": "fournisseur", "kind": supplier_kind, "line": line.id, "op_status": "a_faire", "summary": format!("{} — {}", number(line), title) }),
        )
        .map_err(|e| format!("l'opération de la ligne {} n'a pas pu être créée : {e}", number(line)))?;
    }
    records::create(
        OPERATION,
        &json!({ "deployment": deployment.id, "account": account, "side": "facturation", "kind": billing_kind, "op_status": "a_faire", "summary": format!("{} — {title}", socle_sdk::text::count(lines.len() as i64, "ligne", "lignes")) }),
    )
    .map_err(|e| format!("l'opération de facturation n'a pas pu être créée : {e}"))?;
    let patches = lines
        .iter()
        .map(|l| {
            let mut deployments: Vec<String> = l.get("deployments").unwrap_or_default();
            deployments.push(deployment.id.clone());
            (l.clone(), json!({ "deployments": deployments }))
        })
        .collect();
    let (_, failed) = apply_patches(patches)?;
    if !failed.is_empty() {
        return Err(format!("le déploiement a été créé mais n'a pas pu être lié à : {}", failed.join(" ; ")));
    }
    Ok(deployment.id)
}

/// Mass action: a deployment over the selected lines.
pub fn create_deployment(ids: &[String], params: &Value) -> Result<Value, String> {
    let title = text(params, "title").ok_or("donnez un intitulé au déploiement")?;
    let kind = text(params, "kind").unwrap_or("modification");
    if !["modification", "resiliation", "portabilite"].contains(&kind) {
        return Err(format!("« {kind} » n'est pas une nature de déploiement (modification, resiliation, portabilite)"));
    }
    let lines = lines(ids)?;
    if let Some(terminated) = lines.iter().find(|l| l.state.as_deref() == Some("resiliee")) {
        return Err(format!("la ligne {} est résiliée", number(terminated)));
    }
    let parcs = parcs_of(&lines)?;
    let id = deploy(&lines, title, kind, &parcs)?;
    Ok(json!({ "deployment": id, "lines": lines.len(), "operations": lines.len() + 1 }))
}

/// Mass action: one SIM ordered per selected mobile line, in one deployment per account.
pub fn order_sims(ids: &[String], params: &Value) -> Result<Value, String> {
    let format = text(params, "format").unwrap_or("triple");
    if !["triple", "esim"].contains(&format) {
        return Err(format!("« {format} » n'est pas un format de SIM (triple, esim)"));
    }
    let lines = lines(ids)?;
    let parcs = parcs_of(&lines)?;
    for line in &lines {
        let parc = parcs.get(&line.get::<String>("parc").unwrap_or_default());
        if parc.and_then(|p| p.get::<String>("line_type")).as_deref() != Some("mobile") {
            return Err(format!("la ligne {} n'est pas une ligne mobile : pas de carte SIM", number(line)));
        }
        if line.state.as_deref() == Some("resiliee") {
            return Err(format!("la ligne {} est résiliée", number(line)));
        }
    }
    let mut by_account: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for line in lines {
        by_account.entry(line.get::<String>("account").unwrap_or_default()).or_default().push(line);
    }
    let (mut sims, mut deployments) = (0, Vec::new());
    for (account, lines) in by_account {
        let title = format!("Commande de {}", socle_sdk::text::count(lines.len() as i64, "carte SIM", "cartes SIM"));
        let deployment = deploy(&lines, &title, "commande_sim", &parcs)?;
        for line in &lines {
            let operator = parcs.get(&line.get::<String>("parc").unwrap_or_default()).and_then(|p| p.get::<String>("operator")).unwrap_or_default();
            let operator = if ["orange", "sfr", "bouygues"].contains(&operator.as_str()) { operator } else { "autre".into() };
            records::create(
                SIM,
                &json!({ "account": account, "line": line.id, "operator": operator, "format": format, "sim_status": "en_commande", "deployment": deployment }),
            )
            .map_err(|e| format!("la SIM de la ligne {} n'a pas pu être commandée : {e}", number(line)))?;
            sims += 1;
        }
        deployments.push(deployment);
    }
    Ok(json!({ "ordered": sims, "deployments": deployments }))
}

/// Mass action: links a support ticket of the same customer to each line.
pub fn link_ticket(ids: &[String], params: &Value) -> Result<Value, String> {
    let ticket_id = text(params, "ticket").ok_or("choisissez le ticket à lier")?;
    let ticket = get_in("helpdesk.ticket", ticket_id, "le ticket")?;
    let lines = lines(ids)?;
    let mut linked = 0;
    for line in &lines {
        if ticket.get::<String>("account") != line.get::<String>("account") {
            return Err(format!("le ticket {} ne concerne pas le client de la ligne {}", ticket.get::<String>("number").unwrap_or_default(), number(line)));
        }
        let mut tickets: Vec<String> = line.get("tickets").unwrap_or_default();
        if tickets.iter().any(|t| t == ticket_id) {
            continue;
        }
        tickets.push(ticket_id.to_owned());
        records::update(&line.id, &json!({ "tickets": tickets }), Some(line.version))
            .map_err(|e| format!("la ligne {} n'a pas pu être liée : {e}", number(line)))?;
        records::link(&line.id, ticket_id, "tickets").map_err(|e| e.to_string())?;
        linked += 1;
    }
    Ok(json!({ "linked": linked }))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The account panel: a compact block for a mono-site account, a site navigator otherwise.
fn account_sites(account_id: &str) -> Result<String, String> {
    let sites = records::query("site", &Query::new().eq("account", account_id).sort("name").limit(200)).map_err(|e| e.to_string())?;
    let parcs = records::query(PARC, &Query::new().eq("account", account_id).limit(500)).map_err(|e| e.to_string())?;
    if sites.items.is_empty() {
        return Ok("<p>Aucun site pour ce compte.</p>".into());
    }
    let parcs_of = |site: &str| -> Vec<String> {
        parcs
            .items
            .iter()
            .filter(|p| p.get::<String>("site").as_deref() == Some(site))
            .map(|p| {
                let count = records::query(LINE, &Query::new().eq("parc", p.id.as_str()).filter("status", "ne", "resiliee").with_count().limit(1))
                    .ok()
                    .and_then(|page| page.total)
                    .unwrap_or(0);
                format!("{} ({count} {})", escape(&p.get::<String>("name").unwrap_or_default()), if count > 1 { "lignes" } else { "ligne" })
            })
            .collect()
    };
    if sites.items.len() == 1 {
        let site = &sites.items[0];
        let parcs = parcs_of(&site.id);
        return Ok(format!(
            "<p><b>{}</b> — {} {}</p><p>{}</p>",
            escape(&site.get::<String>("name").unwrap_or_default()),
            escape(&site.get::<String>("postal_code").unwrap_or_default()),
            escape(&site.get::<String>("city").unwrap_or_default()),
            if parcs.is_empty() { "Aucun parc".into() } else { parcs.join(" · ") }
        ));
    }
    // Links to records are written `/c/<collection>/<id>`: the portal turns them into the record's
    // address on the tenant's portal.
    let mut html = format!("<p>{} sites</p><ul>", sites.items.len());
    for site in &sites.items {
        let parcs = parcs_of(&site.id);
        html.push_str(&format!(
            "<li><a href=\"/c/site/{}\">{}</a> ({}) — {}</li>",
            escape(&site.id),
            escape(&site.get::<String>("name").unwrap_or_default()),
            escape(&site.get::<String>("city").unwrap_or_default()),
            if parcs.is_empty() { "aucun parc".into() } else { parcs.join(" · ") }
        ));
    }
    html.push_str("</ul>");
    Ok(html)
}

/// The line panel (never prices: a panel does not know who looks at it).
fn line_summary(line_id: &str) -> Result<String, String> {
    let line = get_in(LINE, line_id, "la ligne")?;
    let label = |id: Option<String>| id.and_then(|i| records::get(&i).ok()).and_then(|r| r.get::<String>("label")).unwrap_or_else(|| "—".into());
    let options: Vec<String> = line.get::<Vec<String>>("options").unwrap_or_default().into_iter().map(|o| label(Some(o))).collect();
    Ok(format!(
        "<dl><dt>Numéro</dt><dd>{}</dd><dt>Utilisateur</dt><dd>{}</dd><dt>Forfait</dt><dd>{}</dd><dt>Options</dt><dd>{}</dd><dt>Statut</dt><dd>{}</dd><dt>Tickets liés</dt><dd>{}</dd><dt>Déploiements</dt><dd>{}</dd><dt>Communications</dt><dd>{}</dd></dl>",
        escape(&number(&line)),
        escape(&line.get::<String>("user_name").unwrap_or_else(|| "—".into())),
        escape(&label(line.get("plan"))),
        escape(&if options.is_empty() { "aucune".into() } else { options.join(", ") }),
        escape(line.state.as_deref().unwrap_or_default()),
        line.get::<Vec<String>>("tickets").map_or(0, |t| t.len()),
        line.get::<Vec<String>>("deployments").map_or(0, |d| d.len()),
        communications::count_for_line(line_id),
    ))
}

impl Plugin for Telecom {
    fn filter(write: &Write) -> FilterOutcome {
        if write.op == "delete" {
            return FilterOutcome::Keep;
        }
        let outcome = match write.hook.as_str() {
            "parc_rules" => parc_rules(write),
            "line_rules" => line_rules(write),
            "deployment_rules" => deployment_rules(write),
            "import_rules" => import_rules(write),
            "communication_rules" => communications::rules(write),
            _ => Ok(None),
        };
        match outcome {
            Ok(None) => FilterOutcome::Keep,
            Ok(Some(data)) => FilterOutcome::Change(data),
            Err(reason) => FilterOutcome::Veto(reason),
        }
    }

    fn run_action(action: &str, ids: &[String], params: &Value) -> Result<Value, String> {
        match action {
            "change_plan" => change_plan(ids, params),
            "add_options" => add_options(ids, params),
            "suspend" => suspend(ids, params),
            "create_deployment" => create_deployment(ids, params),
            "order_sims" => order_sims(ids, params),
            "link_ticket" => link_ticket(ids, params),
            "operator_action" => operator::line_action(ids, params),
            "fetch_calls" => communications::fetch_calls(ids, params),
            "execute_operations" => operator::execute(ids),
            "run_billing_control" => {
                let tolerance = config::get::<f64>("price_tolerance_cents").ok().flatten().unwrap_or(1.0).max(0.0) as i64;
                billing::run(ids, tolerance)
            }
            other => Err(format!("telecom has no action `{other}`")),
        }
    }

    fn render_panel(panel: &str, record_id: Option<&str>) -> Result<String, String> {
        let id = record_id.ok_or("ce panneau s'affiche sur une fiche")?;
        match panel {
            "account_sites" => account_sites(id),
            "line_summary" => line_summary(id),
            other => Err(format!("telecom has no panel `{other}`")),
        }
    }
}

socle_sdk::register_plugin!(Telecom);

#[cfg(test)]
mod tests;
