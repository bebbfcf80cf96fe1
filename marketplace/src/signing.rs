//! Publisher keys and package signatures (Ed25519).
//!
//! A publisher signs a package's [`Digest`]; the signature travels next to the package as
//! `<file>.socle.sig` ([`PackageSignature::to_json`]), and the marketplace and hosts check it with
//! the publisher's registered [`PublicKey`]. What is signed is domain-separated
//! ([`signed_message`]) so that a Socle signature can never be replayed as a signature over
//! anything else made with the same key, and vice versa.
//!
//! This crate has no source of randomness: key generation takes its 32 random bytes from the
//! caller ([`SecretKey::generate_with`]).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::package::{Digest, shown};

/// Prefix of a secret key's text form.
pub const SECRET_KEY_PREFIX: &str = "socle-secret-key-ed25519:";
/// Prefix of a public key's text form, and of a key id.
pub const PUBLIC_KEY_PREFIX: &str = "ed25519:";
/// What precedes the digest in every signed message. The version lets the format change without
/// an old signature ever verifying under new rules.
pub const SIGNATURE_DOMAIN: &[u8] = b"socle-package-signature-v1\n";
/// Extension added to a package's file name for its detached signature: `hello-1.0.0.socle.sig`.
pub const SIGNATURE_EXTENSION: &str = "sig";

/// The bytes actually signed for `digest`: [`SIGNATURE_DOMAIN`] followed by the digest's text
/// form (`sha256:<hex>`).
pub fn signed_message(digest: &Digest) -> Vec<u8> {
    let mut message = SIGNATURE_DOMAIN.to_vec();
    message.extend_from_slice(digest.to_string().as_bytes());
    message
}

// ---------------------------------------------------------------------------------------------
// Keys

/// A publisher's signing key. Its `Debug` never shows the secret.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// The key derived from a 32-byte seed. The seed is the whole secret: it must come from a
    /// cryptographically secure random source (see [`SecretKey::generate_with`]).
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// A new key from 32 random bytes written by `fill`, for instance
    /// `SecretKey::generate_with(|seed| rand::fill(seed))` with rand 0.9's OS-seeded generator.
    ///
    /// # Panics
    ///
    /// If `fill` leaves the seed all zeros: that is a caller that forgot to fill it (the chance
    /// of a random all-zero seed is 2⁻²⁵⁶), and every such key would be the same.
    pub fn generate_with(fill: impl FnOnce(&mut [u8; 32])) -> SecretKey {
        let mut seed = [0; 32];
        fill(&mut seed);
        assert_ne!(seed, [0; 32], "SecretKey::generate_with: the fill function did not write random bytes into the seed");
        let key = SecretKey::from_seed(seed);
        // Best effort to not leave a copy of the secret on the stack; `SigningKey` zeroes its own.
        seed = [0; 32];
        std::hint::black_box(&seed);
        key
    }

    /// The public half, to register with the marketplace.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The text form, `socle-secret-key-ed25519:<base64 of the 32-byte seed>`, for a key file.
    pub fn to_text(&self) -> String {
        format!("{SECRET_KEY_PREFIX}{}", BASE64.encode(self.0.to_bytes()))
    }

    /// Reads [`SecretKey::to_text`]'s form; surrounding whitespace (a key file's final newline)
    /// is ignored. Errors never repeat the text, since it may be a secret.
    pub fn from_text(text: &str) -> Result<SecretKey, SigningError> {
        let invalid = |reason: &str| SigningError::InvalidSecretKey { reason: reason.to_string() };
        let text = text.trim();
        let Some(encoded) = text.strip_prefix(SECRET_KEY_PREFIX) else {
            if text.starts_with(PUBLIC_KEY_PREFIX) {
                return Err(invalid("this is a public key, not a secret key"));
            }
            return Err(invalid("it does not start with `socle-secret-key-ed25519:`"));
        };
        let bytes = BASE64.decode(encoded).map_err(|_| invalid("the part after the prefix is not valid base64"))?;
        let seed: [u8; 32] = bytes.try_into().map_err(|_| invalid("the key is not 32 bytes long"))?;
        Ok(SecretKey::from_seed(seed))
    }

    /// Signs a package's digest.
    ///
    /// ```
    /// use socle_marketplace::package::Digest;
    /// use socle_marketplace::signing::{PackageSignature, SecretKey};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // In production: SecretKey::generate_with(|seed| rand::fill(seed)).
    /// let key = SecretKey::from_seed([7; 32]);
    /// let digest = Digest::of(b"the bytes of hello-1.0.0.socle");
    /// let signature = key.sign(&digest);
    /// assert_eq!(signature.key_id, key.public().key_id());
    ///
    /// // Written next to the package as hello-1.0.0.socle.sig, read back and checked:
    /// let signature = PackageSignature::from_json(&signature.to_json())?;
    /// key.public().verify(&digest, &signature)?;
    /// assert!(key.public().verify(&Digest::of(b"something else"), &signature).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn sign(&self, digest: &Digest) -> PackageSignature {
        let signature = self.0.sign(&signed_message(digest));
        PackageSignature { key_id: self.public().key_id(), digest: *digest, signature: signature.to_bytes() }
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>, key id {})", self.public().key_id())
    }
}

