//! The four kinds of signed artifact, named once: what each is called on the command line,
//! its envelope payload type, and its well-known file name in an artifact directory.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A kind of signed artifact. Every verifier entry point names the kind it accepts; a
/// caller that holds an unknown file says which kind it expects ([`ArtifactKind::from_file_name`]
/// infers it from the well-known names), and a file of another kind is refused as
/// `wrong-payload-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArtifactKind {
    /// The trust root, signed by the org root.
    TrustRoot,
    /// `fleet.resolved.json`, signed by release keys.
    Fleet,
    /// `revocations.json`, signed by release keys.
    Revocations,
    /// The policy bundle manifest, signed by release keys.
    PolicyBundle,
}

impl ArtifactKind {
    /// Every kind, in the order a verifier checks a release: the trust root first.
    pub const ALL: [ArtifactKind; 4] = [
        ArtifactKind::TrustRoot,
        ArtifactKind::Fleet,
        ArtifactKind::Revocations,
        ArtifactKind::PolicyBundle,
    ];

    /// The kebab-case name (`convoy verify --expect`, state files, error messages).
    pub const fn name(self) -> &'static str {
        match self {
            ArtifactKind::TrustRoot => "trust-root",
            ArtifactKind::Fleet => "fleet",
            ArtifactKind::Revocations => "revocations",
            ArtifactKind::PolicyBundle => "policy-bundle",
        }
    }

    /// The envelope's `payloadType` of this kind.
    pub const fn payload_type(self) -> &'static str {
        match self {
            ArtifactKind::TrustRoot => "application/vnd.convoy.trust-root+json",
            ArtifactKind::Fleet => "application/vnd.convoy.fleet-resolved+json",
            ArtifactKind::Revocations => "application/vnd.convoy.revocations+json",
            ArtifactKind::PolicyBundle => "application/vnd.convoy.policy-bundle+json",
        }
    }

    /// The kind whose payload type is `payload_type`.
    pub fn from_payload_type(payload_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.payload_type() == payload_type)
    }

    /// The file name this kind is published under (`trust-root.json`,
    /// `fleet.resolved.json`, `revocations.json`, `policy-bundle.json`).
    pub const fn file_name(self) -> &'static str {
        match self {
            ArtifactKind::TrustRoot => "trust-root.json",
            ArtifactKind::Fleet => "fleet.resolved.json",
            ArtifactKind::Revocations => "revocations.json",
            ArtifactKind::PolicyBundle => "policy-bundle.json",
        }
    }

    /// The kind a file's well-known name announces, if it is one of them.
    pub fn from_file_name(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?;
        Self::ALL.into_iter().find(|k| k.file_name() == name)
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not an [`ArtifactKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an artifact kind (fleet, revocations, policy-bundle, trust-root)")]
pub struct ArtifactKindParseError(pub String);

impl FromStr for ArtifactKind {
    type Err = ArtifactKindParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ArtifactKindParseError(s.chars().take(64).collect()))
    }
}

crate::serde_via_str!(ArtifactKind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_payload_types_and_file_names_round_trip() {
        for kind in ArtifactKind::ALL {
            assert_eq!(kind.name().parse::<ArtifactKind>(), Ok(kind));
            assert_eq!(
                ArtifactKind::from_payload_type(kind.payload_type()),
                Some(kind)
            );
            let path = Path::new("/srv/artifacts").join(kind.file_name());
            assert_eq!(ArtifactKind::from_file_name(&path), Some(kind));
        }
        assert_eq!(ArtifactKind::from_file_name(Path::new("fleet.json")), None);
        assert!("any".parse::<ArtifactKind>().is_err());
    }
}
