//! Money of the marketplace, in integer cents: what a tenant owes for a plugin in a month, the
//! platform's commission by tiers, the three-way split when the tenant is a white-label
//! reseller's customer, a partner's monthly statement and its CSV.
//!
//! Every amount is a `u64` of cents; every rounding goes down, and what rounding leaves goes to
//! the partner, so the parts of a split always add up to the gross.

use serde::{Deserialize, Serialize};

/// One band of the platform's commission: `rate_bp` (hundredths of a percent) on the part of a
/// partner's monthly gross up to `up_to_cents` (the last band has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    /// Upper bound of the band, cents of monthly gross (`None`: no bound).
    pub up_to_cents: Option<u64>,
    /// Commission in basis points (3000 = 30 %).
    pub rate_bp: u32,
}

/// Checks commission tiers: growing bounds, the last one unbounded, rates at most 100 %.
pub fn validate_tiers(tiers: &[Tier]) -> Result<(), String> {
    if tiers.is_empty() {
        return Err("give at least one commission tier".into());
    }
    if tiers.iter().any(|t| t.rate_bp > 10_000) {
        return Err("a commission rate is at most 10000 basis points (100 %)".into());
    }
    let (last, bounded) = tiers.split_last().ok_or("no tier")?;
    if last.up_to_cents.is_some() {
        return Err("the last tier has no upper bound".into());
    }
    let mut previous = 0;
    for tier in bounded {
        match tier.up_to_cents {
            Some(bound) if bound > previous => previous = bound,
            _ => return Err("tier bounds must grow, and only the last tier is unbounded".into()),
        }
    }
    Ok(())
}

/// The platform's commission on a partner's monthly gross, band by band (like tax brackets).
pub fn commission(gross: u64, tiers: &[Tier]) -> u64 {
    let mut owed: u128 = 0;
    let mut floor = 0u64;
    for tier in tiers {
        if gross <= floor {
            break;
        }
        let top = tier.up_to_cents.map_or(gross, |bound| bound.min(gross));
        owed += u128::from(top.saturating_sub(floor)) * u128::from(tier.rate_bp);
        floor = top;
    }
    u64::try_from(owed / 10_000).unwrap_or(u64::MAX)
}

/// Cents owed for `calls` calls at `millicents` each (rounded down).
pub fn usage_cents(calls: u64, millicents: u64) -> u64 {
    u64::try_from(u128::from(calls) * u128::from(millicents) / 1000).unwrap_or(u64::MAX)
}

/// How one line's money is shared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Split {
    /// Paid by the tenant.
    pub gross: u64,
    /// To the partner.
    pub partner: u64,
    /// To the platform.
    pub platform: u64,
    /// To the white-label reseller whose customer the tenant is.
    pub reseller: u64,
}

/// One line of a statement before the split: a plugin billed to a tenant for a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// Plugin.
    pub plugin: String,
    /// `subscription` or `usage`.
    pub kind: String,
    /// Months or calls.
    pub quantity: u64,
    /// Cents paid.
    pub gross: u64,
    /// The reseller whose customer the tenant is, if any.
    pub reseller: Option<String>,
}

/// A line of a statement, split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// The charge.
    #[serde(flatten)]
    pub charge: Charge,
    /// Its split.
    pub split: Split,
}

/// A partner's monthly statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// `YYYY-MM`.
    pub period: String,
    /// Publisher.
    pub publisher: String,
    /// ISO 4217.
    pub currency: String,
    /// Lines.
    pub lines: Vec<Line>,
    /// Sums of the lines.
    pub total: Split,
}

/// Builds a statement: the commission is computed on the month's total gross by tiers, then
/// shared among the lines in proportion to their gross (largest remainders first, so the parts
/// add up exactly); on a reseller's customer's line, the reseller gets `reseller_bp` of the
/// line's gross, out of the platform's part (never more than it).
pub fn statement(period: &str, publisher: &str, currency: &str, charges: Vec<Charge>, tiers: &[Tier], reseller_bp: u32) -> Statement {
    let gross: u64 = charges.iter().map(|c| c.gross).sum();
    let total_commission = commission(gross, tiers);
    // Proportional shares, rounded down, then the remaining cents to the largest remainders.
    let mut shares: Vec<(u64, u128, usize)> = charges
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if gross == 0 {
                return (0, 0, i);
            }
            let exact = u128::from(total_commission) * u128::from(c.gross);
            (u64::try_from(exact / u128::from(gross)).unwrap_or(u64::MAX), exact % u128::from(gross), i)
        })
        .collect();
    let mut left = total_commission - shares.iter().map(|s| s.0).sum::<u64>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].1.cmp(&shares[*a].1).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i].0 += 1;
        left -= 1;
    }
    let mut total = Split::default();
    let lines: Vec<Line> = charges
        .into_iter()
        .zip(shares)
        .map(|(charge, (commission, _, _))| {
            let reseller = match charge.reseller {
                Some(_) => (u64::try_from(u128::from(charge.gross) * u128::from(reseller_bp) / 10_000).unwrap_or(u64::MAX)).min(commission),
                None => 0,
            };
            let split = Split { gross: charge.gross, partner: charge.gross - commission, platform: commission - reseller, reseller };
            total.gross += split.gross;
            total.partner += split.partner;
            total.platform += split.platform;
            total.reseller += split.reseller;
            Line { charge, split }
        })
        .collect();
    Statement { period: period.into(), publisher: publisher.into(), currency: currency.into(), lines, total }
}

