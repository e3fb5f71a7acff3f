# `nixos` must be a NixOS system yielding a derivation. It is checked where the system is
# evaluated, in `.systems` (`.resolved` never evaluates NixOS, so it needs no nixpkgs).
# attr: systems
# expect: mkFleet: the fleet's systems have 2 errors
# expect: hosts.web1.nixos: expected a NixOS system whose config.system.build.toplevel is a derivation, or null, got one whose toplevel is the string "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-web1"
# expect: hosts.web2.nixos: expected a NixOS system whose config.system.build.toplevel is a derivation, or null, got the string "web2"
import ../base-fleet.nix (
  b:
  b
  // {
    hosts = b.hosts // {
      web1 = b.hosts.web1 // {
        nixos.config.system.build.toplevel = "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-web1";
      };
      web2 = b.hosts.web2 // {
        nixos = "web2";
      };
    };
  }
)
