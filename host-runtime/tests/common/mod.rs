//! Helpers shared by the integration tests: build real components from the WAT corpus
//! against the real `wit/`, and small fleet snapshots.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use convoy_host_runtime::gate::GateInput;
use convoy_host_runtime::types::{Host, HostPhase, Rollout, RolloutState};
use convoy_host_runtime::{PolicyEngine, PolicyKind, PolicySpec, PolicyWorld};
use convoy_proto::Sha256Digest;

/// `host-runtime/tests/hostile`.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

/// The workspace's `wit/`.
pub fn wit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit")
}

/// The component bytes of a corpus entry (see `tests/hostile/README.md`).
pub fn corpus_component(file: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(corpus_dir().join(file)).expect("corpus file");
    let trimmed = text.trim_start();
    if trimmed.starts_with("(component") || trimmed.starts_with("(module") {
        return wat::parse_str(&text).expect("corpus text parses");
    }
    let prelude = std::fs::read_to_string(corpus_dir().join("prelude.wat")).expect("prelude");
    let module = wat::parse_str(format!("(module\n{prelude}\n{text}\n)")).expect("core wat");
    componentize(module, PolicyKind::Gate)
}

/// Wraps a core module into a component of `kind`'s world, as the release tooling does.
pub fn componentize(mut module: Vec<u8>, kind: PolicyKind) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(wit_dir()).expect("wit/ parses");
    let world = resolve
        .select_world(&[pkg], Some(kind.name()))
        .expect("world exists");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embed metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module accepted")
        .validate(true)
        .encode()
        .expect("component encodes")
}

/// A spec pinning exactly these bytes.
pub fn spec_for(name: &str, kind: PolicyKind, bytes: &[u8]) -> PolicySpec {
    PolicySpec {
        name: name.to_owned(),
        kind,
        sha256: Sha256Digest::of(bytes),
    }
}

/// An engine without a cache and default limits.
pub fn engine() -> PolicyEngine {
    PolicyEngine::new(Default::default()).expect("engine")
}

/// `n` idle hosts `host-0000`… on channel `prod`.
pub fn hosts(n: usize) -> Vec<Host> {
    (0..n)
        .map(|i| Host {
            name: format!("host-{i:05}"),
            channel: "prod".into(),
            tags: vec![if i % 10 == 0 {
                "canary".into()
            } else {
                "web".into()
            }],
            current_closure: Some("/nix/store/aaaa-system".into()),
            target_closure: Some("/nix/store/bbbb-system".into()),
            phase: HostPhase::Idle,
            phase_since: 1_700_000_000,
            last_seen: Some(1_700_000_000),
            rollout: None,
        })
        .collect()
}

/// A gate input whose candidates are the first `candidates` of `n` hosts.
pub fn gate_input(n: usize, candidates: usize) -> GateInput {
    let hosts = hosts(n);
    GateInput {
        now: 1_700_000_600,
        candidates: hosts
            .iter()
            .take(candidates)
            .map(|h| h.name.clone())
            .collect(),
        hosts,
        active: vec![Rollout {
            id: "r1".into(),
            channel: "prod".into(),
            target_version: 7,
            current_wave: 0,
            started_at: 1_700_000_000,
            wave_started_at: 1_700_000_000,
            state: RolloutState::Running,
        }],
    }
}

/// The built-in policies compiled by the guest build tool (`convoy-policy-build`) into a
/// directory shared by the tests of one `cargo test` run; built once, on first use.
pub fn built_policies() -> PathBuf {
    use std::sync::OnceLock;
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("CONVOY_POLICY_COMPONENTS") {
            return PathBuf::from(dir);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("builtin-policies");
        let status = std::process::Command::new(env!("CARGO"))
            .args(["run", "-q", "--manifest-path"])
            .arg(root.join("policies/Cargo.toml"))
            .args(["-p", "convoy-policy-build", "--", "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run convoy-policy-build");
        assert!(status.success(), "building the built-in policies failed");
        out
    })
    .clone()
}

/// The bytes of a built-in policy component (`disruption-budget`).
pub fn builtin(name: &str) -> Vec<u8> {
    std::fs::read(built_policies().join(format!("{name}.wasm"))).expect("built-in component")
}
