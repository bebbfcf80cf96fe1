//! Checking and normalising one field value against its definition. Pure: checks that need the
//! database (a reference's target exists, a file was uploaded, uniqueness) are the core's.

use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;

use super::{FieldDef, FieldType};

/// Longest text value, whatever the schema says.
pub const MAX_TEXT_LEN: usize = 10_000;
/// Most values in a multi-valued field.
const MAX_ITEMS: usize = 1_000;
/// Default file size limit.
const DEFAULT_MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;

/// Checks `value` against `field` and returns it normalised (trimmed text, lowercase email, E.164
/// phone, UTC datetime, rounded number…). `null` passes (requiredness is checked by the caller).
/// The error says what is expected, in words a user can act on.
///
/// ```
/// use socle_marketplace::schema::{FieldDef, normalize_value};
/// let field: FieldDef = toml::from_str("name = \"tel\"\ntype = \"phone\"\nlabel = \"Téléphone\"").unwrap();
/// assert_eq!(normalize_value(&field, &"06 12 34 56 78".into()).unwrap(), "+33612345678");
/// assert!(normalize_value(&field, &"not a phone".into()).is_err());
/// ```
pub fn normalize_value(field: &FieldDef, value: &Value) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if field.multiple {
        let Value::Array(items) = value else { return Err("expected a list of values".into()) };
        if items.len() > MAX_ITEMS {
            return Err(format!("at most {MAX_ITEMS} values"));
        }
        let mut out: Vec<Value> = Vec::with_capacity(items.len());
        for item in items {
            let normalized = normalize_one(field, item)?;
            if normalized.is_null() {
                return Err("a list cannot contain null".into());
            }
            if !out.contains(&normalized) {
                out.push(normalized);
            }
        }
        return Ok(Value::Array(out));
    }
    normalize_one(field, value)
}

fn normalize_one(field: &FieldDef, value: &Value) -> Result<Value, String> {
    match field.field_type {
        FieldType::Text => text(field, value),
        FieldType::Number => number(field, value),
        FieldType::Money => money(field, value),
        FieldType::Date => {
            let s = as_str(value, "a date written YYYY-MM-DD")?;
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(s.trim(), format).map_err(|_| format!("`{s}` is not a date; write it YYYY-MM-DD, e.g. 2026-11-21"))?;
            Ok(Value::String(s.trim().to_owned()))
        }
        FieldType::Datetime => {
            let s = as_str(value, "a date and time (RFC 3339)")?;
            let parsed = time::OffsetDateTime::parse(s.trim(), &Rfc3339)
                .map_err(|_| format!("`{s}` is not a date and time; write it like 2026-11-21T14:30:00+01:00"))?;
            Ok(Value::String(format_datetime(parsed)))
        }
        FieldType::Enum => {
            let s = as_str(value, "one of the listed values")?;
            if field.values.iter().any(|v| v.key == s) {
                Ok(Value::String(s.to_owned()))
            } else {
                let keys: Vec<&str> = field.values.iter().map(|v| v.key.as_str()).collect();
                Err(format!("`{s}` is not one of: {}", keys.join(", ")))
            }
        }
        FieldType::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err("expected true or false".into()),
        },
        FieldType::Email => {
            let s = as_str(value, "an email address")?.trim().to_lowercase();
            let valid = s.len() <= 254
                && s.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@')
                })
                && !s.chars().any(|c| c.is_whitespace() || c.is_control());
            if valid { Ok(Value::String(s)) } else { Err(format!("`{s}` is not an email address, e.g. prenom.nom@exemple.fr")) }
        }
        FieldType::Phone => phone(as_str(value, "a phone number")?).map(Value::String),
        FieldType::Reference => {
            let s = as_str(value, "the id of a record")?;
            if is_uuid(s) { Ok(Value::String(s.to_ascii_lowercase())) } else { Err(format!("`{s}` is not a record id")) }
        }
        FieldType::File => file(field, value),
    }
}

fn as_str<'a>(value: &'a Value, expected: &str) -> Result<&'a str, String> {
    value.as_str().ok_or_else(|| format!("expected {expected}"))
}

fn text(field: &FieldDef, value: &Value) -> Result<Value, String> {
    let s = as_str(value, "text")?.trim();
    let max = field.max_length.map_or(MAX_TEXT_LEN, |m| m as usize).min(MAX_TEXT_LEN);
    let len = s.chars().count();
    if len > max {
        return Err(format!("is {len} characters long; at most {max}"));
    }
    let allowed = |c: char| !c.is_control() || (field.multiline && (c == '\n' || c == '\t' || c == '\r'));
    if !s.chars().all(allowed) {
        return Err(if field.multiline { "contains control characters".into() } else { "must fit on one line".into() });
    }
    Ok(Value::String(s.to_owned()))
}

