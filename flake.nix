{
  description = "Convoy: a signed GitOps orchestrator for NixOS fleets";

  # No inputs on purpose: `lib` (mkFleet, mergeFleets, mkHost) evaluates with builtins
  # only, so `nix eval` of a fleet works offline and without a nixpkgs channel. Binaries
  # come through `overlays.default`, applied to the nixpkgs of the consuming flake.
  outputs =
    { self }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) systems
        );
      # Wrapped as attribute sets (not bare paths) for `nix flake check` of older Nix;
      # `_file` keeps error messages pointing at the module's file.
      modules = builtins.mapAttrs (_: path: {
        _file = path;
        imports = [ path ];
      }) (import ./nix/modules);
    in
    {
      lib = import ./nix/lib;

      # Fleets defined in this repository, as mkFleet returns them; CI releases one with
      #   convoy-release publish --fleet-flake .#fleets.demo.resolved ...
      fleets.demo = import ./nix/examples/demo/fleet.nix;

      nixosModules = modules // {
        default = {
          imports = builtins.attrValues modules;
          nixpkgs.overlays = [ self.overlays.default ];
        };
      };

      # pkgs.convoy: convoy-cp, convoy-agent, convoy-release and convoy, built from this
      # tree with the consumer's nixpkgs (rustPlatform).
      overlays.default = final: _prev: {
        convoy = final.callPackage ./nix/package.nix { src = self; };
      };

      # Packages that need no nixpkgs: the demo fleet's resolved document and the tiny
      # test systems of its hosts (input-addressed; build with `sandbox = false`).
      packages = forAllSystems (
        system:
        let
          demo = import ./nix/examples/demo/packages.nix { inherit system; };
        in
        demo // { default = demo.demo-fleet-resolved; }
      );
    };
}
