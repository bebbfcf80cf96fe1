//! How a field looks on screen: its value as text (with the enum's colour chip, a link for
//! references and files), the input that edits it, and the form text turned back into the JSON
//! value the records engine validates. Formatting lives here, in Rust, so templates stay dumb and
//! the rules are unit-tested.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};
use socle_marketplace::schema::{CollectionDef, FieldDef, FieldType};

/// Titles of referenced records, by id (filled by one query per target collection).
pub type Titles = HashMap<String, String>;

/// A value ready to show.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Display {
    /// The text.
    pub text: String,
    /// CSS class of the enum value's colour chip.
    pub chip: Option<String>,
    /// Link (reference target, file download).
    pub href: Option<String>,
    /// Right-aligned (numbers and amounts).
    pub numeric: bool,
    /// Several values with their own links (a list of files or references).
    pub links: Vec<Display>,
    /// A moment (RFC 3339, UTC) the browser shows in the reader's time zone.
    pub iso: Option<String>,
}

/// The CSS class of an enum colour (`#0e9f6e` → `chip-0e9f6e`); colours are validated by the
/// schema, but anything that is not plain hex gets no class rather than an injected one.
pub fn chip_class(color: &str) -> Option<String> {
    let hex = color.strip_prefix('#')?;
    (matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit())).then(|| format!("chip-{}", hex.to_ascii_lowercase()))
}

/// The stylesheet of every enum colour of `collections` (CSP forbids inline styles).
pub fn chip_css<'a>(collections: impl IntoIterator<Item = &'a CollectionDef>) -> String {
    let mut colors: Vec<String> = collections
        .into_iter()
        .flat_map(|c| c.fields.iter())
        .flat_map(|f| f.values.iter())
        .filter_map(|v| v.color.as_deref())
        .filter(|c| chip_class(c).is_some())
        .map(str::to_ascii_lowercase)
        .collect();
    colors.sort();
    colors.dedup();
    colors
        .iter()
        .map(|c| {
            // The declared hue, adjusted just enough for its text to reach AA contrast.
            let (bg, text) = socle_tenants::Color::parse(c)
                .map(|c| c.legible(4.5))
                .map(|(b, t)| (b.to_string(), t.to_string()))
                .unwrap_or_else(|_| (c.clone(), "#ffffff".into()));
            format!(".{} {{ background: {bg}; color: {text}; }}\n", chip_class(c).unwrap_or_default())
        })
        .collect()
}

/// Formats a number the French way (`1 234,5`) or the English way (`1,234.5`).
pub fn number(n: f64, decimals: Option<u8>, lang: &str) -> String {
    let decimals = usize::from(decimals.unwrap_or(if n.fract() == 0.0 { 0 } else { 2 }));
    let text = format!("{:.*}", decimals, n.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let (group, point) = if lang == "en" { (',', '.') } else { ('\u{202f}', ',') };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(c);
    }
    let sign = if n < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') { "-" } else { "" };
    if frac.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped}{point}{frac}") }
}

fn currency_symbol(code: &str) -> &str {
    match code {
        "EUR" => "€",
        "USD" => "$",
        "GBP" => "£",
        other => other,
    }
}

/// `2026-11-21` → `21/11/2026` (fr) or `2026-11-21` (en).
fn date(text: &str, lang: &str) -> String {
    let parts: Vec<&str> = text.get(..10).unwrap_or(text).split('-').collect();
    match (lang, parts.as_slice()) {
        ("fr", [y, m, d]) => format!("{d}/{m}/{y}"),
        _ => text.get(..10).unwrap_or(text).to_owned(),
    }
}

/// `2026-11-21T14:30:00.000Z` → `21/11/2026 15:30`: the tenant's local time (the browser then
/// shows the reader's own).
fn datetime(text: &str, lang: &str) -> String {
    match crate::mail::local_time::parse_instant(text) {
        Some(ms) => crate::http::pages::format_time(ms, lang),
        None => text.to_owned(),
    }
}

