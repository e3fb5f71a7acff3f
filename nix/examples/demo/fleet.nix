# The demo fleet: five hosts on three channels. `canary` gets every release first, then
# `stable` (in waves, web servers in Europe first, the database before its web server),
# then `edge`. CI evaluates it with
#   nix-instantiate --eval --strict --json nix/examples/demo/fleet.nix -A resolved
# and builds each host's system with
#   nix-build nix/examples/demo/fleet.nix -A systems.web1 --option sandbox false
let
  convoy = import ../../lib;
  inherit (convoy) sel;
  systems = import ./systems.nix { };

  # The built-in policies every channel runs: the rollout planner, then the gates in the
  # order they chain, then health and attestation.
  builtinPolicies = [
    {
      name = "waves";
      kind = "rollout";
    }
    {
      name = "channel-edges";
      kind = "gate";
    }
    {
      name = "host-edges";
      kind = "gate";
    }
    {
      name = "disruption-budget";
      kind = "gate";
    }
    {
      name = "health";
      kind = "health";
    }
    {
      name = "attestation-quarantine";
      kind = "attestation";
    }
  ];

  host = name: channel: tags: {
    inherit channel tags;
    system = "x86_64-linux";
    toplevel = systems.${name};
  };
in
convoy.mkFleet {
  tags = {
    ci = "build and test runners";
    web = "public web servers";
    db = "databases";
    lb = "load balancers";
    eu = "in the EU region";
    us = "in the US region";
  };

  hosts = {
    ci1 = host "ci1" "canary" [
      "ci"
      "eu"
    ];
    web1 = host "web1" "stable" [
      "web"
      "eu"
    ];
    web2 = host "web2" "stable" [
      "web"
      "us"
    ];
    db1 = host "db1" "stable" [
      "db"
      "eu"
    ];
    lb1 = host "lb1" "edge" [
      "lb"
      "eu"
    ];
  };

  channels = {
    canary = {
      rolloutPolicy = "all-at-once";
      reconcileIntervalMinutes = 1;
      signingIntervalMinutes = 30;
      freshnessWindowMinutes = 120;
      policies = builtinPolicies;
    };
    stable = {
      rolloutPolicy = "eu-first";
      policies = builtinPolicies;
    };
    edge = {
      rolloutPolicy = "all-at-once";
      policies = builtinPolicies;
    };
  };

  rolloutPolicies = {
    all-at-once = {
      strategy = "all-at-once";
      waves = [
        {
          selector = sel.all;
          soakMinutes = 5;
        }
      ];
      healthGate = {
        policy = "health";
        timeoutMinutes = 10;
      };
    };
    eu-first = {
      strategy = "staged";
      waves = [
        {
          selector = sel.and [
            (sel.channel "stable")
            (sel.tags [ "eu" ])
          ];
          soakMinutes = 10;
        }
        {
          selector = sel.channel "stable";
          soakMinutes = 30;
        }
      ];
      healthGate = {
        policy = "health";
        timeoutMinutes = 15;
      };
      onHealthFailure = "rollback-and-halt";
    };
  };

  # web1 serves from db1: migrate the database first.
  edges = [
    {
      before = "db1";
      after = "web1";
    }
  ];

  channelEdges = [
    {
      before = "canary";
      after = "stable";
    }
    {
      before = "stable";
      after = "edge";
    }
  ];

  disruptionBudgets = [
    {
      selector = sel.tags [ "web" ];
      maxInFlight = 1;
    }
    {
      selector = sel.tagsAny [
        "eu"
        "us"
      ];
      maxInFlightPct = 50;
    }
  ];

  revocations = [ ];
}
