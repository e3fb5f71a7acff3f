//! The verification pipeline. [`verify_trust_root`] and [`verify_artifact`] are the only
//! ways to obtain a [`Verified`] document; each step refuses with a [`VerifyError`] that
//! names exactly what failed.
//!
//! Order: size and strict JSON (duplicate keys, integer range, surrogates) → canonical form
//! → optional pinned content hash → envelope shape → payload type → signatures against the
//! signer role's keys (threshold, each key once) → schema version → typed payload (unknown
//! fields refused) → the kind's own rules → key validity windows (at `signedAt` and now) →
//! not future-dated → not stale → not a rollback.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::artifact::{
    Artifact, ENVELOPE_PREFIX, Envelope, SignerRole, envelope_suffix, signed_message,
};
use crate::json::{self, JsonError};
use crate::{
    ArtifactKind, ArtifactPin, KeyId, PublicKey, Sha256Digest, Timestamp, TrustRoot, VerifierState,
    Version,
};

/// The largest clock skew a verifier may be configured to tolerate.
pub const MAX_CLOCK_SKEW_SECS: u64 = 15 * 60;

/// The freshness window of a fleet that has no channel to narrow it (the same as
/// `mkFleet`'s default channel window): freshness never fails open.
pub const DEFAULT_FRESHNESS_WINDOW_MINUTES: u32 = 180;

/// The verifier-side bound on every freshness window (7 days), whatever the signed
/// document says: a revocation list or channel signed with a window of years is still
/// refused once it is a week old.
pub const MAX_FRESHNESS_WINDOW_MINUTES: u32 = 7 * 24 * 60;

/// The clock skew tolerated by default.
pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 5 * 60;

/// Why an artifact was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not strict, canonical JSON (includes duplicate keys and out-of-range integers).
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The canonical bytes do not hash to the pinned digest.
    #[error("content hash mismatch for {what}: expected sha256 {expected}, got {actual}")]
    ContentHashMismatch {
        /// What was hashed.
        what: String,
        /// The pinned digest.
        expected: Sha256Digest,
        /// The digest of what arrived.
        actual: Sha256Digest,
    },
    /// The envelope itself is malformed.
    #[error("malformed signature envelope: {0}")]
    Envelope(String),
    /// A valid envelope around a different kind of document.
    #[error("wrong payload type: expected `{expected}`, found `{found}`")]
    WrongPayloadType {
        /// The type asked for.
        expected: &'static str,
        /// The type in the envelope.
        found: String,
    },
    /// The envelope carries no signature.
    #[error("the envelope carries no signature")]
    NoSignatures,
    /// A signature by a key this verifier does not know.
    #[error("signed by unknown key `{key_id}`")]
    UnknownKey {
        /// The key id named in the envelope.
        key_id: KeyId,
    },
    /// A signature algorithm other than ed25519.
    #[error("signature by `{key_id}` uses unsupported algorithm `{algorithm}`")]
    UnsupportedAlgorithm {
        /// The key id.
        key_id: KeyId,
        /// The algorithm named.
        algorithm: String,
    },
    /// A known key, but the signature does not verify (tampered payload or signature).
    #[error("bad signature by key `{key_id}`")]
    BadSignature {
        /// The key id.
        key_id: KeyId,
    },
    /// The signing key is outside its validity window.
    #[error("key `{key_id}` is not valid at {at} ({which}); its window is {not_before} .. {}", not_after.map(|t| t.to_string()).unwrap_or_else(|| "open".into()))]
    KeyOutsideValidity {
        /// The key id.
        key_id: KeyId,
        /// Start of the window.
        not_before: Timestamp,
        /// End of the window.
        not_after: Option<Timestamp>,
        /// The instant checked.
        at: Timestamp,
        /// `signedAt` or `now`.
        which: &'static str,
    },
    /// Fewer distinct valid signatures than the trust root's threshold.
    #[error("{valid} valid signature(s) from distinct keys, {required} required")]
    ThresholdNotMet {
        /// Distinct keys whose signatures verified.
        valid: usize,
        /// The threshold.
        required: usize,
    },
    /// A trust root that names another org-root key than the pinned one.
    #[error("trust root names org-root key `{found}`, but `{pinned}` is pinned")]
    OrgRootMismatch {
        /// The pinned key's id.
        pinned: KeyId,
        /// The key id in the trust root.
        found: KeyId,
    },
    /// `schemaVersion` is not the one this build reads.
    #[error("wrong schema version {}: this build reads version {expected}", found.map_or_else(|| "(absent or not a number)".to_owned(), |v| v.to_string()))]
    WrongSchemaVersion {
        /// What the payload says (`None` if absent or not a number).
        found: Option<u64>,
        /// What this build reads.
        expected: u32,
    },
    /// A field the schema does not have.
    #[error("unknown field `{field}` at {path}")]
    UnknownField {
        /// JSON path of the object.
        path: String,
        /// The field.
        field: String,
    },
    /// The payload does not match the schema.
    #[error("schema violation at {path}: {message}")]
    Schema {
        /// JSON path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The payload breaks a rule of its kind.
    #[error("invalid {payload_type}: {reason}")]
    Invalid {
        /// The artifact kind.
        payload_type: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Signed further in the future than the clock skew allows.
    #[error("future-dated: signed at {signed_at}, now is {now}, tolerated skew {skew_secs}s")]
    FutureDated {
        /// `meta.signedAt`.
        signed_at: Timestamp,
        /// The verifier's clock.
        now: Timestamp,
        /// The tolerated skew.
        skew_secs: u64,
    },
    /// Older than the freshness window plus the skew: a freeze attack, or CI stopped signing.
    #[error(
        "stale: signed at {signed_at}, now is {now}, freshness window {window_minutes} min + {skew_secs}s skew"
    )]
    Stale {
        /// `meta.signedAt`.
        signed_at: Timestamp,
        /// The verifier's clock.
        now: Timestamp,
        /// The window that applied.
        window_minutes: u32,
        /// The tolerated skew.
        skew_secs: u64,
    },
    /// A lower version than one already accepted.
    #[error("rollback: version {version} is lower than the accepted version {highest}")]
    Rollback {
        /// The artifact's version.
        version: Version,
        /// The highest version accepted before.
        highest: Version,
    },
    /// The same version as one already accepted, with different content.
    #[error("equivocation: version {version} was already accepted with different content")]
    Equivocation {
        /// The version.
        version: Version,
    },
    /// The configured skew is above [`MAX_CLOCK_SKEW_SECS`].
    #[error("clock skew {0}s is above the {MAX_CLOCK_SKEW_SECS}s limit")]
    SkewTooLarge(u64),
    /// The fleet's snapshot binding names another revocations list or policy bundle than
    /// the one verified next to it (a mix-and-match of releases).
    #[error("{0}")]
    SnapshotMismatch(Box<PinMismatch>),
}

