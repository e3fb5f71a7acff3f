# web1 waits for db1, but web1 is in the first wave and db1 in the second: web1's wave
# cannot finish until db1 is updated, which only starts after it — the rollout deadlocks.
# expect: edges.0: host `web1` waits for `db1`, but `web1` is in wave 0 and `db1` in the later wave 1 of rollout policy `staged`: wave 0 cannot finish, so the rollout would deadlock
import ../base-fleet.nix (
  b:
  b
  // {
    rolloutPolicies.staged = b.rolloutPolicies.staged // {
      waves = [
        { selector.tagsAny = [ "ci" "web" ]; }
        { selector.all = true; }
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
