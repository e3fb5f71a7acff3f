//! Turns a guest policy's core wasm module into the component Convoy signs and loads.
//!
//! [`componentize`] wraps a `wasm32-unknown-unknown` core module (built with the SDK's
//! export macros, which embed the world's component-type metadata) into a component with
//! `wit-component`'s `ComponentEncoder`, in process; [`check_component`] then proves what
//! the host runtime will demand: the component imports nothing with behaviour and exports
//! exactly one `convoy:policy@1.x` world's functions. [`build_crate`] drives `cargo` for a
//! crate; [`BUILTINS`] lists Convoy's own policies. The `wit-component`/`wasmparser`
//! versions are the wasm-tools release of wasmtime 48.0.8.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use wasmparser::component_types::{ComponentAnyTypeId, ComponentEntityType};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// What a built component is, as the build tool reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentInfo {
    /// Names of the component's top-level exports, sorted.
    pub exports: Vec<String>,
    /// Lowercase hex sha256 of the component bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: usize,
}

/// A built-in policy of this workspace: what `policies/build.sh` builds into `policies/out`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Builtin {
    /// Component name: `<name>.wasm`, and the name channels use in `fleet.nix`.
    pub name: &'static str,
    /// The cargo package in the policies workspace.
    pub package: &'static str,
    /// The world the component exports (a key of [`WORLD_EXPORTS`]).
    pub world: &'static str,
}

/// The built-in policies, in the order they are built.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "waves",
        package: "convoy-policy-waves",
        world: "rollout",
    },
    Builtin {
        name: "channel-edges",
        package: "convoy-policy-channel-edges",
        world: "gate",
    },
    Builtin {
        name: "host-edges",
        package: "convoy-policy-host-edges",
        world: "gate",
    },
    Builtin {
        name: "disruption-budget",
        package: "convoy-policy-disruption-budget",
        world: "gate",
    },
    Builtin {
        name: "health",
        package: "convoy-policy-health",
        world: "health",
    },
    Builtin {
        name: "attestation-quarantine",
        package: "convoy-policy-attestation-quarantine",
        world: "attestation",
    },
];

/// The export names each world must have, by world name.
pub const WORLD_EXPORTS: &[(&str, &[&str])] = &[
    ("rollout", &["plan", "validate-config"]),
    ("gate", &["admit", "validate-config"]),
    ("health", &["assess", "validate-config"]),
    ("attestation", &["assess", "validate-config"]),
];

/// Wrap a core module into a component (validating the result).
pub fn componentize(core_module: &[u8]) -> Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(core_module)
        .context("reading the core module's component-type metadata")?
        .validate(true)
        .encode()
        .context("encoding the component")
}

