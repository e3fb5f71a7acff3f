# Budgets: a count, a percentage, both, a 0 % freeze, and a budget of one over twelve
# hosts (legal, but warned about: it updates them one at a time).
let
  convoy = import ../../../lib;
  names = builtins.genList (i: "node${toString (i + 10)}") 12;
in
convoy.mkFleet {
  hosts = builtins.listToAttrs (
    map (name: {
      inherit name;
      value = {
        channel = "main";
        tags = [ "node" ] ++ (if name == "node10" || name == "node11" then [ "storage" ] else [ ]);
      };
    }) names
  );
  channels.main = {
    rolloutPolicy = "all";
    policies = [
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
  rolloutPolicies.all = {
    strategy = "all-at-once";
    waves = [ { selector.all = true; } ];
    healthGate.policy = "health";
  };
  disruptionBudgets = [
    {
      selector.tags = [ "node" ];
      maxInFlight = 1;
    }
    {
      selector.all = true;
      maxInFlightPct = 25;
    }
    {
      selector.tags = [ "storage" ];
      maxInFlight = 1;
      maxInFlightPct = 50;
    }
    {
      selector.hosts = [ "node21" ];
      maxInFlightPct = 0;
    }
  ];
}
