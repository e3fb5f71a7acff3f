#!/usr/bin/env bash
# Runs every test of Convoy, as CI does (.ci/run calls this): formatting and lints, the
# guest policies (native unit tests, then built into components), the Rust workspace
# (real Nix store and binary cache, real wasmtime, the policy scenario fixtures), and the
# Nix fixtures. Installs what it needs on a fresh Debian machine with rustup.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/deps.sh
convoy_install_deps

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "formatting (cargo fmt --check)"
cargo fmt --all --check
cargo fmt --manifest-path policies/Cargo.toml --all --check

step "lints (cargo clippy -D warnings)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
CARGO_TARGET_DIR=target-policy cargo clippy --manifest-path policies/Cargo.toml --workspace --all-targets --quiet -- -D warnings

step "guest policies: native tests (logic, SDK, build tool, fixtures run natively)"
CARGO_TARGET_DIR=target-policy cargo test --manifest-path policies/Cargo.toml --workspace

step "guest policies: build the import-free components (policies/out)"
policies/build.sh

step "workspace tests (proto, release, cli, host-runtime, reconciler, policy-tests)"
# Every test that runs the real built-ins uses the components just built; among them,
# policy-tests/tests/fixtures.rs runs every scenario fixture through wasmtime.
export CONVOY_POLICY_COMPONENTS="$PWD/policies/out"
cargo test --workspace

step "Nix fixtures (mkFleet golden and negative cases, modules, flake)"
nix/tests/run.sh

step "fuzz targets (bounded)"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} scripts/fuzz.sh

echo
echo "all test suites passed in $((SECONDS - started))s"
