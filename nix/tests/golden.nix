# What a golden fixture's expected.json holds: the outputs of mkFleet that CI and the
# control plane consume. Used by run.sh and by proto/tests/nix_fixtures.rs, so both
# evaluate exactly the same thing:
#   nix-instantiate --eval --strict --json nix/tests/golden.nix --argstr case minimal
{ case }:
let
  fleet = import (./golden + "/${case}/input.nix");
in
{
  inherit (fleet)
    resolved
    revocations
    selectorResolutions
    pinnedHosts
    warnings
    ;
}
// (fleet.goldenExtra or { })
