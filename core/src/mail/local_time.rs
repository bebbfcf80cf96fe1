//! Times in mails as the recipient reads them: in the tenant's local time, written out the way
//! the language writes dates (`4 décembre 2026 à 14:05`, `4 December 2026 at 14:05 (Paris
//! time)`), never ISO text or UTC.
//!
//! Tenants have no time zone setting yet: every tenant's mails read in Europe/Paris time, the
//! platform's market. [`TimeZone::of`] is the one place that decides, so a tenant setting only
//! has to be read there. The zone's rules are the European Union's summer time (since 1996):
//! UTC+2 from the last Sunday of March, 01:00 UTC, to the last Sunday of October, 01:00 UTC,
//! UTC+1 otherwise — no time zone database needed.
//!
//! Plugins format no times themselves (they have no time zone database): they write
//! `{{time:<unix ms or RFC 3339>}}` or `{{date:<YYYY-MM-DD>}}` in a notification's subject or
//! message and the host writes the moment out ([`expand`]).

use chrono::{DateTime, Datelike as _, NaiveDate, Timelike as _, Weekday};
use socle_tenants::{Locale, Tenant};

/// The time zone a tenant's mails are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeZone {
    /// Central European Time with the EU's summer time.
    EuropeParis,
}

impl TimeZone {
    /// The time zone of `tenant`'s mails (every tenant reads Paris time until tenants get a
    /// setting).
    pub fn of(_tenant: &Tenant) -> Self {
        Self::EuropeParis
    }

    /// Minutes ahead of UTC at the instant `unix_ms`.
    pub fn offset_minutes(self, unix_ms: i64) -> i64 {
        match self {
            Self::EuropeParis => {
                let Some(at) = DateTime::from_timestamp_millis(unix_ms) else { return 60 };
                let year = at.year();
                let summer = |month| last_sunday(year, month).and_hms_opt(1, 0, 0).map(|t| t.and_utc().timestamp_millis());
                match (summer(3), summer(10)) {
                    (Some(start), Some(end)) if (start..end).contains(&unix_ms) => 120,
                    _ => 60,
                }
            }
        }
    }

    /// How the zone is named after a time, in languages that name it (French mails read the
    /// local time of a French reader and name no zone).
    fn suffix(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (_, Locale::Fr) => "",
            (Self::EuropeParis, Locale::En) => " (Paris time)",
        }
    }
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let next = if month == 12 { NaiveDate::from_ymd_opt(year + 1, 1, 1) } else { NaiveDate::from_ymd_opt(year, month + 1, 1) };
    let mut day = next.and_then(|d| d.pred_opt()).unwrap_or_default();
    while day.weekday() != Weekday::Sun {
        day = day.pred_opt().unwrap_or(day);
    }
    day
}

const MONTHS_FR: [&str; 12] = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];
const MONTHS_EN: [&str; 12] = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/// A calendar day written out: `1er décembre 2026`, `4 décembre 2026`, `4 December 2026`.
fn day_text(date: NaiveDate, locale: Locale) -> String {
    let month = date.month0() as usize;
    match locale {
        Locale::Fr if date.day() == 1 => format!("1er {} {}", MONTHS_FR[month], date.year()),
        Locale::Fr => format!("{} {} {}", date.day(), MONTHS_FR[month], date.year()),
        Locale::En => format!("{} {} {}", date.day(), MONTHS_EN[month], date.year()),
    }
}

/// An instant in `zone`, written out: `4 décembre 2026 à 14:05` (a sentence puts « le » before
/// it), `4 December 2026 at 14:05 (Paris time)`.
pub fn datetime(unix_ms: i64, zone: TimeZone, locale: Locale) -> String {
    let local = unix_ms + zone.offset_minutes(unix_ms) * 60_000;
    let Some(at) = DateTime::from_timestamp_millis(local) else { return String::new() };
    let at = at.naive_utc();
    let (day, hour, minute) = (day_text(at.date(), locale), at.hour(), at.minute());
    match locale {
        Locale::Fr => format!("{day} à {hour:02}:{minute:02}"),
        Locale::En => format!("{day} at {hour:02}:{minute:02}{}", zone.suffix(locale)),
    }
}

/// A calendar date (`YYYY-MM-DD`, what date fields hold) written out; no time zone applies.
pub fn date(text: &str, locale: Locale) -> Option<String> {
    let date = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
    Some(day_text(date, locale))
}

/// An instant given as Unix milliseconds or RFC 3339 text (what datetime fields hold).
pub fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

