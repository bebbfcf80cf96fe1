//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), compatible with
//! every authenticator app. A code is accepted one step early or late (clock drift) and only once.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use rand::RngCore as _;
use sha1::Sha1;

const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;

/// A new random secret (160 bits), base32 as authenticator apps expect.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

/// The `otpauth://` URI an authenticator app scans.
pub fn provisioning_uri(secret: &str, issuer: &str, account: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
    format!("otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}", enc(issuer), enc(account), enc(issuer))
}

/// The code for a time step.
pub fn code_at_step(secret: &str, step: i64) -> Option<String> {
    let key = BASE32_NOPAD.decode(secret.as_bytes()).ok()?;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).ok()?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    Some(format!("{:0width$}", binary % 10u32.pow(DIGITS), width = DIGITS as usize))
}

/// The time step of a Unix time in milliseconds.
pub fn step_at(now_ms: i64) -> i64 {
    now_ms.div_euclid(1000).div_euclid(STEP_SECS)
}

/// The step whose code matches `code` within one step of `now_ms`, if any. The caller must then
/// record the step as used and refuse steps at or before it (replay protection).
pub fn matching_step(secret: &str, code: &str, now_ms: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(now_ms);
    [now, now - 1, now + 1]
        .into_iter()
        .find(|&step| code_at_step(secret, step).is_some_and(|expected| crate::identity::secrets::constant_time_eq(&expected, &code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA1, secret "12345678901234567890", T = 59 s → 94287082 (8 digits).
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        assert_eq!(code_at_step(&secret, 59 / 30).unwrap(), "287082");
        // T = 1111111109 → 07081804.
        assert_eq!(code_at_step(&secret, 1_111_111_109 / 30).unwrap(), "081804");
    }

    #[test]
    fn accepts_adjacent_steps_only() {
        let secret = new_secret();
        let now = 1_700_000_000_000;
        let step = step_at(now);
        let code = code_at_step(&secret, step - 1).unwrap();
        assert_eq!(matching_step(&secret, &code, now), Some(step - 1));
        let old = code_at_step(&secret, step - 3).unwrap();
        assert_eq!(matching_step(&secret, &old, now), None);
        assert_eq!(matching_step(&secret, "abc", now), None);
    }
}
