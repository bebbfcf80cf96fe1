//! Billing control V1 (seed 001 §7.2): from a supplier invoice and a billing export (CSV files
//! attached to imports, read through the host's `files` capability, or pasted content),
//! find the **terminated lines still billed** and the **purchase-price gaps**, as anomalies to
//! correct. Re-running on the same imports finds the same anomalies and creates none twice.

use std::collections::{BTreeMap, BTreeSet};

use socle_sdk::{Query, Record, Value, files, json, records};

use crate::money::{cents, format_cents, money, parse_euros};
use crate::{ANOMALY, IMPORT, LINE, get_in};

/// Rows an import may hold.
pub const MAX_ROWS: usize = 5000;

/// One row of an import: a line number and an amount excluding tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Line number, normalised.
    pub number: String,
    /// Label.
    pub label: String,
    /// Amount in cents.
    pub cents: i64,
}

/// A French number as the platform stores phones (`06 12 34 56 78` → `+33612345678`); other
/// identifiers (internet access ids) are kept, without spaces.
pub fn normalize_number(text: &str) -> String {
    let compact: String = text.chars().filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-' | '\u{a0}')).collect();
    let digits = compact.bytes().all(|b| b.is_ascii_digit());
    if digits && compact.len() == 10 && compact.starts_with('0') {
        return format!("+33{}", &compact[1..]);
    }
    if digits && compact.len() == 11 && compact.starts_with("33") {
        return format!("+{compact}");
    }
    compact
}

/// Checks a period `YYYY-MM`.
pub fn check_period(period: &str) -> Result<(), String> {
    let ok = period.len() == 7
        && period.as_bytes()[4] == b'-'
        && period[..4].bytes().all(|b| b.is_ascii_digit())
        && period[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    if ok { Ok(()) } else { Err(format!("« {period} » n'est pas une période : écrivez AAAA-MM, par exemple 2026-10")) }
}

/// Parses `numero;libelle;montant_ht` rows (`;` or tab separated; a header line is skipped).
pub fn parse_csv(content: &str) -> Result<Vec<Row>, String> {
    let separator = if content.contains(';') { ';' } else { '\t' };
    let mut rows = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let at = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(separator).map(str::trim).collect();
        if cells.len() < 3 {
            return Err(format!(
                "ligne {at} : trois colonnes attendues (numero;libelle;montant_ht), {} trouvée{}",
                cells.len(),
                if cells.len() > 1 { "s" } else { "" }
            ));
        }
        if rows.is_empty() && parse_euros(cells[2]).is_err() && cells[2].to_lowercase().contains("montant") {
            continue; // header
        }
        let cents = parse_euros(cells[2]).map_err(|e| format!("ligne {at} : {e}"))?;
        let number = normalize_number(cells[0]);
        if number.is_empty() {
            return Err(format!("ligne {at} : le numéro est vide"));
        }
        rows.push(Row { number, label: cells[1].to_owned(), cents });
        if rows.len() > MAX_ROWS {
            return Err(format!("plus de {MAX_ROWS} lignes : découpez l'import"));
        }
    }
    if rows.is_empty() {
        return Err("l'import ne contient aucune ligne (format : numero;libelle;montant_ht)".into());
    }
    Ok(rows)
}

/// The rows of an import: its attached CSV file, or else its pasted content.
pub fn import_rows(data: &Value) -> Result<Vec<Row>, String> {
    if let Some(id) = files::id_in(data.get("file")) {
        let file = files::read(id).map_err(|e| format!("le fichier joint n'a pas pu être lu : {e}"))?;
        return parse_csv(&file.text()).map_err(|e| format!("fichier « {} », {e}", file.name));
    }
    match data.get("content").and_then(Value::as_str).filter(|c| !c.trim().is_empty()) {
        Some(content) => parse_csv(content),
        None => Err("joignez le fichier CSV de l'import (ou collez son contenu)".into()),
    }
}

/// The first day of a period (`2026-10` → `2026-10-01`).
fn period_start(period: &str) -> String {
    format!("{period}-01")
}

/// An anomaly found, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Unique key (import, number, check).
    pub key: String,
    /// Record data.
    pub data: Value,
}

