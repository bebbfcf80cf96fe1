//! Moments in the console as the tenant reads them: its local time, written by the platform's one
//! formatter ([`crate::http::pages::format_time`], which portal panels and lists use too) — never
//! UTC or ISO text.

use serde::Serialize;
use socle_tenants::Locale;

/// A moment: machine-readable for `<time datetime>`, and as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moment {
    /// RFC 3339, UTC (the `datetime` attribute only).
    pub iso: String,
    /// `04/12/2026 14:05` in French, in the tenant's local time.
    pub text: String,
}

/// `ms` (Unix milliseconds) as the tenant reads it in `lang`.
pub fn moment(ms: i64, lang: Locale) -> Moment {
    Moment { iso: crate::http::pages::iso_time(ms), text: crate::http::pages::format_time(ms, lang.as_str()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_read_in_local_time_never_utc() {
        // 2026-12-04T13:05:00Z is 14:05 in Paris (winter); 2026-07-14T08:30:00Z is 10:30 (summer).
        let winter = moment(1_796_389_500_000, Locale::Fr);
        assert_eq!(winter.text, "04/12/2026 14:05");
        assert_eq!(winter.iso, "2026-12-04T13:05:00Z");
        assert_eq!(moment(1_784_017_800_000, Locale::Fr).text, "14/07/2026 10:30");
        assert!(!moment(1_784_017_800_000, Locale::En).text.contains("UTC"));
    }
}
