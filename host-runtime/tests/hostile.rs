//! The hostile-module corpus: every misbehaving component is contained with its typed
//! error, and the same engine keeps serving a good policy after each one.

mod common;

use std::time::{Duration, Instant};

use common::{admit_named, admit_named_with, engine, gate_input, spec_for};
use convoy_host_runtime::{
    EngineProblem, Limits, OutputViolation, PolicyEngine, PolicyError, PolicyKind, Rejection,
    ResourceLimit,
};
use convoy_test_support::corpus::corpus_component;

/// Evaluates the good gate on the same engine: the process keeps serving.
fn still_serves(engine: &PolicyEngine) {
    let bytes = corpus_component("good_gate.wat");
    let (good, _) = engine
        .load(&spec_for("good", PolicyKind::Gate, &bytes), &bytes)
        .expect("good gate loads");
    let input = gate_input(20, 5);
    let eval = admit_named(&good, "{}", &input).expect("good gate evaluates");
    assert_eq!(eval.output.admitted, input.candidates);
    assert!(eval.output.refused.is_empty());
}

fn load_err(engine: &PolicyEngine, file: &str) -> PolicyError {
    let bytes = corpus_component(file);
    engine
        .load(&spec_for(file, PolicyKind::Gate, &bytes), &bytes)
        .expect_err("hostile module must be refused at load")
}

fn eval_err(engine: &PolicyEngine, file: &str, limits: Limits) -> PolicyError {
    let bytes = corpus_component(file);
    let (policy, _) = engine
        .load(&spec_for(file, PolicyKind::Gate, &bytes), &bytes)
        .expect("loads: the misbehaviour is at run time");
    admit_named_with(&policy, Some(limits), "{}", &gate_input(20, 5))
        .expect_err("hostile evaluation must fail")
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let engine = engine();
    let limits = Limits {
        fuel: 50_000_000,
        ..Limits::default()
    };
    let err = eval_err(&engine, "infinite_loop.wat", limits);
    assert!(
        matches!(
            err,
            PolicyError::OutOfFuel {
                budget: 50_000_000,
                ..
            }
        ),
        "{err:?}"
    );
    still_serves(&engine);
}

