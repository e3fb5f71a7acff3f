//! Hostile components against the sandbox's limits (issue 9, items 8, 11, 12 and 13): the
//! per-call memory cap across every memory and table, the pre-scan's limits on what a
//! component costs to compile, typed resource errors, and guest text that reaches a
//! terminal. Every component here is built from WAT and run by real wasmtime.

mod common;

use common::{admit_named, admit_named_with, builtin, engine, gate_input, spec_for};
use convoy_host_runtime::scan::{COMPONENT_LIMITS, ComponentLimit, scan};
use convoy_host_runtime::{
    Limits, MAX_TABLE_ELEMENTS, PolicyEngine, PolicyError, PolicyKind, Rejection, ResourceLimit,
};
use convoy_test_support::corpus::gate_component;

fn load(engine: &PolicyEngine, bytes: &[u8]) -> Result<convoy_host_runtime::Policy, PolicyError> {
    engine
        .load(&spec_for("hostile", PolicyKind::Gate, bytes), bytes)
        .map(|(p, _)| p)
}

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("hostile WAT parses")
}

/// A component of `instances` core instances of one module whose start function grows its
/// own memory by `pages`, exporting the gate world's names (signatures are checked only
/// after instantiation, so the start functions do run at load, as in `inspect`).
fn memory_hogs(instances: usize, pages: u32) -> Vec<u8> {
    let mut text = format!(
        r#"(component
  (core module $hog
    (memory 1)
    (func $start (drop (memory.grow (i32.const {pages}))))
    (start $start)
    (func (export "f")))
"#
    );
    for i in 0..instances {
        text.push_str(&format!("  (core instance $i{i} (instantiate $hog))\n"));
    }
    text.push_str(
        r#"  (func (export "admit") (canon lift (core func $i0 "f")))
  (func (export "validate-config") (canon lift (core func $i0 "f")))
)"#,
    );
    wat(&text)
}

/// Item 8: three core instances each growing a memory to 100 MiB stay under a per-memory
/// cap of 256 MiB but not under a per-call one; the total is refused at load with the
/// typed memory limit, where the start functions run.
#[test]
fn memories_of_every_core_instance_count_against_one_cap() {
    let engine = engine();
    let err = load(&engine, &memory_hogs(3, 1600)).expect_err("refused");
    match err {
        PolicyError::ResourceExceeded {
            limit:
                ResourceLimit::Memory {
                    cap_bytes,
                    requested_bytes,
                },
            ..
        } => {
            assert_eq!(cap_bytes, Limits::default().memory_bytes);
            assert!(requested_bytes > cap_bytes);
        }
        other => panic!("expected the memory limit, got {other:?}"),
    }
    // Two of them fit: what is refused is the sum, not one memory.
    let err = load(&engine, &memory_hogs(2, 1600)).expect_err("wrong signatures");
    assert_eq!(err.sub_code(), Some("signature"), "{err}");
}

/// Item 8: a component of many core modules each growing a memory (16 of them grew 3.9 GB
/// in one call before) is refused before it is compiled, at the memories a policy needs
/// with headroom; many instances without memories are refused at their own limit. Neither
/// can fill the pool's slots.
#[test]
fn many_core_modules_are_refused_at_load() {
    let engine = engine();
    let err = load(&engine, &memory_hogs(16, 3900)).expect_err("refused");
    assert_eq!(
        err,
        PolicyError::RejectedModule {
            policy: "hostile".into(),
            reason: Rejection::PastLimit {
                limit: ComponentLimit::Memories,
                value: COMPONENT_LIMITS.memories + 1,
                max: COMPONENT_LIMITS.memories,
            },
        }
    );
    // `inspect` refuses it the same way, before anything runs.
    let info = engine
        .inspect("hostile", &memory_hogs(16, 3900))
        .expect("inspect");
    assert!(
        info.refusal
            .as_deref()
            .is_some_and(|r| r.contains("number of memories")),
        "{info:?}"
    );
    let mut text = String::from("(component (core module $m (func (export \"f\")))\n");
    for i in 0..16 {
        text.push_str(&format!("(core instance $i{i} (instantiate $m))\n"));
    }
    text.push(')');
    let err = load(&engine, &wat(&text)).expect_err("refused");
    assert_eq!(
        err.to_string(),
        format!(
            "policy hostile: rejected module: number of core instances is {}, past the limit of {}",
            COMPONENT_LIMITS.core_instances + 1,
            COMPONENT_LIMITS.core_instances
        )
    );
}

