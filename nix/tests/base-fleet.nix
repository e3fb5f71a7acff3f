# A valid little fleet that negative fixtures break in one place each:
#   (import ../base-fleet.nix) (base: base // { ... })
f:
let
  convoy = import ../lib;
  base = {
    hosts = {
      web1 = {
        channel = "stable";
        tags = [ "web" ];
      };
      web2 = {
        channel = "stable";
        tags = [ "web" ];
      };
      db1 = {
        channel = "stable";
        tags = [ "db" ];
      };
      ci1 = {
        channel = "canary";
        tags = [ "ci" ];
      };
    };
    channels = {
      stable = {
        rolloutPolicy = "staged";
        policies = [
          {
            name = "host-edges";
            kind = "gate";
          }
          {
            name = "health";
            kind = "health";
          }
        ];
      };
      canary = {
        rolloutPolicy = "staged";
        policies = [
          {
            name = "health";
            kind = "health";
          }
        ];
      };
    };
    rolloutPolicies.staged = {
      waves = [
        { selector.tags = [ "ci" ]; }
        { selector.all = true; }
      ];
      healthGate.policy = "health";
    };
  };
in
convoy.mkFleet (f base)
