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
      # Every built-in, so that `builtinConfigs` holds what each would be handed
      # (policies/conformance/tests/nix_agreement.rs runs their validate-config on it).
      stable = {
        rolloutPolicy = "staged";
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
            name = "disruption-budget";
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