/// What a fleet's snapshot binding names, against what was given beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("snapshot mismatch: the fleet was released with {kind} {}, but {} was given", describe_pin(expected.as_ref()), describe_pin(found.as_ref()))]
pub struct PinMismatch {
    /// Which artifact of the set.
    pub kind: ArtifactKind,
    /// What the fleet names (`None`: the release published none).
    pub expected: Option<ArtifactPin>,
    /// What was given (`None`: none).
    pub found: Option<ArtifactPin>,
}

fn describe_pin(pin: Option<&ArtifactPin>) -> String {
    match pin {
        Some(p) => format!(
            "version {} (payload sha256 {})",
            p.version, p.payload_sha256
        ),
        None => "none".to_owned(),
    }
}

impl VerifyError {
    /// A stable, kebab-case name of the failure, for scripts (`convoy verify --json`).
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Json(e) => match e {
                JsonError::Syntax { .. } => "malformed-json",
                JsonError::LoneSurrogate { .. } => "lone-surrogate",
                JsonError::DuplicateKey { .. } => "duplicate-key",
                JsonError::IntegerOutOfRange { .. } => "integer-out-of-range",
                JsonError::TooLarge { .. } => "too-large",
                JsonError::NonCanonical { .. } => "non-canonical",
                JsonError::Canonicalise(_) => "not-canonicalisable",
            },
            VerifyError::ContentHashMismatch { .. } => "content-hash-mismatch",
            VerifyError::Envelope(_) => "malformed-envelope",
            VerifyError::WrongPayloadType { .. } => "wrong-payload-type",
            VerifyError::NoSignatures => "no-signatures",
            VerifyError::UnknownKey { .. } => "unknown-key",
            VerifyError::UnsupportedAlgorithm { .. } => "unsupported-algorithm",
            VerifyError::BadSignature { .. } => "bad-signature",
            VerifyError::KeyOutsideValidity { .. } => "key-outside-validity",
            VerifyError::ThresholdNotMet { .. } => "threshold-not-met",
            VerifyError::OrgRootMismatch { .. } => "org-root-mismatch",
            VerifyError::WrongSchemaVersion { .. } => "wrong-schema-version",
            VerifyError::UnknownField { .. } => "unknown-field",
            VerifyError::Schema { .. } => "schema-violation",
            VerifyError::Invalid { .. } => "invalid",
            VerifyError::FutureDated { .. } => "future-dated",
            VerifyError::Stale { .. } => "stale",
            VerifyError::Rollback { .. } => "rollback",
            VerifyError::Equivocation { .. } => "equivocation",
            VerifyError::SkewTooLarge(_) => "skew-too-large",
            VerifyError::SnapshotMismatch(_) => "snapshot-mismatch",
        }
    }

    /// Every code [`code`](Self::code) can return, in pipeline order (what
    /// `docs/trust-model.md` documents; a test keeps the two in step).
    pub const CODES: &'static [&'static str] = &[
        "too-large",
        "malformed-json",
        "lone-surrogate",
        "duplicate-key",
        "integer-out-of-range",
        "non-canonical",
        "not-canonicalisable",
        "content-hash-mismatch",
        "malformed-envelope",
        "wrong-payload-type",
        "no-signatures",
        "unknown-key",
        "unsupported-algorithm",
        "bad-signature",
        "threshold-not-met",
        "org-root-mismatch",
        "wrong-schema-version",
        "unknown-field",
        "schema-violation",
        "invalid",
        "key-outside-validity",
        "future-dated",
        "stale",
        "rollback",
        "equivocation",
        "skew-too-large",
        "snapshot-mismatch",
    ];
}

