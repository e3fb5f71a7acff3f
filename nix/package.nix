# The Convoy binaries (convoy-cp, convoy-agent, convoy-release, convoy), built with the
# consumer's nixpkgs. Used by the flake's overlays.default; needs nixpkgs, unlike nix/lib.
{
  lib,
  rustPlatform,
  pkg-config,
  openssl,
  sqlite,
  src,
}:
rustPlatform.buildRustPackage {
  pname = "convoy";
  version = (builtins.fromTOML (builtins.readFile ../Cargo.toml)).workspace.package.version;
  inherit src;
  cargoLock.lockFile = ../Cargo.lock;
  nativeBuildInputs = [ pkg-config ];
  buildInputs = [
    openssl
    sqlite
  ];
  # The e2e tests need a Nix store, swtpm and loopback networking; CI runs them.
  doCheck = false;
  meta = {
    description = "Signed GitOps orchestrator for NixOS fleets";
    license = lib.licenses.asl20;
    platforms = lib.platforms.linux;
    mainProgram = "convoy";
  };
}
