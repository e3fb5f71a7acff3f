#!/usr/bin/env bash
# Build every built-in policy into an import-free component:
#   policies/build.sh [OUT_DIR] [BUILTIN...]      (default OUT_DIR: policies/out)
# Prints one line per component: name, world, sha256, size (tab-separated).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/out}"
shift || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/../target-policy}"
cargo build --quiet --release --manifest-path "$here/Cargo.toml" -p convoy-policy-build --bin convoy-policy-build
"$CARGO_TARGET_DIR/release/convoy-policy-build" --out "$out" --target-dir "$CARGO_TARGET_DIR" "$@"
