//! Progressive rollout: which tenants get a new version (a deterministic cohort by hash of
//! tenant and plugin), and whether the rollout may go on (a health gate comparing the new
//! version's error rate with the previous version's).
//!
//! A tenant's bucket (0–99) never changes for a plugin, so a tenant in the 5 % cohort stays in
//! the 25 % one, and different plugins put different tenants first.

use sha2::{Digest as _, Sha256};

/// Default promotion steps, in percent of tenants.
pub const DEFAULT_STEPS: [u8; 4] = [5, 25, 50, 100];

/// A tenant's bucket for a plugin, 0 to 99.
pub fn bucket(tenant: &str, plugin: &str) -> u8 {
    let mut hasher = Sha256::new();
    hasher.update(tenant.as_bytes());
    hasher.update([0]);
    hasher.update(plugin.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // Both operands are below 100: the cast cannot truncate.
    (u64::from_be_bytes(first) % 100) as u8
}

/// Whether the tenant is among the first `percent` % for the plugin.
pub fn in_cohort(tenant: &str, plugin: &str, percent: u8) -> bool {
    bucket(tenant, plugin) < percent
}

/// Checks promotion steps: strictly increasing percentages from 1 to 100, ending at 100.
pub fn validate_steps(steps: &[u8]) -> Result<(), String> {
    if steps.is_empty() {
        return Err("give at least one step, e.g. [5, 25, 50, 100]".into());
    }
    if steps.iter().any(|s| *s == 0 || *s > 100) {
        return Err("each step is a percentage of tenants from 1 to 100".into());
    }
    if steps.windows(2).any(|w| w[0] >= w[1]) {
        return Err("steps must grow: each one a larger percentage than the one before".into());
    }
    if steps.last() != Some(&100) {
        return Err("the last step must be 100 (every tenant)".into());
    }
    Ok(())
}

/// Invocations of one version and how many failed (from the runtime receipts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    /// Invocations.
    pub invocations: u64,
    /// Ended in an error or a trap.
    pub failures: u64,
}

impl Health {
    /// Failures per invocation (0 with no invocation).
    pub fn rate(&self) -> f64 {
        if self.invocations == 0 { 0.0 } else { self.failures as f64 / self.invocations as f64 }
    }
}

/// When a rollout may go on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gate {
    /// How much higher (in percentage points) the new version's error rate may be than the
    /// previous version's.
    pub threshold_points: f64,
    /// Invocations of the new version needed before judging it (and before promoting it).
    pub min_invocations: u64,
    /// Time each step lasts at least (ms).
    pub min_step_ms: i64,
}

/// What the gate says about a rollout at `percent`.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Stay at this step; why.
    Wait(String),
    /// Go to the next step.
    Promote(u8),
    /// Every tenant has it: the rollout is over.
    Complete,
    /// Unhealthy: roll back; why, in words.
    Halt(String),
}

/// Judges a rollout at `percent`, `elapsed_ms` after its last step.
pub fn evaluate(steps: &[u8], percent: u8, elapsed_ms: i64, new: Health, previous: Health, gate: &Gate) -> Verdict {
    let allowed = previous.rate() + gate.threshold_points / 100.0;
    if new.invocations >= gate.min_invocations && new.invocations > 0 && new.rate() > allowed {
        return Verdict::Halt(format!(
            "error rate {:.1}% over {} calls, against {:.1}% for the previous version (at most {:.1} points more allowed)",
            new.rate() * 100.0,
            new.invocations,
            previous.rate() * 100.0,
            gate.threshold_points
        ));
    }
    if percent >= 100 {
        return Verdict::Complete;
    }
    if elapsed_ms < gate.min_step_ms {
        return Verdict::Wait(format!("this step lasts at least {} s", gate.min_step_ms / 1000));
    }
    if new.invocations < gate.min_invocations {
        return Verdict::Wait(format!("{} calls so far; {} needed to judge the version", new.invocations, gate.min_invocations));
    }
    match steps.iter().find(|s| **s > percent) {
        Some(next) => Verdict::Promote(*next),
        None => Verdict::Promote(100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GATE: Gate = Gate { threshold_points: 2.0, min_invocations: 20, min_step_ms: 1000 };

    #[test]
    fn buckets_are_stable_spread_and_per_plugin() {
        assert_eq!(bucket("t1", "good"), bucket("t1", "good"));
        let buckets: Vec<u8> = (0..1000).map(|i| bucket(&format!("tenant-{i}"), "good")).collect();
        assert!(buckets.iter().all(|b| *b < 100));
        let in_five = buckets.iter().filter(|b| **b < 5).count();
        assert!((20..=85).contains(&in_five), "about 5% of 1000 tenants: {in_five}");
        let differ = (0..100).filter(|i| bucket(&format!("tenant-{i}"), "good") != bucket(&format!("tenant-{i}"), "addon")).count();
        assert!(differ > 80, "plugins order tenants differently");
        // A cohort only grows.
        for i in 0..200 {
            let t = format!("tenant-{i}");
            if in_cohort(&t, "good", 5) {
                assert!(in_cohort(&t, "good", 25));
            }
        }
        assert!(!in_cohort("anyone", "good", 0));
        assert!(in_cohort("anyone", "good", 100));
    }

    #[test]
    fn steps_must_grow_to_a_hundred() {
        assert!(validate_steps(&DEFAULT_STEPS).is_ok());
        assert!(validate_steps(&[100]).is_ok());
        assert!(validate_steps(&[]).is_err());
        assert!(validate_steps(&[5, 5, 100]).unwrap_err().contains("grow"));
        assert!(validate_steps(&[5, 50]).unwrap_err().contains("100"));
        assert!(validate_steps(&[0, 100]).is_err());
    }

    #[test]
    fn the_gate_promotes_healthy_versions_step_by_step_and_halts_unhealthy_ones() {
        let previous = Health { invocations: 1000, failures: 10 };
        let healthy = Health { invocations: 50, failures: 1 };
        assert_eq!(evaluate(&DEFAULT_STEPS, 5, 5000, healthy, previous, &GATE), Verdict::Promote(25));
        assert_eq!(evaluate(&DEFAULT_STEPS, 50, 5000, healthy, previous, &GATE), Verdict::Promote(100));
        assert_eq!(evaluate(&DEFAULT_STEPS, 100, 5000, healthy, previous, &GATE), Verdict::Complete);
        assert!(matches!(evaluate(&DEFAULT_STEPS, 5, 10, healthy, previous, &GATE), Verdict::Wait(_)), "too early");
        let few = Health { invocations: 3, failures: 3 };
        assert!(matches!(evaluate(&DEFAULT_STEPS, 5, 5000, few, previous, &GATE), Verdict::Wait(w) if w.contains("20 needed")), "too few calls to judge");
        let sick = Health { invocations: 40, failures: 10 };
        match evaluate(&DEFAULT_STEPS, 25, 5000, sick, previous, &GATE) {
            Verdict::Halt(why) => assert!(why.contains("25.0%") && why.contains("1.0%"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Within the threshold of a previous version that already failed often.
        let flaky_before = Health { invocations: 100, failures: 24 };
        assert_eq!(evaluate(&DEFAULT_STEPS, 25, 5000, sick, flaky_before, &GATE), Verdict::Promote(50));
    }
}
