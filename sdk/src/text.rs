//! Words for people: counts that agree with their number, in French by default.
//!
//! ```
//! use socle_sdk::text::count;
//! assert_eq!(count(1, "ligne", "lignes"), "1 ligne");
//! assert_eq!(count(0, "ligne", "lignes"), "0 ligne");
//! assert_eq!(count(3, "anomalie nouvelle", "anomalies nouvelles"), "3 anomalies nouvelles");
//! ```

/// `n` and the word (or words) that agree with it the French way: 0 and 1 take the singular.
pub fn count(n: impl Into<i64>, one: &str, other: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n.abs() <= 1 { one } else { other })
}

/// `n` and the words that agree with it the English way: only 1 takes the singular.
pub fn count_en(n: impl Into<i64>, one: &str, other: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n.abs() == 1 { one } else { other })
}

/// An instant (Unix milliseconds or RFC 3339) the host writes out in the tenant's local time and
/// the reader's language, in a panel's HTML or a mail: `4 décembre 2026 à 14:05`. The same
/// placeholder as [`crate::mail::time`].
pub fn time(at: impl std::fmt::Display) -> String {
    crate::mail::time(at)
}

/// A calendar day (`YYYY-MM-DD`) the host writes out: `4 décembre 2026`. See [`crate::mail::date`].
pub fn date(day: &str) -> String {
    crate::mail::date(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree() {
        assert_eq!(count(2, "carte SIM", "cartes SIM"), "2 cartes SIM");
        assert_eq!(count_en(0, "line", "lines"), "0 lines");
        assert_eq!(count_en(1, "line", "lines"), "1 line");
    }
}
