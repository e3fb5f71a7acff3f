# db1 is in no wave, so no rollout updates it; web1, which waits for it, would wait forever.
# expect: edges.0: host `web1` waits for `db1`, which is in no wave of rollout policy `staged` and is never updated: `web1` would wait forever
import ../base-fleet.nix (
  b:
  b
  // {
    rolloutPolicies.staged = b.rolloutPolicies.staged // {
      waves = [
        { selector.tags = [ "ci" ]; }
        { selector.tags = [ "web" ]; }
      ];
    };
    edges = [
      {
        before = "db1";
        after = "web1";
      }
    ];
  }
)