fn cents(amount: u64) -> String {
    format!("{}.{:02}", amount / 100, amount % 100)
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value.to_owned() }
}

/// The statement as CSV (RFC 4180, amounts in units with two decimals), a total line last.
pub fn to_csv(statement: &Statement) -> String {
    let mut out = String::from("period,publisher,plugin,kind,quantity,reseller,currency,gross,partner,platform,reseller_share\r\n");
    let row = |plugin: &str, kind: &str, quantity: String, reseller: &str, s: &Split| {
        [
            csv_field(&statement.period),
            csv_field(&statement.publisher),
            csv_field(plugin),
            csv_field(kind),
            quantity,
            csv_field(reseller),
            csv_field(&statement.currency),
            cents(s.gross),
            cents(s.partner),
            cents(s.platform),
            cents(s.reseller),
        ]
        .join(",")
            + "\r\n"
    };
    for line in &statement.lines {
        out.push_str(&row(
            &line.charge.plugin,
            &line.charge.kind,
            line.charge.quantity.to_string(),
            line.charge.reseller.as_deref().unwrap_or(""),
            &line.split,
        ));
    }
    out.push_str(&row("", "total", String::new(), "", &statement.total));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers() -> Vec<Tier> {
        vec![Tier { up_to_cents: Some(100_000), rate_bp: 3000 }, Tier { up_to_cents: None, rate_bp: 1500 }]
    }

    #[test]
    fn commission_goes_band_by_band() {
        assert_eq!(commission(0, &tiers()), 0);
        assert_eq!(commission(10_000, &tiers()), 3_000);
        assert_eq!(commission(100_000, &tiers()), 30_000);
        assert_eq!(commission(200_000, &tiers()), 30_000 + 15_000);
        assert_eq!(commission(333, &tiers()), 99, "rounded down");
        assert!(validate_tiers(&tiers()).is_ok());
        assert!(validate_tiers(&[Tier { up_to_cents: Some(5), rate_bp: 10 }]).is_err());
        assert!(
            validate_tiers(&[Tier { up_to_cents: Some(5), rate_bp: 10 }, Tier { up_to_cents: Some(5), rate_bp: 10 }, Tier { up_to_cents: None, rate_bp: 1 }])
                .is_err()
        );
        assert!(validate_tiers(&[Tier { up_to_cents: None, rate_bp: 10_001 }]).is_err());
    }

    #[test]
    fn usage_is_counted_in_millicents() {
        assert_eq!(usage_cents(1000, 250), 250);
        assert_eq!(usage_cents(3, 333), 0);
        assert_eq!(usage_cents(0, 999), 0);
    }

    #[test]
    fn a_statement_splits_three_ways_and_adds_up_to_the_cent() {
        let charges = vec![
            Charge { plugin: "telecom".into(), kind: "subscription".into(), quantity: 1, gross: 4_900, reseller: None },
            Charge { plugin: "telecom".into(), kind: "subscription".into(), quantity: 1, gross: 4_900, reseller: Some("revendeur".into()) },
            Charge { plugin: "telecom".into(), kind: "usage".into(), quantity: 1234, gross: 617, reseller: None },
        ];
        let s = statement("2026-11", "acme-soft", "EUR", charges, &tiers(), 1000);
        let gross = 4_900 + 4_900 + 617;
        assert_eq!(s.total.gross, gross);
        assert_eq!(s.total.platform + s.total.reseller, commission(gross, &tiers()), "the commission is the tiers' on the month");
        assert_eq!(s.total.partner + s.total.platform + s.total.reseller, gross);
        for line in &s.lines {
            assert_eq!(line.split.partner + line.split.platform + line.split.reseller, line.split.gross);
        }
        assert_eq!(s.lines[1].split.reseller, 490, "10 % of the reseller's customer's gross");
        assert_eq!(s.lines[0].split.reseller, 0);
        let csv = to_csv(&s);
        let rows: Vec<&str> = csv.split("\r\n").filter(|r| !r.is_empty()).collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[2], "2026-11,acme-soft,telecom,subscription,1,revendeur,EUR,49.00,34.30,9.80,4.90");
        assert!(rows[4].starts_with("2026-11,acme-soft,,total,,,EUR,104.17,"), "{}", rows[4]);
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
