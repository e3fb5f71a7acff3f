//! Ed25519 keys, their ids, and the key files that `convoy keygen` writes.
//!
//! A key id is derived from the public key (`sha256(public key)`, first 8 bytes in hex), so
//! an id can never name two different keys and a trust root cannot mislabel one.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::Sha256Digest;

/// The only signature algorithm Convoy accepts (named in envelopes, key files and `meta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032), verified strictly (no small-order keys, canonical `S`).
    #[serde(rename = "ed25519")]
    Ed25519,
}

/// Identifier of a public key: 16 lowercase hex characters derived from the key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// Why a key (or key file) could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The base64 text is not strict standard base64 of 32 bytes.
    #[error("{what} is not base64 of 32 bytes")]
    Encoding {
        /// Which field.
        what: &'static str,
    },
    /// The public key is not a valid (or is a weak, small-order) Ed25519 point.
    #[error("public key is not a valid Ed25519 key")]
    InvalidPublicKey,
    /// The key id written next to a key does not match the key.
    #[error("key id `{stated}` does not match its key (whose id is `{actual}`)")]
    IdMismatch {
        /// The id the file or trust root states.
        stated: String,
        /// The id derived from the key.
        actual: String,
    },
    /// A key file that does not parse.
    #[error("key file: {0}")]
    File(String),
}

/// An Ed25519 public key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses strict base64 of the 32-byte key, refusing weak (small-order) points.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = B64
            .decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::Encoding { what: "public key" })?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(KeyError::InvalidPublicKey);
        }
        Ok(PublicKey(key))
    }

    /// The key as base64.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0.as_bytes())
    }

    /// The id derived from this key.
    pub fn key_id(&self) -> KeyId {
        let digest = Sha256Digest::of(self.0.as_bytes()).to_string();
        KeyId(digest[..16].to_owned())
    }

    /// Strict Ed25519 verification of `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PublicKey::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 private key. Its `Debug` never prints the secret.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        SecretKey(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The id of the matching public key.
    pub fn key_id(&self) -> KeyId {
        self.public_key().key_id()
    }

    /// An Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The private key file (canonical JSON); write it with mode 0600.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let file = SecretKeyFile {
            algorithm: SignatureAlgorithm::Ed25519,
            key_id: self.key_id(),
            secret_key: B64.encode(self.0.to_bytes()),
        };
        crate::json::canonical_bytes(&file).unwrap_or_default()
    }

    /// Parses a private key file written by [`SecretKey::to_file_bytes`].
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let file: SecretKeyFile = parse_key_file(bytes)?;
        let seed: [u8; 32] = B64
            .decode(&file.secret_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::Encoding { what: "secret key" })?;
        let key = SecretKey(SigningKey::from_bytes(&seed));
        check_id(&file.key_id, &key.key_id())?;
        Ok(key)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.key_id())
    }
}

/// The public key file (`*.pub`) that `convoy keygen` writes beside the private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublicKeyFile {
    /// Always `ed25519`.
    pub algorithm: SignatureAlgorithm,
    /// The id derived from `public_key`.
    pub key_id: KeyId,
    /// The key.
    pub public_key: PublicKey,
}

impl PublicKeyFile {
    /// The file for `key`.
    pub fn new(key: PublicKey) -> Self {
        PublicKeyFile {
            algorithm: SignatureAlgorithm::Ed25519,
            key_id: key.key_id(),
            public_key: key,
        }
    }

    /// Canonical JSON bytes of the file.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        crate::json::canonical_bytes(self).unwrap_or_default()
    }

    /// Parses a public key file and checks that its id matches its key.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let file: PublicKeyFile = parse_key_file(bytes)?;
        check_id(&file.key_id, &file.public_key.key_id())?;
        Ok(file)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SecretKeyFile {
    algorithm: SignatureAlgorithm,
    key_id: KeyId,
    secret_key: String,
}

fn parse_key_file<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, KeyError> {
    let value = crate::json::parse_strict(bytes).map_err(|e| KeyError::File(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| KeyError::File(e.to_string()))
}

fn check_id(stated: &KeyId, actual: &KeyId) -> Result<(), KeyError> {
    if stated == actual {
        Ok(())
    } else {
        Err(KeyError::IdMismatch {
            stated: stated.0.clone(),
            actual: actual.0.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_check_their_id() {
        let key = SecretKey::generate();
        let back = SecretKey::from_file_bytes(&key.to_file_bytes()).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        let public = PublicKeyFile::new(key.public_key());
        assert_eq!(
            PublicKeyFile::from_file_bytes(&public.to_file_bytes()).unwrap(),
            public
        );

        let other = SecretKey::generate().key_id();
        let forged = String::from_utf8(public.to_file_bytes())
            .unwrap()
            .replace(public.key_id.as_str(), other.as_str());
        assert!(matches!(
            PublicKeyFile::from_file_bytes(forged.as_bytes()),
            Err(KeyError::IdMismatch { .. })
        ));
        assert!(!format!("{key:?}").contains(&B64.encode(key.0.to_bytes())));
    }

    #[test]
    fn weak_public_keys_are_refused() {
        // The identity point (small order) would accept forged signatures on some messages.
        let identity = B64.encode({
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        });
        assert_eq!(
            PublicKey::from_base64(&identity),
            Err(KeyError::InvalidPublicKey)
        );
    }
}