/// Writes out the `{{time:…}}` and `{{date:…}}` placeholders of a plugin's text in `zone` and
/// `locale`. A placeholder that holds no valid moment is an error naming it; other text,
/// including other `{{…}}`, is kept as it is.
pub fn expand(text: &str, zone: TimeZone, locale: Locale) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let placeholder = after.find("}}").map(|end| (&after[..end], &after[end + 2..]));
        let written = placeholder.and_then(|(inner, tail)| {
            let (kind, value) = inner.split_once(':')?;
            let value = value.trim();
            let written = match kind.trim() {
                "time" => parse_instant(value).map(|ms| datetime(ms, zone, locale)),
                "date" => date(value, locale).filter(|_| value.len() == 10),
                _ => return None,
            };
            Some((written.ok_or_else(|| format!("`{{{{{inner}}}}}` holds no valid {}", kind.trim())), tail))
        });
        match written {
            Some((Ok(written), tail)) => {
                out.push_str(&written);
                rest = tail;
            }
            Some((Err(e), _)) => return Err(e),
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARIS: TimeZone = TimeZone::EuropeParis;

    fn ms(text: &str) -> i64 {
        parse_instant(text).unwrap()
    }

    #[test]
    fn paris_is_one_hour_ahead_in_winter_and_two_in_summer() {
        assert_eq!(datetime(ms("2026-12-04T13:05:00.000Z"), PARIS, Locale::Fr), "4 décembre 2026 à 14:05");
        assert_eq!(datetime(ms("2026-07-14T08:30:00Z"), PARIS, Locale::Fr), "14 juillet 2026 à 10:30");
        assert_eq!(datetime(ms("2026-12-04T13:05:00Z"), PARIS, Locale::En), "4 December 2026 at 14:05 (Paris time)");
        // The first of the month, and an evening that is already the next day in Paris.
        assert_eq!(datetime(ms("2026-11-30T23:30:00Z"), PARIS, Locale::Fr), "1er décembre 2026 à 00:30");
    }

    #[test]
    fn summer_time_starts_and_ends_on_the_last_sundays_at_one_utc() {
        // 2026: summer time from Sunday 29 March to Sunday 25 October.
        assert_eq!(datetime(ms("2026-03-29T00:59:00Z"), PARIS, Locale::Fr), "29 mars 2026 à 01:59");
        assert_eq!(datetime(ms("2026-03-29T01:00:00Z"), PARIS, Locale::Fr), "29 mars 2026 à 03:00");
        assert_eq!(datetime(ms("2026-10-25T00:59:00Z"), PARIS, Locale::Fr), "25 octobre 2026 à 02:59");
        assert_eq!(datetime(ms("2026-10-25T01:00:00Z"), PARIS, Locale::Fr), "25 octobre 2026 à 02:00");
        // 2027: 28 March and 31 October.
        assert_eq!(PARIS.offset_minutes(ms("2027-03-28T01:00:00Z")), 120);
        assert_eq!(PARIS.offset_minutes(ms("2027-10-31T00:59:59Z")), 120);
        assert_eq!(PARIS.offset_minutes(ms("2027-10-31T01:00:00Z")), 60);
    }

    #[test]
    fn dates_are_calendar_days_without_a_zone() {
        assert_eq!(date("2026-12-04", Locale::Fr).as_deref(), Some("4 décembre 2026"));
        assert_eq!(date("2026-05-01", Locale::Fr).as_deref(), Some("1er mai 2026"));
        assert_eq!(date("2026-08-15", Locale::En).as_deref(), Some("15 August 2026"));
        assert_eq!(date("2026-02-30", Locale::Fr), None);
    }

    #[test]
    fn placeholders_are_written_out_and_bad_ones_named() {
        let text = "Intervention le {{time:2026-12-04T13:05:00Z}}, devis du {{date:2026-11-21}} ({{time:1796389500000}}).";
        assert_eq!(expand(text, PARIS, Locale::Fr).unwrap(), "Intervention le 4 décembre 2026 à 14:05, devis du 21 novembre 2026 (4 décembre 2026 à 14:05).");
        assert_eq!(expand("{{ name }} et {{autre:1}} {{time:", PARIS, Locale::Fr).unwrap(), "{{ name }} et {{autre:1}} {{time:");
        assert_eq!(expand("le {{time:demain}}", PARIS, Locale::Fr).unwrap_err(), "`{{time:demain}}` holds no valid time");
        assert!(expand("{{date:2026-12-04T10:00:00Z}}", PARIS, Locale::Fr).is_err(), "a date is a calendar day");
    }
}
