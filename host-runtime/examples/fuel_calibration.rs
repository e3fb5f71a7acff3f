//! Measures the worst wall-clock time per unit of fuel on this machine, and checks that
//! the default fuel budget cannot reach the default epoch deadline (issue 9, item 9).
//!
//! Fuel is what decides a call; the deadline is a backstop for a host too slow or too
//! busy to reach the fuel limit. For that to hold, the slowest code per fuel unit must
//! still finish its whole budget well before the deadline. The slowest is memory access
//! that misses every cache: a pointer chase over a random cycle across the whole memory
//! cap (one dependent load per step, each a cache and TLB miss). Also measured: register
//! code (for contrast) and touching every page of the cap once (page faults cost time but
//! almost no fuel; they are bounded by the cap, so they add a constant, not a rate). The
//! chase runs alone and then in `CONVOY_CALIBRATION_THREADS` (default 3) threads at once,
//! as a busy control plane runs several evaluations.
//!
//! Run: `cargo run -p convoy-host-runtime --example fuel_calibration` (a debug build is
//! fine: the measured code is Cranelift's, the same in every profile)
//! (`docs/policy-runtime.md`, "Fuel and the deadline", records its figures).

use std::time::{Duration, Instant};

use convoy_host_runtime::{Limits, deterministic_config};
use wasmtime::{Engine, Instance, Module, Store};

/// The chase: `next = memory[next]`, `steps` times; returns the last index so that no
/// step can be optimised away. Also a register loop and a page toucher.
const MODULE: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "chase") (param $p i32) (param $steps i32) (result i32)
    (loop $next
      (local.set $p (i32.load (local.get $p)))
      (br_if $next (local.tee $steps (i32.sub (local.get $steps) (i32.const 1)))))
    (local.get $p))
  (func (export "spin") (param $x i32) (param $steps i32) (result i32)
    (loop $next
      (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 1103515245)) (i32.const 12345)))
      (br_if $next (local.tee $steps (i32.sub (local.get $steps) (i32.const 1)))))
    (local.get $x))
  (func (export "touch") (param $pages i32) (result i32)
    (local $at i32)
    (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))
    (loop $next
      (i32.store8 (local.get $at) (i32.const 1))
      (local.set $at (i32.add (local.get $at) (i32.const 65536)))
      (br_if $next (i32.lt_u (local.get $at) (i32.mul (local.get $pages) (i32.const 65536)))))
    (local.get $at))
)
"#;

struct Measured {
    fuel: u64,
    elapsed: Duration,
}

impl Measured {
    fn ns_per_fuel(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.fuel.max(1) as f64
    }
}

fn store(engine: &Engine) -> Store<()> {
    let mut store = Store::new(engine, ());
    store.set_fuel(u64::MAX).expect("fuel");
    store.set_epoch_deadline(u64::MAX);
    store
}

/// Fills `pages` of memory with one random cycle through every 4-byte slot (Sattolo's
/// algorithm, so the chase visits them all), then chases it for `steps`.
fn chase(engine: &Engine, module: &Module, pages: u32, steps: u32) -> Measured {
    let mut store = store(engine);
    let instance = Instance::new(&mut store, module, &[]).expect("instance");
    let memory = instance.get_memory(&mut store, "memory").expect("memory");
    memory
        .grow(&mut store, u64::from(pages) - 1)
        .expect("grow to the cap");
    let slots = (pages as usize) << 14;
    let mut next: Vec<u32> = (0..slots as u32).collect();
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for i in (1..slots).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = (seed % i as u64) as usize;
        next.swap(i, j);
    }
    let data = memory.data_mut(&mut store);
    for (i, n) in next.iter().enumerate() {
        data[i * 4..i * 4 + 4].copy_from_slice(&(n * 4).to_le_bytes());
    }
    drop(next);
    let f = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "chase")
        .expect("chase");
    let before = store.get_fuel().expect("fuel");
    let t = Instant::now();
    std::hint::black_box(f.call(&mut store, (0, steps as i32)).expect("chase runs"));
    Measured {
        elapsed: t.elapsed(),
        fuel: before - store.get_fuel().expect("fuel"),
    }
}

fn run(engine: &Engine, module: &Module, export: &str, args: (i32, i32)) -> Measured {
    let mut store = store(engine);
    let instance = Instance::new(&mut store, module, &[]).expect("instance");
    let before = store.get_fuel().expect("fuel");
    let t = Instant::now();
    if export == "touch" {
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, export)
            .expect("export");
        std::hint::black_box(f.call(&mut store, args.0).expect("runs"));
    } else {
        let f = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, export)
            .expect("export");
        std::hint::black_box(f.call(&mut store, args).expect("runs"));
    }
    Measured {
        elapsed: t.elapsed(),
        fuel: before - store.get_fuel().expect("fuel"),
    }
}

fn main() {
    let limits = Limits::default();
    let engine = Engine::new(&deterministic_config()).expect("engine");
    let module = Module::new(&engine, wat::parse_str(MODULE).expect("wat")).expect("module");
    let pages = u32::try_from(limits.memory_bytes >> 16).expect("pages") - 1;
    // Steps of each chase; `CONVOY_CALIBRATION_STEPS` overrides.
    let steps: u32 = std::env::var("CONVOY_CALIBRATION_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let threads: usize = std::env::var("CONVOY_CALIBRATION_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);

    let spin = run(&engine, &module, "spin", (1, 50_000_000));
    println!(
        "register loop:        {:>6.3} ns/fuel ({} fuel in {:?})",
        spin.ns_per_fuel(),
        spin.fuel,
        spin.elapsed
    );
    let alone = chase(&engine, &module, pages, steps);
    println!(
        "pointer chase, alone: {:>6.3} ns/fuel ({} fuel in {:?}, over {} MiB)",
        alone.ns_per_fuel(),
        alone.fuel,
        alone.elapsed,
        u64::from(pages) * 64 / 1024
    );
    let busy: Vec<Measured> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| chase(&engine, &module, pages, steps)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let worst_busy = busy
        .iter()
        .map(Measured::ns_per_fuel)
        .fold(0.0_f64, f64::max);
    println!(
        "pointer chase, {threads} at once: {worst_busy:>6.3} ns/fuel (worst of the {threads})"
    );
    let touch = run(&engine, &module, "touch", (pages as i32, 0));
    println!(
        "touch every page of the {} MiB cap once: {:?} for {} fuel",
        limits.memory_bytes >> 20,
        touch.elapsed,
        touch.fuel
    );

    let worst = alone.ns_per_fuel().max(worst_busy);
    let budget_time = Duration::from_nanos((limits.fuel as f64 * worst) as u64) + touch.elapsed;
    let margin = limits.timeout.as_secs_f64() / budget_time.as_secs_f64();
    println!();
    println!(
        "default fuel budget {} × worst {worst:.3} ns/fuel + page touching {:?} = {:.2} s",
        limits.fuel,
        touch.elapsed,
        budget_time.as_secs_f64()
    );
    println!(
        "default deadline {} s: margin {margin:.1}x (required: 10x) → {}",
        limits.timeout.as_secs(),
        if margin >= 10.0 { "OK" } else { "TOO SMALL" }
    );
    println!(
        "largest fuel budget with a 10x margin under this deadline: {}",
        ((limits.timeout.as_secs_f64() / 10.0 - touch.elapsed.as_secs_f64()) / worst * 1e9) as u64
    );
}