/// The version and content of the artifact a verifier accepted last (its anti-rollback state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Its version.
    pub version: Version,
    /// The sha256 of its canonical payload; when known, the same version with other content
    /// is refused as equivocation.
    pub payload_sha256: Option<Sha256Digest>,
}

/// The verifier's inputs besides the bytes and the keys.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    now: Timestamp,
    skew_secs: u64,
    channel: Option<String>,
    last_accepted: Option<Accepted>,
    state: Option<VerifierState>,
    expected_sha256: Option<Sha256Digest>,
}

impl VerifyOptions {
    /// Verify as of `now`, with the default skew, the strictest freshness window, and no
    /// anti-rollback state.
    pub fn at(now: Timestamp) -> Self {
        VerifyOptions {
            now,
            skew_secs: DEFAULT_CLOCK_SKEW_SECS,
            channel: None,
            last_accepted: None,
            state: None,
            expected_sha256: None,
        }
    }

    /// Tolerate `secs` of clock skew (at most [`MAX_CLOCK_SKEW_SECS`]).
    pub fn clock_skew(mut self, secs: u64) -> Result<Self, VerifyError> {
        if secs > MAX_CLOCK_SKEW_SECS {
            return Err(VerifyError::SkewTooLarge(secs));
        }
        self.skew_secs = secs;
        Ok(self)
    }

    /// Apply `channel`'s freshness window (an agent verifies for its own channel).
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// Refuse anything older than (or equivocating with) what was accepted last.
    pub fn last_accepted(mut self, accepted: Accepted) -> Self {
        self.last_accepted = Some(accepted);
        self
    }

    /// Refuse anything older than (or equivocating with) what `state` accepted of the
    /// artifact's kind. The state is only read: the caller records what passed.
    pub fn state(mut self, state: &VerifierState) -> Self {
        self.state = Some(state.clone());
        self
    }

    /// Require the envelope bytes to hash to `digest` (an artifact pinned by a receipt,
    /// a git ref or an index).
    pub fn expect_sha256(mut self, digest: Sha256Digest) -> Self {
        self.expected_sha256 = Some(digest);
        self
    }

    /// The instant verification is done at.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// The tolerated clock skew in seconds.
    pub fn skew_secs(&self) -> u64 {
        self.skew_secs
    }
}

/// A document that passed every check. Only this module constructs it.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    value: T,
    payload_sha256: Sha256Digest,
    envelope_sha256: Sha256Digest,
    signed_by: Vec<KeyId>,
    freshness_window_minutes: Option<u32>,
}

