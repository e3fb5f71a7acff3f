# One host, one channel, one wave: every default filled in, every optional value null.
let
  convoy = import ../../../lib;
in
convoy.mkFleet {
  hosts.box1.channel = "main";
  channels.main = {
    rolloutPolicy = "simple";
    policies = [
      {
        name = "health";
        kind = "health";
      }
    ];
  };
  rolloutPolicies.simple = {
    waves = [ { selector.all = true; } ];
    healthGate.policy = "health";
  };
}
