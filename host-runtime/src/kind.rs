//! Policy kinds: the four worlds of `convoy:policy` and what each must export.
//!
//! The kind itself is [`convoy_proto::PolicyKind`] (the fleet artifact and the bundle
//! manifest name it too); this module adds what the runtime needs to know about each world.

use convoy_proto::PolicyKind;

/// The major version of `convoy:policy` this runtime implements. A component built for
/// another major version has, by definition, another ABI and is refused.
pub const ABI_MAJOR: u64 = 1;

/// The full version of the WIT package the host bindings were generated from.
pub const ABI_VERSION: &str = "1.0.0";

/// Every kind, in the order the docs list them.
pub const ALL_KINDS: [PolicyKind; 4] = [
    PolicyKind::Rollout,
    PolicyKind::Gate,
    PolicyKind::Health,
    PolicyKind::Attestation,
];

/// What the runtime knows about a policy world.
pub trait PolicyWorld: Copy {
    /// The world's name inside the package (`gate`).
    fn name(self) -> &'static str;
    /// The fully qualified world (`convoy:policy/gate@1.0.0`).
    fn world(self) -> String {
        format!("convoy:policy/{}@{ABI_VERSION}", self.name())
    }
    /// The world's decision function (`admit`); every world also exports `validate-config`.
    fn decision_export(self) -> &'static str;
    /// The exact exports of a component of this world, sorted.
    fn exports(self) -> [&'static str; 2] {
        let mut e = [self.decision_export(), "validate-config"];
        e.sort_unstable();
        e
    }
}

impl PolicyWorld for PolicyKind {
    fn name(self) -> &'static str {
        match self {
            PolicyKind::Rollout => "rollout",
            PolicyKind::Gate => "gate",
            PolicyKind::Health => "health",
            PolicyKind::Attestation => "attestation",
        }
    }

    fn decision_export(self) -> &'static str {
        match self {
            PolicyKind::Rollout => "plan",
            PolicyKind::Gate => "admit",
            PolicyKind::Health | PolicyKind::Attestation => "assess",
        }
    }
}

/// Parses a kind name (`gate`).
pub fn parse_kind(s: &str) -> Result<PolicyKind, String> {
    ALL_KINDS
        .into_iter()
        .find(|k| k.name() == s)
        .ok_or_else(|| {
            format!("unknown policy kind `{s}` (expected rollout, gate, health or attestation)")
        })
}

/// Checks that a declared world (`convoy:policy/gate@1.2.0`) is one this runtime
/// implements, with the same major version; returns its kind.
pub fn parse_world(world: &str) -> Result<PolicyKind, String> {
    let rest = world
        .strip_prefix("convoy:policy/")
        .ok_or_else(|| format!("world `{world}` is not in the convoy:policy package"))?;
    let (name, version) = rest
        .split_once('@')
        .ok_or_else(|| format!("world `{world}` has no version"))?;
    let kind = parse_kind(name)?;
    let major: u64 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("world `{world}` has a malformed version"))?;
    if major != ABI_MAJOR {
        return Err(format!(
            "world `{world}` is major version {major}; this runtime implements {ABI_MAJOR}.x"
        ));
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worlds_parse_only_with_our_major() {
        assert_eq!(
            parse_world("convoy:policy/gate@1.0.0"),
            Ok(PolicyKind::Gate)
        );
        assert_eq!(
            parse_world("convoy:policy/rollout@1.3.1"),
            Ok(PolicyKind::Rollout)
        );
        assert!(parse_world("convoy:policy/gate@2.0.0").is_err());
        assert!(parse_world("convoy:policy/gate").is_err());
        assert!(parse_world("other:policy/gate@1.0.0").is_err());
        assert!(parse_world("convoy:policy/budget@1.0.0").is_err());
    }

    #[test]
    fn exports_are_the_decision_and_validate_config() {
        assert_eq!(PolicyKind::Gate.exports(), ["admit", "validate-config"]);
        assert_eq!(PolicyKind::Health.world(), "convoy:policy/health@1.0.0");
    }
}
