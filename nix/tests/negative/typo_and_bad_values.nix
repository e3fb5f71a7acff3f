# expect: rolloutPolicies.staged.waves.0.soakMinute: unknown option `soakMinute`
# expect: hosts.web2.closureHash: expected null or a Nix store path
# expect: channels.canary.policies.0.kind: expected one of `rollout`, `gate`, `health`, `attestation`, got "healthcheck"
# expect: rolloutPolicies.staged.strategy: expected one of `canary`, `staged`, `all-at-once`, got "blue-green"
import ../base-fleet.nix (
  b:
  b
  // {
    hosts = b.hosts // { web2 = b.hosts.web2 // { closureHash = "/nix/store/not-a-hash-web2"; }; };
    channels = b.channels // {
      canary = b.channels.canary // { policies = [ { name = "health"; kind = "healthcheck"; } ]; };
    };
    rolloutPolicies.staged = b.rolloutPolicies.staged // {
      strategy = "blue-green";
      waves = [ { selector.all = true; soakMinute = 10; } ];
    };
  }
)