/// A value as shown in lists and panels. `link` builds a portal link from a path.
pub fn display(field: &FieldDef, value: Option<&Value>, lang: &str, titles: &Titles, link: &dyn Fn(&str) -> String) -> Display {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Display::default() };
    if let Value::Array(items) = value {
        let parts: Vec<Display> = items.iter().map(|v| display(&FieldDef { multiple: false, ..field.clone() }, Some(v), lang, titles, link)).collect();
        let text = parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join(", ");
        let links = if parts.iter().any(|p| p.href.is_some()) { parts } else { Vec::new() };
        return Display { text, links, ..Display::default() };
    }
    match field.field_type {
        FieldType::Enum => {
            let key = value.as_str().unwrap_or_default();
            match field.values.iter().find(|v| v.key == key) {
                Some(v) => Display { text: v.label.get(lang).to_owned(), chip: v.color.as_deref().and_then(chip_class), ..Display::default() },
                None => Display { text: key.to_owned(), ..Display::default() },
            }
        }
        FieldType::Bool => Display { text: if value.as_bool() == Some(true) { yes(lang) } else { no(lang) }.to_owned(), ..Display::default() },
        FieldType::Number => Display { text: value.as_f64().map(|n| number(n, field.decimals, lang)).unwrap_or_default(), numeric: true, ..Display::default() },
        FieldType::Money => {
            let (cents, currency) = money_parts(field, value);
            let amount = cents.map(|c| number(c as f64 / 100.0, Some(2), lang)).unwrap_or_default();
            let symbol = currency_symbol(&currency);
            let text = if lang == "en" { format!("{symbol}{amount}") } else { format!("{amount}\u{a0}{symbol}") };
            Display { text, numeric: true, ..Display::default() }
        }
        FieldType::Date => Display { text: date(value.as_str().unwrap_or_default(), lang), ..Display::default() },
        FieldType::Datetime => {
            let text = value.as_str().unwrap_or_default();
            Display { text: datetime(text, lang), iso: Some(text.to_owned()), ..Display::default() }
        }
        FieldType::Reference => {
            let id = value.as_str().unwrap_or_default();
            let target = field.collection.as_deref().unwrap_or_default();
            match titles.get(id) {
                Some(title) => Display { text: title.clone(), href: Some(link(&format!("/c/{target}/{id}"))), ..Display::default() },
                // The user may not read the target: show that something is there, not what.
                None => Display { text: "—".into(), ..Display::default() },
            }
        }
        FieldType::File => {
            let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
            let name = value.get("name").and_then(Value::as_str).unwrap_or("fichier");
            Display { text: name.to_owned(), href: Some(link(&format!("/api/v1/files/{id}"))), ..Display::default() }
        }
        // A text holding a French number in international form (a line's number) reads as one too.
        FieldType::Phone | FieldType::Text => Display { text: value.as_str().map_or_else(|| value.to_string(), phone_text), ..Display::default() },
        FieldType::Email => Display { text: value.as_str().map_or_else(|| value.to_string(), str::to_owned), ..Display::default() },
    }
}

/// A money value's amount in minor units (cents) and its currency (stored as
/// `{ "amount": 4990, "currency": "EUR" }`; a bare integer is cents in the field's currency).
fn money_parts(field: &FieldDef, value: &Value) -> (Option<i64>, String) {
    let fixed = field.currency.clone().unwrap_or_else(|| "EUR".to_owned());
    match value {
        Value::Object(map) => (map.get("amount").and_then(Value::as_i64), map.get("currency").and_then(Value::as_str).map_or(fixed, str::to_owned)),
        other => (other.as_i64(), fixed),
    }
}

/// `"59,90"` or `"59.9"` → 5990 cents; `None` when it is not an amount.
fn parse_cents(text: &str) -> Option<i64> {
    let text: String = text.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '€')).collect();
    let text = text.replace(',', ".");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, text),
    };
    let (units, fraction) = digits.split_once('.').unwrap_or((&digits, ""));
    if units.is_empty() && fraction.is_empty()
        || !units.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
        || fraction.len() > 2
    {
        return None;
    }
    let units: i64 = if units.is_empty() { 0 } else { units.parse().ok()? };
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    let total = units.checked_mul(100)?.checked_add(cents)?;
    Some(if negative { -total } else { total })
}

