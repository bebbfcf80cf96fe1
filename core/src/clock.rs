//! Time, behind a trait so tests can move it (lockouts expiring, tokens aging, timers firing).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time in Unix milliseconds.
pub trait Clock: Send + Sync + 'static {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let now = time::OffsetDateTime::now_utc();
        i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

/// The machine's clock shifted by an offset that tests advance.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    offset_ms: AtomicI64,
}

impl ShiftedClock {
    /// A clock in step with the system clock until advanced.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Sets how far ahead of the system clock this clock runs.
    pub fn set_offset(&self, offset: std::time::Duration) {
        self.offset_ms.store(i64::try_from(offset.as_millis()).unwrap_or(i64::MAX), Ordering::SeqCst);
    }
}

/// A clock that a test outside the process moves: the offset, in seconds, is read from `path`
/// every 100 ms (a missing or unreadable file means no offset). How the browser tests age SLA
/// timers on a real server; `socle serve` only honours it in debug builds
/// (`SOCLE_TEST_CLOCK_FILE`).
pub fn follow_offset_file(path: std::path::PathBuf) -> Arc<ShiftedClock> {
    let clock = ShiftedClock::new();
    let followed = Arc::downgrade(&clock);
    tokio::spawn(async move {
        while let Some(clock) = followed.upgrade() {
            let secs = std::fs::read_to_string(&path).ok().and_then(|text| text.trim().parse::<u64>().ok()).unwrap_or(0);
            clock.set_offset(std::time::Duration::from_secs(secs));
            drop(clock);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    clock
}

impl Clock for ShiftedClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms.load(Ordering::SeqCst)
    }
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;
