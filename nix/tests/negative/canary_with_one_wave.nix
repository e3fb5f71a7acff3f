# The waves policy's validate-config refuses a canary rollout of one wave; so does mkFleet.
# expect: rolloutPolicies.staged.waves: a canary rollout needs at least two waves (the canary, then the rest), not 1
import ../base-fleet.nix (
  b:
  b
  // {
    rolloutPolicies.staged = b.rolloutPolicies.staged // {
      strategy = "canary";
      waves = [ { selector.all = true; } ];
    };
  }
)
