//! What every signed artifact shares: `meta` (version, signing time), the [`Artifact`]
//! trait that ties a document type to its payload type, schema version, signer role and
//! freshness rule, and the signature [`Envelope`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::json::{self, JsonError, MAX_SAFE_INTEGER};
use crate::verify::{DEFAULT_FRESHNESS_WINDOW_MINUTES, MAX_FRESHNESS_WINDOW_MINUTES};
use crate::{
    ArtifactKind, FLEET_SCHEMA_VERSION, FleetResolved, KeyId, REVOCATIONS_SCHEMA_VERSION,
    Revocations, SecretKey, SignatureAlgorithm, TRUST_ROOT_SCHEMA_VERSION, Timestamp, TrustRoot,
};

/// A monotonic artifact version: a lower one than already accepted is a rollback attack.
/// Bounded by 2^53 − 1 like every integer in an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Version(u64);

impl Version {
    /// The version `v`, if it fits in 53 bits.
    pub fn new(v: u64) -> Option<Self> {
        (v <= MAX_SAFE_INTEGER).then_some(Version(v))
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The next version, if there is one.
    pub fn next(self) -> Option<Self> {
        Version::new(self.0 + 1)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        Version::new(v)
            .ok_or_else(|| serde::de::Error::custom(format!("version {v} is above 2^53 - 1")))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Version and signing metadata carried inside every signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Meta {
    /// Monotonic version of this artifact kind.
    pub version: Version,
    /// When CI signed it (freshness is measured from here).
    pub signed_at: Timestamp,
    /// The fleet repository commit CI built from, if known.
    pub ci_commit: Option<String>,
    /// Always `ed25519`.
    pub signature_algorithm: SignatureAlgorithm,
}

/// Who may sign an artifact kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerRole {
    /// The offline org-root key (trust roots).
    OrgRoot,
    /// Release keys listed in the trust root (everything CI publishes).
    Release,
}

/// A document type that travels signed.
pub trait Artifact: Serialize + DeserializeOwned {
    /// Which of the four kinds it is (its key in a [`crate::VerifierState`]).
    const KIND: ArtifactKind;
    /// The envelope's `payloadType`; part of the signed message, so a signature over one
    /// kind of document can never be replayed as another.
    const PAYLOAD_TYPE: &'static str = Self::KIND.payload_type();
    /// The `schemaVersion` this build reads.
    const SCHEMA_VERSION: u32;
    /// Which key role signs it.
    const SIGNER: SignerRole;
    /// The document's metadata.
    fn meta(&self) -> &Meta;
    /// The freshness window in minutes that applies for `channel` (`None`: the strictest
    /// one the document defines), never above [`MAX_FRESHNESS_WINDOW_MINUTES`]; `Ok(None)`
    /// only for kinds that are not re-signed on a schedule (trust roots, policy bundles).
    fn freshness_window_minutes(&self, channel: Option<&str>) -> Result<Option<u32>, String>;
    /// Rules beyond the schema, checked before signing and after verifying.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

impl Artifact for FleetResolved {
    const KIND: ArtifactKind = ArtifactKind::Fleet;
    const SCHEMA_VERSION: u32 = FLEET_SCHEMA_VERSION;
    const SIGNER: SignerRole = SignerRole::Release;
    fn meta(&self) -> &Meta {
        &self.meta
    }
    /// A channel's own window; without a channel the strictest of all, and
    /// [`DEFAULT_FRESHNESS_WINDOW_MINUTES`] when the fleet has no channel at all (an empty
    /// set of windows is not "never stale").
    fn freshness_window_minutes(&self, channel: Option<&str>) -> Result<Option<u32>, String> {
        let window = match (
            channel,
            FleetResolved::freshness_window_minutes(self, channel),
        ) {
            (Some(name), None) => return Err(format!("the artifact has no channel `{name}`")),
            (None, None) => DEFAULT_FRESHNESS_WINDOW_MINUTES,
            (_, Some(window)) => window,
        };
        Ok(Some(window.min(MAX_FRESHNESS_WINDOW_MINUTES)))
    }
    fn check(&self) -> Result<(), String> {
        if self.snapshot.is_none() {
            return Err(
                "snapshot is null: a released fleet names the revocations it was released with"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

impl Artifact for Revocations {
    const KIND: ArtifactKind = ArtifactKind::Revocations;
    const SCHEMA_VERSION: u32 = REVOCATIONS_SCHEMA_VERSION;
    const SIGNER: SignerRole = SignerRole::Release;
    fn meta(&self) -> &Meta {
        &self.meta
    }
    /// The list's own window, bounded by the verifier-side [`MAX_FRESHNESS_WINDOW_MINUTES`]:
    /// a list signed with a window of years is still refreshed weekly.
    fn freshness_window_minutes(&self, _channel: Option<&str>) -> Result<Option<u32>, String> {
        Ok(Some(
            self.freshness_window_minutes
                .min(MAX_FRESHNESS_WINDOW_MINUTES),
        ))
    }
}

impl Artifact for TrustRoot {
    const KIND: ArtifactKind = ArtifactKind::TrustRoot;
    const SCHEMA_VERSION: u32 = TRUST_ROOT_SCHEMA_VERSION;
    const SIGNER: SignerRole = SignerRole::OrgRoot;
    fn meta(&self) -> &Meta {
        &self.meta
    }
    /// Trust roots are rotated deliberately, not re-signed on a schedule.
    fn freshness_window_minutes(&self, _channel: Option<&str>) -> Result<Option<u32>, String> {
        Ok(None)
    }
    fn check(&self) -> Result<(), String> {
        TrustRoot::check(self).map_err(|e| e.to_string())
    }
}

/// The signed file: the payload, its type, and one or more signatures over
/// [`signed_message`]`(payload_type, JCS(payload))`. Written in canonical form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// What the payload is (see [`Artifact::PAYLOAD_TYPE`]).
    pub payload_type: String,
    /// The document.
    pub payload: serde_json::Value,
    /// Signatures; each key counts once towards a threshold.
    pub signatures: Vec<SignatureEntry>,
}

/// One signature in an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureEntry {
    /// The signing key's id.
    pub key_id: KeyId,
    /// The algorithm; only `ed25519` is accepted.
    pub algorithm: String,
    /// The 64-byte signature, strict standard base64.
    pub signature: String,
}

/// The exact bytes a signature covers: a length-prefixed pre-authentication encoding (as
/// in DSSE) of a domain tag, the payload type and the canonical payload, so that no two
/// (type, payload) pairs share a message.
pub fn signed_message(payload_type: &str, canonical_payload: &[u8]) -> Vec<u8> {
    const DOMAIN: &str = "convoy-signature-v1";
    let mut out = Vec::with_capacity(canonical_payload.len() + 128);
    for part in [
        DOMAIN.as_bytes(),
        payload_type.as_bytes(),
        canonical_payload,
    ] {
        out.extend_from_slice(part.len().to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(part);
        out.push(b' ');
    }
    out
}

/// Why an artifact could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The document does not canonicalise (e.g. an integer above 2^53).
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The document breaks a rule of its kind.
    #[error("refusing to sign an invalid {payload_type}: {reason}")]
    Invalid {
        /// The artifact kind.
        payload_type: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// No signing key given.
    #[error("no signing key given")]
    NoKey,
}

/// Signs `artifact` with every key in `keys` and returns the canonical envelope bytes that
/// get published.
pub fn sign<T: Artifact>(artifact: &T, keys: &[&SecretKey]) -> Result<Vec<u8>, SignError> {
    if keys.is_empty() {
        return Err(SignError::NoKey);
    }
    artifact.check().map_err(|reason| SignError::Invalid {
        payload_type: T::PAYLOAD_TYPE,
        reason,
    })?;
    let canonical_payload = canonical_payload(artifact)?;
    let message = signed_message(T::PAYLOAD_TYPE, &canonical_payload);
    let signatures: Vec<SignatureEntry> = keys
        .iter()
        .map(|key| SignatureEntry {
            key_id: key.key_id(),
            algorithm: "ed25519".to_owned(),
            signature: B64.encode(key.sign(&message)),
        })
        .collect();
    let mut out = ENVELOPE_PREFIX.to_vec();
    out.extend_from_slice(&canonical_payload);
    out.extend_from_slice(&envelope_suffix(T::PAYLOAD_TYPE, &signatures)?);
    Ok(out)
}

/// The canonical (RFC 8785) bytes of an artifact's payload: what its signatures cover.
pub fn canonical_payload<T: Artifact>(artifact: &T) -> Result<Vec<u8>, JsonError> {
    let payload =
        serde_json::to_value(artifact).map_err(|e| JsonError::Canonicalise(e.to_string()))?;
    json::canonical_value_bytes(&payload)
}

/// The version and canonical payload sha256 of an artifact about to be signed: what a
/// verifier state records and a fleet's snapshot binding names.
pub fn pin_of_unsigned<T: Artifact>(artifact: &T) -> Result<crate::ArtifactPin, JsonError> {
    Ok(crate::ArtifactPin {
        version: artifact.meta().version,
        payload_sha256: crate::Sha256Digest::of(&canonical_payload(artifact)?),
    })
}

/// The canonical envelope is `{"payload":<JCS(payload)>,"payloadType":..,"signatures":..}`
/// (its three keys sort in that order), so the payload's canonical bytes can be spliced in
/// when signing and sliced out when verifying, instead of canonicalising the tree twice.
pub(crate) const ENVELOPE_PREFIX: &[u8] = b"{\"payload\":";

/// Everything after the payload in a canonical envelope.
pub(crate) fn envelope_suffix(
    payload_type: &str,
    signatures: &[SignatureEntry],
) -> Result<Vec<u8>, JsonError> {
    let mut out = b",\"payloadType\":".to_vec();
    out.extend_from_slice(&json::canonical_bytes(payload_type)?);
    out.extend_from_slice(b",\"signatures\":");
    out.extend_from_slice(&json::canonical_bytes(signatures)?);
    out.push(b'}');
    Ok(out)
}