#[test]
fn infinite_loop_with_unlimited_fuel_hits_the_wall_clock_deadline() {
    let engine = engine();
    let limits = Limits {
        fuel: u64::MAX,
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let started = Instant::now();
    let err = eval_err(&engine, "infinite_loop.wat", limits);
    assert!(
        matches!(err, PolicyError::Timeout { millis: 300, .. }),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "deadline enforced promptly"
    );
    still_serves(&engine);
}

#[test]
fn memory_bomb_is_capped() {
    let engine = engine();
    let limits = Limits {
        memory_bytes: 32 << 20,
        ..Limits::default()
    };
    let err = eval_err(&engine, "memory_bomb.wat", limits);
    match &err {
        PolicyError::ResourceExceeded {
            limit:
                ResourceLimit::Memory {
                    cap_bytes,
                    requested_bytes,
                },
            ..
        } => {
            assert_eq!(*cap_bytes, 32 << 20);
            assert!(requested_bytes > cap_bytes);
        }
        other => panic!("expected a memory limit, got {other:?}"),
    }
    assert_eq!(
        (err.code(), err.sub_code()),
        ("resource-exceeded", Some("memory"))
    );
    still_serves(&engine);
}

#[test]
fn stack_overflow_is_a_trap() {
    let engine = engine();
    let err = eval_err(&engine, "stack_overflow.wat", Limits::default());
    match &err {
        PolicyError::Trap { trap, .. } => assert!(trap.code.contains("stack"), "{trap:?}"),
        other => panic!("expected Trap, got {other:?}"),
    }
    still_serves(&engine);
}

#[test]
fn panicking_guest_is_a_trap_naming_the_panic() {
    let engine = engine();
    let err = eval_err(&engine, "panicking.wat", Limits::default());
    match &err {
        PolicyError::Trap { trap, .. } => {
            assert!(trap.panicked, "{trap:?}");
            assert_eq!(trap.function.as_deref(), Some("budget_gate::admit_inner"));
            let message = trap.to_string();
            assert!(message.contains("guest panicked"), "{message}");
            assert!(
                !message.contains('\n'),
                "one line, not a backtrace: {message}"
            );
        }
        other => panic!("expected Trap, got {other:?}"),
    }
    still_serves(&engine);
}

#[test]
fn huge_output_is_refused_without_exhausting_the_host() {
    let engine = engine();
    let err = eval_err(&engine, "huge_output.wat", Limits::default());
    // wasmtime gives the output byte limit no type of its own: an unliftable result.
    match &err {
        PolicyError::InvalidOutput {
            violation: OutputViolation::Unliftable { detail },
            ..
        } => assert!(detail.contains("too much data"), "{detail}"),
        other => panic!("expected an unliftable output, got {other:?}"),
    }
    still_serves(&engine);
}

#[test]
fn admitting_a_stranger_is_invalid_output() {
    let engine = engine();
    let err = eval_err(&engine, "admits_stranger.wat", Limits::default());
    match &err {
        PolicyError::InvalidOutput {
            violation: OutputViolation::NotACandidate { host, .. },
            ..
        } => assert_eq!(host, "host-00019"),
        other => panic!("expected InvalidOutput, got {other:?}"),
    }
    still_serves(&engine);
}

#[test]
fn wasi_import_is_rejected() {
    let engine = engine();
    let err = load_err(&engine, "imports_wasi.wat");
    match &err {
        PolicyError::RejectedModule {
            reason: Rejection::Imports { imports },
            ..
        } => assert_eq!(imports, &["wasi:cli/environment@0.2.0"]),
        other => panic!("expected RejectedModule, got {other:?}"),
    }
    still_serves(&engine);
}

#[test]
fn wrong_export_signature_is_rejected() {
    let engine = engine();
    let err = load_err(&engine, "wrong_signature.wat");
    match &err {
        PolicyError::RejectedModule {
            reason: Rejection::Signature { .. },
            ..
        } => {}
        other => panic!("expected RejectedModule, got {other:?}"),
    }
    still_serves(&engine);
}

#[test]
fn core_module_is_rejected() {
    let engine = engine();
    let err = load_err(&engine, "core_module.wat");
    assert_eq!(err.code(), "rejected-module", "{err:?}");
    still_serves(&engine);
}

#[test]
fn gate_component_loaded_as_another_world_is_rejected() {
    let engine = engine();
    let bytes = corpus_component("good_gate.wat");
    let err = engine
        .load(&spec_for("good", PolicyKind::Health, &bytes), &bytes)
        .expect_err("a gate is not a health policy");
    assert_eq!(err.code(), "rejected-module", "{err:?}");
    still_serves(&engine);
}

#[test]
fn tampered_component_is_refused_before_compilation() {
    let engine = engine();
    let bytes = corpus_component("good_gate.wat");
    let spec = spec_for("good", PolicyKind::Gate, &bytes);
    for at in [0, bytes.len() / 2, bytes.len() - 1] {
        let mut tampered = bytes.clone();
        tampered[at] ^= 0x01;
        let err = engine
            .load(&spec, &tampered)
            .expect_err("tampered bytes refused");
        assert!(matches!(err, PolicyError::HashMismatch { .. }), "{err:?}");
    }
    // A tampered byte that is not even wasm any more is refused the same way: the hash
    // check comes first.
    let err = engine.load(&spec, b"not wasm").expect_err("refused");
    assert!(matches!(err, PolicyError::HashMismatch { .. }), "{err:?}");
    still_serves(&engine);
}

#[test]
fn many_hostile_calls_in_a_row_leave_the_engine_healthy() {
    let engine = engine();
    let limits = Limits {
        fuel: 5_000_000,
        memory_bytes: 16 << 20,
        ..Limits::default()
    };
    for _ in 0..20 {
        eval_err(&engine, "infinite_loop.wat", limits);
        eval_err(&engine, "memory_bomb.wat", limits);
        eval_err(&engine, "panicking.wat", limits);
    }
    still_serves(&engine);
}

/// A policy that never returns holds its pool slot until its deadline; with every slot
/// taken, another evaluation is a typed engine error (not a policy's fault, not queued),
/// and once the slot is free again the engine serves as before.
#[test]
fn a_full_instance_pool_is_a_typed_engine_error() {
    let engine = PolicyEngine::new(convoy_host_runtime::EngineOptions {
        max_concurrent: 1,
        ..convoy_host_runtime::EngineOptions::default()
    })
    .expect("engine");
    let looping = corpus_component("infinite_loop.wat");
    let (looping, _) = engine
        .load(&spec_for("loop", PolicyKind::Gate, &looping), &looping)
        .expect("loads");
    let good = corpus_component("good_gate.wat");
    let (good, _) = engine
        .load(&spec_for("good", PolicyKind::Gate, &good), &good)
        .expect("loads");
    let input = gate_input(20, 5);
    let limits = Limits {
        fuel: u64::MAX,
        timeout: Duration::from_secs(3),
        ..Limits::default()
    };
    std::thread::scope(|s| {
        // The looping call retries while the good one happens to hold the slot.
        let holder = s.spawn(|| {
            loop {
                match admit_named_with(&looping, Some(limits), "{}", &input) {
                    Err(PolicyError::Engine(_)) => std::thread::sleep(Duration::from_millis(1)),
                    other => break other,
                }
            }
        });
        // Until the looping call holds the only slot, the good one may still get it.
        let started = Instant::now();
        let refused = loop {
            match admit_named(&good, "{}", &input) {
                Err(e) => break e,
                Ok(_) if started.elapsed() < Duration::from_secs(2) => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(_) => panic!("the looping call never took the slot"),
            }
        };
        assert!(
            matches!(
                refused,
                PolicyError::Engine(EngineProblem::Instantiate { .. })
            ),
            "{refused:?}"
        );
        assert_eq!(refused.code(), "engine");
        assert_eq!(refused.sub_code(), Some("instantiate"));
        assert!(refused.to_string().contains("`good`"), "{refused}");
        assert!(
            refused.to_string().contains("maximum concurrent"),
            "{refused}"
        );
        let held = holder.join().expect("thread").expect_err("times out");
        assert!(matches!(held, PolicyError::Timeout { .. }), "{held:?}");
    });
    still_serves(&engine);
}
