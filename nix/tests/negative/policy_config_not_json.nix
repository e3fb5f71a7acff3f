# expect: channels.stable.policies.1.config: expected JSON-like data
# expect: channels.canary.policies.0.config: expected JSON-like data
import ../base-fleet.nix (
  b:
  b
  // {
    channels = {
      stable = b.channels.stable // {
        policies = [
          { name = "host-edges"; kind = "gate"; }
          { name = "health"; kind = "health"; config.threshold = 9007199254740993; }
        ];
      };
      canary = b.channels.canary // {
        policies = [ { name = "health"; kind = "health"; config.check = x: x; } ];
      };
    };
  }
)