/// Item 8: tables count against the same cap as memories: a memory grown to 64 KiB under
/// the cap (256 MiB) plus 10,000 table elements (80 KB) pass each cap alone and are
/// refused together.
#[test]
fn memory_and_tables_share_one_running_total() {
    let engine = engine();
    let gate = gate_component(
        r#"
  (table $t 1 funcref)
  (func (export "admit") (param $args i32) (result i32)
    (drop (memory.grow (i32.sub (i32.const 4095) (memory.size))))
    (drop (table.grow $t (ref.null func) (i32.const 10000)))
    (i32.store (i32.const 64) (i32.load offset=16 (local.get $args)))
    (i32.store (i32.const 68) (i32.load offset=20 (local.get $args)))
    (i32.store (i32.const 72) (i32.const 0))
    (i32.store (i32.const 76) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 0))
    (i32.store (i32.const 84) (i32.const 0))
    (i32.const 64))"#,
    );
    let policy = load(&engine, &gate).expect("loads");
    let err = admit_named(&policy, "{}", &gate_input(20, 5)).expect_err("over the cap");
    assert!(
        matches!(
            err,
            PolicyError::ResourceExceeded {
                limit: ResourceLimit::Memory { .. },
                ..
            }
        ),
        "{err:?}"
    );
    // With room for both, the same policy decides.
    let roomy = Limits {
        memory_bytes: 300 << 20,
        ..Limits::default()
    };
    admit_named_with(&policy, Some(roomy), "{}", &gate_input(20, 5)).expect("fits");
}

/// Item 13: a `table.grow` past the element limit is its own typed resource error, not an
/// invalid output.
#[test]
fn table_grow_past_the_limit_is_a_resource_error() {
    let engine = engine();
    let gate = gate_component(
        r#"
  (table $t 1 funcref)
  (func (export "admit") (param $args i32) (result i32)
    (drop (table.grow $t (ref.null func) (i32.const 2000000)))
    (i32.const 64))"#,
    );
    let policy = load(&engine, &gate).expect("loads");
    let err = admit_named(&policy, "{}", &gate_input(20, 5)).expect_err("refused");
    assert_eq!(
        err,
        PolicyError::ResourceExceeded {
            policy: "hostile".into(),
            limit: ResourceLimit::TableElements {
                cap: MAX_TABLE_ELEMENTS,
                requested: 2_000_001,
            },
        }
    );
    assert_eq!(err.code(), "resource-exceeded");
    assert_eq!(err.sub_code(), Some("table"));
}

/// Item 11: 150,000 empty functions (under a megabyte) are refused by the pre-scan, before
/// Cranelift sees them: the error names the limit, which only the scan checks.
#[test]
fn a_compile_bomb_of_empty_functions_is_refused_before_compiling() {
    let mut text = String::from("(component (core module\n");
    for _ in 0..150_000 {
        text.push_str("(func)\n");
    }
    text.push_str("))");
    let bytes = wat(&text);
    assert!(bytes.len() < 1 << 20, "{}", bytes.len());
    let err = load(&engine(), &bytes).expect_err("refused");
    assert_eq!(
        err,
        PolicyError::RejectedModule {
            policy: "hostile".into(),
            reason: Rejection::PastLimit {
                limit: ComponentLimit::Functions,
                value: 150_000,
                max: COMPONENT_LIMITS.functions,
            },
        }
    );
}

/// Item 11: every limit of the scan, each past by a little, each refused by name.
#[test]
fn every_scan_limit_refuses_its_own_excess() {
    // `n` instances of one module: each creates the module's memories and tables.
    let modules = |n: usize, body: &str| {
        let mut t = format!("(component (core module $m {body})\n");
        for _ in 0..n {
            t.push_str("(core instance (instantiate $m))\n");
        }
        t.push(')');
        wat(&t)
    };
    let nested = |depth: usize| {
        let mut t = String::new();
        for _ in 0..depth {
            t.push_str("(component ");
        }
        t.push_str(&")".repeat(depth));
        wat(&t)
    };
    let deep_type = |depth: usize| {
        let mut t = String::from("(component (type $t0 (list u8))\n");
        for i in 1..depth {
            t.push_str(&format!("(type $t{i} (list $t{}))\n", i - 1));
        }
        t.push(')');
        wat(&t)
    };
    let data = format!(
        "(component (core module (memory 100) (data (i32.const 0) \"{}\")))",
        "\\00".repeat(5 << 20)
    );
    let cases: Vec<(Vec<u8>, ComponentLimit)> = vec![
        (modules(5, "(memory 1)"), ComponentLimit::Memories),
        (modules(5, "(table 1 funcref)"), ComponentLimit::Tables),
        (wat(&data), ComponentLimit::DataBytes),
        (nested(40), ComponentLimit::Nesting),
        (deep_type(40), ComponentLimit::Nesting),
        (
            wat(&format!(
                "(component (core module (@custom \"pad\" \"{}\")))",
                "x".repeat(9 << 20)
            )),
            ComponentLimit::Bytes,
        ),
    ];
    let engine = engine();
    for (bytes, limit) in cases {
        match load(&engine, &bytes) {
            Err(PolicyError::RejectedModule {
                reason: Rejection::PastLimit { limit: got, .. },
                ..
            }) => assert_eq!(got, limit),
            other => panic!("{limit:?}: expected past-limit, got {other:?}"),
        }
    }
}