/// A publisher's verifying key. Written `ed25519:<base64 of 32 bytes>`, also in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// A short, stable name for the key: `ed25519:` and the first 16 hex digits of the SHA-256 of
    /// its 32 bytes. Signatures carry it so that the right key is easy to find and name.
    pub fn key_id(&self) -> String {
        let hash = Sha256::digest(self.0.as_bytes());
        format!("{PUBLIC_KEY_PREFIX}{}", hex::encode(&hash[..8]))
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Checks that `signature` is this key's signature of `digest`.
    ///
    /// In order: the signature must be for this very digest, made by a key with this key's id,
    /// and cryptographically valid under Ed25519's strict rules (no malleable or small-order
    /// signatures).
    pub fn verify(&self, digest: &Digest, signature: &PackageSignature) -> Result<(), SigningError> {
        if signature.digest != *digest {
            return Err(SigningError::DigestMismatch { signed: signature.digest, package: *digest });
        }
        let key_id = self.key_id();
        if signature.key_id != key_id {
            return Err(SigningError::KeyMismatch { signed_with: shown(&signature.key_id), expected: key_id });
        }
        self.0
            .verify_strict(&signed_message(digest), &Signature::from_bytes(&signature.signature))
            .map_err(|_| SigningError::BadSignature { key_id, digest: *digest })
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", BASE64.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = SigningError;

    fn from_str(text: &str) -> Result<PublicKey, SigningError> {
        let invalid = |reason: &str| SigningError::InvalidPublicKey { reason: reason.to_string() };
        let text = text.trim();
        let Some(encoded) = text.strip_prefix(PUBLIC_KEY_PREFIX) else {
            if text.starts_with(SECRET_KEY_PREFIX) {
                // Never echo it: that text is a secret, and it should not be where a public key goes.
                return Err(invalid("this is a SECRET key; keep it private and give the public key instead"));
            }
            return Err(invalid("it does not start with `ed25519:`"));
        };
        if encoded.len() == 16 && encoded.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("this is a key id (16 hex digits), not the key itself"));
        }
        let bytes = BASE64.decode(encoded).map_err(|_| invalid("the part after `ed25519:` is not valid base64"))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| invalid("the key is not 32 bytes long"))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| invalid("the bytes are not an Ed25519 public key"))?;
        // A small-order key "verifies" signatures nobody made; verify_strict refuses them anyway,
        // but refusing at registration names the real problem.
        if key.is_weak() {
            return Err(invalid("it is a weak (small-order) key that cannot be trusted"));
        }
        Ok(PublicKey(key))
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Signatures

/// A detached signature of a package, stored as `<file>.socle.sig`:
/// `{"key_id": "ed25519:…", "digest": "sha256:…", "signature": "<base64 of 64 bytes>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSignature {
    /// [`PublicKey::key_id`] of the key that signed.
    pub key_id: String,
    /// The digest of the package signed.
    pub digest: Digest,
    /// The Ed25519 signature of [`signed_message`]`(digest)`.
    #[serde(with = "base64_signature")]
    pub signature: [u8; 64],
}

impl PackageSignature {
    /// The `.sig` file's content: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).expect("strings and a byte array always serialize to JSON");
        json.push('\n');
        json
    }

    /// Reads a `.sig` file's content.
    pub fn from_json(json: &str) -> Result<PackageSignature, SigningError> {
        serde_json::from_str(json).map_err(|error| SigningError::InvalidSignatureFile { reason: error.to_string() })
    }
}

mod base64_signature {
    use super::BASE64;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8; 64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&BASE64.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 64], D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        let bytes = BASE64.decode(text.as_bytes()).map_err(|_| serde::de::Error::custom("`signature` is not valid base64"))?;
        bytes.try_into().map_err(|_| serde::de::Error::custom("`signature` is not 64 bytes long"))
    }
}

