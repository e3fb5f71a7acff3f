//! Convoy's protocol crate: the artifact schemas every other crate speaks through, their
//! canonical bytes (RFC 8785), Ed25519 signing, and the one verification pipeline.
//!
//! The main types are [`FleetResolved`] (the signed desired state), [`TrustRoot`] (which
//! release keys may sign, signed by the org root), [`Revocations`], the [`Selector`]
//! algebra, the signature [`Envelope`] and [`Verified`], which only
//! [`verify_trust_root`] and [`verify_artifact`] can construct. Each of the four kinds is an
//! [`ArtifactKind`]; the [`VerifierState`] every verifier keeps holds the highest version
//! and payload hash accepted per kind (anti-rollback and equivocation across restarts).
//!
//! Verification itself does no I/O and reads no clock: time is an input. The I/O edge is
//! small and separate: [`read`] (bounded reads of outside input), [`StateFile`] (the
//! atomically written verifier state) and [`published`] (the trust anchor and the artifact
//! directory `convoy-release` writes, verified as one release set) — the library the
//! control plane, the agent, the CLI and the release tool all load files through.
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
mod kind;
pub mod policy_bundle;
pub mod published;
pub mod read;
mod revocations;
mod selector;
mod state;
mod timestamp;
mod trust;
mod verify;

/// An error and its causes on one line, each said once: a cause whose text the message
/// already contains is not repeated. The CLIs print refusals this way.
pub fn error_chain_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = String::new();
    let mut cause = Some(err);
    while let Some(e) = cause {
        let text = e.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        cause = e.source();
    }
    message
}

pub use artifact::{
    Artifact, Envelope, Meta, SignError, SignatureEntry, SignerRole, Version, canonical_payload,
    pin_of_unsigned, sign, signed_message,
};
pub use digest::{DigestParseError, Sha256Digest};
pub use fleet::{
    Channel, ClosureHash, ClosureHashParseError, DisruptionBudget, Edge, FLEET_SCHEMA_VERSION,
    FleetDocument, FleetResolved, HealthGate, Host, NamedHost, OnHealthFailure, Pin, PolicyKind,
    PolicyRef, RolloutPolicy, Snapshot, Strategy, UnsignedFleet, Wave,
};
pub use keys::{KeyError, KeyId, PublicKey, PublicKeyFile, SecretKey, SignatureAlgorithm};
pub use kind::{ArtifactKind, ArtifactKindParseError};
pub use revocations::{REVOCATIONS_SCHEMA_VERSION, Revocation, RevocationList, Revocations};
pub use selector::{Selector, SelectorSubject, True};
pub use state::{ArtifactPin, STATE_SCHEMA_VERSION, StateError, StateFile, VerifierState};
pub use timestamp::{Timestamp, TimestampParseError};
pub use trust::{KeyEntry, ReleaseKey, TRUST_ROOT_SCHEMA_VERSION, TrustRoot, TrustRootError};
pub use verify::{
    Accepted, DEFAULT_CLOCK_SKEW_SECS, DEFAULT_FRESHNESS_WINDOW_MINUTES, MAX_CLOCK_SKEW_SECS,
    MAX_FRESHNESS_WINDOW_MINUTES, PinMismatch, Verified, VerifyError, VerifyOptions,
    check_content_hash, verify_artifact, verify_trust_root,
};

/// Parses a typed document (an unsigned fleet, a revocation list, a key file …) from strict
/// JSON, with the same duplicate-key, integer-range and unknown-field rules as verification.
pub fn parse_document<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, VerifyError> {
    verify::parse_typed(json::parse_strict(bytes)?)
}
