//! Policy kinds: the worlds of `convoy:policy` and what each must export, in one table.
//!
//! The kind itself is [`convoy_proto::PolicyKind`] (the fleet artifact and the bundle
//! manifest name it too); [`WORLDS`] is everything the runtime knows about each world: its
//! name, its exports and how each export is type-checked against the Rust form of `wit/`
//! ([`crate::abi`]). Loading, `inspect`, calls by data and the docs all read this table;
//! adding an export (a minor version of the ABI) is one row of [`Export`] here and its
//! call in [`crate::PolicyCallBuilder`].

use convoy_proto::PolicyKind;
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::abi::attestation::{AttestationInput, AttestationVerdict};
use crate::abi::health::{HealthInput, HealthVerdict};
use crate::abi::wire::{GateIn, PlanOut, RolloutIn, VerdictOut};
use crate::policy::StoreState;

/// The major version of `convoy:policy` this runtime implements. A component built for
/// another major version has, by definition, another ABI and is refused.
pub const ABI_MAJOR: u64 = 1;

/// The full version of the WIT package the host bindings were generated from.
pub const ABI_VERSION: &str = "1.0.0";

/// One export of a world: its name and the type check of a component's export of that
/// name against the Rust form of the world.
#[derive(Clone, Copy)]
pub struct Export {
    /// The export's name (`admit`).
    pub name: &'static str,
    /// Looks the export up as a typed function of the world's signature.
    check: fn(&mut Store<StoreState>, &Instance) -> wasmtime::Result<()>,
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Export {
    /// Type-checks this export of `instance`.
    pub(crate) fn check(
        &self,
        store: &mut Store<StoreState>,
        instance: &Instance,
    ) -> wasmtime::Result<()> {
        (self.check)(store, instance)
    }
}

/// One world of `convoy:policy`.
#[derive(Debug, Clone, Copy)]
pub struct World {
    /// The kind a policy of this world is.
    pub kind: PolicyKind,
    /// The world's name inside the package (`gate`).
    pub name: &'static str,
    /// The export that makes the world's decision (`admit`).
    pub decision: &'static str,
    /// Every export a component of this world has, exactly.
    pub exports: &'static [Export],
}

/// `validate-config`, which every world exports.
const VALIDATE_CONFIG: Export = Export {
    name: "validate-config",
    check: |store, instance| {
        instance
            .get_typed_func::<(&str,), (Result<(), String>,)>(store, "validate-config")
            .map(drop)
    },
};

/// Every world, in the order of [`PolicyKind`]'s cases (and of the docs).
pub const WORLDS: [World; 4] = [
    World {
        kind: PolicyKind::Rollout,
        name: "rollout",
        decision: "plan",
        exports: &[
            Export {
                name: "plan",
                check: |store, instance| {
                    instance
                        .get_typed_func::<(&str, RolloutIn<'_>), (PlanOut,)>(store, "plan")
                        .map(drop)
                },
            },
            VALIDATE_CONFIG,
        ],
    },
    World {
        kind: PolicyKind::Gate,
        name: "gate",
        decision: "admit",
        exports: &[
            Export {
                name: "admit",
                check: |store, instance| {
                    instance
                        .get_typed_func::<(&str, GateIn<'_>), (VerdictOut,)>(store, "admit")
                        .map(drop)
                },
            },
            VALIDATE_CONFIG,
        ],
    },
    World {
        kind: PolicyKind::Health,
        name: "health",
        decision: "assess",
        exports: &[
            Export {
                name: "assess",
                check: |store, instance| {
                    instance
                        .get_typed_func::<(&str, &HealthInput), (HealthVerdict,)>(store, "assess")
                        .map(drop)
                },
            },
            VALIDATE_CONFIG,
        ],
    },
    World {
        kind: PolicyKind::Attestation,
        name: "attestation",
        decision: "assess",
        exports: &[
            Export {
                name: "assess",
                check: |store, instance| {
                    instance
                        .get_typed_func::<(&str, &AttestationInput), (AttestationVerdict,)>(
                            store, "assess",
                        )
                        .map(drop)
                },
            },
            VALIDATE_CONFIG,
        ],
    },
];

/// Every kind, in the order of [`WORLDS`].
pub const ALL_KINDS: [PolicyKind; WORLDS.len()] = {
    let mut kinds = [PolicyKind::Rollout; WORLDS.len()];
    let mut i = 0;
    while i < WORLDS.len() {
        kinds[i] = WORLDS[i].kind;
        i += 1;
    }
    kinds
};

/// What the runtime knows about a policy world, read from [`WORLDS`].
pub trait PolicyWorld: Copy {
    /// The world's row of [`WORLDS`].
    fn spec(self) -> &'static World;
    /// The world's name inside the package (`gate`).
    fn name(self) -> &'static str {
        self.spec().name
    }
    /// The fully qualified world (`convoy:policy/gate@1.0.0`).
    fn world(self) -> String {
        format!("convoy:policy/{}@{ABI_VERSION}", self.name())
    }
    /// The world's decision function (`admit`); every world also exports `validate-config`.
    fn decision_export(self) -> &'static str {
        self.spec().decision
    }
    /// The exact export names of a component of this world, sorted.
    fn exports(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.spec().exports.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names
    }
}

/// [`WORLDS`] at one address, so that [`PolicyWorld::spec`] can hand out `'static` rows.
static WORLD_ROWS: [World; WORLDS.len()] = WORLDS;

impl PolicyWorld for PolicyKind {
    fn spec(self) -> &'static World {
        // `WORLDS` is in the order of `PolicyKind`'s cases (a test checks it).
        &WORLD_ROWS[self as usize]
    }
}

/// Parses a kind name (`gate`).
pub fn parse_kind(s: &str) -> Result<PolicyKind, String> {
    WORLDS
        .iter()
        .find(|w| w.name == s)
        .map(|w| w.kind)
        .ok_or_else(|| {
            let names: Vec<&str> = WORLDS.iter().map(|w| w.name).collect();
            format!(
                "unknown policy kind `{}` (expected one of {})",
                crate::text::printable_owned(s),
                names.join(", ")
            )
        })
}

/// Checks that a declared world (`convoy:policy/gate@1.2.0`) is one this runtime
/// implements, with the same major version; returns its kind.
pub fn parse_world(world: &str) -> Result<PolicyKind, String> {
    let shown = crate::text::printable_owned(world);
    let rest = world
        .strip_prefix("convoy:policy/")
        .ok_or_else(|| format!("world `{shown}` is not in the convoy:policy package"))?;
    let (name, version) = rest
        .split_once('@')
        .ok_or_else(|| format!("world `{shown}` has no version"))?;
    let kind = parse_kind(name)?;
    let major: u64 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("world `{shown}` has a malformed version"))?;
    if major != ABI_MAJOR {
        return Err(format!(
            "world `{shown}` is major version {major}; this runtime implements {ABI_MAJOR}.x"
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

    /// `PolicyWorld::spec` indexes the table by the kind's case.
    #[test]
    fn the_table_is_in_kind_order_and_names_each_kind_once() {
        for (i, world) in WORLDS.iter().enumerate() {
            assert_eq!(world.kind as usize, i, "{}", world.name);
            assert_eq!(world.kind.spec().name, world.name);
            assert_eq!(parse_kind(world.name), Ok(world.kind));
            assert!(world.exports.iter().any(|e| e.name == world.decision));
            assert!(world.exports.iter().any(|e| e.name == "validate-config"));
        }
        assert_eq!(ALL_KINDS.len(), 4);
    }
}
