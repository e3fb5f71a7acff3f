//! What every test of the `convoy` binary needs: run it, name a path, read its `--json`.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built `convoy` with `args`.
pub fn convoy(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convoy"))
        .args(args)
        .output()
        .expect("run convoy")
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The command's `--json` output, or a panic that shows what it printed instead.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
