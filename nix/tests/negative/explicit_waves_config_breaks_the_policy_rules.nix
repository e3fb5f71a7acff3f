# An explicit configuration of the built-in `waves` policy is held to the same rules as
# the derived one: mkFleet refuses what its validate-config would refuse at release.
# expect: channels.canary.policies.0.config.waves: a canary rollout needs at least two waves (the canary, then the rest), not 1
# expect: channels.canary.policies.0.config.skipOfflineAfterMinutes: must be at least 1
import ../base-fleet.nix (
  b:
  b
  // {
    channels = b.channels // {
      canary = b.channels.canary // {
        policies = [
          {
            name = "waves";
            kind = "rollout";
            config = {
              strategy = "canary";
              waves = [ { selector.all = true; } ];
              skipOfflineAfterMinutes = 0;
            };
          }
          {
            name = "health";
            kind = "health";
          }
        ];
      };
    };
  }
)
