# expect: rolloutPolicies.staged.waves.0.selector: unknown tag `wbe`
import ../base-fleet.nix (
  b:
  b
  // {
    rolloutPolicies.staged = b.rolloutPolicies.staged // {
      waves = [ { selector.and = [ { channel = "stable"; } { not.tagsAny = [ "wbe" ]; } ]; } ];
    };
  }
)