/// "Yes" in `lang`.
pub fn yes(lang: &str) -> &'static str {
    if lang == "en" { "Yes" } else { "Oui" }
}

/// "No" in `lang`.
pub fn no(lang: &str) -> &'static str {
    if lang == "en" { "No" } else { "Non" }
}

/// One choice of a `<select>`.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// Submitted value.
    pub value: String,
    /// Shown text.
    pub label: String,
    /// Currently chosen.
    pub selected: bool,
}

/// The input that edits a field.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    /// Field name (also the form name).
    pub name: String,
    /// Label.
    pub label: String,
    /// Help text.
    pub help: Option<String>,
    /// `text`, `textarea`, `number`, `date`, `datetime-local`, `select`, `checkbox`, `email`,
    /// `tel`, `file`.
    pub kind: &'static str,
    /// Current value as the input wants it.
    pub value: String,
    /// For selects (references and enums).
    pub choices: Vec<Choice>,
    /// Several values (multi-select).
    pub multiple: bool,
    /// Required.
    pub required: bool,
    /// The user may change it.
    pub writable: bool,
    /// Longest text.
    pub max_length: Option<u32>,
    /// The value as shown read-only.
    pub display: Display,
    /// The value as it was when the page was drawn (sent back to detect conflicting edits).
    pub original: String,
    /// File inputs: the MIME types offered (`accept` attribute), comma-separated.
    pub accept: String,
}

/// The input for `field` holding `value`. `reference_choices` lists the records a reference may
/// point to (id, title), when the caller may read the target collection.
pub fn input(
    field: &FieldDef,
    value: Option<&Value>,
    writable: bool,
    lang: &str,
    titles: &Titles,
    reference_choices: &[(String, String)],
    link: &dyn Fn(&str) -> String,
) -> Input {
    let value = value.filter(|v| !v.is_null());
    let as_text = form_text(field, value);
    let (kind, choices) = match field.field_type {
        FieldType::Text if field.multiline => ("textarea", Vec::new()),
        FieldType::Text => ("text", Vec::new()),
        // Text with a decimal keypad, not `type=number`: a browser's number input reads `14,90`
        // by its own locale (a French comma can come out as 1490); the server reads both.
        FieldType::Number | FieldType::Money => ("decimal", Vec::new()),
        FieldType::Date => ("date", Vec::new()),
        FieldType::Datetime => ("datetime-local", Vec::new()),
        FieldType::Bool => ("checkbox", Vec::new()),
        FieldType::Email => ("email", Vec::new()),
        FieldType::Phone => ("tel", Vec::new()),
        FieldType::File => ("file", Vec::new()),
        FieldType::Enum => {
            let chosen = selected_keys(value);
            (
                "select",
                field.values.iter().map(|v| Choice { value: v.key.clone(), label: v.label.get(lang).to_owned(), selected: chosen.contains(&v.key) }).collect(),
            )
        }
        FieldType::Reference => {
            let chosen = selected_keys(value);
            let mut choices: Vec<Choice> =
                reference_choices.iter().map(|(id, title)| Choice { value: id.clone(), label: title.clone(), selected: chosen.contains(id) }).collect();
            // Keep the current target even when it is beyond the first page of choices.
            for id in &chosen {
                if !choices.iter().any(|c| &c.value == id) {
                    choices.push(Choice { value: id.clone(), label: titles.get(id).cloned().unwrap_or_else(|| id.clone()), selected: true });
                }
            }
            ("select", choices)
        }
    };
    Input {
        name: field.name.clone(),
        label: field.label.get(lang).to_owned(),
        help: field.help.as_ref().map(|h| h.get(lang).to_owned()),
        kind,
        // What the person typed, as they write it: `14,90` in French (the server reads both).
        value: if kind == "decimal" && lang == "fr" { as_text.replace('.', ",") } else { as_text.clone() },
        choices,
        multiple: field.multiple,
        required: field.required,
        writable,
        max_length: field.max_length,
        display: display(field, value, lang, titles, link),
        original: as_text,
        accept: field.accept.join(","),
    }
}

