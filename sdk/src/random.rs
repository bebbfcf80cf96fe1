//! Random bytes from the host's generator (guests have no entropy of their own).

use crate::host;

/// `len` random bytes (at most 4096).
///
/// ```
/// let token = socle_sdk::random::bytes(16);
/// assert_eq!(token.len(), 16);
/// ```
pub fn bytes(len: u32) -> Vec<u8> {
    host::random(len.min(4096))
}