impl<T> Verified<T> {
    /// The sha256 of the canonical payload (what receipts and anti-rollback state record).
    pub fn payload_sha256(&self) -> Sha256Digest {
        self.payload_sha256
    }
    /// The sha256 of the envelope file as published.
    pub fn envelope_sha256(&self) -> Sha256Digest {
        self.envelope_sha256
    }
    /// The keys whose valid signatures counted, sorted.
    pub fn signed_by(&self) -> &[KeyId] {
        &self.signed_by
    }
    /// The freshness window that was applied, if the kind has one.
    pub fn freshness_window_minutes(&self) -> Option<u32> {
        self.freshness_window_minutes
    }
    /// Anti-rollback state to pass to the next verification.
    pub fn accepted(&self) -> Accepted
    where
        T: Artifact,
    {
        Accepted {
            version: self.value.meta().version,
            payload_sha256: Some(self.payload_sha256),
        }
    }
}

impl<T> std::ops::Deref for Verified<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Verifies a trust root against the pinned org-root public key.
pub fn verify_trust_root(
    bytes: &[u8],
    org_root: &PublicKey,
    options: &VerifyOptions,
) -> Result<Verified<TrustRoot>, VerifyError> {
    let verified = verify_with::<TrustRoot>(bytes, Signers::OrgRoot(org_root), options)?;
    if verified.org_root.key_id != org_root.key_id() {
        return Err(VerifyError::OrgRootMismatch {
            pinned: org_root.key_id(),
            found: verified.org_root.key_id.clone(),
        });
    }
    Ok(verified)
}

/// Verifies an artifact signed by release keys of a verified trust root.
pub fn verify_artifact<T: Artifact>(
    bytes: &[u8],
    trust_root: &Verified<TrustRoot>,
    options: &VerifyOptions,
) -> Result<Verified<T>, VerifyError> {
    match T::SIGNER {
        SignerRole::Release => verify_with::<T>(bytes, Signers::Release(trust_root), options),
        SignerRole::OrgRoot => Err(VerifyError::Envelope(format!(
            "{} is signed by the org root; use verify_trust_root",
            T::PAYLOAD_TYPE
        ))),
    }
}

/// Checks that `bytes` hash to `expected` (a component, a closure listing, a pinned file).
pub fn check_content_hash(
    what: &str,
    bytes: &[u8],
    expected: &Sha256Digest,
) -> Result<(), VerifyError> {
    let actual = Sha256Digest::of(bytes);
    if &actual == expected {
        Ok(())
    } else {
        Err(VerifyError::ContentHashMismatch {
            what: what.to_owned(),
            expected: *expected,
            actual,
        })
    }
}

enum Signers<'a> {
    OrgRoot(&'a PublicKey),
    Release(&'a TrustRoot),
}

impl Signers<'_> {
    fn key(&self, id: &KeyId) -> Option<&PublicKey> {
        match self {
            Signers::OrgRoot(key) => (key.key_id() == *id).then_some(*key),
            Signers::Release(root) => root.release_key(id).map(|k| &k.public_key),
        }
    }

    fn threshold(&self) -> usize {
        match self {
            Signers::OrgRoot(_) => 1,
            Signers::Release(root) => root.release_threshold.max(1) as usize,
        }
    }

    /// The window check of one signing key at `at`; the org root has no window.
    fn check_window(
        &self,
        id: &KeyId,
        at: Timestamp,
        which: &'static str,
    ) -> Result<(), VerifyError> {
        let Signers::Release(root) = self else {
            return Ok(());
        };
        match root.release_key(id) {
            Some(key) if !key.valid_at(at) => Err(VerifyError::KeyOutsideValidity {
                key_id: id.clone(),
                not_before: key.not_before,
                not_after: key.not_after,
                at,
                which,
            }),
            _ => Ok(()),
        }
    }
}

