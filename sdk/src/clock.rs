//! The time, from the host (tests may move it).

use crate::host;

/// Now, in Unix milliseconds.
///
/// ```
/// socle_sdk::testing::set_now(1_700_000_000_000);
/// assert_eq!(socle_sdk::clock::now_ms(), 1_700_000_000_000);
/// ```
pub fn now_ms() -> i64 {
    host::now()
}
