# expect: rolloutPolicies.staged.healthGate.policy: unknown policy `probes` in channel `canary`
# expect: unknown policy `probes` in channel `stable`
import ../base-fleet.nix (b: b // { rolloutPolicies.staged = b.rolloutPolicies.staged // { healthGate.policy = "probes"; }; })
