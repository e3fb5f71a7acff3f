# mkHost without nixpkgs: a stand-in `nixosSystem` records what it is given, so the test
# sees that the agent module is always included and the host's settings reach it, while
# the fleet still resolves without evaluating any NixOS system.
let
  convoy = import ../../../lib;
  nixosSystem = args: {
    inherit args;
    # A derivation, as a real NixOS system's toplevel is (mkFleet refuses anything else).
    config.system.build.toplevel = builtins.derivation {
      name = "nixos-system-stub";
      inherit (args) system;
      builder = "/bin/sh";
    };
  };
  web = convoy.mkHost {
    inherit nixosSystem;
    name = "web1";
    system = "aarch64-linux";
    channel = "main";
    tags = [ "web" ];
    agent.controlPlaneUrl = "https://cp.example.org:8443";
    modules = [ { networking.firewall.enable = true; } ];
  };
  fleet = convoy.mkFleet {
    hosts.web1 = web;
    channels.main = {
      rolloutPolicy = "all";
      policies = [
        {
          name = "health";
          kind = "health";
        }
      ];
    };
    rolloutPolicies.all = {
      waves = [ { selector.all = true; } ];
      healthGate.policy = "health";
    };
  };
  modules = web.nixos.args.modules;
in
fleet
// {
  goldenExtra = {
    mkHost = {
      inherit (web.nixos.args) system;
      moduleCount = builtins.length modules;
      firstModuleIsAgent = builtins.baseNameOf (toString (builtins.head modules)) == "agent.nix";
      agentSettings = (builtins.elemAt modules 2).services.convoy-agent;
      toplevel = fleet.systems.web1;
    };
  };
}