fn verify_with<T: Artifact>(
    bytes: &[u8],
    signers: Signers,
    options: &VerifyOptions,
) -> Result<Verified<T>, VerifyError> {
    let value = json::parse_canonical(bytes)?;
    let envelope_sha256 = Sha256Digest::of(bytes);
    if let Some(expected) = options.expected_sha256 {
        check_content_hash(T::PAYLOAD_TYPE, bytes, &expected)?;
    }
    let envelope: Envelope =
        serde_json::from_value(value).map_err(|e| VerifyError::Envelope(e.to_string()))?;
    if envelope.payload_type != T::PAYLOAD_TYPE {
        return Err(VerifyError::WrongPayloadType {
            expected: T::PAYLOAD_TYPE,
            found: envelope.payload_type,
        });
    }

    // The file is canonical, so the payload's canonical bytes are a slice of it.
    let suffix = envelope_suffix(&envelope.payload_type, &envelope.signatures)?;
    let canonical_payload = bytes
        .strip_prefix(ENVELOPE_PREFIX)
        .and_then(|rest| rest.strip_suffix(suffix.as_slice()))
        .ok_or_else(|| {
            VerifyError::Envelope("payload is not the envelope's first member".into())
        })?;
    let signers_ok = check_signatures(&envelope, canonical_payload, &signers)?;

    let found = envelope
        .payload
        .get("schemaVersion")
        .and_then(|v| v.as_u64());
    if found != Some(u64::from(T::SCHEMA_VERSION)) {
        return Err(VerifyError::WrongSchemaVersion {
            found,
            expected: T::SCHEMA_VERSION,
        });
    }
    let value: T = parse_typed(envelope.payload)?;
    value.check().map_err(|reason| VerifyError::Invalid {
        payload_type: T::PAYLOAD_TYPE,
        reason,
    })?;

    let meta = value.meta();
    for id in &signers_ok {
        signers.check_window(id, meta.signed_at, "signedAt")?;
        signers.check_window(id, options.now, "now")?;
    }

    let skew = options.skew_secs;
    if meta.signed_at > options.now.plus_secs(skew) {
        return Err(VerifyError::FutureDated {
            signed_at: meta.signed_at,
            now: options.now,
            skew_secs: skew,
        });
    }
    let window = value
        .freshness_window_minutes(options.channel.as_deref())
        .map_err(|reason| VerifyError::Invalid {
            payload_type: T::PAYLOAD_TYPE,
            reason,
        })?;
    if let Some(window_minutes) = window {
        let deadline = meta
            .signed_at
            .plus_secs(u64::from(window_minutes) * 60 + skew);
        if options.now > deadline {
            return Err(VerifyError::Stale {
                signed_at: meta.signed_at,
                now: options.now,
                window_minutes,
                skew_secs: skew,
            });
        }
    }

    let payload_sha256 = Sha256Digest::of(canonical_payload);
    if let Some(state) = &options.state {
        state.check(T::KIND, meta.version, payload_sha256)?;
    }
    if let Some(last) = options.last_accepted {
        if meta.version < last.version {
            return Err(VerifyError::Rollback {
                version: meta.version,
                highest: last.version,
            });
        }
        if meta.version == last.version
            && last
                .payload_sha256
                .is_some_and(|known| known != payload_sha256)
        {
            return Err(VerifyError::Equivocation {
                version: meta.version,
            });
        }
    }

    Ok(Verified {
        value,
        payload_sha256,
        envelope_sha256,
        signed_by: signers_ok.into_iter().collect(),
        freshness_window_minutes: window,
    })
}

