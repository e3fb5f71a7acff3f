# expect: rolloutPolicies.staged.waves.0.selector: a selector must have exactly one key
# expect: rolloutPolicies.staged.waves.1.selector.all: `all` must be true
# expect: rolloutPolicies.staged.waves.2.selector: unknown selector key `label`
import ../base-fleet.nix (
  b:
  b
  // {
    rolloutPolicies.staged = b.rolloutPolicies.staged // {
      waves = [
        { selector = { tags = [ "web" ]; hosts = [ "db1" ]; }; }
        { selector.all = false; }
        { selector.label = "web"; }
      ];
    };
  }
)
