# expect: policy `host-edges` of channel `stable` is a `gate` policy, not a `health` one
import ../base-fleet.nix (
  b:
  b
  // {
    channels = b.channels // {
      canary = b.channels.canary // { rolloutPolicy = "other"; };
    };
    rolloutPolicies.staged = b.rolloutPolicies.staged // { healthGate.policy = "host-edges"; };
    rolloutPolicies.other = b.rolloutPolicies.staged;
  }
)