/// Verifies every signature; returns the distinct keys with valid signatures, or the most
/// telling error when they do not reach the threshold.
fn check_signatures(
    envelope: &Envelope,
    canonical_payload: &[u8],
    signers: &Signers,
) -> Result<BTreeSet<KeyId>, VerifyError> {
    if envelope.signatures.is_empty() {
        return Err(VerifyError::NoSignatures);
    }
    let message = signed_message(&envelope.payload_type, canonical_payload);
    let mut valid = BTreeSet::new();
    let mut first_error = None;
    for entry in &envelope.signatures {
        let outcome = if entry.algorithm != "ed25519" {
            Err(VerifyError::UnsupportedAlgorithm {
                key_id: entry.key_id.clone(),
                algorithm: entry.algorithm.clone(),
            })
        } else {
            match signers.key(&entry.key_id) {
                None => Err(VerifyError::UnknownKey {
                    key_id: entry.key_id.clone(),
                }),
                Some(key) => {
                    let good = B64
                        .decode(&entry.signature)
                        .is_ok_and(|sig| key.verify(&message, &sig));
                    if good {
                        Ok(())
                    } else {
                        Err(VerifyError::BadSignature {
                            key_id: entry.key_id.clone(),
                        })
                    }
                }
            }
        };
        match outcome {
            Ok(()) => {
                valid.insert(entry.key_id.clone());
            }
            // A bad signature by a known key is the strongest signal of tampering.
            Err(e @ VerifyError::BadSignature { .. }) => return Err(e),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let required = signers.threshold();
    if valid.len() >= required {
        Ok(valid)
    } else if let (true, Some(error)) = (valid.is_empty(), first_error) {
        Err(error)
    } else {
        Err(VerifyError::ThresholdNotMet {
            valid: valid.len(),
            required,
        })
    }
}

/// Deserialises a payload into its type, turning serde's messages into typed errors with
/// the JSON path of the problem.
pub(crate) fn parse_typed<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, VerifyError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = format!("$.{}", err.path())
            .replace("$..", "$.")
            .trim_end_matches('.')
            .to_owned();
        let message = err.inner().to_string();
        match message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
        {
            Some(field) => VerifyError::UnknownField {
                path: path.trim_end_matches(&format!(".{field}")).to_owned(),
                field: field.to_owned(),
            },
            None => VerifyError::Schema { path, message },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ArtifactKind, ArtifactPin};

    /// One value of every variant: `code()` must return a code of [`VerifyError::CODES`],
    /// and every listed code must be returned by some variant.
    #[test]
    fn codes_lists_exactly_what_code_returns() {
        let key = || crate::SecretKey::generate().key_id();
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().expect("timestamp");
        let digest = Sha256Digest::of(b"x");
        let v = Version::new(1).expect("small");
        let json = |e: JsonError| VerifyError::Json(e);
        let all = vec![
            json(JsonError::Syntax {
                line: 1,
                column: 1,
                message: String::new(),
            }),
            json(JsonError::LoneSurrogate { line: 1, column: 1 }),
            json(JsonError::DuplicateKey {
                path: "$".into(),
                key: "a".into(),
            }),
            json(JsonError::IntegerOutOfRange {
                path: "$".into(),
                number: "1e99".into(),
            }),
            json(JsonError::TooLarge { size: 2, limit: 1 }),
            json(JsonError::NonCanonical { offset: 0 }),
            json(JsonError::Canonicalise(String::new())),
            VerifyError::ContentHashMismatch {
                what: String::new(),
                expected: digest,
                actual: digest,
            },
            VerifyError::Envelope(String::new()),
            VerifyError::WrongPayloadType {
                expected: "a",
                found: "b".into(),
            },
            VerifyError::NoSignatures,
            VerifyError::UnknownKey { key_id: key() },
            VerifyError::UnsupportedAlgorithm {
                key_id: key(),
                algorithm: "rsa".into(),
            },
            VerifyError::BadSignature { key_id: key() },
            VerifyError::KeyOutsideValidity {
                key_id: key(),
                not_before: now,
                not_after: None,
                at: now,
                which: "now",
            },
            VerifyError::ThresholdNotMet {
                valid: 0,
                required: 1,
            },
            VerifyError::OrgRootMismatch {
                pinned: key(),
                found: key(),
            },
            VerifyError::WrongSchemaVersion {
                found: None,
                expected: 1,
            },
            VerifyError::UnknownField {
                path: "$".into(),
                field: "x".into(),
            },
            VerifyError::Schema {
                path: "$".into(),
                message: String::new(),
            },
            VerifyError::Invalid {
                payload_type: "a",
                reason: String::new(),
            },
            VerifyError::FutureDated {
                signed_at: now,
                now,
                skew_secs: 0,
            },
            VerifyError::Stale {
                signed_at: now,
                now,
                window_minutes: 1,
                skew_secs: 0,
            },
            VerifyError::Rollback {
                version: v,
                highest: v,
            },
            VerifyError::Equivocation { version: v },
            VerifyError::SkewTooLarge(901),
            VerifyError::SnapshotMismatch(Box::new(PinMismatch {
                kind: ArtifactKind::Revocations,
                expected: Some(ArtifactPin {
                    version: v,
                    payload_sha256: digest,
                }),
                found: None,
            })),
        ];
        let returned: BTreeSet<&str> = all.iter().map(VerifyError::code).collect();
        let listed: BTreeSet<&str> = VerifyError::CODES.iter().copied().collect();
        assert_eq!(returned, listed);
        assert_eq!(
            listed.len(),
            VerifyError::CODES.len(),
            "no code listed twice"
        );
    }

    #[test]
    fn messages_carry_no_rust_debug_text() {
        let e = VerifyError::WrongSchemaVersion {
            found: Some(2),
            expected: 1,
        };
        assert_eq!(
            e.to_string(),
            "wrong schema version 2: this build reads version 1"
        );
        let e = VerifyError::WrongSchemaVersion {
            found: None,
            expected: 1,
        };
        assert!(!e.to_string().contains("None"), "{e}");
    }
}
