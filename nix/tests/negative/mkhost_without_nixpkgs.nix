# attr: systems.web1
# expect: mkHost web1: pass `nixpkgs` or `nixosSystem` to evaluate this host's NixOS system
let
  convoy = import ../../lib;
in
import ../base-fleet.nix (
  b:
  b
  // {
    hosts = b.hosts // {
      web1 = convoy.mkHost {
        name = "web1";
        channel = "stable";
        tags = [ "web" ];
      };
    };
  }
)