fn selected_keys(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A stored value as form text (what the input holds, and what conflict detection compares).
pub fn form_text(field: &FieldDef, value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(value) if field.field_type == FieldType::Money => {
            let (cents, _) = money_parts(field, value);
            cents.map(|c| format!("{}{}.{:02}", if c < 0 { "-" } else { "" }, c.abs() / 100, c.abs() % 100)).unwrap_or_default()
        }
        Some(Value::String(s)) if field.field_type == FieldType::Datetime => s.get(..16).unwrap_or(s).to_owned(),
        Some(Value::String(s)) if field.field_type == FieldType::Phone => phone_text(s),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
        Some(other @ Value::Object(_)) => other.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
    }
}

/// Turns what a form sent for `field` into the JSON value the records engine checks: empty text
/// clears the field, a checkbox sends `true`/absent, a `datetime-local` is read as UTC, a multi
/// select sends several values. The engine normalises and validates the result.
pub fn from_form(field: &FieldDef, sent: &[String]) -> Value {
    let first = sent.first().map(|s| s.trim()).unwrap_or("");
    if field.field_type == FieldType::Bool {
        return Value::Bool(matches!(first, "true" | "on" | "1"));
    }
    if field.multiple {
        let items: Vec<Value> = sent.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect();
        return if items.is_empty() { Value::Null } else { Value::Array(items) };
    }
    if first.is_empty() {
        return Value::Null;
    }
    match field.field_type {
        FieldType::Money => match parse_cents(first) {
            Some(cents) => serde_json::json!({ "amount": cents, "currency": field.currency.as_deref().unwrap_or("EUR") }),
            // Not an amount: the engine refuses it and says what it expects.
            None => Value::String(first.to_owned()),
        },
        FieldType::Datetime if first.len() == 16 => Value::String(format!("{first}:00Z")),
        FieldType::Datetime if first.len() == 19 => Value::String(format!("{first}Z")),
        _ => Value::String(first.to_owned()),
    }
}

/// A phone number as people write it: French numbers in the national form (`06 12 90 70 10`),
/// others as stored (`+212…`).
pub fn phone_text(stored: &str) -> String {
    match stored.strip_prefix("+33").filter(|n| n.len() == 9 && n.bytes().all(|b| b.is_ascii_digit())) {
        Some(national) => {
            let pairs: Vec<&str> = (1..9).step_by(2).map(|i| &national[i..i + 2]).collect();
            format!("0{} {}", &national[..1], pairs.join(" "))
        }
        None => stored.to_owned(),
    }
}

