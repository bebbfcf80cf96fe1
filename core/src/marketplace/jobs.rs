//! The marketplace's scheduled jobs: retention purges, rollout ticks, the monthly charge.

use std::sync::Arc;

use super::{Marketplace, billing, retention, rollout};
use crate::jobs::Registration;

impl Marketplace {
    /// The marketplace's jobs, registered with the worker by the composition root.
    pub fn jobs(self: &Arc<Self>) -> Vec<Registration> {
        vec![
            Registration::scheduled(retention::PURGE_JOB, retention::SWEEP_CRON, Arc::new(retention::PurgeRetained(self.clone()))),
            Registration::scheduled(rollout::TICK_JOB, rollout::TICK_CRON, Arc::new(rollout::Tick(self.clone()))),
            Registration::scheduled(billing::CHARGE_JOB, billing::CHARGE_CRON, Arc::new(billing::ChargeMonth(self.clone()))),
        ]
    }
}
