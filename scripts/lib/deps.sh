# Installs what Convoy's demo and tests need on a fresh Debian machine with rustup, and
# nothing that is already there. Sourced by scripts/demo.sh and scripts/test.sh.

convoy_install_deps() {
  local missing=()
  command -v nix-build >/dev/null 2>&1 || missing+=(nix-bin)
  command -v git >/dev/null 2>&1 || missing+=(git)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    echo "==> installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo "==> adding the wasm32-unknown-unknown target (policies are WebAssembly components)"
    rustup target add wasm32-unknown-unknown
  fi
  # Debian's nix 2.8 runs as root without a daemon; test systems build with /bin/sh.
  export NIX_CONFIG="experimental-features = nix-command flakes
sandbox = false"
}

# What scripts/fuzz.sh needs besides the above: a nightly toolchain (libFuzzer's
# instrumentation needs it) and cargo-fuzz, installed only when missing.
convoy_install_fuzz_deps() {
  if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "==> installing the nightly toolchain (cargo-fuzz builds with it)"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
}
