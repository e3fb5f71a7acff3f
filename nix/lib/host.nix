# mkHost: a fleet host whose NixOS system includes the Convoy agent.
#
# The NixOS system is evaluated lazily: mkFleet only reads the host's fleet attributes
# (channel, tags, ...), so a fleet of mkHost hosts resolves without nixpkgs; building
# `systems.<host>` needs the nixpkgs passed here.
{ }:
let
  agentModule = ../modules/agent.nix;
in
{
  mkHost =
    {
      # A nixpkgs flake (anything with `lib.nixosSystem`) or a nixpkgs source tree.
      nixpkgs ? null,
      # Or the function that evaluates a NixOS system (`nixpkgs.lib.nixosSystem`).
      nixosSystem ? null,
      # The host's name in the fleet; becomes its `networking.hostName` (by default)
      # and the name its agent checks in with.
      name ? null,
      system ? "x86_64-linux",
      channel,
      tags ? [ ],
      pubkey ? null,
      pin ? null,
      # The host's own NixOS modules.
      modules ? [ ],
      # Settings for `services.convoy-agent` (enable is implied).
      agent ? { },
      specialArgs ? { },
    }:
    let
      evalSystem =
        if nixosSystem != null then
          nixosSystem
        else if nixpkgs != null then
          (nixpkgs.lib.nixosSystem or (import "${nixpkgs}/nixos/lib/eval-config.nix"))
        else
          throw "mkHost${
            if name == null then "" else " ${name}"
          }: pass `nixpkgs` or `nixosSystem` to evaluate this host's NixOS system";
      nameModule =
        { lib, ... }:
        lib.optionalAttrs (name != null) {
          networking.hostName = lib.mkDefault name;
          services.convoy-agent.hostName = lib.mkDefault name;
        };
      nixos = evalSystem {
        inherit system specialArgs;
        modules = [
          agentModule
          nameModule
          { services.convoy-agent = { enable = true; } // agent; }
        ]
        ++ modules;
      };
    in
    {
      inherit
        system
        channel
        tags
        pubkey
        pin
        nixos
        ;
      toplevel = nixos.config.system.build.toplevel;
    };
}
