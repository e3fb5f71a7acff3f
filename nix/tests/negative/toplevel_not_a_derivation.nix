# A host's system must be a derivation (or null): a store path string would reach
# `.systems` and CI would try to build a string.
# expect: hosts.web1.toplevel: expected a derivation (a NixOS system's config.system.build.toplevel) or null, got the string "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-web1"
# expect: hosts.web2.toplevel: expected a derivation (a NixOS system's config.system.build.toplevel) or null, got an attribute set (`name`)
import ../base-fleet.nix (
  b:
  b
  // {
    hosts = b.hosts // {
      web1 = b.hosts.web1 // {
        toplevel = "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-web1";
      };
      web2 = b.hosts.web2 // {
        toplevel.name = "web2";
      };
    };
  }
)