/// The built-ins stay far below every limit (the figures `docs/policy-runtime.md` quotes).
#[test]
fn the_builtins_are_far_below_the_scan_limits() {
    for name in convoy_test_support::BUILTINS {
        let counts = scan(&builtin(name), &COMPONENT_LIMITS).expect("within the limits");
        println!("{name}: {counts:?}");
        let l = &COMPONENT_LIMITS;
        assert!(counts.bytes * 4 <= l.bytes, "{name}: {counts:?}");
        assert!(counts.functions * 4 <= l.functions, "{name}: {counts:?}");
        assert!(
            counts.core_instances * 2 <= l.core_instances,
            "{name}: {counts:?}"
        );
        assert!(counts.memories * 2 <= l.memories, "{name}: {counts:?}");
        assert!(counts.tables * 2 <= l.tables, "{name}: {counts:?}");
        assert!(counts.data_bytes * 4 <= l.data_bytes, "{name}: {counts:?}");
        assert!(counts.nesting * 4 <= l.nesting, "{name}: {counts:?}");
    }
}

/// Item 12: a trap names the guest function from its name section; an escape sequence, a
/// bidi override or a megabyte of name reach the message escaped and cut.
#[test]
fn guest_function_names_in_traps_are_escaped_and_cut() {
    let engine = engine();
    let long = "n".repeat(1 << 20);
    let cases: [(&str, &str, &str); 3] = [
        (
            "\\1b[2J\\1b[32mPASS\\1b[0m",
            "\u{1b}",
            "\\u{001b}[2J\\u{001b}[32mPASS",
        ),
        (
            "evil\\e2\\80\\aetxt.exe",
            "\u{202e}",
            "evil\\u{202e}txt.exe",
        ),
        (&long, &long[..2000], "…["),
    ];
    for (name, must_not, must) in cases {
        let gate = gate_component(&format!(
            r#"
  (func $inner (@name "{name}") (unreachable))
  (func (export "admit") (param $args i32) (result i32)
    (call $inner)
    (i32.const 64))"#
        ));
        let policy = load(&engine, &gate).expect("loads");
        let err = admit_named(&policy, "{}", &gate_input(20, 5)).expect_err("traps");
        let PolicyError::Trap { trap, .. } = &err else {
            panic!("expected a trap, got {err:?}");
        };
        let message = err.to_string();
        assert!(trap.function.is_some(), "{trap:?}");
        assert!(!message.contains(must_not), "{message:.300}");
        assert!(message.contains(must), "{message:.300}");
        assert!(!message.chars().any(char::is_control), "{message:.300}");
        assert!(message.len() < 1000, "{} bytes", message.len());
    }
}

/// Item 12: import and export names are guest text too. The component model only allows
/// kebab-case names, so such a component is refused at validation; whatever the refusal
/// quotes of it reaches the message escaped.
#[test]
fn guest_import_and_export_names_are_escaped() {
    let bytes = wat(r#"(component
  (import "evil\1b[2J" (func))
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func (export "ad\e2\80\aemit") (canon lift (core func $i "f")))
)"#);
    let engine = engine();
    let err = load(&engine, &bytes).expect_err("refused");
    let message = err.to_string();
    let clean = |text: &str| {
        !text
            .chars()
            .any(|c| c.is_control() || convoy_host_runtime::text::is_invisible(c))
    };
    assert!(clean(&message), "{message:?}");
    let info = engine.inspect("hostile", &bytes).expect("inspect");
    let refusal = info.refusal.expect("refused");
    assert!(clean(&refusal), "{refusal:?}");
    for text in info.imports.iter().chain(&info.exports) {
        assert!(clean(text), "{text:?}");
    }
}
