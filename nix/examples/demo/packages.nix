# The demo as packages that need no nixpkgs (exposed by the flake): the resolved fleet
# document and each host's test system.
{ system }:
let
  fleet = import ./fleet.nix;
  systems = import ./systems.nix { inherit system; };
in
{
  demo-fleet-resolved = builtins.derivation {
    name = "demo-fleet.resolved.json";
    inherit system;
    builder = "/bin/sh";
    PATH = "/bin:/usr/bin";
    json = builtins.toJSON fleet.resolved;
    passAsFile = [ "json" ];
    args = [
      "-c"
      ''cp "$jsonPath" "$out"''
    ];
  };
}
// builtins.listToAttrs (
  map (name: {
    name = "demo-system-${name}";
    value = systems.${name};
  }) (builtins.attrNames systems)
)
