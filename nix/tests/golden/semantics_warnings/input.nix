# Warnings for what the policies will do that the operator may not expect (the fleet
# still resolves):
# - `old1` is in no wave of `web-first`: its rollouts never dispatch it (the waves policy
#   updates only the hosts its selectors pick); `unselectedHosts` names it;
# - 10% of the 4 web hosts is less than one host: the budget rounds it up to one;
# - `main`'s explicit waves configuration skips offline hosts after 30 minutes, but its
#   health gate fails a dispatched host at 20: a dispatched host that goes silent is
#   failed before it could be skipped;
# - `other` runs the derived waves configuration (default 60 minutes, timeout 15): no
#   warning, a dispatched host going silent is a failure by design.
# `.systems` takes a host's system from `nixos` when `toplevel` is not given.
let
  convoy = import ../../../lib;
  system =
    name:
    builtins.derivation {
      inherit name;
      system = "x86_64-linux";
      builder = "/bin/sh";
    };
  web = name: {
    channel = "main";
    tags = [ "web" ];
  };
  fleet = convoy.mkFleet {
  hosts = {
    web1 = web "web1";
    web2 = web "web2";
    web3 = web "web3";
    web4 = web "web4" // {
      nixos.config.system.build.toplevel = system "web4";
    };
    old1 = {
      channel = "main";
      tags = [ "deprecated" ];
    };
    ci1.channel = "other";
  };
  channels = {
    main = {
      rolloutPolicy = "web-first";
      policies = [
        {
          name = "waves";
          kind = "rollout";
          config = {
            strategy = "staged";
            waves = [ { selector.tags = [ "web" ]; } ];
            healthGate = {
              policy = "health";
              timeoutMinutes = 20;
            };
            skipOfflineAfterMinutes = 30;
          };
        }
        {
          name = "disruption-budget";
          kind = "gate";
        }
        {
          name = "health";
          kind = "health";
        }
      ];
    };
    other = {
      rolloutPolicy = "all";
      policies = [
        {
          name = "waves";
          kind = "rollout";
        }
        {
          name = "health";
          kind = "health";
        }
      ];
    };
  };
  rolloutPolicies = {
    web-first = {
      waves = [ { selector.tags = [ "web" ]; } ];
      healthGate = {
        policy = "health";
        timeoutMinutes = 20;
      };
    };
    all = {
      strategy = "all-at-once";
      waves = [ { selector.all = true; } ];
      healthGate.policy = "health";
    };
  };
  disruptionBudgets = [
    {
      selector.tags = [ "web" ];
      maxInFlightPct = 10;
    }
  ];
};
in
fleet
// {
  goldenExtra = {
    inherit (fleet) unselectedHosts systems;
  };
}