/// Compares one import's rows (summed per number) with the lines; pure, for tests.
pub fn findings(import: &Record, rows: &[Row], lines: &BTreeMap<String, Record>, tolerance: i64) -> Result<(Vec<Finding>, Vec<String>), String> {
    let kind = import.get::<String>("kind").unwrap_or_default();
    let period = import.get::<String>("period").unwrap_or_default();
    let source = if kind == "facture_fournisseur" { "facture fournisseur" } else { "export de facturation" };
    let mut totals: BTreeMap<&str, i64> = BTreeMap::new();
    for row in rows {
        *totals.entry(row.number.as_str()).or_default() += row.cents;
    }
    let (mut found, mut unknown) = (Vec::new(), Vec::new());
    for (number, billed) in totals {
        let Some(line) = lines.get(number) else {
            unknown.push(number.to_owned());
            continue;
        };
        let base = json!({
            "source": kind, "line": line.id, "account": line.get::<String>("account"), "number": number,
            "import": import.id, "period": period, "billed": money(billed),
        });
        if line.state.as_deref() == Some("resiliee") {
            let terminated = line.get::<String>("terminated_on");
            // Billed for a month that starts after the termination (a last partial month is due).
            if terminated.as_deref().is_none_or(|t| t < period_start(&period).as_str()) {
                let mut data = base.clone();
                data["kind"] = json!("resiliee_facturee");
                data["summary"] = json!(format!(
                    "Ligne {number} résiliée le {}, encore facturée {} en {period} ({source})",
                    terminated.as_deref().unwrap_or("?"),
                    format_cents(billed)
                ));
                found.push(Finding { key: format!("{}:{number}:resiliee_facturee", import.id), data });
            }
            continue;
        }
        if kind == "facture_fournisseur" {
            let expected = line
                .get::<Value>("purchase_price")
                .map(|v| cents(&v))
                .ok_or("le plugin telecom ne voit pas les prix d'achat : l'administrateur doit lui accorder la permission voir_marge")?;
            let gap = billed - expected;
            if gap.abs() > tolerance {
                let mut data = base;
                data["kind"] = json!("ecart_prix_achat");
                data["expected"] = money(expected);
                // `gap` is computed by the platform (`billed - expected`).
                data["summary"] = json!(format!(
                    "Ligne {number} : prix d'achat facturé {} au lieu de {} (écart {}{}) en {period}",
                    format_cents(billed),
                    format_cents(expected),
                    if gap > 0 { "+" } else { "" },
                    format_cents(gap)
                ));
                found.push(Finding { key: format!("{}:{number}:ecart_prix_achat", import.id), data });
            }
        }
    }
    Ok((found, unknown))
}

/// Lines by number, for the numbers given.
fn lines_by_number(numbers: &BTreeSet<String>) -> Result<BTreeMap<String, Record>, String> {
    let mut lines = BTreeMap::new();
    let numbers: Vec<&String> = numbers.iter().collect();
    // The host takes at most 100 values in an `in` filter.
    for chunk in numbers.chunks(100) {
        let page = records::query(LINE, &Query::new().filter("number", "in", json!(chunk)).limit(500))
            .map_err(|e| format!("les lignes n'ont pas pu être lues : {e}"))?;
        for line in page.items {
            if let Some(number) = line.get::<String>("number") {
                lines.insert(number, line);
            }
        }
    }
    Ok(lines)
}

/// Runs both checks on the imports `ids` and stores the new anomalies.
pub fn run(ids: &[String], tolerance: i64) -> Result<Value, String> {
    if ids.is_empty() {
        return Err("sélectionnez la facture fournisseur et/ou l'export de facturation à contrôler".into());
    }
    let mut imports = Vec::new();
    for id in ids {
        let import = get_in(IMPORT, id, "l'import")?;
        let rows = import_rows(&import.data).map_err(|e| format!("import « {} » : {e}", import.get::<String>("label").unwrap_or_default()))?;
        imports.push((import, rows));
    }
    let numbers: BTreeSet<String> = imports.iter().flat_map(|(_, rows)| rows.iter().map(|r| r.number.clone())).collect();
    let lines = lines_by_number(&numbers)?;
    let (mut all, mut unknown) = (Vec::new(), BTreeSet::new());
    for (import, rows) in &imports {
        let (found, missing) = findings(import, rows, &lines, tolerance)?;
        all.extend(found);
        unknown.extend(missing);
    }
    let keys: Vec<&String> = all.iter().map(|f| &f.key).collect();
    let mut known = BTreeSet::new();
    for chunk in keys.chunks(100) {
        let page = records::query(ANOMALY, &Query::new().filter("key", "in", json!(chunk)).limit(500))
            .map_err(|e| format!("les anomalies n'ont pas pu être lues : {e}"))?;
        known.extend(page.items.iter().filter_map(|a| a.get::<String>("key")));
    }
    let mut created: BTreeMap<String, usize> = BTreeMap::from([("resiliee_facturee".into(), 0), ("ecart_prix_achat".into(), 0)]);
    let mut already = 0;
    for finding in all {
        if known.contains(&finding.key) {
            already += 1;
            continue;
        }
        let mut data = finding.data;
        data["key"] = json!(finding.key);
        records::create(ANOMALY, &data).map_err(|e| format!("l'anomalie {} n'a pas pu être enregistrée : {e}", finding.key))?;
        *created.entry(data["kind"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    let rows: usize = imports.iter().map(|(_, r)| r.len()).sum();
    let (terminated, gaps) = (created["resiliee_facturee"], created["ecart_prix_achat"]);
    use socle_sdk::text::count;
    let mut message = format!(
        "{} : {} ({}, {}), {} déjà {}",
        count(rows as i64, "ligne de facture lue", "lignes de facture lues"),
        count((terminated + gaps) as i64, "anomalie nouvelle", "anomalies nouvelles"),
        count(terminated as i64, "ligne résiliée encore facturée", "lignes résiliées encore facturées"),
        count(gaps as i64, "écart de prix d'achat", "écarts de prix d'achat"),
        already,
        if already > 1 { "connues" } else { "connue" },
    );
    if !unknown.is_empty() {
        message.push_str(&format!(", {}", count(unknown.len() as i64, "numéro inconnu du parc", "numéros inconnus du parc")));
    }
    Ok(json!({
        "message": message,
        "rows": rows,
        "lines_matched": lines.len(),
        "created": created,
        "already_known": already,
        "unknown_numbers": unknown.into_iter().take(50).collect::<Vec<_>>(),
    }))
}