/// Why a key or signature was refused. Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// A secret key's text is malformed.
    #[error(
        "not a Socle secret key: {reason}; a secret key file holds one line \
         `socle-secret-key-ed25519:<base64>`, as written by `socle plugin keygen`"
    )]
    InvalidSecretKey {
        /// What is wrong.
        reason: String,
    },
    /// A public key's text is malformed or unsafe.
    #[error(
        "not an Ed25519 public key: {reason}; a public key is written `ed25519:<base64 of 32 \
         bytes>`, as printed by `socle plugin keygen`"
    )]
    InvalidPublicKey {
        /// What is wrong.
        reason: String,
    },
    /// The signature is for another package (or another build of it).
    #[error(
        "the signature is for package {signed} but this package is {package}: the package changed \
         after it was signed, or the .sig file belongs to another package; sign this package with \
         `socle plugin sign`, or download the package and its .sig file again"
    )]
    DigestMismatch {
        /// The digest the signature names.
        signed: Digest,
        /// The digest of the package at hand.
        package: Digest,
    },
    /// The signature names another key than the one it is checked with.
    #[error(
        "the package was signed with key {signed_with} but the publisher's current key is \
         {expected}: sign it again with `socle plugin sign` using the current key"
    )]
    KeyMismatch {
        /// The key id in the signature.
        signed_with: String,
        /// The id of the key used to verify.
        expected: String,
    },
    /// The signature bytes do not verify.
    #[error(
        "the signature of package {digest} by key {key_id} is not valid: the .sig file was altered \
         or damaged, or not made with that key; do not install the package — download it and its \
         .sig file again, or ask the publisher to sign it again with `socle plugin sign`"
    )]
    BadSignature {
        /// The key checked.
        key_id: String,
        /// The package's digest.
        digest: Digest,
    },
    /// A `.sig` file that is not a signature.
    #[error(
        "not a package signature file ({reason}): a .socle.sig file is the JSON written by \
         `socle plugin sign`, with `key_id`, `digest` and `signature`"
    )]
    InvalidSignatureFile {
        /// What is wrong, from the JSON parser.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_seed([n; 32])
    }

    #[test]
    fn sign_then_verify() {
        let key = key(1);
        let digest = Digest::of(b"package");
        let signature = key.sign(&digest);
        assert_eq!(signature.digest, digest);
        assert_eq!(signature.key_id, key.public().key_id());
        key.public().verify(&digest, &signature).unwrap();
        // Deterministic (Ed25519 signatures are).
        assert_eq!(key.sign(&digest), signature);
    }

    #[test]
    fn the_signed_message_is_domain_separated() {
        let digest = Digest::of(b"package");
        let message = signed_message(&digest);
        assert_eq!(message, format!("socle-package-signature-v1\n{digest}").into_bytes());
        let key = key(1);
        let raw = key.0.sign(digest.to_string().as_bytes());
        let undomained = PackageSignature { signature: raw.to_bytes(), ..key.sign(&digest) };
        assert!(matches!(key.public().verify(&digest, &undomained), Err(SigningError::BadSignature { .. })));
    }

    #[test]
    fn a_tampered_digest_fails_first() {
        let key = key(1);
        let digest = Digest::of(b"package");
        let signature = key.sign(&digest);
        let other = Digest::of(b"tampered package");
        let error = key.public().verify(&other, &signature).unwrap_err();
        assert_eq!(error, SigningError::DigestMismatch { signed: digest, package: other });
        assert!(error.to_string().contains(&digest.to_string()) && error.to_string().contains(&other.to_string()));

        // The digest field edited to match: the signature no longer verifies.
        let edited = PackageSignature { digest: other, ..signature };
        assert!(matches!(key.public().verify(&other, &edited), Err(SigningError::BadSignature { .. })));
    }

    #[test]
    fn another_key_is_named_in_the_error() {
        let (signer, current) = (key(1), key(2));
        let digest = Digest::of(b"package");
        let error = current.public().verify(&digest, &signer.sign(&digest)).unwrap_err();
        let (signed_with, expected) = (signer.public().key_id(), current.public().key_id());
        assert_eq!(error, SigningError::KeyMismatch { signed_with: signed_with.clone(), expected: expected.clone() });
        let text = error.to_string();
        assert!(text.contains(&signed_with) && text.contains(&expected) && text.contains("socle plugin sign"), "{text}");
    }

    #[test]
    fn a_signature_relabelled_with_another_key_id_fails() {
        let (signer, victim) = (key(1), key(2));
        let digest = Digest::of(b"package");
        let forged = PackageSignature { key_id: victim.public().key_id(), ..signer.sign(&digest) };
        let error = victim.public().verify(&digest, &forged).unwrap_err();
        assert!(matches!(error, SigningError::BadSignature { .. }), "{error:?}");
        assert!(error.to_string().contains("do not install"));
    }

    #[test]
    fn malleated_signatures_fail() {
        let key = key(1);
        let digest = Digest::of(b"package");
        let signature = key.sign(&digest);
        for bit in [0, 7, 100, 255, 256, 300, 511] {
            let mut flipped = signature.clone();
            flipped.signature[bit / 8] ^= 1 << (bit % 8);
            let error = key.public().verify(&digest, &flipped).unwrap_err();
            assert!(matches!(error, SigningError::BadSignature { .. }), "bit {bit}: {error:?}");
        }
        // s + ℓ: the classic malleation, equally valid under lax verification.
        const ELL: [u8; 32] =
            [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
        let mut malleated = signature.clone();
        let mut carry = 0u16;
        for (byte, ell) in malleated.signature[32..].iter_mut().zip(ELL) {
            let sum = u16::from(*byte) + u16::from(ell) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert!(matches!(key.public().verify(&digest, &malleated), Err(SigningError::BadSignature { .. })));
    }

    #[test]
    fn key_texts_round_trip() {
        let key = key(3);
        let text = key.to_text();
        assert!(text.starts_with("socle-secret-key-ed25519:"));
        assert_eq!(SecretKey::from_text(&format!("{text}\n")).unwrap().to_text(), text);

        let public = key.public();
        let text = public.to_string();
        assert!(text.starts_with("ed25519:") && text.len() == 8 + 44, "{text}");
        assert_eq!(text.parse::<PublicKey>().unwrap(), public);
        assert_eq!(serde_json::to_string(&public).unwrap(), format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<PublicKey>(&format!("\"{text}\"")).unwrap(), public);
        assert_eq!(format!("{public:?}"), format!("PublicKey({text})"));

        let id = public.key_id();
        assert_eq!(id.len(), 8 + 16);
        assert_eq!(id, format!("ed25519:{}", &hex::encode(Sha256::digest(public.to_bytes()))[..16]));
    }

    #[test]
    fn bad_key_texts_are_refused_without_echoing_secrets() {
        let secret = key(4).to_text();
        for bad in ["", "socle-secret-key-ed25519:!!!", "socle-secret-key-ed25519:AAAA", "ed25519:AAAA"] {
            let error = SecretKey::from_text(bad).unwrap_err();
            assert!(matches!(error, SigningError::InvalidSecretKey { .. }), "{error:?}");
            assert!(error.to_string().contains("socle plugin keygen"));
        }
        let error = secret.parse::<PublicKey>().unwrap_err();
        assert!(!error.to_string().contains(&secret[25..]), "{error}");
        assert!(error.to_string().contains("SECRET"));

        let key_id = key(4).public().key_id();
        assert!(key_id.parse::<PublicKey>().unwrap_err().to_string().contains("key id"));
        for bad in ["ed25519:", "ed25519:AAAA", "rsa:AAAA", "ed25519:@@@@"] {
            assert!(matches!(bad.parse::<PublicKey>(), Err(SigningError::InvalidPublicKey { .. })), "{bad}");
        }
        // The identity point: small order, "verifies" forged signatures under lax rules.
        let mut identity = [0; 32];
        identity[0] = 1;
        let error = format!("ed25519:{}", BASE64.encode(identity)).parse::<PublicKey>().unwrap_err();
        assert!(error.to_string().contains("weak"), "{error}");
    }

    #[test]
    fn generate_with_uses_the_callers_randomness() {
        let key = SecretKey::generate_with(|seed| seed.copy_from_slice(&[9; 32]));
        assert_eq!(key.to_text(), SecretKey::from_seed([9; 32]).to_text());
        let result = std::panic::catch_unwind(|| SecretKey::generate_with(|_| {}));
        assert!(result.is_err());
    }

    #[test]
    fn secret_key_debug_is_redacted() {
        let key = key(5);
        let debug = format!("{key:?}");
        let secret = &key.to_text()[SECRET_KEY_PREFIX.len()..];
        assert!(!debug.contains(secret), "{debug}");
        assert!(!debug.contains(&hex::encode([5u8; 32])), "{debug}");
        assert_eq!(debug, format!("SecretKey(<redacted>, key id {})", key.public().key_id()));
    }

    #[test]
    fn signature_files_round_trip() {
        let signature = key(6).sign(&Digest::of(b"package"));
        let json = signature.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["key_id"], signature.key_id.as_str());
        assert_eq!(value["digest"], signature.digest.to_string());
        assert_eq!(value["signature"], BASE64.encode(signature.signature));
        assert_eq!(PackageSignature::from_json(&json).unwrap(), signature);

        for bad in [
            "{}".to_string(),
            json.replace(&value["signature"].as_str().unwrap()[..8], "********"),
            json.replace(value["signature"].as_str().unwrap(), "AAAA"),
            json.replace("sha256:", "md5:"),
            json.replace("\"key_id\"", "\"extra\": 1, \"key_id\""),
        ] {
            let error = PackageSignature::from_json(&bad).unwrap_err();
            assert!(matches!(error, SigningError::InvalidSignatureFile { .. }), "{bad}: {error:?}");
            assert!(error.to_string().contains("socle plugin sign"));
        }
    }
}