fn number(field: &FieldDef, value: &Value) -> Result<Value, String> {
    let n = match value {
        Value::Number(n) => n.as_f64().ok_or("expected a number")?,
        // Forms send text; accept the French decimal comma.
        Value::String(s) => s.trim().replace(',', ".").replace(' ', "").parse::<f64>().map_err(|_| format!("`{s}` is not a number"))?,
        _ => return Err("expected a number".into()),
    };
    if !n.is_finite() {
        return Err("expected a finite number".into());
    }
    if let Some(min) = field.min.filter(|min| n < *min) {
        return Err(format!("must be at least {min}"));
    }
    if let Some(max) = field.max.filter(|max| n > *max) {
        return Err(format!("must be at most {max}"));
    }
    let rounded = match field.decimals {
        Some(0) => return Ok(Value::Number(Number::from(n.round() as i64))),
        Some(d) => {
            let factor = 10f64.powi(i32::from(d));
            (n * factor).round() / factor
        }
        None => n,
    };
    if rounded.fract() == 0.0 && rounded.abs() < 9.0e15 {
        return Ok(Value::Number(Number::from(rounded as i64)));
    }
    Number::from_f64(rounded).map(Value::Number).ok_or_else(|| "expected a finite number".into())
}

fn money(field: &FieldDef, value: &Value) -> Result<Value, String> {
    let (amount, currency) = match value {
        Value::Object(map) => {
            let amount = map.get("amount").and_then(Value::as_i64).ok_or("expected { \"amount\": <integer minor units>, \"currency\": \"EUR\" }")?;
            let currency = map.get("currency").and_then(Value::as_str).map(str::to_owned);
            if map.keys().any(|k| k != "amount" && k != "currency") {
                return Err("a money value only has `amount` and `currency`".into());
            }
            (amount, currency)
        }
        Value::Number(n) => (n.as_i64().ok_or("expected an amount in integer minor units (cents)")?, None),
        _ => return Err("expected { \"amount\": <integer minor units>, \"currency\": \"EUR\" }".into()),
    };
    let currency = match (currency, &field.currency) {
        (Some(c), Some(fixed)) if &c != fixed => return Err(format!("the currency must be {fixed}, not {c}")),
        (Some(c), _) => c,
        (None, Some(fixed)) => fixed.clone(),
        (None, None) => "EUR".into(),
    };
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!("`{currency}` is not an ISO 4217 currency like EUR"));
    }
    let mut map = Map::new();
    map.insert("amount".into(), Value::from(amount));
    map.insert("currency".into(), Value::String(currency));
    Ok(Value::Object(map))
}

fn phone(raw: &str) -> Result<String, String> {
    let mut digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '\u{a0}')).collect();
    if let Some(rest) = digits.strip_prefix("00") {
        digits = format!("+{rest}");
    } else if digits.len() == 10 && digits.starts_with('0') && !digits.starts_with("00") {
        // A French national number.
        digits = format!("+33{}", &digits[1..]);
    }
    let valid = digits.starts_with('+') && (8..=15).contains(&(digits.len() - 1)) && digits[1..].bytes().all(|b| b.is_ascii_digit());
    if valid { Ok(digits) } else { Err(format!("`{raw}` is not a phone number; write it +33 6 12 34 56 78 or 06 12 34 56 78")) }
}

fn file(field: &FieldDef, value: &Value) -> Result<Value, String> {
    let Value::Object(map) = value else { return Err("expected an uploaded file ({ \"id\": … })".into()) };
    let id = map.get("id").and_then(Value::as_str).filter(|s| is_uuid(s)).ok_or("expected the id of an uploaded file")?;
    let size = map.get("size").and_then(Value::as_u64).unwrap_or(0);
    let content_type = map.get("content_type").and_then(Value::as_str).unwrap_or("application/octet-stream");
    let max = field.max_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES);
    if size > max {
        return Err(format!("the file is {size} bytes; at most {max}"));
    }
    if !field.accept.is_empty() && !field.accept.iter().any(|a| mime_matches(a, content_type)) {
        return Err(format!("{content_type} files are not accepted here (accepted: {})", field.accept.join(", ")));
    }
    let mut out = Map::new();
    out.insert("id".into(), Value::String(id.to_ascii_lowercase()));
    for key in ["name", "content_type"] {
        if let Some(v) = map.get(key).and_then(Value::as_str) {
            out.insert(key.into(), Value::String(v.chars().take(255).collect()));
        }
    }
    out.insert("size".into(), Value::from(size));
    Ok(Value::Object(out))
}

fn mime_matches(pattern: &str, content_type: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(prefix) => content_type.split('/').next() == Some(prefix),
        None => pattern == content_type,
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// Formats an instant the way datetimes are stored: UTC, milliseconds, `Z`. Lexicographic order
/// of the text is chronological order, so stored datetimes sort and compare as text.
pub fn format_datetime(at: time::OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.millisecond()
    )
}
