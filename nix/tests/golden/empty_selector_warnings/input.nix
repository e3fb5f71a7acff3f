# Legal but suspicious: an empty `and` (every host), an empty `or` and an empty `tagsAny`
# (no host), a wave that selects nothing, a host in no wave, an unused rollout policy.
# The fleet resolves; `.warnings` lists each one.
let
  convoy = import ../../../lib;
in
convoy.mkFleet {
  hosts = {
    a.channel = "main";
    b = {
      channel = "main";
      tags = [ "late" ];
    };
  };
  channels.main = {
    rolloutPolicy = "used";
    policies = [
      {
        name = "health";
        kind = "health";
      }
    ];
  };
  rolloutPolicies = {
    used = {
      waves = [
        { selector.hosts = [ "a" ]; }
        { selector.or = [ ]; }
      ];
      healthGate.policy = "health";
    };
    unused = {
      waves = [ { selector.and = [ ]; } ];
      healthGate.policy = "health";
    };
  };
  disruptionBudgets = [
    {
      selector.tagsAny = [ ];
      maxInFlight = 1;
    }
  ];
}
