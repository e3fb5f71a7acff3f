//! Arbitrary guest memory lifted as a decision by real wasmtime, then validated: the
//! fuzz input, hex-encoded as the configuration, is decoded by the guest into freshly
//! allocated memory whose address it returns as its result area, so its bytes are the
//! plan's or verdict's lists, pointers and lengths. Whatever they hold, the call ends in
//! a typed error or a decision that passed its contract, never a panic or an allocation
//! past the output limit.
#![no_main]

use std::sync::OnceLock;

use convoy_host_runtime::types::{Host, Rollout, RolloutState};
use convoy_host_runtime::{Limits, Policy, PolicyEngine, PolicyKind, PolicySpec, Snapshot};
use convoy_proto::Sha256Digest;
use convoy_test_support::corpus::{componentize, corpus_dir};
use libfuzzer_sys::fuzz_target;

/// Decodes the configuration (hex) into memory from `cabi_realloc` and returns it.
const BODY: &str = r#"
  (func $nibble (param $c i32) (result i32)
    (if (result i32) (i32.le_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
      (then (i32.sub (local.get $c) (i32.const 48)))
      (else (i32.and (i32.sub (local.get $c) (i32.const 87)) (i32.const 15)))))
  (func $decode (param $args i32) (result i32)
    (local $src i32) (local $len i32) (local $dst i32) (local $i i32)
    (local.set $src (i32.load (local.get $args)))
    (local.set $len (i32.shr_u (i32.load offset=4 (local.get $args)) (i32.const 1)))
    (local.set $dst (call $cabi_realloc (i32.const 0) (i32.const 0) (i32.const 8)
                          (i32.add (local.get $len) (i32.const 64))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (local.get $dst) (local.get $i))
          (i32.or
            (i32.shl (call $nibble (i32.load8_u
              (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 1))))) (i32.const 4))
            (call $nibble (i32.load8_u
              (i32.add (local.get $src)
                       (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $dst))
"#;

struct Fixture {
    _engine: PolicyEngine,
    gate: Policy,
    rollout: Policy,
    snapshot: Snapshot,
    plan_for: Rollout,
}

fn policy(engine: &PolicyEngine, kind: PolicyKind, export: &str) -> Policy {
    let prelude = std::fs::read_to_string(corpus_dir().join("prelude.wat")).expect("prelude");
    let text = format!(
        "(module {prelude} {BODY} (func (export \"{export}\") (param i32) (result i32) (call $decode (local.get 0))))"
    );
    let world = match kind {
        PolicyKind::Gate => "gate",
        _ => "rollout",
    };
    let bytes = componentize(wat::parse_str(text).expect("wat"), world);
    let spec = PolicySpec {
        name: export.into(),
        kind,
        sha256: Sha256Digest::of(&bytes),
    };
    engine.load(&spec, &bytes).expect("loads").0
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let engine = PolicyEngine::new(Default::default()).expect("engine");
        let hosts: Vec<Host> = (0..8)
            .map(|i| Host::idle(format!("h{i}"), if i % 3 == 0 { "dev" } else { "prod" }))
            .collect();
        Fixture {
            gate: policy(&engine, PolicyKind::Gate, "admit"),
            rollout: policy(&engine, PolicyKind::Rollout, "plan"),
            snapshot: Snapshot::new(&hosts, vec![]).expect("snapshot"),
            plan_for: Rollout {
                id: "r".into(),
                channel: "prod".into(),
                target_version: 1,
                current_wave: 0,
                started_at: 0,
                wave_started_at: 0,
                state: RolloutState::Running,
            },
            _engine: engine,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let config: String = data.iter().map(|b| format!("{b:02x}")).collect();
    let limits = Limits {
        fuel: 50_000_000,
        memory_bytes: 16 << 20,
        max_output_bytes: 1 << 20,
        ..Limits::default()
    };
    let ids: Vec<u32> = (0..f.snapshot.len() as u32).collect();
    if let Ok(eval) = f
        .gate
        .call()
        .limits(limits)
        .admit(&config, 0, &ids, &f.snapshot)
    {
        let names: Vec<String> = ids
            .iter()
            .filter_map(|&id| f.snapshot.name(id).map(str::to_owned))
            .collect();
        let named = f
            .snapshot
            .candidates(&names)
            .name_verdict(&f.snapshot, &eval.output);
        assert_eq!(named.admitted.len() + named.refused.len(), ids.len());
    }
    if let Ok(eval) =
        f.rollout
            .call()
            .limits(limits)
            .waves(3)
            .plan(&config, 0, &f.plan_for, &f.snapshot)
    {
        let plan = f.snapshot.name_plan(&eval.output);
        assert!(plan.candidates.len() <= f.snapshot.len());
    }
});
