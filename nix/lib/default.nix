# Convoy's Nix library. Evaluates with builtins only (no nixpkgs), so fleets can be
# checked and resolved with a bare `nix` on any machine:
#
#   let convoy = import ./nix/lib; in
#   convoy.mkFleet { hosts = ...; channels = ...; rolloutPolicies = ...; }
#
# See docs/fleet-nix.md for every option.
let
  util = import ./util.nix;
  selectors = import ./selectors.nix { inherit util; };
  graph = import ./graph.nix { inherit util; };
  fleet = import ./fleet.nix { inherit util selectors graph; };
  host = import ./host.nix { };
in
{
  inherit (fleet) mkFleet mergeFleets;
  # Every mkFleet option, as a path such as `hosts.<name>.channel`.
  fleetOptions = fleet.optionPaths;
  inherit (host) mkHost;

  # Selector constructors (`sel.tags [ "web" ]`) and the evaluator mkFleet uses.
  sel = selectors.constructors;
  selectors = {
    inherit (selectors) matches resolve;
    check = selectors.shapeErrors "selector";
  };
}
