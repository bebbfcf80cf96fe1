//! Money as the host stores it (`{ "amount": <cents>, "currency": "EUR" }`), amounts typed in
//! CSV files (`12,50`, `12.5`, `1 234,00 €`), and dates from the host's clock.

use socle_sdk::{Value, json};

/// The amount in cents of a money value (0 when absent).
pub fn cents(value: &Value) -> i64 {
    value.get("amount").and_then(Value::as_i64).unwrap_or(0)
}

/// A money value in euros.
pub fn money(cents: i64) -> Value {
    json!({ "amount": cents, "currency": "EUR" })
}

/// `1234` → `12,34 €`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{},{:02} €", cents.abs() / 100, cents.abs() % 100)
}

/// Parses an amount in euros as typed in a French spreadsheet: `12,50`, `12.5`, `1 234,00 €`,
/// `-3`. At most two decimals.
pub fn parse_euros(text: &str) -> Result<i64, String> {
    let cleaned: String = text.trim().trim_end_matches('€').trim().chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    let cleaned = cleaned.replace(',', ".");
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    let (units, decimals) = digits.split_once('.').unwrap_or((digits, ""));
    let valid = !units.is_empty() && units.bytes().all(|b| b.is_ascii_digit()) && decimals.len() <= 2 && decimals.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(format!("« {} » n'est pas un montant (exemple : 12,50)", text.trim()));
    }
    let units: i64 = units.parse().map_err(|_| format!("« {} » est un montant trop grand", text.trim()))?;
    let decimals: i64 = format!("{decimals:0<2}").parse().unwrap_or(0);
    let cents = units.checked_mul(100).and_then(|u| u.checked_add(decimals)).ok_or_else(|| format!("« {} » est un montant trop grand", text.trim()))?;
    Ok(if negative { -cents } else { cents })
}

/// `YYYY-MM-DD` of Unix milliseconds (UTC).
pub fn date_of_ms(ms: i64) -> String {
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_typed_the_french_way_parse_to_cents() {
        assert_eq!(parse_euros("12,50"), Ok(1250));
        assert_eq!(parse_euros("12.5"), Ok(1250));
        assert_eq!(parse_euros(" 1 234,00 € "), Ok(123_400));
        assert_eq!(parse_euros("-3"), Ok(-300));
        assert!(parse_euros("12,505").is_err());
        assert!(parse_euros("douze").unwrap_err().contains("« douze » n'est pas un montant"));
        assert_eq!(format_cents(-1250), "-12,50 €");
    }

    #[test]
    fn dates_come_from_the_host_clock() {
        assert_eq!(date_of_ms(0), "1970-01-01");
        assert_eq!(date_of_ms(1_795_000_000_123), "2026-11-18");
    }
}