/// Check a component the way the host runtime will: it validates, it imports nothing that
/// needs a definition, and it exports exactly one `convoy:policy` world's functions.
/// Returns the world's name and what the component is.
///
/// "Imports nothing" means nothing with behaviour: a world's `use` of the shared
/// `convoy:policy/types` interface shows up as *type* imports (an instance of types only,
/// and the type names), which carry no code, need no definition and are accepted by an
/// empty wasmtime linker. A function, module, component, value or resource import is refused.
pub fn check_component(component: &[u8]) -> Result<(&'static str, ComponentInfo)> {
    let mut validator = Validator::new_with_features(WasmFeatures::default());
    let types = validator
        .validate_all(component)
        .context("the component does not validate")?;

    let mut imports = Vec::new();
    let mut exports = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload.context("parsing the component")? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            // Only the outermost component's imports and exports are its interface.
            Payload::ComponentImportSection(s) if depth == 0 => {
                for import in s {
                    imports.push(import.context("reading an import")?.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(s) if depth == 0 => {
                for export in s {
                    exports.push(export.context("reading an export")?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    let behavioural: Vec<&String> = imports
        .iter()
        .filter(
            |name| match types.component_item_for_import(name).map(|i| &i.ty) {
                Some(ComponentEntityType::Type { referenced, .. }) => {
                    matches!(referenced, ComponentAnyTypeId::Resource(_))
                }
                Some(ComponentEntityType::Instance(id)) => types[*id].exports.values().any(|e| {
                    !matches!(e.ty, ComponentEntityType::Type { referenced, .. }
                    if !matches!(referenced, ComponentAnyTypeId::Resource(_)))
                }),
                _ => true,
            },
        )
        .collect();
    if !behavioural.is_empty() {
        bail!(
            "a policy imports nothing, but this component imports: {}",
            behavioural
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    exports.sort();
    let functions: Vec<&str> = exports
        .iter()
        .filter(|name| {
            matches!(
                types.component_item_for_export(name).map(|e| &e.ty),
                Some(ComponentEntityType::Func(_))
            )
        })
        .map(String::as_str)
        .collect();
    // `health` and `attestation` export the same function names; the world's input record
    // (`<world>-input`, a type the component imports) tells them apart.
    let world = WORLD_EXPORTS
        .iter()
        .find(|(world, wanted)| {
            let mut wanted = wanted.to_vec();
            wanted.sort();
            let input = format!("{world}-input");
            wanted == functions && imports.contains(&input)
        })
        .map(|(w, _)| *w)
        .with_context(|| {
            format!("the exported functions {functions:?} are not those of a convoy:policy world")
        })?;
    Ok((
        world,
        ComponentInfo {
            exports,
            sha256: sha256_hex(component),
            size: component.len(),
        },
    ))
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How to run `cargo build` for a guest crate.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// `Cargo.toml` of the crate (or of its workspace, with `package`).
    pub manifest_path: PathBuf,
    /// `-p` package name, when the manifest is a workspace.
    pub package: Option<String>,
    /// Cargo's target directory.
    pub target_dir: PathBuf,
}

/// Build a guest crate for `wasm32-unknown-unknown` in release mode and return the core
/// module's bytes.
pub fn build_crate(req: &BuildRequest, lib_name: &str) -> Result<Vec<u8>> {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args([
        "build",
        "--release",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--manifest-path",
    ])
    .arg(&req.manifest_path)
    .arg("--target-dir")
    .arg(&req.target_dir);
    if let Some(p) = &req.package {
        cmd.args(["-p", p]);
    }
    let status = cmd.status().context("running cargo")?;
    if !status.success() {
        bail!(
            "cargo build of {} failed ({status})",
            req.package.as_deref().unwrap_or(lib_name)
        );
    }
    let path = core_module_path(&req.target_dir, lib_name);
    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

/// Where cargo leaves the core module of library `lib_name` (dashes become underscores).
pub fn core_module_path(target_dir: &Path, lib_name: &str) -> PathBuf {
    target_dir
        .join("wasm32-unknown-unknown")
        .join("release")
        .join(format!("{}.wasm", lib_name.replace('-', "_")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).expect("valid WAT")
    }

    #[test]
    fn refuses_a_function_import() {
        let c = component(
            r#"(component (import "wasi:clocks/wall-clock@0.2.0" (instance (export "now" (func)))))"#,
        );
        let err = check_component(&c)
            .expect_err("imports a function")
            .to_string();
        assert!(err.contains("wasi:clocks/wall-clock@0.2.0"), "{err}");
        let c = component(r#"(component (import "log" (func (param "m" string))))"#);
        assert!(check_component(&c).is_err());
    }

    #[test]
    fn refuses_exports_of_no_world() {
        let c = component(
            r#"(component
                (core module $m (func (export "f")))
                (core instance $i (instantiate $m))
                (func $f (canon lift (core func $i "f")))
                (export "run" (func $f)))"#,
        );
        let err = check_component(&c)
            .expect_err("not a policy world")
            .to_string();
        assert!(err.contains("not those of a convoy:policy world"), "{err}");
    }

    #[test]
    fn refuses_a_core_module_without_world_metadata() {
        let core = wat::parse_str(r#"(module (func (export "admit")))"#).expect("valid WAT");
        // The encoder finds no component-type section: nothing says which world this is.
        assert!(
            componentize(&core)
                .and_then(|c| check_component(&c))
                .is_err()
        );
    }

    /// The real thing: every built-in in `policies/out` is an import-free component of its
    /// world. Components missing from `policies/out` are built first (`policies/build.sh`,
    /// as the test command does after the native tests), so this never passes by skipping.
    #[test]
    fn built_components_import_nothing() {
        let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = policies.join("out");
        let path = |b: &Builtin| out.join(format!("{}.wasm", b.name));
        if !BUILTINS.iter().all(|b| path(b).exists()) {
            let mut build = Command::new(policies.join("build.sh"));
            // A relative target dir is relative to where cargo ran, which a test cannot
            // know: build.sh's own default (the one the test command uses) serves instead.
            if std::env::var_os("CARGO_TARGET_DIR").is_some_and(|d| Path::new(&d).is_relative()) {
                build.env_remove("CARGO_TARGET_DIR");
            }
            let status = build
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("running policies/build.sh");
            assert!(status.success(), "policies/build.sh failed ({status})");
        }
        for builtin in BUILTINS {
            let bytes = std::fs::read(path(builtin)).unwrap_or_else(|e| {
                panic!("{}: {e} (policies/build.sh did not build it)", builtin.name)
            });
            let (world, info) = check_component(&bytes).expect("a valid policy component");
            assert_eq!(world, builtin.world, "{}", builtin.name);
            assert_eq!(info.size, bytes.len());
        }
    }
}
