# A NixFleet fleet ported to Convoy (docs/porting-from-nixfleet.md walks through it; the
# guide prints this file, and nix/tests/run.sh checks the two are the same and that it
# resolves). Every value whose default differs between the two is written out.
let
  convoy = import ../../lib;
  inherit (convoy) sel;
  health = {
    name = "health";
    kind = "health";
  };
  builtins' = [
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
    health
  ];
in
convoy.mkFleet {
  # NixFleet warns about an undeclared tag in a selector; Convoy refuses it. Declare the
  # whole vocabulary once.
  tags = {
    web = "web servers";
    db = "databases";
    deprecated = "hosts being retired: never updated";
    eu = "EU region";
  };
  hosts = {
    web1 = {
      channel = "prod";
      tags = [ "web" "eu" ];
    };
    web2 = {
      channel = "prod";
      tags = [ "web" ];
    };
    db1 = {
      channel = "prod";
      tags = [ "db" "eu" ];
    };
    # NixFleet's `selector-not` case: a retired host that no wave selects. Convoy does
    # not update it either (mkFleet warns, naming it).
    legacy1 = {
      channel = "prod";
      tags = [ "web" "deprecated" ];
    };
    stage1 = {
      channel = "staging";
      tags = [ "web" ];
    };
  };
  channels = {
    staging = {
      rolloutPolicy = "all-at-once";
      reconcileIntervalMinutes = 5; # written out: Convoy's default is 2
      signingIntervalMinutes = 60;
      freshnessWindowMinutes = 180; # NixFleet's `freshnessWindow`, in minutes
      policies = builtins';
    };
    prod = {
      rolloutPolicy = "db-first";
      reconcileIntervalMinutes = 5;
      signingIntervalMinutes = 60;
      freshnessWindowMinutes = 240;
      policies = builtins';
    };
  };
  rolloutPolicies = {
    all-at-once = {
      strategy = "all-at-once";
      waves = [
        {
          selector = sel.all;
          soakMinutes = 10; # written out: Convoy's default is 15
        }
      ];
      healthGate = {
        policy = "health";
        timeoutMinutes = 15;
      };
      onHealthFailure = "rollback-and-halt"; # written out: Convoy's default is "halt"
    };
    db-first = {
      strategy = "staged";
      waves = [
        {
          selector = sel.tags [ "db" ];
          soakMinutes = 30;
        }
        {
          selector = sel.and [
            (sel.tags [ "web" ])
            (sel.not (sel.tags [ "deprecated" ]))
          ];
          soakMinutes = 10;
        }
      ];
      healthGate = {
        policy = "health";
        timeoutMinutes = 15;
      };
      onHealthFailure = "rollback-and-halt";
    };
  };
  # NixFleet: `web1.gated = [ "db1" ]` (web1 waits for db1). Convoy: an edge, read
  # "db1 before web1". db1 is in an earlier wave than web1, as mkFleet requires.
  edges = [
    {
      before = "db1";
      after = "web1";
    }
  ];
  # NixFleet: `prod.gates = [ "staging" ]`.
  channelEdges = [
    {
      before = "staging";
      after = "prod";
    }
  ];
  disruptionBudgets = [
    {
      selector = sel.tags [ "web" ];
      maxInFlight = 1;
    }
  ];
  # NixFleet pinned web2 to a commit; Convoy pins a closure (the built system), which is
  # what the host runs whatever the commit builds today. One pin per host at most.
  pins = [
    {
      selector = sel.hosts [ "web2" ];
      closureHash = "/nix/store/0c5z8ss6l8yqvgqpx0n3iybxrcdhg1fs-nixos-system-web2-pinned";
      reason = "vendor driver certified on this build only (ticket OPS-1432)";
    }
  ];
}
