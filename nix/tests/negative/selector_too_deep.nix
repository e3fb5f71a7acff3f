# Selectors nest at most 32 levels, as the waves and disruption-budget policies require.
# expect: rolloutPolicies.staged.waves.1.selector: selector nests 33 levels deep; at most 32 are allowed
# expect: disruptionBudgets.0.selector: selector nests 34 levels deep; at most 32 are allowed
let
  nest = n: s: if n == 0 then s else nest (n - 1) { not = s; };
in
import ../base-fleet.nix (
  b:
  b
  // {
    rolloutPolicies.staged = b.rolloutPolicies.staged // {
      waves = [
        { selector.tags = [ "ci" ]; }
        { selector = nest 32 { tags = [ "web" ]; }; }
      ];
    };
    disruptionBudgets = [
      {
        selector = nest 33 { tags = [ "web" ]; };
        maxInFlight = 1;
      }
    ];
  }
)
