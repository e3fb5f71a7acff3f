# Three channels ordered by channel edges, host edges inside a channel, a rollout policy
# shared by two channels, and each channel's policies kept in their declared order.
let
  convoy = import ../../../lib;
  policies = [
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
      name = "health";
      kind = "health";
      config = {
        consecutiveFailures = 3;
      };
    }
  ];
in
convoy.mkFleet {
  hosts = {
    c1 = {
      channel = "canary";
      tags = [ "ci" ];
    };
    s1 = {
      channel = "stable";
      tags = [ "db" ];
    };
    s2 = {
      channel = "stable";
      tags = [ "web" ];
    };
    s3 = {
      channel = "stable";
      tags = [ "web" ];
    };
    e1 = {
      channel = "edge";
      tags = [ "lb" ];
    };
  };
  channels = {
    canary = {
      rolloutPolicy = "fast";
      inherit policies;
      signingIntervalMinutes = 30;
      freshnessWindowMinutes = 60;
    };
    stable = {
      rolloutPolicy = "careful";
      inherit policies;
      reconcileIntervalMinutes = 5;
    };
    edge = {
      rolloutPolicy = "fast";
      inherit policies;
    };
  };
  rolloutPolicies = {
    fast = {
      strategy = "all-at-once";
      waves = [
        {
          selector.all = true;
          soakMinutes = 0;
        }
      ];
      healthGate = {
        policy = "health";
        timeoutMinutes = 5;
      };
    };
    careful = {
      strategy = "canary";
      waves = [
        {
          # The database first: s2 and s3 wait for it (edges), so it must not be in a
          # later wave than they are (mkFleet refuses an edge against the wave order).
          selector.hosts = [ "s1" ];
          soakMinutes = 60;
        }
        {
          selector.channel = "stable";
          soakMinutes = 120;
        }
      ];
      healthGate.policy = "health";
      onHealthFailure = "rollback-and-halt";
    };
  };
  edges = [
    {
      before = "s1";
      after = "s2";
    }
    {
      before = "s1";
      after = "s3";
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
    {
      before = "canary";
      after = "edge";
    }
  ];
}
