//! Convoy's protocol crate: the artifact schemas every other crate speaks through, their
//! canonical bytes (RFC 8785), Ed25519 signing, and the one verification pipeline.
//!
//! The main types are [`FleetResolved`] (the signed desired state), [`TrustRoot`] (which
//! release keys may sign, signed by the org root), [`Revocations`], the [`Selector`]
//! algebra, the signature [`Envelope`] and [`Verified`], which only
//! [`verify_trust_root`] and [`verify_artifact`] can construct. This crate does no I/O and
//! reads no clock: time is an input.
//!
//! ```
//! use convoy_proto::*;
//! let org = SecretKey::generate();
//! let release = SecretKey::generate();
//! let now: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
//! let root = TrustRoot::single(&org, &release, now);
//! let root_bytes = sign(&root, &[&org]).unwrap();
//! let opts = VerifyOptions::at(now);
//! let root = verify_trust_root(&root_bytes, &org.public_key(), &opts).unwrap();
//! assert_eq!(root.release_keys.len(), 1);
//! ```
#![forbid(unsafe_code)]

/// Serialises a type as its `Display` string and deserialises it with its `FromStr`, so
/// that parsing at the edge and in JSON are the same code.
macro_rules! serde_via_str {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_via_str;

mod artifact;
mod digest;
mod fleet;
pub mod json;
mod keys;
pub mod policy_bundle;
mod revocations;
mod selector;
mod timestamp;
mod trust;
mod verify;

pub use artifact::{
    Artifact, Envelope, Meta, SignError, SignatureEntry, SignerRole, Version, sign, signed_message,
};
pub use digest::{DigestParseError, Sha256Digest};
pub use fleet::{
    Channel, ClosureHash, ClosureHashParseError, DisruptionBudget, Edge, FLEET_SCHEMA_VERSION,
    FleetDocument, FleetResolved, HealthGate, Host, NamedHost, OnHealthFailure, Pin, PolicyKind,
    PolicyRef, RolloutPolicy, Strategy, UnsignedFleet, Wave,
};
pub use keys::{KeyError, KeyId, PublicKey, PublicKeyFile, SecretKey, SignatureAlgorithm};
pub use revocations::{REVOCATIONS_SCHEMA_VERSION, Revocation, RevocationList, Revocations};
pub use selector::{Selector, SelectorSubject, True};
pub use timestamp::{Timestamp, TimestampParseError};
pub use trust::{KeyEntry, ReleaseKey, TRUST_ROOT_SCHEMA_VERSION, TrustRoot, TrustRootError};
pub use verify::{
    Accepted, DEFAULT_CLOCK_SKEW_SECS, MAX_CLOCK_SKEW_SECS, Verified, VerifyError, VerifyOptions,
    check_content_hash, verify_artifact, verify_trust_root,
};

/// Parses a typed document (an unsigned fleet, a revocation list, a key file …) from strict
/// JSON, with the same duplicate-key, integer-range and unknown-field rules as verification.
pub fn parse_document<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, VerifyError> {
    verify::parse_typed(json::parse_strict(bytes)?)
}
