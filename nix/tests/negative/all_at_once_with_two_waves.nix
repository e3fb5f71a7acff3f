# The waves policy's validate-config refuses an all-at-once rollout of several waves.
# expect: rolloutPolicies.staged.waves: an all-at-once rollout has exactly one wave, not 2
import ../base-fleet.nix (
  b:
  b
  // {
    rolloutPolicies.staged = b.rolloutPolicies.staged // {
      strategy = "all-at-once";
    };
  }
)