/// The title of a record: its title field (a French phone number in its national form), else its
/// id's first characters.
pub fn title(collection: &CollectionDef, id: &str, data: &Map<String, Value>) -> String {
    let field = collection.title_field.as_deref().and_then(|f| collection.fields.iter().find(|d| d.name == f));
    let phone = field.is_some_and(|f| matches!(f.field_type, FieldType::Phone | FieldType::Text));
    collection
        .title_field
        .as_deref()
        .and_then(|f| data.get(f))
        .and_then(|v| v.as_str().map(|s| if phone { phone_text(s) } else { s.to_owned() }).or_else(|| (!v.is_null()).then(|| v.to_string())))
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("#{}", id.get(..8).unwrap_or(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(toml_text: &str) -> FieldDef {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn french_phone_numbers_read_in_their_national_form() {
        assert_eq!(phone_text("+33612907010"), "06 12 90 70 10");
        assert_eq!(phone_text("+33298940001"), "02 98 94 00 01");
        assert_eq!(phone_text("+212612345678"), "+212612345678");
        let line: CollectionDef =
            toml::from_str("name = \"l\"\nlabel = \"L\"\ntitle_field = \"n\"\n[[fields]]\nname = \"n\"\ntype = \"phone\"\nlabel = \"N\"").unwrap();
        let data = serde_json::json!({ "n": "+33612907010" });
        assert_eq!(title(&line, "x", data.as_object().unwrap()), "06 12 90 70 10");
    }

    #[test]
    fn numbers_and_amounts_read_the_french_way_by_default() {
        assert_eq!(number(1234567.5, Some(2), "fr"), "1\u{202f}234\u{202f}567,50");
        assert_eq!(number(1234.5, Some(2), "en"), "1,234.50");
        assert_eq!(number(-12.0, None, "fr"), "-12");
        assert_eq!(number(-0.001, Some(2), "fr"), "0,00");
        let price = field("name = \"p\"\ntype = \"money\"\nlabel = \"Prix\"\ncurrency = \"EUR\"");
        let shown = display(&price, Some(&serde_json::json!({ "amount": 4990, "currency": "EUR" })), "fr", &Titles::new(), &|p| p.to_owned());
        assert_eq!(shown.text, "49,90\u{a0}€");
        assert!(shown.numeric);
        assert_eq!(form_text(&price, Some(&serde_json::json!({ "amount": -1205, "currency": "EUR" }))), "-12.05");
        assert_eq!(from_form(&price, &["1 234,5".into()]), serde_json::json!({ "amount": 123450, "currency": "EUR" }));
        assert_eq!(from_form(&price, &["31.17".into()]), serde_json::json!({ "amount": 3117, "currency": "EUR" }));
        assert_eq!(from_form(&price, &["12.345".into()]), serde_json::json!("12.345"), "more than cents is refused by the engine");
        assert_eq!(parse_cents("abc"), None);
    }

    #[test]
    fn enums_show_their_label_and_a_safe_colour_class() {
        let status = field(
            "name = \"s\"\ntype = \"enum\"\nlabel = \"Statut\"\nvalues = [{ key = \"ok\", label = { fr = \"Actif\", en = \"Active\" }, color = \"#0E9F6E\" }]",
        );
        let shown = display(&status, Some(&"ok".into()), "en", &Titles::new(), &|p| p.to_owned());
        assert_eq!(shown.text, "Active");
        assert_eq!(shown.chip.as_deref(), Some("chip-0e9f6e"));
        assert_eq!(chip_class("red; background: url(x)"), None);
        assert_eq!(chip_class("#12345g"), None);
    }

    #[test]
    fn references_show_the_title_only_when_the_user_may_read_the_target() {
        let account = field("name = \"a\"\ntype = \"reference\"\nlabel = \"Compte\"\ncollection = \"customer_account\"");
        let id = "0190f0f0-0000-7000-8000-000000000001";
        let titles = Titles::from([(id.to_owned(), "Boulangerie".to_owned())]);
        let shown = display(&account, Some(&id.into()), "fr", &titles, &|p| format!("/t/x{p}"));
        assert_eq!(shown.text, "Boulangerie");
        assert_eq!(shown.href.as_deref(), Some("/t/x/c/customer_account/0190f0f0-0000-7000-8000-000000000001"));
        assert_eq!(display(&account, Some(&id.into()), "fr", &Titles::new(), &|p| p.to_owned()).text, "—");
    }

    #[test]
    fn form_text_comes_back_as_the_value_the_engine_expects() {
        let when = field("name = \"w\"\ntype = \"datetime\"\nlabel = \"Quand\"");
        assert_eq!(from_form(&when, &["2026-11-21T14:30".into()]), serde_json::json!("2026-11-21T14:30:00Z"));
        assert_eq!(form_text(&when, Some(&"2026-11-21T14:30:00.000Z".into())), "2026-11-21T14:30");
        let flag = field("name = \"f\"\ntype = \"bool\"\nlabel = \"Actif\"");
        assert_eq!(from_form(&flag, &[]), Value::Bool(false));
        assert_eq!(from_form(&flag, &["on".into()]), Value::Bool(true));
        let text = field("name = \"t\"\ntype = \"text\"\nlabel = \"Nom\"");
        assert_eq!(from_form(&text, &["  ".into()]), Value::Null);
        let tags = field(
            "name = \"t\"\ntype = \"enum\"\nlabel = \"Tags\"\nmultiple = true\nvalues = [{ key = \"a\", label = \"A\" }, { key = \"b\", label = \"B\" }]",
        );
        assert_eq!(from_form(&tags, &["a".into(), "b".into()]), serde_json::json!(["a", "b"]));
    }
}
